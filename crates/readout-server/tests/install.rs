//! `install.sh` and `uninstall.sh`, as a user runs them: fetched from the
//! server, into a temporary root.

mod support;

use std::process::Command;

use support::Server;

fn fetch(server: &Server, path: &str) -> Vec<u8> {
    let mut response = support::http()
        .get(format!("{}{path}", server.url()).as_str())
        .call()
        .expect("GET");
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    response
        .body_mut()
        .with_config()
        .limit(200 * 1024 * 1024)
        .read_to_vec()
        .expect("body")
}

#[test]
fn install_sh_writes_the_agent_config_allowlist_and_timer_and_uninstall_removes_them() {
    let server = Server::start();
    let (id, key) = server.add_host("installed");
    let work = tempfile::tempdir().expect("tempdir");
    let script = work.path().join("install.sh");
    std::fs::write(&script, fetch(&server, "/agent/install.sh")).expect("write install.sh");
    let root = work.path().join("root");

    for (scheduler, unit) in [
        ("systemd", "etc/systemd/system/readout-agent.timer"),
        ("cron", "etc/cron.d/readout-agent"),
    ] {
        let out = Command::new("sh")
            .arg(&script)
            .args(["--root"])
            .arg(&root)
            .args([
                "--server",
                &server.url(),
                "--server",
                "https://backup.example",
            ])
            .args([
                "--host-id",
                &id,
                "--api-key",
                &key,
                "--scheduler",
                scheduler,
            ])
            .output()
            .expect("run install.sh");
        assert!(
            out.status.success(),
            "install.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(root.join(unit).exists(), "{unit} missing");

        // The binary is the server's agent, byte for byte, and runs.
        let binary = root.join("usr/local/bin/readout-agent");
        assert_eq!(
            std::fs::read(&binary).expect("binary"),
            std::fs::read(support::agent_binary()).expect("agent")
        );
        let version = Command::new(&binary)
            .arg("--version")
            .output()
            .expect("run installed agent");
        assert!(String::from_utf8_lossy(&version.stdout).starts_with("readout-agent "));

        let config = std::fs::read_to_string(root.join("etc/readout/agent.toml")).expect("config");
        assert!(
            config.contains(&format!(
                "servers = [\"{}\", \"https://backup.example\"]",
                server.url()
            )),
            "{config}"
        );
        assert!(
            config.contains(&format!("host_id = \"{id}\""))
                && config.contains(&format!("api_key = \"{key}\""))
        );
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(root.join("etc/readout/agent.toml"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the config holding the key is private, mode {mode:o}"
        );
        let allowlist = std::fs::read_to_string(root.join("etc/readout/available_commands.sh"))
            .expect("allowlist");
        assert_eq!(allowlist, readout_allowlist::DEFAULT_ALLOWLIST);
        assert!(root.join("var/lib/readout-agent").is_dir());

        let unit_text = std::fs::read_to_string(root.join(unit)).expect("unit");
        if scheduler == "cron" {
            assert_eq!(
                unit_text,
                "* * * * * readout /usr/local/bin/readout-agent --config /etc/readout/agent.toml once >/dev/null 2>&1\n"
            );
        } else {
            let service =
                std::fs::read_to_string(root.join("etc/systemd/system/readout-agent.service"))
                    .expect("service");
            assert!(service.contains("User=readout\n"), "{service}");
            assert!(service.contains(
                "ExecStart=/usr/local/bin/readout-agent --config /etc/readout/agent.toml once"
            ));
            assert!(unit_text.contains("OnUnitActiveSec=60s"));
        }

        let uninstall = work.path().join("uninstall.sh");
        std::fs::write(&uninstall, fetch(&server, "/agent/uninstall.sh"))
            .expect("write uninstall.sh");
        let out = Command::new("sh")
            .arg(&uninstall)
            .arg("--root")
            .arg(&root)
            .output()
            .expect("uninstall");
        assert!(
            out.status.success(),
            "uninstall.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let left: Vec<_> = walk(&root).into_iter().filter(|p| p.is_file()).collect();
        assert!(left.is_empty(), "uninstall left {left:?}");
        assert!(!root.join("etc/readout").exists() && !root.join("var/lib/readout-agent").exists());
    }
}

#[test]
fn install_sh_refuses_bad_arguments_clearly() {
    let server = Server::start();
    let work = tempfile::tempdir().expect("tempdir");
    let script = work.path().join("install.sh");
    std::fs::write(&script, fetch(&server, "/agent/install.sh")).expect("write");
    let out = Command::new("sh")
        .arg(&script)
        .args([
            "--root",
            "x",
            "--server",
            "https://a",
            "--host-id",
            "h_1",
            "--api-key",
            "k\"; rm -rf /",
        ])
        .current_dir(work.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--api-key"));
    assert!(!work.path().join("x/etc").exists(), "nothing written");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}
