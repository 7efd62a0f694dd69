//! Driving cycles at the server: closed-loop at saturation, open-loop at
//! a fixed offered rate (latency measured from when a cycle was due, so a
//! stalled server cannot hide its queue).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::load::{self, Variant};
use crate::server::{ADMIN_TOKEN, Server};

/// Most requests in flight at the fixed rate before the driver waits.
const MAX_IN_FLIGHT: usize = 4096;

#[derive(Debug)]
struct Host {
    id: String,
    authorization: String,
    profile: usize,
}

/// Hosts set up on the server, and the cycles they send.
#[derive(Debug)]
pub(crate) struct Load {
    client: reqwest::Client,
    cycles_url: String,
    hosts: Vec<Host>,
    profiles: Vec<Vec<Variant>>,
    /// The first cycle's time: far enough back that every cycle sent is
    /// in the past, one minute apart per host.
    base_ms: i64,
    next: AtomicU64,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Load {
    /// Adds `hosts` hosts through the API; each reports its allowlist and
    /// gets the 15 commands (with their preset parsers).
    pub(crate) async fn set_up(
        server: &Server,
        profiles: Vec<Vec<Variant>>,
        hosts: usize,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(MAX_IN_FLIGHT)
            .timeout(Duration::from_secs(120))
            .build()?;
        let api = format!("{}/api/v1", server.url);
        let cycles_url = format!("{}{}", server.url, readout_proto::CYCLES_PATH);
        let mut made = Vec::with_capacity(hosts);
        for chunk in (0..hosts).collect::<Vec<_>>().chunks(32) {
            let tasks: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let (client, api, cycles_url) =
                        (client.clone(), api.clone(), cycles_url.clone());
                    tokio::spawn(async move { add_host(&client, &api, &cycles_url, i).await })
                })
                .collect();
            for task in tasks {
                made.push(task.await??);
            }
        }
        // Hours back: the run's cycles stay in the past at any rate.
        let hour = 3_600_000;
        let base_ms = (now_ms() - 12 * hour) / hour * hour;
        Ok(Self {
            client,
            cycles_url,
            hosts: made,
            profiles,
            base_ms,
            next: AtomicU64::new(0),
        })
    }

    /// A host the run set up.
    pub(crate) fn first_host(&self) -> Option<&str> {
        self.hosts.first().map(|h| h.id.as_str())
    }

    pub(crate) fn values_per_cycle(&self) -> f64 {
        let all: Vec<usize> = self.profiles.iter().flatten().map(|v| v.values).collect();
        all.iter().sum::<usize>() as f64 / all.len().max(1) as f64
    }

    pub(crate) fn raw_bytes_per_cycle(&self) -> f64 {
        let all: Vec<usize> = self
            .profiles
            .iter()
            .flatten()
            .map(|v| v.raw_output_bytes)
            .collect();
        all.iter().sum::<usize>() as f64 / all.len().max(1) as f64
    }

    /// Sends the next cycle (hosts in turn, each one minute later than its
    /// last); returns the status, or what failed.
    async fn send_next(&self) -> Result<(), String> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.hosts.len() as u64;
        let host = &self.hosts[usize::try_from(n % count).unwrap_or(0)];
        let k = n / count;
        let variants = &self.profiles[host.profile];
        let variant = &variants[usize::try_from(k).unwrap_or(0) % variants.len()];
        let started = self.base_ms + i64::try_from(k).unwrap_or(0) * 60_000;
        let body = load::gzip_body(variant, &format!("bench-{k}"), started);
        let response = self
            .client
            .post(&self.cycles_url)
            .header("authorization", &host.authorization)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{}: {e}", host.id))?;
        let status = response.status();
        if status.is_success() {
            // Read the answer: the connection goes back to the pool.
            let _ = response.bytes().await;
            Ok(())
        } else {
            let text = response.text().await.unwrap_or_default();
            Err(format!("{}: {status} {text}", host.id))
        }
    }
}

