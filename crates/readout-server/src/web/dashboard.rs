//! A server's dashboard: chart and text panels on a grid (see
//! [`readout_app::layouts`]). The page carries both layouts, the desktop's and the
//! phone's, and `dashboard.js` draws the one that fits the screen.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, RawPathParams, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use readout_storage::{Database, Host, SeriesInfo, SessionUser};
use serde::Serialize;

use super::PageError;
use super::Viewer;
use super::pages::{failed, host_status};
use crate::state::AppState;
use readout_app::layouts::{self, Device, LayoutView, PanelKind, render_text};

/// A page's server: the path's `{id}`, in the signed-in user's workspace
/// (another workspace's looks the same as a missing one).
#[derive(Debug)]
pub(super) struct WorkspaceHost {
    pub user: SessionUser,
    pub host: Host,
}

impl<D: Database> FromRequestParts<AppState<D>> for WorkspaceHost {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<D>) -> Result<Self, Response> {
        let Viewer(user) = Viewer::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let id = params
            .iter()
            .find_map(|(key, value)| (key == "id").then_some(value))
            .unwrap_or_default();
        match readout_app::hosts::host(&super::actor(&user), &state.db, id).await {
            Ok(host) => Ok(Self { user, host }),
            Err(readout_app::AppError::NotFound(_)) => Err(not_found()),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

pub(super) fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such server in your workspace").into_response()
}

fn current_values(variables: &[SeriesInfo]) -> HashMap<&str, Option<f64>> {
    variables
        .iter()
        .map(|v| (v.name.as_str(), v.last_value))
        .collect()
}

/// What the page's script needs: both layouts, text panels already filled
/// in (keyed by their text), the host's variables for the panel editor.
#[derive(Debug, Serialize)]
struct PageData<'a> {
    host: &'a str,
    can_edit: bool,
    desktop: LayoutView,
    mobile: LayoutView,
    texts: HashMap<String, String>,
    variables: Vec<&'a str>,
}

pub(super) async fn server<D: Database>(
    State(state): State<AppState<D>>,
    WorkspaceHost { user, host }: WorkspaceHost,
) -> Response {
    let id = host.id.as_str();
    let (hosts, variables, incidents) = match tokio::try_join!(
        state.db.hosts_of(&user.workspace_id),
        state.db.series_list(id),
        state.db.incidents(true, Some(id), None, 1000)
    ) {
        Ok(all) => all,
        Err(e) => return failed("reading a dashboard", e),
    };
    let (desktop, mobile) = match tokio::try_join!(
        layouts::in_force(&state.db, id, Device::Desktop, &variables),
        layouts::in_force(&state.db, id, Device::Mobile, &variables)
    ) {
        Ok(both) => both,
        Err(e) => return failed("reading a layout", e),
    };
    let open: Vec<_> = incidents.iter().collect();
    let (status, problems) = host_status(&host, &open);
    let values = current_values(&variables);
    let texts = desktop
        .panels
        .iter()
        .chain(&mobile.panels)
        .filter(|p| p.kind == PanelKind::Text)
        .map(|p| (p.text.clone(), render_text(&p.text, &values)))
        .collect();
    let data = PageData {
        host: &host.id,
        can_edit: super::actor(&user).changes(),
        desktop,
        mobile,
        texts,
        variables: variables.iter().map(|v| v.name.as_str()).collect(),
    };
    let others: Vec<_> = hosts
        .iter()
        .map(|h| minijinja::context! { id => h.id.as_str(), name => h.name.as_str() })
        .collect();
    state.web.render(
        "server.html",
        Some(&user),
        minijinja::context! {
            page => "servers", tab => "dashboard", host => minijinja::value::Serde(&host), status => status,
            problems => problems, data => minijinja::value::Serde(&data), hosts => others,
            variables => variables.len(),
        },
    )
}

/// A text panel's text with current values, as plain text: the page puts
/// it in with `textContent`, and refreshes it every minute.
pub(super) async fn text<D: Database>(
    State(state): State<AppState<D>>,
    WorkspaceHost { host, .. }: WorkspaceHost,
    RawQuery(raw): RawQuery,
) -> Response {
    let text = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "t")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let variables = match state.db.series_list(&host.id).await {
        Ok(v) => v,
        Err(e) => return failed("reading values", e),
    };
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        render_text(&text, &current_values(&variables)),
    )
        .into_response()
}
