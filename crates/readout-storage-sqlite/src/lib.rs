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

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

async fn pool(url: &str) -> Result<sqlx::SqlitePool, DbError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    Ok(SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH`)
    /// and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, DbError> {
        let pool = pool(url).await?;
        MIGRATOR
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The migration giving channels and routes an owner rebuilds both
    /// tables: what they held, and the outbox pointing at them, survive.
    #[tokio::test]
    async fn channels_routes_and_their_notices_survive_the_owner_migration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let pool = pool(&url).await.expect("pool");
        let mut before = sqlx::migrate::Migrator::DEFAULT;
        before.migrations = MIGRATOR
            .migrations
            .iter()
            .filter(|m| m.version < 20261201000010)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        before.run(&pool).await.expect("the schema before");
        sqlx::raw_sql(
            "INSERT INTO channels VALUES ('ch_1', 'ops', '{}', 1, 1); \
             INSERT INTO routes VALUES ('rt_1', 'all', '{}', 1, 1); \
             INSERT INTO notifications (channel_id, route_id, notice_json, created_at_ms, status, \
             next_attempt_at_ms) VALUES ('ch_1', 'rt_1', '{}', 1, 'pending', 1); \
             INSERT INTO workspaces VALUES ('ws_a', 'A', 1), ('ws_b', 'B', 1);",
        )
        .execute(&pool)
        .await
        .expect("old rows");
        MIGRATOR.run(&pool).await.expect("the migration");

        let channels: Vec<(String, Option<String>, String)> =
            sqlx::query_as("SELECT id, workspace_id, name FROM channels")
                .fetch_all(&pool)
                .await
                .expect("channels");
        assert_eq!(channels, [("ch_1".into(), None, "ops".into())]);
        let routes: i64 =
            sqlx::query_scalar("SELECT count(*) FROM routes WHERE workspace_id IS NULL")
                .fetch_one(&pool)
                .await
                .expect("routes");
        assert_eq!(routes, 1);
        // The outbox still points at the channel: deleting it cascades.
        sqlx::query("DELETE FROM channels WHERE id = 'ch_1'")
            .execute(&pool)
            .await
            .expect("delete");
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications")
            .fetch_one(&pool)
            .await
            .expect("outbox");
        assert_eq!(left, 0);
        // Names are unique within an owner, not across owners.
        let add = |id: &str, workspace: Option<&str>| {
            sqlx::query(
                "INSERT INTO channels (id, workspace_id, name, config_json, created_at_ms, updated_at_ms) \
                 VALUES ($1, $2, 'pager', '{}', 1, 1)",
            )
            .bind(id.to_owned())
            .bind(workspace.map(str::to_owned))
            .execute(&pool)
        };
        add("ch_a", Some("ws_a")).await.expect("A's pager");
        add("ch_b", Some("ws_b")).await.expect("B's pager");
        add("ch_op", None).await.expect("the operator's pager");
        assert!(
            add("ch_a2", Some("ws_a")).await.is_err(),
            "a second pager in A"
        );
        assert!(
            add("ch_op2", None).await.is_err(),
            "a second operator's pager"
        );
    }
}
