//! Checks a server applies to every cycle before storing it. Pure, so the
//! same rules can be fuzzed and reused by other agents' test suites.

use crate::CycleRequest;

/// Bounds on what one cycle may carry.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_results: usize,
    pub max_allowlist_entries: usize,
    pub max_text_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_results: 1000,
            max_allowlist_entries: 1000,
            max_text_len: 16 * 1024,
        }
    }
}

/// A cycle that breaks a rule: `path` says where (JSON path), `message` what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    pub path: String,
    pub message: String,
}

fn err(path: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError {
        path: path.into(),
        message: message.into(),
    }
}

fn check_len(path: &str, text: &str, max: usize) -> Result<(), ValidationError> {
    if text.len() > max {
        return Err(err(
            path,
            format!("{} bytes long; the limit is {max}", text.len()),
        ));
    }
    Ok(())
}

/// How far ahead of the server's clock a cycle may be dated: more is a
/// wrong clock, and such a cycle would pass for the latest for as long.
pub const MAX_AHEAD_MS: i64 = 24 * 3600 * 1000;

impl CycleRequest {
    /// Checks ids, names, sizes and the time (against the server's clock
    /// `now_ms`). Output bytes are not looked at: they are untrusted and
    /// stored as they came.
    pub fn validate(&self, limits: &Limits, now_ms: i64) -> Result<(), ValidationError> {
        let id = &self.cycle_id;
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(err(
                "cycle_id",
                "must be 1 to 64 of A-Z, a-z, 0-9, '-' and '_'",
            ));
        }
        if self.started_at_ms <= 0 {
            return Err(err(
                "started_at_ms",
                "must be milliseconds since 1970-01-01 UTC",
            ));
        }
        if self.started_at_ms > now_ms.saturating_add(MAX_AHEAD_MS) {
            return Err(err(
                "started_at_ms",
                format!(
                    "{} is more than a day ahead of the server's clock ({now_ms}): set the machine's clock (NTP)",
                    self.started_at_ms
                ),
            ));
        }
        check_len("agent.version", &self.agent.version, 64)?;
        check_len("agent.hostname", &self.agent.hostname, 255)?;
        check_len("agent.os", &self.agent.os, 64)?;
        check_len("agent.arch", &self.agent.arch, 64)?;
        if self.results.len() > limits.max_results {
            return Err(err(
                "results",
                format!(
                    "{} results; the limit is {}",
                    self.results.len(),
                    limits.max_results
                ),
            ));
        }
        for (i, r) in self.results.iter().enumerate() {
            readout_allowlist::check_name(&r.name)
                .map_err(|e| err(format!("results[{i}].name"), format!("invalid name: {e}")))?;
            if self.results[..i].iter().any(|o| o.name == r.name) {
                return Err(err(
                    format!("results[{i}].name"),
                    format!("{} appears twice", r.name),
                ));
            }
        }
        let al = &self.allowlist;
        if al.entries.len() + al.invalid.len() > limits.max_allowlist_entries {
            return Err(err(
                "allowlist",
                format!("more than {} lines", limits.max_allowlist_entries),
            ));
        }
        for (i, e) in al.entries.iter().enumerate() {
            readout_allowlist::check_name(&e.name).map_err(|x| {
                err(
                    format!("allowlist.entries[{i}].name"),
                    format!("invalid name: {x}"),
                )
            })?;
            check_len(
                &format!("allowlist.entries[{i}].command"),
                &e.command,
                limits.max_text_len,
            )?;
        }
        for (i, l) in al.invalid.iter().enumerate() {
            check_len(
                &format!("allowlist.invalid[{i}].text"),
                &l.text,
                limits.max_text_len,
            )?;
            check_len(
                &format!("allowlist.invalid[{i}].reason"),
                &l.reason,
                limits.max_text_len,
            )?;
        }
        if self.rejected.len() > limits.max_results {
            return Err(err(
                "rejected",
                format!("more than {} names", limits.max_results),
            ));
        }
        for (i, r) in self.rejected.iter().enumerate() {
            check_len(&format!("rejected[{i}].name"), &r.name, 1024)?;
            check_len(
                &format!("rejected[{i}].reason"),
                &r.reason,
                limits.max_text_len,
            )?;
        }
        Ok(())
    }
}
