//! Dashboard layouts under `/api/v1/hosts/{id}/layouts/{device}`: the one in
//! force (saved, or the default made from the host's variables), saving
//! one, and going back to the default.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use readout_storage::{Database, SavedLayout, SessionUser};
use serde::Deserialize;

use crate::errors::{ApiError, JsonBody};
use crate::routes::api::live_host;
use crate::state::AppState;
use readout_app::layouts::{self, Device, LayoutView, Panel};

fn device(text: &str) -> Result<Device, ApiError> {
    text.parse().map_err(ApiError::bad_request)
}

pub async fn get_layout<D: Database>(
    State(state): State<AppState<D>>,
    Path((id, device_text)): Path<(String, String)>,
) -> Result<Json<LayoutView>, ApiError> {
    let device = device(&device_text)?;
    live_host(&state.db, &id).await?;
    let variables = state.db.series_list(&id).await?;
    Ok(Json(
        layouts::in_force(&state.db, &id, device, &variables).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutBody {
    panels: Vec<Panel>,
}

pub async fn put_layout<D: Database>(
    State(state): State<AppState<D>>,
    Path((id, device_text)): Path<(String, String)>,
    user: Option<Extension<SessionUser>>,
    JsonBody(body): JsonBody<LayoutBody>,
) -> Result<Json<LayoutView>, ApiError> {
    let device = device(&device_text)?;
    layouts::check(&body.panels, device).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_layout",
            e.to_string(),
        )
    })?;
    live_host(&state.db, &id).await?;
    let saved = SavedLayout {
        panels_json: serde_json::to_string(&body.panels).map_err(|_| ApiError::internal())?,
        updated_at_ms: crate::now_ms(),
        updated_by: user.map(|Extension(u)| u.user_id),
    };
    state
        .db
        .put_layout(&id, device.as_str(), &saved)
        .await
        .map_err(crate::errors::not_found(format!("host {id}")))?;
    Ok(Json(LayoutView {
        device,
        saved: true,
        updated_at_ms: Some(saved.updated_at_ms),
        panels: body.panels,
    }))
}

pub async fn delete_layout<D: Database>(
    State(state): State<AppState<D>>,
    Path((id, device_text)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let device = device(&device_text)?;
    live_host(&state.db, &id).await?;
    state.db.delete_layout(&id, device.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}
