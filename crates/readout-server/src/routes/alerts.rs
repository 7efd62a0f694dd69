//! Alert rules, incidents, maintenance windows, channels, routes and the
//! delivery log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use readout_alerting::Rule;
use readout_alerting::route::{NoticeKind, Route};
use readout_alerting::window::Window;
use readout_notify::ChannelConfig;
use readout_storage::{
    Attempt, ChannelRow, Database, Incident, IncidentEvent, NotificationRow, RouteRow, RuleStatus,
    WindowRow,
};
use serde::{Deserialize, Serialize};

use super::api::live_host;
use crate::errors::{ApiError, JsonBody, QueryParams, not_found};
use crate::state::AppState;

fn new_id(prefix: &str) -> Result<String, ApiError> {
    crate::keys::new_id(prefix).map_err(|e| {
        tracing::error!(error = %e, "cannot make an id");
        ApiError::internal()
    })
}

fn check_name(name: &str, what: &str) -> Result<String, ApiError> {
    readout_app::Name::parse(name)
        .map(readout_app::Name::into_string)
        .map_err(|e| ApiError::bad_request(format!("{what}: {e}")))
}

#[derive(Debug, Serialize)]
pub struct HostAlerts {
    /// `SILENT` while the host sends nothing; `OK` or absent otherwise.
    host_state: Option<String>,
    rules: Vec<RuleStatus>,
}

pub async fn list_rules<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
) -> Result<Json<HostAlerts>, ApiError> {
    live_host(&state.db, &id).await?;
    let (host_state, rules) = state.db.alert_rules(&id).await?;
    Ok(Json(HostAlerts { host_state, rules }))
}

/// A rule; "held for N minutes" may be given in minutes instead of cycles.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    #[serde(flatten)]
    rule: Rule,
    #[serde(default)]
    trigger_after_minutes: Option<u32>,
    #[serde(default)]
    recover_after_minutes: Option<u32>,
}

pub async fn put_rule<D: Database>(
    State(state): State<AppState<D>>,
    Path((id, variable)): Path<(String, String)>,
    JsonBody(body): JsonBody<RuleBody>,
) -> Result<Json<Rule>, ApiError> {
    let host = live_host(&state.db, &id).await?;
    let interval = u32::try_from(host.interval_secs).unwrap_or(60);
    let mut rule = body.rule;
    if let Some(minutes) = body.trigger_after_minutes {
        rule.trigger_after = readout_alerting::cycles_for(minutes, interval);
    }
    if let Some(minutes) = body.recover_after_minutes {
        rule.recover_after = readout_alerting::cycles_for(minutes, interval);
    }
    if variable.is_empty() {
        return Err(ApiError::bad_request("a rule needs a variable name"));
    }
    rule.check()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    state
        .db
        .put_alert_rule(&id, &variable, &rule, crate::now_ms())
        .await?;
    Ok(Json(rule))
}

pub async fn delete_rule<D: Database>(
    State(state): State<AppState<D>>,
    Path((id, variable)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    live_host(&state.db, &id).await?;
    let done = state
        .db
        .delete_alert_rule(&id, &variable, crate::now_ms())
        .await;
    done.map_err(not_found(format!("alert rule for {variable}")))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    #[serde(default)]
    open: bool,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

pub async fn list_incidents<D: Database>(
    State(state): State<AppState<D>>,
    QueryParams(q): QueryParams<IncidentQuery>,
) -> Result<Json<Vec<Incident>>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        state
            .db
            .incidents(q.open, q.host.as_deref(), None, limit)
            .await?,
    ))
}

#[derive(Debug, Serialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    incident: Incident,
    events: Vec<IncidentEvent>,
}

