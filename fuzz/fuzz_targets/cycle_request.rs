//! A cycle as the server reads it: any bytes as JSON, then the checks of
//! `CycleRequest::validate`, which never panic and never pass a cycle
//! dated more than a day ahead.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readout_proto::{CycleRequest, Limits, MAX_AHEAD_MS};

const NOW: i64 = 1_764_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(cycle) = serde_json::from_slice::<CycleRequest>(data) else {
        return;
    };
    if cycle.validate(&Limits::default(), NOW).is_ok() {
        assert!(cycle.started_at_ms > 0 && cycle.started_at_ms <= NOW + MAX_AHEAD_MS);
    }
});
