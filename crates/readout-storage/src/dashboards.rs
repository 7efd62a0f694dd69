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
                let stored: Vec<(String, i64, f64, i64)> = sqlx::query_as(
                    "SELECT s.host_id, r.bucket_ms, r.sum, r.count FROM hosts h \
                     JOIN series s ON s.host_id = h.id AND s.name = $2 \
                     JOIN rollups r ON r.series_id = s.id AND r.res_ms = $3 AND r.bucket_ms >= $4 \
                     WHERE h.workspace_id = $1 AND h.removed_at_ms IS NULL",
                )
                .bind(workspace_id)
                .bind(variable)
                .bind(res_ms)
                .bind(from_ms)
                .fetch_all(&mut *tx)
                .await?;
                // (host, bucket) → (sum, count): stored roll-ups plus the head.
                let mut buckets: std::collections::BTreeMap<(String, i64), (f64, i64)> = stored
                    .into_iter()
                    .map(|(host, bucket, sum, count)| ((host, bucket), (sum, count)))
                    .collect();
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
