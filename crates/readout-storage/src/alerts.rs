//! What the store keeps for alerts: rules and states, incidents, windows,
//! channels, routes, and the notification outbox with its delivery log.

use std::future::Future;

use readout_alerting::Rule;
use readout_alerting::route::{Notice, Route};
use readout_alerting::window::Window;
use serde::Serialize;

use crate::{DbError, JsonText};

/// A variable's rule with the state it is in.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RuleStatus {
    pub variable: String,
    #[sqlx(try_from = "String", rename = "rule_json")]
    pub rule: JsonText<Rule>,
    /// `None` until a cycle has been judged.
    pub state: Option<String>,
    pub value: Option<f64>,
    pub observed_at_ms: Option<i64>,
}

/// A problem of one variable (empty: the host's silence), from the first
/// counted change away from OK to the return to OK.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Incident {
    pub id: i64,
    pub host_id: String,
    pub host_name: String,
    pub variable: String,
    pub state: String,
    pub value: Option<f64>,
    pub opened_at_ms: i64,
    pub changed_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
    pub acknowledged_at_ms: Option<i64>,
    pub acknowledged_by: Option<String>,
}

/// One counted change of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct IncidentEvent {
    pub at_ms: i64,
    pub from_state: String,
    pub to_state: String,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct WindowRow {
    pub id: String,
    #[sqlx(try_from = "String", rename = "window_json")]
    #[serde(flatten)]
    pub window: JsonText<Window>,
    pub created_at_ms: i64,
}

/// A channel; its configuration is the server's to read.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: String,
    /// The workspace that keeps it; none: the operator's.
    pub workspace_id: Option<String>,
    pub name: String,
    pub config_json: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RouteRow {
    pub id: String,
    /// The workspace whose servers it routes; none: the operator's, for all.
    pub workspace_id: Option<String>,
    pub name: String,
    #[sqlx(try_from = "String", rename = "route_json")]
    #[serde(flatten)]
    pub route: JsonText<Route>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A notification of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub channel_id: String,
    pub route_id: Option<String>,
    pub host_id: Option<String>,
    #[sqlx(try_from = "String", rename = "notice_json")]
    pub notice: JsonText<Notice>,
    pub created_at_ms: i64,
    /// `pending`, `delivered` or `failed` (gave up).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at_ms: i64,
    pub delivered_at_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// One try at delivering a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Attempt {
    pub attempt: i32,
    pub at_ms: i64,
    pub duration_ms: i64,
    pub node: String,
    pub ok: bool,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

/// What happens to a notification after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Delivered,
    RetryAt(i64),
    GiveUp,
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub silenced: u32,
    pub notifications: u32,
}

/// Alert storage; every [`crate::Database`] implements it. Changes of state
/// caused by a cycle are written by `store_cycles`, in its transaction.
pub trait Alerts {
    /// The host's silence state and each rule with its variable's state.
    fn alert_rules(
        &self,
        host_id: &str,
    ) -> impl Future<Output = Result<(Option<String>, Vec<RuleStatus>), DbError>> + Send;

    fn put_alert_rule(
        &self,
        host_id: &str,
        variable: &str,
        rule: &Rule,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Drops a rule, its state, and closes its open incident without notice.
    fn delete_alert_rule(
        &self,
        host_id: &str,
        variable: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Incidents, newest first: open ones only, or all; of one host or
    /// all; of one workspace's hosts or every workspace's (filtered before
    /// the limit, so a busy workspace cannot push another's off).
    fn incidents(
        &self,
        open_only: bool,
        host_id: Option<&str>,
        workspace_id: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Incident>, DbError>> + Send;

    fn incident(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<(Incident, Vec<IncidentEvent>), DbError>> + Send;

    /// Sets how long a host may stay quiet before it is SILENT; `None`:
    /// the server's `alerts.silent_after_secs`.
    fn set_silent_after(
        &self,
        host_id: &str,
        secs: Option<i32>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Stops an open incident's repeats and escalation until it recovers.
    fn acknowledge(
        &self,
        id: i64,
        by: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn windows(&self) -> impl Future<Output = Result<Vec<WindowRow>, DbError>> + Send;

    fn put_window(
        &self,
        id: &str,
        window: &Window,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn delete_window(&self, id: &str) -> impl Future<Output = Result<(), DbError>> + Send;

    fn channels(&self) -> impl Future<Output = Result<Vec<ChannelRow>, DbError>> + Send;

    fn channel(&self, id: &str) -> impl Future<Output = Result<ChannelRow, DbError>> + Send;

    /// Creates or replaces a channel (names are unique within the owner).
    /// A new channel belongs to `workspace_id`; a replaced one keeps its owner.
    fn put_channel(
        &self,
        id: &str,
        workspace_id: Option<&str>,
        name: &str,
        config_json: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn delete_channel(&self, id: &str) -> impl Future<Output = Result<(), DbError>> + Send;

    fn routes(&self) -> impl Future<Output = Result<Vec<RouteRow>, DbError>> + Send;

    /// Creates or replaces a route (names are unique within the owner).
    /// A new route belongs to `workspace_id` and routes only its servers.
    fn put_route(
        &self,
        id: &str,
        workspace_id: Option<&str>,
        name: &str,
        route: &Route,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn delete_route(&self, id: &str) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Puts a notice in the outbox for one channel (a test); returns its id.
    fn enqueue(
        &self,
        channel_id: &str,
        notice: &Notice,
        at_ms: i64,
    ) -> impl Future<Output = Result<i64, DbError>> + Send;

    /// Leases up to `limit` due notifications to `node` until
    /// `now_ms + lease_ms`; no other node gets them meanwhile.
    fn claim_notifications(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<NotificationRow>, DbError>> + Send;

    /// Logs an attempt and moves the notification on, if `node` still
    /// holds its lease; returns whether it did.
    fn record_attempt(
        &self,
        id: i64,
        node: &str,
        attempt: &Attempt,
        after: After,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// The outbox, newest first; `status` narrows it, and `workspace_id`
    /// to notices about its servers or sent through its channels.
    fn notifications(
        &self,
        status: Option<&str>,
        workspace_id: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<NotificationRow>, DbError>> + Send;

    fn notification(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<(NotificationRow, Vec<Attempt>), DbError>> + Send;

    /// Marks hosts silent whose last cycle is older than their limit
    /// (`silent_after_ms` unless the host sets one), and queues what routes
    /// are due: notices held by closed windows, repeats, escalations.
    /// Until a limit has passed since `listening_since_ms` (when this node
    /// started taking cycles) nobody is silent: during an outage of the
    /// server the agents were spooling, not silent.
    fn sweep_alerts(
        &self,
        now_ms: i64,
        silent_after_ms: i64,
        listening_since_ms: i64,
    ) -> impl Future<Output = Result<SweepReport, DbError>> + Send;
}
