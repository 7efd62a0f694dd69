//! Several stateless `readout` nodes over one PostgreSQL: an agent fails
//! over from one to the other and nothing is lost or stored twice.

mod support;

use serde_json::json;
use support::{Agent, PgDatabase, Server};

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
