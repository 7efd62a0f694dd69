//! The Readout server: the agent API, the read API, and the
//! dashboard, over one storage backend chosen by URL scheme.

#![forbid(unsafe_code)]

pub mod config;
pub mod delivery;
pub mod demo;
pub mod errors;
pub mod hosts;
pub mod ingest;
pub mod keys;
pub mod listen;
pub mod parsing;
mod route_list;
pub mod routes;
pub mod serve;
mod session;
pub mod state;
pub mod store;
pub mod web;
pub mod work;

/// Prints to standard output, ignoring a closed one: `readout demo | head`
/// must not bring the server down.
pub fn say(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// Milliseconds since the Unix epoch, the one time unit of the store.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
