//! Alerts end to end: the real agent runs a command whose output the test
//! controls, the real server judges it, and a real HTTP receiver and a
//! real SMTP server (aiosmtpd) get the notifications. On both stores.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::receivers::{Call, Receiver, SmtpOptions, SmtpServer};
use support::{Agent, LevelHost, PgDatabase, Server, wait_for};

const WAIT: Duration = Duration::from_secs(30);

/// A server whose alerts section suits a test: fast sweeps and retries,
/// loopback webhooks allowed (only when `allow_loopback`); `alerts` adds
/// lines to that section.
fn server(extra: &[&str], alerts: &str, allow_loopback: bool) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("readout.toml");
    let allow = if allow_loopback {
        "allow_networks = [\"127.0.0.1/32\"]\n"
    } else {
        ""
    };
    let silent = if alerts.contains("silent_after_secs") {
        ""
    } else {
        "silent_after_secs = 3\n"
    };
    std::fs::write(
        &config,
        format!(
            "[alerts]\n{silent}sweep_every_secs = 1\nretry_first_ms = 200\nretry_max_ms = 1000\n\
             smtp_from = \"Readout <alerts@readout.test>\"\n{allow}{alerts}\n"
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    let mut args = vec!["--config", config.as_str()];
    args.extend_from_slice(extra);
    Server::start_in(dir, &args)
}

fn smtp_url(smtp: &SmtpServer) -> String {
    format!("smtp_url = \"smtp://127.0.0.1:{}\"", smtp.port)
}

fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    server.api("POST", path, Some(body))
}

fn created(server: &Server, path: &str, body: &Value) -> String {
    let (status, answer) = post(server, path, body);
    assert_eq!(status, 201, "POST {path}: {answer}");
    answer["id"].as_str().expect("id").to_owned()
}

macro_rules! on_both_stores {
    ($story:ident: $sqlite:ident, $postgres:ident) => {
        #[test]
        fn $sqlite() {
            $story(&[]);
        }

        #[test]
        fn $postgres() {
            let db = PgDatabase::create();
            $story(&["--database-url", &db.url]);
        }
    };
}

on_both_stores!(crossing_story: ranges_crossed_by_the_real_agent_notify_once_each_on_sqlite, ranges_crossed_by_the_real_agent_notify_once_each_on_postgres);
on_both_stores!(retry_story: a_failing_receiver_gets_retries_and_a_kill_loses_nothing_on_sqlite, a_failing_receiver_gets_retries_and_a_kill_loses_nothing_on_postgres);

on_both_stores!(cut_send_story: a_send_cut_by_a_killed_node_is_logged_and_sent_again_on_sqlite, a_send_cut_by_a_killed_node_is_logged_and_sent_again_on_postgres);
on_both_stores!(followup_story: repeats_escalation_acknowledgement_and_maintenance_through_the_server_on_sqlite, repeats_escalation_acknowledgement_and_maintenance_through_the_server_on_postgres);

/// The `kind` and `severity` of each call to `path` about `host`, in order.
fn kinds(receiver: &Receiver, path: &str, host: &str) -> Vec<(String, String)> {
    receiver
        .calls_to(path)
        .iter()
        .filter(|c| c.json()["host"] == host)
        .map(|c| {
            let body = c.json();
            let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
            (text("kind"), text("severity"))
        })
        .collect()
}

fn pair(kind: &str, severity: &str) -> (String, String) {
    (kind.to_owned(), severity.to_owned())
}

