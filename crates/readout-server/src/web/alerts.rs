//! The alerts page: the workspace's open incidents (acknowledge stops their
//! repeats), recent history, the delivery log of its notifications and its
//! maintenance windows; for owners and admins its channels and routes too
//! (see `channels`).

use std::collections::{BTreeMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use readout_alerting::window::{Schedule, Window};
use readout_notify::context::{unit_of, value_text};
use readout_storage::{Database, DbError, Incident, NotificationRow, SessionUser};
use serde::{Deserialize, Serialize};

use super::outputs::when;
use super::pages::failed;
use super::{Change, NoFields, PageError, Viewer};
use crate::state::AppState;
use readout_app::{AppError, alerting, hosts};

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
    /// A channel or route of the workspace to edit.
    #[serde(default)]
    edit_channel: Option<String>,
    #[serde(default)]
    edit_route: Option<String>,
}

pub(super) async fn page<D: Database>(
    State(state): State<AppState<D>>,
    Viewer(user): Viewer,
    Query(query): Query<AlertsQuery>,
) -> Response {
    let filled = match (&query.edit_channel, &query.edit_route) {
        (Some(cid), _) => super::channels::channel_form(&state, &user, cid).await,
        (None, Some(rid)) => super::channels::route_form(&state, &user, rid).await,
        (None, None) => Ok(None),
    };
    match filled {
        Ok(filled) => render(&state, &user, query.tested.as_deref(), filled).await,
        Err(page) => page.into_response(),
    }
}

