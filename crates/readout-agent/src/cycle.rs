//! One cycle: read the allowlist, check the server's names against it, run
//! what is allowed, deliver (spooled cycles first), remember the answer.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use readout_allowlist::Allowlist;
use readout_proto::{
    AgentInfo, AllowedCommand, AllowlistReport, CommandResult, CycleRequest, InvalidLine,
    RejectedName,
};

use crate::client::{Client, Delivery};
use crate::config::Config;
use crate::runner::{self, Job, Limits};
use crate::spool::{Spool, Spooled};
use crate::state::State;

/// How early a cycle may start relative to its interval: cron's minute
/// ticks wobble by a second or two.
const INTERVAL_SLACK_MS: i64 = 5_000;

/// The longest interval between cycles a server may ask for: a day.
pub const MAX_INTERVAL_SECS: u32 = 86_400;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered, together with this many spooled cycles.
    Delivered { spooled_sent: usize },
    /// No server answered; the cycle waits in the spool.
    Spooled { reason: String },
    /// The server said the host was removed: the STOP marker is in place.
    Stopped,
    /// Too early: the server asked for a longer interval.
    NotDue { in_secs: i64 },
}

pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Runs one cycle. With `respect_interval`, does nothing when the previous
/// cycle started less than the server's interval ago.
pub fn run_cycle(config: &Config, respect_interval: bool) -> anyhow::Result<Outcome> {
    let mut state = State::load(&config.state_dir);
    let started_ms = now_ms();
    if respect_interval && let Some(last) = state.last_started_ms {
        let due = last + i64::from(state.interval_secs) * 1000 - INTERVAL_SLACK_MS;
        if started_ms < due {
            return Ok(Outcome::NotDue {
                in_secs: (due - started_ms) / 1000 + 1,
            });
        }
    }
    let client = Client::new(config)?;
    let spool = Spool::new(config.spool_dir(), config.spool_max_bytes);
    let (allowlist, report) = read_allowlist(&config.allowlist);

    // Before the server has answered once, the agent runs everything its
    // allowlist holds, so a cycle is spooled even when the server is down
    // from the start (the server keeps what it has no data source for as
    // raw output).
    let mut unreachable = None;
    if state.commands.is_none() {
        // First contact: an empty cycle that brings back the command list.
        let hello = build_cycle(report.clone(), started_ms, 0, Vec::new(), Vec::new())?;
        match client.send(&hello, state.first_server(started_ms))? {
            Delivery::Accepted { response, server } => {
                if apply(config, &mut state, response, server)? {
                    return Ok(Outcome::Stopped);
                }
            }
            Delivery::Unreachable(reason) => unreachable = Some(reason),
            Delivery::Refused(reason) | Delivery::Unauthorized(reason) => {
                anyhow::bail!("the server refused this agent: {reason}")
            }
        }
    }

    let commands = state
        .commands
        .clone()
        .unwrap_or_else(|| allowlist.entries.iter().map(|e| e.name.clone()).collect());
    let (jobs, rejected) = select(&commands, &allowlist, &config.allowlist);
    for r in &rejected {
        tracing::warn!(command.name = %r.name, reason = %r.reason, "server asked for a command this agent will not run");
    }
    let clock = Instant::now();
    let limits = Limits {
        timeout: std::time::Duration::from_secs(config.command_timeout_secs),
        output_cap: config.output_cap_bytes,
    };
    let results = runner::run_all(&jobs, limits, config.max_parallel);
    let duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    let cycle = build_cycle(report, started_ms, duration_ms, results, rejected)?;
    state.last_started_ms = Some(started_ms);
    if let Some(reason) = unreachable {
        spool.push(&cycle)?;
        tracing::warn!(%reason, "no server answered yet; cycle spooled");
        state.last_error = Some(reason.clone());
        state.save(&config.state_dir)?;
        return Ok(Outcome::Spooled { reason });
    }
    let outcome = deliver(config, &client, &spool, &mut state, cycle)?;
    state.save(&config.state_dir)?;
    Ok(outcome)
}