fn followup_story(extra: &[&str]) {
    let receiver = Receiver::start();
    // The agent runs only when told: it must not fall silent meanwhile.
    let server = server(extra, "silent_after_secs = 3600", true);
    let web1 = LevelHost::new(&server, "web1");
    let channel = |name: &str| {
        created(
            &server,
            "/channels",
            &json!({"name": name, "kind": "webhook", "url": format!("{}/{name}", receiver.url)}),
        )
    };
    let (ops, pager) = (channel("ops"), channel("pager"));
    created(
        &server,
        "/routes",
        &json!({"name": "ops, then the pager", "channels": [ops], "repeat_every_secs": 2,
                "escalation": {"after_secs": 4, "channels": [pager]}}),
    );

    // ERROR: told at once, repeated every 2 s, escalated after 4 s.
    web1.report(95);
    let escalated = wait_for(WAIT, || {
        let pager = kinds(&receiver, "/pager", "web1");
        (!pager.is_empty()).then_some(pager)
    })
    .expect("an escalation");
    assert_eq!(escalated, [pair("escalation", "ERROR")]);
    let ops_calls = kinds(&receiver, "/ops", "web1");
    assert_eq!(ops_calls[0], pair("change", "ERROR"));
    assert!(
        ops_calls.len() >= 2 && ops_calls[1..].iter().all(|k| *k == pair("repeat", "ERROR")),
        "{ops_calls:?}"
    );

    // Acknowledged: no more repeats. web2's open problem, on the same route,
    // is the clock: three of its repeats mean two intervals have passed.
    let web2 = LevelHost::new(&server, "web2");
    web2.report(99);
    let incidents = server.api_get(&format!("/incidents?host={}&open=true", web1.id));
    let iid = incidents[0]["id"].as_i64().expect("incident id");
    let (status, acked) = post(
        &server,
        &format!("/incidents/{iid}/acknowledge"),
        &json!({"by": "alice"}),
    );
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["acknowledged_by"], "alice");
    let acked_at = acked["acknowledged_at_ms"].as_i64().expect("ack time");
    let clock = kinds(&receiver, "/ops", "web2").len();
    wait_for(WAIT, || {
        let web2 = kinds(&receiver, "/ops", "web2");
        let repeats = web2[clock..].iter().filter(|k| k.0 == "repeat").count();
        (repeats >= 3).then_some(())
    })
    .expect("web2 repeated three times");
    // A repeat planned before the acknowledgement may still arrive; none
    // planned after it may.
    let late: Vec<Value> = receiver
        .calls_to("/ops")
        .iter()
        .map(Call::json)
        .filter(|b| b["host"] == "web1" && b["kind"] == "repeat")
        .filter(|b| {
            let time: jiff::Timestamp =
                b["time"].as_str().expect("time").parse().expect("RFC 3339");
            time.as_millisecond() > acked_at
        })
        .collect();
    assert!(
        late.is_empty(),
        "repeats after the acknowledgement: {late:?}"
    );

    // The recovery reaches both channels: the pager closes what it opened.
    // The two sends run side by side, so wait for both before comparing;
    // nothing may reach ops after its recovery.
    web1.report(20);
    let recovery = pair("change", "OK");
    let (pager, ops) = wait_for(WAIT, || {
        let pager = kinds(&receiver, "/pager", "web1");
        let ops = kinds(&receiver, "/ops", "web1");
        (pager.len() == 2 && ops.contains(&recovery)).then_some((pager, ops))
    })
    .expect("both channels told of the recovery");
    assert_eq!(pager[1], recovery);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        kinds(&receiver, "/ops", "web1").last(),
        Some(&recovery),
        "ops after the recovery: {ops:?}"
    );

    // Maintenance for 6 s: a new problem is held, then told when it ends.
    let from = jiff::Timestamp::now();
    let to = from + jiff::SignedDuration::from_secs(6);
    created(
        &server,
        "/maintenance",
        &json!({"host": web1.id, "schedule": {"kind": "once", "from": from.to_string(), "to": to.to_string()},
                "comment": "disk swap"}),
    );
    let before = kinds(&receiver, "/ops", "web1").len();
    web1.report(96);
    let held = wait_for(WAIT, || {
        let ops = kinds(&receiver, "/ops", "web1");
        (ops.len() > before).then(|| ops[before].clone())
    })
    .expect("the held notice");
    assert!(jiff::Timestamp::now() >= to, "told during the window");
    assert_eq!(held, pair("change", "ERROR"));
    let open = server.api_get(&format!("/incidents?host={}&open=true", web1.id));
    assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");
}

