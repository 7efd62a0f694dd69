//! The README's first command: `readout demo` serves on SQLite and starts a
//! real agent reporting this machine.

mod support;

use std::time::Duration;

use serde_json::Value;

#[test]
fn readout_demo_shows_this_machine_within_a_minute() {
    let demo = support::Demo::start();
    let url = demo.url.clone();
    let token = std::fs::read_to_string(demo.data.path().join("admin-token")).expect("admin token");
    let get = |path: &str| -> Option<Value> {
        let mut response = support::http()
            .get(format!("{url}/api/v1{path}").as_str())
            .header("authorization", &format!("Bearer {}", token.trim()))
            .call()
            .ok()?;
        response.body_mut().read_json().ok()
    };
    let hosts = get("/hosts").expect("hosts");
    let id = hosts[0]["id"].as_str().expect("demo host").to_owned();
    let outputs = support::wait_for(Duration::from_secs(60), || {
        let outputs = get(&format!("/hosts/{id}/outputs"))?;
        let names: Vec<String> = outputs
            .as_array()?
            .iter()
            .filter_map(|o| o["name"].as_str().map(str::to_owned))
            .collect();
        names
            .contains(&"readout_free".to_owned())
            .then_some(outputs)
    });
    // The `try:` line of the demo reads the parsed variables.
    let memory = get(&format!("/hosts/{id}/variables")).and_then(|variables| {
        variables.as_array()?.iter().find_map(|v| {
            // /proc/meminfo is the better reader of the two that have it.
            (v["name"] == "mem_total_bytes" && v["source"] == "readout_meminfo")
                .then(|| v["last_value"].as_f64())
                .flatten()
        })
    });
    // SIGTERM, as a service manager would: the demo stops its agent too.
    assert!(demo.stop(), "the demo ends cleanly");
    let outputs = outputs.expect("the demo agent's first cycle arrived");
    let free = outputs
        .as_array()
        .and_then(|o| o.iter().find(|o| o["name"] == "readout_free"))
        .expect("free");
    assert!(free["output"].as_str().unwrap_or("").contains("Mem:"));
    let memory = memory.expect("mem_total_bytes parsed from the first cycle");
    assert!(memory > 1e6, "mem_total_bytes = {memory}");
}
