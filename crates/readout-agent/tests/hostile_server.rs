//! A compromised or impostor server cannot make the agent run anything: a
//! real HTTP server on loopback answers every cycle with hostile names, and
//! the real agent binary refuses each one and reports why.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::Command;
use std::sync::mpsc;

use readout_proto::{CycleRequest, CycleResponse};

/// Serves `requests` cycle POSTs, answering each with `commands` (and
/// `padding` spaces after the JSON); sends each received cycle back over
/// the channel.
fn hostile_server(
    commands: Vec<String>,
    requests: usize,
    padding: usize,
) -> (String, mpsc::Receiver<CycleRequest>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut served = 0;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut writer = stream;
            // Keep-alive: several requests may come on one connection.
            while served < requests {
                let mut length = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                if length == 0 {
                    break;
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).expect("body");
                let mut json = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut json)
                    .expect("gzip");
                let _ = tx.send(serde_json::from_slice(&json).expect("cycle json"));
                let mut answer = serde_json::to_vec(&CycleResponse {
                    duplicate: false,
                    commands: commands.clone(),
                    interval_secs: 60,
                    stop: false,
                })
                .expect("json");
                answer.resize(answer.len() + padding, b' ');
                write!(writer, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", answer.len())
                    .expect("write");
                writer.write_all(&answer).expect("write");
                served += 1;
            }
            if served >= requests {
                break;
            }
        }
    });
    (url, rx)
}

/// Writes an agent's config and allowlist into `dir` for the server at
/// `url`, and runs one forced cycle of the real agent, which must succeed.
fn once(dir: &std::path::Path, url: &str, allowlist_text: &str) {
    let allowlist = dir.join("available_commands.sh");
    std::fs::write(&allowlist, allowlist_text).expect("allowlist");
    let config = dir.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "servers = [{url:?}]\nhost_id = \"h_1\"\napi_key = \"rk_1\"\nallowlist = {:?}\nstate_dir = {:?}\n",
            allowlist.display().to_string(),
            dir.join("state").display().to_string()
        ),
    )
    .expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_readout-agent"))
        .args(["--config"])
        .arg(&config)
        .args(["once", "--force"])
        .output()
        .expect("run agent");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hostile_names_from_the_server_are_never_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mark = dir.path().join("pwned");
    let m = mark.display();
    let hostile: Vec<String> = [
        format!("readout_x;touch {m}"),
        format!("readout_$(touch {m})"),
        format!("readout_`touch {m}`"),
        format!("touch {m}"),
        format!("readout_ok && touch {m}"),
        "readout_ok\nreadout_evil".to_owned(),
        "readout_evil".to_owned(),
        "readout_ok".to_owned(),
    ]
    .to_vec();
    let (url, cycles) = hostile_server(hostile, 2, 0);
    once(
        dir.path(),
        &url,
        &format!("readout_ok=\"echo ok\"\n# readout_evil=\"touch {m}\"\n"),
    );
    assert!(
        !mark.exists(),
        "a hostile name made the agent run a command"
    );

    let hello = cycles.recv().expect("first contact");
    assert!(hello.results.is_empty());
    let cycle = cycles.recv().expect("cycle");
    let ran: Vec<&str> = cycle.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(ran, ["readout_ok"]);
    assert_eq!(cycle.results[0].output, b"ok\n");
    let refused: Vec<&str> = cycle.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(refused.len(), 7, "{refused:?}");
    assert!(
        refused[..6].iter().all(|r| r.starts_with("invalid name:")),
        "{refused:?}"
    );
    assert!(refused[6].starts_with("not defined in "), "{refused:?}");
}

/// An answer over the 1 MiB the agent reads was taken for an error and the
/// cycle dropped; it is no acknowledgement, so the cycle stays spooled.
#[test]
fn an_answer_too_large_to_read_leaves_the_cycle_in_the_spool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, cycles) = hostile_server(vec!["readout_ok".into()], 3, 2 * 1024 * 1024);
    once(dir.path(), &url, "readout_ok=\"echo ok\"\n");
    let hello = cycles.recv().expect("first contact");
    assert!(hello.results.is_empty());
    let spooled = std::fs::read_dir(dir.path().join("state/spool"))
        .map(Iterator::count)
        .unwrap_or(0);
    assert_eq!(spooled, 1, "the cycle waits in the spool");
}
