//! What an agent does with a server's answer: parse it, then pick the
//! jobs it names from the machine's allowlist. A hostile server may send
//! anything; whatever it sends, the agent runs only allowlisted command
//! lines. The allowlist file, a NUL byte, then the server's answer.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use readout_proto::CycleResponse;

fuzz_target!(|data: &[u8]| {
    let (allowlist, answer) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b"readout_free=\"free\"\n"[..], data),
    };
    let Ok(response) = serde_json::from_slice::<CycleResponse>(answer) else {
        return;
    };
    let list = readout_allowlist::parse(allowlist);
    let (jobs, rejected) =
        readout_agent::cycle::select(&response.commands, &list, Path::new("allowlist"));
    for job in &jobs {
        let entry = list.get(&job.name).expect("a job is in the allowlist");
        assert_eq!(entry.command, job.command, "the allowlist's own command line");
    }
    assert!(jobs.len() + rejected.len() <= response.commands.len());
    assert!(rejected.iter().all(|r| r.name.chars().count() <= 200));
});
