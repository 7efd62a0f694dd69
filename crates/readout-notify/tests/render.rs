//! Channels render a notice into what a receiver gets: each preset's
//! request, the generic call, email; hostile values stay data.

use std::collections::BTreeMap;

use readout_alerting::route::{Notice, NoticeEvent, NoticeKind, Reading};
use readout_alerting::{Range, State};
use readout_notify::{ChannelConfig, Preset, WebhookChannel, context, presets};
use serde_json::Value;

fn notice(host: &str, to: State) -> Notice {
    Notice {
        kind: NoticeKind::Change,
        host_id: "h1".into(),
        host_name: host.into(),
        at_ms: 1_764_000_000_000,
        events: vec![NoticeEvent {
            incident_id: 7,
            variable: "disk_used_pct".into(),
            from: if to == State::Ok {
                State::Error
            } else {
                State::Ok
            },
            to,
            value: Some(93.5),
            at_ms: 1_764_000_000_000,
            opened_at_ms: 1_764_000_000_000,
            warning: Some(Range::Above(80.0)),
            error: Some(Range::Above(90.0)),
        }],
        values: BTreeMap::from([("load1".into(), Reading::Number(0.5))]),
    }
}

fn params(preset: Preset) -> BTreeMap<String, String> {
    let (required, _) = preset.params();
    required
        .iter()
        .map(|name| {
            let value = match *name {
                "url" => "http://127.0.0.1:9/hook".to_owned(),
                other => format!("the-{other}"),
            };
            ((*name).to_owned(), value)
        })
        .collect()
}

fn render(hook: &WebhookChannel, notice: &Notice) -> readout_notify::HttpCall {
    let ctx = context(notice, "https://readout.example", &hook.params);
    hook.call().expect("call").render(&ctx).expect("render")
}

#[test]
fn every_preset_renders_a_valid_request() {
    for preset in presets::ALL {
        for state in [State::Error, State::Ok] {
            let hook = WebhookChannel {
                preset: Some(preset),
                params: params(preset),
                ..WebhookChannel::default()
            };
            let call = render(&hook, &notice("web1", state));
            assert!(call.url.starts_with("http"), "{preset:?}: {}", call.url);
            if preset == Preset::Ntfy {
                assert!(call.body.contains("disk_used_pct"), "{}", call.body);
                continue;
            }
            let body: Value = serde_json::from_str(&call.body)
                .unwrap_or_else(|e| panic!("{preset:?} {state:?}: {e}: {}", call.body));
            let text = body.to_string();
            assert!(text.contains("disk_used_pct"), "{preset:?}: {text}");
        }
    }
}

#[test]
fn pagerduty_triggers_and_resolves_the_same_incident() {
    let hook = WebhookChannel {
        preset: Some(Preset::Pagerduty),
        params: params(Preset::Pagerduty),
        ..WebhookChannel::default()
    };
    let trigger: Value =
        serde_json::from_str(&render(&hook, &notice("web1", State::Error)).body).expect("json");
    let resolve: Value =
        serde_json::from_str(&render(&hook, &notice("web1", State::Ok)).body).expect("json");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(trigger["routing_key"], "the-routing_key");
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(trigger["dedup_key"], resolve["dedup_key"]);
}

#[test]
fn opsgenie_closes_by_alias_when_recovered() {
    let hook = WebhookChannel {
        preset: Some(Preset::Opsgenie),
        params: params(Preset::Opsgenie),
        ..WebhookChannel::default()
    };
    let open = render(&hook, &notice("web1", State::Error));
    assert!(open.url.ends_with("/v2/alerts"), "{}", open.url);
    assert!(
        open.headers
            .contains(&("Authorization".into(), "GenieKey the-api_key".into()))
    );
    let close = render(&hook, &notice("web1", State::Ok));
    assert!(
        close
            .url
            .ends_with("/v2/alerts/readout-7/close?identifierType=alias"),
        "{}",
        close.url
    );
}

