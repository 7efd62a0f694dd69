//! Upgrading keeps history: a data directory and a PostgreSQL database made
//! by an earlier release (`tests/fixtures/upgrade/schema-N/`) are opened by
//! this build, which migrates them, and the API gives the answers that
//! release gave: hosts, cycles, raw outputs, variables, series at each
//! resolution, alert rules. The host's agent key still works.
//!
//! `scripts/upgrade-fixture` makes a new fixture with the build at hand;
//! run it when a release changes the schema and keep the older fixtures.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};
use support::{PgDatabase, Server};

/// The fixture's cycles: one a minute for three hours from here.
const T0: i64 = 1_764_547_200_000; // 2025-12-01T00:00:00Z
const CYCLES: i64 = 180;
const MIN: i64 = 60_000;
/// The fixture's data is older than the default retention: keep it.
const KEEP: [&str; 6] = [
    "--history-days",
    "36500",
    "--points-days",
    "36500",
    "--rollups-days",
    "36500",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade")
}

/// Every fixture directory, oldest schema first.
fn schemas() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("tests/fixtures/upgrade")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no upgrade fixture");
    dirs
}

#[test]
fn a_sqlite_data_dir_from_an_earlier_release_keeps_its_history() {
    for schema in schemas() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("data")).expect("data dir");
        std::fs::copy(
            schema.join("sqlite/readout.db"),
            dir.path().join("data/readout.db"),
        )
        .expect("copy the fixture");
        let server = Server::start_in(dir, &KEEP);
        let url = format!(
            "sqlite://{}",
            server.data_dir().join("readout.db").display()
        );
        check_answers(&server, &schema.join("sqlite/answers.json"), &url);
    }
}

#[test]
fn a_postgres_database_from_an_earlier_release_keeps_its_history() {
    for schema in schemas() {
        let db = PgDatabase::create();
        let dump = std::fs::read_to_string(schema.join("postgres/dump.sql")).expect("dump");
        db.run_script(&dump);
        let mut args = vec!["--database-url", db.url.as_str()];
        args.extend(KEEP);
        let server = Server::start_with(&args);
        check_answers(&server, &schema.join("postgres/answers.json"), &db.url);
    }
}

/// The release's answers, while the compactor packs the old outputs and
/// after; then a new cycle through its host's key.
fn check_answers(server: &Server, path: &Path, database_url: &str) {
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("answers")).expect("json");
    let check = |when: &str| {
        for (request, answer) in fixture["answers"].as_object().expect("answers") {
            let now = stable(server.api_get(request));
            assert!(
                same(&now, answer),
                "GET {request} {when} the upgrade ({path:?})\n now: {now}\n was: {answer}"
            );
        }
    };
    check("right after");
    let packed = support::wait_for(Duration::from_secs(60), || {
        (head_results(database_url) == 0).then_some(())
    });
    assert!(packed.is_some(), "the old hours' outputs were never packed");
    check("once the compactor packed the outputs of");
    let id = fixture["host_id"].as_str().expect("host_id");
    let key = fixture["api_key"].as_str().expect("api_key");
    let body = cycle("after-upgrade", T0 + CYCLES * MIN, CYCLES);
    let (status, answer) = support::post_cycle(server, id, key, &support::gzip(&body), true);
    assert_eq!(status, 200, "{answer}");
    let cycles = server.api_get(&format!("/hosts/{id}/cycles?limit=1"));
    assert_eq!(cycles[0]["cycle_id"], "after-upgrade");
}

/// The requests a fixture records, for its host.
fn requests(id: &str) -> Vec<String> {
    let range = |points: u32| {
        format!(
            "/hosts/{id}/series?name=load1&name=n&name=mem_used_bytes&name=fs_used_pct%7Bmount%3D%22%2F%22%7D\
             &from={T0}&to={}&points={points}",
            T0 + CYCLES * MIN
        )
    };
    vec![
        "/hosts".into(),
        format!("/hosts/{id}"),
        format!("/hosts/{id}/commands"),
        format!("/hosts/{id}/outputs"),
        format!("/hosts/{id}/cycles?limit=1000"),
        format!("/hosts/{id}/sources"),
        format!("/hosts/{id}/derived"),
        format!("/hosts/{id}/variables"),
        format!("/hosts/{id}/alerts"),
        range(500), // raw points
        range(30),  // 5-minute roll-ups
        range(3),   // 1-hour roll-ups
    ]
}

/// Equal JSON, numbers within rounding: an average summed in another order
/// (hours recomputed from raw values) may differ in its last bit.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// An answer without what changes with the clock of the reader.
fn stable(mut answer: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in ["status", "seen_ago_secs"] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut answer);
    answer
}

