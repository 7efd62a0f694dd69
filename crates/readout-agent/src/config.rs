//! The agent's configuration file (`/etc/readout/agent.toml` by default),
//! written at install time.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Deserialize;

pub const DEFAULT_CONFIG: &str = "/etc/readout/agent.toml";

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Server base URLs, tried in order; the agent fails over between them.
    pub servers: Vec<String>,
    pub host_id: String,
    pub api_key: String,
    /// The allowlist: the only commands this agent will ever run.
    #[serde(default = "default_allowlist")]
    pub allowlist: PathBuf,
    /// Spool, STOP marker and the little state kept between cycles.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// A command running longer is killed, with its children.
    #[serde(default = "default_timeout")]
    pub command_timeout_secs: u64,
    /// Output beyond this is cut and the result marked truncated.
    #[serde(default = "default_output_cap")]
    pub output_cap_bytes: usize,
    /// Commands run at once.
    #[serde(default = "default_parallel")]
    pub max_parallel: usize,
    /// The spool of unsent cycles never grows past this; oldest go first.
    #[serde(default = "default_spool_max")]
    pub spool_max_bytes: u64,
    /// Per request to the server, connect to last byte.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// PEM file of extra CA certificates to trust (a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow `http://` to hosts other than loopback. Off: the API key would
    /// cross the network in the clear.
    #[serde(default)]
    pub allow_plain_http: bool,
}

fn default_allowlist() -> PathBuf {
    PathBuf::from("/etc/readout/available_commands.sh")
}
fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/readout-agent")
}
fn default_timeout() -> u64 {
    25
}
fn default_output_cap() -> usize {
    1024 * 1024
}
fn default_parallel() -> usize {
    4
}
fn default_spool_max() -> u64 {
    50 * 1024 * 1024
}
fn default_request_timeout() -> u64 {
    30
}

// Hand-written so the API key never reaches a log or a status screen.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("servers", &self.servers)
            .field("host_id", &self.host_id)
            .field("api_key", &"<redacted>")
            .field("allowlist", &self.allowlist)
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads and checks the file. `READOUT_AGENT_SERVER` (one URL) replaces
    /// the file's server list, for tests and the demo.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut config: Self = toml::from_str(&text)
            .with_context(|| format!("invalid config file {}", path.display()))?;
        if let Ok(server) = std::env::var("READOUT_AGENT_SERVER") {
            config.servers = vec![server];
        }
        config
            .validate()
            .with_context(|| format!("invalid config file {}", path.display()))?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.servers.is_empty() {
            bail!("servers: list at least one server URL");
        }
        for (i, url) in self.servers.iter().enumerate() {
            check_server_url(url, self.allow_plain_http)
                .with_context(|| format!("servers[{i}] {url:?}"))?;
        }
        if self.host_id.is_empty() || self.api_key.is_empty() {
            bail!("host_id and api_key are required (from `readout host add`)");
        }
        if self.host_id.contains(':') {
            bail!("host_id {:?} cannot contain ':'", self.host_id);
        }
        if self.command_timeout_secs == 0 || self.max_parallel == 0 || self.output_cap_bytes == 0 {
            bail!("command_timeout_secs, max_parallel and output_cap_bytes must be above 0");
        }
        Ok(())
    }

    pub fn spool_dir(&self) -> PathBuf {
        self.state_dir.join("spool")
    }

    pub fn stop_marker(&self) -> PathBuf {
        self.state_dir.join("STOP")
    }
}

fn check_server_url(url: &str, allow_plain_http: bool) -> anyhow::Result<()> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("must start with https:// (or http:// for loopback)");
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let loopback = host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback && !allow_plain_http {
        bail!(
            "plain http:// is only allowed to loopback; use https:// or set allow_plain_http = true"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        assert!(check_server_url("https://readout.example.com", false).is_ok());
        assert!(check_server_url("http://127.0.0.1:8080", false).is_ok());
        assert!(check_server_url("http://localhost:1/x", false).is_ok());
        assert!(check_server_url("http://[::1]:80", false).is_ok());
        assert!(check_server_url("http://10.0.0.5:8080", false).is_err());
        assert!(check_server_url("http://10.0.0.5:8080", true).is_ok());
        assert!(check_server_url("ftp://x", true).is_err());
    }

    #[test]
    fn unknown_keys_and_missing_credentials_are_refused() {
        let e = toml::from_str::<Config>(
            "servers=[\"https://a\"]\nhost_id=\"h\"\napi_key=\"k\"\ntimeout=3\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("unknown field `timeout`"), "{e}");
        let c: Config = toml::from_str("servers=[\"https://a\"]\nhost_id=\"\"\napi_key=\"k\"\n")
            .expect("parse");
        assert!(c.validate().is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let c: Config =
            toml::from_str("servers=[\"https://a\"]\nhost_id=\"h\"\napi_key=\"rk_secret\"\n")
                .expect("parse");
        assert!(!format!("{c:?}").contains("rk_secret"));
    }
}
