//! Alert rules, incidents, maintenance windows, channels, routes and the
//! delivery log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use readout_alerting::Rule;
use readout_alerting::route::NoticeKind;
use readout_alerting::window::Window;
use readout_app::channels::{self, ChannelSpec, RouteSpec, Saving};
use readout_app::{Actor, alerting};
use readout_notify::ChannelConfig;
use readout_storage::{
    Attempt, ChannelRow, Database, Incident, IncidentEvent, NotificationRow, RouteRow, RuleStatus,
    WindowRow,
};
use serde::{Deserialize, Serialize};

use super::api::live_host;
use crate::errors::{ApiError, Caller, JsonBody, QueryParams, not_found};
use crate::state::AppState;

fn new_id(prefix: &str) -> Result<String, ApiError> {
    crate::keys::new_id(prefix).map_err(|e| {
        tracing::error!(error = %e, "cannot make an id");
        ApiError::internal()
    })
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
    Caller(actor): Caller,
    Path(iid): Path<i64>,
    JsonBody(body): JsonBody<AckBody>,
) -> Result<Json<IncidentDetail>, ApiError> {
    alerting::acknowledge(&actor, &state.db, iid, &body.by, crate::now_ms()).await?;
    get_incident(State(state), Path(iid)).await
}

pub async fn list_windows<D: Database>(
    State(state): State<AppState<D>>,
) -> Result<Json<Vec<WindowRow>>, ApiError> {
    Ok(Json(state.db.windows().await?))
}

pub async fn create_window<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    JsonBody(window): JsonBody<Window>,
) -> Result<(StatusCode, Json<WindowRow>), ApiError> {
    let id = new_id("mw_")?;
    let row = alerting::add_window(&actor, &state.db, &id, window, crate::now_ms()).await?;
    Ok((StatusCode::CREATED, Json(row)))
}

pub async fn delete_window<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    Path(wid): Path<String>,
) -> Result<StatusCode, ApiError> {
    alerting::remove_window(&actor, &state.db, &wid).await?;
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

pub async fn list_channels<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
) -> Result<Json<Vec<Channel>>, ApiError> {
    let rows = channels::channels(&actor, &state.db).await?;
    Ok(Json(
        rows.into_iter().map(channel).collect::<Result<_, _>>()?,
    ))
}

pub async fn create_channel<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    JsonBody(spec): JsonBody<ChannelSpec>,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    let id = new_id("ch_")?;
    let saved = save_channel(&state, &actor, Saving::New(&id), &spec).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

async fn save_channel<D: Database>(
    state: &AppState<D>,
    actor: &Actor,
    saving: Saving<'_>,
    spec: &ChannelSpec,
) -> Result<Channel, ApiError> {
    let now = crate::now_ms();
    channel(channels::save_channel(actor, &state.db, &*state.delivery, saving, spec, now).await?)
}

pub async fn get_channel<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    Path(cid): Path<String>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(channel(
        channels::channel(&actor, &state.db, &cid).await?,
    )?))
}

pub async fn update_channel<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    Path(cid): Path<String>,
    JsonBody(spec): JsonBody<ChannelSpec>,
) -> Result<Json<Channel>, ApiError> {
    let saved = save_channel(&state, &actor, Saving::Existing(&cid), &spec).await?;
    Ok(Json(saved))
}

pub async fn delete_channel<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    Path(cid): Path<String>,
) -> Result<StatusCode, ApiError> {
    channels::remove_channel(&actor, &state.db, &cid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub struct Queued {
    notification_id: i64,
}

/// Queues a sample notice to the channel; its delivery shows in the log.
pub async fn test_channel<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    Path(cid): Path<String>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let notice = crate::delivery::sample_notice(NoticeKind::Test);
    let id = channels::test_channel(&actor, &state.db, &cid, &notice, crate::now_ms()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Queued {
            notification_id: id,
        }),
    ))
}

pub async fn list_routes<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
) -> Result<Json<Vec<RouteRow>>, ApiError> {
    Ok(Json(channels::routes(&actor, &state.db).await?))
}

pub async fn create_route<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    JsonBody(spec): JsonBody<RouteSpec>,
) -> Result<(StatusCode, Json<RouteRow>), ApiError> {
    let id = new_id("rt_")?;
    let row = channels::save_route(&actor, &state.db, Saving::New(&id), &spec, crate::now_ms());
    Ok((StatusCode::CREATED, Json(row.await?)))
}

pub async fn update_route<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    Path(rid): Path<String>,
    JsonBody(spec): JsonBody<RouteSpec>,
) -> Result<Json<RouteRow>, ApiError> {
    let saving = Saving::Existing(&rid);
    let row = channels::save_route(&actor, &state.db, saving, &spec, crate::now_ms());
    Ok(Json(row.await?))
}

pub async fn delete_route<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    Path(rid): Path<String>,
) -> Result<StatusCode, ApiError> {
    channels::remove_route(&actor, &state.db, &rid).await?;
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
