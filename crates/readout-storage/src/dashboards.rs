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

/// Layouts of a host's dashboard. Implemented once for both backends by
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
