//! Variables end to end: the real agent runs real commands, the server
//! parses them on arrival, and the API returns values that match what the
//! commands printed.

mod support;

use std::collections::HashMap;

use serde_json::{Value, json};
use support::{Agent, PgDatabase, Server};

const SYSTEM_ALLOWLIST: &str =
    "readout_free=\"free\"\nreadout_uptime=\"uptime\"\nreadout_df=\"df -P\"\n";

/// The host's variables and their latest numbers.
fn latest(server: &Server, id: &str) -> HashMap<String, f64> {
    server
        .api_get(&format!("/hosts/{id}/variables"))
        .as_array()
        .expect("variables")
        .iter()
        .filter_map(|v| Some((v["name"].as_str()?.to_owned(), v["last_value"].as_f64()?)))
        .collect()
}

fn output_text(server: &Server, id: &str, name: &str) -> String {
    let output = server.latest_output(id, name).expect("output");
    output["output"].as_str().expect("text").to_owned()
}

fn run(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .expect(program);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The numbers of the first line starting with `label`.
fn numbers_after(text: &str, label: &str) -> Vec<f64> {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in {text}"));
    line.split(|c: char| c.is_whitespace() || c == ',')
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// Each story runs on SQLite and on PostgreSQL.
macro_rules! on_both_stores {
    ($story:ident: $sqlite:ident, $postgres:ident) => {
        #[test]
        fn $sqlite() {
            $story(&Server::start());
        }

        #[test]
        fn $postgres() {
            let db = PgDatabase::create();
            $story(&Server::start_with(&["--database-url", db.url.as_str()]));
        }
    };
}

on_both_stores!(system_values: free_uptime_and_df_values_match_on_sqlite, free_uptime_and_df_values_match_on_postgres);
on_both_stores!(parser_story: parsers_preview_save_backfill_and_fail_per_variable_on_sqlite, parsers_preview_save_backfill_and_fail_per_variable_on_postgres);

/// free, uptime and df values match what the commands print.
fn system_values(server: &Server) {
    let (id, key) = server.add_host("web-1");
    // A new host's default commands come with their presets.
    let sources = server.api_get(&format!("/hosts/{id}/sources"));
    let free_source = sources
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["name"] == "readout_free")
        .expect("free source");
    assert_eq!(free_source["parser"]["preset"], "free");

    let agent = Agent::new(&server.url(), &id, &key, SYSTEM_ALLOWLIST, "");
    agent.once();
    let values = latest(server, &id);
    let kib = 1024.0;

    // free: every figure of the Mem: line this cycle printed, in bytes;
    // the total matches a `free` run here and now.
    let printed = numbers_after(&output_text(server, &id, "readout_free"), "Mem:");
    assert_eq!(values["mem_total_bytes"], printed[0] * kib);
    assert_eq!(values["mem_used_bytes"], printed[1] * kib);
    assert_eq!(values["mem_free_bytes"], printed[2] * kib);
    assert_eq!(values["mem_available_bytes"], printed[5] * kib);
    assert_eq!(
        numbers_after(&run("free", &[]), "Mem:")[0] * kib,
        values["mem_total_bytes"]
    );

    // uptime: the three load averages as printed.
    let uptime = output_text(server, &id, "readout_uptime");
    let loads = numbers_after(uptime.rsplit("load average").next().expect("loads"), ":");
    assert_eq!(
        [values["load1"], values["load5"], values["load15"]],
        [loads[0], loads[1], loads[2]]
    );
    assert!(values["uptime_seconds"] > 0.0);

    // df: each mount's size as `df -P` prints it here (sizes do not move).
    let local = run("df", &["-P"]);
    let mut mounts = 0;
    for line in local.lines().skip(1) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(blocks), Some(mount)) = (words.get(1), words.last()) else {
            continue;
        };
        let Ok(blocks) = blocks.parse::<f64>() else {
            continue;
        };
        let name = format!("fs_size_bytes{{mount=\"{mount}\"}}");
        assert_eq!(values.get(&name), Some(&(blocks * kib)), "{name}");
        mounts += 1;
    }
    assert!(mounts > 0, "df printed no mounts: {local}");

    // The series API returns the same values at the cycle's time.
    let series = server.api_get(&format!(
        "/hosts/{id}/series?name=mem_total_bytes&name=load1&points=100"
    ));
    let series = series["series"].as_array().expect("series");
    assert_eq!(
        series[0]["points"][0]["last"],
        json!(values["mem_total_bytes"])
    );
    assert_eq!(series[1]["points"][0]["last"], json!(values["load1"]));
    assert_eq!(series[1]["points"][0]["count"], 1);
}

fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    server.api("POST", path, Some(body))
}

/// Parsers are previewed, saved, back-filled, derived from, and fail one
/// variable at a time.
fn parser_story(server: &Server) {
    let (id, key) = server.add_host("sensor");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("reading.txt");
    let allowlist = format!("readout_reading=\"cat {}\"\n", file.display());
    let agent = Agent::new(&server.url(), &id, &key, &allowlist, "");
    let write = |text: &str| std::fs::write(&file, text).expect("write reading");

    agent.once();
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &json!({"commands": ["readout_reading"]}),
    );
    // The agent learns the new list from this cycle's answer.
    agent.once();
    write("temp=41.5'C\nrequests 100\n");
    agent.once();
    write("temp=43'C\nrequests 160\n");
    agent.once();
    // No preset fits `cat FILE`: the output is kept, nothing is parsed.
    assert!(latest(server, &id).is_empty());
    let cycles = server.cycles(&id);
    let first_cycle = cycles[1]["cycle_id"].clone();
    // Series from the first reading on, fine enough to show each cycle.
    let since = cycles[1]["started_at_ms"].as_i64().expect("start");
    let series_of = |name: &str| {
        let answer = server.api_get(&format!(
            "/hosts/{id}/series?name={name}&from={since}&points=5000"
        ));
        answer["series"][0]["points"]
            .as_array()
            .expect("points")
            .clone()
    };

    let parser = json!({"variables": [
        {"name": "temp", "extract": {"from": "key", "key": "temp"}, "type": "celsius"},
        {"name": "requests", "extract": {"from": "regex", "pattern": "requests (\\d+)"}}
    ]});
    let preview = |body: Value| post(server, &format!("/hosts/{id}/preview"), &body);
    let (status, shown) = preview(json!({"command": "readout_reading", "parser": parser}));
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["values"], json!({"temp": 43.0, "requests": 160.0}));
    assert_eq!(shown["command_line"], format!("cat {}", file.display()));
    let (_, past) = preview(json!({
        "command": "readout_reading", "parser": parser, "cycle_id": first_cycle
    }));
    assert_eq!(past["values"]["temp"], 41.5);
    let (_, failing) = preview(
        json!({"command": "readout_reading", "parser": {"variables": [
            {"name": "pressure", "extract": {"from": "key", "key": "pressure"}}
        ]}}),
    );
    assert_eq!(failing["errors"][0]["variable"], "pressure");
    assert!(
        failing["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("pressure"),
        "{failing}"
    );
    let (status, bad) = preview(
        json!({"command": "readout_reading", "parser": {"variables": [
            {"name": "x", "extract": {"from": "regex", "pattern": "("}}
        ]}}),
    );
    assert_eq!(status, 400);
    assert!(
        bad["error"]["message"]
            .as_str()
            .expect("message")
            .contains("variables[0] (x)"),
        "{bad}"
    );
    let (status, bad) = preview(
        json!({"command": "readout_reading", "parser": {"variables": [
            {"name": "x", "extract": {"from": "cel"}}
        ]}}),
    );
    assert_eq!(status, 422);
    assert!(
        bad["error"]["message"]
            .as_str()
            .expect("message")
            .contains("parser.variables[0].extract"),
        "{bad}"
    );

    // Save it, then fill the past in from the stored raw output.
    let source = server.api_put(
        &format!("/hosts/{id}/sources/readout_reading"),
        &json!({"parser": parser}),
    );
    assert_eq!(source["parser"]["variables"][1]["name"], "requests");
    let (status, report) = post(
        server,
        &format!("/hosts/{id}/backfill"),
        &json!({"command": "readout_reading"}),
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["outputs"].as_u64(), report["points"].as_u64()),
        (Some(2), Some(4))
    );
    let temps: Vec<f64> = series_of("temp")
        .iter()
        .filter_map(|p| p["last"].as_f64())
        .collect();
    assert_eq!(temps, [41.5, 43.0]);

    // A derived rate of the counter, computed on arrival.
    server.api_put(
        &format!("/hosts/{id}/derived/requests_per_s"),
        &json!({"rate_of": "requests"}),
    );
    server.api_put(
        &format!("/hosts/{id}/derived/temp_f"),
        &json!({"formula": "temp * 9 / 5 + 32"}),
    );
    write("temp=44'C\nrequests 220\n");
    agent.once();
    let values = latest(server, &id);
    let times: Vec<i64> = series_of("requests")
        .iter()
        .filter_map(|p| p["at_ms"].as_i64())
        .collect();
    let seconds = (times[2] - times[1]) as f64 / 1000.0;
    // The server divides its own way: equal to the last bits of a double.
    let rate = values["requests_per_s"];
    assert!((rate - 60.0 / seconds).abs() < 1e-9 * rate, "{rate}");
    assert_eq!(values["temp_f"], 44.0 * 9.0 / 5.0 + 32.0);

    // One unreadable variable is recorded; the others still arrive.
    write("temp=hot\nrequests 300\n");
    agent.once();
    let values = latest(server, &id);
    assert_eq!(values["requests"], 300.0);
    assert_eq!(values["temp"], 44.0, "temp keeps its last good value");
    let cycle = &server.cycles(&id)[0];
    let errors = &cycle["results"][0]["parse_errors"];
    assert_eq!(errors[0]["variable"], "temp", "{cycle}");
    assert!(
        errors[0]["message"]
            .as_str()
            .expect("message")
            .contains("hot")
    );
    assert_eq!(cycle["derived_errors"][0]["variable"], "temp_f", "{cycle}");

    // Bad settings are refused with what is wrong.
    let (status, err) = server.api(
        "PUT",
        &format!("/hosts/{id}/sources/readout_reading"),
        Some(&json!({"parser": {"preset": "fre"}})),
    );
    assert_eq!(status, 400);
    assert_eq!(err["error"]["message"], "parser: unknown preset \"fre\"");
    let (status, err) = server.api(
        "PUT",
        &format!("/hosts/{id}/derived/broken"),
        Some(&json!({"formula": "temp *"})),
    );
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .expect("message")
            .contains("formula")
    );
    let (status, _) = server.api(
        "GET",
        &format!("/hosts/{id}/series?name=temp&points=0"),
        None,
    );
    assert_eq!(status, 400);
}

