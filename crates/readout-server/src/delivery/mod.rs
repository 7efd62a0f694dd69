//! Notification delivery: a worker drains the outbox with retries and
//! exponential backoff, logging every attempt; a sweeper marks silent
//! hosts and queues repeats and escalations. Both run on every node: the
//! store's leases and conditional updates make each notification go out
//! from one node only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use readout_alerting::route::{Notice, NoticeEvent, NoticeKind};
use readout_alerting::{Range, State};
use readout_notify::{ChannelConfig, Context};
use readout_storage::{After, Attempt, Database, DbError, NotificationRow};
use tokio::sync::watch;

use crate::config::AlertsConfig;

mod http;
mod smtp;

pub use http::{Caller, check_url};
pub use smtp::Mailer;

/// Notifications one node takes at a time.
const BATCH: u32 = 16;
/// Sends in flight at once on one node (each holds a connection).
const MAX_IN_FLIGHT: usize = 256;
/// How often an idle worker looks for due notifications.
const POLL: Duration = Duration::from_millis(500);

/// A receiver accepted the notification.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub status_code: Option<u16>,
}

/// A failed attempt; a permanent one is not retried.
#[derive(Debug, Clone)]
pub struct Failure {
    pub message: String,
    pub permanent: bool,
    pub status_code: Option<u16>,
}

impl Failure {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
            status_code: None,
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            ..Self::permanent(message)
        }
    }

    fn with_status(mut self, code: u16) -> Self {
        self.status_code = Some(code);
        self
    }
}

/// When to try again: `first_ms`, doubling each time, at most `max_ms`;
/// after `max_attempts` the notification is given up.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub first_ms: u64,
    pub max_ms: u64,
    pub max_attempts: u32,
}

impl Retry {
    /// What follows failed attempt number `attempt` (1-based) made at `now_ms`.
    pub fn after(&self, attempt: u32, now_ms: i64) -> After {
        if attempt >= self.max_attempts {
            return After::GiveUp;
        }
        let factor = 1u64 << attempt.saturating_sub(1).min(32);
        let delay = self.first_ms.saturating_mul(factor).min(self.max_ms);
        After::RetryAt(now_ms.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX)))
    }
}

/// Everything a node needs to send.
#[derive(Debug)]
pub struct Delivery {
    pub caller: Caller,
    pub mailer: Option<Mailer>,
    pub node: String,
    pub public_url: String,
    pub retry: Retry,
    /// How long a claimed notification stays this node's.
    pub lease_ms: i64,
    /// One attempt at most, whatever the receiver does (SMTP's own timeout
    /// is per read, so a relay that drips would outlast it).
    pub send_timeout: Duration,
}

impl Delivery {
    pub fn new(config: &AlertsConfig, public_url: String) -> anyhow::Result<Self> {
        let allowed = readout_notify::target::parse_allowed(&config.allow_networks)
            .map_err(|e| anyhow::anyhow!("alerts.allow_networks: {e}"))?;
        let timeout = Duration::from_secs(u64::from(config.send_timeout_secs));
        let mailer = if config.smtp_url.is_empty() {
            None
        } else {
            Some(Mailer::new(config, timeout)?)
        };
        Ok(Self {
            caller: Caller::new(allowed, timeout)?,
            mailer,
            node: crate::keys::new_id("n_")?,
            public_url,
            retry: Retry {
                first_ms: config.retry_first_ms,
                max_ms: config.retry_max_ms,
                max_attempts: config.max_attempts,
            },
            // A send is cut at the timeout; the margin covers rendering and
            // recording. A node that dies mid-send holds its channel this long.
            lease_ms: i64::from(config.send_timeout_secs) * 1000 + 15_000,
            send_timeout: timeout,
        })
    }

    /// Renders and sends one notification through its channel.
    async fn send<D: Database>(&self, db: &D, row: &NotificationRow) -> Result<Sent, Failure> {
        let channel = db.channel(&row.channel_id).await.map_err(|e| match e {
            DbError::NotFound => Failure::permanent("the channel was deleted"),
            other => Failure::transient(format!("storage: {other}")),
        })?;
        let config: ChannelConfig = serde_json::from_str(&channel.config_json)
            .map_err(|e| Failure::permanent(format!("channel configuration: {e}")))?;
        let key = format!("readout-notification-{}", row.id);
        match config {
            ChannelConfig::Email(email) => {
                let ctx =
                    readout_notify::context(&row.notice.0, &self.public_url, &BTreeMap::new());
                let email = email.render(&ctx).map_err(|e| Failure::permanent(e.0))?;
                let mailer = self.mailer.as_ref().ok_or_else(|| {
                    Failure::transient("no SMTP relay: set alerts.smtp_url in the server config")
                })?;
                mailer.send(&email, &key).await
            }
            ChannelConfig::Webhook(hook) => {
                let ctx = readout_notify::context(&row.notice.0, &self.public_url, &hook.params);
                let call = hook
                    .call()
                    .and_then(|t| t.render(&ctx))
                    .map_err(|e| Failure::permanent(e.0))?;
                self.caller.call(&call, &key).await
            }
        }
    }
}

impl readout_app::channels::ChannelCheck for Delivery {
    /// Checks a channel before it is saved: templates render a sample, the
    /// webhook's address may be reached, email has a relay.
    async fn check(&self, config: &ChannelConfig) -> Result<(), String> {
        let sample = sample_context(&self.public_url);
        config.check(&sample).map_err(|e| e.0)?;
        match config {
            ChannelConfig::Email(_) if self.mailer.is_none() => Err(
                "email channels need an SMTP relay: set alerts.smtp_url in the server config"
                    .into(),
            ),
            ChannelConfig::Email(_) => Ok(()),
            ChannelConfig::Webhook(hook) => {
                let mut ctx = sample;
                ctx.params.clone_from(&hook.params);
                let call = hook.call().and_then(|t| t.render(&ctx)).map_err(|e| e.0)?;
                check_url(&call.url, self.caller.allowed()).await
            }
        }
    }
}

