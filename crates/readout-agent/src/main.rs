//! `readout-agent`: runs the commands its owner allowed, once a minute, and
//! sends their raw output to a Readout server.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use readout_agent::config::{self, Config};
use readout_agent::cycle::{self, Outcome};
use readout_agent::{spool, state};

#[derive(Debug, Parser)]
#[command(
    name = "readout-agent",
    version,
    about = "Runs allowlisted commands and sends their output to Readout"
)]
struct Cli {
    /// Agent configuration file.
    #[arg(long, short, env = "READOUT_AGENT_CONFIG", default_value = config::DEFAULT_CONFIG, global = true)]
    config: PathBuf,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "READOUT_LOG", default_value = "info", global = true)]
    log: tracing::Level,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one cycle now (for cron and timers); skipped if the server asked
    /// for a longer interval, unless --force.
    Once {
        #[arg(long)]
        force: bool,
    },
    /// Run as a daemon: a cycle at once, then one per interval, aligned to
    /// the clock with a small per-host jitter.
    Run,
    /// Check the allowlist: print each invalid line as FILE:LINE: reason.
    Check {
        /// The file to check (default: the one in the config).
        #[arg(long)]
        allowlist: Option<PathBuf>,
    },
    /// Show the configuration, the last delivery and the spool.
    Status,
}

/// Exit code when the server has removed this host.
const EXIT_STOPPED: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_max_level(cli.log)
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("readout-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { allowlist } => {
            let path = match allowlist {
                Some(path) => path,
                None => Config::load(&cli.config)?.allowlist,
            };
            check(&path)
        }
        Command::Once { force } => {
            let config = Config::load(&cli.config)?;
            refuse_if_stopped(&config)?;
            Ok(report(cycle::run_cycle(&config, !force)?))
        }
        Command::Run => daemon(&Config::load(&cli.config)?),
        Command::Status => status(&cli.config),
    }
}

fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let list = readout_allowlist::parse(&bytes);
    for bad in &list.invalid {
        println!("{}:{}: {}", path.display(), bad.line, bad.reason);
    }
    if list.invalid.is_empty() {
        let n = list.entries.len();
        let plural = if n == 1 { "" } else { "s" };
        println!("{}: {n} command{plural}, no invalid lines", path.display());
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

fn refuse_if_stopped(config: &Config) -> anyhow::Result<()> {
    let marker = config.stop_marker();
    if marker.exists() {
        anyhow::bail!(
            "stopped: the server removed this host. Delete {} to run again.",
            marker.display()
        );
    }
    Ok(())
}

fn report(outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Delivered { spooled_sent } => {
            tracing::info!(spooled_sent, "cycle delivered");
            ExitCode::SUCCESS
        }
        // Not a failure: the cycle is safe on disk and goes out later.
        Outcome::Spooled { reason } => {
            tracing::warn!(%reason, "server unreachable; cycle spooled");
            ExitCode::SUCCESS
        }
        Outcome::NotDue { in_secs } => {
            tracing::info!(in_secs, "next cycle not due yet");
            ExitCode::SUCCESS
        }
        Outcome::Stopped => {
            eprintln!("readout-agent: the server removed this host; stopped.");
            ExitCode::from(EXIT_STOPPED)
        }
    }
}

fn daemon(config: &Config) -> anyhow::Result<ExitCode> {
    let jitter_ms = jitter_ms(&config.host_id);
    loop {
        refuse_if_stopped(config)?;
        match cycle::run_cycle(config, false) {
            Ok(Outcome::Stopped) => return Ok(report(Outcome::Stopped)),
            Ok(outcome) => {
                report(outcome);
            }
            // A bad cycle must not end the daemon: the next one may work.
            Err(e) => tracing::error!(error = format!("{e:#}"), "cycle failed"),
        }
        let interval_ms = i64::from(state::State::load(&config.state_dir).interval_secs) * 1000;
        let now = cycle::now_ms();
        let next = (now / interval_ms + 1) * interval_ms + jitter_ms.min(interval_ms / 6);
        std::thread::sleep(Duration::from_millis(
            u64::try_from(next - now).unwrap_or(0),
        ));
    }
}

/// A stable per-host offset within the minute, so that thousands of agents
/// do not all call at second 0.
fn jitter_ms(host_id: &str) -> i64 {
    let hash = host_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    i64::try_from(hash % 10_000).unwrap_or(0)
}

fn status(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let state = state::State::load(&config.state_dir);
    let (allowlist, _) = cycle::read_allowlist(&config.allowlist);
    let spool = spool::Spool::new(config.spool_dir(), config.spool_max_bytes);
    let (spooled, spool_bytes) = spool.usage()?;
    let ago = |ms: Option<i64>| match ms {
        Some(ms) => format!("{} s ago", (cycle::now_ms() - ms) / 1000),
        None => "never".to_owned(),
    };
    println!("config:      {}", config_path.display());
    println!("servers:     {}", config.servers.join(", "));
    println!("host id:     {}", config.host_id);
    println!(
        "allowlist:   {} ({} commands, {} invalid lines)",
        config.allowlist.display(),
        allowlist.entries.len(),
        allowlist.invalid.len()
    );
    println!(
        "state:       {}",
        if config.stop_marker().exists() {
            "STOPPED (host removed on the server)"
        } else {
            "running"
        }
    );
    println!("last cycle:  {}", ago(state.last_started_ms));
    println!("delivered:   {}", ago(state.last_delivered_ms));
    if let Some(e) = &state.last_error {
        println!("last error:  {e}");
    }
    println!("interval:    {} s", state.interval_secs);
    match &state.commands {
        Some(c) => println!("commands:    {}", c.join(" ")),
        None => println!("commands:    (not asked yet)"),
    }
    println!(
        "spool:       {spooled} cycles, {spool_bytes} bytes (max {}), {} dropped unreported",
        config.spool_max_bytes,
        spool.dropped()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn jitter_is_stable_and_within_ten_seconds() {
        let a = super::jitter_ms("h_0123456789abcdef");
        assert_eq!(a, super::jitter_ms("h_0123456789abcdef"));
        assert!((0..10_000).contains(&a));
        assert_ne!(a, super::jitter_ms("h_fedcba9876543210"));
    }
}
