//! Every preset on the same output: none may panic, and what one returns
//! is a non-empty set of finite numbers or text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readout_parse::{Input, Value, presets};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // A first line `$ free -m` gives the command line, which some presets
    // read (units of `free`, `df -h`); the exit code drives `nagios`.
    let (command, output) = match text.strip_prefix("$ ") {
        Some(rest) => rest.split_once('\n').unwrap_or((rest, "")),
        None => ("", &*text),
    };
    let exit_code = data.first().map(|b| i32::from(*b % 5));
    for preset in presets::all() {
        let command = if command.is_empty() {
            preset.command
        } else {
            command
        };
        if let Ok(values) = preset.parse(Input {
            command,
            output,
            exit_code,
        }) {
            assert!(!values.is_empty(), "{}: Ok with no values", preset.name);
            for (name, value) in &values {
                if let Value::Number(n) = value {
                    assert!(n.is_finite(), "{}: {name} = {n}", preset.name);
                }
            }
        }
    }
});
