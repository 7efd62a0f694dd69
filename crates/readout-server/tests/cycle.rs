//! The cycle end to end: the real `readout` server and the real
//! `readout-agent` running real commands, over loopback.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Agent, Server, process_alive, wait_for};

const SYSTEM_ALLOWLIST: &str =
    "readout_free=\"free\"\nreadout_uptime=\"uptime\"\nreadout_df=\"df -P\"\n";

fn output_text(server: &Server, host: &str, name: &str) -> String {
    let output = server
        .latest_output(host, name)
        .unwrap_or_else(|| panic!("no output for {name}"));
    assert_eq!(output["exit_code"], 0, "{name}: {output}");
    output["output"].as_str().expect("text").to_owned()
}

#[test]
fn an_agent_cycle_brings_real_free_uptime_and_df_output() {
    let server = Server::start();
    let (id, key) = server.add_host("web-1");
    let agent = Agent::new(&server.url(), &id, &key, SYSTEM_ALLOWLIST, "");
    agent.once();

    let free = output_text(&server, &id, "readout_free");
    assert!(free.contains("Mem:"), "{free}");
    let uptime = output_text(&server, &id, "readout_uptime");
    assert!(uptime.contains("load average"), "{uptime}");
    let df = output_text(&server, &id, "readout_df");
    assert!(df.starts_with("Filesystem"), "{df}");
    // df -P of this machine, run again now, names the same mount points.
    let local = std::process::Command::new("df")
        .arg("-P")
        .output()
        .expect("df");
    let mount = |line: &str| line.split_whitespace().last().map(str::to_owned);
    let expected: Vec<_> = String::from_utf8_lossy(&local.stdout)
        .lines()
        .filter_map(mount)
        .collect();
    let got: Vec<_> = df.lines().filter_map(mount).collect();
    assert_eq!(got, expected);

    let host = server.api_get(&format!("/hosts/{id}"));
    assert_eq!(host["agent_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(host["agent_os"], "linux");
    assert_eq!(
        host["allowlist"]["entries"].as_array().map(Vec::len),
        Some(3)
    );
    assert!(host["last_seen_at_ms"].as_i64().is_some());
    let allowlist = server.api_get(&format!("/hosts/{id}/allowlist"));
    assert_eq!(
        allowlist["entries"][0],
        json!({"name": "readout_free", "command": "free"})
    );

    // Commands the server asked for that this allowlist lacks are reported.
    let cycles = server.cycles(&id);
    let latest = &cycles[0];
    assert_eq!(latest["results"].as_array().map(Vec::len), Some(3));
    let rejected: Vec<&str> = latest["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(rejected.contains(&"readout_vmstat"), "{rejected:?}");
}

#[test]
fn names_outside_the_allowlist_are_never_run() {
    let server = Server::start();
    let (id, key) = server.add_host("locked");
    let marks = tempfile::tempdir().expect("tempdir");
    let mark = |n: u8| marks.path().join(format!("mark{n}"));
    let allowlist = format!(
        "readout_ok=\"echo ok\"\n#readout_commented=\"touch {}\"\nreadout_spaced = \"touch {}\"\nreadout_quoted=\"touch \"{}\"\"\n",
        mark(1).display(),
        mark(2).display(),
        mark(3).display(),
    );
    let agent = Agent::new(&server.url(), &id, &key, &allowlist, "");
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &json!({"commands": ["readout_ok", "readout_commented", "readout_spaced", "readout_quoted", "readout_absent"]}),
    );
    agent.once();

    for n in 1..=3 {
        assert!(
            !mark(n).exists(),
            "mark{n} was created: a command outside the allowlist ran"
        );
    }
    assert_eq!(output_text(&server, &id, "readout_ok"), "ok\n");
    let cycles = server.cycles(&id);
    let reasons: Vec<(String, String)> = cycles[0]["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or("").to_owned(),
                r["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let names: Vec<&str> = reasons.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "readout_absent",
            "readout_commented",
            "readout_quoted",
            "readout_spaced"
        ]
    );
    assert!(reasons[0].1.starts_with("not defined in "), "{reasons:?}");

    // The invalid lines reach the server with their numbers and reasons.
    let invalid = server.api_get(&format!("/hosts/{id}/allowlist"))["invalid"].clone();
    assert_eq!(invalid[0]["line"], 3);
    assert_eq!(
        invalid[0]["reason"],
        "space around '='; write readout_NAME=\"command\" with no spaces"
    );
    assert_eq!(invalid[1]["line"], 4);

    // The API refuses to store an injection-looking name at all.
    let (status, err) = server.api(
        "PUT",
        &format!("/hosts/{id}/commands"),
        Some(&json!({"commands": ["readout_x;touch /tmp/x"]})),
    );
    assert_eq!(status, 400);
    assert_eq!(
        err["error"]["message"],
        "commands[0]: invalid name \"readout_x;touch /tmp/x\": character ';' is not allowed; use only A-Z, a-z, 0-9 and _"
    );
}

#[test]
fn a_slow_command_is_killed_with_its_children_and_big_output_is_truncated() {
    let server = Server::start();
    let (id, key) = server.add_host("limits");
    let pids = tempfile::tempdir().expect("tempdir");
    let pidfile = pids.path().join("child.pid");
    let allowlist = format!(
        "readout_slow=\"sleep 60 & echo $! > {}; wait\"\nreadout_big=\"head -c 3000000 /dev/zero | tr '\\0' x\"\nreadout_fast=\"echo fast\"\n",
        pidfile.display()
    );
    let agent = Agent::new(
        &server.url(),
        &id,
        &key,
        &allowlist,
        "command_timeout_secs = 2\noutput_cap_bytes = 100000",
    );
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &json!({"commands": ["readout_slow", "readout_big", "readout_fast"]}),
    );
    agent.once();

    let slow = server
        .latest_output(&id, "readout_slow")
        .expect("slow output");
    assert_eq!(slow["timed_out"], true, "{slow}");
    assert_eq!(slow["signal"], 9);
    assert!(slow["duration_ms"].as_i64().unwrap_or(0) < 10_000, "{slow}");
    let pid = std::fs::read_to_string(&pidfile).expect("child pid");
    let gone = wait_for(Duration::from_secs(5), || {
        (!process_alive(&pid)).then_some(())
    });
    assert!(
        gone.is_some(),
        "the slow command's child {pid} outlived the timeout"
    );

    let big = server
        .latest_output(&id, "readout_big")
        .expect("big output");
    assert_eq!(big["truncated"], true, "{}", big["truncated"]);
    let text = big["output"].as_str().expect("text");
    assert_eq!(text.len(), 100_000);
    assert!(text.bytes().all(|b| b == b'x'));

    assert_eq!(output_text(&server, &id, "readout_fast"), "fast\n");
}

#[test]
fn non_utf8_output_arrives_byte_for_byte() {
    let server = Server::start();
    let (id, key) = server.add_host("bytes");
    let agent = Agent::new(
        &server.url(),
        &id,
        &key,
        "readout_bytes=\"printf 'caf\\351 \\377\\000end'\"\n",
        "",
    );
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &json!({"commands": ["readout_bytes"]}),
    );
    agent.once();
    let out = server.latest_output(&id, "readout_bytes").expect("output");
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(out["output_base64"].as_str().expect("base64"))
        .expect("decode");
    assert_eq!(bytes, b"caf\xE9 \xFF\x00end");
}

