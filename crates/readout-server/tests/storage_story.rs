//! One storage story, told to both backends: a real SQLite file and a real
//! PostgreSQL server (its own database per run, dropped afterwards).
//!
//! PostgreSQL comes from `READOUT_TEST_POSTGRES_URL`, a URL of a role that
//! may create databases; `scripts/test` starts the server and sets it.

use readout_proto::{
    AgentInfo, AllowedCommand, AllowlistReport, CommandResult, CycleRequest, InvalidLine,
    RejectedName,
};
use readout_storage::sqlx::{self, Connection as _};
use readout_storage::{Database, DbError, IncomingCycle, NewHost, Stored};
use readout_storage_postgres::PostgresStore;
use readout_storage_sqlite::SqliteStore;

fn result(name: &str, output: &[u8]) -> CommandResult {
    CommandResult {
        name: name.into(),
        duration_ms: 7,
        exit_code: Some(0),
        signal: None,
        timed_out: false,
        truncated: false,
        output: output.to_vec(),
    }
}

fn cycle(
    host: &str,
    id: &str,
    started_at_ms: i64,
    version: &str,
    results: Vec<CommandResult>,
) -> IncomingCycle {
    IncomingCycle {
        host_id: host.into(),
        received_at_ms: started_at_ms + 100,
        cycle: CycleRequest {
            cycle_id: id.into(),
            started_at_ms,
            duration_ms: 30,
            agent: AgentInfo {
                version: version.into(),
                hostname: "pi".into(),
                os: "linux".into(),
                arch: "aarch64".into(),
            },
            allowlist: AllowlistReport {
                entries: vec![AllowedCommand {
                    name: "readout_free".into(),
                    command: version.into(),
                }],
                invalid: vec![InvalidLine {
                    line: 4,
                    text: "x".into(),
                    reason: "no '='".into(),
                }],
            },
            results,
            rejected: vec![RejectedName {
                name: "readout_gone".into(),
                reason: "not defined".into(),
            }],
            spool_dropped: 2,
        },
    }
}

fn new_host(id: &str, name: &str) -> NewHost {
    NewHost {
        id: id.into(),
        name: name.into(),
        key_hash: vec![1, 2, 3],
        created_at_ms: 1_000,
        commands: vec!["readout_free".into(), "readout_df".into()],
    }
}

