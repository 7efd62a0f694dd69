//! Real binaries on loopback: a `readout` server in a temporary data
//! directory and `readout-agent` processes pointed at it. Every guard
//! cleans up on drop.

#![allow(dead_code, unreachable_pub)] // Each test file uses a different part.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod browser;
pub mod receivers;

pub const ADMIN_TOKEN: &str = "rat_test_admin_token";

/// The `readout-agent` binary, built once per test run next to `readout`.
pub fn agent_binary() -> &'static Path {
    static AGENT: OnceLock<PathBuf> = OnceLock::new();
    AGENT.get_or_init(|| {
        let run = escargot::CargoBuild::new()
            .package("readout-agent")
            .bin("readout-agent")
            .current_release()
            .run()
            .expect("build readout-agent");
        run.path().to_path_buf()
    })
}

pub fn server_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_readout"))
}

/// A running `readout serve`, killed on drop.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub addr: String,
    child: Option<Child>,
    extra: Vec<String>,
    /// A command the server runs under (its arguments end with the
    /// server's path): a shell setting a limit, another user.
    prefix: Vec<String>,
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts with extra `serve` flags.
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"), extra)
    }

    /// Starts with its data directory in `dir`.
    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Self {
        let mut server = Self {
            dir,
            addr: "127.0.0.1:0".into(),
            child: None,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            prefix: Vec::new(),
        };
        server.spawn();
        server
    }

    /// Starts under a hard limit of `open_files` descriptors.
    pub fn start_with_open_files(open_files: u32, extra: &[&str]) -> Self {
        // `exec`: the shell becomes the server, so its pid is the server's.
        let shell = format!("ulimit -n {open_files} && exec \"$0\" \"$@\"");
        Self::start_under(
            tempfile::tempdir().expect("tempdir"),
            &["sh", "-c", &shell],
            extra,
        )
    }

    /// Starts as user and group `id` (the test runs as root), in `dir`.
    pub fn start_as(id: u32, dir: tempfile::TempDir, extra: &[&str]) -> Self {
        let (uid, gid) = (format!("--reuid={id}"), format!("--regid={id}"));
        Self::start_under(dir, &["setpriv", &uid, &gid, "--clear-groups", "--"], extra)
    }

    fn start_under(dir: tempfile::TempDir, prefix: &[&str], extra: &[&str]) -> Self {
        let mut server = Self {
            dir,
            addr: "127.0.0.1:0".into(),
            child: None,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            prefix: prefix.iter().map(|s| (*s).to_owned()).collect(),
        };
        server.spawn();
        server
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn spawn(&mut self) {
        let mut command = match self.prefix.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(server_binary());
                command
            }
            None => Command::new(server_binary()),
        };
        let mut child = command
            .arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--listen")
            .arg(&self.addr)
            .arg("--agent-binary")
            .arg(agent_binary())
            .args(&self.extra)
            .env("READOUT_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("READOUT_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start readout serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("readout listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"));
        self.addr = addr.to_owned();
        self.child = Some(child);
    }

    /// The `--database-url` this server was started with, for the CLI.
    fn database_args(&self) -> Vec<String> {
        match self.extra.iter().position(|a| a == "--database-url") {
            Some(i) => self.extra[i..=i + 1].to_vec(),
            None => Vec::new(),
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.extra.iter().any(|a| a == "--tls-cert") {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// Kills the server (SIGKILL: nothing gets to flush).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same address and data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `readout host …` against this server's data directory.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(server_binary())
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(self.database_args())
            .arg("--public-url")
            .arg(self.url())
            .env("READOUT_LOG", "warn")
            .output()
            .expect("run readout")
    }

    /// `readout user add ARGS`, the password on standard input.
    pub fn user_add(&self, args: &[&str], password: &str) -> Output {
        let mut child = Command::new(server_binary())
            .args(["user", "add"])
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(self.database_args())
            .env("READOUT_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("readout user add");
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{password}").expect("password");
        drop(stdin);
        child.wait_with_output().expect("output")
    }

    /// Adds a host through the CLI; returns (id, api key).
    pub fn add_host(&self, name: &str) -> (String, String) {
        let out = self.cli(&["host", "add", name, "--json"]);
        assert!(
            out.status.success(),
            "host add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let added: Value = serde_json::from_slice(&out.stdout).expect("host add --json");
        (
            added["host"]["id"].as_str().expect("id").to_owned(),
            added["api_key"].as_str().expect("key").to_owned(),
        )
    }

    /// An admin API call; returns the status and the JSON body (or null).
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}/api/v1{path}", self.url());
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header("authorization", auth.as_str())
            .header("content-type", "application/json");
        let body = body
            .map(|b| serde_json::to_vec(b).expect("json"))
            .unwrap_or_default();
        let mut response = http()
            .run(request.body(body).expect("request"))
            .expect("API call");
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_json().unwrap_or(Value::Null),
        )
    }

    pub fn api_get(&self, path: &str) -> Value {
        let (status, body) = self.api("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub fn api_put(&self, path: &str, body: &Value) -> Value {
        let (status, answer) = self.api("PUT", path, Some(body));
        assert_eq!(status, 200, "PUT {path}: {answer}");
        answer
    }

    /// The latest output of `name` on a host, as text.
    pub fn latest_output(&self, host_id: &str, name: &str) -> Option<Value> {
        let outputs = self.api_get(&format!("/hosts/{host_id}/outputs"));
        outputs
            .as_array()
            .expect("array")
            .iter()
            .find(|o| o["name"] == name)
            .cloned()
    }

    pub fn cycles(&self, host_id: &str) -> Vec<Value> {
        self.api_get(&format!("/hosts/{host_id}/cycles?limit=100"))
            .as_array()
            .expect("array")
            .clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// POSTs a cycle body as host `id`; returns the status and the JSON answer.
pub fn post_cycle(server: &Server, id: &str, key: &str, body: &[u8], gzip: bool) -> (u16, Value) {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{key}"));
    let mut request = http()
        .post(format!("{}{}", server.url(), readout_proto::CYCLES_PATH).as_str())
        .header("authorization", &format!("Basic {auth}"))
        .header("content-type", "application/json");
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    let mut response = request.send(body).expect("POST");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_json().unwrap_or(Value::Null),
    )
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// An HTTP client that reports every status instead of failing on 4xx/5xx.
pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// An agent installation in a temporary directory.
pub struct Agent {
    pub dir: tempfile::TempDir,
}

impl Agent {
    /// Writes a config for `server_url` and the given allowlist text;
    /// `extra` is appended to the config (TOML lines).
    pub fn new(server_url: &str, id: &str, key: &str, allowlist: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let allowlist_path = dir.path().join("available_commands.sh");
        std::fs::write(&allowlist_path, allowlist).expect("write allowlist");
        let config = format!(
            "servers = [{server_url:?}]\nhost_id = {id:?}\napi_key = {key:?}\nallowlist = {:?}\nstate_dir = {:?}\n{extra}\n",
            allowlist_path.display().to_string(),
            dir.path().join("state").display().to_string(),
        );
        std::fs::write(dir.path().join("agent.toml"), config).expect("write config");
        Self { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(agent_binary())
            .arg("--config")
            .arg(self.path("agent.toml"))
            .args(args)
            .env_remove("READOUT_AGENT_SERVER")
            .output()
            .expect("run readout-agent")
    }

    /// One forced cycle; panics with the agent's stderr if it fails.
    pub fn once(&self) -> Output {
        let out = self.run(&["once", "--force"]);
        assert!(
            out.status.success(),
            "agent once failed ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Start times of the spooled cycles, oldest first, from the file names.
    pub fn spooled_starts(&self) -> Vec<i64> {
        let mut starts: Vec<i64> = std::fs::read_dir(self.path("state/spool"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        name.strip_suffix(".json.gz")?
                            .split('-')
                            .next()?
                            .parse()
                            .ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        starts.sort_unstable();
        starts
    }
}

/// Writes into `dir` a CA (`ca.pem`) and a certificate for 127.0.0.1 and
/// localhost signed by it (`server.pem`, `server.key`), with the openssl CLI.
pub fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Readout test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

/// Asserts a command succeeded, showing its stderr if not; returns stdout.
pub fn succeeded(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `check` until it returns `Some`, for at most `limit`.
pub fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// [`wait_for`] for checks that await.
pub async fn wait_for_async<T, F: Future<Output = Option<T>>>(
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether process `pid` is still alive (zombies count as gone).
pub fn process_alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

/// A fresh PostgreSQL database for one test, dropped afterwards. The server
/// comes from `READOUT_TEST_POSTGRES_URL` (set by `scripts/test`).
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> Self {
        let admin_url = std::env::var("READOUT_TEST_POSTGRES_URL").expect(
            "READOUT_TEST_POSTGRES_URL is not set: run the tests with scripts/test, which starts PostgreSQL",
        );
        let mut suffix = [0u8; 6];
        getrandom::fill(&mut suffix).expect("random");
        let name = format!(
            "readout_test_{}",
            suffix
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        run_sql(&admin_url, &format!("CREATE DATABASE {name}"));
        let (base, _) = admin_url.rsplit_once('/').expect("URL with a database");
        let url = format!("{base}/{name}");
        Self {
            admin_url,
            name,
            url,
        }
    }
}

impl PgDatabase {
    /// Runs a script of many statements (a `pg_dump --inserts`).
    pub fn run_script(&self, script: &str) {
        use readout_storage::sqlx::{self, Connection as _};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("connect to PostgreSQL");
            sqlx::raw_sql(sqlx::AssertSqlSafe(script.to_owned()))
                .execute(&mut conn)
                .await
                .expect("run the script");
        });
    }

    /// Lets clients connect, or refuses them and ends every open session:
    /// to the server it is as if PostgreSQL went away.
    pub fn allow_connections(&self, allowed: bool) {
        run_sql(
            &self.admin_url,
            &format!(
                "ALTER DATABASE {} WITH ALLOW_CONNECTIONS {allowed}",
                self.name
            ),
        );
        if !allowed {
            run_sql(
                &self.admin_url,
                &format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
                    self.name
                ),
            );
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        run_sql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn run_sql(url: &str, sql: &str) {
    use readout_storage::sqlx::{self, Connection as _};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .expect(sql);
    });
}

/// A running `readout demo` in a temporary data directory, stopped on drop.
pub struct Demo {
    pub url: String,
    pub data: tempfile::TempDir,
    child: Child,
}

impl Demo {
    /// Starts it and waits for the line that says where it listens.
    pub fn start() -> Self {
        let _ = agent_binary(); // the demo runs the agent beside `readout`
        let data = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(server_binary())
            .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env("READOUT_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start readout demo");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Keep reading to the end, as a terminal would.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Readout is running at ") {
                    let _ = tx.send(rest.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the demo prints its URL");
        Self { url, data, child }
    }

    /// SIGTERM, as a service manager would; whether it ended cleanly.
    pub fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().is_ok_and(|s| s.success())
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A host whose agent runs `cat level.txt`, with `level_pct` parsed from it
/// and a rule: warning above 50, error above 90.
pub struct LevelHost {
    pub id: String,
    pub agent: Agent,
    pub file: PathBuf,
}

impl LevelHost {
    pub fn new(server: &Server, name: &str) -> Self {
        let (id, key) = server.add_host(name);
        Self::with_key(server, id, &key)
    }

    /// The host `id` already added (its agent's key is `key`).
    pub fn with_key(server: &Server, id: String, key: &str) -> Self {
        let agent = Agent::new(&server.url(), &id, key, "", "");
        let file = agent.path("level.txt");
        std::fs::write(&file, "level 10\n").expect("write level");
        std::fs::write(
            agent.path("available_commands.sh"),
            format!("readout_level=\"cat {}\"\n", file.display()),
        )
        .expect("allowlist");
        agent.once();
        server.api_put(
            &format!("/hosts/{id}/commands"),
            &serde_json::json!({"commands": ["readout_level"]}),
        );
        // The agent learns the new list from this cycle's answer.
        agent.once();
        server.api_put(
            &format!("/hosts/{id}/sources/readout_level"),
            &serde_json::json!({"parser": {"variables": [
                {"name": "level_pct", "extract": {"from": "regex", "pattern": "level (\\d+)"}}
            ]}}),
        );
        let rule = server.api_put(
            &format!("/hosts/{id}/alerts/level_pct"),
            &serde_json::json!({"warning": {"above": 50}, "error": {"above": 90}}),
        );
        assert_eq!(rule["trigger_after"], 1);
        Self { id, agent, file }
    }

    /// Writes `level N` and runs one cycle.
    pub fn report(&self, level: u32) {
        std::fs::write(&self.file, format!("level {level}\n")).expect("write level");
        self.agent.once();
    }
}