/// A server, a host called `name` and its agent, whose allowlist runs `date`
/// (every cycle's output differs) and gives up on the server after 2 s.
fn date_agent(name: &str) -> (Server, String, Agent) {
    let server = Server::start();
    let (id, key) = server.add_host(name);
    let agent = Agent::new(
        &server.url(),
        &id,
        &key,
        "readout_date=\"date +%s%N\"\n",
        "request_timeout_secs = 2",
    );
    (server, id, agent)
}

/// A new agent whose server is down from the start said "spooled" and
/// kept nothing: it now runs its whole allowlist and spools that.
#[test]
fn a_new_agent_spools_its_first_cycles_while_the_server_is_down() {
    let (mut server, id, agent) = date_agent("newcomer");
    server.kill();
    agent.once();
    agent.once();
    let spooled = agent.spooled_starts();
    assert_eq!(spooled.len(), 2, "both cycles wait in the spool");
    server.restart();
    agent.once();
    assert!(agent.spooled_starts().is_empty(), "spool drained");
    let cycles = server.cycles(&id);
    let starts: Vec<i64> = cycles
        .iter()
        .filter_map(|c| c["started_at_ms"].as_i64())
        .collect();
    assert!(
        spooled.iter().all(|s| starts.contains(s)),
        "{spooled:?} among {starts:?}"
    );
    let first = cycles
        .iter()
        .find(|c| c["started_at_ms"].as_i64() == Some(spooled[0]))
        .expect("the first spooled cycle");
    assert_eq!(first["results"][0]["name"], "readout_date", "{first}");
}

