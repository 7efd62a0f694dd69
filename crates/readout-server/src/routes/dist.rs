//! What `install.sh` fetches: the scripts, the default allowlist and the
//! agent binary for this server's architecture.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use readout_storage::Database;
use serde::Deserialize;

use crate::errors::{ApiError, QueryParams};
use crate::state::AppState;

const INSTALL_SH: &str = include_str!("../../../readout-agent/dist/install.sh");
const UNINSTALL_SH: &str = include_str!("../../../readout-agent/dist/uninstall.sh");

fn text(body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}

pub async fn install_sh() -> impl IntoResponse {
    text(INSTALL_SH)
}

pub async fn uninstall_sh() -> impl IntoResponse {
    text(UNINSTALL_SH)
}

pub async fn default_allowlist() -> impl IntoResponse {
    text(readout_allowlist::DEFAULT_ALLOWLIST)
}

#[derive(Debug, Deserialize)]
pub struct BinaryQuery {
    /// `uname -m` of the machine installing.
    arch: String,
}

pub async fn agent_binary<D: Database>(
    State(state): State<AppState<D>>,
    QueryParams(query): QueryParams<BinaryQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let ours = std::env::consts::ARCH;
    let wanted = match query.arch.as_str() {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    };
    if wanted != ours {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_agent_binary",
            format!(
                "this server only has an agent for {ours}, not {}; build readout-agent for it and pass --binary, or use the POSIX sh agent",
                query.arch
            ),
        ));
    }
    let path = &state.settings.agent_binary;
    let bytes = tokio::fs::read(path).await.map_err(|e| {
        tracing::warn!(path = %path.display(), error = %e, "agent binary not available");
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_agent_binary",
            "this server has no agent binary to hand out; set agent_binary in its config",
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes))
}