pub async fn get_incident<D: Database>(
    State(state): State<AppState<D>>,
    Path(iid): Path<i64>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let (incident, events) = state
        .db
        .incident(iid)
        .await
        .map_err(not_found(format!("incident {iid}")))?;
    Ok(Json(IncidentDetail { incident, events }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// Who acknowledged (shown with the incident).
    by: String,
}

pub async fn acknowledge<D: Database>(
    State(state): State<AppState<D>>,
    Path(iid): Path<i64>,
    JsonBody(body): JsonBody<AckBody>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let by = check_name(&body.by, "who acknowledges")?;
    state
        .db
        .acknowledge(iid, &by, crate::now_ms())
        .await
        .map_err(not_found(format!("incident {iid}")))?;
    get_incident(State(state), Path(iid)).await
}

pub async fn list_windows<D: Database>(
    State(state): State<AppState<D>>,
) -> Result<Json<Vec<WindowRow>>, ApiError> {
    Ok(Json(state.db.windows().await?))
}

pub async fn create_window<D: Database>(
    State(state): State<AppState<D>>,
    JsonBody(window): JsonBody<Window>,
) -> Result<(StatusCode, Json<WindowRow>), ApiError> {
    window
        .check()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Some(host) = &window.host {
        live_host(&state.db, host).await?;
    }
    let id = new_id("mw_")?;
    let now = crate::now_ms();
    state.db.put_window(&id, &window, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(WindowRow {
            id,
            window: readout_storage::JsonText(window),
            created_at_ms: now,
        }),
    ))
}

pub async fn delete_window<D: Database>(
    State(state): State<AppState<D>>,
    Path(wid): Path<String>,
) -> Result<StatusCode, ApiError> {
    let done = state.db.delete_window(&wid).await;
    done.map_err(not_found(format!("maintenance window {wid}")))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A channel as the API shows it.
#[derive(Debug, Serialize)]
pub struct Channel {
    id: String,
    /// The workspace that keeps it; none: the operator's.
    workspace_id: Option<String>,
    name: String,
    #[serde(flatten)]
    config: ChannelConfig,
    created_at_ms: i64,
    updated_at_ms: i64,
}

fn channel(row: ChannelRow) -> Result<Channel, ApiError> {
    let config = serde_json::from_str(&row.config_json).map_err(|e| {
        tracing::error!(channel = %row.id, error = %e, "stored channel is unreadable");
        ApiError::internal()
    })?;
    Ok(Channel {
        id: row.id,
        workspace_id: row.workspace_id,
        name: row.name,
        config,
        created_at_ms: row.created_at_ms,
        updated_at_ms: row.updated_at_ms,
    })
}

#[derive(Debug, Deserialize)]
pub struct ChannelBody {
    pub name: String,
    #[serde(flatten)]
    pub config: ChannelConfig,
}

/// Checks and stores a channel; a new one belongs to `workspace` (none:
/// the operator's).
pub(crate) async fn save_channel<D: Database>(
    state: &AppState<D>,
    id: &str,
    workspace: Option<&str>,
    body: ChannelBody,
) -> Result<Channel, ApiError> {
    let name = check_name(&body.name, "the channel")?;
    state
        .delivery
        .check_channel(&body.config)
        .await
        .map_err(ApiError::bad_request)?;
    let json = readout_storage::json_text(&body.config);
    state
        .db
        .put_channel(id, workspace, &name, &json, crate::now_ms())
        .await?;
    channel(state.db.channel(id).await?)
}

pub async fn list_channels<D: Database>(
    State(state): State<AppState<D>>,
) -> Result<Json<Vec<Channel>>, ApiError> {
    let rows = state.db.channels().await?;
    Ok(Json(
        rows.into_iter().map(channel).collect::<Result<_, _>>()?,
    ))
}

pub async fn create_channel<D: Database>(
    State(state): State<AppState<D>>,
    JsonBody(body): JsonBody<ChannelBody>,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    let id = new_id("ch_")?;
    Ok((
        StatusCode::CREATED,
        Json(save_channel(&state, &id, None, body).await?),
    ))
}

pub async fn get_channel<D: Database>(
    State(state): State<AppState<D>>,
    Path(cid): Path<String>,
) -> Result<Json<Channel>, ApiError> {
    let row = state
        .db
        .channel(&cid)
        .await
        .map_err(not_found(format!("channel {cid}")))?;
    Ok(Json(channel(row)?))
}

pub async fn update_channel<D: Database>(
    State(state): State<AppState<D>>,
    Path(cid): Path<String>,
    JsonBody(body): JsonBody<ChannelBody>,
) -> Result<Json<Channel>, ApiError> {
    state
        .db
        .channel(&cid)
        .await
        .map_err(not_found(format!("channel {cid}")))?;
    Ok(Json(save_channel(&state, &cid, None, body).await?))
}

pub async fn delete_channel<D: Database>(
    State(state): State<AppState<D>>,
    Path(cid): Path<String>,
) -> Result<StatusCode, ApiError> {
    remove_channel(&state, &cid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a channel no route sends to.
pub(crate) async fn remove_channel<D: Database>(
    state: &AppState<D>,
    cid: &str,
) -> Result<(), ApiError> {
    let routes = state.db.routes().await?;
    let cid = cid.to_owned();
    if let Some(r) = routes.iter().find(|r| {
        r.route.0.channels.contains(&cid)
            || r.route
                .0
                .escalation
                .as_ref()
                .is_some_and(|e| e.channels.contains(&cid))
    }) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "route {:?} sends to this channel; change or delete it first",
                r.name
            ),
        ));
    }
    let done = state.db.delete_channel(&cid).await;
    done.map_err(not_found(format!("channel {cid}")))
}

