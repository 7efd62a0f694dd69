//! What the Readout server keeps, and the one trait every backend
//! implements. Handlers and workers are generic over [`Database`]; the
//! backend is chosen once, from the storage URL's scheme.

#![forbid(unsafe_code)]

use std::future::Future;

mod accounts;
pub mod accounts_sql;
mod alerts;
pub mod alerts_sql;
pub mod chunk;
pub mod codec;
mod dashboards;
pub mod head;
mod models;
pub mod pack;
pub mod series;
pub mod sql;

// Backends expand `impl_sql_database!` with this crate's sqlx.
pub use readout_alerting;
pub use readout_parse;
pub use serde_json;
pub use sqlx;

pub use accounts::{
    AccountLink, Accounts, ApiToken, Joining, Member, Membership, NewApiToken, NewSession, Role,
    RoleText, SessionUser, User,
};
pub use alerts::{
    After, Alerts, Attempt, ChannelRow, Incident, IncidentEvent, NotificationRow, RouteRow,
    RuleStatus, SweepReport, WindowRow,
};
pub use dashboards::{Dashboards, SavedLayout, SparkPoint};
pub use models::{
    AggRow, CycleRow, DataSource, DataSourceRow, DerivedRow, HeadResultRow, Host, HostAuth,
    IncomingCycle, JsonText, NewHost, NewSource, OutputRow, ResultRow, ResultSummary, Retention,
    RunOutcome, SampleRow, SeriesInfo, StoredCycle, StoredOutput, Template, TemplateRow, json_text,
};
pub use readout_parse::derive::Reading;
pub use readout_parse::extract::ParserConfig;
pub use readout_parse::host::Derived;

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

impl DbError {
    /// A write naming a parent row (a host, a template) that does not exist.
    pub fn missing_parent(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => DbError::NotFound,
            _ => DbError::Other(e),
        }
    }

    /// A write that broke the uniqueness of a `what` called `name`.
    pub fn unique_name(e: sqlx::Error, what: &str, name: &str) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                DbError::Conflict(format!("a {what} named {name:?} already exists"))
            }
            _ => DbError::Other(e),
        }
    }

    /// A statement naming one row touched none: that row does not exist.
    pub fn expect_one(rows_affected: u64) -> Result<(), DbError> {
        if rows_affected == 0 {
            Err(DbError::NotFound)
        } else {
            Ok(())
        }
    }
}

/// Whether a cycle of a batch was stored, or had been stored before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Duplicate,
}

/// The storage backend. Every method is one short transaction.
pub trait Database: Alerts + Accounts + Dashboards + Clone + Send + Sync + 'static {
    /// Whether a write can start now (the health check): the store is
    /// reachable, writable, and no stuck transaction holds its write lock.
    fn writable(&self) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Creates a host with its default data sources.
    fn create_host(&self, host: &NewHost) -> impl Future<Output = Result<Host, DbError>> + Send;

    fn host(&self, id: &str) -> impl Future<Output = Result<Host, DbError>> + Send;

    /// The live (not removed) host called `name`; `Conflict` when hosts of
    /// several workspaces have that name.
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

    /// The host's data sources with their parsers, by name.
    fn data_sources(
        &self,
        host_id: &str,
    ) -> impl Future<Output = Result<Vec<DataSource>, DbError>> + Send;

    /// Makes `sources` the host's commands: sources not listed go, new ones
    /// are added with their parser, kept ones keep their parser.
    fn set_commands(
        &self,
        host_id: &str,
        sources: &[NewSource],
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Creates or replaces one data source.
    fn put_data_source(
        &self,
        host_id: &str,
        name: &str,
        parser: Option<&ParserConfig>,
        template_id: Option<&str>,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn delete_data_source(
        &self,
        host_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn templates(&self) -> impl Future<Output = Result<Vec<Template>, DbError>> + Send;

    fn template(&self, id: &str) -> impl Future<Output = Result<Template, DbError>> + Send;

    /// Creates the template, or replaces the one with the same id.
    fn put_template(&self, template: &Template)
    -> impl Future<Output = Result<(), DbError>> + Send;

    /// Deletes a template; hosts using it keep a copy of its parser.
    fn delete_template(&self, id: &str) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Points each host's data source for the template's command at it,
    /// creating the data source where missing.
    fn apply_template(
        &self,
        id: &str,
        host_ids: &[String],
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The host's derived variables, in the order they are computed.
    fn derived(&self, host_id: &str) -> impl Future<Output = Result<Vec<Derived>, DbError>> + Send;

    fn put_derived(
        &self,
        host_id: &str,
        derived: &Derived,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn delete_derived(
        &self,
        host_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The last reading of each named variable before `before_ms`.
    fn readings_before(
        &self,
        host_id: &str,
        names: &[String],
        before_ms: i64,
    ) -> impl Future<Output = Result<Vec<(String, Reading)>, DbError>> + Send;

    /// Stores a batch of cycles in one transaction; returns, in order,
    /// whether each was new or a resubmission. Durable when it returns.
    fn store_cycles(
        &self,
        batch: &[IncomingCycle],
    ) -> impl Future<Output = Result<Vec<Stored>, DbError>> + Send;

    /// One output of a command: of the given cycle, or the latest.
    fn output(
        &self,
        host_id: &str,
        name: &str,
        cycle_id: Option<&str>,
    ) -> impl Future<Output = Result<StoredOutput, DbError>> + Send;

    /// Outputs of a command that started in `[from_ms, to_ms)`, oldest
    /// first, at most `limit`.
    fn outputs_between(
        &self,
        host_id: &str,
        name: &str,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredOutput>, DbError>> + Send;

    /// Writes values into the host's series, replacing points at the same
    /// time, and recomputes the roll-ups they fall in (back-fill). Returns
    /// the points written.
    fn write_samples(
        &self,
        host_id: &str,
        samples: &[SampleRow],
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// How many series (variables) the host has.
    fn series_count(&self, host_id: &str) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// The host's variables with their latest values, by name.
    fn series_list(
        &self,
        host_id: &str,
    ) -> impl Future<Output = Result<Vec<SeriesInfo>, DbError>> + Send;

    /// Raw points (`res_ms` 0) or roll-ups of one variable in
    /// `[from_ms, to_ms)`, oldest first.
    fn series_rows(
        &self,
        host_id: &str,
        name: &str,
        res_ms: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Future<Output = Result<Vec<AggRow>, DbError>> + Send;

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

    /// Drops history older than the retention allows (the latest output of
    /// each command stays). Returns rows removed.
    fn prune(&self, retention: Retention) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Folds up to `limit` head rows dated before `before_ms` and received
    /// before `received_before_ms`, of the host with the oldest, into its
    /// hour chunks and their hourly aggregates, in one transaction; returns
    /// how many it folded.
    fn compact_head(
        &self,
        limit: u32,
        before_ms: i64,
        received_before_ms: i64,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;
}
