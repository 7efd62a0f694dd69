use super::*;

/// The server's clock in these tests: the sample cycle starts at it.
const NOW: i64 = 1_764_000_000_000;

fn cycle() -> CycleRequest {
    CycleRequest {
        cycle_id: "0123abcd-ef".into(),
        started_at_ms: 1_764_000_000_000,
        duration_ms: 12,
        agent: AgentInfo {
            version: "0.1.0".into(),
            hostname: "pi".into(),
            os: "linux".into(),
            arch: "aarch64".into(),
        },
        allowlist: AllowlistReport {
            entries: vec![AllowedCommand {
                name: "readout_free".into(),
                command: "free".into(),
            }],
            invalid: vec![InvalidLine {
                line: 3,
                text: "x".into(),
                reason: "no '='".into(),
            }],
        },
        results: vec![CommandResult {
            name: "readout_free".into(),
            duration_ms: 3,
            exit_code: Some(0),
            signal: None,
            timed_out: false,
            truncated: false,
            output: b"caf\xE9 \x00\xFF\n".to_vec(),
        }],
        rejected: vec![RejectedName {
            name: "readout_x;rm".into(),
            reason: "bad".into(),
        }],
        spool_dropped: 0,
    }
}

#[test]
fn non_utf8_output_round_trips_as_base64() {
    let c = cycle();
    let json = serde_json::to_string(&c).expect("serialize");
    assert!(json.contains(r#""output_base64":"Y2Fm6SAA/wo=""#), "{json}");
    let back: CycleRequest = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, c);
}

#[test]
fn bad_base64_is_a_clear_error() {
    let json = serde_json::to_string(&cycle())
        .expect("serialize")
        .replace("Y2Fm6SAA/wo=", "@@");
    let e = serde_json::from_str::<CycleRequest>(&json).expect_err("must fail");
    assert!(e.to_string().contains("invalid base64"), "{e}");
}

#[test]
fn optional_fields_default_and_unknown_fields_are_ignored() {
    let json = r#"{"cycle_id":"a","started_at_ms":1,"duration_ms":0,
        "agent":{"version":"sh-0.1","future":1},"allowlist":{},"later":true}"#;
    let c: CycleRequest = serde_json::from_str(json).expect("parse");
    assert!(c.results.is_empty() && c.rejected.is_empty() && c.spool_dropped == 0);
    assert_eq!(c.validate(&Limits::default(), NOW), Ok(()));
}

#[test]
fn validation_says_where() {
    let limits = Limits::default();
    assert_eq!(cycle().validate(&limits, NOW), Ok(()));

    let mut c = cycle();
    c.cycle_id = "a b".into();
    assert_eq!(c.validate(&limits, NOW).expect_err("id").path, "cycle_id");

    let mut c = cycle();
    c.results[0].name = "readout_$(id)".into();
    let e = c.validate(&limits, NOW).expect_err("name");
    assert_eq!(
        e.to_string(),
        "results[0].name: invalid name: character '$' is not allowed; use only A-Z, a-z, 0-9 and _"
    );

    let mut c = cycle();
    c.results.push(c.results[0].clone());
    assert_eq!(
        c.validate(&limits, NOW).expect_err("dup").path,
        "results[1].name"
    );

    let mut c = cycle();
    c.allowlist.entries[0].command = "x".repeat(limits.max_text_len + 1);
    assert_eq!(
        c.validate(&limits, NOW).expect_err("long").path,
        "allowlist.entries[0].command"
    );

    let mut c = cycle();
    c.started_at_ms = 0;
    assert_eq!(
        c.validate(&limits, NOW).expect_err("time").path,
        "started_at_ms"
    );

    // A wrong clock a day ahead is refused; an hour ahead is a small skew.
    let mut c = cycle();
    c.started_at_ms = NOW + crate::MAX_AHEAD_MS + 1;
    let e = c.validate(&limits, NOW).expect_err("future");
    assert_eq!(e.path, "started_at_ms");
    assert!(e.message.contains("ahead of the server's clock"), "{e}");
    c.started_at_ms = NOW + 3_600_000;
    assert!(c.validate(&limits, NOW).is_ok());
}
