//! Several stateless `readout` nodes over one PostgreSQL: an agent fails
//! over from one to the other and nothing is lost or stored twice; both
//! nodes' delivery workers drain one outbox, each notification sent once.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use support::receivers::Receiver;
use support::{Agent, PgDatabase, Server, wait_for};

#[test]
fn two_nodes_over_one_postgres_share_hosts_and_cycles() {
    let db = PgDatabase::create();
    let args = ["--database-url", db.url.as_str()];
    let mut first = Server::start_with(&args);
    let second = Server::start_with(&args);
    let (id, key) = first.add_host("shared");
    second.api_put(
        &format!("/hosts/{id}/commands"),
        &json!({"commands": ["readout_echo"]}),
    );

    let agent = Agent::new(
        &first.url(),
        &id,
        &key,
        "readout_echo=\"echo shared\"\n",
        "request_timeout_secs = 2",
    );
    let config = std::fs::read_to_string(agent.path("agent.toml")).expect("config");
    let both = format!("servers = [{:?}, {:?}]", first.url(), second.url());
    std::fs::write(
        agent.path("agent.toml"),
        config.replace(&format!("servers = [{:?}]", first.url()), &both),
    )
    .expect("config");

    agent.once();
    first.kill();
    agent.once();
    assert!(
        agent.spooled_starts().is_empty(),
        "the second node took the cycle"
    );

    let cycles = second.cycles(&id);
    // First contact, then one cycle through each node.
    assert_eq!(cycles.len(), 3);
    assert!(
        cycles[..2]
            .iter()
            .all(|c| c["results"][0]["exit_code"] == 0)
    );
    let out = second.latest_output(&id, "readout_echo").expect("output");
    assert_eq!(out["output"], "shared\n");
    let status = String::from_utf8_lossy(&agent.run(&["status"]).stdout).into_owned();
    assert!(!status.contains("last error:"), "{status}");
}

#[test]
fn two_nodes_send_each_notification_once_and_each_channel_in_order() {
    let db = PgDatabase::create();
    let node = || {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("readout.toml");
        std::fs::write(
            &config,
            "[alerts]\nallow_networks = [\"127.0.0.1/32\"]\nretry_first_ms = 200\nretry_max_ms = 1000\n",
        )
        .expect("config");
        let config = config.display().to_string();
        Server::start_in(dir, &["--config", &config, "--database-url", &db.url])
    };
    let nodes = [node(), node()];
    let receiver = Receiver::start();
    // Slow answers keep sends in flight while both nodes claim (a node does
    // not wait for its sends before claiming again, so which node takes
    // which notice is up to the race); the first two calls fail, so their
    // channels' next notices must wait for the retry.
    receiver.delay(Duration::from_millis(800));
    receiver.script(&[500, 500], 200);
    let channels: Vec<String> = (0..24)
        .map(|i| {
            let (status, body) = nodes[0].api(
                "POST",
                "/channels",
                Some(&json!({"name": format!("c{i}"), "kind": "webhook",
                             "url": format!("{}/c{i}", receiver.url)})),
            );
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().expect("id").to_owned()
        })
        .collect();
    let mut queued = BTreeMap::new();
    for round in 0..2 {
        for (i, channel) in channels.iter().enumerate() {
            let (status, body) = nodes[(i + round) % 2].api(
                "POST",
                &format!("/channels/{channel}/test"),
                Some(&json!({})),
            );
            assert_eq!(status, 202, "{body}");
            let id = body["notification_id"].as_i64().expect("id");
            queued
                .entry(format!("/c{i}"))
                .or_insert_with(Vec::new)
                .push(id);
        }
    }

    let delivered = wait_for(Duration::from_secs(60), || {
        let pending = nodes[1].api_get("/notifications?status=pending");
        pending
            .as_array()
            .is_some_and(Vec::is_empty)
            .then(|| nodes[1].api_get("/notifications?status=delivered&limit=1000"))
    })
    .expect("the outbox drains");
    assert_eq!(delivered.as_array().map(Vec::len), Some(48));

    let calls = receiver.calls();
    let answered: Vec<_> = calls.iter().filter(|c| c.answered == 200).collect();
    assert_eq!(answered.len(), 48, "one successful call per notification");
    let keys: BTreeSet<&str> = answered
        .iter()
        .map(|c| c.headers["idempotency-key"].as_str())
        .collect();
    assert_eq!(keys.len(), 48, "no notification sent twice");
    assert_eq!(calls.len(), 50, "two failed calls, retried once each");
    for (path, ids) in &queued {
        let sent: Vec<i64> = answered
            .iter()
            .filter(|c| &c.path == path)
            .map(|c| {
                let key = &c.headers["idempotency-key"];
                key.trim_start_matches("readout-notification-")
                    .parse()
                    .expect("id in the key")
            })
            .collect();
        assert_eq!(&sent, ids, "{path}: delivered in the order queued");
    }
    let senders: BTreeSet<String> = queued
        .values()
        .flatten()
        .flat_map(|id| {
            let detail: Value = nodes[0].api_get(&format!("/notifications/{id}"));
            detail["attempts"]
                .as_array()
                .expect("attempts")
                .iter()
                .map(|a| a["node"].as_str().expect("node").to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        !senders.is_empty() && senders.len() <= 2,
        "every attempt names the node that made it: {senders:?}"
    );
}
