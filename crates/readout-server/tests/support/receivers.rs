//! Real receivers on loopback: an HTTP server that records every call and
//! answers from a script, and Python's aiosmtpd writing mail to a Maildir.

use std::collections::{BTreeMap, VecDeque};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};

/// One call the HTTP receiver got, and what it answered.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub answered: u16,
}

impl Call {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

#[derive(Default)]
struct Shared {
    calls: Vec<Call>,
    script: VecDeque<u16>,
    otherwise: u16,
    delay: Duration,
}

/// An HTTP receiver on 127.0.0.1, running until dropped.
pub struct Receiver {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    pub fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            otherwise: 200,
            ..Shared::default()
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::clone(&shared);
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let app = axum::Router::new().fallback(
                move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    let state = Arc::clone(&state);
                    async move {
                        let delay = state.lock().expect("lock").delay;
                        tokio::time::sleep(delay).await;
                        let mut s = state.lock().expect("lock");
                        let answered = s.script.pop_front().unwrap_or(s.otherwise);
                        s.calls.push(Call {
                            method: method.to_string(),
                            path: uri.to_string(),
                            headers: headers
                                .iter()
                                .map(|(k, v)| {
                                    (
                                        k.as_str().to_owned(),
                                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                    )
                                })
                                .collect(),
                            body: String::from_utf8_lossy(&body).into_owned(),
                            answered,
                        });
                        StatusCode::from_u16(answered).unwrap_or(StatusCode::OK)
                    }
                },
            );
            axum::serve(listener, app).await.expect("receiver");
        });
        Self {
            url,
            shared,
            _runtime: runtime,
        }
    }

    /// The next answers, in order; then `otherwise`.
    pub fn script(&self, answers: &[u16], otherwise: u16) {
        let mut s = self.shared.lock().expect("lock");
        s.script = answers.iter().copied().collect();
        s.otherwise = otherwise;
    }

    /// Each answer comes this late (a slow receiver).
    pub fn delay(&self, delay: Duration) {
        self.shared.lock().expect("lock").delay = delay;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().expect("lock").calls.clone()
    }

    /// Calls whose path starts with `prefix`.
    pub fn calls_to(&self, prefix: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.path.starts_with(prefix))
            .collect()
    }
}

/// aiosmtpd on 127.0.0.1, delivering into a Maildir; killed on drop.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
    child: Child,
}

/// One received email.
#[derive(Debug, Clone)]
pub struct Mail {
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// How a test SMTP server speaks: plain, STARTTLS or implicit TLS (with
/// a certificate and key), and whether it requires a login.
#[derive(Debug, Default)]
pub struct SmtpOptions<'a> {
    pub starttls: Option<(&'a Path, &'a Path)>,
    pub smtps: Option<(&'a Path, &'a Path)>,
    pub auth: Option<&'a str>,
}

impl SmtpServer {
    pub fn start() -> Self {
        Self::start_with(&SmtpOptions::default())
    }

    /// Runs `smtp_server.py` (aiosmtpd) with `options`.
    pub fn start_with(options: &SmtpOptions<'_>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let maildir = dir.path().join("mail");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut command = Command::new("python3");
        command.arg(script).arg(port.to_string()).arg(&maildir);
        for (flag, pair) in [("--starttls", options.starttls), ("--smtps", options.smtps)] {
            if let Some((cert, key)) = pair {
                command.arg(flag).arg(cert).arg(key);
            }
        }
        if let Some(auth) = options.auth {
            command.arg("--auth").arg(auth);
        }
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 smtp_server.py (scripts/test installs aiosmtpd)");
        let up = super::wait_for(Duration::from_secs(20), || {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
                }
                panic!(
                    "the SMTP server exited ({status}): {err}\nis aiosmtpd installed (pip install aiosmtpd)?"
                );
            }
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        assert!(up.is_some(), "the SMTP server did not start listening");
        Self {
            port,
            maildir,
            _dir: dir,
            child,
        }
    }

    /// Every email received so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<_> = std::fs::read_dir(self.maildir.join("new"))
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).expect("mail");
                let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
                let mut headers = BTreeMap::new();
                let mut last = String::new();
                for line in head.lines() {
                    if line.starts_with([' ', '\t']) {
                        if let Some(v) = headers.get_mut(&last) {
                            let v: &mut String = v;
                            v.push(' ');
                            v.push_str(line.trim());
                        }
                    } else if let Some((k, v)) = line.split_once(':') {
                        last = k.to_ascii_lowercase();
                        headers.insert(last.clone(), v.trim().to_owned());
                    }
                }
                Mail {
                    headers,
                    body: body.to_owned(),
                }
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