fn crossing_story(extra: &[&str]) {
    let receiver = Receiver::start();
    let smtp = SmtpServer::start();
    let server = server(extra, &smtp_url(&smtp), true);
    let web1 = LevelHost::new(&server, "web1");
    let id = &web1.id;

    let hook = created(
        &server,
        "/channels",
        &json!({"name": "ops hook", "kind": "webhook", "method": "PUT",
                "url": format!("{}/hooks/{{{{ host_id }}}}", receiver.url),
                "headers": {"X-Readout-State": "{{ state }}"},
                "body": "{\"host\": {{ host }}, \"variable\": {{ variable }}, \"value\": {{ value }}, \"unit\": {{ unit }}, \"state\": {{ state }}, \"previous\": {{ previous_state }}, \"error_range\": {{ error }}, \"link\": {{ link }}}"}),
    );
    let mail = created(
        &server,
        "/channels",
        &json!({"name": "ops mail", "kind": "email", "to": ["ops@readout.test", "oncall@readout.test"],
                "subject": "[{{ state }}] {{ host }} {{ variable }}"}),
    );
    created(
        &server,
        "/routes",
        &json!({"name": "everything", "channels": [hook, mail]}),
    );

    // OK → OK: nothing. Then warning, error, a repeat of error, recovery.
    web1.agent.once();
    for level in [60, 95, 97, 20] {
        web1.report(level);
    }
    let calls = wait_for(WAIT, || {
        let calls = receiver.calls_to("/hooks/");
        (calls.len() >= 3).then_some(calls)
    })
    .expect("three webhook calls");
    let states: Vec<Value> = calls.iter().map(|c| c.json()["state"].clone()).collect();
    assert_eq!(states, vec![json!("WARNING"), json!("ERROR"), json!("OK")]);
    let error = &calls[1];
    assert_eq!(error.method, "PUT");
    assert_eq!(error.path, format!("/hooks/{id}"));
    assert_eq!(
        error.headers.get("x-readout-state").map(String::as_str),
        Some("ERROR")
    );
    assert!(error.headers.contains_key("idempotency-key"));
    assert_eq!(
        error.json(),
        json!({"host": "web1", "variable": "level_pct", "value": 95.0, "unit": "%", "state": "ERROR",
               "previous": "WARNING", "error_range": "above 90", "link": format!("{}/hosts/{id}", server.url())})
    );
    let mails = wait_for(WAIT, || {
        let mails = smtp.mails();
        (mails.len() >= 3).then_some(mails)
    })
    .expect("three emails");
    let subjects: Vec<&str> = mails
        .iter()
        .map(|m| m.headers["subject"].as_str())
        .collect();
    assert_eq!(
        subjects,
        [
            "[WARNING] web1 level_pct",
            "[ERROR] web1 level_pct",
            "[OK] web1 level_pct"
        ]
    );
    assert_eq!(mails[1].headers["x-mailfrom"], "alerts@readout.test");
    assert_eq!(
        mails[1].headers["x-rcptto"],
        "ops@readout.test, oncall@readout.test"
    );
    assert!(
        mails[1]
            .body
            .contains("level_pct is ERROR: 95 % (error above 90)"),
        "{}",
        mails[1].body
    );
    assert!(
        mails[2]
            .body
            .contains("level_pct recovered: 20 % (was ERROR)"),
        "{}",
        mails[2].body
    );

    let incidents = server.api_get(&format!("/incidents?host={id}"));
    assert_eq!(incidents.as_array().map(Vec::len), Some(1), "{incidents}");
    assert!(incidents[0]["resolved_at_ms"].is_i64());
    let detail = server.api_get(&format!("/incidents/{}", incidents[0]["id"]));
    let path: Vec<&str> = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["to_state"].as_str().expect("state"))
        .collect();
    assert_eq!(path, ["WARNING", "ERROR", "OK"]);

    // The agent stops: after three quiet seconds, SILENT; then back.
    let silent = wait_for(WAIT, || {
        receiver
            .calls_to("/hooks/")
            .into_iter()
            .find(|c| c.json()["state"] == "SILENT")
    })
    .expect("a SILENT notice");
    assert_eq!(silent.json()["host"], "web1");
    web1.agent.once();
    let back = wait_for(WAIT, || {
        receiver
            .calls_to("/hooks/")
            .into_iter()
            .find(|c| c.json()["previous"] == "SILENT")
    })
    .expect("a getting-data-again notice");
    assert_eq!(back.json()["state"], "OK");

    // Exactly once each: the outbox drains with ten deliveries, five calls.
    let delivered = wait_for(WAIT, || {
        let pending = server.api_get("/notifications?status=pending");
        let delivered = server.api_get("/notifications?status=delivered");
        (pending.as_array().is_some_and(Vec::is_empty)).then_some(delivered)
    })
    .expect("an empty outbox");
    assert_eq!(delivered.as_array().map(Vec::len), Some(10), "{delivered}");
    assert_eq!(receiver.calls_to("/hooks/").len(), 5);
}

