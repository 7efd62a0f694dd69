//! One storage story, told to both backends: a real SQLite file and a real
//! PostgreSQL server (its own database per run, dropped afterwards).
//!
//! PostgreSQL comes from `READOUT_TEST_POSTGRES_URL`, a URL of a role that
//! may create databases; `scripts/test` starts the server and sets it.

use readout_parse::Value;
use readout_parse::extract::ParserConfig;
use readout_parse::host::{CycleValues, Derived, DerivedSpec, VariableError};
use readout_proto::{
    AgentInfo, AllowedCommand, AllowlistReport, CommandResult, CycleRequest, InvalidLine,
    RejectedName,
};
use readout_storage::chunk::BLOCK_MS;
use readout_storage::series::{self, RES_1H, RES_5M, Range};
use readout_storage::sqlx::{self, Connection as _};
use readout_storage::{
    AccountLink, Database, DbError, IncomingCycle, Joining, NewApiToken, NewHost, NewSession,
    NewSource, Reading, Retention, Role, SampleRow, SavedLayout, Stored, Template, User,
};
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
    IncomingCycle::new(
        host.into(),
        started_at_ms + 100,
        CycleRequest {
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
        CycleValues::default(),
    )
}

fn source(name: &str) -> NewSource {
    NewSource {
        name: name.into(),
        parser: None,
    }
}

fn preset(name: &str) -> ParserConfig {
    ParserConfig {
        preset: Some(name.into()),
        ..ParserConfig::default()
    }
}

