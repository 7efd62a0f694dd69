//! The alerts page: the workspace's open incidents (acknowledge stops their
//! repeats), recent history, the delivery log of its notifications, and
//! for owners and admins the channels with a "send test" button. Channels
//! and routes are the server's (the operator's) until workspaces own them,
//! so members below admin do not see them.

use std::collections::HashSet;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use readout_notify::context::{unit_of, value_text};
use readout_storage::{Database, DbError, Incident, NotificationRow, Role, SessionUser};
use serde::{Deserialize, Serialize};

use super::outputs::when;
use super::pages::{CsrfForm, failed, forbidden, not_allowed};
use super::{Viewer, csrf_ok, same_origin};
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct IncidentRow {
    id: i64,
    host_id: String,
    host: String,
    /// The variable, or that the host went silent.
    what: String,
    state: String,
    value: Option<String>,
    since: String,
    resolved: Option<String>,
    acknowledged: Option<String>,
}

fn incident_row(i: &Incident) -> IncidentRow {
    IncidentRow {
        id: i.id,
        host_id: i.host_id.clone(),
        host: i.host_name.clone(),
        what: if i.variable.is_empty() {
            "no cycles (silent)".into()
        } else {
            i.variable.clone()
        },
        state: i.state.clone(),
        value: i.value.map(|v| value_text(Some(v), unit_of(&i.variable))),
        since: when(i.opened_at_ms),
        resolved: i.resolved_at_ms.map(when),
        acknowledged: i.acknowledged_by.as_ref().map(|by| {
            format!(
                "{by}, {}",
                i.acknowledged_at_ms.map(when).unwrap_or_default()
            )
        }),
    }
}

#[derive(Debug, Serialize)]
struct DeliveryRow {
    id: i64,
    at: String,
    host: String,
    channel: String,
    kind: String,
    status: String,
    attempts: i32,
    last_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct AlertsQuery {
    #[serde(default)]
    tested: Option<String>,
}

fn is_admin(user: &SessionUser) -> bool {
    user.role.0 <= Role::Admin
}

pub(super) async fn page<D: Database>(
    State(state): State<AppState<D>>,
    Viewer(user): Viewer,
    Query(query): Query<AlertsQuery>,
) -> Response {
    let (hosts, open, recent, notifications, channels) = match tokio::try_join!(
        state.db.hosts_of(&user.workspace_id),
        state.db.incidents(true, None, 1000),
        state.db.incidents(false, None, 300),
        state.db.notifications(None, 300),
        state.db.channels()
    ) {
        Ok(all) => all,
        Err(e) => return failed("reading alerts", e),
    };
    let ours: HashSet<&str> = hosts.iter().map(|h| h.id.as_str()).collect();
    let open: Vec<IncidentRow> = open
        .iter()
        .filter(|i| ours.contains(i.host_id.as_str()))
        .map(incident_row)
        .collect();
    let history: Vec<IncidentRow> = recent
        .iter()
        .filter(|i| ours.contains(i.host_id.as_str()) && i.resolved_at_ms.is_some())
        .take(100)
        .map(incident_row)
        .collect();
    let admin = is_admin(&user);
    let channel_name = |id: &str| {
        channels
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| id.to_owned(), |c| c.name.clone())
    };
    // A test notice names no host: the operator's, shown to admins.
    let delivery: Vec<DeliveryRow> = notifications
        .iter()
        .filter(|n: &&NotificationRow| match &n.host_id {
            Some(h) => ours.contains(h.as_str()),
            None => admin,
        })
        .take(100)
        .map(|n| DeliveryRow {
            id: n.id,
            at: when(n.created_at_ms),
            host: n.notice.0.host_name.clone(),
            channel: channel_name(&n.channel_id),
            kind: format!("{:?}", n.notice.0.kind).to_lowercase(),
            status: n.status.clone(),
            attempts: n.attempts,
            last_error: n.last_error.clone(),
        })
        .collect();
    let channels: Vec<_> = if admin {
        channels
            .iter()
            .map(|c| {
                let kind = serde_json::from_str::<serde_json::Value>(&c.config_json)
                    .ok()
                    .and_then(|v| {
                        let preset = v["preset"].as_str().map(str::to_owned);
                        preset.or_else(|| v["kind"].as_str().map(str::to_owned))
                    })
                    .unwrap_or_default();
                minijinja::context! { id => c.id.as_str(), name => c.name.as_str(), kind => kind }
            })
            .collect()
    } else {
        Vec::new()
    };
    let tested = query.tested.as_deref().map(channel_name);
    state.web.render(
        "alerts.html",
        Some(&user),
        minijinja::context! {
            page => "alerts", open => minijinja::value::Serde(&open),
            history => minijinja::value::Serde(&history), delivery => minijinja::value::Serde(&delivery),
            channels => channels, admin => admin, can_edit => user.role.0.can_edit(), tested => tested,
        },
    )
}