fn retry_story(extra: &[&str]) {
    let receiver = Receiver::start();
    let mut server = server(extra, "", true);
    let hook = created(
        &server,
        "/channels",
        &json!({"name": "flaky", "kind": "webhook", "url": format!("{}/flaky", receiver.url)}),
    );

    // 500 three times, then 200: delivered once, four attempts logged.
    receiver.script(&[500, 500, 500], 200);
    let (status, queued) = post(&server, &format!("/channels/{hook}/test"), &json!({}));
    assert_eq!(status, 202, "{queued}");
    let nid = queued["notification_id"].as_i64().expect("id");
    let detail = wait_for(WAIT, || {
        let d = server.api_get(&format!("/notifications/{nid}"));
        (d["status"] == "delivered").then_some(d)
    })
    .expect("delivered");
    let attempts: Vec<(bool, i64)> = detail["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| {
            (
                a["ok"].as_bool().expect("ok"),
                a["status_code"].as_i64().expect("code"),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [(false, 500), (false, 500), (false, 500), (true, 200)]
    );
    let calls = receiver.calls_to("/flaky");
    assert_eq!(calls.len(), 4);
    assert!(
        calls
            .iter()
            .all(|c| c.headers["idempotency-key"] == calls[0].headers["idempotency-key"])
    );
    assert_eq!(calls[3].json()["kind"], "test");

    // Killed (SIGKILL) while a notification waits for its retry; restarted,
    // it is delivered, once.
    receiver.script(&[], 503);
    let (_, queued) = post(&server, &format!("/channels/{hook}/test"), &json!({}));
    let nid = queued["notification_id"].as_i64().expect("id");
    wait_for(WAIT, || {
        let d = server.api_get(&format!("/notifications/{nid}"));
        (d["attempts"].as_array().map_or(0, Vec::len) >= 2).then_some(())
    })
    .expect("failed attempts");
    server.kill();
    receiver.script(&[], 200);
    server.restart();
    let detail = wait_for(WAIT, || {
        let d = server.api_get(&format!("/notifications/{nid}"));
        (d["status"] == "delivered").then_some(d)
    })
    .expect("delivered after the restart");
    let ok_calls = receiver
        .calls_to("/flaky")
        .into_iter()
        .filter(|c| c.answered == 200)
        .count();
    assert_eq!(ok_calls, 2, "one per notification");
    assert!(
        detail["attempts"].as_array().map_or(0, Vec::len) >= 3,
        "{detail}"
    );
}

#[test]
fn webhooks_to_inner_addresses_are_refused_without_the_operators_allowance() {
    let receiver = Receiver::start();
    let mut server = server(&[], "", false);
    for (url, why) in [
        (
            "http://127.0.0.1:9/x",
            "refused: 127.0.0.1 is a loopback address",
        ),
        (
            "http://10.0.0.1/x",
            "refused: 10.0.0.1 is a private address",
        ),
        (
            "http://169.254.169.254/latest/meta-data",
            "refused: 169.254.169.254 is a cloud metadata address",
        ),
        ("http://[::1]:9/x", "refused: ::1 is a loopback address"),
        ("http://localhost:9/x", "(localhost resolves to"),
    ] {
        let (status, answer) = post(
            &server,
            "/channels",
            &json!({"name": "inner", "kind": "webhook", "url": url}),
        );
        assert_eq!(status, 400, "{url}: {answer}");
        let message = answer["error"]["message"].as_str().expect("message");
        assert!(message.contains(why), "{url}: {message}");
        assert!(message.contains("alerts.allow_networks"), "{message}");
    }

    // Saved while loopback was allowed; the operator withdraws it: the
    // send is refused (the name is checked when it is resolved to connect).
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().expect("tempdir"));
    drop(server);
    let config = dir.path().join("readout.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        format!("{text}allow_networks = [\"127.0.0.1/32\", \"::1/128\"]\n"),
    )
    .expect("allow");
    let allowing = Server::start_in(dir, &["--config", &config.display().to_string()]);
    let port = receiver.url.rsplit(':').next().expect("port");
    let hook = created(
        &allowing,
        "/channels",
        &json!({"name": "by name", "kind": "webhook", "url": format!("http://localhost:{port}/named")}),
    );
    let dir = {
        let mut allowing = allowing;
        allowing.kill();
        std::mem::replace(&mut allowing.dir, tempfile::tempdir().expect("tempdir"))
    };
    std::fs::write(&config, text).expect("withdraw");
    let refusing = Server::start_in(dir, &["--config", &config.display().to_string()]);
    let (_, queued) = post(&refusing, &format!("/channels/{hook}/test"), &json!({}));
    let nid = queued["notification_id"].as_i64().expect("id");
    let detail = wait_for(WAIT, || {
        let d = refusing.api_get(&format!("/notifications/{nid}"));
        (d["status"] != "pending").then_some(d)
    })
    .expect("settled");
    assert_eq!(detail["status"], "failed", "{detail}");
    let error = detail["attempts"][0]["error"].as_str().expect("error");
    assert!(error.contains("is a loopback address"), "{error}");
    assert!(receiver.calls_to("/named").is_empty());
}

#[test]
fn a_hosts_own_silence_limit_overrides_the_servers() {
    let receiver = Receiver::start();
    let server = server(&[], "silent_after_secs = 3600", true);
    let hook = created(
        &server,
        "/channels",
        &json!({"name": "quiet", "kind": "webhook", "url": format!("{}/quiet", receiver.url)}),
    );
    created(
        &server,
        "/routes",
        &json!({"name": "all", "channels": [hook]}),
    );
    let patch = |id: &str, body: Value| server.api("PATCH", &format!("/hosts/{id}"), Some(&body));
    let (quick, quick_key) = server.add_host("quick");
    let (slow, slow_key) = server.add_host("slow");

    let (status, answer) = patch(&quick, json!({"silent_after_secs": 0}));
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().expect("message");
    assert!(message.contains("silent_after_secs is 0"), "{message}");
    let (status, detail) = patch(&quick, json!({"silent_after_secs": 2}));
    assert_eq!((status, &detail["silent_after_secs"]), (200, &json!(2)));

    for (id, key) in [(&quick, &quick_key), (&slow, &slow_key)] {
        Agent::new(&server.url(), id, key, "", "").once();
    }
    let silent = wait_for(WAIT, || {
        receiver
            .calls_to("/quiet")
            .into_iter()
            .find(|c| c.json()["severity"] == "SILENT")
    })
    .expect("quick falls silent");
    assert_eq!(silent.json()["host"], "quick");
    // Quiet as long, the other host keeps the server's hour.
    assert_eq!(receiver.calls_to("/quiet").len(), 1);
    let slow_incidents = server.api_get(&format!("/incidents?host={slow}"));
    assert_eq!(slow_incidents, json!([]));

    let (status, detail) = patch(&quick, json!({"silent_after_secs": null}));
    assert_eq!((status, &detail["silent_after_secs"]), (200, &Value::Null));
}

