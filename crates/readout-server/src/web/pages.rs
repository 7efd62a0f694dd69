//! Page handlers: first run, login and logout, the servers list.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use readout_storage::series::RES_1H;
use readout_storage::{Database, Host, Incident, SessionUser};
use serde::{Deserialize, Serialize};

use super::accounts::{self, AddUserError, Signup};
use super::{Change, ClientAddr, NoFields, PageError, Submitted, Viewer, current_user};
use crate::state::AppState;
use readout_app::AppError;

/// Password work refused for being busy is a 503 the client may retry;
/// anything else is a failure.
pub(super) fn password_failed(what: &str, e: &accounts::PasswordError) -> Response {
    match e {
        accounts::PasswordError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "5")],
            e.to_string(),
        )
            .into_response(),
        accounts::PasswordError::Failed(e) => failed(what, e),
    }
}

pub(super) fn failed(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{what} failed");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// Where a visitor starts: first run, login, or their servers.
pub(super) async fn home<D: Database>(
    State(state): State<AppState<D>>,
    headers: HeaderMap,
) -> Response {
    match state.db.set_up().await {
        Ok(false) => Redirect::to("/setup").into_response(),
        Ok(true) if current_user(&state, &headers).await.is_some() => {
            Redirect::to("/servers").into_response()
        }
        Ok(true) => Redirect::to("/login").into_response(),
        Err(e) => failed("reading the setup state", e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    workspace: String,
}

fn setup_page<D: Database>(state: &AppState<D>, form: &SetupForm, error: Option<&str>) -> Response {
    let workspace = if form.workspace.is_empty() {
        "My servers"
    } else {
        form.workspace.as_str()
    };
    state.web.render(
        "setup.html",
        None,
        minijinja::context! {
            name => form.name.as_str(), email => form.email.as_str(), workspace => workspace,
            error => error, min_password => accounts::MIN_PASSWORD,
        },
    )
}

pub(super) async fn setup_form<D: Database>(State(state): State<AppState<D>>) -> Response {
    match state.db.set_up().await {
        Ok(true) => Redirect::to("/login").into_response(),
        Ok(false) => setup_page(&state, &SetupForm::default(), None),
        Err(e) => failed("reading the setup state", e),
    }
}

/// Creates the owner account and signs them in.
pub(super) async fn setup<D: Database>(
    State(state): State<AppState<D>>,
    Submitted(form): Submitted<SetupForm>,
) -> Response {
    // Once set up, this form makes nothing (and hashes nothing).
    match state.db.set_up().await {
        Ok(true) => return Redirect::to("/login").into_response(),
        Ok(false) => {}
        Err(e) => return failed("reading the setup state", e),
    }
    let workspace = match readout_app::Name::parse(&form.workspace) {
        Ok(workspace) => workspace,
        Err(e) => {
            let page = setup_page(&state, &form, Some(&format!("The workspace: {e}.")));
            return (StatusCode::BAD_REQUEST, page).into_response();
        }
    };
    let joining = match accounts::first_owner(&workspace) {
        Ok(joining) => joining,
        Err(e) => return failed("creating the owner", e),
    };
    let signup = Signup {
        email: &form.email,
        name: &form.name,
        password: &form.password,
    };
    match accounts::add_user(&state.db, &state.web.passwords, &signup, joining).await {
        Ok(user) => signed_in(&state, &user.id, None).await,
        Err(AddUserError::Invalid(why)) => (
            StatusCode::BAD_REQUEST,
            setup_page(&state, &form, Some(&why)),
        )
            .into_response(),
        Err(AddUserError::Password(e)) => password_failed("creating the owner", &e),
        Err(AddUserError::Other(e)) => failed("creating the owner", e),
    }
}

/// A new session's cookie, and on to the servers.
/// Starts a session (looking at `workspace`, if given) and goes to the
/// servers list.
pub(super) async fn signed_in<D: Database>(
    state: &AppState<D>,
    user_id: &str,
    workspace: Option<&str>,
) -> Response {
    let started = match accounts::start_session(&state.db, user_id).await {
        Ok(token) => match workspace {
            Some(w) => state
                .db
                .set_session_workspace(&crate::keys::hash_secret(&token), w)
                .await
                .map(|()| token)
                .map_err(anyhow::Error::from),
            None => Ok(token),
        },
        Err(e) => Err(e),
    };
    match started {
        Ok(token) => (
            [(SET_COOKIE, state.web.session_cookie(&token))],
            Redirect::to("/servers"),
        )
            .into_response(),
        Err(e) => failed("starting a session", e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn login_page<D: Database>(state: &AppState<D>, email: &str, error: Option<&str>) -> Response {
    state.web.render(
        "login.html",
        None,
        minijinja::context! { email => email, error => error },
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginQuery {
    /// Back from a password reset.
    #[serde(default)]
    reset: Option<String>,
}

pub(super) async fn login_form<D: Database>(
    State(state): State<AppState<D>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<LoginQuery>,
) -> Response {
    if current_user(&state, &headers).await.is_some() {
        return Redirect::to("/servers").into_response();
    }
    match state.db.set_up().await {
        Ok(false) => Redirect::to("/setup").into_response(),
        Ok(true) if query.reset.is_some() => state.web.render(
            "login.html",
            None,
            minijinja::context! { email => "", reset => true },
        ),
        Ok(true) => login_page(&state, "", None),
        Err(e) => failed("reading the setup state", e),
    }
}

/// Hashed once: a login for an unknown address costs as much as a wrong
/// password, so timing does not tell which addresses have accounts.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| accounts::hash_password("readout dummy password").unwrap_or_default())
}

pub(super) async fn login<D: Database>(
    State(state): State<AppState<D>>,
    ClientAddr(addr): ClientAddr,
    Submitted(form): Submitted<LoginForm>,
) -> Response {
    let email = form.email.trim().to_lowercase();
    let account = format!("account:{email}");
    let address = format!(
        "address:{}",
        addr.map(|a| a.to_string()).unwrap_or_default()
    );
    let keys = [account.as_str(), address.as_str()];
    if !state.web.limiter.attempt(&keys) {
        let page = login_page(
            &state,
            &form.email,
            Some("Too many failed logins: wait 15 minutes, or reset the password."),
        );
        return (StatusCode::TOO_MANY_REQUESTS, page).into_response();
    }
    let user = match state.db.user_by_email(&email).await {
        Ok(user) => user,
        Err(e) => return failed("looking up a user", e),
    };
    let stored = user
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    let matches = match state.web.passwords.matches(&form.password, &stored).await {
        Ok(matches) => matches,
        Err(e) => return password_failed("checking a password", &e),
    };
    match user {
        Some(user) if matches => {
            state.web.limiter.succeeded(&keys, &account);
            match state.db.memberships(&user.id).await {
                Ok(workspaces) if workspaces.is_empty() => {
                    let why = "Your account belongs to no workspace any more: ask an owner or admin to invite you.";
                    let page = login_page(&state, &form.email, Some(why));
                    (StatusCode::FORBIDDEN, page).into_response()
                }
                Ok(_) => signed_in(&state, &user.id, None).await,
                Err(e) => failed("listing workspaces", e),
            }
        }
        _ => {
            let page = login_page(&state, &form.email, Some("Wrong email or password."));
            (StatusCode::UNAUTHORIZED, page).into_response()
        }
    }
}

pub(super) async fn logout<D: Database>(
    State(state): State<AppState<D>>,
    headers: HeaderMap,
    _: Change<NoFields>,
) -> Response {
    if let Some(token) = crate::session::session_token(&headers) {
        let hash = crate::keys::hash_secret(&token);
        if let Err(e) = state.db.delete_session(&hash).await {
            return failed("ending a session", e);
        }
    }
    (
        [(SET_COOKIE, state.web.cleared_cookie())],
        Redirect::to("/login"),
    )
        .into_response()
}

/// One row of the servers list.
#[derive(Debug, Serialize)]
struct ServerRow {
    id: String,
    name: String,
    /// online, silent, alerting or waiting (no cycle yet).
    status: &'static str,
    problems: Option<String>,
    last_seen: Option<String>,
    last_seen_iso: Option<String>,
    agent_version: Option<String>,
    system: Option<String>,
}

/// online, silent, alerting or waiting (no cycle yet), and what is wrong
/// when alerting, from the host's open incidents.
pub(super) fn host_status(host: &Host, open: &[&Incident]) -> (&'static str, Option<String>) {
    let silent = open.iter().any(|i| i.variable.is_empty());
    let status = match (host.last_seen_at_ms, silent, open.len()) {
        (None, _, _) => "waiting",
        (_, true, _) => "silent",
        (_, false, 0) => "online",
        _ => "alerting",
    };
    let problems = (status == "alerting").then(|| match open {
        [one] => format!("{} {}", one.variable, one.state),
        _ => format!("{} problems", open.len()),
    });
    (status, problems)
}

/// The variable the servers list draws a day of for each host.
const SPARK_VARIABLE: &str = "load1";

/// A day of `load1` for every server of the workspace, in hourly averages:
/// `{"variable", "from_ms", "hosts": {id: [[bucket_ms, avg], …]}}`. Fetched
/// by the page after it shows, so the list itself renders at once.
pub(super) async fn sparklines<D: Database>(
    State(state): State<AppState<D>>,
    Viewer(user): Viewer,
) -> Response {
    let from_ms = crate::now_ms() - 24 * RES_1H;
    let points = match state
        .db
        .sparklines(&user.workspace_id, SPARK_VARIABLE, RES_1H, from_ms)
        .await
    {
        Ok(points) => points,
        Err(e) => return failed("reading sparklines", e),
    };
    let mut hosts: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for p in points {
        hosts
            .entry(p.host_id)
            .or_default()
            .push((p.bucket_ms, p.avg));
    }
    axum::Json(serde_json::json!({
        "variable": SPARK_VARIABLE, "from_ms": from_ms, "hosts": hosts,
    }))
    .into_response()
}

/// `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
fn ago(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

pub(super) async fn servers<D: Database>(
    State(state): State<AppState<D>>,
    Viewer(user): Viewer,
) -> Response {
    let (hosts, incidents) = match tokio::try_join!(
        state.db.hosts_of(&user.workspace_id),
        state
            .db
            .incidents(true, None, Some(&user.workspace_id), 10_000)
    ) {
        Ok(both) => both,
        Err(e) => return failed("listing servers", e),
    };
    let now = crate::now_ms();
    let mut open_by_host: HashMap<&str, Vec<&Incident>> = HashMap::new();
    for i in &incidents {
        open_by_host.entry(i.host_id.as_str()).or_default().push(i);
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let rows: Vec<ServerRow> = hosts
        .into_iter()
        .map(|h| {
            let open = open_by_host
                .get(h.id.as_str())
                .map_or(&[][..], Vec::as_slice);
            let (status, problems) = host_status(&h, open);
            *counts.entry(status).or_default() += 1;
            let system = match (&h.agent_hostname, &h.agent_os, &h.agent_arch) {
                (None, None, None) => None,
                (host, os, arch) => Some(
                    [host, os, arch]
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" · "),
                ),
            };
            ServerRow {
                id: h.id,
                name: h.name,
                status,
                problems,
                last_seen: h.last_seen_at_ms.map(|t| ago(now - t)),
                last_seen_iso: h.last_seen_at_ms.and_then(|t| {
                    jiff::Timestamp::from_millisecond(t)
                        .ok()
                        .map(|t| t.to_string())
                }),
                agent_version: h.agent_version,
                system,
            }
        })
        .collect();
    state.web.render(
        "servers.html",
        Some(&user),
        minijinja::context! {
            page => "servers", servers => minijinja::value::Serde(&rows),
            can_edit => super::actor(&user).changes(), counts => counts,
        },
    )
}

pub(super) fn not_allowed() -> Response {
    (StatusCode::FORBIDDEN, readout_app::ROLE_CANNOT_CHANGE).into_response()
}

fn add_server_page<D: Database>(
    state: &AppState<D>,
    user: &SessionUser,
    name: &str,
    error: Option<&str>,
) -> Response {
    state.web.render(
        "server_new.html",
        Some(user),
        minijinja::context! { page => "servers", name => name, error => error },
    )
}

pub(super) async fn add_server_form<D: Database>(
    State(state): State<AppState<D>>,
    Viewer(user): Viewer,
) -> Response {
    if !super::actor(&user).changes() {
        return not_allowed();
    }
    add_server_page(&state, &user, "", None)
}

#[derive(Debug, Deserialize)]
pub(super) struct AddServerForm {
    #[serde(default)]
    name: String,
}

/// Creates the host in the user's workspace and shows its install command,
/// with the key it holds (shown this once).
pub(super) async fn add_server<D: Database>(
    State(state): State<AppState<D>>,
    Change { user, form }: Change<AddServerForm>,
) -> Response {
    let name = form.name.trim();
    let actor = super::actor(&user);
    let added = crate::hosts::add(&actor, &state.db, name, &state.settings.public_url).await;
    match added {
        Ok(added) => state.web.render(
            "server_added.html",
            Some(&user),
            minijinja::context! {
                page => "servers", id => added.host.id, name => added.host.name,
                install => added.install_command,
            },
        ),
        Err(AppError::Invalid(why) | AppError::Conflict(why)) => {
            let page = add_server_page(&state, &user, name, Some(&why));
            (StatusCode::BAD_REQUEST, page).into_response()
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// The add-server page polls this until the host's first cycle arrives.
pub(super) async fn first_cycle<D: Database>(
    State(state): State<AppState<D>>,
    super::dashboard::WorkspaceHost { user, host }: super::dashboard::WorkspaceHost,
) -> Response {
    state.web.render(
        "first_cycle.html",
        Some(&user),
        minijinja::context! {
            id => host.id, arrived => host.last_seen_at_ms.is_some(),
            agent_version => host.agent_version, hostname => host.agent_hostname,
        },
    )
}
