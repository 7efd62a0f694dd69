//! How the pages answer what the application refused.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use readout_app::AppError;

/// A refusal shown as a page: what is not the member's is not found (and
/// says nothing more), a role that cannot is told so, the store's failures
/// are logged here and never shown.
#[derive(Debug)]
pub(super) struct PageError(pub(super) AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl PageError {
    /// A failure of the server's own, not the request's.
    pub(super) fn internal(what: &str, e: impl std::fmt::Display) -> Self {
        Self(AppError::Internal(format!("{what}: {e}")))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self.0 {
            AppError::NotFound(_) => StatusCode::NOT_FOUND.into_response(),
            AppError::Forbidden(why) => (StatusCode::FORBIDDEN, why).into_response(),
            AppError::Invalid(why) => (StatusCode::BAD_REQUEST, why).into_response(),
            AppError::Conflict(why) => (StatusCode::CONFLICT, why).into_response(),
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "a page failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}
