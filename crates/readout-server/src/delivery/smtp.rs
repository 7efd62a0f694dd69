//! Email through the configured SMTP relay.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use readout_notify::Email;

use super::{Failure, Sent};

#[derive(Debug, Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `url`: `smtp://`, `smtp://…?tls=required` or `smtps://`, as lettre reads it.
    pub fn new(url: &str, from: &str, timeout: Duration) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("alerts.smtp_url is not usable: {e}"))?
            .timeout(Some(timeout))
            .build();
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
            Err(e) if e.is_permanent() => Err(Failure::permanent(format!("SMTP: {e}"))),
            Err(e) => Err(Failure::transient(format!("SMTP: {e}"))),
        }
    }
}