fn new_host(id: &str, name: &str) -> NewHost {
    NewHost {
        id: id.into(),
        name: name.into(),
        key_hash: vec![1, 2, 3],
        created_at_ms: 1_000,
        workspace_id: None,
        sources: vec![
            NewSource {
                name: "readout_free".into(),
                parser: Some(preset("free")),
            },
            source("readout_df"),
        ],
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
            source("readout_uptime"),
            source("readout_free"),
            source("readout_free"),
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
    let kept = db.data_sources("h_1").await.expect("sources");
    assert_eq!(
        kept[0].parser,
        Some(preset("free")),
        "a kept source keeps its parser"
    );
    assert_eq!(kept[1].parser, None);

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
    let removed = db.prune(retention(60_000, 0, 0)).await.expect("prune");
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

fn retention(outputs: i64, points: i64, rollups: i64) -> Retention {
    Retention {
        outputs_before_ms: outputs,
        points_before_ms: points,
        rollups_before_ms: rollups,
    }
}

/// A cycle of host `h_v` at `at_ms` whose parsed values are given.
fn valued_cycle(id: &str, at_ms: i64, values: &[(&str, f64)]) -> IncomingCycle {
    let mut c = cycle("h_v", id, at_ms, "1.0", vec![result("load", b"0.5")]);
    for (name, v) in values {
        c.parsed
            .values
            .insert((*name).into(), ("load".into(), Value::Number(*v)));
    }
    c.parsed.errors.insert(
        "load".into(),
        vec![VariableError {
            variable: "broken".into(),
            message: "line 2: no number".into(),
        }],
    );
    c
}

const MIN: i64 = 60_000;
const T0: i64 = 1_000 * RES_1H;

/// One batch holding cycles of two hosts, out of order and with a cycle
/// sent twice: each host gets its own values, series and agent facts, as
/// if the cycles had come one by one.
async fn batch_story<D: Database>(db: D) {
    for id in ["h_b1", "h_b2"] {
        db.create_host(&new_host(id, id)).await.expect("host");
    }
    let valued = |host: &str, id: &str, at_ms: i64, version: &str, values: &[(&str, f64)]| {
        let mut c = cycle(host, id, at_ms, version, vec![result("load", b"1")]);
        for (name, v) in values {
            c.parsed
                .values
                .insert((*name).into(), ("load".into(), Value::Number(*v)));
        }
        c
    };
    let batch = [
        valued("h_b1", "c1", T0, "b1-1", &[("x", 1.0)]),
        valued("h_b2", "c1", T0, "b2-1", &[("x", 100.0)]),
        valued("h_b1", "c2", T0 + MIN, "b1-2", &[("x", 2.0), ("y", 5.0)]),
        valued("h_b2", "c1", T0, "b2-again", &[("x", 999.0)]),
        valued("h_b1", "c0", T0 - MIN, "b1-0", &[("x", 0.0)]),
    ];
    assert_eq!(
        db.store_cycles(&batch).await.expect("store"),
        [
            Stored::New,
            Stored::New,
            Stored::New,
            Stored::Duplicate,
            Stored::New
        ]
    );
    let latest = |list: Vec<readout_storage::SeriesInfo>| -> Vec<(String, i64, Option<f64>)> {
        list.into_iter()
            .map(|s| (s.name, s.last_at_ms, s.last_value))
            .collect()
    };
    assert_eq!(
        latest(db.series_list("h_b1").await.expect("b1")),
        [
            ("x".to_owned(), T0 + MIN, Some(2.0)),
            ("y".to_owned(), T0 + MIN, Some(5.0))
        ]
    );
    assert_eq!(
        latest(db.series_list("h_b2").await.expect("b2")),
        [("x".to_owned(), T0, Some(100.0))]
    );
    let raw = series::query(
        &db,
        "h_b1",
        "x",
        Range {
            from_ms: T0 - MIN,
            to_ms: T0 + 2 * MIN,
            max_points: 100,
        },
        0,
    )
    .await
    .expect("raw");
    let values: Vec<f64> = raw.points.iter().map(|p| p.last).collect();
    assert_eq!(values, [0.0, 1.0, 2.0]);
    let one = db.host("h_b1").await.expect("b1");
    assert_eq!(
        (one.last_cycle_at_ms, one.agent_version.as_deref()),
        (Some(T0 + MIN), Some("b1-2"))
    );
    let two = db.host("h_b2").await.expect("b2");
    assert_eq!(
        (two.last_cycle_at_ms, two.agent_version.as_deref()),
        (Some(T0), Some("b2-1"))
    );
}

/// A count the trait does not show: how many rows the store holds.
async fn count(url: &str, sql: &'static str) -> i64 {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .expect(sql)
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .expect(sql)
    }
}

const HOUR: i64 = 60 * MIN;
const P0: i64 = 2_000 * RES_1H;

/// Raw outputs of closed hours are packed by the compactor, one row per
/// command and hour; every read answers as it did from the head, a late
/// cycle joins its hour's pack, and retention drops whole packed hours
/// but keeps each command's latest output.
async fn packed_story<D: Database>(db: D, url: &str) {
    db.create_host(&new_host("h_p", "packed"))
        .await
        .expect("host");
    let at = |hour: i64, tenth: i64| P0 + hour * HOUR + tenth * 10 * MIN;
    let made = |id: &str, at_ms: i64, hour: i64| {
        let free = format!("Mem: 1000 {at_ms} 20\nSwap: 0 0 0\n").repeat(30);
        let mut results = vec![result("free", free.as_bytes())];
        if hour < 2 {
            let mut df = result("df", format!("/dev/sda1 {at_ms} 90%\n").as_bytes());
            df.exit_code = Some(1);
            df.timed_out = hour == 1;
            results.insert(0, df);
        }
        let mut c = cycle("h_p", id, at_ms, "1.0", results);
        // Hour 1's cycles carry no values: they are packed all the same.
        if hour != 1 {
            c.parsed
                .values
                .insert("x".into(), ("free".into(), Value::Number(1.0)));
        }
        c.parsed.errors.insert(
            "free".into(),
            vec![VariableError {
                variable: "used".into(),
                message: format!("line 1 of {id}: no number"),
            }],
        );
        c
    };
    let mut batch = Vec::new();
    for hour in 0..3 {
        for tenth in 0..6 {
            batch.push(made(&format!("p{hour}{tenth}"), at(hour, tenth), hour));
        }
    }
    db.store_cycles(&batch).await.expect("store");
    let reads = || async {
        (
            db.latest_outputs("h_p").await.expect("latest"),
            db.recent_cycles("h_p", 20).await.expect("recent"),
            db.output("h_p", "free", Some("p03")).await.expect("p03"),
            db.output("h_p", "df", None).await.expect("df"),
            db.outputs_between("h_p", "free", P0, P0 + 3 * HOUR, 100)
                .await
                .expect("all"),
            db.outputs_between("h_p", "free", at(0, 4), P0 + 3 * HOUR, 5)
                .await
                .expect("a page"),
        )
    };
    let before = reads().await;
    assert_eq!(before.1.len(), 18);
    assert_eq!(before.1[17].results.len(), 2, "p00 ran df and free");
    assert_eq!(before.3.cycle_id, "p15");
    let page: Vec<&str> = before.5.iter().map(|o| o.cycle_id.as_str()).collect();
    assert_eq!(page, ["p04", "p05", "p10", "p11", "p12"]);

    while db
        .compact_head(7, P0 + 2 * HOUR, i64::MAX)
        .await
        .expect("compact")
        > 0
    {}
    let head = "SELECT COUNT(*) FROM command_results WHERE host_id = 'h_p'";
    let packs = "SELECT COUNT(*) FROM output_hours WHERE host_id = 'h_p'";
    assert_eq!(
        count(url, head).await,
        6,
        "hour 2 is open: its free outputs stay"
    );
    assert_eq!(count(url, packs).await, 4, "df and free of hours 0 and 1");
    assert_eq!(reads().await, before, "packed");

    // A late cycle joins the hour already packed; sent again, it is a
    // duplicate though its results left the head.
    let late = made("late", at(0, 0) + MIN, 0);
    assert_eq!(
        db.store_cycles(std::slice::from_ref(&late))
            .await
            .expect("late"),
        [Stored::New]
    );
    while db
        .compact_head(7, P0 + 2 * HOUR, i64::MAX)
        .await
        .expect("compact")
        > 0
    {}
    assert_eq!(count(url, packs).await, 4);
    assert_eq!(count(url, head).await, 6);
    assert_eq!(
        db.store_cycles(&[late]).await.expect("again"),
        [Stored::Duplicate]
    );
    let out = db.output("h_p", "free", Some("late")).await.expect("late");
    assert_eq!(out.started_at_ms, at(0, 0) + MIN);
    let all = db
        .outputs_between("h_p", "free", P0, P0 + HOUR, 100)
        .await
        .expect("hour 0");
    let ids: Vec<&str> = all.iter().map(|o| o.cycle_id.as_str()).collect();
    assert_eq!(ids, ["p00", "late", "p01", "p02", "p03", "p04", "p05"]);
    let recent = db.recent_cycles("h_p", 20).await.expect("recent");
    let late = recent
        .iter()
        .find(|c| c.cycle_id == "late")
        .expect("listed");
    let summary: Vec<(&str, Option<i32>, bool)> = late
        .results
        .iter()
        .map(|r| (r.name.as_str(), r.outcome.exit_code, r.outcome.timed_out))
        .collect();
    assert_eq!(summary, [("df", Some(1), false), ("free", Some(0), false)]);
    assert_eq!(
        late.results[1].parse_errors.0[0].message,
        "line 1 of late: no number"
    );

    // Past retention a packed hour goes whole, unless it holds a
    // command's latest output: df stopped after hour 1.
    db.prune(retention(at(2, 0) + 1, 0, 0))
        .await
        .expect("prune");
    assert_eq!(count(url, packs).await, 1, "df's last hour");
    let latest = db.latest_outputs("h_p").await.expect("latest");
    let view: Vec<(&str, &str)> = latest
        .iter()
        .map(|o| (o.name.as_str(), o.cycle_id.as_str()))
        .collect();
    assert_eq!(view, [("df", "p15"), ("free", "p25")]);
    assert!(matches!(
        db.output("h_p", "free", Some("p03")).await,
        Err(DbError::NotFound)
    ));
    let recent = db.recent_cycles("h_p", 20).await.expect("recent");
    assert!(recent.iter().all(|c| !c.cycle_id.starts_with("p0")));
    assert_eq!(recent.first().map(|c| c.cycle_id.as_str()), Some("p25"));
}

const B0: i64 = 3_000 * RES_1H;

/// Closed hours are rewritten as one row per six-hour block; a late cycle
/// and a back-fill into a closed block rewrite it, every read and hourly
/// aggregate answers as from hour rows, and retention drops whole blocks.
async fn blocks_story<D: Database>(db: D, url: &str) {
    assert_eq!(B0 % BLOCK_MS, 0, "the story starts at a block");
    db.create_host(&new_host("h_k", "blocks"))
        .await
        .expect("host");
    let valued = |id: &str, at_ms: i64, x: f64| {
        let mut c = cycle("h_k", id, at_ms, "1.0", vec![result("load", b"1")]);
        c.parsed
            .values
            .insert("x".into(), ("load".into(), Value::Number(x)));
        c
    };
    // Eight hours, a value every ten minutes: x is the minute.
    let batch: Vec<IncomingCycle> = (0..48)
        .map(|k| valued(&format!("k{k}"), B0 + k * 10 * MIN, (k * 10) as f64))
        .collect();
    db.store_cycles(&batch).await.expect("store");
    let range = |from_ms, to_ms, max_points| Range {
        from_ms,
        to_ms,
        max_points,
    };
    let reads = || async {
        let read = |r| series::query(&db, "h_k", "x", r, 0);
        (
            read(range(B0, B0 + 8 * HOUR, 960))
                .await
                .expect("raw")
                .points,
            read(range(B0 + 90 * MIN, B0 + 7 * HOUR, 11))
                .await
                .expect("buckets")
                .points,
            read(range(B0 - 392 * HOUR, B0 + 8 * HOUR, 400))
                .await
                .expect("hours")
                .points,
        )
    };
    let before = reads().await;
    assert_eq!(before.0.len(), 48);
    let rows = "SELECT COUNT(*) FROM chunks WHERE host_id = 'h_k'";
    while db
        .compact_head(100, B0 + 3 * HOUR, i64::MAX)
        .await
        .expect("compact")
        > 0
    {}
    assert_eq!(count(url, rows).await, 3, "an open block keeps hour rows");
    assert_eq!(reads().await, before);
    while db
        .compact_head(100, B0 + 8 * HOUR, i64::MAX)
        .await
        .expect("compact")
        > 0
    {}
    assert_eq!(count(url, rows).await, 3, "the closed block is one row");
    assert_eq!(reads().await, before, "the block answers as its hours did");

    // A late cycle and a back-fill land in the closed block.
    db.store_cycles(&[valued("late", B0 + 2 * HOUR + 5 * MIN, 1000.0)])
        .await
        .expect("late");
    let fixed = SampleRow {
        source: "load".into(),
        name: "x".into(),
        at_ms: B0 + HOUR,
        value: Value::Number(-60.0),
    };
    assert_eq!(
        db.write_samples("h_k", &[fixed]).await.expect("backfill"),
        1
    );
    while db
        .compact_head(100, B0 + 8 * HOUR, i64::MAX)
        .await
        .expect("compact")
        > 0
    {}
    assert_eq!(count(url, rows).await, 3);
    let (raw, _, hours) = reads().await;
    assert_eq!(raw.len(), 49);
    let at = |t: i64| raw.iter().find(|p| p.at_ms == t).map(|p| p.last);
    assert_eq!(at(B0 + 2 * HOUR + 5 * MIN), Some(1000.0));
    assert_eq!(at(B0 + HOUR), Some(-60.0));
    let hour = |t: i64| {
        hours
            .iter()
            .find(|p| p.at_ms == t)
            .map(|p| (p.count, p.min, p.max))
    };
    assert_eq!(
        hour(B0 + HOUR),
        Some((6, -60.0, 110.0)),
        "replaced, not added"
    );
    assert_eq!(
        hour(B0 + 2 * HOUR),
        Some((7, 120.0, 1000.0)),
        "the late value added"
    );

    // Past retention the block goes whole; the open hours after it stay.
    db.prune(retention(0, B0 + BLOCK_MS + 1, 0))
        .await
        .expect("prune");
    assert_eq!(count(url, rows).await, 2);
    let (raw, _, hours) = reads().await;
    assert_eq!(raw.first().map(|p| p.at_ms), Some(B0 + BLOCK_MS));
    assert_eq!(hours.iter().map(|p| p.count).sum::<i64>(), 49);
}

/// Data sources with parsers, templates, derived variables, series with
/// roll-ups, back-fill and retention.
async fn variables_story<D: Database>(db: D) {
    let mut host = new_host("h_v", "vars");
    host.sources.clear();
    db.create_host(&host).await.expect("create");

    // Templates: applied to a host, edited once for all, deleted without
    // leaving the host without a parser.
    let template = Template {
        id: "t_1".into(),
        name: "load".into(),
        command_name: "load".into(),
        parser: preset("proc_loadavg"),
        created_at_ms: 1,
        updated_at_ms: 1,
    };
    db.put_template(&template).await.expect("template");
    let twin = Template {
        id: "t_2".into(),
        ..template.clone()
    };
    assert!(matches!(
        db.put_template(&twin).await,
        Err(DbError::Conflict(_))
    ));
    db.apply_template("t_1", &["h_v".into()], 2)
        .await
        .expect("apply");
    db.put_template(&Template {
        parser: preset("uptime"),
        updated_at_ms: 3,
        ..template.clone()
    })
    .await
    .expect("edit");
    let sources = db.data_sources("h_v").await.expect("sources");
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].template_id.as_deref(), Some("t_1"));
    assert_eq!(sources[0].parser, Some(preset("uptime")));
    db.delete_template("t_1").await.expect("delete template");
    let sources = db.data_sources("h_v").await.expect("sources");
    assert_eq!(
        (sources[0].template_id.as_deref(), sources[0].parser.clone()),
        (None, Some(preset("uptime")))
    );
    assert!(matches!(
        db.apply_template("t_1", &["h_v".into()], 4).await,
        Err(DbError::NotFound)
    ));
    db.put_data_source("h_v", "load", Some(&preset("proc_loadavg")), None, 5)
        .await
        .expect("own parser");
    assert!(matches!(
        db.put_data_source("h_v", "load", None, Some("t_gone"), 5)
            .await,
        Err(DbError::NotFound)
    ));
    db.delete_data_source("h_v", "nothing")
        .await
        .expect_err("unknown source");

    // Derived variables keep their order of creation.
    let rate = Derived {
        name: "load_rate".into(),
        spec: DerivedSpec::RateOf("load_1".into()),
    };
    let double = Derived {
        name: "double".into(),
        spec: DerivedSpec::Formula("load_1 * 2".into()),
    };
    db.put_derived("h_v", &rate, 10).await.expect("derived");
    db.put_derived("h_v", &double, 11).await.expect("derived");
    assert_eq!(
        db.derived("h_v").await.expect("list"),
        [rate.clone(), double.clone()]
    );
    db.delete_derived("h_v", "double").await.expect("delete");
    assert_eq!(db.derived("h_v").await.expect("list"), [rate]);

    // Values every minute for two hours: load_1 = minute number.
    let mut batch = Vec::new();
    for m in 0..120 {
        batch.push(valued_cycle(
            &format!("v{m}"),
            T0 + m * MIN,
            &[("load_1", m as f64)],
        ));
    }
    // A duplicate cycle must not count twice in the roll-ups.
    batch.push(batch[5].clone());
    db.store_cycles(&batch).await.expect("store");

    let info = db.series_list("h_v").await.expect("variables");
    assert_eq!(info.len(), 1);
    assert_eq!(
        (info[0].name.as_str(), info[0].source.as_str()),
        ("load_1", "load")
    );
    assert_eq!(
        (info[0].last_at_ms, info[0].last_value),
        (T0 + 119 * MIN, Some(119.0))
    );
    assert_eq!(
        db.readings_before("h_v", &["load_1".into(), "none".into()], T0 + 10 * MIN)
            .await
            .expect("readings"),
        [(
            "load_1".to_owned(),
            Reading {
                at_ms: T0 + 9 * MIN,
                value: 9.0
            }
        )]
    );
    let recent = db.recent_cycles("h_v", 1).await.expect("recent");
    assert_eq!(recent[0].results[0].parse_errors.0[0].variable, "broken");

    // Raw: ten minutes, ten points.
    let q = |from_ms, to_ms, max_points| Range {
        from_ms,
        to_ms,
        max_points,
    };
    let raw = series::query(&db, "h_v", "load_1", q(T0, T0 + 10 * MIN, 100), 0)
        .await
        .expect("raw");
    assert_eq!(raw.plan.source_res_ms, 0);
    let values: Vec<f64> = raw.points.iter().map(|p| p.last).collect();
    assert_eq!(values, (0..10).map(f64::from).collect::<Vec<_>>());

    // Two hours in 24 points: 5-minute roll-ups.
    let five = series::query(&db, "h_v", "load_1", q(T0, T0 + 120 * MIN, 24), 0)
        .await
        .expect("5m");
    assert_eq!(five.plan.source_res_ms, RES_5M);
    assert_eq!(five.points.len(), 24);
    let p = five.points[1];
    assert_eq!(
        (p.at_ms, p.min, p.max, p.avg, p.last, p.count),
        (T0 + RES_5M, 5.0, 9.0, 7.0, 9.0, 5)
    );

    // A year in 500 points: hour roll-ups, two buckets hold everything.
    let year = series::query(
        &db,
        "h_v",
        "load_1",
        q(T0 - 364 * 24 * RES_1H, T0 + RES_1H * 2, 500),
        0,
    )
    .await
    .expect("1h");
    assert_eq!(year.plan.source_res_ms, RES_1H);
    let total: i64 = year.points.iter().map(|p| p.count).sum();
    assert_eq!(total, 120, "each value counted once");
    assert_eq!(year.points.last().map(|p| p.max), Some(119.0));

    // Values are read from the head until the compactor folds it into
    // hour chunks and hourly aggregates; part-way through (an hour and a
    // 5-minute bucket half in each) and after, every read answers the same.
    let before = (raw.points.clone(), five.points.clone(), year.points.clone());
    let reads = || async {
        let read = |range| series::query(&db, "h_v", "load_1", range, 0);
        (
            read(q(T0, T0 + 10 * MIN, 100)).await.expect("raw").points,
            read(q(T0, T0 + 120 * MIN, 24)).await.expect("5m").points,
            read(q(T0 - 364 * 24 * RES_1H, T0 + RES_1H * 2, 500))
                .await
                .expect("1h")
                .points,
        )
    };
    // The first story's hosts' head rows (their cycles carried no
    // values, but their outputs are packed with them) go first.
    while db.compact_head(64, T0, i64::MAX).await.expect("compact") > 0 {}
    assert_eq!(
        db.compact_head(52, i64::MAX, i64::MAX)
            .await
            .expect("compact"),
        52
    );
    assert_eq!(reads().await, before, "half compacted");
    while db
        .compact_head(50, i64::MAX, i64::MAX)
        .await
        .expect("compact")
        > 0
    {}
    assert_eq!(reads().await, before, "compacted");
    assert_eq!(db.series_list("h_v").await.expect("variables"), info);

    // Back-fill replaces points and recomputes their buckets.
    let fixed: Vec<SampleRow> = (5..10)
        .map(|m| SampleRow {
            source: "load".into(),
            name: "load_1".into(),
            at_ms: T0 + m * MIN,
            value: Value::Number(100.0),
        })
        .collect();
    assert_eq!(db.write_samples("h_v", &fixed).await.expect("backfill"), 5);
    let five = series::query(&db, "h_v", "load_1", q(T0, T0 + 120 * MIN, 24), 0)
        .await
        .expect("5m");
    let p = five.points[1];
    assert_eq!((p.min, p.max, p.avg, p.count), (100.0, 100.0, 100.0, 5));
    let info = db.series_list("h_v").await.expect("variables");
    assert_eq!(
        info[0].last_value,
        Some(119.0),
        "older samples leave the latest"
    );

    // Raw outputs are stored compressed and read back exactly.
    let big = "cpu  4705 150 1246 120113 0 0 13 0 0 0\n".repeat(500);
    let mut c = cycle(
        "h_v",
        "big",
        T0 + 200 * MIN,
        "1.0",
        vec![result("load", big.as_bytes())],
    );
    c.parsed = CycleValues::default();
    db.store_cycles(&[c]).await.expect("big");
    let out = db.output("h_v", "load", None).await.expect("latest");
    assert_eq!(
        (out.cycle_id.as_str(), out.output.len()),
        ("big", big.len())
    );
    assert_eq!(out.output, big.as_bytes());
    let v3 = db.output("h_v", "load", Some("v3")).await.expect("v3");
    assert_eq!(
        (v3.started_at_ms, v3.output.as_slice()),
        (T0 + 3 * MIN, &b"0.5"[..])
    );
    let page = db
        .outputs_between("h_v", "load", T0 + 10 * MIN, T0 + 20 * MIN, 4)
        .await
        .expect("page");
    let starts: Vec<i64> = page.iter().map(|o| o.started_at_ms).collect();
    assert_eq!(starts, (10..14).map(|m| T0 + m * MIN).collect::<Vec<_>>());

    // Retention: raw values go first, in whole six-hour blocks (the one
    // the cutoff falls in stays), hourly aggregates later; a chart
    // reaching past the raw values reads hours.
    let block_end = readout_storage::series::bucket_start(T0, BLOCK_MS) + BLOCK_MS;
    db.prune(retention(0, block_end - 1, 0))
        .await
        .expect("prune");
    assert_eq!(
        first_raw(&db, q(T0, T0 + 120 * MIN, 200)).await,
        Some(T0),
        "the block is kept whole"
    );
    db.prune(retention(0, block_end, 0)).await.expect("prune");
    assert_eq!(
        first_raw(&db, q(T0, T0 + 120 * MIN, 200)).await,
        None,
        "the block is gone"
    );
    let past = q(T0, T0 + 120 * MIN, 24);
    let hours = series::query(&db, "h_v", "load_1", past, block_end)
        .await
        .expect("1h");
    assert_eq!(hours.plan.source_res_ms, RES_1H);
    let first = hours.points.first().copied().expect("the first hour");
    assert_eq!(
        (first.at_ms, first.count, first.min, first.max),
        (T0, 60, 0.0, 100.0),
        "hourly aggregates outlive raw values, back-fill included"
    );
    db.prune(retention(0, T0 + 200 * MIN, T0 + 200 * MIN))
        .await
        .expect("prune all");
    assert!(db.series_list("h_v").await.expect("variables").is_empty());

    // A pruned variable that comes back is a new series, not the old id.
    let back = valued_cycle("back", T0 + 300 * MIN, &[("load_1", 7.0)]);
    db.store_cycles(&[back]).await.expect("back");
    let info = db.series_list("h_v").await.expect("variables");
    assert_eq!(
        info.iter()
            .map(|s| (s.name.as_str(), s.last_value))
            .collect::<Vec<_>>(),
        [("load_1", Some(7.0))]
    );
    while db
        .compact_head(64, i64::MAX, i64::MAX)
        .await
        .expect("compact")
        > 0
    {}
    let raw = series::query(&db, "h_v", "load_1", q(T0, T0 + 400 * MIN, 400), 0)
        .await
        .expect("raw");
    assert_eq!(raw.points.iter().map(|p| p.avg).collect::<Vec<_>>(), [7.0]);
}

