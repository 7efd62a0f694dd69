//! The little the agent remembers between cycles: which commands the server
//! asked for, the interval, and how the last delivery went.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Names the server asked for; `None` until it has answered once.
    pub commands: Option<Vec<String>>,
    pub interval_secs: u32,
    pub last_started_ms: Option<i64>,
    pub last_delivered_ms: Option<i64>,
    pub last_error: Option<String>,
    /// The server URL that answered last; tried first next time.
    pub server_index: usize,
    /// When a server other than the first took over: after a while the
    /// first is tried again, so agents come back to it.
    pub failed_over_at_ms: Option<i64>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            commands: None,
            interval_secs: readout_proto::DEFAULT_INTERVAL_SECS,
            last_started_ms: None,
            last_delivered_ms: None,
            last_error: None,
            server_index: 0,
            failed_over_at_ms: None,
        }
    }
}

/// How long an agent stays with a fallback server before trying the
/// first one again.
const FAIL_BACK_AFTER_MS: i64 = 10 * 60 * 1000;

impl State {
    /// The server to try first at `now_ms`.
    pub fn first_server(&self, now_ms: i64) -> usize {
        match self.failed_over_at_ms {
            Some(at) if now_ms - at >= FAIL_BACK_AFTER_MS => 0,
            _ => self.server_index,
        }
    }

    /// `server` took a cycle at `now_ms`.
    pub fn answered_by(&mut self, server: usize, now_ms: i64) {
        if server == 0 {
            self.failed_over_at_ms = None;
        } else if server != self.server_index || self.failed_over_at_ms.is_none() {
            self.failed_over_at_ms = Some(now_ms);
        } else if self
            .failed_over_at_ms
            .is_some_and(|at| now_ms - at >= FAIL_BACK_AFTER_MS)
        {
            // The first one was tried and still failed: wait again.
            self.failed_over_at_ms = Some(now_ms);
        }
        self.server_index = server;
    }

    fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("state.json")
    }

    /// Missing or unreadable state starts afresh: it only saves a round trip.
    pub fn load(state_dir: &Path) -> Self {
        let path = Self::path(state_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "state file unreadable; starting afresh");
                Self::default()
            }),
            Err(_) => Self::default(),
        }
    }

    pub fn save(&self, state_dir: &Path) -> anyhow::Result<()> {
        crate::spool::write_atomic(&Self::path(state_dir), &serde_json::to_vec_pretty(self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_over_agent_tries_the_first_server_again_after_a_while() {
        let mut state = State::default();
        state.answered_by(1, 0);
        assert_eq!(state.first_server(60_000), 1, "stays on the fallback");
        assert_eq!(
            state.first_server(FAIL_BACK_AFTER_MS),
            0,
            "tries the first again"
        );
        // The first is still down: the fallback took it; wait another while.
        state.answered_by(1, FAIL_BACK_AFTER_MS);
        assert_eq!(state.first_server(FAIL_BACK_AFTER_MS + 60_000), 1);
        state.answered_by(0, 2 * FAIL_BACK_AFTER_MS);
        assert_eq!(state.first_server(3 * FAIL_BACK_AFTER_MS), 0);
        assert_eq!(state.failed_over_at_ms, None);
    }
}
