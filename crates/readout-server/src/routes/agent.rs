//! The agent endpoint: one POST per cycle (see docs/protocol.md).

use std::io::Read as _;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use readout_proto::{CycleRequest, CycleResponse};
use readout_storage::{Database, DbError, IncomingCycle, Stored};

use crate::errors::ApiError;
use crate::keys;
use crate::state::AppState;

#[tracing::instrument(skip_all, fields(host.id))]
pub async fn post_cycle<D: Database>(
    State(state): State<AppState<D>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<CycleResponse>, ApiError> {
    let (host_id, key) = basic_credentials(&headers)?;
    tracing::Span::current().record("host.id", host_id.as_str());
    let auth = match state.db.host_auth(&host_id).await {
        Ok(auth) => auth,
        Err(DbError::NotFound) => return Err(bad_credentials()),
        Err(e) => return Err(not_stored(&e)),
    };
    if !keys::secret_matches(&key, &auth.key_hash) {
        return Err(bad_credentials());
    }
    let interval_secs =
        u32::try_from(auth.interval_secs).unwrap_or(readout_proto::DEFAULT_INTERVAL_SECS);
    if auth.removed_at_ms.is_some() {
        tracing::info!("removed host reported; telling its agent to stop");
        return Ok(Json(CycleResponse {
            duplicate: false,
            commands: Vec::new(),
            interval_secs,
            stop: true,
        }));
    }

    // The body is read only now, once the host is known and its bytes fit
    // the node's budget; they stay reserved until the cycle is stored.
    let max = state.settings.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(refuse(body, max, too_large(max)).await);
    }
    let Some(mut held) = state.ingest.reserve(declared.unwrap_or(max)) else {
        return Err(refuse(body, max, busy()).await);
    };
    let body = axum::body::to_bytes(body, max).await.map_err(|e| {
        let e = e.into_inner();
        if e.downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            too_large(max)
        } else {
            ApiError::bad_request(format!("cannot read the request body: {e}"))
        }
    })?;
    let body = decode_body(&headers, body, max)?;
    // Then as much again as decoded: the decoded body, and after it the
    // cycle parsed from it (outputs, values, their packed copies).
    if !state.ingest.grow(&mut held, body.len()) {
        return Err(busy());
    }
    let cycle: CycleRequest = crate::errors::json_whole(&body).map_err(|(path, e)| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_cycle",
            format!("invalid cycle at `{path}`: {e}"),
        )
    })?;
    drop(body);
    let received_at_ms = crate::now_ms();
    cycle
        .validate(&state.settings.limits, received_at_ms)
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_cycle",
                format!("invalid cycle at `{}`: {}", e.path, e.message),
            )
        })?;

    let sources = state
        .db
        .data_sources(&host_id)
        .await
        .map_err(|e| not_stored(&e))?;
    let derived = state
        .db
        .derived(&host_id)
        .await
        .map_err(|e| not_stored(&e))?;
    let counters = crate::parsing::rate_inputs(&derived);
    let previous = if counters.is_empty() {
        Vec::new()
    } else {
        state
            .db
            .readings_before(&host_id, &counters, cycle.started_at_ms)
            .await
            .map_err(|e| not_stored(&e))?
    };
    let commands = sources.iter().map(|s| s.name.clone()).collect();
    // Parsing and packing are CPU work on untrusted output: keep them off
    // the async workers.
    let host = host_id.clone();
    let mut incoming = tokio::task::spawn_blocking(move || {
        let parsed = crate::parsing::parse_cycle(&cycle, &sources, &derived, &previous);
        IncomingCycle::new(host, received_at_ms, cycle, parsed)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "parsing a cycle panicked");
        ApiError::internal()
    })?;

    incoming.parsed = within_series_limit(&state.db, &host_id, incoming.parsed)
        .await
        .map_err(|e| not_stored(&e))?;
    let stored = state
        .ingest
        .store(incoming)
        .await
        .map_err(|e| not_stored(&e))?;
    drop(held);
    Ok(Json(CycleResponse {
        duplicate: stored == Stored::Duplicate,
        commands,
        interval_secs,
        stop: false,
    }))
}

/// Series one host may have: each costs storage and every chart's list.
pub const MAX_SERIES_PER_HOST: usize = 10_000;

/// Drops the new variables a cycle would add past the host's series limit
/// (reported as a parse error); looks at the names only near the limit.
async fn within_series_limit<D: Database>(
    db: &D,
    host_id: &str,
    mut parsed: readout_parse::host::CycleValues,
) -> Result<readout_parse::host::CycleValues, DbError> {
    let count = usize::try_from(db.series_count(host_id).await?).unwrap_or(usize::MAX);
    if count.saturating_add(parsed.values.len()) <= MAX_SERIES_PER_HOST {
        return Ok(parsed);
    }
    let known: std::collections::HashSet<String> = db
        .series_list(host_id)
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let room = MAX_SERIES_PER_HOST.saturating_sub(known.len());
    parsed.keep_new_within(room, MAX_SERIES_PER_HOST, |name| known.contains(name));
    Ok(parsed)
}

/// The store failed: the agent keeps the cycle in its spool and sends it
/// again, so this is a 503, never a 500.
fn not_stored(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "cycle not stored");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_stored",
        "the cycle could not be stored; send it again later",
    )
}

/// Reads and drops a refused body, up to four times `max_body_bytes`, before
/// answering: a client still sending would otherwise meet a closed socket (a
/// broken pipe) instead of the answer. Nothing is kept, and the body timeout
/// bounds the time.
async fn refuse(mut body: Body, max: usize, error: ApiError) -> ApiError {
    use http_body_util::BodyExt as _;
    let mut seen = 0;
    while seen <= max.saturating_mul(4) {
        match body.frame().await {
            Some(Ok(frame)) => seen += frame.data_ref().map_or(0, Bytes::len),
            _ => break,
        }
    }
    error
}

/// The node holds as many cycles as its budget allows (`max_inflight_bytes`).
fn busy() -> ApiError {
    tracing::warn!("cycle refused: the node's in-flight byte budget is spent");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the server holds as many cycles as it may at once; send this one again later",
    )
}

fn bad_credentials() -> ApiError {
    ApiError::unauthorized("unknown host id or wrong API key")
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "the cycle is larger than {max} bytes (max_body_bytes); lower the agent's output cap"
        ),
    )
}

/// `Authorization: Basic base64(host_id:api_key)`.
fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let missing =
        || ApiError::unauthorized("send the host id and API key as HTTP Basic credentials");
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let encoded = value.strip_prefix("Basic ").ok_or_else(missing)?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| missing())?;
    let text = String::from_utf8(decoded).map_err(|_| missing())?;
    let (id, key) = text.split_once(':').ok_or_else(missing)?;
    Ok((id.to_owned(), key.to_owned()))
}

/// Undoes `Content-Encoding: gzip`, refusing to inflate past `max` bytes.
fn decode_body(headers: &HeaderMap, body: Bytes, max: usize) -> Result<Bytes, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => Ok(body),
        Some("gzip") => {
            let mut inflated = Vec::new();
            let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
            flate2::read::GzDecoder::new(&body[..])
                .take(limit)
                .read_to_end(&mut inflated)
                .map_err(|e| ApiError::bad_request(format!("the gzip body is corrupt: {e}")))?;
            if inflated.len() > max {
                return Err(too_large(max));
            }
            Ok(inflated.into())
        }
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding {other:?} is not supported; send gzip or nothing"),
        )),
    }
}
