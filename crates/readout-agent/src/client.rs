//! Talks to the server: one gzip-compressed JSON POST per cycle, failing
//! over between the configured URLs. Blocking (ureq + rustls): no async
//! runtime in the agent.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use readout_proto::{CYCLES_PATH, CycleRequest, CycleResponse, ErrorResponse};

use crate::config::Config;

/// Largest response read back from a server.
const MAX_RESPONSE: u64 = 1024 * 1024;

#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    servers: Vec<String>,
    authorization: String,
}

/// What became of one cycle.
#[derive(Debug)]
pub enum Delivery {
    /// Stored (or known already); `server` is the index of the URL that took it.
    Accepted {
        response: CycleResponse,
        server: usize,
    },
    /// The server read it and will never take it (400, 413, 422 …).
    Refused(String),
    /// The credentials are wrong: nothing will be taken until they are fixed.
    Unauthorized(String),
    /// No server answered usefully; try again later.
    Unreachable(String),
}

impl Client {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let mut builder = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(config.request_timeout_secs)))
            .http_status_as_error(false)
            .user_agent(format!("readout-agent/{}", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read ca_file {}", path.display()))?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect();
            anyhow::ensure!(
                !certs.is_empty(),
                "ca_file {} holds no PEM certificate",
                path.display()
            );
            builder = builder.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            );
        }
        let credentials = STANDARD.encode(format!("{}:{}", config.host_id, config.api_key));
        Ok(Self {
            agent: builder.build().into(),
            servers: config.servers.clone(),
            authorization: format!("Basic {credentials}"),
        })
    }

    /// Sends one cycle, trying the servers from `first` onwards (wrapping).
    pub fn send(&self, cycle: &CycleRequest, first: usize) -> anyhow::Result<Delivery> {
        let body = gzip_json(cycle)?;
        let mut failures = Vec::new();
        for step in 0..self.servers.len() {
            let index = (first + step) % self.servers.len();
            let url = format!("{}{CYCLES_PATH}", self.servers[index].trim_end_matches('/'));
            match self.post(&url, &body) {
                Ok((status, text)) if (200..300).contains(&status) => {
                    // An answer that cannot be read (too large, not a cycle
                    // response) is no acknowledgement: the cycle stays spooled.
                    match serde_json::from_str::<CycleResponse>(&text) {
                        Ok(response) => {
                            return Ok(Delivery::Accepted {
                                response,
                                server: index,
                            });
                        }
                        Err(e) => failures.push(format!(
                            "{url} answered {status} with a body that is not a cycle response \
                             (at most {MAX_RESPONSE} bytes are read): {e}"
                        )),
                    }
                }
                Ok((status @ (401 | 403), text)) => {
                    return Ok(Delivery::Unauthorized(format!(
                        "{url}: {status} {}",
                        error_message(&text)
                    )));
                }
                Ok((status, text))
                    if (400..500).contains(&status) && status != 408 && status != 429 =>
                {
                    return Ok(Delivery::Refused(format!(
                        "{url}: {status} {}",
                        error_message(&text)
                    )));
                }
                Ok((status, text)) => {
                    failures.push(format!("{url}: {status} {}", error_message(&text)));
                }
                Err(e) => failures.push(format!("{url}: {e}")),
            }
        }
        Ok(Delivery::Unreachable(failures.join("; ")))
    }

    fn post(&self, url: &str, body: &[u8]) -> Result<(u16, String), ureq::Error> {
        let mut response = self
            .agent
            .post(url)
            .header("authorization", &self.authorization)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .send(body)?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_string()
            .unwrap_or_default();
        Ok((status, text))
    }
}

/// The server's error message, or the start of whatever it sent.
fn error_message(text: &str) -> String {
    match serde_json::from_str::<ErrorResponse>(text) {
        Ok(e) => e.error.message,
        Err(_) => text.chars().take(200).collect(),
    }
}

pub fn gzip_json(cycle: &CycleRequest) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    serde_json::to_writer(&mut encoder, cycle)?;
    encoder.flush()?;
    Ok(encoder.finish()?)
}
