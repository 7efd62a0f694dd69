//! The agent's allowlist file: any bytes parse into entries and invalid
//! lines without a panic, and every entry is a name the agent accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let allowlist = readout_allowlist::parse(data);
    let lines = data.split(|b| *b == b'\n').count();
    for entry in &allowlist.entries {
        assert!(
            readout_allowlist::check_name(&entry.name).is_ok(),
            "{entry:?}"
        );
        assert!(entry.line >= 1 && entry.line <= lines);
        assert!(allowlist.get(&entry.name).is_some());
    }
    for invalid in &allowlist.invalid {
        assert!(invalid.line >= 1 && invalid.line <= lines);
    }
});