#[derive(Debug, Serialize)]
pub struct Queued {
    notification_id: i64,
}

/// Queues a sample notice to the channel; its delivery shows in the log.
pub async fn test_channel<D: Database>(
    State(state): State<AppState<D>>,
    Path(cid): Path<String>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let notice = crate::delivery::sample_notice(NoticeKind::Test);
    let id = state
        .db
        .enqueue(&cid, &notice, crate::now_ms())
        .await
        .map_err(not_found(format!("channel {cid}")))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Queued {
            notification_id: id,
        }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct RouteBody {
    pub name: String,
    #[serde(flatten)]
    pub route: Route,
}

/// Checks and stores a route; a new one belongs to `workspace` (none: the
/// operator's). A workspace's route sends only to its own channels.
pub(crate) async fn save_route<D: Database>(
    state: &AppState<D>,
    id: &str,
    workspace: Option<&str>,
    body: RouteBody,
) -> Result<RouteRow, ApiError> {
    let name = check_name(&body.name, "the route")?;
    body.route
        .check()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let known = state.db.channels().await?;
    let escalation = body.route.escalation.iter().flat_map(|e| &e.channels);
    for cid in body.route.channels.iter().chain(escalation) {
        let usable = known.iter().any(|c| {
            &c.id == cid && (workspace.is_none() || c.workspace_id.as_deref() == workspace)
        });
        if !usable {
            return Err(ApiError::bad_request(format!(
                "no channel has the id {cid:?}"
            )));
        }
    }
    let now = crate::now_ms();
    state
        .db
        .put_route(id, workspace, &name, &body.route, now)
        .await?;
    let routes = state.db.routes().await?;
    routes
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(ApiError::internal)
}

pub async fn list_routes<D: Database>(
    State(state): State<AppState<D>>,
) -> Result<Json<Vec<RouteRow>>, ApiError> {
    Ok(Json(state.db.routes().await?))
}

pub async fn create_route<D: Database>(
    State(state): State<AppState<D>>,
    JsonBody(body): JsonBody<RouteBody>,
) -> Result<(StatusCode, Json<RouteRow>), ApiError> {
    let id = new_id("rt_")?;
    Ok((
        StatusCode::CREATED,
        Json(save_route(&state, &id, None, body).await?),
    ))
}

pub async fn update_route<D: Database>(
    State(state): State<AppState<D>>,
    Path(rid): Path<String>,
    JsonBody(body): JsonBody<RouteBody>,
) -> Result<Json<RouteRow>, ApiError> {
    if !state.db.routes().await?.iter().any(|r| r.id == rid) {
        return Err(ApiError::not_found(&format!("route {rid}")));
    }
    Ok(Json(save_route(&state, &rid, None, body).await?))
}

pub async fn delete_route<D: Database>(
    State(state): State<AppState<D>>,
    Path(rid): Path<String>,
) -> Result<StatusCode, ApiError> {
    let done = state.db.delete_route(&rid).await;
    done.map_err(not_found(format!("route {rid}")))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

pub async fn list_notifications<D: Database>(
    State(state): State<AppState<D>>,
    QueryParams(q): QueryParams<NotificationQuery>,
) -> Result<Json<Vec<NotificationRow>>, ApiError> {
    if let Some(s) = &q.status
        && !["pending", "delivered", "failed"].contains(&s.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "status {s:?} is not one of pending, delivered, failed"
        )));
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        state
            .db
            .notifications(q.status.as_deref(), None, limit)
            .await?,
    ))
}

#[derive(Debug, Serialize)]
pub struct NotificationDetail {
    #[serde(flatten)]
    notification: NotificationRow,
    attempts: Vec<Attempt>,
}

pub async fn get_notification<D: Database>(
    State(state): State<AppState<D>>,
    Path(nid): Path<i64>,
) -> Result<Json<NotificationDetail>, ApiError> {
    let (notification, attempts) = state
        .db
        .notification(nid)
        .await
        .map_err(not_found(format!("notification {nid}")))?;
    Ok(Json(NotificationDetail {
        notification,
        attempts,
    }))
}