/// Sends the spooled cycles in order, then `fresh`. Stops at the first
/// failure and spools `fresh`, so order is always kept.
fn deliver(
    config: &Config,
    client: &Client,
    spool: &Spool,
    state: &mut State,
    fresh: CycleRequest,
) -> anyhow::Result<Outcome> {
    let spooled = spool.load_all()?;
    let spooled_count = spooled.len();
    let pending = spooled.into_iter().map(Some).chain(std::iter::once(None));
    let mut fresh = Some(fresh);
    for item in pending {
        let mut cycle = match &item {
            Some(Spooled { cycle, .. }) => cycle.clone(),
            None => fresh.take().context("fresh cycle sent twice")?,
        };
        cycle.spool_dropped = spool.dropped();
        let delivery = client.send(&cycle, state.first_server(now_ms()))?;
        let unauthorized = matches!(delivery, Delivery::Unauthorized(_));
        match delivery {
            Delivery::Accepted { response, server } => {
                if let Some(s) = &item {
                    spool.remove(s)?;
                }
                spool.reported_dropped(cycle.spool_dropped)?;
                state.last_delivered_ms = Some(now_ms());
                state.last_error = None;
                if apply(config, state, response, server)? {
                    return Ok(Outcome::Stopped);
                }
            }
            Delivery::Refused(reason) => {
                // Sending it again would be refused again: drop it, loudly.
                tracing::error!(cycle.id = %cycle.cycle_id, %reason, "server refused a cycle; dropped");
                if let Some(s) = &item {
                    spool.remove(s)?;
                }
                state.last_error = Some(reason);
            }
            Delivery::Unreachable(reason) | Delivery::Unauthorized(reason) => {
                // Whatever failed, the fresh cycle waits behind the spooled ones.
                let unsent = if item.is_none() {
                    Some(cycle)
                } else {
                    fresh.take()
                };
                if let Some(unsent) = &unsent {
                    spool.push(unsent)?;
                }
                tracing::warn!(%reason, "no server took the cycle; spooled");
                state.last_error = Some(reason.clone());
                if unauthorized {
                    state.save(&config.state_dir)?;
                    anyhow::bail!("the server refused this agent's credentials: {reason}");
                }
                return Ok(Outcome::Spooled { reason });
            }
        }
    }
    Ok(Outcome::Delivered {
        spooled_sent: spooled_count,
    })
}

/// Takes in the server's answer; returns whether the agent must stop.
fn apply(
    config: &Config,
    state: &mut State,
    response: readout_proto::CycleResponse,
    server: usize,
) -> anyhow::Result<bool> {
    state.answered_by(server, now_ms());
    // A server cannot put an agent to sleep for months.
    state.interval_secs = response.interval_secs.clamp(1, MAX_INTERVAL_SECS);
    state.commands = Some(response.commands);
    if response.stop {
        crate::spool::write_atomic(
            &config.stop_marker(),
            b"The Readout server removed this host. Delete this file to let the agent run again.\n",
        )?;
        state.save(&config.state_dir)?;
        tracing::warn!(marker = %config.stop_marker().display(), "the server removed this host; agent stopped");
        return Ok(true);
    }
    Ok(false)
}

/// Reads the allowlist. An unreadable file is reported to the server as an
/// invalid "line 0", so the dashboard shows why nothing runs.
pub fn read_allowlist(path: &Path) -> (Allowlist, AllowlistReport) {
    match std::fs::read(path) {
        Ok(bytes) => {
            let list = readout_allowlist::parse(&bytes);
            let report = report(&list);
            (list, report)
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot read the allowlist");
            let report = AllowlistReport {
                entries: Vec::new(),
                invalid: vec![InvalidLine {
                    line: 0,
                    text: String::new(),
                    reason: format!("cannot read {}: {e}", path.display()),
                }],
            };
            (Allowlist::default(), report)
        }
    }
}

fn report(list: &Allowlist) -> AllowlistReport {
    AllowlistReport {
        entries: list
            .entries
            .iter()
            .map(|e| AllowedCommand {
                name: e.name.clone(),
                command: e.command.clone(),
            })
            .collect(),
        invalid: list
            .invalid
            .iter()
            .map(|i| InvalidLine {
                line: u32::try_from(i.line).unwrap_or(u32::MAX),
                text: i.text.clone(),
                reason: i.reason.to_string(),
            })
            .collect(),
    }
}

