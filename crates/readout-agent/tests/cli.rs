//! The agent's command line as its owner meets it.

use std::process::{Command, Output};

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_readout-agent"))
        .args(args)
        .env_remove("READOUT_AGENT_CONFIG")
        .output()
        .expect("run readout-agent")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_prints_file_line_reason_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("available_commands.sh");
    std::fs::write(&file, "# ok\nreadout_free=\"free\"\nreadout_x = \"y\"\nreadout_$(id)=\"id\"\r\nreadout_free=\"again\"\n").expect("write");
    let out = agent(&["check", "--allowlist", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    let f = file.display();
    assert_eq!(
        text(&out.stdout),
        format!(
            "{f}:3: space around '='; write readout_NAME=\"command\" with no spaces\n\
             {f}:4: invalid name: character '$' is not allowed; use only A-Z, a-z, 0-9 and _\n\
             {f}:5: name readout_free is already defined on line 2\n"
        )
    );

    std::fs::write(&file, "readout_free=\"free\"\n").expect("write");
    let out = agent(&["check", "--allowlist", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!("{f}: 1 command, no invalid lines\n")
    );

    let out = agent(&["check", "--allowlist", "/nonexistent/list.sh"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read /nonexistent/list.sh"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_config_says_what_and_where() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("agent.toml");
    let cases = [
        (
            "servers = [\"https://a\"]\nhost_id = \"h\"\napi_key = \"k\"\ntimeout = 3\n",
            "unknown field `timeout`",
        ),
        (
            "servers = [\"http://10.1.2.3\"]\nhost_id = \"h\"\napi_key = \"k\"\n",
            "servers[0] \"http://10.1.2.3\"",
        ),
        (
            "servers = []\nhost_id = \"h\"\napi_key = \"k\"\n",
            "list at least one server URL",
        ),
        (
            "servers = [\"https://a\"]\napi_key = \"k\"\n",
            "missing field `host_id`",
        ),
    ];
    for (body, expected) in cases {
        std::fs::write(&config, body).expect("write");
        let out = agent(&["--config", config.to_str().expect("utf-8 path"), "status"]);
        assert_eq!(out.status.code(), Some(1), "{body}");
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{body}\n→ {err}");
        assert!(
            err.contains(&config.display().to_string()),
            "names the file: {err}"
        );
    }
    let out = agent(&["--config", "/nonexistent/agent.toml", "once"]);
    assert!(text(&out.stderr).contains("cannot read config file /nonexistent/agent.toml"));
}