/// One incident of the workspace with its history of counted changes.
pub(super) async fn incident<D: Database>(
    State(state): State<AppState<D>>,
    Viewer(user): Viewer,
    Path(iid): Path<i64>,
) -> Response {
    let (incident, events) = match state.db.incident(iid).await {
        Ok(found) => found,
        Err(DbError::NotFound) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return failed("reading an incident", e),
    };
    match super::dashboard::host_in(&state, &user, &incident.host_id).await {
        Ok(Some(_)) => {}
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return failed("reading a host", e),
    }
    let unit = unit_of(&incident.variable);
    let events: Vec<_> = events
        .iter()
        .map(|e| {
            minijinja::context! {
                at => when(e.at_ms), from => e.from_state.as_str(), to => e.to_state.as_str(),
                value => e.value.map(|v| value_text(Some(v), unit)),
            }
        })
        .collect();
    state.web.render(
        "incident.html",
        Some(&user),
        minijinja::context! {
            page => "alerts", incident => minijinja::value::Serde(&incident_row(&incident)),
            events => events, can_edit => user.role.0.can_edit(),
        },
    )
}

/// Acknowledges an open incident of the workspace, as the signed-in user.
pub(super) async fn acknowledge<D: Database>(
    State(state): State<AppState<D>>,
    Viewer(user): Viewer,
    headers: HeaderMap,
    Path(iid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_origin(&headers) || !csrf_ok(&user, &form.csrf) {
        return forbidden();
    }
    if !user.role.0.can_edit() {
        return not_allowed();
    }
    let incident = match state.db.incident(iid).await {
        Ok((incident, _)) => incident,
        Err(DbError::NotFound) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return failed("reading an incident", e),
    };
    match super::dashboard::host_in(&state, &user, &incident.host_id).await {
        Ok(Some(_)) => {}
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return failed("reading a host", e),
    }
    match state.db.acknowledge(iid, &user.name, crate::now_ms()).await {
        Ok(()) => Redirect::to("/alerts").into_response(),
        // Resolved meanwhile: nothing left to acknowledge.
        Err(DbError::NotFound | DbError::Conflict(_)) => Redirect::to("/alerts").into_response(),
        Err(e) => failed("acknowledging", e),
    }
}

/// Queues a test notification on a channel (owners and admins).
pub(super) async fn test_channel<D: Database>(
    State(state): State<AppState<D>>,
    Viewer(user): Viewer,
    headers: HeaderMap,
    Path(cid): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_origin(&headers) || !csrf_ok(&user, &form.csrf) {
        return forbidden();
    }
    if !is_admin(&user) {
        return not_allowed();
    }
    let notice = crate::delivery::sample_notice(readout_alerting::route::NoticeKind::Test);
    match state.db.enqueue(&cid, &notice, crate::now_ms()).await {
        Ok(_) => Redirect::to(&format!("/alerts?tested={}", urlencode(&cid))).into_response(),
        Err(DbError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failed("queueing a test", e),
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