/// Splits the server's names into jobs the allowlist permits and refusals.
pub fn select(
    names: &[String],
    allowlist: &Allowlist,
    file: &Path,
) -> (Vec<Job>, Vec<RejectedName>) {
    let mut jobs: Vec<Job> = Vec::new();
    let mut rejected = Vec::new();
    for name in names {
        if jobs.iter().any(|j| &j.name == name) {
            continue;
        }
        let refusal = match readout_allowlist::check_name(name) {
            Err(e) => format!("invalid name: {e}"),
            Ok(()) => match allowlist.get(name) {
                Some(entry) => {
                    jobs.push(Job {
                        name: entry.name.clone(),
                        command: entry.command.clone(),
                    });
                    continue;
                }
                None => format!("not defined in {}", file.display()),
            },
        };
        // A hostile name is echoed back cut short, never run.
        rejected.push(RejectedName {
            name: name.chars().take(200).collect(),
            reason: refusal,
        });
    }
    (jobs, rejected)
}

fn build_cycle(
    allowlist: AllowlistReport,
    started_at_ms: i64,
    duration_ms: u64,
    results: Vec<CommandResult>,
    rejected: Vec<RejectedName>,
) -> anyhow::Result<CycleRequest> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| anyhow::anyhow!("no randomness for a cycle id: {e}"))?;
    Ok(CycleRequest {
        cycle_id: id.iter().map(|b| format!("{b:02x}")).collect(),
        started_at_ms,
        duration_ms,
        agent: AgentInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
        },
        allowlist,
        results,
        rejected,
        spool_dropped: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowlisted_well_formed_names_become_jobs() {
        let list = readout_allowlist::parse(b"readout_free=\"free\"\n#readout_evil=\"touch /tmp/x\"\nreadout_bad = \"touch /tmp/y\"\n");
        let names: Vec<String> = [
            "readout_free",
            "readout_free",
            "readout_evil",
            "readout_bad",
            "readout_x;rm",
            "free",
        ]
        .map(String::from)
        .to_vec();
        let (jobs, rejected) = select(
            &names,
            &list,
            Path::new("/etc/readout/available_commands.sh"),
        );
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            (jobs[0].name.as_str(), jobs[0].command.as_str()),
            ("readout_free", "free")
        );
        let refused: Vec<_> = rejected
            .iter()
            .map(|r| (r.name.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(
            refused,
            [
                (
                    "readout_evil",
                    "not defined in /etc/readout/available_commands.sh"
                ),
                (
                    "readout_bad",
                    "not defined in /etc/readout/available_commands.sh"
                ),
                (
                    "readout_x;rm",
                    "invalid name: character ';' is not allowed; use only A-Z, a-z, 0-9 and _"
                ),
                ("free", "invalid name: it must start with \"readout_\""),
            ]
        );
    }

    #[test]
    fn a_server_cannot_put_the_agent_to_sleep_for_months() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config: Config = toml::from_str(&format!(
            "servers=[\"https://a\"]\nhost_id=\"h\"\napi_key=\"k\"\nstate_dir={:?}\n",
            dir.path().display().to_string()
        ))
        .expect("config");
        let mut state = State::default();
        let answer = |interval_secs| readout_proto::CycleResponse {
            duplicate: false,
            commands: Vec::new(),
            interval_secs,
            stop: false,
        };
        assert!(!apply(&config, &mut state, answer(u32::MAX), 0).expect("apply"));
        assert_eq!(state.interval_secs, MAX_INTERVAL_SECS);
        apply(&config, &mut state, answer(0), 0).expect("apply");
        assert_eq!(state.interval_secs, 1);
    }

    #[test]
    fn an_unreadable_allowlist_is_reported_as_line_zero() {
        let (list, report) = read_allowlist(Path::new("/nonexistent/available_commands.sh"));
        assert!(list.entries.is_empty());
        assert_eq!(report.invalid[0].line, 0);
        assert!(
            report.invalid[0]
                .reason
                .contains("cannot read /nonexistent/available_commands.sh")
        );
    }
}
