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
        }
    }
}

impl State {
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
