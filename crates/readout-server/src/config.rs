//! Server configuration, layered: defaults → TOML file → `READOUT_…`
//! environment → command-line flags (clap handles the last two; every flag
//! has an `env` twin).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Everything `readout serve` can be told.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Where the SQLite database and generated secrets live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; empty means `sqlite://DATA_DIR/readout.db`.
    pub database_url: String,
    /// The URL agents and browsers reach this server at (behind a proxy,
    /// the proxy's); empty means `http(s)://LISTEN`.
    pub public_url: String,
    /// PEM certificate chain and key: when both are set the server speaks
    /// HTTPS itself; otherwise plain HTTP, for loopback or behind a proxy.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Bearer token of the read API; empty means one is generated into
    /// `DATA_DIR/admin-token` on first start.
    pub admin_token: String,
    /// Largest agent request body, compressed or not.
    pub max_body_bytes: usize,
    /// Agent request bytes the node holds at once (as sent, plus as decoded),
    /// until their cycles are stored; past it a cycle is answered 503 and
    /// its agent sends it again later. Bounds ingest's memory.
    pub max_inflight_bytes: usize,
    /// Open connections at most (lowered to fit the open-files limit);
    /// more wait until one closes.
    pub max_connections: usize,
    /// A connection is closed when a request's headers (or the TLS
    /// handshake) take longer than this, and when it sits idle this long.
    pub header_timeout_secs: u32,
    /// How long cycles and raw outputs are kept (the latest output of each
    /// command is always kept).
    pub history_days: u32,
    /// How long variables are kept at full resolution.
    pub points_days: u32,
    /// How long the hourly aggregates of variables are kept.
    pub rollups_days: u32,
    /// A cycle is folded into its (closed) hour once it arrived this long
    /// ago, so a host's hour is written once, not once per cycle of a spool
    /// sending old cycles one after another.
    pub compact_settle_secs: u32,
    /// The agent binary served to `install.sh`; empty means `readout-agent`
    /// next to this executable.
    pub agent_binary: Option<PathBuf>,
    /// Alerts and notification delivery (`[alerts]`).
    pub alerts: AlertsConfig,
}

/// `[alerts]`: silence, the SMTP relay, webhook targets and retries.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// A host with no cycle for this long is SILENT (a host may set its own).
    pub silent_after_secs: u32,
    /// How often silence, repeats and escalations are checked.
    pub sweep_every_secs: u32,
    /// SMTP relay for email channels: `smtp://HOST:25` (plain),
    /// `smtp://USER:PASSWORD@HOST:587?tls=required` (STARTTLS),
    /// `smtps://USER:PASSWORD@HOST:465` (TLS). Empty: no email.
    pub smtp_url: String,
    /// A PEM file of CA certificates the relay's certificate may chain to,
    /// besides the public ones (a relay with a private CA).
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender of notification emails.
    pub smtp_from: String,
    /// Networks webhooks may reach although they are loopback, private or
    /// link-local (`["10.0.0.0/8"]`); by default none.
    pub allow_networks: Vec<String>,
    /// First retry delay; each next one doubles, up to `retry_max_ms`.
    pub retry_first_ms: u64,
    pub retry_max_ms: u64,
    /// Attempts before a notification is given up (and marked failed).
    pub max_attempts: u32,
    /// Time allowed to one delivery attempt.
    pub send_timeout_secs: u32,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            silent_after_secs: 180,
            sweep_every_secs: 15,
            smtp_url: String::new(),
            smtp_ca_file: None,
            smtp_from: "Readout <readout@localhost>".to_owned(),
            allow_networks: Vec::new(),
            retry_first_ms: 10_000,
            retry_max_ms: 15 * 60 * 1000,
            max_attempts: 20,
            send_timeout_secs: 15,
        }
    }
}

impl std::fmt::Debug for AlertsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertsConfig")
            .field("silent_after_secs", &self.silent_after_secs)
            .field("sweep_every_secs", &self.sweep_every_secs)
            .field("smtp_url", &redact_url(&self.smtp_url))
            .field("smtp_ca_file", &self.smtp_ca_file)
            .field("smtp_from", &self.smtp_from)
            .field("allow_networks", &self.allow_networks)
            .field("retry_first_ms", &self.retry_first_ms)
            .field("retry_max_ms", &self.retry_max_ms)
            .field("max_attempts", &self.max_attempts)
            .field("send_timeout_secs", &self.send_timeout_secs)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("readout-data"),
            database_url: String::new(),
            public_url: String::new(),
            tls_cert: None,
            tls_key: None,
            admin_token: String::new(),
            max_body_bytes: 8 * 1024 * 1024,
            max_inflight_bytes: 512 * 1024 * 1024,
            max_connections: 10_000,
            header_timeout_secs: 20,
            history_days: 7,
            points_days: 30,
            rollups_days: 730,
            compact_settle_secs: 60,
            agent_binary: None,
            alerts: AlertsConfig::default(),
        }
    }
}

// Hand-written so the admin token and database password never reach a log.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field(
                "admin_token",
                &if self.admin_token.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_inflight_bytes", &self.max_inflight_bytes)
            .field("max_connections", &self.max_connections)
            .field("header_timeout_secs", &self.header_timeout_secs)
            .field("history_days", &self.history_days)
            .field("points_days", &self.points_days)
            .field("rollups_days", &self.rollups_days)
            .field("compact_settle_secs", &self.compact_settle_secs)
            .field("agent_binary", &self.agent_binary)
            .field("alerts", &self.alerts)
            .finish()
    }
}