async fn add_host(
    client: &reqwest::Client,
    api: &str,
    cycles_url: &str,
    i: usize,
) -> anyhow::Result<Host> {
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let added: Value = ok(client
        .post(format!("{api}/hosts"))
        .header("authorization", &admin)
        .json(&json!({"name": format!("bench-{i}")}))
        .send()
        .await?)
    .await?
    .json()
    .await?;
    let id = added["host"]["id"].as_str().context("host id")?.to_owned();
    let key = added["api_key"].as_str().context("api key")?;
    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{key}"))
    );
    // First contact: the allowlist, no results yet.
    let first = readout_proto::CycleRequest {
        cycle_id: "bench-first".into(),
        started_at_ms: now_ms() - 13 * 3_600_000,
        duration_ms: 0,
        agent: readout_proto::AgentInfo {
            version: "bench".into(),
            hostname: format!("bench-{i}"),
            os: "linux".into(),
            arch: "x86_64".into(),
        },
        allowlist: load::allowlist(),
        results: Vec::new(),
        rejected: Vec::new(),
        spool_dropped: 0,
    };
    ok(client
        .post(cycles_url)
        .header("authorization", &authorization)
        .json(&first)
        .send()
        .await?)
    .await?;
    let names: Vec<&str> = load::COMMANDS.iter().map(|c| c.0).collect();
    ok(client
        .put(format!("{api}/hosts/{id}/commands"))
        .header("authorization", &admin)
        .json(&json!({"commands": names}))
        .send()
        .await?)
    .await?;
    Ok(Host {
        id,
        authorization,
        profile: i % load::PROFILES,
    })
}

/// The response if it is a success, else an error with what it said.
async fn ok(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let url = response.url().clone();
    let text = response.text().await.unwrap_or_default();
    anyhow::bail!("{status} from {url}: {text}")
}

/// What one phase did.
#[derive(Debug, Default)]
pub(crate) struct Run {
    pub(crate) elapsed: Duration,
    /// Latencies of the cycles stored, in microseconds, sorted.
    latencies_us: Vec<u64>,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
}

impl Run {
    /// Cycles stored.
    pub(crate) fn sent(&self) -> u64 {
        self.latencies_us.len() as u64
    }

    pub(crate) fn rate(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let last = self.latencies_us.len() - 1;
        let at = ((last as f64) * q).round() as usize;
        self.latencies_us[at.min(last)] as f64 / 1000.0
    }

    fn add(&mut self, took: Duration, result: Result<(), String>) {
        match result {
            Ok(()) => self
                .latencies_us
                .push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX)),
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn merge(&mut self, other: Self) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// `connections` clients each send a cycle as soon as the last is stored.
pub(crate) async fn saturate(load: &Arc<Load>, connections: usize, length: Duration) -> Run {
    let started = Instant::now();
    let deadline = started + length;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let load = Arc::clone(load);
            tokio::spawn(async move {
                let mut run = Run::default();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let result = load.send_next().await;
                    run.add(sent.elapsed(), result);
                }
                run
            })
        })
        .collect();
    let mut total = Run::default();
    for task in tasks {
        if let Ok(run) = task.await {
            total.merge(run);
        }
    }
    total.elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    total
}

/// Cycles offered at `rate` per second whatever the server does; each
/// latency counts from when its cycle was due.
pub(crate) async fn fixed_rate(load: &Arc<Load>, rate: u32, length: Duration) -> Run {
    let started = Instant::now();
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let count = (length.as_secs_f64() * f64::from(rate)) as u64;
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    let mut run = Run::default();
    for i in 0..count {
        let due = started + period.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            break;
        };
        let load = Arc::clone(load);
        tasks.spawn(async move {
            let result = load.send_next().await;
            drop(permit);
            (due.elapsed(), result)
        });
        while let Some(Ok((took, result))) = tasks.try_join_next() {
            run.add(took, result);
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok((took, result)) = done {
            run.add(took, result);
        }
    }
    run.elapsed = length;
    run.latencies_us.sort_unstable();
    run
}