/// Every preset, pointed at the receiver, carries a real problem and its
/// recovery in the shape its service expects.
#[test]
fn every_preset_reaches_a_real_receiver_on_trigger_and_recovery() {
    let receiver = Receiver::start();
    let server = server(&[], "silent_after_secs = 3600", true);
    let web1 = LevelHost::new(&server, "web1");
    let at = |path: &str| format!("{}/{path}", receiver.url);
    let presets = [
        ("slack", json!({"url": at("slack")})),
        ("discord", json!({"url": at("discord")})),
        ("teams", json!({"url": at("teams")})),
        (
            "telegram",
            json!({"token": "123:abc", "chat_id": "-1001", "api_url": at("telegram")}),
        ),
        (
            "ntfy",
            json!({"topic": "readout-alerts", "url": at("ntfy"), "token": "tk_ntfy"}),
        ),
        (
            "pushover",
            json!({"token": "app_t", "user": "user_k", "api_url": at("pushover")}),
        ),
        (
            "pagerduty",
            json!({"routing_key": "R0UTING", "api_url": at("pagerduty")}),
        ),
        (
            "opsgenie",
            json!({"api_key": "genie-1", "api_url": at("opsgenie")}),
        ),
        ("gotify", json!({"url": at("gotify"), "token": "g_app"})),
    ];
    let channels: Vec<String> = presets
        .iter()
        .map(|(preset, params)| {
            created(
                &server,
                "/channels",
                &json!({"name": preset, "kind": "webhook", "preset": preset, "params": params}),
            )
        })
        .collect();
    created(
        &server,
        "/routes",
        &json!({"name": "all", "channels": channels}),
    );

    web1.report(95);
    web1.report(20);
    let calls = wait_for(WAIT, || {
        let calls = receiver.calls();
        (calls.len() >= 2 * presets.len()).then_some(calls)
    })
    .expect("two calls per preset");
    assert_eq!(calls.len(), 2 * presets.len());
    let problem = "web1: level_pct is ERROR: 95 % (error above 90)";
    let recovery = "web1: level_pct recovered: 20 % (was ERROR)";
    let link = format!("/hosts/{}", web1.id);
    // (trigger, recovery) calls of one preset, by path prefix.
    let of = |prefix: &str| -> (Call, Call) {
        let mine: Vec<Call> = calls
            .iter()
            .filter(|c| c.path.starts_with(prefix))
            .cloned()
            .collect();
        assert_eq!(mine.len(), 2, "{prefix}: {mine:?}");
        for c in &mine {
            assert_eq!(c.method, "POST", "{prefix}");
            assert!(c.headers.contains_key("idempotency-key"), "{prefix}");
        }
        (mine[0].clone(), mine[1].clone())
    };
    let json_call = |c: &Call| {
        assert_eq!(c.headers["content-type"], "application/json", "{}", c.path);
        c.json()
    };

    for chat in ["/slack", "/discord"] {
        let (trigger, recovered) = of(chat);
        assert_eq!(trigger.path, chat);
        let field = if chat == "/slack" { "text" } else { "content" };
        let text = json_call(&trigger)[field]
            .as_str()
            .expect("text")
            .to_owned();
        assert!(text.contains(problem) && text.contains(&link), "{text}");
        let text = json_call(&recovered)[field]
            .as_str()
            .expect("text")
            .to_owned();
        assert!(text.contains(recovery), "{text}");
        if chat == "/discord" {
            assert_eq!(
                json_call(&trigger)["allowed_mentions"],
                json!({"parse": []})
            );
        }
    }

    let (trigger, _) = of("/teams");
    let card = json_call(&trigger);
    let content = &card["attachments"][0]["content"];
    assert_eq!(content["type"], "AdaptiveCard");
    assert_eq!(content["body"][0]["text"], problem);
    assert!(
        content["actions"][0]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&link))
    );

    let (trigger, recovered) = of("/telegram");
    assert_eq!(trigger.path, "/telegram/bot123:abc/sendMessage");
    let body = json_call(&trigger);
    assert_eq!(body["chat_id"], "-1001");
    assert!(body["text"].as_str().is_some_and(|t| t.contains(problem)));
    assert!(
        json_call(&recovered)["text"]
            .as_str()
            .is_some_and(|t| t.contains(recovery))
    );

    let (trigger, recovered) = of("/ntfy");
    assert_eq!(trigger.path, "/ntfy/readout-alerts");
    assert_eq!(trigger.headers["title"], problem);
    assert_eq!(trigger.headers["priority"], "high");
    assert_eq!(trigger.headers["tags"], "rotating_light");
    assert_eq!(trigger.headers["authorization"], "Bearer tk_ntfy");
    assert!(trigger.headers["click"].ends_with(&link));
    assert_eq!(trigger.body, "level_pct is ERROR: 95 % (error above 90)");
    assert_eq!(recovered.headers["priority"], "low");
    assert_eq!(recovered.headers["tags"], "white_check_mark");

    let (trigger, recovered) = of("/pushover");
    assert_eq!(trigger.path, "/pushover/1/messages.json");
    let body = json_call(&trigger);
    assert_eq!(
        (
            &body["token"],
            &body["user"],
            &body["title"],
            &body["priority"]
        ),
        (
            &json!("app_t"),
            &json!("user_k"),
            &json!(problem),
            &json!(1)
        )
    );
    assert_eq!(json_call(&recovered)["priority"], -1);

    let (trigger, recovered) = of("/pagerduty");
    assert_eq!(trigger.path, "/pagerduty/v2/enqueue");
    let (opened, closed) = (json_call(&trigger), json_call(&recovered));
    assert_eq!(opened["routing_key"], "R0UTING");
    assert_eq!(opened["event_action"], "trigger");
    assert_eq!(opened["payload"]["severity"], "critical");
    assert_eq!(opened["payload"]["source"], "web1");
    assert_eq!(opened["payload"]["summary"], problem);
    assert_eq!(closed["event_action"], "resolve");
    assert!(opened["dedup_key"].is_string());
    assert_eq!(
        opened["dedup_key"], closed["dedup_key"],
        "resolves what it opened"
    );

    let (trigger, recovered) = of("/opsgenie");
    assert_eq!(trigger.path, "/opsgenie/v2/alerts");
    assert_eq!(trigger.headers["authorization"], "GenieKey genie-1");
    let alert = json_call(&trigger);
    assert_eq!(
        (&alert["priority"], &alert["entity"]),
        (&json!("P1"), &json!("web1"))
    );
    let alias = alert["alias"].as_str().expect("alias");
    assert_eq!(
        recovered.path,
        format!("/opsgenie/v2/alerts/{alias}/close?identifierType=alias")
    );
    assert_eq!(json_call(&recovered)["note"], recovery);

    let (trigger, recovered) = of("/gotify");
    assert_eq!(trigger.path, "/gotify/message");
    assert_eq!(trigger.headers["x-gotify-key"], "g_app");
    let body = json_call(&trigger);
    assert_eq!(
        (&body["title"], &body["priority"]),
        (&json!(problem), &json!(8))
    );
    assert_eq!(json_call(&recovered)["priority"], 2);
}

