//! The server speaking HTTPS itself, and the agent trusting a private CA.

mod support;

use support::{Agent, Server, make_certs};

#[test]
fn an_agent_delivers_over_https_to_a_server_with_its_own_certificate() {
    let certs = tempfile::tempdir().expect("tempdir");
    make_certs(certs.path());
    let cert = certs.path().join("server.pem").display().to_string();
    let key = certs.path().join("server.key").display().to_string();
    let server = Server::start_with(&["--tls-cert", &cert, "--tls-key", &key]);
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let (id, api_key) = server.add_host("tls");
    let ca = certs.path().join("ca.pem").display().to_string();

    // Without the CA the agent refuses the certificate and spools.
    let untrusting = Agent::new(
        &server.url(),
        &id,
        &api_key,
        "readout_echo=\"echo tls\"\n",
        "",
    );
    untrusting.run(&["once", "--force"]);
    let status = String::from_utf8_lossy(&untrusting.run(&["status"]).stdout).into_owned();
    assert!(
        status.contains("last error:") && status.contains("certificate"),
        "{status}"
    );

    // The API over HTTPS, with a client that trusts the same CA.
    let pem = std::fs::read(certs.path().join("ca.pem")).expect("ca");
    let roots: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let client: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
                .build(),
        )
        .build()
        .into();
    let response = client
        .put(format!("{}/api/v1/hosts/{id}/commands", server.url()).as_str())
        .header("authorization", &format!("Bearer {}", support::ADMIN_TOKEN))
        .send_json(serde_json::json!({"commands": ["readout_echo"]}))
        .expect("PUT over https");
    assert_eq!(response.status().as_u16(), 200);

    let agent = Agent::new(
        &server.url(),
        &id,
        &api_key,
        "readout_echo=\"echo tls\"\n",
        &format!("ca_file = {ca:?}"),
    );
    agent.once();
    let status = String::from_utf8_lossy(&agent.run(&["status"]).stdout).into_owned();
    assert!(!status.contains("last error:"), "{status}");

    let outputs: serde_json::Value = client
        .get(format!("{}/api/v1/hosts/{id}/outputs", server.url()).as_str())
        .header("authorization", &format!("Bearer {}", support::ADMIN_TOKEN))
        .call()
        .expect("GET over https")
        .body_mut()
        .read_json()
        .expect("json");
    assert_eq!(outputs[0]["name"], "readout_echo");
    assert_eq!(outputs[0]["output"], "tls\n");
}
