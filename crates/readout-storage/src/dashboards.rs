//! Saved dashboard layouts: one per host and kind of screen, shared by the
//! host's workspace. The store keeps the layout as the server validated it
//! (JSON); what a panel holds is the server's concern.

use std::future::Future;

use crate::DbError;

/// A layout as saved, with who saved it and when.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SavedLayout {
    pub panels_json: String,
    pub updated_at_ms: i64,
    pub updated_by: Option<String>,
}

/// One bucket of a host's sparkline.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SparkPoint {
    pub host_id: String,
    pub bucket_ms: i64,
    pub avg: f64,
}

/// Layouts of a host's dashboard, and the servers list's sparklines. Implemented once for both backends by
/// [`crate::impl_dashboards`].
pub trait Dashboards {
    /// The layout saved for `device` (`desktop` or `mobile`), if any.
    fn layout(
        &self,
        host_id: &str,
        device: &str,
    ) -> impl Future<Output = Result<Option<SavedLayout>, DbError>> + Send;

    /// Saves (or replaces) a layout; the host must exist.
    fn put_layout(
        &self,
        host_id: &str,
        device: &str,
        layout: &SavedLayout,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Forgets a saved layout, so the default one shows again.
    fn delete_layout(
        &self,
        host_id: &str,
        device: &str,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The `res_ms` roll-up averages of `variable` since `from_ms` for every
    /// live host of a workspace, by host then time: one query for a whole
    /// servers list.
    fn sparklines(
        &self,
        workspace_id: &str,
        variable: &str,
        res_ms: i64,
        from_ms: i64,
    ) -> impl Future<Output = Result<Vec<SparkPoint>, DbError>> + Send;
}

/// Implements [`crate::Dashboards`] for a store with a `pool: sqlx::Pool<$db>`.
#[macro_export]
macro_rules! impl_dashboards {
    ($store:ty, $db:ty) => {
        impl $crate::Dashboards for $store {
            async fn layout(
                &self,
                host_id: &str,
                device: &str,
            ) -> Result<Option<$crate::SavedLayout>, $crate::DbError> {
                Ok($crate::sqlx::query_as(
                    "SELECT panels_json, updated_at_ms, updated_by FROM layouts \
                     WHERE host_id = $1 AND device = $2",
                )
                .bind(host_id)
                .bind(device)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn put_layout(
                &self,
                host_id: &str,
                device: &str,
                layout: &$crate::SavedLayout,
            ) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO layouts (host_id, device, panels_json, updated_at_ms, updated_by) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host_id, device) DO UPDATE SET \
                     panels_json = excluded.panels_json, updated_at_ms = excluded.updated_at_ms, \
                     updated_by = excluded.updated_by",
                )
                .bind(host_id)
                .bind(device)
                .bind(&layout.panels_json)
                .bind(layout.updated_at_ms)
                .bind(&layout.updated_by)
                .execute(&self.pool)
                .await
                .map_err($crate::DbError::missing_parent)?;
                Ok(())
            }

            async fn sparklines(
                &self,
                workspace_id: &str,
                variable: &str,
                res_ms: i64,
                from_ms: i64,
            ) -> Result<Vec<$crate::SparkPoint>, $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_read().await?;
                // Whole days of hourly aggregates (`res_ms` is an hour or more).
                let stored: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT s.host_id, t.day_ms, t.data FROM hosts h \
                     JOIN series s ON s.host_id = h.id AND s.name = $2 \
                     JOIN trends t ON t.series_id = s.id AND t.day_ms >= $3 \
                     WHERE h.workspace_id = $1 AND h.removed_at_ms IS NULL",
                )
                .bind(workspace_id)
                .bind(variable)
                .bind($crate::series::bucket_start(from_ms, $crate::chunk::DAY_MS))
                .fetch_all(&mut *tx)
                .await?;
                // (host, bucket) → (sum, count): stored hours plus the head.
                let mut buckets: std::collections::BTreeMap<(String, i64), (f64, i64)> =
                    std::collections::BTreeMap::new();
                for (host, day_ms, data) in stored {
                    for (h, agg) in $crate::chunk::decode_day(&data)? {
                        let at_ms = day_ms + i64::from(h) * $crate::chunk::HOUR_MS;
                        if at_ms < from_ms {
                            continue;
                        }
                        let entry = buckets
                            .entry((host.clone(), $crate::series::bucket_start(at_ms, res_ms)))
                            .or_insert((0.0, 0));
                        entry.0 += agg.sum;
                        entry.1 += i64::from(agg.count);
                    }
                }
                let series: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT s.host_id, s.id FROM hosts h JOIN series s ON s.host_id = h.id AND s.name = $2 \
                     WHERE h.workspace_id = $1 AND h.removed_at_ms IS NULL",
                )
                .bind(workspace_id)
                .bind(variable)
                .fetch_all(&mut *tx)
                .await?;
                for (host, id) in series {
                    let head = Self::head_points(&mut tx, &host, id, from_ms, i64::MAX).await?;
                    for (at_ms, value) in head {
                        let key = (host.clone(), $crate::series::bucket_start(at_ms, res_ms));
                        let entry = buckets.entry(key).or_insert((0.0, 0));
                        entry.0 += value;
                        entry.1 += 1;
                    }
                }
                tx.commit().await?;
                Ok(buckets
                    .into_iter()
                    .map(|((host_id, bucket_ms), (sum, count))| $crate::SparkPoint {
                        host_id,
                        bucket_ms,
                        avg: sum / count.max(1) as f64,
                    })
                    .collect())
            }

            async fn delete_layout(&self, host_id: &str, device: &str) -> Result<(), $crate::DbError> {
                $crate::sqlx::query("DELETE FROM layouts WHERE host_id = $1 AND device = $2")
                    .bind(host_id)
                    .bind(device)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}
