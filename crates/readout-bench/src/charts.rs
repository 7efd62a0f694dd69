//! Chart latency on a year of history: six variables of one host, a value
//! a minute for a year, written straight through the store (as a back-fill
//! writes), then read over HTTP as the dashboard reads them.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use readout_parse::Value;
use readout_storage::{Database, SampleRow};

use crate::server::{ADMIN_TOKEN, Server};

const DAY_MS: i64 = 24 * 3_600_000;
/// Variables per chart request, as the targets count them.
const VARIABLES: usize = 6;
/// Enough requests that p99 is not simply the slowest one.
const ROUNDS: usize = 200;

/// p50 and p99 of one request, in milliseconds.
#[derive(Debug)]
pub(crate) struct Latency {
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

#[derive(Debug)]
pub(crate) struct Charts {
    pub(crate) year: Latency,
    pub(crate) month: Latency,
    pub(crate) written_in: Duration,
}

/// Writes a year of six of `host_id`'s variables into the store at
/// `database_url`, then times the server's answers for a year and for
/// 30 days of them in 500 points.
pub(crate) async fn measure(
    server: &Server,
    database_url: &str,
    host_id: &str,
) -> anyhow::Result<Charts> {
    let client = reqwest::Client::new();
    let api = format!("{}/api/v1/hosts/{host_id}", server.url);
    let variables = get_json(&client, &format!("{api}/variables")).await?;
    let chosen: Vec<(String, String)> = variables
        .as_array()
        .context("the variables answer")?
        .iter()
        .filter(|v| v["last_value"].is_number())
        .filter_map(|v| {
            Some((
                v["name"].as_str()?.to_owned(),
                v["source"].as_str()?.to_owned(),
            ))
        })
        .take(VARIABLES)
        .collect();
    anyhow::ensure!(
        chosen.len() == VARIABLES,
        "the bench host has fewer than {VARIABLES} numeric variables"
    );

    let now = crate::drive::now_ms();
    let first_day = (now - 365 * DAY_MS) / DAY_MS * DAY_MS;
    let started = Instant::now();
    if database_url.starts_with("sqlite:") {
        let store = readout_storage_sqlite::SqliteStore::open(database_url).await?;
        write_year(&store, host_id, &chosen, first_day, now).await?;
    } else {
        let store = readout_storage_postgres::PostgresStore::open(database_url).await?;
        write_year(&store, host_id, &chosen, first_day, now).await?;
        store.close().await;
    }
    let written_in = started.elapsed();

    let names: String = chosen
        .iter()
        .map(|(name, _)| format!("name={}", urlencode(name)))
        .collect::<Vec<_>>()
        .join("&");
    let time = |days: i64| {
        let url = format!(
            "{api}/series?{names}&from={}&to={now}&points=500",
            now - days * DAY_MS
        );
        time_chart(&client, url, days)
    };
    let year = time(365).await?;
    let month = time(30).await?;
    Ok(Charts {
        year,
        month,
        written_in,
    })
}

async fn get_json(client: &reqwest::Client, url: &str) -> anyhow::Result<serde_json::Value> {
    Ok(client
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

async fn time_chart(client: &reqwest::Client, url: String, days: i64) -> anyhow::Result<Latency> {
    let mut took = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let sent = Instant::now();
        let answer = get_json(client, &url).await?;
        took.push(sent.elapsed().as_secs_f64() * 1000.0);
        let points = answer["series"][0]["points"].as_array().map_or(0, Vec::len);
        anyhow::ensure!(
            points > 100,
            "a {days}-day chart came back with {points} points"
        );
    }
    took.sort_by(f64::total_cmp);
    let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize];
    Ok(Latency {
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    })
}

/// A value a minute for each variable: a slow wave with a little noise,
/// so neither the chunks nor the aggregates are trivially constant.
async fn write_year<D: Database>(
    store: &D,
    host_id: &str,
    chosen: &[(String, String)],
    first_day: i64,
    now: i64,
) -> anyhow::Result<()> {
    let mut noise = 0x2545_F491_4F6C_DD1D_u64;
    let mut day = first_day;
    while day + DAY_MS <= now {
        let mut samples = Vec::with_capacity(chosen.len() * 1440);
        for (k, (name, source)) in chosen.iter().enumerate() {
            for minute in 0..1440 {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                let at_ms = day + minute * 60_000;
                let wave = ((at_ms / 60_000) as f64 / 720.0 + k as f64).sin();
                let value = (100.0 * (k + 1) as f64 * (1.5 + wave)).round() / 100.0
                    + (noise % 10) as f64 / 100.0;
                samples.push(SampleRow {
                    source: source.clone(),
                    name: name.clone(),
                    at_ms,
                    value: Value::Number(value),
                });
            }
        }
        store.write_samples(host_id, &samples).await?;
        day += DAY_MS;
    }
    Ok(())
}

fn urlencode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
