//! `readout parse`: the parsers on the command line, as users check them.

use std::io::Write as _;
use std::process::{Command, Stdio};

fn readout(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_readout"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run readout");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write");
    child.wait_with_output().expect("wait")
}

#[test]
fn parse_prints_variables_as_json_and_fails_clearly() {
    let free = b"              total        used        free      shared  buff/cache   available\n\
Mem:          15658        2043       10232          12        3382       13268\n\
Swap:          4095          39        4056\n";
    let out = readout(
        &["parse", "--preset", "free", "--command", "free -m", "-"],
        free,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let values: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(values["mem_total_bytes"], 15658.0 * 1024.0 * 1024.0);
    assert_eq!(values["swap_used_bytes"], 39.0 * 1024.0 * 1024.0);

    let out = readout(
        &["parse", "--preset", "uptime"],
        b" 10:25:20 up 16:03,  2 users,  load average: 0.00, 0.01, 0.05\n",
    );
    let values: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(values["uptime_seconds"], 57780.0);
    assert_eq!(values["load15"], 0.05);

    let out = readout(&["parse", "--preset", "free"], b"Mem: lots\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "readout: preset free: no header line starting with \"total\": is this `free` output?\n"
    );
    let out = readout(&["parse", "--preset", "loadavg"], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("readout: unknown preset \"loadavg\"; presets: "),
        "{err}"
    );
    assert!(
        err.contains("proc_loadavg"),
        "the list names the right one: {err}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("parser.json");
    std::fs::write(
        &config,
        r#"{"variables": [{"name": "used_kib", "extract": {"from": "table", "row": {"first_cell": "Mem:"}, "column": {"header": "used"}}}]}"#,
    )
    .expect("write");
    let out = readout(&["parse", "--config", config.to_str().expect("path")], free);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let values: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(values, serde_json::json!({"used_kib": 2043.0}));
    std::fs::write(
        &config,
        r#"{"variables": [{"name": "x", "extract": {"from": "cell", "cell": "A9"}}]}"#,
    )
    .expect("write");
    let out = readout(&["parse", "--config", config.to_str().expect("path")], free);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "readout: x: no cell A9 (the table has 3 rows)\n"
    );

    let out = readout(&["parse", "--list-presets"], b"");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("mem_available_pct") && listing.contains("proc_meminfo"),
        "{listing}"
    );
}
