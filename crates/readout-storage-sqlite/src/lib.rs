//! SQLite backend: the zero-set-up default, one file in the data directory.
//!
//! WAL mode lets the dashboard read while cycles are written;
//! `synchronous = FULL` makes every acknowledged batch survive a power cut
//! (the server batches cycles, so that costs one fsync per batch).
//!
//! A connection that comes back from a failed write is never reused.
//! SQLite rolls a transaction back by itself on some errors (a full disk:
//! `SQLITE_FULL`); sqlx's own ROLLBACK then fails and it still counts the
//! connection as inside a transaction, so its next `BEGIN` would become a
//! `SAVEPOINT` whose "commit" commits nothing (sqlx issue 3742). Such a
//! connection is closed on release, and every write starts with an
//! explicit `BEGIN IMMEDIATE`, which sqlx refuses to nest and which takes
//! the write lock up front (waiting on `busy_timeout`, never failing
//! half-way on a lock upgrade). A failed write or `BEGIN` (a read-only
//! file, a full disk) retires every connection opened before it, so the
//! store recovers once the cause is gone.

#![forbid(unsafe_code)]

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use readout_storage::DbError;
use sqlx::Connection as _;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// A SQLite-backed store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    /// One connection: writers of this process queue here in order instead
    /// of polling SQLite's lock, whose busy handler sleeps up to 100 ms a
    /// try and let the cycle writer and the compactor starve each other.
    writes: sqlx::SqlitePool,
    health: Arc<Health>,
    /// This process's rewriters of chunks and packs take turns.
    compaction: Arc<tokio::sync::Mutex<()>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// When a write last failed to begin: connections older than that are
/// retired instead of reused.
#[derive(Debug)]
struct Health {
    epoch: Instant,
    /// Microseconds after `epoch`; 0: never.
    failed_at_us: AtomicU64,
}

impl Health {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            failed_at_us: AtomicU64::new(0),
        }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn failed(&self) {
        self.failed_at_us
            .store(self.now_us().max(1), Ordering::Release);
    }

    /// Whether a connection of this age was opened after the last failure.
    fn born_since_failure(&self, meta: &PoolConnectionMetadata) -> bool {
        let age_us = u64::try_from(meta.age.as_micros()).unwrap_or(u64::MAX);
        let born_us = self.now_us().saturating_sub(age_us);
        born_us > self.failed_at_us.load(Ordering::Acquire)
    }
}

/// How long a connection waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

async fn pool(
    url: &str,
    health: &Arc<Health>,
    connections: u32,
    writer: bool,
) -> Result<sqlx::SqlitePool, DbError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    // The writer never checkpoints: SQLite would do it inside a commit,
    // and that batch's cycles (and every one queued behind it) would wait
    // for the database file's copy and fsync. `checkpoint_loop` does it.
    let options = if writer {
        options
            .pragma("wal_autocheckpoint", "0")
            // Started over, the WAL is cut back to what it may grow to.
            .pragma("journal_size_limit", (RESTART_AT_FRAMES * 4096).to_string())
    } else {
        options
    };
    let (on_acquire, on_release) = (Arc::clone(health), Arc::clone(health));
    Ok(SqlitePoolOptions::new()
        .max_connections(connections)
        .before_acquire(move |_, meta| {
            let keep = on_acquire.born_since_failure(&meta);
            Box::pin(async move { Ok(keep) })
        })
        .after_release(move |conn, meta| {
            // Still inside a transaction: a write failed (or was dropped)
            // on it. Whatever the cause (a full disk, a read-only file), its
            // siblings may share it: all of them are retired.
            if conn.is_in_transaction() {
                on_release.failed();
            }
            let keep = on_release.born_since_failure(&meta);
            if !keep {
                tracing::debug!("retiring a database connection after a failed write");
            }
            Box::pin(async move { Ok(keep) })
        })
        .connect_with(options)
        .await?)
}

/// Frames a checkpoint may leave for the writer to wait on: about a
/// tenth of a second of cycles at saturation.
const FEW_FRAMES: i64 = 1024;

/// How long the WAL may grow (in 4 KiB pages) before the writer is stopped
/// to start it over: 256 MiB, several seconds of cycles at saturation, so
/// the stop (a copy and an fsync) holds up few of them. Tests go lower to
/// see it happen without writing gigabytes.
const RESTART_AT_FRAMES: i64 = if cfg!(test) {
    4 * FEW_FRAMES
} else {
    64 * FEW_FRAMES
};

/// How long the short stop of the writer waits for readers of an older
/// snapshot before trying again on the next turn.
const READERS_WAIT: Duration = Duration::from_millis(100);

/// Copies what the WAL holds into the database file, beside the writer
/// (a passive checkpoint waits for no one and blocks no one), until the
/// store is closed.
async fn checkpoint_loop(reads: sqlx::SqlitePool, writes: sqlx::SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !reads.is_closed() {
        tick.tick().await;
        if let Err(e) = checkpoint(&reads, &writes).await {
            if reads.is_closed() {
                break;
            }
            tracing::warn!(error = %e, "checkpointing the SQLite WAL failed");
        }
    }
}

