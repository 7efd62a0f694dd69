//! The read and admin API under `/api/v1/`: the operator's admin token
//! (`Authorization: Bearer …`), or a signed-in member for their hosts.

use axum::Json;
use axum::extract::{FromRequestParts as _, MatchedPath, Path, RawPathParams, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use readout_app::{Actor, Via};
use readout_proto::AllowlistReport;
use readout_storage::{Database, Host, RunOutcome, StoredCycle};
use serde::{Deserialize, Serialize};

use crate::errors::Caller;
use crate::errors::{ApiError, JsonBody, QueryParams};
use crate::hosts;
use crate::keys;
use crate::state::AppState;
use readout_app::hosts::AddedHost;

/// Who may call `/api/v1`: the operator's admin token reaches everything;
/// a signed-in member of a workspace (the dashboard's own calls) or a
/// member's API token reaches the hosts of that workspace, and changes them
/// only with an editor's role and the page's CSRF token (or a `write`
/// token). Another workspace's host is not found.
pub async fn authorize<D: Database>(
    State(state): State<AppState<D>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the admin token as `Authorization: Bearer TOKEN`, or sign in",
        )
    };
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim());
    // A user's API token acts as that user, within its scope.
    let (user, scope) = match bearer {
        Some(token) if keys::secret_matches(token, &state.settings.admin_token_hash) => {
            let mut request = request;
            request.extensions_mut().insert(Actor::Operator);
            return Ok(next.run(request).await);
        }
        Some(token) if token.starts_with(keys::USER_TOKEN_PREFIX) => {
            let found = state
                .db
                .api_token_user(&keys::hash_secret(token), crate::now_ms())
                .await?;
            let (user, scope) = found.ok_or_else(unauthorized)?;
            (user, Some(scope))
        }
        Some(_) => return Err(unauthorized()),
        None => {
            let user = crate::session::current_user(&state, request.headers())
                .await
                .ok_or_else(unauthorized)?;
            (user, None)
        }
    };
    let forbidden = |message: &str| ApiError::new(StatusCode::FORBIDDEN, "forbidden", message);
    if !request.method().is_safe() {
        match scope.as_deref() {
            Some("write") => {}
            Some(_) => return Err(forbidden("this API token is read-only")),
            None => {
                // The cookie rides along on a cross-site request; this header cannot.
                let sent = request
                    .headers()
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if !crate::session::csrf_ok(&user, sent) {
                    return Err(forbidden("send the page's CSRF token as X-CSRF-Token"));
                }
            }
        }
        if !user.role.0.can_edit() {
            return Err(forbidden(
                "your role in this workspace cannot change it: ask an owner or admin",
            ));
        }
    }
    let (mut parts, body) = request.into_parts();
    let host_route = parts
        .extensions
        .get::<MatchedPath>()
        .is_some_and(|m| m.as_str().starts_with("/api/v1/hosts/{id}"));
    if !host_route {
        return Err(forbidden(
            "signed-in members reach /api/v1/hosts/{id}/…; this route needs the admin token",
        ));
    }
    let params = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id = params
        .iter()
        .find_map(|(key, value)| (key == "id").then_some(value))
        .unwrap_or_default();
    let host = live_host(&state.db, id).await?;
    if host.workspace_id.as_deref() != Some(user.workspace_id.as_str()) {
        return Err(ApiError::not_found(&format!("host {id}")));
    }
    // Handlers record who changed what.
    let via = match scope.as_deref() {
        None => Via::Session,
        Some(scope) => Via::Token {
            write: scope == "write",
        },
    };
    parts.extensions.insert(Actor::member(&user, via));
    parts.extensions.insert(user);
    Ok(next.run(Request::from_parts(parts, body)).await)
}

pub(crate) async fn live_host<D: Database>(db: &D, id: &str) -> Result<Host, ApiError> {
    db.host(id).await.map_err(|e| match e {
        readout_storage::DbError::NotFound => ApiError::not_found(&format!("host {id}")),
        other => other.into(),
    })
}

