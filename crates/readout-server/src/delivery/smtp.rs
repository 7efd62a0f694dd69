//! Email through the configured SMTP relay.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use readout_notify::Email;

use super::{Failure, Sent};
use crate::config::AlertsConfig;

/// The TLS mode lettre would pick for `url`, trusting the CAs in `path` too.
fn tls_with_ca(url: &str, path: &Path) -> anyhow::Result<Tls> {
    let where_ = || format!("alerts.smtp_ca_file {}", path.display());
    let pem = std::fs::read(path).with_context(where_)?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        anyhow::bail!("{} holds no PEM certificate", where_());
    }
    let ca = Certificate::from_pem(&pem).with_context(where_)?;
    let parsed = url::Url::parse(url).context("alerts.smtp_url")?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let params = TlsParameters::builder(host)
        .add_root_certificate(ca)
        .build_rustls()
        .with_context(where_)?;
    let tls = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    match (parsed.scheme(), tls.as_deref()) {
        ("smtps", _) => Ok(Tls::Wrapper(params)),
        ("smtp", Some("required")) => Ok(Tls::Required(params)),
        ("smtp", Some("opportunistic")) => Ok(Tls::Opportunistic(params)),
        _ => anyhow::bail!(
            "alerts.smtp_ca_file is set but alerts.smtp_url uses no TLS: use smtps:// or add ?tls=required"
        ),
    }
}

#[derive(Debug, Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `alerts.smtp_url`: `smtp://`, `smtp://…?tls=required` or `smtps://`,
    /// as lettre reads it; with `alerts.smtp_ca_file`, the relay's
    /// certificate may also chain to those CAs.
    pub fn new(config: &AlertsConfig, timeout: Duration) -> anyhow::Result<Self> {
        let url = &config.smtp_url;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("alerts.smtp_url is not usable: {e}"))?;
        if let Some(path) = &config.smtp_ca_file {
            builder = builder.tls(tls_with_ca(url, path)?);
        }
        let transport = builder.timeout(Some(timeout)).build();
        let from = &config.smtp_from;
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("alerts.smtp_from {from:?} is not an address: {e}"))?;
        Ok(Self { transport, from })
    }

    pub async fn send(&self, email: &Email, key: &str) -> Result<Sent, Failure> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(email.subject.as_str())
            .message_id(Some(format!("<{key}@readout>")))
            .header(if email.html {
                ContentType::TEXT_HTML
            } else {
                ContentType::TEXT_PLAIN
            });
        for to in &email.to {
            let mailbox: Mailbox = to
                .parse()
                .map_err(|e| Failure::permanent(format!("recipient {to:?}: {e}")))?;
            builder = builder.to(mailbox);
        }
        let message = builder
            .body(email.body.clone())
            .map_err(|e| Failure::permanent(format!("cannot build the email: {e}")))?;
        match self.transport.send(message).await {
            Ok(response) => Ok(Sent {
                status_code: Some(u16::from(response.code())),
            }),
            // A 5xx answer, or a relay that lacks what the URL asks for
            // (STARTTLS, a login mechanism): retrying cannot help.
            Err(e) if e.is_permanent() || e.is_client() => {
                Err(Failure::permanent(format!("SMTP: {e}")))
            }
            Err(e) => Err(Failure::transient(format!("SMTP: {e}"))),
        }
    }
}
