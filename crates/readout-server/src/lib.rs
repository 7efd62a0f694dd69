//! The Readout server: the agent API, the read API, and (soon) the
//! dashboard, over one storage backend chosen by URL scheme.

#![forbid(unsafe_code)]

pub mod config;
pub mod demo;
pub mod errors;
pub mod hosts;
pub mod ingest;
pub mod keys;
pub mod routes;
pub mod serve;
pub mod state;
pub mod store;

/// Milliseconds since the Unix epoch, the one time unit of the store.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