#[test]
fn a_template_parses_every_host_it_is_applied_to() {
    let server = &Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("queue.txt");
    std::fs::write(&file, "queue: 17\n").expect("write");
    let allowlist = format!("readout_queue=\"cat {}\"\n", file.display());
    let hosts: Vec<(String, Agent)> = ["q-1", "q-2"]
        .iter()
        .map(|name| {
            let (id, key) = server.add_host(name);
            let agent = Agent::new(&server.url(), &id, &key, &allowlist, "");
            (id, agent)
        })
        .collect();

    let (status, template) = post(
        server,
        "/templates",
        &json!({"name": "queue depth", "command_name": "readout_queue",
                "parser": {"variables": [{"name": "queue", "extract": {"from": "key", "key": "queue"}}]}}),
    );
    assert_eq!(status, 201, "{template}");
    let tid = template["id"].as_str().expect("id");
    let ids: Vec<&str> = hosts.iter().map(|(id, _)| id.as_str()).collect();
    let (status, _) = post(
        server,
        &format!("/templates/{tid}/apply"),
        &json!({"hosts": ids}),
    );
    assert_eq!(status, 204);
    for (id, agent) in &hosts {
        agent.once();
        agent.once();
        assert_eq!(latest(server, id)["queue"], 17.0, "{id}");
    }

    // One edit reaches every host.
    server.api_put(
        &format!("/templates/{tid}"),
        &json!({"name": "queue depth", "command_name": "readout_queue",
                "parser": {"variables": [{"name": "queue_depth", "extract": {"from": "key", "key": "queue"}}]}}),
    );
    for (id, agent) in &hosts {
        agent.once();
        assert_eq!(latest(server, id)["queue_depth"], 17.0, "{id}");
    }
    let (status, err) = post(
        server,
        &format!("/templates/{tid}/apply"),
        &json!({"hosts": ["h_nobody"]}),
    );
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .expect("message")
            .starts_with("hosts[0]")
    );
}
