//! What the Readout server keeps, and the one trait every backend
//! implements. Handlers and workers are generic over [`Database`]; the
//! backend is chosen once, from the storage URL's scheme.

#![forbid(unsafe_code)]

use std::future::Future;

mod models;
pub mod sql;

// Backends expand `impl_sql_database!` with this crate's sqlx.
pub use sqlx;

pub use models::{
    CycleRow, Host, HostAuth, IncomingCycle, JsonText, NewHost, ResultRow, ResultSummary,
    RunOutcome, StoredCycle, StoredOutput,
};

/// Errors a backend reports: handlers tell "not there" (404) from the rest.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Other(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Whether a cycle of a batch was stored, or had been stored before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Duplicate,
}

/// The storage backend. Every method is one short transaction.
pub trait Database: Clone + Send + Sync + 'static {
    /// Creates a host with its default data sources.
    fn create_host(&self, host: &NewHost) -> impl Future<Output = Result<Host, DbError>> + Send;

    fn host(&self, id: &str) -> impl Future<Output = Result<Host, DbError>> + Send;

    /// The live (not removed) host called `name`.
    fn host_by_name(&self, name: &str) -> impl Future<Output = Result<Host, DbError>> + Send;

    /// Every host, removed ones included, by name.
    fn list_hosts(&self) -> impl Future<Output = Result<Vec<Host>, DbError>> + Send;

    /// Marks a host removed: its agent is told to stop on its next cycle.
    fn remove_host(&self, id: &str, at_ms: i64)
    -> impl Future<Output = Result<(), DbError>> + Send;

    /// Sets the seconds between a host's cycles (the agent obeys next cycle).
    fn set_interval(&self, id: &str, secs: i32)
    -> impl Future<Output = Result<(), DbError>> + Send;

    /// What the agent endpoint needs to authenticate and answer a host.
    fn host_auth(&self, id: &str) -> impl Future<Output = Result<HostAuth, DbError>> + Send;

    /// Names of the commands the host runs (its data sources), sorted.
    fn commands(&self, host_id: &str) -> impl Future<Output = Result<Vec<String>, DbError>> + Send;

    fn set_commands(
        &self,
        host_id: &str,
        names: &[String],
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Stores a batch of cycles in one transaction; returns, in order,
    /// whether each was new or a resubmission. Durable when it returns.
    fn store_cycles(
        &self,
        batch: &[IncomingCycle],
    ) -> impl Future<Output = Result<Vec<Stored>, DbError>> + Send;

    /// The latest output of every command of a host.
    fn latest_outputs(
        &self,
        host_id: &str,
    ) -> impl Future<Output = Result<Vec<StoredOutput>, DbError>> + Send;

    /// The host's most recent cycles, newest first, with their results.
    fn recent_cycles(
        &self,
        host_id: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredCycle>, DbError>> + Send;

    /// Drops output history and cycles that started before `cutoff_ms`,
    /// except the latest output of each command. Returns rows removed.
    fn prune(&self, cutoff_ms: i64) -> impl Future<Output = Result<u64, DbError>> + Send;
}