async fn story<D: Database>(db: D) {
    // Hosts: create, find, names unique among live hosts.
    let host = db
        .create_host(&new_host("h_1", "web-1"))
        .await
        .expect("create");
    assert_eq!(host.name, "web-1");
    assert_eq!(host.interval_secs, 60);
    assert!(host.allowlist.0.entries.is_empty());
    match db.create_host(&new_host("h_2", "web-1")).await {
        Err(DbError::Conflict(message)) => assert!(message.contains("web-1"), "{message}"),
        other => panic!("duplicate name accepted: {other:?}"),
    }
    assert_eq!(db.host_by_name("web-1").await.expect("by name").id, "h_1");
    assert!(matches!(db.host("h_none").await, Err(DbError::NotFound)));
    assert_eq!(
        db.host_auth("h_1").await.expect("auth").key_hash,
        vec![1, 2, 3]
    );

    // Data sources.
    assert_eq!(
        db.commands("h_1").await.expect("commands"),
        ["readout_df", "readout_free"]
    );
    db.set_commands(
        "h_1",
        &[
            "readout_uptime".into(),
            "readout_free".into(),
            "readout_free".into(),
        ],
        2_000,
    )
    .await
    .expect("set");
    assert_eq!(
        db.commands("h_1").await.expect("commands"),
        ["readout_free", "readout_uptime"]
    );
    assert!(matches!(
        db.set_commands("h_none", &[], 0).await,
        Err(DbError::NotFound)
    ));

    // Cycles: a batch with a duplicate inside it, then a resubmission.
    let first = cycle(
        "h_1",
        "c1",
        10_000,
        "1.0",
        vec![result("readout_free", b"old"), result("readout_df", b"df1")],
    );
    let second = cycle(
        "h_1",
        "c2",
        70_000,
        "1.1",
        vec![result("readout_free", b"caf\xE9\x00\xFF")],
    );
    let outcome = db
        .store_cycles(&[first.clone(), second.clone(), first.clone()])
        .await
        .expect("store");
    assert_eq!(outcome, [Stored::New, Stored::New, Stored::Duplicate]);
    assert_eq!(
        db.store_cycles(std::slice::from_ref(&second))
            .await
            .expect("again"),
        [Stored::Duplicate]
    );

    // A late (spooled) cycle is stored but does not overwrite newer facts.
    let late = cycle(
        "h_1",
        "c0",
        5_000,
        "0.9",
        vec![result("readout_free", b"oldest")],
    );
    assert_eq!(db.store_cycles(&[late]).await.expect("late"), [Stored::New]);
    let host = db.host("h_1").await.expect("host");
    assert_eq!(host.agent_version.as_deref(), Some("1.1"));
    assert_eq!(host.last_cycle_at_ms, Some(70_000));
    assert_eq!(host.last_seen_at_ms, Some(70_100));
    assert_eq!(host.allowlist.0.entries[0].command, "1.1");
    assert_eq!(host.allowlist.0.invalid[0].line, 4);

    // Latest output per command, bytes intact.
    let latest = db.latest_outputs("h_1").await.expect("latest");
    let view: Vec<(&str, &[u8], &str)> = latest
        .iter()
        .map(|o| (o.name.as_str(), o.output.as_slice(), o.cycle_id.as_str()))
        .collect();
    assert_eq!(
        view,
        [
            ("readout_df", &b"df1"[..], "c1"),
            ("readout_free", &b"caf\xE9\x00\xFF"[..], "c2")
        ]
    );
    assert_eq!(latest[1].outcome.exit_code, Some(0));

    // Recent cycles, newest first, with result summaries.
    let recent = db.recent_cycles("h_1", 10).await.expect("recent");
    let ids: Vec<&str> = recent.iter().map(|c| c.cycle_id.as_str()).collect();
    assert_eq!(ids, ["c2", "c1", "c0"]);
    assert_eq!(recent[1].results.len(), 2);
    assert_eq!(recent[0].results[0].output_bytes, 6);
    assert_eq!(recent[0].spool_dropped, 2);
    assert_eq!(recent[0].rejected[0].name, "readout_gone");
    assert_eq!(db.recent_cycles("h_1", 1).await.expect("one").len(), 1);

    // Pruning keeps the latest output of each command, even when old.
    let removed = db.prune(60_000).await.expect("prune");
    assert_eq!(removed, 3, "outputs of c0 and c1's free, and cycle c0");
    let latest = db.latest_outputs("h_1").await.expect("latest");
    assert_eq!(latest.len(), 2, "df1 survives: it is readout_df's latest");
    let ids: Vec<String> = db
        .recent_cycles("h_1", 10)
        .await
        .expect("recent")
        .into_iter()
        .map(|c| c.cycle_id)
        .collect();
    assert_eq!(ids, ["c2", "c1"]);

    // Removal: idempotent, frees the name, unknown hosts are NotFound.
    db.remove_host("h_1", 90_000).await.expect("remove");
    db.remove_host("h_1", 91_000).await.expect("remove twice");
    assert_eq!(
        db.host("h_1").await.expect("still there").removed_at_ms,
        Some(90_000)
    );
    assert!(matches!(
        db.host_by_name("web-1").await,
        Err(DbError::NotFound)
    ));
    db.create_host(&new_host("h_3", "web-1"))
        .await
        .expect("name reused");
    assert!(matches!(
        db.remove_host("h_none", 1).await,
        Err(DbError::NotFound)
    ));
    let names: Vec<(String, bool)> = db
        .list_hosts()
        .await
        .expect("list")
        .into_iter()
        .map(|h| (h.id, h.removed_at_ms.is_some()))
        .collect();
    assert_eq!(names, [("h_1".to_owned(), true), ("h_3".to_owned(), false)]);
}

#[tokio::test]
async fn storage_story_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("story.db").display());
    story(SqliteStore::open(&url).await.expect("open sqlite")).await;
    // Reopening runs no migration twice and finds the data.
    let db = SqliteStore::open(&url).await.expect("reopen");
    assert_eq!(db.list_hosts().await.expect("list").len(), 2);
}

#[tokio::test]
async fn storage_story_on_postgres() {
    let admin_url = std::env::var("READOUT_TEST_POSTGRES_URL").expect(
        "READOUT_TEST_POSTGRES_URL is not set: run the tests with scripts/test, which starts PostgreSQL",
    );
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).expect("random");
    let name = format!(
        "readout_story_{}",
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let (base, _) = admin_url.rsplit_once('/').expect("URL with a database");
    let url = format!("{base}/{name}");

    let run = tokio::spawn(async move {
        let db = PostgresStore::open(&url).await.expect("open postgres");
        story(db.clone()).await;
        db.close().await;
        // Reopening runs no migration twice and finds the data.
        let again = PostgresStore::open(&url).await.expect("reopen");
        assert_eq!(again.list_hosts().await.expect("list").len(), 2);
        again.close().await;
    })
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop database");
    if let Err(e) = run {
        std::panic::resume_unwind(e.into_panic());
    }
}
