//! Alerts end to end: the real agent runs a command whose output the test
//! controls, the real server judges it, and a real HTTP receiver and a
//! real SMTP server (aiosmtpd) get the notifications. On both stores.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::receivers::{Receiver, SmtpServer};
use support::{Agent, PgDatabase, Server, wait_for};

const WAIT: Duration = Duration::from_secs(30);

/// A server whose alerts section suits a test: fast sweeps and retries,
/// loopback webhooks allowed (only when `allow_loopback`).
fn server(extra: &[&str], smtp_port: Option<u16>, allow_loopback: bool) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("readout.toml");
    let smtp = smtp_port.map_or(String::new(), |p| {
        format!("smtp_url = \"smtp://127.0.0.1:{p}\"\n")
    });
    let allow = if allow_loopback {
        "allow_networks = [\"127.0.0.1/32\"]\n"
    } else {
        ""
    };
    std::fs::write(
        &config,
        format!(
            "[alerts]\nsilent_after_secs = 3\nsweep_every_secs = 1\nretry_first_ms = 200\nretry_max_ms = 1000\n\
             smtp_from = \"Readout <alerts@readout.test>\"\n{smtp}{allow}"
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    let mut args = vec!["--config", config.as_str()];
    args.extend_from_slice(extra);
    Server::start_in(dir, &args)
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

fn crossing_story(extra: &[&str]) {
    let receiver = Receiver::start();
    let smtp = SmtpServer::start();
    let server = server(extra, Some(smtp.port), true);
    let (id, key) = server.add_host("web1");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("level.txt");
    let write = |text: &str| std::fs::write(&file, text).expect("write level");
    write("level 10\n");
    let allowlist = format!("readout_level=\"cat {}\"\n", file.display());
    let agent = Agent::new(&server.url(), &id, &key, &allowlist, "");
    agent.once();
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &json!({"commands": ["readout_level"]}),
    );
    // The agent learns the new list from this cycle's answer.
    agent.once();
    server.api_put(
        &format!("/hosts/{id}/sources/readout_level"),
        &json!({"parser": {"variables": [
            {"name": "level_pct", "extract": {"from": "regex", "pattern": "level (\\d+)"}}
        ]}}),
    );
    let rule = server.api_put(
        &format!("/hosts/{id}/alerts/level_pct"),
        &json!({"warning": {"above": 50}, "error": {"above": 90}}),
    );
    assert_eq!(rule["trigger_after"], 1);

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
    agent.once();
    for level in ["60", "95", "97", "20"] {
        write(&format!("level {level}\n"));
        agent.once();
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
    let mut body = error.json();
    // Listening on port 0, the public URL names the configured port.
    let link = body["link"].take();
    assert!(
        link.as_str()
            .is_some_and(|l| l.ends_with(&format!("/hosts/{id}"))),
        "{link}"
    );
    assert_eq!(
        body,
        json!({"host": "web1", "variable": "level_pct", "value": 95.0, "unit": "%", "state": "ERROR",
               "previous": "WARNING", "error_range": "above 90", "link": null})
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
    agent.once();
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
    let mut server = server(extra, None, true);
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
    let mut server = server(&[], None, false);
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