#[test]
fn cycles_spooled_while_the_server_is_down_arrive_in_order_with_their_times() {
    let (mut server, id, agent) = date_agent("spooler");
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &json!({"commands": ["readout_date"]}),
    );
    agent.once();
    let before = server.cycles(&id).len();

    server.kill();
    for _ in 0..3 {
        agent.once();
    }
    let spooled = agent.spooled_starts();
    assert_eq!(spooled.len(), 3, "three cycles wait in the spool");
    let status = agent.run(&["status"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("spool:       3 cycles"));

    server.restart();
    agent.once();
    assert!(agent.spooled_starts().is_empty(), "spool drained");

    let cycles = server.cycles(&id);
    assert_eq!(cycles.len(), before + 4);
    // Newest first: the fresh cycle, then the three spooled, oldest last.
    let starts: Vec<i64> = cycles[..4]
        .iter()
        .filter_map(|c| c["started_at_ms"].as_i64())
        .collect();
    assert_eq!(&starts[1..], &[spooled[2], spooled[1], spooled[0]]);
    assert!(starts[0] > spooled[2]);
    // They were received in the order they ran.
    let received: Vec<i64> = cycles[..4]
        .iter()
        .filter_map(|c| c["received_at_ms"].as_i64())
        .collect();
    assert!(received.windows(2).all(|w| w[0] >= w[1]), "{received:?}");
    // Each kept its own start time, before the server came back.
    assert!(spooled.iter().all(|s| *s < received[3]));
    assert!(
        cycles[..4]
            .iter()
            .all(|c| c["results"][0]["exit_code"] == 0)
    );
}

