//! Who is told what: grouping, muting, repeats, acknowledgement, escalation.

use readout_alerting::State;
use readout_alerting::route::{
    Followed, NoticeEvent, NoticeKind, Route, Told, plan_changes, plan_followups,
};
use readout_alerting::window::Window;

const HOUR: i64 = 3_600_000;

fn event(incident_id: i64, variable: &str, from: State, to: State) -> NoticeEvent {
    NoticeEvent {
        incident_id,
        variable: variable.into(),
        from,
        to,
        value: Some(1.0),
        at_ms: 0,
        opened_at_ms: 0,
        warning: None,
        error: None,
    }
}

fn route(json: &str) -> Vec<(String, Route)> {
    vec![("r1".into(), serde_json::from_str(json).expect("route"))]
}

fn window_now() -> Vec<Window> {
    vec![
        serde_json::from_str(
            r#"{"host": "h1", "schedule": {"kind": "once", "from": "1970-01-01T00:00:00Z", "to": "1970-01-01T02:00:00Z"}}"#,
        )
        .expect("window"),
    ]
}

#[test]
fn one_cycles_changes_make_one_message_worst_first() {
    let events = [
        event(1, "load1", State::Ok, State::Warning),
        event(2, "disk_used_pct", State::Ok, State::Error),
    ];
    let plan = plan_changes(
        "h1",
        "web1",
        &events,
        &route(r#"{"channels": ["c1", "c2"]}"#),
        &[],
        |_, _| Told::Nothing,
        0,
    );
    assert_eq!(plan.sends.len(), 1);
    assert_eq!(plan.sends[0].channels, ["c1", "c2"]);
    let order: Vec<&str> = plan.sends[0]
        .events
        .iter()
        .map(|e| e.variable.as_str())
        .collect();
    assert_eq!(order, ["disk_used_pct", "load1"]);
    assert_eq!(plan.marks.len(), 2);
}

#[test]
fn a_route_hears_recoveries_only_of_what_it_was_told() {
    let errors_only = route(r#"{"channels": ["c1"], "states": ["ERROR"]}"#);
    let warn = [event(1, "load1", State::Ok, State::Warning)];
    assert!(
        plan_changes(
            "h1",
            "web1",
            &warn,
            &errors_only,
            &[],
            |_, _| Told::Nothing,
            0
        )
        .sends
        .is_empty()
    );
    let recovered = [event(1, "load1", State::Warning, State::Ok)];
    assert!(
        plan_changes(
            "h1",
            "web1",
            &recovered,
            &errors_only,
            &[],
            |_, _| Told::Nothing,
            0
        )
        .sends
        .is_empty()
    );
    let plan = plan_changes(
        "h1",
        "web1",
        &recovered,
        &errors_only,
        &[],
        |_, _| Told::Channels,
        0,
    );
    assert_eq!(plan.sends.len(), 1, "told of it before: hears it end");
}

#[test]
fn a_window_holds_the_notice_until_it_closes() {
    let routes = route(r#"{"channels": ["c1"]}"#);
    let events = [event(1, "load1", State::Ok, State::Error)];
    let plan = plan_changes(
        "h1",
        "web1",
        &events,
        &routes,
        &window_now(),
        |_, _| Told::Nothing,
        HOUR,
    );
    assert!(plan.sends.is_empty());
    assert_eq!(plan.marks.len(), 1);
    assert!(!plan.marks[0].told);
    let held = Followed {
        route_id: "r1".into(),
        event: event(1, "load1", State::Error, State::Error),
        last_told_ms: None,
        escalated: false,
        acknowledged: false,
    };
    assert!(
        plan_followups(
            "h1",
            std::slice::from_ref(&held),
            &routes,
            &window_now(),
            HOUR
        )
        .sends
        .is_empty()
    );
    let after = plan_followups("h1", &[held], &routes, &window_now(), 3 * HOUR);
    assert_eq!(after.sends.len(), 1);
    assert_eq!(after.sends[0].kind, NoticeKind::Change);
}

#[test]
fn repeats_stop_when_acknowledged_and_escalation_fires_once() {
    let routes = route(
        r#"{"channels": ["c1"], "repeat_every_secs": 3600, "escalation": {"after_secs": 1800, "channels": ["boss"]}}"#,
    );
    let mut open = Followed {
        route_id: "r1".into(),
        event: event(1, "load1", State::Error, State::Error),
        last_told_ms: Some(0),
        escalated: false,
        acknowledged: false,
    };
    let early = plan_followups("h1", std::slice::from_ref(&open), &routes, &[], HOUR / 4);
    assert!(early.sends.is_empty());
    let late = plan_followups("h1", std::slice::from_ref(&open), &routes, &[], HOUR / 2);
    assert_eq!(late.sends.len(), 1);
    assert_eq!(
        (late.sends[0].kind, late.sends[0].channels.clone()),
        (NoticeKind::Escalation, vec!["boss".to_owned()])
    );
    open.escalated = true;
    let due = plan_followups("h1", std::slice::from_ref(&open), &routes, &[], HOUR);
    assert_eq!(due.sends.len(), 1);
    assert_eq!(due.sends[0].kind, NoticeKind::Repeat);
    open.acknowledged = true;
    assert!(
        plan_followups("h1", &[open], &routes, &[], 5 * HOUR)
            .sends
            .is_empty()
    );
}

#[test]
fn a_recovery_reaches_the_escalation_channels_that_heard_of_the_problem() {
    let routes =
        route(r#"{"channels": ["c1"], "escalation": {"after_secs": 60, "channels": ["pager"]}}"#);
    let recovered = [event(1, "load1", State::Error, State::Ok)];
    let channels = |told: Told| -> Vec<Vec<String>> {
        plan_changes("h1", "web1", &recovered, &routes, &[], |_, _| told, 0)
            .sends
            .into_iter()
            .map(|s| s.channels)
            .collect()
    };
    assert_eq!(channels(Told::Channels), [vec!["c1".to_owned()]]);
    assert_eq!(
        channels(Told::Escalated),
        [vec!["c1".to_owned()], vec!["pager".to_owned()]]
    );
    assert!(channels(Told::Nothing).is_empty());
}
