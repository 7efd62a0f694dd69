//! PostgreSQL backend: for larger installations, where several stateless
//! `readout` nodes share one database.
//!
//! Migrations run at start-up on every node; each is written so that old and
//! new nodes can run side by side during a rolling upgrade (add, never
//! rename or drop in the same release).

#![forbid(unsafe_code)]

use std::str::FromStr;

use readout_storage::DbError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// A PostgreSQL-backed store.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: sqlx::PgPool,
    /// This process's rewriters of chunks and packs take turns (nodes are
    /// kept apart by row locks).
    compaction: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Self, DbError> {
        let options = PgConnectOptions::from_str(url)?.application_name("readout");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| DbError::Other(e.into()))?;
        let store = Self {
            pool,
            compaction: Default::default(),
        };
        let converted = store.convert_legacy().await?;
        if converted > 0 {
            tracing::info!(hosts = converted, "moved points and roll-ups into chunks");
        }
        tracing::debug!("postgres store ready");
        Ok(store)
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// Ends a `SELECT` that locks the rows it reads for the transaction.
    const LOCK_ROWS: &str = " FOR UPDATE";

    /// Locks are per row: the compactor holds its host's for all its work.
    const ONE_WRITE_LOCK: bool = false;

    /// Of the hosts with the oldest head rows dated before `$1` and
    /// received before `$2`, one no other node holds, locked: nodes compact
    /// different hosts side by side. The host row is taken before any head
    /// row, as writers take them.
    const HEAD_PICK: &str = "SELECT id FROM hosts WHERE id IN (SELECT host_id FROM samples \
        WHERE at_ms < $1 AND received_at_ms < $2 ORDER BY at_ms LIMIT 64) \
        LIMIT 1 FOR UPDATE SKIP LOCKED";

    /// A read transaction whose statements see one snapshot: the head and
    /// what the compactor moved out of it are never both seen, nor neither.
    async fn begin_read(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
    }

    /// Closes every connection (tests drop their database afterwards).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

readout_storage::impl_sql_database!(PostgresStore, sqlx::Postgres);
readout_storage::impl_accounts!(PostgresStore, sqlx::Postgres);
readout_storage::impl_dashboards!(PostgresStore, sqlx::Postgres);

// Nodes claim side by side: rows another node holds locked are skipped,
// and the lease is checked again on the locked row. Only a channel's oldest
// pending notice is due, so no notice overtakes an earlier one (a recovery
// its problem), retries and other nodes included.
readout_storage::impl_alerts!(
    PostgresStore,
    sqlx::Postgres,
    "UPDATE notifications SET lease_until_ms = $3, lease_owner = $2 WHERE id IN (\
     SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at_ms <= $1 \
     AND (lease_until_ms IS NULL OR lease_until_ms < $1) \
     AND NOT EXISTS (SELECT 1 FROM notifications e WHERE e.channel_id = notifications.channel_id \
     AND e.status = 'pending' AND e.id < notifications.id) ORDER BY id LIMIT $4 \
     FOR UPDATE SKIP LOCKED) \
     AND (lease_until_ms IS NULL OR lease_until_ms < $1) \
     RETURNING id, channel_id, route_id, host_id, notice_json, created_at_ms, status, attempts, \
     next_attempt_at_ms, delivered_at_ms, last_error"
);