#[test]
fn removing_a_host_stops_its_agent() {
    let server = Server::start();
    let (id, key) = server.add_host("doomed");
    let agent = Agent::new(&server.url(), &id, &key, SYSTEM_ALLOWLIST, "");
    agent.once();
    let out = server.cli(&["host", "remove", "doomed"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cycles_before = server.cycles(&id).len();

    let stopped = agent.run(&["once", "--force"]);
    assert_eq!(
        stopped.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    assert!(agent.path("state/STOP").exists());

    let refused = agent.run(&["once", "--force"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Delete"),
        "tells how to restart"
    );
    assert_eq!(
        server.cycles(&id).len(),
        cycles_before,
        "a removed host stores nothing"
    );
    let status = agent.run(&["status"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("STOPPED"));
}

#[test]
fn the_agent_fails_over_to_the_next_server() {
    let server = Server::start();
    let (id, key) = server.add_host("failover");
    // Port 9 on loopback: nothing listens there.
    let dead = "http://127.0.0.1:9";
    let agent = Agent::new(
        dead,
        &id,
        &key,
        SYSTEM_ALLOWLIST,
        "request_timeout_secs = 2",
    );
    let config = std::fs::read_to_string(agent.path("agent.toml")).expect("config");
    let config = config.replace(
        &format!("servers = [{dead:?}]"),
        &format!("servers = [{dead:?}, {:?}]", server.url()),
    );
    std::fs::write(agent.path("agent.toml"), config).expect("config");
    agent.once();
    assert!(server.latest_output(&id, "readout_free").is_some());
    assert!(agent.spooled_starts().is_empty());
}

#[test]
fn the_same_cycle_sent_twice_is_stored_once_and_bad_requests_say_why() {
    let server = Server::start();
    let (id, key) = server.add_host("strict");
    let cycle = json!({
        "cycle_id": "retry-1", "started_at_ms": 1_700_000_000_000_i64, "duration_ms": 5,
        "agent": {"version": "sh-0.1"}, "allowlist": {"entries": [{"name": "readout_x", "command": "x"}]},
        "results": [{"name": "readout_x", "duration_ms": 1, "exit_code": 0, "output_base64": "aGk="}]
    });
    let body = serde_json::to_vec(&cycle).expect("json");
    let (status, first) = support::post_cycle(&server, &id, &key, &body, false);
    assert_eq!(
        (status, &first["duplicate"]),
        (200, &json!(false)),
        "{first}"
    );
    let (status, again) = support::post_cycle(&server, &id, &key, &support::gzip(&body), true);
    assert_eq!(
        (status, &again["duplicate"]),
        (200, &json!(true)),
        "{again}"
    );
    assert_eq!(server.cycles(&id).len(), 1);
    assert!(again["commands"].as_array().is_some_and(|c| !c.is_empty()));

    let (status, err) = support::post_cycle(&server, &id, "rk_wrong", &body, false);
    assert_eq!(status, 401, "{err}");

    let mut bad = cycle.clone();
    bad["results"][0]["name"] = json!("readout_$(id)");
    let (status, err) = support::post_cycle(
        &server,
        &id,
        &key,
        &serde_json::to_vec(&bad).expect("json"),
        false,
    );
    assert_eq!(status, 422);
    assert_eq!(
        err["error"]["message"],
        "invalid cycle at `results[0].name`: invalid name: character '$' is not allowed; use only A-Z, a-z, 0-9 and _"
    );
    let (status, err) = support::post_cycle(
        &server,
        &id,
        &key,
        br#"{"cycle_id": "a", "started_at_ms": "soon"}"#,
        false,
    );
    assert_eq!(status, 422);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("`started_at_ms`"),
        "{err}"
    );

    // 9 MiB of JSON is over the 8 MiB default; so is a small gzip of it.
    let mut huge = cycle.clone();
    huge["results"][0]["output_base64"] = json!("A".repeat(9 * 1024 * 1024));
    let huge = serde_json::to_vec(&huge).expect("json");
    let (status, err) = support::post_cycle(&server, &id, &key, &huge, false);
    assert_eq!(status, 413, "{err}");
    assert_eq!(err["error"]["code"], "payload_too_large");
    let small = support::gzip(&huge);
    assert!(small.len() < 100_000);
    let (status, err) = support::post_cycle(&server, &id, &key, &small, true);
    assert_eq!(status, 413, "{err}");
    assert_eq!(server.cycles(&id).len(), 1, "nothing half-written");
}

#[test]
fn the_read_api_needs_the_admin_token() {
    let server = Server::start();
    for token in ["", "Bearer nope"] {
        let mut request = support::http().get(format!("{}/api/v1/hosts", server.url()).as_str());
        if !token.is_empty() {
            request = request.header("authorization", token);
        }
        let mut response = request.call().expect("GET");
        assert_eq!(response.status().as_u16(), 401);
        let body: Value = response.body_mut().read_json().expect("json");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let (status, err) = server.api("GET", "/hosts/h_none", None);
    assert_eq!(
        (status, &err["error"]["message"]),
        (404, &json!("host h_none not found"))
    );
}

#[test]
fn the_agent_obeys_a_longer_interval_from_the_server() {
    let server = Server::start();
    let (id, key) = server.add_host("slow-down");
    let agent = Agent::new(&server.url(), &id, &key, SYSTEM_ALLOWLIST, "");
    let (status, host) = server.api(
        "PATCH",
        &format!("/hosts/{id}"),
        Some(&json!({"interval_secs": 300})),
    );
    assert_eq!((status, &host["interval_secs"]), (200, &json!(300)));
    agent.once();
    let cycles = server.cycles(&id).len();

    // As cron would call it a minute later: not due for five minutes.
    let out = agent.run(&["once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("next cycle not due yet"));
    assert_eq!(server.cycles(&id).len(), cycles, "no cycle ran");
    let status = String::from_utf8_lossy(&agent.run(&["status"]).stdout).into_owned();
    assert!(status.contains("interval:    300 s"), "{status}");

    let (status, err) = server.api(
        "PATCH",
        &format!("/hosts/{id}"),
        Some(&json!({"interval_secs": 1})),
    );
    assert_eq!(status, 400);
    assert_eq!(
        err["error"]["message"],
        "interval_secs is 1; it must be 10 to 86400"
    );
}
