//! SQLite backend: the zero-set-up default, one file in the data directory.
//!
//! WAL mode lets the dashboard read while cycles are written;
//! `synchronous = FULL` makes every acknowledged batch survive a power cut
//! (the server batches cycles, so that costs one fsync per batch).

#![forbid(unsafe_code)]

use std::str::FromStr;
use std::time::Duration;

use readout_storage::DbError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// A SQLite-backed store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH`)
    /// and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| DbError::Other(e.into()))?;
        tracing::debug!(url, "sqlite store ready");
        Ok(Self { pool })
    }
}

readout_storage::impl_sql_database!(SqliteStore, sqlx::Sqlite);
readout_storage::impl_accounts!(SqliteStore, sqlx::Sqlite);
readout_storage::impl_dashboards!(SqliteStore, sqlx::Sqlite);

// One writer at a time: the sub-select and the update cannot interleave.
// Only a channel's oldest pending notice is due: none overtakes another.
readout_storage::impl_alerts!(
    SqliteStore,
    sqlx::Sqlite,
    "UPDATE notifications SET lease_until_ms = $3, lease_owner = $2 WHERE id IN (\
     SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at_ms <= $1 \
     AND (lease_until_ms IS NULL OR lease_until_ms < $1) \
     AND NOT EXISTS (SELECT 1 FROM notifications e WHERE e.channel_id = notifications.channel_id \
     AND e.status = 'pending' AND e.id < notifications.id) ORDER BY id LIMIT $4) \
     RETURNING id, channel_id, route_id, host_id, notice_json, created_at_ms, status, attempts, \
     next_attempt_at_ms, delivered_at_ms, last_error"
);