/// When `h_v`'s first raw `load_1` value in `range` is.
async fn first_raw<D: Database>(db: &D, range: Range) -> Option<i64> {
    series::query(db, "h_v", "load_1", range, 0)
        .await
        .expect("raw")
        .points
        .first()
        .map(|p| p.at_ms)
}

/// The servers list's sparklines read compacted hours: `load_1` of the
/// variables story's host, back at T0 + 300 min and compacted there, once
/// the first workspace claimed the host.
async fn sparkline_story<D: Database + readout_storage::Dashboards>(db: D) {
    let points = db
        .sparklines("w_1", "load_1", RES_1H, T0)
        .await
        .expect("sparklines");
    let of_host: Vec<(i64, f64)> = points
        .iter()
        .filter(|p| p.host_id == "h_v")
        .map(|p| (p.bucket_ms, p.avg))
        .collect();
    assert_eq!(of_host, [(T0 + 5 * RES_1H, 7.0)], "{points:?}");
}

/// Accounts: one owner only; members join the first workspace, which
/// claims the hosts made before it; sessions end when they expire.
/// The first byte of each of Lab's open invitations' hashes, sorted.
async fn open_invitations<D: Database>(db: &D) -> Vec<u8> {
    let mut open: Vec<u8> = db
        .invitations("w_2", T0)
        .await
        .expect("invitations")
        .iter()
        .map(|l| l.token_hash[0])
        .collect();
    open.sort_unstable();
    open
}