/// A form's fields, in order (a checkbox list repeats its name).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub(super) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(super) fn push(&mut self, key: &str, value: impl Into<String>) {
        self.0.push((key.to_owned(), value.into()));
    }

    /// The field's value, trimmed; empty if absent.
    pub(super) fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.trim())
    }

    /// Every value of a repeated field.
    pub(super) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A form the page shows filled in: after a refused change (the message
/// says why, above what was typed), or to edit a stored channel or route.
pub(super) struct Filled {
    section: &'static str,
    message: Option<String>,
    form: Fields,
    /// The channel or route the form saves over; none: it adds one.
    editing: Option<String>,
}

impl Filled {
    pub(super) fn refused(section: &'static str, message: String, form: Fields) -> Self {
        Self {
            section,
            message: Some(message),
            form,
            editing: None,
        }
    }

    /// The form of a stored channel or route, to change it.
    pub(super) fn editing(section: &'static str, id: &str, form: Fields) -> Self {
        Self {
            section,
            message: None,
            form,
            editing: Some(id.to_owned()),
        }
    }

    /// The same, refused again while editing `id`.
    pub(super) fn on(mut self, id: Option<&str>) -> Self {
        self.editing = id.map(str::to_owned);
        self
    }

    /// What was typed, but secrets, to fill the form in again.
    fn typed(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.form
            .0
            .iter()
            .filter(|(k, _)| k != "csrf" && !super::channels::is_secret(k))
            .cloned()
    }
}

/// The fields of a section's form: its defaults, or what a refused try typed.
fn typed(
    filled: Option<&Filled>,
    section: &str,
    defaults: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let mut fields: BTreeMap<String, String> = defaults
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    if let Some(filled) = filled.filter(|r| r.section == section) {
        fields.extend(filled.typed());
    }
    fields
}

/// A maintenance window's schedule, in a few words.
fn schedule_text(schedule: &Schedule) -> String {
    match schedule {
        Schedule::Once { from, to } => format!("from {from} to {to}"),
        Schedule::Weekly {
            days,
            start,
            end,
            time_zone,
        } => {
            let days: Vec<String> = days
                .iter()
                .map(|d| format!("{d:?}").to_lowercase())
                .collect();
            format!(
                "every {} {}–{} {time_zone}",
                days.join(", "),
                start.strftime("%H:%M"),
                end.strftime("%H:%M")
            )
        }
    }
}

pub(super) async fn render<D: Database>(
    state: &AppState<D>,
    user: &SessionUser,
    tested: Option<&str>,
    filled: Option<Filled>,
) -> Response {
    let (hosts, open, recent, notifications, channels, routes, windows) = match tokio::try_join!(
        state.db.hosts_of(&user.workspace_id),
        state
            .db
            .incidents(true, None, Some(&user.workspace_id), 1000),
        state
            .db
            .incidents(false, None, Some(&user.workspace_id), 300),
        state.db.notifications(None, Some(&user.workspace_id), 100),
        state.db.channels(),
        state.db.routes(),
        state.db.windows()
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
    let admin = super::actor(user).administers();
    let channel_name = |id: &str| {
        channels
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| id.to_owned(), |c| c.name.clone())
    };
    // A notice about one of our servers, or sent through one of our
    // channels (a test names no server).
    let our_channel = |id: &str| {
        channels
            .iter()
            .any(|c| c.id == id && c.workspace_id.as_deref() == Some(user.workspace_id.as_str()))
    };
    let delivery: Vec<DeliveryRow> = notifications
        .iter()
        .filter(|n: &&NotificationRow| {
            n.host_id
                .as_ref()
                .is_some_and(|h| ours.contains(h.as_str()))
                || our_channel(&n.channel_id)
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
    // Only a channel of this workspace (or the operator's) is named.
    let tested = tested
        .filter(|id| {
            channels.iter().any(|c| {
                c.id == *id
                    && c.workspace_id
                        .as_deref()
                        .is_none_or(|w| w == user.workspace_id)
            })
        })
        .map(channel_name);
    // Windows of the workspace's servers; one for every server is the operator's.
    let windows: Vec<_> = windows
        .iter()
        .filter_map(|w| {
            let host = hosts.iter().find(|h| Some(&h.id) == w.window.0.host.as_ref())?;
            Some(minijinja::context! {
                id => w.id.as_str(), host => host.name.as_str(),
                variable => w.window.0.variable.as_deref(), when => schedule_text(&w.window.0.schedule),
                comment => w.window.0.comment.as_str(),
            })
        })
        .collect();
    let servers: Vec<_> = hosts
        .iter()
        .map(|h| minijinja::context! { id => h.id.as_str(), name => h.name.as_str() })
        .collect();
    let mut response = state.web.render(
        "alerts.html",
        Some(user),
        minijinja::context! {
            page => "alerts", open => minijinja::value::Serde(&open),
            history => minijinja::value::Serde(&history), delivery => minijinja::value::Serde(&delivery),
            notify => super::channels::page_context(user, &channels, &routes),
            admin => admin, can_edit => super::actor(user).changes(), tested => tested,
            windows => windows, servers => servers,
            filled => filled.as_ref().map(|f| minijinja::context! {
                section => f.section, message => f.message.as_deref(), editing => f.editing.as_deref(),
            }),
            forms => minijinja::context! {
                channels => typed(filled.as_ref(), "channels", &[("kind", "email"), ("method", "POST")]),
                routes => typed(filled.as_ref(), "routes", &[("repeat_minutes", "240")]),
            },
            // Ticked boxes of a filled route form, as `name=value`.
            ticked => filled.as_ref().filter(|f| f.section == "routes")
                .map(|f| f.form.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>())
                .unwrap_or_default(),
        },
    );
    if filled.as_ref().is_some_and(|f| f.message.is_some()) {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

/// A local date and time from a form (`2026-12-06T02:00`) in `time_zone`.
fn instant(text: &str, time_zone: &str, what: &str) -> Result<jiff::Timestamp, String> {
    let zone = jiff::tz::TimeZone::get(time_zone).map_err(|_| {
        format!("unknown time zone {time_zone:?}; use an IANA name such as Europe/Vilnius")
    })?;
    let civil: jiff::civil::DateTime = text
        .parse()
        .map_err(|_| format!("{what}: {text:?} is not a date and time"))?;
    zone.to_timestamp(civil).map_err(|e| format!("{what}: {e}"))
}

/// The window a maintenance form describes, or what is wrong with it.
fn window_from(form: &Fields, host: &str) -> Result<Window, String> {
    let get = |key: &str| form.get(key);
    let time_zone = match get("time_zone") {
        "" => "UTC",
        zone => zone,
    };
    let schedule = match get("kind") {
        "once" => serde_json::json!({
            "kind": "once",
            "from": instant(get("from"), time_zone, "from")?,
            "to": instant(get("to"), time_zone, "to")?,
        }),
        "weekly" => serde_json::json!({
            "kind": "weekly",
            "days": form.all("days").collect::<Vec<_>>(),
            "start": get("start"), "end": get("end"), "time_zone": time_zone,
        }),
        _ => return Err("pick once or weekly".into()),
    };
    let variable = Some(get("variable")).filter(|v| !v.is_empty());
    let window: Window = serde_json::from_value(serde_json::json!({
        "host": host, "variable": variable, "schedule": schedule, "comment": get("comment"),
    }))
    .map_err(|e| format!("{e}"))?;
    window.check().map_err(|e| e.to_string())?;
    Ok(window)
}

/// Adds a maintenance window on one of the workspace's servers.
pub(super) async fn add_window<D: Database>(
    State(state): State<AppState<D>>,
    Change { user, form }: Change<Fields>,
) -> Result<Response, PageError> {
    let actor = super::actor(&user);
    actor.may_change()?;
    let window = match window_from(&form, form.get("host")) {
        Ok(window) => window,
        Err(why) => {
            let why = format!("Window not added: {why}.");
            let refused = Filled::refused("maintenance", why, form);
            return Ok(render(&state, &user, None, Some(refused)).await);
        }
    };
    let id = crate::keys::new_id("mw_").map_err(|e| PageError::internal("a window id", e))?;
    alerting::add_window(&actor, &state.db, &id, window, crate::now_ms()).await?;
    Ok(Redirect::to("/alerts#maintenance").into_response())
}

/// Removes a maintenance window of one of the workspace's servers.
pub(super) async fn delete_window<D: Database>(
    State(state): State<AppState<D>>,
    Path(wid): Path<String>,
    Change { user, .. }: Change<NoFields>,
) -> Result<Redirect, PageError> {
    alerting::remove_window(&super::actor(&user), &state.db, &wid).await?;
    Ok(Redirect::to("/alerts#maintenance"))
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
    if let Err(e) = hosts::host(&super::actor(&user), &state.db, &incident.host_id).await {
        return PageError::from(e).into_response();
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
            events => events, can_edit => super::actor(&user).changes(),
        },
    )
}

/// Acknowledges an open incident of the workspace, as the signed-in user.
pub(super) async fn acknowledge<D: Database>(
    State(state): State<AppState<D>>,
    Path(iid): Path<i64>,
    Change { user, .. }: Change<NoFields>,
) -> Result<Redirect, PageError> {
    let actor = super::actor(&user);
    match alerting::acknowledge(&actor, &state.db, iid, &user.name, crate::now_ms()).await {
        // Resolved meanwhile: nothing left to acknowledge.
        Ok(()) | Err(AppError::Conflict(_)) => Ok(Redirect::to("/alerts")),
        Err(e) => Err(e.into()),
    }
}
