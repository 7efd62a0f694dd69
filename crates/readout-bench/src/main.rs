//! `readout-bench ingest`: starts the real server on SQLite or PostgreSQL,
//! creates hosts with 15 data sources on real corpus outputs, drives gzip
//! cycles at it over loopback HTTP from many connections, and prints what
//! it carried and what that cost, then what a year of history costs a
//! chart. See the README's "Ingest benchmark".

mod charts;
mod drive;
mod load;
mod server;
mod storage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(about = "Load benchmarks of a real Readout server")]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Cycles per second at saturation and latency at a fixed offered rate.
    Ingest(IngestArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Store {
    Sqlite,
    Postgres,
}

#[derive(Debug, clap::Args)]
struct IngestArgs {
    #[arg(long, value_enum, default_value = "sqlite")]
    store: Store,
    /// A PostgreSQL database the run may fill (with `--store postgres`).
    #[arg(long, env = "READOUT_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    #[arg(long, default_value_t = 1000)]
    hosts: usize,
    /// Parallel connections at saturation.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of each phase (saturation, then the fixed rate).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Offered cycles per second of the fixed-rate phase.
    #[arg(long, default_value_t = 500)]
    rate: u32,
    /// The `readout` binary; by default the one beside this one.
    #[arg(long)]
    server: Option<PathBuf>,
    /// Where the server keeps its data (a disk, not tmpfs, for honest fsyncs).
    #[arg(long, default_value = "target/bench-data")]
    data_dir: PathBuf,
    /// `shared/corpus` of the Readout repository's workspace.
    #[arg(long, default_value = "../shared/corpus")]
    corpus: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // reqwest is built without a TLS provider of its own (the server's
    // choice); the bench speaks plain HTTP but must still name one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Bench::Ingest(args) = cli.command;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(ingest(args))
}

async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let binary = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the bench binary's folder")?
            .join("readout"),
    };
    let database_url =
        match args.store {
            Store::Sqlite => None,
            Store::Postgres => Some(args.postgres_url.clone().context(
                "--store postgres needs --postgres-url (or READOUT_BENCH_POSTGRES_URL)",
            )?),
        };
    std::fs::create_dir_all(&args.data_dir)?;
    let data_dir = tempfile::tempdir_in(&args.data_dir)?;
    let profiles = load::variants(&args.corpus)?;
    // The compactor holds off while ingest alone is measured: cycles
    // settle for an hour first.
    let server = server::Server::start(
        &binary,
        data_dir.path(),
        database_url.as_deref(),
        "127.0.0.1:0",
        3600,
    )?;
    eprintln!(
        "server {} (pid {}) on {:?}",
        server.url,
        server.pid(),
        args.store
    );

    let load = Arc::new(drive::Load::set_up(&server, profiles, args.hosts).await?);
    eprintln!(
        "{} hosts, {} values and {} bytes of output per cycle",
        args.hosts,
        load.values_per_cycle(),
        load.raw_bytes_per_cycle()
    );

    drive::saturate(&load, args.connections, Duration::from_secs(3)).await;
    let cpu_before = server.cpu_secs()?;
    let saturated =
        drive::saturate(&load, args.connections, Duration::from_secs(args.seconds)).await;
    let cpu_saturated = server.cpu_secs()? - cpu_before;
    let cpu_before = server.cpu_secs()?;
    let fixed = drive::fixed_rate(&load, args.rate, Duration::from_secs(args.seconds)).await;
    let cpu_fixed = server.cpu_secs()? - cpu_before;
    let rss_alone = server.peak_rss_mib()?;
    let url = database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.path().join("readout.db").display()));

    // Then the same server, on the same port and data, lets the compactor
    // fold every cycle at once (as it folds every host's last hour at five
    // past each hour) while the same rate is offered again.
    let addr = server.addr().to_owned();
    drop(server);
    let server =
        server::Server::start(&binary, data_dir.path(), database_url.as_deref(), &addr, 0)?;
    let backlog = storage::head_rows(&url).await?;
    let cpu_before = server.cpu_secs()?;
    let folding = drive::fixed_rate(&load, args.rate, Duration::from_secs(args.seconds)).await;
    let cpu_folding = server.cpu_secs()? - cpu_before;

    let values = load.values_per_cycle();
    println!("| phase | cycles/s | values/s | p50 | p99 | errors | server CPU |");
    println!("|---|---|---|---|---|---|---|");
    for (name, run, cpu) in [
        (
            format!("saturation, {} connections", args.connections),
            &saturated,
            cpu_saturated,
        ),
        (format!("offered {} cycles/s", args.rate), &fixed, cpu_fixed),
        (
            format!(
                "offered {} cycles/s, compactor folding {backlog} cycles",
                args.rate
            ),
            &folding,
            cpu_folding,
        ),
    ] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.1} ms | {:.1} ms | {} | {:.0} % |",
            run.rate(),
            run.rate() * values,
            run.quantile_ms(0.50),
            run.quantile_ms(0.99),
            run.errors,
            100.0 * cpu / run.elapsed.as_secs_f64()
        );
    }
    println!(
        "\npeak server RSS: {rss_alone:.0} MiB; with the compactor folding: {:.0} MiB",
        server.peak_rss_mib()?
    );
    let stored = storage::measure(&url).await?;
    let folded_in = folding.elapsed + stored.drained_in;
    println!(
        "compactor: {backlog} cycles and the {} sent meanwhile folded in {:.1} s: {:.0} cycles/s",
        folding.sent(),
        folded_in.as_secs_f64(),
        (backlog + folding.sent()) as f64 / folded_in.as_secs_f64()
    );
    println!(
        "head emptied {:.1} s after the load; {} samples in {} bytes: {:.1} bytes per sample \
         (values, roll-ups, series, head)",
        stored.drained_in.as_secs_f64(),
        stored.samples,
        stored.value_bytes,
        stored.bytes_per_sample()
    );
    let by_table = |tables: &[(&str, u64)]| -> String {
        let listed: Vec<String> = tables
            .iter()
            .map(|(t, bytes)| format!("{t} {bytes}"))
            .collect();
        listed.join(", ")
    };
    println!("value bytes by table: {}", by_table(&stored.value_tables));
    println!(
        "raw output: {} bytes sent, {} stored: {:.1}x smaller ({})",
        stored.raw_sent,
        stored.raw_bytes,
        stored.raw_ratio(),
        by_table(&stored.raw_tables)
    );
    let host = load.first_host().context("the run set up no host")?;
    let charts = charts::measure(&server, &url, host).await?;
    println!(
        "charts of {} variables in 500 points, a year of values a minute written in {:.0} s: \
         a year p50 {:.1} ms, p99 {:.1} ms; 30 days p50 {:.1} ms, p99 {:.1} ms",
        6,
        charts.written_in.as_secs_f64(),
        charts.year.p50_ms,
        charts.year.p99_ms,
        charts.month.p50_ms,
        charts.month.p99_ms
    );
    if let Some(first) = saturated
        .first_error
        .as_ref()
        .or(fixed.first_error.as_ref())
    {
        println!("first error: {first}");
    }
    Ok(())
}
