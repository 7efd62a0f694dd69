//! One error for every operation; each front end decides how it looks
//! (the API: a status and a stable code; the pages: a message on the page).

use readout_storage::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// What was asked is wrong; the message says what and where.
    #[error("{0}")]
    Invalid(String),
    /// Holds what was looked for, e.g. "channel ch_x".
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    /// The store failed; people are told no more than that.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Maps the store's "not found" to one naming `what`.
    pub fn or_not_found(what: impl Into<String>) -> impl FnOnce(DbError) -> AppError {
        move |e| match e {
            DbError::NotFound => AppError::NotFound(what.into()),
            other => other.into(),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => AppError::NotFound("resource".to_owned()),
            DbError::Conflict(message) => AppError::Conflict(message),
            other => AppError::Internal(other.to_string()),
        }
    }
}