/// Sends a test notice through `channel`; returns the notification once
/// it is delivered or failed.
fn send_test(server: &Server, channel: &str) -> Value {
    let (status, queued) = post(server, &format!("/channels/{channel}/test"), &json!({}));
    assert_eq!(status, 202, "{queued}");
    let nid = queued["notification_id"].as_i64().expect("id");
    let settled = wait_for(WAIT, || {
        let d = server.api_get(&format!("/notifications/{nid}"));
        (d["status"] != "pending").then_some(d)
    });
    settled.unwrap_or_else(|| {
        let d = server.api_get(&format!("/notifications/{nid}"));
        panic!("notification {nid} still pending: {d}")
    })
}

/// Email over STARTTLS and over implicit TLS, both with a login, to a
/// relay whose certificate a private CA signed (`alerts.smtp_ca_file`).
#[test]
fn email_goes_over_starttls_and_tls_with_a_login() {
    let certs = tempfile::tempdir().expect("tempdir");
    support::make_certs(certs.path());
    let pair = (
        certs.path().join("server.pem"),
        certs.path().join("server.key"),
    );
    let pair = Some((pair.0.as_path(), pair.1.as_path()));
    let ca = format!("smtp_ca_file = {:?}\n", certs.path().join("ca.pem"));
    let login = Some("readout:s3cret");
    let relay = |starttls: bool| {
        let options = if starttls {
            SmtpOptions {
                starttls: pair,
                auth: login,
                ..SmtpOptions::default()
            }
        } else {
            SmtpOptions {
                smtps: pair,
                auth: login,
                ..SmtpOptions::default()
            }
        };
        SmtpServer::start_with(&options)
    };
    let mail_channel = |server: &Server, subject: &str| {
        created(
            server,
            "/channels",
            &json!({"name": "mail", "kind": "email", "to": ["ops@readout.test"], "subject": subject}),
        )
    };

    for (starttls, url) in [
        (true, "smtp://readout:s3cret@127.0.0.1:{port}?tls=required"),
        (false, "smtps://readout:s3cret@127.0.0.1:{port}"),
    ] {
        let smtp = relay(starttls);
        let url = url.replace("{port}", &smtp.port.to_string());
        let server = server(&[], &format!("smtp_url = \"{url}\"\n{ca}"), false);
        let channel = mail_channel(&server, "[{{ kind }}] over {{ host }}");
        let sent = send_test(&server, &channel);
        assert_eq!(sent["status"], "delivered", "{url}: {sent}");
        let mails = smtp.mails();
        assert_eq!(mails.len(), 1, "{url}");
        assert_eq!(mails[0].headers["x-mailfrom"], "alerts@readout.test");
        assert_eq!(mails[0].headers["x-rcptto"], "ops@readout.test");
        assert!(
            mails[0].headers["subject"].starts_with("[test] over "),
            "{:?}",
            mails[0].headers
        );
    }

    // A wrong password: refused by the relay, not retried, and said.
    let smtp = relay(true);
    let url = format!("smtp://readout:wrong@127.0.0.1:{}?tls=required", smtp.port);
    let refusing = server(&[], &format!("smtp_url = \"{url}\"\n{ca}"), false);
    let failed = send_test(&refusing, &mail_channel(&refusing, "x"));
    assert_eq!(failed["status"], "failed", "{failed}");
    let attempts = failed["attempts"].as_array().expect("attempts");
    assert_eq!(
        attempts.len(),
        1,
        "a refused login is not retried: {failed}"
    );
    let error = attempts[0]["error"].as_str().expect("error");
    assert!(error.contains("535"), "{error}");
    drop(refusing);

    // Without the CA, the relay's certificate is not trusted.
    let untrusting = server(
        &[],
        &format!(
            "smtp_url = \"{}\"\nmax_attempts = 1",
            url.replace("wrong", "s3cret")
        ),
        false,
    );
    let failed = send_test(&untrusting, &mail_channel(&untrusting, "x"));
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["attempts"][0]["error"].as_str().expect("error");
    assert!(error.contains("certificate"), "{error}");
    assert!(smtp.mails().is_empty());
}