pub async fn list_hosts<D: Database>(
    State(state): State<AppState<D>>,
) -> Result<Json<Vec<Host>>, ApiError> {
    Ok(Json(state.db.list_hosts().await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHostBody {
    name: String,
}

pub async fn add_host<D: Database>(
    State(state): State<AppState<D>>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<NewHostBody>,
) -> Result<(StatusCode, Json<AddedHost>), ApiError> {
    let added = hosts::add(&actor, &state.db, &body.name, &state.settings.public_url).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// A host with what its agent last reported and what it runs.
#[derive(Debug, Serialize)]
pub struct HostDetail {
    #[serde(flatten)]
    host: Host,
    commands: Vec<String>,
}

pub async fn get_host<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
) -> Result<Json<HostDetail>, ApiError> {
    let host = live_host(&state.db, &id).await?;
    let commands = state.db.commands(&id).await?;
    Ok(Json(HostDetail { host, commands }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostChanges {
    interval_secs: Option<u32>,
    /// Absent: unchanged; `null`: back to the server's default.
    #[serde(default, deserialize_with = "present")]
    silent_after_secs: Option<Option<u32>>,
}

/// Tells a field set to `null` from an absent one.
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Seconds of quiet before a host is SILENT, as `alerts.silent_after_secs`
/// allows; a week at most.
const SILENT_RANGE: std::ops::RangeInclusive<u32> = 1..=604_800;

/// Seconds between cycles: at least 10, at most a day.
const INTERVAL_RANGE: std::ops::RangeInclusive<u32> = 10..=86_400;

pub async fn update_host<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
    JsonBody(changes): JsonBody<HostChanges>,
) -> Result<Json<HostDetail>, ApiError> {
    live_host(&state.db, &id).await?;
    if let Some(secs) = changes.interval_secs {
        if !INTERVAL_RANGE.contains(&secs) {
            return Err(ApiError::bad_request(format!(
                "interval_secs is {secs}; it must be {} to {}",
                INTERVAL_RANGE.start(),
                INTERVAL_RANGE.end()
            )));
        }
        let secs =
            i32::try_from(secs).map_err(|_| ApiError::bad_request("interval_secs is too large"))?;
        state.db.set_interval(&id, secs).await?;
    }
    if let Some(silent) = changes.silent_after_secs {
        if let Some(secs) = silent.filter(|s| !SILENT_RANGE.contains(s)) {
            return Err(ApiError::bad_request(format!(
                "silent_after_secs is {secs}; it must be {} to {}, or null for the server's alerts.silent_after_secs",
                SILENT_RANGE.start(),
                SILENT_RANGE.end()
            )));
        }
        let secs = silent
            .map(i32::try_from)
            .transpose()
            .map_err(|_| ApiError::bad_request("silent_after_secs is too large"))?;
        state.db.set_silent_after(&id, secs).await?;
    }
    get_host(State(state), Path(id)).await
}

pub async fn remove_host<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    live_host(&state.db, &id).await?;
    state.db.remove_host(&id, crate::now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_allowlist<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
) -> Result<Json<AllowlistReport>, ApiError> {
    Ok(Json(live_host(&state.db, &id).await?.allowlist.0))
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commands {
    commands: Vec<String>,
}

pub async fn get_commands<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
) -> Result<Json<Commands>, ApiError> {
    live_host(&state.db, &id).await?;
    Ok(Json(Commands {
        commands: state.db.commands(&id).await?,
    }))
}

/// Chooses which allowlisted commands the host runs. Names the agent does
/// not have are accepted (the file may gain them later); the agent reports
/// them as rejected until then.
pub async fn put_commands<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Commands>,
) -> Result<Json<Commands>, ApiError> {
    if body.commands.len() > state.settings.limits.max_results {
        return Err(ApiError::bad_request(format!(
            "{} commands; the limit is {}",
            body.commands.len(),
            state.settings.limits.max_results
        )));
    }
    for (i, name) in body.commands.iter().enumerate() {
        readout_allowlist::check_name(name).map_err(|e| {
            ApiError::bad_request(format!("commands[{i}]: invalid name {name:?}: {e}"))
        })?;
    }
    let host = live_host(&state.db, &id).await?;
    // New sources get the preset of the command line the agent reported.
    let reported = host.allowlist.0.entries.iter();
    let sources = readout_app::sources::new_sources(
        &body.commands,
        reported.map(|e| (e.name.as_str(), e.command.as_str())),
    );
    state
        .db
        .set_commands(&id, &sources, crate::now_ms())
        .await?;
    Ok(Json(Commands {
        commands: state.db.commands(&id).await?,
    }))
}

/// The latest output of a command, as text for reading and as exact bytes.
#[derive(Debug, Serialize)]
pub struct OutputView {
    name: String,
    cycle_id: String,
    started_at_ms: i64,
    #[serde(flatten)]
    outcome: RunOutcome,
    /// Lossy UTF-8: invalid bytes show as U+FFFD.
    output: String,
    output_base64: String,
}

pub async fn latest_outputs<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
) -> Result<Json<Vec<OutputView>>, ApiError> {
    live_host(&state.db, &id).await?;
    let outputs = state.db.latest_outputs(&id).await?;
    Ok(Json(
        outputs
            .into_iter()
            .map(|o| OutputView {
                output: String::from_utf8_lossy(&o.output).into_owned(),
                output_base64: STANDARD.encode(&o.output),
                name: o.name,
                cycle_id: o.cycle_id,
                started_at_ms: o.started_at_ms,
                outcome: o.outcome,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CyclesQuery {
    limit: Option<u32>,
}

pub async fn recent_cycles<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<CyclesQuery>,
) -> Result<Json<Vec<StoredCycle>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit is {limit}; it must be 1 to 1000"
        )));
    }
    live_host(&state.db, &id).await?;
    Ok(Json(state.db.recent_cycles(&id, limit).await?))
}
