//! How long the dashboard's pages take with 1,000 hosts: the real server on
//! SQLite in a temporary directory, loopback HTTP with a signed-in
//! session, each host with a day of cycles of real `free`, `uptime` and
//! `df` outputs from the corpus (`../shared/corpus`). Run with
//! `cargo bench -p readout-server --bench pages`; figures in the README.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use readout_proto::{AgentInfo, AllowedCommand, AllowlistReport, CommandResult, CycleRequest};
use readout_server::config::Config;
use readout_server::web::accounts::{self, Signup};
use readout_storage::{Database, IncomingCycle, NewHost};
use readout_storage_sqlite::SqliteStore;

const HOSTS: usize = 1_000;
/// Cycles per host, an hour apart: a day of hourly roll-ups to draw.
const CYCLES: i64 = 24;
const HOUR: i64 = 3_600_000;

fn corpus(path: &str) -> Vec<u8> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

struct Site {
    url: String,
    cookie: String,
    host: String,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn site() -> Site {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("readout.db").display());
    let db = runtime.block_on(SqliteStore::open(&url)).expect("open");
    let commands = [
        ("readout_free", "free", corpus("free/jc-centos77-free.txt")),
        ("readout_uptime", "uptime", corpus("uptime/jc-centos77.txt")),
        ("readout_df", "df -P", corpus("df/jc-centos77-df.txt")),
    ];
    let names: Vec<String> = commands.iter().map(|c| c.0.to_owned()).collect();
    let allowlist = AllowlistReport {
        entries: commands
            .iter()
            .map(|(name, command, _)| AllowedCommand {
                name: (*name).into(),
                command: (*command).into(),
            })
            .collect(),
        invalid: Vec::new(),
    };
    let now = readout_server::now_ms();
    runtime.block_on(async {
        let sources =
            readout_app::sources::new_sources(&names, commands.iter().map(|(n, c, _)| (*n, *c)));
        let mut batch = Vec::new();
        for i in 0..HOSTS {
            let id = format!("h_{i:04}");
            db.create_host(&NewHost {
                id: id.clone(),
                name: format!("web-{i:04}"),
                key_hash: vec![0; 32],
                created_at_ms: now - CYCLES * HOUR,
                workspace_id: None,
                sources: sources.clone(),
            })
            .await
            .expect("host");
            let stored = db.data_sources(&id).await.expect("sources");
            for c in 0..CYCLES {
                let cycle = CycleRequest {
                    cycle_id: format!("c{c}"),
                    started_at_ms: now - (CYCLES - 1 - c) * HOUR,
                    duration_ms: 40,
                    agent: AgentInfo {
                        version: "0.1.0".into(),
                        hostname: format!("web-{i:04}"),
                        os: "linux".into(),
                        arch: "x86_64".into(),
                    },
                    allowlist: allowlist.clone(),
                    results: commands
                        .iter()
                        .map(|(name, _, output)| CommandResult {
                            name: (*name).into(),
                            duration_ms: 5,
                            exit_code: Some(0),
                            signal: None,
                            timed_out: false,
                            truncated: false,
                            output: output.clone(),
                        })
                        .collect(),
                    rejected: Vec::new(),
                    spool_dropped: 0,
                };
                let parsed = readout_server::parsing::parse_cycle(&cycle, &stored, &[], &[]);
                let received_at_ms = cycle.started_at_ms;
                batch.push(IncomingCycle::new(
                    id.clone(),
                    received_at_ms,
                    cycle,
                    parsed,
                ));
            }
            if batch.len() >= 480 {
                db.store_cycles(&batch).await.expect("store");
                batch.clear();
            }
        }
        db.store_cycles(&batch).await.expect("store");
    });
    let signup = Signup {
        email: "owner@example.org",
        name: "Owner",
        password: "correct horse battery",
    };
    let token = runtime
        .block_on(async {
            let joining = accounts::first_owner(&readout_app::Name::parse("Bench")?)?;
            let user =
                accounts::add_user(&db, &accounts::PasswordGate::new()?, &signup, joining).await?;
            accounts::start_session(&db, &user.id).await
        })
        .expect("owner and session");

    let config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().to_owned(),
        admin_token: "bench-admin-token".into(),
        ..Config::default()
    };
    let (ready, bound) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let served = readout_server::serve::serve(
            db,
            &config,
            move |addr| {
                let _ = ready.send(addr);
            },
            std::future::pending(),
        )
        .await;
        if let Err(e) = served {
            eprintln!("server failed: {e:#}");
        }
    });
    let addr = bound
        .recv_timeout(Duration::from_secs(30))
        .expect("server up");
    Site {
        url: format!("http://{addr}"),
        cookie: format!("readout_session={token}"),
        host: "h_0500".into(),
        _runtime: runtime,
        _dir: dir,
    }
}

fn pages(c: &mut Criterion) {
    let site = site();
    let http = ureq::Agent::new_with_defaults();
    let get = |path: &str| {
        let mut answer = http
            .get(format!("{}{path}", site.url).as_str())
            .header("cookie", site.cookie.as_str())
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        answer.body_mut().read_to_vec().expect("body").len()
    };
    let host = &site.host;
    let mut group = c.benchmark_group(format!("pages, {HOSTS} hosts"));
    group.sample_size(30);
    for (name, path) in [
        ("servers list", "/servers".to_owned()),
        ("sparklines of the list", "/servers/sparklines".to_owned()),
        ("a server's dashboard", format!("/servers/{host}")),
        ("data sources", format!("/servers/{host}/sources")),
        ("raw outputs", format!("/servers/{host}/outputs")),
        ("alerts", "/alerts".to_owned()),
        ("members", "/members".to_owned()),
        ("your account", "/account".to_owned()),
    ] {
        // A page that fails or comes back empty is no figure.
        assert!(get(&path) > 200, "{path} answered too little");
        group.bench_function(name, |b| b.iter(|| get(&path)));
    }
    group.finish();
}

criterion_group!(benches, pages);
criterion_main!(benches);
