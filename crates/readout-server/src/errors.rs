//! Error policy of the server.
//!
//! Every handler returns `Result<_, ApiError>`. An `ApiError` carries the
//! HTTP status, a stable machine-readable `code` and a message for people
//! that says what is wrong and where; it is rendered as
//! `{"error": {"code", "message"}}` (the protocol's `ErrorResponse`).
//! Internal errors are logged once, here, where they become a 500; their
//! details never reach the client. Libraries use `thiserror`; binaries use
//! `anyhow`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use readout_app::{Actor, AppError};
use readout_proto::{ErrorDetail, ErrorResponse};
use readout_storage::DbError;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the server log has the details",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Self::not_found("resource"),
            DbError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            other => {
                tracing::error!(error = %other, "storage error");
                Self::internal()
            }
        }
    }
}

/// The application's errors, as the API has always answered them.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid(message) => Self::bad_request(message),
            AppError::NotFound(what) => Self::not_found(&what),
            AppError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            AppError::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Self::internal()
            }
        }
    }
}

/// The caller the API's door let in (see `routes::api::authorize`).
#[derive(Debug)]
pub struct Caller(pub Actor);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        match parts.extensions.get::<Actor>() {
            Some(actor) => Ok(Caller(actor.clone())),
            None => {
                tracing::error!(path = %parts.uri.path(), "a route without the API's door");
                Err(ApiError::internal())
            }
        }
    }
}

impl From<crate::work::WorkError> for ApiError {
    fn from(e: crate::work::WorkError) -> Self {
        match e {
            crate::work::WorkError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is busy parsing for other editors; try again in a few seconds",
            ),
            crate::work::WorkError::Panicked => {
                tracing::error!("a parse panicked");
                Self::internal()
            }
        }
    }
}

/// Maps "not found" from the store to a 404 naming `what`.
pub fn not_found(what: String) -> impl FnOnce(DbError) -> ApiError {
    move |e| match e {
        DbError::NotFound => ApiError::not_found(&what),
        other => other.into(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"readout\""),
            );
        }
        response
    }
}

/// A JSON request body whose errors say where, for example
/// "invalid body at `parser.variables[0].extract`: unknown variant …".
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        json_whole(&bytes).map(JsonBody).map_err(|(path, e)| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("invalid body at `{path}`: {e}"),
            )
        })
    }
}

/// Parses one JSON document that must be the whole of `bytes` (white
/// space aside); an error comes with the path where it was found.
pub fn json_whole<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, (String, serde_json::Error)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| (e.path().to_string(), e.into_inner()))?;
    de.end().map_err(|e| (".".to_owned(), e))?;
    Ok(value)
}

/// A query string whose errors are JSON like every other API error (axum's
/// own `Query` answers them in plain text).
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S>
    for QueryParams<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(q)| QueryParams(q))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}