#[test]
fn a_variable_that_stops_being_produced_is_no_data_until_it_returns() {
    let receiver = Receiver::start();
    let server = server(&[], "silent_after_secs = 3600", true);
    let web1 = LevelHost::new(&server, "web1");
    let hook = created(
        &server,
        "/channels",
        &json!({"name": "hook", "kind": "webhook", "url": format!("{}/hook", receiver.url),
                "body": "{\"state\": {{ state }}, \"previous\": {{ previous_state }}, \"variable\": {{ variable }}}"}),
    );
    created(
        &server,
        "/routes",
        &json!({"name": "all", "channels": [hook]}),
    );

    // The output no longer holds the number: the regex finds nothing.
    std::fs::write(&web1.file, "sensor offline\n").expect("write");
    web1.agent.once();
    web1.report(30);
    let calls = wait_for(WAIT, || {
        let calls = receiver.calls_to("/hook");
        (calls.len() >= 2).then_some(calls)
    })
    .expect("NO_DATA, then its end");
    let seen: Vec<Value> = calls.iter().map(Call::json).collect();
    assert_eq!(
        seen,
        [
            json!({"state": "NO_DATA", "previous": "OK", "variable": "level_pct"}),
            json!({"state": "OK", "previous": "NO_DATA", "variable": "level_pct"}),
        ]
    );
}

/// Two variables of one host crossing in the same cycle make one message.
#[test]
fn changes_of_one_cycle_are_grouped_into_one_message() {
    let receiver = Receiver::start();
    let server = server(&[], "silent_after_secs = 3600", true);
    let web1 = LevelHost::new(&server, "web1");
    server.api_put(
        &format!("/hosts/{}/sources/readout_level", web1.id),
        &json!({"parser": {"variables": [
            {"name": "level_pct", "extract": {"from": "regex", "pattern": "level (\\d+)"}},
            {"name": "temp_celsius", "extract": {"from": "regex", "pattern": "temp (\\d+)"}}
        ]}}),
    );
    server.api_put(
        &format!("/hosts/{}/alerts/temp_celsius", web1.id),
        &json!({"warning": {"above": 70}}),
    );
    let hook = created(
        &server,
        "/channels",
        &json!({"name": "hook", "kind": "webhook", "url": format!("{}/hook", receiver.url)}),
    );
    created(
        &server,
        "/routes",
        &json!({"name": "all", "channels": [hook]}),
    );

    std::fs::write(&web1.file, "level 10\ntemp 40\n").expect("write");
    web1.agent.once();
    std::fs::write(&web1.file, "level 95\ntemp 75\n").expect("write");
    web1.agent.once();
    let call = wait_for(WAIT, || receiver.calls_to("/hook").into_iter().next()).expect("a message");
    let body = call.json();
    let events: Vec<(Value, Value)> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| (e["variable"].clone(), e["state"].clone()))
        .collect();
    assert_eq!(
        events,
        [
            (json!("level_pct"), json!("ERROR")),
            (json!("temp_celsius"), json!("WARNING"))
        ],
        "worst first, in one message"
    );
    assert_eq!(body["severity"], "ERROR");
    assert!(
        body["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("2 changes")),
        "{body}"
    );
    // The outbox holds that one notification, delivered.
    let delivered = wait_for(WAIT, || {
        let d = server.api_get("/notifications?status=delivered");
        (!d.as_array().is_some_and(Vec::is_empty)).then_some(d)
    })
    .expect("delivered");
    assert_eq!(delivered.as_array().map(Vec::len), Some(1));
    assert_eq!(receiver.calls_to("/hook").len(), 1);
}