#[test]
fn hostile_values_stay_data() {
    let host = "evil\"}, \"x\": 1, {\"\n<script>alert(1)</script>";
    for preset in presets::ALL {
        let hook = WebhookChannel {
            preset: Some(preset),
            params: params(preset),
            ..WebhookChannel::default()
        };
        let call = render(&hook, &notice(host, State::Error));
        for (name, value) in &call.headers {
            assert!(
                !value.contains('\n') && !value.contains('\r'),
                "{preset:?} header {name}: {value:?}"
            );
        }
        if preset != Preset::Ntfy {
            let body: Value = serde_json::from_str(&call.body).expect("still one JSON document");
            assert!(
                body.to_string().contains("<script>"),
                "the value is kept, as data"
            );
            assert!(
                body.get("x").is_none(),
                "{preset:?} let the value add a field"
            );
        }
    }
    let email: ChannelConfig =
        serde_json::from_str(r#"{"kind": "email", "to": ["ops@example.com"], "html": true}"#)
            .expect("email");
    let ChannelConfig::Email(email) = email else {
        panic!("email")
    };
    let rendered = email
        .render(&context(
            &notice(host, State::Error),
            "https://r.example",
            &BTreeMap::new(),
        ))
        .expect("render");
    assert!(!rendered.body.contains("<script>"), "{}", rendered.body);
    assert!(
        rendered.body.contains("&lt;script&gt;"),
        "{}",
        rendered.body
    );
    assert!(!rendered.subject.contains('\n'));
}

#[test]
fn templates_see_the_incident_and_any_value() {
    let hook: WebhookChannel = serde_json::from_str(
        r#"{"method": "put", "url": "https://api.example/{{ host_id }}/{{ variable|urlencode }}",
            "headers": {"X-State": "{{ state }} from {{ previous_state }}"},
            "body": "{\"v\": {{ value }}, \"unit\": {{ unit }}, \"load\": {{ values.load1 }}, \"err\": {{ error }}, \"link\": {{ link }}}"}"#,
    )
    .expect("hook");
    let call = render(&hook, &notice("web1", State::Error));
    assert_eq!(call.method, "PUT");
    assert_eq!(call.url, "https://api.example/h1/disk_used_pct");
    assert_eq!(
        call.headers,
        vec![("X-State".into(), "ERROR from OK".into())]
    );
    let body: Value = serde_json::from_str(&call.body).expect("json");
    assert_eq!(
        body,
        serde_json::json!({"v": 93.5, "unit": "%", "load": 0.5, "err": "above 90", "link": "https://readout.example/hosts/h1"})
    );
}

#[test]
fn bad_channels_say_what_and_where() {
    let check = |json: &str| {
        let config: ChannelConfig = serde_json::from_str(json).expect("config");
        let ctx = context(
            &notice("web1", State::Error),
            "https://r.example",
            &BTreeMap::new(),
        );
        config.check(&ctx).expect_err("refused").to_string()
    };
    assert_eq!(
        check(r#"{"kind": "webhook", "preset": "telegram", "params": {"token": "t"}}"#),
        "preset telegram needs the parameter \"chat_id\""
    );
    assert!(
        check(r#"{"kind": "webhook", "preset": "slack", "params": {"url": "x", "chan": "y"}}"#)
            .starts_with("preset slack has no parameter \"chan\"")
    );
    assert!(
        check(r#"{"kind": "webhook", "url": "https://x.example", "body": "{{ title"}"#)
            .starts_with("body template (line 1):")
    );
    assert!(
        check(
            r#"{"kind": "webhook", "url": "https://x.example", "body": "{\"a\": \"{{ title }}\"}"}"#
        )
        .starts_with("body template does not render valid JSON")
    );
    assert!(
        check(r#"{"kind": "webhook", "url": "ftp://x.example"}"#)
            .contains("must start with https://")
    );
    assert!(check(r#"{"kind": "webhook", "url": "https://x.example", "escape": "none", "body": "{% for i in range(1000000) %}{{ i }}{% endfor %}"}"#)
        .contains("body template"));
    assert_eq!(
        check(r#"{"kind": "email", "to": ["not an address"]}"#),
        "\"not an address\" is not an email address"
    );
    assert_eq!(
        check(r#"{"kind": "email", "to": []}"#),
        "an email channel needs at least one address in \"to\""
    );
}

#[test]
fn templates_cannot_dump_their_context() {
    let hook: WebhookChannel = serde_json::from_str(
        r#"{"method": "post", "url": "https://api.example/x", "body": "{{ debug() }}"}"#,
    )
    .expect("hook");
    let ctx = context(
        &notice("web1", State::Error),
        "https://r.example",
        &BTreeMap::new(),
    );
    let refused = hook
        .call()
        .expect("call")
        .render(&ctx)
        .expect_err("debug() is not offered");
    assert!(refused.to_string().contains("body template"), "{refused}");
}