/// What "send test" sends, and what channels are checked against.
pub fn sample_notice(kind: NoticeKind) -> Notice {
    Notice {
        kind,
        host_id: String::new(),
        host_name: "readout".to_owned(),
        at_ms: crate::now_ms(),
        events: vec![NoticeEvent {
            incident_id: 0,
            variable: "example_used_pct".to_owned(),
            from: State::Ok,
            to: State::Warning,
            value: Some(85.0),
            at_ms: crate::now_ms(),
            opened_at_ms: crate::now_ms(),
            warning: Some(Range::Above(80.0)),
            error: Some(Range::Above(90.0)),
        }],
        values: BTreeMap::new(),
    }
}

fn sample_context(public_url: &str) -> Context {
    readout_notify::context(
        &sample_notice(NoticeKind::Test),
        public_url,
        &BTreeMap::new(),
    )
}

/// Drains the outbox until `stop` turns true; in-flight sends finish first.
pub async fn deliver_loop<D: Database>(
    db: D,
    delivery: Arc<Delivery>,
    mut stop: watch::Receiver<bool>,
) {
    // Channels in parallel, and never waiting for each other: a claim
    // holds at most a channel's oldest pending notice (so a recovery never
    // overtakes the problem it ends), and a notice in flight keeps its
    // lease, so claiming again while a receiver hangs takes only other
    // channels' notices.
    let mut sends = tokio::task::JoinSet::new();
    while !*stop.borrow() {
        while sends.try_join_next().is_some() {}
        let room = MAX_IN_FLIGHT.saturating_sub(sends.len());
        if room > 0 {
            let limit = BATCH.min(u32::try_from(room).unwrap_or(BATCH));
            let claimed = db
                .claim_notifications(&delivery.node, crate::now_ms(), delivery.lease_ms, limit)
                .await;
            match claimed {
                Ok(rows) if !rows.is_empty() => {
                    for row in rows {
                        sends.spawn(deliver_one(db.clone(), Arc::clone(&delivery), row));
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "claiming notifications failed"),
            }
        }
        // A finished send may make its channel's next notice due.
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
            Some(_) = sends.join_next(), if !sends.is_empty() => {}
        }
    }
    // Sends in flight finish, so a receiver that answered is recorded.
    while sends.join_next().await.is_some() {}
}

async fn deliver_one<D: Database>(db: D, delivery: Arc<Delivery>, row: NotificationRow) {
    let at_ms = crate::now_ms();
    let started = Instant::now();
    let result = tokio::time::timeout(delivery.send_timeout, delivery.send(&db, &row))
        .await
        .unwrap_or_else(|_| {
            Err(Failure::transient(format!(
                "no answer within {} s",
                delivery.send_timeout.as_secs()
            )))
        });
    let number = row.attempts.saturating_add(1);
    let after = match &result {
        Ok(_) => After::Delivered,
        Err(f) if f.permanent => After::GiveUp,
        Err(_) => delivery
            .retry
            .after(u32::try_from(number).unwrap_or(u32::MAX), crate::now_ms()),
    };
    let (ok, status_code, error) = match result {
        Ok(sent) => (true, sent.status_code, None),
        Err(f) => (false, f.status_code, Some(f.message)),
    };
    let attempt = Attempt {
        attempt: number,
        at_ms,
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        node: delivery.node.clone(),
        ok,
        status_code: status_code.map(i32::from),
        error,
    };
    match after {
        After::Delivered => tracing::info!(
            notification = row.id,
            attempt = number,
            "notification delivered"
        ),
        After::RetryAt(at) => {
            tracing::warn!(notification = row.id, attempt = number, error = ?attempt.error, retry_in_ms = at - at_ms, "notification attempt failed");
        }
        After::GiveUp => {
            tracing::error!(notification = row.id, attempt = number, error = ?attempt.error, "notification given up");
        }
    }
    match db
        .record_attempt(row.id, &delivery.node, &attempt, after)
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            notification = row.id,
            "lease lost before the attempt was recorded"
        ),
        Err(e) => {
            tracing::error!(notification = row.id, error = %e, "recording a delivery attempt failed");
        }
    }
}

/// Marks silent hosts and queues due follow-ups, every `every`.
pub async fn sweep_loop<D: Database>(db: D, every: Duration, silent_after_ms: i64) {
    let listening_since = crate::now_ms();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match db
            .sweep_alerts(crate::now_ms(), silent_after_ms, listening_since)
            .await
        {
            Ok(report) if report.silenced > 0 || report.notifications > 0 => tracing::info!(
                silenced = report.silenced,
                notifications = report.notifications,
                "alert sweep"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "alert sweep failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_then_gives_up() {
        let retry = Retry {
            first_ms: 1000,
            max_ms: 5000,
            max_attempts: 5,
        };
        assert_eq!(retry.after(1, 0), After::RetryAt(1000));
        assert_eq!(retry.after(2, 0), After::RetryAt(2000));
        assert_eq!(retry.after(3, 0), After::RetryAt(4000));
        assert_eq!(retry.after(4, 0), After::RetryAt(5000));
        assert_eq!(retry.after(5, 0), After::GiveUp);
    }
}