/// One turn of the checkpoint. The WAL starts over only when a write
/// begins with all of it copied back; a writer that never pauses keeps
/// appending while a passive checkpoint copies, so that never happens
/// and the WAL would grow with everything written. Once it is long,
/// passive passes copy the bulk beside the writer until what it appends
/// during one is little; then the writer is stopped for that little and
/// for the readers of older snapshots to finish, and its next write
/// starts the WAL over.
async fn checkpoint(
    reads: &sqlx::SqlitePool,
    writes: &sqlx::SqlitePool,
) -> Result<(), sqlx::Error> {
    let passive = || async {
        let (_busy, frames, _copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(reads)
                .await?;
        Ok::<_, sqlx::Error>(frames)
    };
    let mut frames = passive().await?;
    if frames <= RESTART_AT_FRAMES {
        return Ok(());
    }
    for _ in 0..3 {
        let after = passive().await?;
        let appended = after - frames;
        frames = after;
        if appended <= FEW_FRAMES {
            break;
        }
    }
    let mut writer = writes.acquire().await?;
    let set_wait = |wait: Duration| format!("PRAGMA busy_timeout = {}", wait.as_millis());
    sqlx::query(sqlx::AssertSqlSafe(set_wait(READERS_WAIT)))
        .execute(&mut *writer)
        .await?;
    let restarted = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
        .execute(&mut *writer)
        .await;
    sqlx::query(sqlx::AssertSqlSafe(set_wait(BUSY_TIMEOUT)))
        .execute(&mut *writer)
        .await?;
    restarted.map(drop)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH`)
    /// and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, DbError> {
        let health = Arc::new(Health::new());
        let reads = pool(url, &health, 8, false).await?;
        MIGRATOR
            .run(&reads)
            .await
            .map_err(|e| DbError::Other(e.into()))?;
        let writes = pool(url, &health, 1, true).await?;
        let store = Self {
            pool: reads,
            writes,
            health,
            compaction: Arc::default(),
        };
        tokio::spawn(checkpoint_loop(store.pool.clone(), store.writes.clone()));
        let converted = store.convert_legacy().await?;
        if converted > 0 {
            tracing::info!(hosts = converted, "moved points and roll-ups into chunks");
        }
        tracing::debug!(url, "sqlite store ready");
        Ok(store)
    }

    /// A write transaction, holding the write lock from its first statement.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        let begun = self.writes.begin_with("BEGIN IMMEDIATE").await;
        if begun.is_err() {
            self.health.failed();
        }
        begun
    }

    /// No row locks: a write transaction holds the whole database.
    const LOCK_ROWS: &str = "";

    /// The whole file has one write lock: the compactor reads and
    /// compresses before taking it, so cycles do not wait on that work.
    const ONE_WRITE_LOCK: bool = true;

    /// The host with the oldest head row dated before `$1` and received
    /// before `$2`, for the compactor (one writer: no one else holds it).
    const HEAD_PICK: &str = "SELECT host_id FROM samples WHERE at_ms < $1 AND received_at_ms < $2 \
        ORDER BY at_ms LIMIT 1";

    /// A read transaction: its statements see one snapshot (WAL).
    async fn begin_read(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin().await
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

    /// A store in `dir` with a table to fill, and its file.
    async fn with_filler(dir: &tempfile::TempDir, file: &str) -> (std::path::PathBuf, SqliteStore) {
        let path = dir.path().join(file);
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .expect("open");
        sqlx::query("CREATE TABLE filler (data BLOB NOT NULL)")
            .execute(&store.writes)
            .await
            .expect("table");
        (path, store)
    }

    /// The writer never checkpoints; the WAL still stays about a second of
    /// writes long instead of growing with everything written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_copied_back_while_the_writer_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, store) = with_filler(&dir, "wal.db").await;
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                })
                .collect()
        };
        const MIB: u64 = 1 << 20;
        let wal = path.with_extension("db-wal");
        let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut largest = 0;
        for round in 1..=6 {
            for _ in 0..3 {
                sqlx::query("INSERT INTO filler (data) VALUES ($1)")
                    .bind(noise(MIB as usize))
                    .execute(&store.writes)
                    .await
                    .expect("write");
            }
            largest = largest.max(size(&wal));
            // Only a checkpoint grows the database file itself.
            let copied = async {
                while size(&path) < round * 3 * MIB {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            tokio::time::timeout(10 * CHECKPOINT_EVERY, copied)
                .await
                .expect("nothing copied the WAL back into the database file");
        }
        assert!(
            largest < 9 * MIB,
            "18 MiB written, the WAL grew to {largest} bytes"
        );
    }

    /// A writer that never pauses (cycles arriving all the time) and
    /// readers that never stop: the WAL still starts over instead of
    /// growing with everything written until the disk is full.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_a_writer_that_never_pauses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, store) = with_filler(&dir, "busy.db").await;
        let reading = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (pool, reading) = (store.pool.clone(), Arc::clone(&reading));
                tokio::spawn(async move {
                    while reading.load(Ordering::Relaxed) {
                        let _: i64 = sqlx::query_scalar("SELECT count(*) FROM filler")
                            .fetch_one(&pool)
                            .await
                            .expect("read");
                    }
                })
            })
            .collect();
        let wal = path.with_extension("db-wal");
        let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut largest = 0;
        let blob = vec![7u8; 64 << 10];
        // Long enough for several turns of the checkpoint.
        let started = Instant::now();
        let mut written = 0;
        while started.elapsed() < 6 * CHECKPOINT_EVERY {
            sqlx::query("INSERT INTO filler (data) VALUES ($1)")
                .bind(&blob)
                .execute(&store.writes)
                .await
                .expect("write");
            written += blob.len() as u64;
            largest = largest.max(size(&wal));
        }
        reading.store(false, Ordering::Relaxed);
        for reader in readers {
            reader.await.expect("reader");
        }
        assert!(
            largest < written / 2,
            "{written} bytes written without a pause, the WAL grew to {largest} bytes"
        );
    }

    /// The migration giving channels and routes an owner rebuilds both
    /// tables: what they held, and the outbox pointing at them, survive.
    #[tokio::test]
    async fn channels_routes_and_their_notices_survive_the_owner_migration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let pool = pool(&url, &Arc::new(Health::new()), 8, false)
            .await
            .expect("pool");
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
