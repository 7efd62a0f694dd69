//! The raw output viewer: each command's latest output and its history,
//! exactly as the agent sent it. Command output is untrusted: templates
//! escape it, so markup in it shows as text.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use readout_storage::{Database, DbError, RunOutcome};
use serde::{Deserialize, Serialize};

use super::dashboard::{WorkspaceHost, not_found};
use super::pages::failed;
use crate::state::AppState;

/// `2026-11-25 12:03:07 UTC`.
pub(super) fn when(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| at_ms.to_string())
}

/// How a run ended, in a few words.
fn ending(outcome: &RunOutcome) -> String {
    let mut words = match (outcome.exit_code, outcome.signal) {
        (_, Some(signal)) => format!("killed by signal {signal}"),
        (Some(code), None) => format!("exit {code}"),
        (None, None) => "did not run".to_owned(),
    };
    if outcome.timed_out {
        words.push_str(", timed out");
    }
    if outcome.truncated {
        words.push_str(", output cut at the agent's cap");
    }
    words
}

#[derive(Debug, Serialize)]
struct OutputRow {
    name: String,
    command: String,
    at: String,
    ending: String,
    failed: bool,
    bytes: usize,
}

pub(super) async fn list<D: Database>(
    State(state): State<AppState<D>>,
    WorkspaceHost { user, host }: WorkspaceHost,
) -> Response {
    let outputs = match state.db.latest_outputs(&host.id).await {
        Ok(outputs) => outputs,
        Err(e) => return failed("reading outputs", e),
    };
    let rows: Vec<OutputRow> = outputs
        .iter()
        .map(|o| OutputRow {
            name: o.name.clone(),
            command: host.command_line(&o.name),
            at: when(o.started_at_ms),
            ending: ending(&o.outcome),
            failed: o.outcome.exit_code != Some(0),
            bytes: o.output.len(),
        })
        .collect();
    state.web.render(
        "outputs.html",
        Some(&user),
        minijinja::context! {
            page => "servers", tab => "outputs", host => minijinja::value::Serde(&host),
            outputs => minijinja::value::Serde(&rows),
        },
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct OutputQuery {
    cycle: Option<String>,
}

#[derive(Debug, Serialize)]
struct Past {
    cycle_id: String,
    at: String,
    ending: String,
    failed: bool,
    bytes: i64,
}

/// Cycles looked back through for a command's history.
const HISTORY_CYCLES: u32 = 100;

pub(super) async fn one<D: Database>(
    State(state): State<AppState<D>>,
    WorkspaceHost { user, host }: WorkspaceHost,
    Path((_, name)): Path<(String, String)>,
    Query(query): Query<OutputQuery>,
) -> Response {
    let id = host.id.as_str();
    let (output, cycles) = match tokio::try_join!(
        state.db.output(id, &name, query.cycle.as_deref()),
        state.db.recent_cycles(id, HISTORY_CYCLES)
    ) {
        Ok(both) => both,
        Err(DbError::NotFound) => return not_found(),
        Err(e) => return failed("reading an output", e),
    };
    let history: Vec<Past> = cycles
        .iter()
        .filter_map(|c| {
            let result = c.results.iter().find(|r| r.name == name)?;
            Some(Past {
                cycle_id: c.cycle_id.clone(),
                at: when(c.started_at_ms),
                ending: ending(&result.outcome),
                failed: result.outcome.exit_code != Some(0),
                bytes: result.output_bytes,
            })
        })
        .collect();
    let position = history.iter().position(|p| p.cycle_id == output.cycle_id);
    let newer = position
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| history.get(i));
    let older = position.and_then(|i| history.get(i + 1));
    state.web.render(
        "output.html",
        Some(&user),
        minijinja::context! {
            page => "servers", tab => "outputs", host => minijinja::value::Serde(&host),
            name => name.as_str(), command => host.command_line(&name),
            cycle_id => output.cycle_id.as_str(), at => when(output.started_at_ms),
            ending => ending(&output.outcome), failed => output.outcome.exit_code != Some(0),
            text => String::from_utf8_lossy(&output.output).as_ref(),
            newer => newer.map(|p| p.cycle_id.as_str()), older => older.map(|p| p.cycle_id.as_str()),
            history => minijinja::value::Serde(&history),
        },
    )
}
