//! Wire types of the agent protocol (see `docs/protocol.md`).
//!
//! One round trip per cycle: the agent POSTs a [`CycleRequest`] to
//! [`CYCLES_PATH`] and gets a [`CycleResponse`] naming the commands for the
//! next cycle. Unknown fields are ignored on both sides so that agents and
//! servers of different minor versions keep talking.

#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

mod validate;

pub use validate::{Limits, MAX_AHEAD_MS, ValidationError};

/// Where the agent sends its cycles.
pub const CYCLES_PATH: &str = "/api/agent/v1/cycles";
/// Cycle interval the server asks for unless told otherwise.
pub const DEFAULT_INTERVAL_SECS: u32 = 60;

/// Everything one cycle produced on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleRequest {
    /// Unique per cycle (1–64 of `[A-Za-z0-9_-]`): a resubmitted cycle is
    /// acknowledged and not stored twice.
    pub cycle_id: String,
    /// When the cycle started, in milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// Wall time of the whole cycle.
    pub duration_ms: u64,
    pub agent: AgentInfo,
    pub allowlist: AllowlistReport,
    #[serde(default)]
    pub results: Vec<CommandResult>,
    /// Names the server asked for that the agent refused to run.
    #[serde(default)]
    pub rejected: Vec<RejectedName>,
    /// Cycles dropped from the spool (it was full) since the last report.
    #[serde(default)]
    pub spool_dropped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Agent implementation version, e.g. `0.1.0`.
    pub version: String,
    #[serde(default)]
    pub hostname: String,
    /// `std::env::consts::OS` / `uname -s`, e.g. `linux`.
    #[serde(default)]
    pub os: String,
    /// `std::env::consts::ARCH` / `uname -m`, e.g. `x86_64`.
    #[serde(default)]
    pub arch: String,
}

/// What the agent's allowlist file holds right now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowlistReport {
    #[serde(default)]
    pub entries: Vec<AllowedCommand>,
    #[serde(default)]
    pub invalid: Vec<InvalidLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedCommand {
    pub name: String,
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidLine {
    /// 1-based line number in the allowlist file.
    pub line: u32,
    pub text: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedName {
    pub name: String,
    pub reason: String,
}

/// The outcome of one command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandResult {
    pub name: String,
    pub duration_ms: u64,
    /// Exit status, when the process exited by itself.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Signal that ended the process, when one did.
    #[serde(default)]
    pub signal: Option<i32>,
    /// Killed (with its whole process group) because it ran too long.
    #[serde(default)]
    pub timed_out: bool,
    /// Output was cut at the agent's cap.
    #[serde(default)]
    pub truncated: bool,
    /// stdout and stderr as they interleaved, as raw bytes (base64 on the
    /// wire so non-UTF-8 output survives intact).
    #[serde(rename = "output_base64", with = "base64_bytes")]
    pub output: Vec<u8>,
}

/// The server's answer to a cycle, sent only once the cycle is durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleResponse {
    /// The cycle had been stored before; this copy was not stored again.
    #[serde(default)]
    pub duplicate: bool,
    /// Names to run next cycle. The agent still checks each against its file.
    pub commands: Vec<String>,
    /// Seconds between cycles; the server raises it to slow an agent down.
    pub interval_secs: u32,
    /// The host was removed: the agent must stop until its owner says so.
    #[serde(default)]
    pub stop: bool,
}

/// Body of every error the server answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable, machine-readable, e.g. `payload_too_large`.
    pub code: String,
    /// For people: what is wrong and where.
    pub message: String,
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

#[cfg(test)]
mod tests;
