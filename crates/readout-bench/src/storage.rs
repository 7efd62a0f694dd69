//! What the stored history costs once the compactor has caught up: bytes
//! per sample (values and their roll-ups) and how much smaller the raw
//! output history is than what the agents sent.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use sqlx::Row as _;

/// Tables holding values and what charts read of them.
const VALUE_TABLES: [&str; 5] = ["chunks", "trends", "series", "samples", "latest"];
/// Tables holding the raw output history.
const RAW_TABLES: [&str; 3] = ["command_results", "output_hours", "cycles"];

#[derive(Debug)]
pub(crate) struct Footprint {
    /// How long the compactor took to empty the head after the load ended.
    pub(crate) drained_in: Duration,
    pub(crate) samples: u64,
    pub(crate) value_bytes: u64,
    /// `value_bytes` by table.
    pub(crate) value_tables: Vec<(&'static str, u64)>,
    pub(crate) raw_sent: u64,
    pub(crate) raw_bytes: u64,
    /// `raw_bytes` by table.
    pub(crate) raw_tables: Vec<(&'static str, u64)>,
}

impl Footprint {
    pub(crate) fn bytes_per_sample(&self) -> f64 {
        self.value_bytes as f64 / self.samples.max(1) as f64
    }

    pub(crate) fn raw_ratio(&self) -> f64 {
        self.raw_sent as f64 / self.raw_bytes.max(1) as f64
    }
}

enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn scalar(&self, sql: &'static str) -> anyhow::Result<i64> {
        Ok(match self {
            Self::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
            Self::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        })
    }

    /// Values the hour chunks hold.
    async fn samples(&self) -> anyhow::Result<u64> {
        let sql = "SELECT data FROM chunks";
        let chunks: Vec<Vec<u8>> = match self {
            Self::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await?,
            Self::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await?,
        };
        let mut total = 0;
        for data in chunks {
            total += readout_storage::chunk::count_hour(&data)?;
        }
        Ok(total)
    }

    /// Bytes of `table` with its indexes (and, on PostgreSQL, TOAST).
    async fn table_bytes(&self, table: &str) -> anyhow::Result<u64> {
        let bytes: i64 = match self {
            Self::Sqlite(pool) => sqlx::query(
                "SELECT COALESCE(SUM(d.pgsize), 0) FROM dbstat d \
                 JOIN sqlite_master m ON m.name = d.name WHERE m.tbl_name = ?1",
            )
            .bind(table)
            .fetch_one(pool)
            .await?
            .try_get(0)?,
            Self::Postgres(pool) => {
                sqlx::query_scalar("SELECT pg_total_relation_size($1::regclass)")
                    .bind(table)
                    .fetch_one(pool)
                    .await?
            }
        };
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    async fn sizes(&self, tables: &[&'static str]) -> anyhow::Result<Vec<(&'static str, u64)>> {
        let mut sizes = Vec::with_capacity(tables.len());
        for table in tables {
            sizes.push((*table, self.table_bytes(table).await?));
        }
        Ok(sizes)
    }

    /// Bytes of output the agents sent: in the head and in packed hours.
    async fn raw_sent(&self) -> anyhow::Result<u64> {
        let head = self
            .scalar("SELECT CAST(COALESCE(SUM(output_bytes), 0) AS BIGINT) FROM command_results")
            .await?;
        let sql = "SELECT data FROM output_hours";
        let packs: Vec<Vec<u8>> = match self {
            Self::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await?,
            Self::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await?,
        };
        let mut total = u64::try_from(head).context("output bytes")?;
        for data in packs {
            total += readout_storage::pack::decode(&data)?
                .iter()
                .map(|r| r.output.len() as u64)
                .sum::<u64>();
        }
        Ok(total)
    }
}

/// Head rows (one per cycle) the compactor has yet to fold.
pub(crate) async fn head_rows(database_url: &str) -> anyhow::Result<u64> {
    let rows = open(database_url)
        .await?
        .scalar("SELECT COUNT(*) FROM samples")
        .await?;
    Ok(u64::try_from(rows)?)
}

async fn open(database_url: &str) -> anyhow::Result<Db> {
    Ok(if database_url.starts_with("sqlite:") {
        Db::Sqlite(sqlx::SqlitePool::connect(&format!("{database_url}?mode=ro")).await?)
    } else {
        Db::Postgres(sqlx::PgPool::connect(database_url).await?)
    })
}

/// Waits for the head to drain, then measures the store at `database_url`
/// (`sqlite://…` or `postgres://…`).
pub(crate) async fn measure(database_url: &str) -> anyhow::Result<Footprint> {
    let db = open(database_url).await?;
    let started = Instant::now();
    while db.scalar("SELECT COUNT(*) FROM samples").await? > 0 {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "the compactor did not empty the head in 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained_in = started.elapsed();
    if let Db::Postgres(pool) = &db {
        // Sizes count dead rows until a vacuum marks their space free.
        sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    }
    let samples = db.samples().await?;
    let value_tables = db.sizes(&VALUE_TABLES).await?;
    let raw_tables = db.sizes(&RAW_TABLES).await?;
    Ok(Footprint {
        drained_in,
        samples,
        value_bytes: value_tables.iter().map(|t| t.1).sum(),
        value_tables,
        raw_sent: db.raw_sent().await?,
        raw_bytes: raw_tables.iter().map(|t| t.1).sum(),
        raw_tables,
    })
}