/// `postgres://user:secret@db/x` → `postgres://user:<redacted>@db/x`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => {
                    format!("{}{user}:<redacted>{}", &url[..scheme_end + 3], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Config {
    /// Reads a TOML file; unknown keys are an error naming the key and line.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    /// The defaults as a commented TOML document (`readout config default`).
    pub fn default_toml() -> String {
        let body = toml::to_string(&Self::default()).unwrap_or_default();
        format!(
            "# Readout server configuration. Every key may also be set as an\n\
             # environment variable READOUT_<KEY> or a flag --<key>.\n{body}"
        )
    }

    /// Checks what serde cannot: combinations and ranges.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bail!("tls_cert and tls_key must be set together");
        }
        if self.max_body_bytes < 1024 {
            bail!(
                "max_body_bytes is {}; it must be at least 1024",
                self.max_body_bytes
            );
        }
        if self.max_inflight_bytes / 2 < self.max_body_bytes {
            bail!(
                "max_inflight_bytes is {}; it must be at least twice max_body_bytes ({}), \
                 so that the largest cycle fits as sent and decoded",
                self.max_inflight_bytes,
                self.max_body_bytes
            );
        }
        if self.max_connections == 0 || self.header_timeout_secs == 0 {
            bail!("max_connections and header_timeout_secs must be at least 1");
        }
        for (key, days) in [
            ("history_days", self.history_days),
            ("points_days", self.points_days),
            ("rollups_days", self.rollups_days),
        ] {
            if days == 0 {
                bail!("{key} must be at least 1");
            }
        }
        if self.rollups_days < self.points_days {
            bail!(
                "rollups_days ({}) must be at least points_days ({}): roll-ups outlive the points they summarise",
                self.rollups_days,
                self.points_days
            );
        }
        let url = &self.public_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            bail!(
                "public_url {:?} must start with http:// or https://",
                self.public_url
            );
        }
        let alerts = &self.alerts;
        readout_notify::target::parse_allowed(&alerts.allow_networks)
            .map_err(|e| anyhow::anyhow!("alerts.allow_networks: {e}"))?;
        for (key, value) in [
            (
                "alerts.silent_after_secs",
                u64::from(alerts.silent_after_secs),
            ),
            (
                "alerts.sweep_every_secs",
                u64::from(alerts.sweep_every_secs),
            ),
            ("alerts.retry_first_ms", alerts.retry_first_ms),
            ("alerts.max_attempts", u64::from(alerts.max_attempts)),
            (
                "alerts.send_timeout_secs",
                u64::from(alerts.send_timeout_secs),
            ),
        ] {
            if value == 0 {
                bail!("{key} must be at least 1");
            }
        }
        if alerts.retry_max_ms < alerts.retry_first_ms {
            bail!("alerts.retry_max_ms must be at least alerts.retry_first_ms");
        }
        if !(alerts.smtp_url.is_empty()
            || alerts.smtp_url.starts_with("smtp://")
            || alerts.smtp_url.starts_with("smtps://"))
        {
            bail!("alerts.smtp_url must start with smtp:// or smtps://");
        }
        Ok(())
    }

    /// What the pruner keeps, as of `now_ms`.
    pub fn retention(&self, now_ms: i64) -> readout_storage::Retention {
        let before = |days: u32| now_ms - i64::from(days) * DAY_MS;
        readout_storage::Retention {
            outputs_before_ms: before(self.history_days),
            points_before_ms: before(self.points_days),
            rollups_before_ms: before(self.rollups_days),
        }
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("readout.db").display())
        } else {
            self.database_url.clone()
        }
    }

    pub fn public_url(&self) -> String {
        self.public_url_at(self.listen)
    }

    /// The public URL of a server bound to `listen` (which may differ from
    /// the configured address when that asks for port 0).
    pub fn public_url_at(&self, listen: std::net::SocketAddr) -> String {
        if self.public_url.is_empty() {
            let scheme = if self.tls_cert.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{listen}")
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = toml::from_str::<Config>("listen = \"127.0.0.1:1\"\nlisten_port = 3\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown field `listen_port`"), "{err}");
    }

    #[test]
    fn default_toml_parses_back_to_the_defaults() {
        let parsed: Config = toml::from_str(&Config::default_toml()).expect("parse defaults");
        assert_eq!(parsed.listen, Config::default().listen);
        assert_eq!(parsed.max_body_bytes, 8 * 1024 * 1024);
    }

    #[test]
    fn debug_hides_secrets() {
        let config = Config {
            admin_token: "s3cret".into(),
            database_url: "postgres://readout:pa55@db:5432/readout".into(),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("pa55"),
            "{shown}"
        );
        assert!(
            shown.contains("postgres://readout:<redacted>@db:5432/readout"),
            "{shown}"
        );
    }

    #[test]
    fn validate_names_the_bad_setting() {
        let mut config = Config {
            tls_cert: Some("c.pem".into()),
            ..Config::default()
        };
        assert!(config.validate().is_err());
        config.tls_key = Some("k.pem".into());
        assert!(config.validate().is_ok());
        assert_eq!(config.public_url(), "https://127.0.0.1:8080");
        config.public_url = "ftp://x".into();
        let err = config
            .validate()
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert!(err.contains("public_url"), "{err}");
    }
}