/// Cycle `n` of the fixture's host: a preset source (load), corpus outputs
/// (free, df) and a source of its own (`n`, by regex).
fn cycle(cycle_id: &str, started_at_ms: i64, n: i64) -> Vec<u8> {
    use base64::Engine as _;
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let read = |rel: &str| std::fs::read(corpus.join(rel)).expect("corpus file");
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let load = format!(
        "{}.{:02} 0.50 0.40 1/{} {}\n",
        n % 4,
        n % 100,
        100 + n,
        1000 + n
    );
    let own = format!("n={n}\n");
    let results: Vec<Value> = [
        ("readout_loadavg", load.into_bytes()),
        ("readout_free", read("free/jc-ubuntu1804-free.txt")),
        ("readout_df", read("df/jc-ubuntu1804-df.txt")),
        ("readout_n", own.into_bytes()),
    ]
    .into_iter()
    .map(|(name, output)| {
        json!({"name": name, "duration_ms": 3, "exit_code": 0, "output_base64": b64(&output)})
    })
    .collect();
    serde_json::to_vec(&json!({
        "cycle_id": cycle_id, "started_at_ms": started_at_ms, "duration_ms": 20,
        "agent": {"version": "1.0", "hostname": "web-1", "os": "linux", "arch": "x86_64"},
        "allowlist": {"entries": [
            {"name": "readout_loadavg", "command": "cat /proc/loadavg"},
            {"name": "readout_free", "command": "free"},
            {"name": "readout_df", "command": "df -P"},
            {"name": "readout_n", "command": "cat n"}
        ]},
        "results": results
    }))
    .expect("json")
}

/// Makes `tests/fixtures/upgrade/schema-$READOUT_FIXTURE_SCHEMA/` with this
/// build (see `scripts/upgrade-fixture`).
#[test]
#[ignore = "writes a fixture; run by scripts/upgrade-fixture"]
fn write_upgrade_fixture() {
    let schema = std::env::var("READOUT_FIXTURE_SCHEMA").expect("READOUT_FIXTURE_SCHEMA");
    let out = fixtures().join(format!("schema-{schema}"));
    std::fs::create_dir_all(out.join("sqlite")).expect("mkdir");
    std::fs::create_dir_all(out.join("postgres")).expect("mkdir");

    // Cycles fold as soon as they arrive: the fixture holds chunks too.
    let settle = ["--compact-settle-secs", "0"];
    let mut args: Vec<&str> = KEEP.to_vec();
    args.extend(settle);
    let mut server = Server::start_with(&args);
    let answers = fill(&server);
    server.kill();
    vacuum_into(
        &server.data_dir().join("readout.db"),
        &out.join("sqlite/readout.db"),
    );
    write_json(&out.join("sqlite/answers.json"), &answers);

    let db = PgDatabase::create();
    let mut args = vec!["--database-url", db.url.as_str()];
    args.extend(KEEP);
    args.extend(settle);
    let mut server = Server::start_with(&args);
    let answers = fill(&server);
    server.kill();
    let dump = std::process::Command::new("pg_dump")
        .args([
            "--inserts",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            &db.url,
        ])
        .output()
        .expect("run pg_dump");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    // Plain SQL, without psql's meta-commands (`\restrict`).
    let sql: String = String::from_utf8(dump.stdout)
        .expect("utf-8 dump")
        .lines()
        .filter(|l| !l.starts_with('\\'))
        .flat_map(|l| [l, "\n"])
        .collect();
    std::fs::write(out.join("postgres/dump.sql"), sql).expect("write dump");
    write_json(&out.join("postgres/answers.json"), &answers);
}

/// A host with three hours of cycles, an alert rule, and what the API
/// answers about it.
fn fill(server: &Server) -> Value {
    let (id, key) = server.add_host("web-1");
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &json!({"commands": ["readout_loadavg", "readout_free", "readout_df", "readout_n"]}),
    );
    server.api_put(
        &format!("/hosts/{id}/sources/readout_n"),
        &json!({"parser": {"variables": [
            {"name": "n", "extract": {"from": "regex", "pattern": "n=(\\d+)"}}
        ]}}),
    );
    server.api_put(
        &format!("/hosts/{id}/alerts/n"),
        &json!({"warning": {"above": 150}, "error": {"above": 170}}),
    );
    for n in 0..CYCLES {
        let body = cycle(&format!("c-{n}"), T0 + n * MIN, n);
        let (status, answer) = support::post_cycle(server, &id, &key, &support::gzip(&body), true);
        assert_eq!(status, 200, "{answer}");
    }
    // Let the compactor fold most of the head; what it leaves is part of
    // the fixture too.
    std::thread::sleep(Duration::from_secs(4));
    let answers: Map<String, Value> = requests(&id)
        .into_iter()
        .map(|r| {
            let answer = stable(server.api_get(&r));
            (r, answer)
        })
        .collect();
    json!({"host_id": id, "api_key": key, "answers": answers})
}

/// Raw outputs still in the head (`command_results`): the compactor packs
/// closed hours out of it.
fn head_results(database_url: &str) -> i64 {
    use readout_storage::sqlx::{self, Connection as _};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sql = "SELECT COUNT(*) FROM command_results";
    runtime.block_on(async {
        if database_url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(database_url)
                .await
                .expect("sqlite");
            sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect(sql)
        } else {
            let mut conn = sqlx::PgConnection::connect(database_url)
                .await
                .expect("postgres");
            sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect(sql)
        }
    })
}

fn vacuum_into(from: &Path, to: &Path) {
    use readout_storage::sqlx::{self, Connection as _};
    let _ = std::fs::remove_file(to);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", from.display()))
            .await
            .expect("open the database");
        sqlx::query("VACUUM INTO $1")
            .bind(to.display().to_string())
            .execute(&mut conn)
            .await
            .expect("VACUUM INTO");
    });
}

fn write_json(path: &Path, value: &Value) {
    let text = serde_json::to_string(value).expect("json");
    std::fs::write(path, text + "\n").expect("write answers");
}