/// The workspace a session looks at: its id and name.
async fn looking<D: Database>(db: &D, hash: u8) -> (String, String) {
    let user = db.session(&[hash], T0).await.expect("read").expect("live");
    (user.workspace_id, user.workspace_name)
}

async fn accounts_story<D: Database>(db: D) {
    let user = |id: &str, email: &str| User {
        id: id.into(),
        email: email.into(),
        name: id.into(),
        password_hash: "$argon2id$stand-in".into(),
        created_at_ms: T0,
    };
    let owner = Joining::FirstOwner {
        workspace_id: "w_1".into(),
        workspace_name: "Ops".into(),
    };
    assert!(!db.set_up().await.expect("set up"));
    let hosts = db.list_hosts().await.expect("hosts");
    let before = hosts.iter().filter(|h| h.removed_at_ms.is_none()).count();
    db.add_user(&user("u_1", "a@x.org"), &owner)
        .await
        .expect("owner");
    assert!(db.set_up().await.expect("set up"));
    assert_eq!(db.hosts_of("w_1").await.expect("claimed").len(), before);
    let again = db.add_user(&user("u_2", "b@x.org"), &owner).await;
    assert!(matches!(again, Err(DbError::Conflict(m)) if m.contains("owner account exists")));
    let viewer = Joining::FirstWorkspace { role: Role::Viewer };
    db.add_user(&user("u_3", "c@x.org"), &viewer)
        .await
        .expect("viewer");
    let taken = db.add_user(&user("u_4", "c@x.org"), &viewer).await;
    assert!(matches!(taken, Err(DbError::Conflict(m)) if m.contains("c@x.org")));

    for (hash, expires) in [(vec![1u8], T0 + 1000), (vec![2u8], T0 - 1)] {
        db.create_session(&NewSession {
            token_hash: hash,
            user_id: "u_3".into(),
            csrf_token: "csrf".into(),
            created_at_ms: T0 - 10,
            expires_at_ms: expires,
        })
        .await
        .expect("session");
    }
    let live = db.session(&[1], T0).await.expect("read").expect("live");
    assert_eq!(
        (live.workspace_id.as_str(), live.role.0),
        ("w_1", Role::Viewer)
    );
    assert!(
        db.session(&[2], T0).await.expect("read").is_none(),
        "expired"
    );
    assert_eq!(db.prune_sessions(T0).await.expect("prune"), 1);
    assert!(db.session(&[1], T0).await.expect("read").is_some());

    // A second workspace, owned by its creator; API tokens act in theirs.
    let other = Joining::NewWorkspace {
        workspace_id: "w_2".into(),
        workspace_name: "Lab".into(),
    };
    db.add_user(&user("u_5", "e@x.org"), &other)
        .await
        .expect("other");
    assert!(db.hosts_of("w_2").await.expect("none").is_empty());
    // Host names are unique within a workspace only.
    let in_workspace = |id: &str, workspace: &str| NewHost {
        workspace_id: Some(workspace.into()),
        ..new_host(id, "gateway")
    };
    db.create_host(&in_workspace("h_gw1", "w_1"))
        .await
        .expect("w_1's gateway");
    db.create_host(&in_workspace("h_gw2", "w_2"))
        .await
        .expect("w_2's gateway: the same name in another workspace");
    assert!(matches!(
        db.create_host(&in_workspace("h_gw3", "w_1")).await,
        Err(DbError::Conflict(_))
    ));
    assert!(matches!(
        db.host_by_name("gateway").await,
        Err(DbError::Conflict(m)) if m.contains("by its id")
    ));
    // Open incidents, filtered by workspace before the limit.
    let rule = readout_alerting::Rule {
        warning: Some(readout_alerting::Range::Above(1.0)),
        trigger_after: 1,
        ..readout_alerting::Rule::default()
    };
    for (n, host) in ["h_gw1", "h_gw2"].into_iter().enumerate() {
        db.put_alert_rule(host, "hot", &rule, T0)
            .await
            .expect("rule");
        let mut hot = cycle(
            host,
            &format!("hot-{n}"),
            T0 + 1,
            "1.0",
            vec![result("load", b"9")],
        );
        hot.parsed
            .values
            .insert("hot".into(), ("load".into(), Value::Number(9.0)));
        db.store_cycles(&[hot]).await.expect("hot cycle");
    }
    let open_in = |workspace: Option<&'static str>| {
        let db = db.clone();
        async move {
            db.incidents(true, None, workspace, 1)
                .await
                .expect("incidents")
                .iter()
                .map(|i| i.host_id.clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        open_in(Some("w_1")).await,
        ["h_gw1"],
        "not pushed off by w_2's newer one"
    );
    assert_eq!(open_in(Some("w_2")).await, ["h_gw2"]);
    db.remove_host("h_gw2", T0).await.expect("remove");
    db.remove_host("h_gw1", T0).await.expect("remove");
    // A workspace's delivery log is filtered before its limit: another
    // workspace's many sends do not push it off.
    let test_notice =
        readout_server::delivery::sample_notice(readout_alerting::route::NoticeKind::Test);
    for (channel, workspace) in [("ch_w1", "w_1"), ("ch_w2", "w_2")] {
        db.put_channel(
            channel,
            Some(workspace),
            channel,
            r#"{"kind":"email","to":["a@x.org"]}"#,
            T0,
        )
        .await
        .expect("channel");
    }
    db.enqueue("ch_w1", &test_notice, T0).await.expect("queue");
    for _ in 0..5 {
        db.enqueue("ch_w2", &test_notice, T0).await.expect("queue");
    }
    let log = |workspace: Option<&'static str>| {
        let db = db.clone();
        async move {
            db.notifications(None, workspace, 3)
                .await
                .expect("log")
                .iter()
                .map(|n| n.channel_id.clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(log(Some("w_1")).await, ["ch_w1"]);
    assert_eq!(log(Some("w_2")).await, ["ch_w2", "ch_w2", "ch_w2"]);
    assert_eq!(
        log(None).await,
        ["ch_w2", "ch_w2", "ch_w2"],
        "the operator sees all"
    );
    db.delete_channel("ch_w2").await.expect("delete");
    db.delete_channel("ch_w1").await.expect("delete");
    let token = |id: &str, user_id: &str, workspace: &str, hash: u8| NewApiToken {
        id: id.into(),
        user_id: user_id.into(),
        workspace_id: workspace.into(),
        name: format!("{id} name"),
        scope: "read".into(),
        token_hash: vec![hash; 32],
        created_at_ms: T0,
    };
    db.create_api_token(&token("at_1", "u_3", "w_1", 7))
        .await
        .expect("token");
    db.create_api_token(&token("at_2", "u_5", "w_2", 8))
        .await
        .expect("token");
    let (found, scope) = db
        .api_token_user(&[7; 32], T0 + 5)
        .await
        .expect("read")
        .expect("known");
    assert_eq!(
        (
            found.user_id.as_str(),
            found.workspace_id.as_str(),
            found.role.0,
            scope.as_str()
        ),
        ("u_3", "w_1", Role::Viewer, "read")
    );
    let (found, _) = db
        .api_token_user(&[8; 32], T0)
        .await
        .expect("read")
        .expect("known");
    assert_eq!(
        (found.workspace_id.as_str(), found.role.0),
        ("w_2", Role::Owner)
    );
    assert!(
        db.api_token_user(&[9; 32], T0)
            .await
            .expect("read")
            .is_none()
    );
    let listed = db.api_tokens("u_3").await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at_ms, Some(T0 + 5), "marked used");
    let others = db.delete_api_token("u_3", "at_2").await;
    assert!(
        matches!(others, Err(DbError::NotFound)),
        "another user's token stays"
    );
    db.delete_api_token("u_3", "at_1").await.expect("revoke");
    assert!(
        db.api_token_user(&[7; 32], T0)
            .await
            .expect("read")
            .is_none()
    );
    // A password change ends the user's other sessions, keeps the one that
    // changed it, and revokes their tokens when asked.
    db.create_session(&NewSession {
        token_hash: vec![6],
        user_id: "u_3".into(),
        csrf_token: "csrf".into(),
        created_at_ms: T0,
        expires_at_ms: T0 + 1000,
    })
    .await
    .expect("another session");
    db.create_api_token(&token("at_3", "u_3", "w_1", 10))
        .await
        .expect("token");
    db.set_password("u_3", "$argon2id$new", &[1], true)
        .await
        .expect("password");
    assert!(db.session(&[1], T0).await.expect("read").is_some(), "kept");
    assert!(db.session(&[6], T0).await.expect("read").is_none(), "ended");
    assert!(
        db.api_token_user(&[10; 32], T0)
            .await
            .expect("read")
            .is_none(),
        "revoked"
    );
    assert!(
        db.api_token_user(&[8; 32], T0)
            .await
            .expect("read")
            .is_some(),
        "another user's token stays"
    );
    let changed = db
        .user_by_email("c@x.org")
        .await
        .expect("read")
        .expect("user");
    assert_eq!(changed.password_hash, "$argon2id$new");

    // Links by email: an invitation adds its user to its workspace, once;
    // a reset sets the password and ends the account's sessions, once.
    let link = |hash: u8, kind: &str, email: &str, workspace: Option<(&str, &str)>| AccountLink {
        token_hash: vec![hash; 32],
        kind: kind.into(),
        email: email.into(),
        workspace_id: workspace.map(|w| w.0.into()),
        role: workspace.map(|w| w.1.into()),
        created_by: Some("u_1".into()),
        created_at_ms: T0,
        expires_at_ms: T0 + 1000,
    };
    db.create_link(&link(1, "invite", "f@x.org", Some(("w_2", "editor"))))
        .await
        .expect("invite");
    assert!(
        db.link(&[1; 32], "reset", T0)
            .await
            .expect("read")
            .is_none(),
        "kinds differ"
    );
    assert!(
        db.link(&[1; 32], "invite", T0 + 1000)
            .await
            .expect("read")
            .is_none(),
        "expired"
    );
    assert!(
        db.link(&[1; 32], "invite", T0)
            .await
            .expect("read")
            .is_some()
    );
    db.accept_invite(&[1; 32], &user("u_6", "f@x.org"), T0 + 1)
        .await
        .expect("accept");
    let again = db
        .accept_invite(&[1; 32], &user("u_7", "g@x.org"), T0 + 2)
        .await;
    assert!(matches!(again, Err(DbError::NotFound)), "{again:?}");
    let members = db.members("w_2").await.expect("members");
    let roles: Vec<(&str, Role)> = members
        .iter()
        .map(|m| (m.email.as_str(), m.role.0))
        .collect();
    assert_eq!(roles, [("e@x.org", Role::Owner), ("f@x.org", Role::Editor)]);
    db.create_link(&link(2, "invite", "c@x.org", Some(("w_2", "viewer"))))
        .await
        .expect("invite");
    let taken = db
        .accept_invite(&[2; 32], &user("u_8", "c@x.org"), T0 + 3)
        .await;
    assert!(
        matches!(taken, Err(DbError::Conflict(m)) if m.contains("c@x.org")),
        "an address has one account"
    );
    assert!(
        db.link(&[2; 32], "invite", T0)
            .await
            .expect("read")
            .is_some(),
        "a refused use leaves the link"
    );
    // The account that exists takes the invitation instead: a member of
    // both, each session looking at the workspace it picked.
    assert_eq!(
        db.join_with_account(&[2; 32], "u_3", T0 + 3)
            .await
            .expect("joined"),
        "w_2"
    );
    let theirs: Vec<(String, Role)> = db
        .memberships("u_3")
        .await
        .expect("memberships")
        .into_iter()
        .map(|m| (m.workspace_name, m.role.0))
        .collect();
    assert_eq!(
        theirs,
        [
            ("Ops".to_owned(), Role::Viewer),
            ("Lab".to_owned(), Role::Viewer)
        ]
    );
    assert_eq!(
        looking(&db, 1).await,
        ("w_1".into(), "Ops".into()),
        "the first by default"
    );
    db.set_session_workspace(&[1], "w_2").await.expect("switch");
    assert_eq!(looking(&db, 1).await, ("w_2".into(), "Lab".into()));
    let elsewhere = db.set_session_workspace(&[1], "w_nope").await;
    assert!(matches!(elsewhere, Err(DbError::NotFound)), "{elsewhere:?}");
    let used = db.join_with_account(&[2; 32], "u_3", T0 + 4).await;
    assert!(matches!(used, Err(DbError::NotFound)), "{used:?}");
    db.create_link(&link(4, "invite", "z@x.org", Some(("w_2", "admin"))))
        .await
        .expect("invite");
    let not_theirs = db.join_with_account(&[4; 32], "u_3", T0 + 4).await;
    assert!(
        matches!(not_theirs, Err(DbError::NotFound)),
        "another address's link"
    );
    db.create_link(&link(5, "invite", "c@x.org", Some(("w_2", "admin"))))
        .await
        .expect("invite");
    let member = db.join_with_account(&[5; 32], "u_3", T0 + 4).await;
    assert!(matches!(member, Err(DbError::Conflict(_))), "{member:?}");
    assert!(
        db.link(&[5; 32], "invite", T0)
            .await
            .expect("read")
            .is_some(),
        "a refused use leaves the link"
    );
    // Open invitations: not the used ones; a withdrawn one is gone.
    assert_eq!(
        open_invitations(&db).await,
        [4, 5],
        "z@x.org's and the refused one"
    );
    let elsewhere = db.withdraw_invitation("w_1", &[4; 32]).await;
    assert!(
        matches!(elsewhere, Err(DbError::NotFound)),
        "another workspace's"
    );
    db.withdraw_invitation("w_2", &[4; 32])
        .await
        .expect("withdraw");
    assert_eq!(open_invitations(&db).await, [5]);
    assert!(
        db.link(&[4; 32], "invite", T0)
            .await
            .expect("read")
            .is_none()
    );
    // Roles change and members go, but Lab keeps an owner.
    db.set_member_role("w_2", "u_6", Role::Admin)
        .await
        .expect("promote");
    let last = db.set_member_role("w_2", "u_5", Role::Viewer).await;
    assert!(matches!(last, Err(DbError::Conflict(_))), "{last:?}");
    let last = db.remove_member("w_2", "u_5").await;
    assert!(matches!(last, Err(DbError::Conflict(_))), "{last:?}");
    let nobody = db.remove_member("w_2", "u_nope").await;
    assert!(matches!(nobody, Err(DbError::NotFound)), "{nobody:?}");
    db.remove_member("w_2", "u_6").await.expect("remove");
    let left: Vec<(String, Role)> = db
        .members("w_2")
        .await
        .expect("members")
        .into_iter()
        .map(|m| (m.email, m.role.0))
        .collect();
    assert_eq!(
        left,
        [
            ("c@x.org".to_owned(), Role::Viewer),
            ("e@x.org".to_owned(), Role::Owner)
        ]
    );
    db.create_link(&link(3, "reset", "c@x.org", None))
        .await
        .expect("reset link");
    db.create_api_token(&token("at_4", "u_3", "w_1", 11))
        .await
        .expect("token");
    db.reset_password(&[3; 32], "$argon2id$reset", T0 + 4, true)
        .await
        .expect("reset");
    assert!(
        db.api_token_user(&[11; 32], T0)
            .await
            .expect("read")
            .is_none(),
        "a reset asked to revoke the tokens"
    );
    let reset = db
        .user_by_email("c@x.org")
        .await
        .expect("read")
        .expect("user");
    assert_eq!(reset.password_hash, "$argon2id$reset");
    assert!(
        db.session(&[1], T0).await.expect("read").is_none(),
        "its sessions ended"
    );
    let twice = db
        .reset_password(&[3; 32], "$argon2id$again", T0 + 5, false)
        .await;
    assert!(matches!(twice, Err(DbError::NotFound)));

    // Layouts: one per host and screen, replaced whole, forgotten on reset.
    let host = &hosts
        .iter()
        .find(|h| h.removed_at_ms.is_none())
        .expect("a host")
        .id;
    assert_eq!(db.layout(host, "desktop").await.expect("read"), None);
    let layout = |json: &str, by: Option<&str>| SavedLayout {
        panels_json: json.into(),
        updated_at_ms: T0,
        updated_by: by.map(Into::into),
    };
    db.put_layout(host, "desktop", &layout("[1]", Some("u_1")))
        .await
        .expect("save");
    db.put_layout(host, "desktop", &layout("[2]", Some("u_3")))
        .await
        .expect("replace");
    db.put_layout(host, "mobile", &layout("[3]", None))
        .await
        .expect("save mobile");
    assert_eq!(
        db.layout(host, "desktop").await.expect("read"),
        Some(layout("[2]", Some("u_3")))
    );
    assert_eq!(
        db.layout(host, "mobile").await.expect("read"),
        Some(layout("[3]", None))
    );
    let nowhere = db
        .put_layout("h_nope", "desktop", &layout("[]", None))
        .await;
    assert!(matches!(nowhere, Err(DbError::NotFound)), "{nowhere:?}");
    db.delete_layout(host, "desktop").await.expect("reset");
    assert_eq!(db.layout(host, "desktop").await.expect("read"), None);
    assert!(db.layout(host, "mobile").await.expect("read").is_some());
}

#[tokio::test]
async fn storage_story_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("story.db").display());
    story(SqliteStore::open(&url).await.expect("open sqlite")).await;
    variables_story(SqliteStore::open(&url).await.expect("open sqlite")).await;
    accounts_story(SqliteStore::open(&url).await.expect("open sqlite")).await;
    sparkline_story(SqliteStore::open(&url).await.expect("open sqlite")).await;
    batch_story(SqliteStore::open(&url).await.expect("open sqlite")).await;
    packed_story(SqliteStore::open(&url).await.expect("open sqlite"), &url).await;
    blocks_story(SqliteStore::open(&url).await.expect("open sqlite"), &url).await;
    // Reopening runs no migration twice and finds the data.
    let db = SqliteStore::open(&url).await.expect("reopen");
    assert_eq!(db.list_hosts().await.expect("list").len(), 9);
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
        variables_story(db.clone()).await;
        accounts_story(db.clone()).await;
        sparkline_story(db.clone()).await;
        batch_story(db.clone()).await;
        packed_story(db.clone(), &url).await;
        blocks_story(db.clone(), &url).await;
        db.close().await;
        // Reopening runs no migration twice and finds the data.
        let again = PostgresStore::open(&url).await.expect("reopen");
        assert_eq!(again.list_hosts().await.expect("list").len(), 9);
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