/// A receiver that accepts, reads and never answers; its URL, and a
/// channel that gets a message each time the server connects.
fn hung_receiver() -> (String, std::sync::mpsc::Receiver<()>) {
    let hung = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", hung.local_addr().expect("addr"));
    let (connected, arrived) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in hung.incoming().flatten() {
            let _ = connected.send(());
            held.push(stream);
        }
    });
    (url, arrived)
}

/// The delivery loop waited for every send of a claimed batch, so one
/// hanging webhook delayed every channel on the node. A fast channel's
/// notice now goes out while the hung one is still waiting.
#[test]
fn a_hung_receiver_holds_only_its_own_channel() {
    let server = server(&[], "send_timeout_secs = 60\n", true);
    let (hung_url, arrived) = hung_receiver();
    let fast = Receiver::start();
    let hung_channel = created(
        &server,
        "/channels",
        &json!({"name": "hung", "kind": "webhook", "url": format!("{hung_url}/hook")}),
    );
    let fast_channel = created(
        &server,
        "/channels",
        &json!({"name": "fast", "kind": "webhook", "url": format!("{}/fast", fast.url)}),
    );
    let (status, queued) = post(
        &server,
        &format!("/channels/{hung_channel}/test"),
        &json!({}),
    );
    assert_eq!(status, 202, "{queued}");
    let hung_id = queued["notification_id"].as_i64().expect("id");
    arrived
        .recv_timeout(WAIT)
        .expect("the server connects to the hung receiver");
    let delivered = send_test(&server, &fast_channel);
    assert_eq!(delivered["status"], "delivered", "{delivered}");
    assert_eq!(fast.calls_to("/fast").len(), 1);
    let hung_one = server.api_get(&format!("/notifications/{hung_id}"));
    assert_eq!(
        hung_one["status"], "pending",
        "the hung send is still waiting: {hung_one}"
    );
}

/// A node killed mid-send held that channel for the whole lease and the
/// send it started was in no log. The lease is the send timeout plus a
/// margin; once it runs out, the next node logs the lost attempt (it may
/// have arrived), counts it, and sends again.
fn cut_send_story(extra: &[&str]) {
    let mut server = server(extra, "send_timeout_secs = 1\n", true);
    let (hung, arrived) = hung_receiver();
    let channel = created(
        &server,
        "/channels",
        &json!({"name": "hung", "kind": "webhook", "url": format!("{hung}/hook")}),
    );
    let (status, queued) = post(&server, &format!("/channels/{channel}/test"), &json!({}));
    assert_eq!(status, 202, "{queued}");
    let id = queued["notification_id"].as_i64().expect("id");
    arrived
        .recv_timeout(WAIT)
        .expect("the server connects to the receiver");
    server.kill();
    server.restart();
    arrived
        .recv_timeout(WAIT)
        .expect("the restarted node sends the notice again");
    let logged = wait_for(WAIT, || {
        let one = server.api_get(&format!("/notifications/{id}"));
        let attempts = one["attempts"].as_array()?;
        (attempts.len() >= 2).then(|| attempts.clone())
    })
    .expect("both sends are logged");
    assert_eq!(logged[0]["attempt"], 1, "{logged:?}");
    assert_eq!(logged[0]["ok"], false, "{logged:?}");
    assert!(
        logged[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("stopped during the send")),
        "the cut send says what happened: {logged:?}"
    );
    assert_eq!(logged[1]["attempt"], 2, "{logged:?}");
}

/// An outage of the server longer than `silent_after_secs` made every
/// host SILENT at start-up (and paged for the whole fleet). After a
/// restart, hosts get a full silence limit to report again.
#[test]
fn a_restart_after_a_long_outage_does_not_call_every_host_silent() {
    let mut server = server(&[], "silent_after_secs = 4\n", true);
    let host = LevelHost::new(&server, "spooling");
    server.kill();
    // The outage itself is what is tested: longer than the 4 s limit.
    std::thread::sleep(Duration::from_secs(6));
    server.restart();
    // Sweeps run every second; before the fix the first one called the
    // host silent. Two and a half seconds in, it is still only waiting.
    std::thread::sleep(Duration::from_millis(2500));
    let incidents = server.api_get(&format!("/incidents?host={}", host.id));
    assert!(
        incidents
            .as_array()
            .is_some_and(|all| all.iter().all(|i| i["state"] != "SILENT")),
        "silent right after the restart: {incidents}"
    );
    host.report(10);
    // Without cycles it goes silent in time, as before.
    let silent = wait_for(WAIT, || {
        let incidents = server.api_get(&format!("/incidents?host={}", host.id));
        incidents
            .as_array()
            .is_some_and(|all| all.iter().any(|i| i["state"] == "SILENT"))
            .then_some(())
    });
    assert!(
        silent.is_some(),
        "the host goes silent once it stops reporting"
    );
}
