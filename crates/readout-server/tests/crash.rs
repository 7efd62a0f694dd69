//! kill -9 of the server while agents post and the compactor folds the
//! series head: after the restart every acknowledged cycle and every value
//! it carried is there, once — in the raw points and in the roll-ups — on
//! both stores.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::{PgDatabase, Server};

const POSTERS: usize = 8;
const MAX_CYCLES: i64 = 1_000;
const STEP_MS: i64 = 1_000;

#[test]
fn kill_9_under_load_on_sqlite_loses_and_duplicates_nothing() {
    kill_9_under_load(Server::start_with(SETTLED));
}

#[test]
fn kill_9_under_load_on_postgres_loses_and_duplicates_nothing() {
    let db = PgDatabase::create();
    let mut args = vec!["--database-url", db.url.as_str()];
    args.extend(SETTLED);
    kill_9_under_load(Server::start_with(&args));
}

/// A poster's host, its key and the start time of its cycle `n`
/// (`base + n` seconds, on a 5-minute boundary so the roll-ups line up).
struct Poster {
    id: String,
    key: String,
    base_ms: i64,
}

/// Cycles are folded as soon as they arrive, so the kill meets the
/// compactor at work.
const SETTLED: &[&str] = &["--compact-settle-secs", "0"];

fn kill_9_under_load(mut server: Server) {
    let base_ms = (now_ms() - 3 * 3_600_000) / 300_000 * 300_000;
    let posters: Vec<Poster> = (0..POSTERS)
        .map(|t| {
            let (id, key) = server.add_host(&format!("loaded-{t}"));
            let source = server.api_put(
                &format!("/hosts/{id}/sources/readout_n"),
                &json!({"parser": {"variables": [
                    {"name": "n", "extract": {"from": "regex", "pattern": "n=(\\d+)"}}
                ]}}),
            );
            assert_eq!(source["name"], "readout_n", "{source}");
            Poster { id, key, base_ms }
        })
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let url = server.url();
    let threads: Vec<_> = posters
        .iter()
        .map(|p| {
            let (url, id, key, stop) = (url.clone(), p.id.clone(), p.key.clone(), stop.clone());
            std::thread::spawn(move || post_until_gone(&url, &id, &key, base_ms, &stop))
        })
        .collect();
    // Let a few hundred cycles through, then pull the plug mid-stream, while
    // the compactor is folding them.
    support::wait_for(Duration::from_secs(60), || {
        let stored: usize = posters
            .iter()
            .map(|p| cycle_ids(&server, &p.id).len())
            .sum();
        (stored >= 300).then_some(())
    })
    .expect("cycles arrive");
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<BTreeSet<i64>> = threads
        .into_iter()
        .map(|t| t.join().expect("poster"))
        .collect();
    server.restart();
    // Give the compactor time to fold what the head held at the kill.
    std::thread::sleep(Duration::from_secs(3));

    for (p, acked) in posters.iter().zip(&acked) {
        let stored: Vec<i64> = cycle_ids(&server, &p.id)
            .iter()
            .map(|c| c.trim_start_matches("c-").parse().expect("our cycle id"))
            .collect();
        let unique: BTreeSet<i64> = stored.iter().copied().collect();
        assert_eq!(unique.len(), stored.len(), "a cycle stored twice");
        let lost: Vec<&i64> = acked.difference(&unique).collect();
        assert!(lost.is_empty(), "acknowledged cycles lost: {lost:?}");

        // Raw: one point a second, each the value its cycle carried.
        let to_ms = p.base_ms + MAX_CYCLES * STEP_MS;
        let raw = points(
            &server,
            p,
            &format!("from={}&to={to_ms}&points=1000", p.base_ms),
        );
        let by_cycle: BTreeMap<i64, (f64, i64)> = raw
            .iter()
            .map(|pt| {
                let at = pt["at_ms"].as_i64().expect("at_ms");
                let count = pt["count"].as_i64().expect("count");
                (
                    (at - p.base_ms) / STEP_MS,
                    (pt["last"].as_f64().expect("last"), count),
                )
            })
            .collect();
        let expected: BTreeMap<i64, (f64, i64)> =
            unique.iter().map(|&n| (n, (n as f64, 1))).collect();
        assert_eq!(by_cycle, expected, "raw points of {}", p.id);

        // Roll-ups: 5-minute buckets count each value once and sum them once.
        let five = points(
            &server,
            p,
            &format!("from={}&to={to_ms}&points=4", p.base_ms),
        );
        let count: i64 = five
            .iter()
            .map(|pt| pt["count"].as_i64().expect("count"))
            .sum();
        let sum: f64 = five
            .iter()
            .map(|pt| pt["avg"].as_f64().expect("avg") * pt["count"].as_f64().expect("count"))
            .sum();
        assert_eq!(count, unique.len() as i64, "5-minute roll-ups of {}", p.id);
        let want: f64 = unique.iter().map(|&n| n as f64).sum();
        assert!((sum - want).abs() < 1e-6 * want.max(1.0), "{sum} ≠ {want}");
    }
    let total: usize = acked.iter().map(BTreeSet::len).sum();
    assert!(total >= 300, "only {total} cycles acknowledged");
}

/// Posts cycles 0, 1, 2 … until the server is gone; returns those it
/// acknowledged.
fn post_until_gone(
    url: &str,
    id: &str,
    key: &str,
    base_ms: i64,
    stop: &AtomicBool,
) -> BTreeSet<i64> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let auth = STANDARD.encode(format!("{id}:{key}"));
    let mut acked = BTreeSet::new();
    for n in 0..MAX_CYCLES {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let body = serde_json::to_vec(&json!({
            "cycle_id": format!("c-{n}"), "started_at_ms": base_ms + n * STEP_MS, "duration_ms": 5,
            "agent": {"version": "1.0"},
            "allowlist": {"entries": [{"name": "readout_n", "command": "cat n"}]},
            "results": [{"name": "readout_n", "duration_ms": 1, "exit_code": 0,
                         "output_base64": STANDARD.encode(format!("n={n}\n{}\n", "padding ".repeat(64)))}]
        }))
        .expect("json");
        let sent = support::http()
            .post(format!("{url}{}", readout_proto::CYCLES_PATH).as_str())
            .header("authorization", &format!("Basic {auth}"))
            .header("content-type", "application/json")
            .send(&body[..]);
        match sent {
            Ok(r) if r.status().as_u16() == 200 => {
                acked.insert(n);
            }
            Ok(_) => {}
            Err(_) => break, // the server is gone
        }
    }
    acked
}

fn cycle_ids(server: &Server, host: &str) -> Vec<String> {
    server
        .api_get(&format!("/hosts/{host}/cycles?limit={MAX_CYCLES}"))
        .as_array()
        .expect("cycles")
        .iter()
        .filter_map(|c| c["cycle_id"].as_str().map(str::to_owned))
        .collect()
}

fn points(server: &Server, p: &Poster, range: &str) -> Vec<Value> {
    let answer = server.api_get(&format!("/hosts/{}/series?name=n&{range}", p.id));
    answer["series"][0]["points"]
        .as_array()
        .unwrap_or_else(|| panic!("points: {answer}"))
        .clone()
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms")
}
