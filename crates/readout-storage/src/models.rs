use readout_proto::{AllowlistReport, CycleRequest, RejectedName};
use serde::Serialize;

/// A monitored machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Host {
    pub id: String,
    pub name: String,
    pub created_at_ms: i64,
    pub removed_at_ms: Option<i64>,
    pub interval_secs: i32,
    /// When the last cycle arrived (server clock).
    pub last_seen_at_ms: Option<i64>,
    /// When the newest stored cycle started (agent clock).
    pub last_cycle_at_ms: Option<i64>,
    pub agent_version: Option<String>,
    pub agent_hostname: Option<String>,
    pub agent_os: Option<String>,
    pub agent_arch: Option<String>,
    /// The allowlist as the agent last reported it.
    #[sqlx(try_from = "String", rename = "allowlist_json")]
    pub allowlist: JsonText<AllowlistReport>,
}

/// A host to create. The key hash is computed by the caller: storage never
/// sees a key.
#[derive(Debug, Clone)]
pub struct NewHost {
    pub id: String,
    pub name: String,
    pub key_hash: Vec<u8>,
    pub created_at_ms: i64,
    /// Initial data sources (command names).
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HostAuth {
    pub key_hash: Vec<u8>,
    pub removed_at_ms: Option<i64>,
    pub interval_secs: i32,
}

/// A cycle as received, waiting to be stored.
#[derive(Debug, Clone)]
pub struct IncomingCycle {
    pub host_id: String,
    pub received_at_ms: i64,
    pub cycle: CycleRequest,
}

/// How one run of a command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RunOutcome {
    pub duration_ms: i64,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub truncated: bool,
}

/// The latest output of one command.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredOutput {
    pub name: String,
    pub cycle_id: String,
    pub started_at_ms: i64,
    #[sqlx(flatten)]
    pub outcome: RunOutcome,
    pub output: Vec<u8>,
}

/// One stored cycle with a summary of each command it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCycle {
    pub cycle_id: String,
    pub started_at_ms: i64,
    pub received_at_ms: i64,
    pub duration_ms: i64,
    pub agent_version: String,
    pub spool_dropped: i64,
    pub rejected: Vec<RejectedName>,
    pub results: Vec<ResultSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ResultSummary {
    pub name: String,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub outcome: RunOutcome,
    pub output_bytes: i64,
}

/// A value kept as JSON text, so every backend stores it the same way.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct JsonText<T>(pub T);

impl<T: serde::de::DeserializeOwned> TryFrom<String> for JsonText<T> {
    type Error = serde_json::Error;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text).map(JsonText)
    }
}

/// A row of the cycles table, before its results are attached.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CycleRow {
    pub id: i64,
    pub cycle_id: String,
    pub started_at_ms: i64,
    pub received_at_ms: i64,
    pub duration_ms: i64,
    pub agent_version: String,
    pub spool_dropped: i64,
    #[sqlx(try_from = "String", rename = "rejected_json")]
    pub rejected: JsonText<Vec<RejectedName>>,
}

/// A result summary with the row id of the cycle it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResultRow {
    pub cycle_pk: i64,
    #[sqlx(flatten)]
    pub summary: ResultSummary,
}

impl StoredCycle {
    /// Attaches each result to its cycle, keeping the cycles' order.
    pub fn assemble(cycles: Vec<CycleRow>, results: Vec<ResultRow>) -> Vec<StoredCycle> {
        let mut by_cycle: std::collections::HashMap<i64, Vec<ResultSummary>> =
            std::collections::HashMap::new();
        for r in results {
            by_cycle.entry(r.cycle_pk).or_default().push(r.summary);
        }
        cycles
            .into_iter()
            .map(|c| StoredCycle {
                results: by_cycle.remove(&c.id).unwrap_or_default(),
                cycle_id: c.cycle_id,
                started_at_ms: c.started_at_ms,
                received_at_ms: c.received_at_ms,
                duration_ms: c.duration_ms,
                agent_version: c.agent_version,
                spool_dropped: c.spool_dropped,
                rejected: c.rejected.0,
            })
            .collect()
    }
}

impl IncomingCycle {
    /// The reported allowlist as stored JSON text.
    pub fn allowlist_json(&self) -> String {
        json_text(&self.cycle.allowlist)
    }

    pub fn rejected_json(&self) -> String {
        json_text(&self.cycle.rejected)
    }
}

fn json_text<T: Serialize>(value: &T) -> String {
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}
