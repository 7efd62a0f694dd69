//! The one SQL implementation of [`crate::Database`], shared by the SQLite
//! and PostgreSQL backends.
//!
//! Every statement here is written in the dialect both engines accept
//! (`$N` placeholders, `ON CONFLICT`, `RETURNING`, `CASE`). It is a macro
//! rather than a generic impl because sqlx's bounds for "any database whose
//! connection executes these types" are longer than the code they guard;
//! each backend expands it over its own pool type and stays free to
//! specialise a method later.

/// Columns of [`crate::Host`], in `SELECT` order.
pub const HOST_SELECT: &str = "SELECT id, name, created_at_ms, removed_at_ms, interval_secs, \
    last_seen_at_ms, last_cycle_at_ms, agent_version, agent_hostname, agent_os, agent_arch, \
    allowlist_json FROM hosts";

/// Implements [`crate::Database`] for a struct with a `pool: sqlx::Pool<_>`.
#[macro_export]
macro_rules! impl_sql_database {
    ($store:ty) => {
        impl $crate::Database for $store {
            async fn create_host(
                &self,
                host: &$crate::NewHost,
            ) -> Result<$crate::Host, $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO hosts (id, name, key_hash, created_at_ms) VALUES ($1, $2, $3, $4)",
                )
                .bind(&host.id)
                .bind(&host.name)
                .bind(&host.key_hash)
                .bind(host.created_at_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        $crate::DbError::Conflict(format!("a host named {:?} already exists", host.name))
                    }
                    _ => $crate::DbError::Other(e),
                })?;
                for name in &host.commands {
                    sqlx::query(
                        "INSERT INTO data_sources (host_id, command_name, created_at_ms) VALUES ($1, $2, $3)",
                    )
                    .bind(&host.id)
                    .bind(name)
                    .bind(host.created_at_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                self.host(&host.id).await
            }

            async fn host(&self, id: &str) -> Result<$crate::Host, $crate::DbError> {
                $crate::sqlx::query_as($crate::sqlx::AssertSqlSafe(format!("{} WHERE id = $1", $crate::sql::HOST_SELECT)))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or($crate::DbError::NotFound)
            }

            async fn host_by_name(&self, name: &str) -> Result<$crate::Host, $crate::DbError> {
                $crate::sqlx::query_as($crate::sqlx::AssertSqlSafe(format!(
                    "{} WHERE name = $1 AND removed_at_ms IS NULL",
                    $crate::sql::HOST_SELECT
                )))
                .bind(name)
                .fetch_optional(&self.pool)
                .await?
                .ok_or($crate::DbError::NotFound)
            }

            async fn list_hosts(&self) -> Result<Vec<$crate::Host>, $crate::DbError> {
                Ok($crate::sqlx::query_as($crate::sqlx::AssertSqlSafe(format!(
                    "{} ORDER BY name, created_at_ms",
                    $crate::sql::HOST_SELECT
                )))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn remove_host(&self, id: &str, at_ms: i64) -> Result<(), $crate::DbError> {
                let done = $crate::sqlx::query(
                    "UPDATE hosts SET removed_at_ms = $2 WHERE id = $1 AND removed_at_ms IS NULL",
                )
                .bind(id)
                .bind(at_ms)
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 0 {
                    // Removing twice is fine; removing what never was is not.
                    self.host(id).await?;
                }
                Ok(())
            }

            async fn set_interval(&self, id: &str, secs: i32) -> Result<(), $crate::DbError> {
                let done = $crate::sqlx::query("UPDATE hosts SET interval_secs = $2 WHERE id = $1")
                    .bind(id)
                    .bind(secs)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::DbError::NotFound);
                }
                Ok(())
            }

            async fn host_auth(&self, id: &str) -> Result<$crate::HostAuth, $crate::DbError> {
                $crate::sqlx::query_as(
                    "SELECT key_hash, removed_at_ms, interval_secs FROM hosts WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or($crate::DbError::NotFound)
            }

            async fn commands(&self, host_id: &str) -> Result<Vec<String>, $crate::DbError> {
                Ok($crate::sqlx::query_scalar(
                    "SELECT command_name FROM data_sources WHERE host_id = $1 ORDER BY command_name",
                )
                .bind(host_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn set_commands(
                &self,
                host_id: &str,
                names: &[String],
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.pool.begin().await?;
                let exists: Option<String> = sqlx::query_scalar("SELECT id FROM hosts WHERE id = $1")
                    .bind(host_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Err($crate::DbError::NotFound);
                }
                sqlx::query("DELETE FROM data_sources WHERE host_id = $1")
                    .bind(host_id)
                    .execute(&mut *tx)
                    .await?;
                for name in names {
                    sqlx::query(
                        "INSERT INTO data_sources (host_id, command_name, created_at_ms) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(host_id)
                    .bind(name)
                    .bind(at_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn store_cycles(
                &self,
                batch: &[$crate::IncomingCycle],
            ) -> Result<Vec<$crate::Stored>, $crate::DbError> {
                use $crate::sqlx;
                let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                let mut tx = self.pool.begin().await?;
                let mut outcome = Vec::with_capacity(batch.len());
                for inc in batch {
                    let c = &inc.cycle;
                    let pk: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO cycles (host_id, cycle_id, started_at_ms, received_at_ms, duration_ms, \
                         agent_version, spool_dropped, rejected_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (host_id, cycle_id) DO NOTHING RETURNING id",
                    )
                    .bind(&inc.host_id)
                    .bind(&c.cycle_id)
                    .bind(c.started_at_ms)
                    .bind(inc.received_at_ms)
                    .bind(to_i64(c.duration_ms))
                    .bind(&c.agent.version)
                    .bind(to_i64(c.spool_dropped))
                    .bind(inc.rejected_json())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(pk) = pk else {
                        outcome.push($crate::Stored::Duplicate);
                        continue;
                    };
                    for r in &c.results {
                        sqlx::query(
                            "INSERT INTO command_results (cycle_pk, host_id, name, started_at_ms, duration_ms, \
                             exit_code, signal, timed_out, truncated, output) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        )
                        .bind(pk)
                        .bind(&inc.host_id)
                        .bind(&r.name)
                        .bind(c.started_at_ms)
                        .bind(to_i64(r.duration_ms))
                        .bind(r.exit_code)
                        .bind(r.signal)
                        .bind(r.timed_out)
                        .bind(r.truncated)
                        .bind(&r.output)
                        .execute(&mut *tx)
                        .await?;
                    }
                    sqlx::query(
                        "UPDATE hosts SET last_seen_at_ms = CASE WHEN COALESCE(last_seen_at_ms, 0) < $2 \
                         THEN $2 ELSE last_seen_at_ms END WHERE id = $1",
                    )
                    .bind(&inc.host_id)
                    .bind(inc.received_at_ms)
                    .execute(&mut *tx)
                    .await?;
                    // A late spooled cycle must not overwrite what a newer one said.
                    sqlx::query(
                        "UPDATE hosts SET last_cycle_at_ms = $2, agent_version = $3, agent_hostname = $4, \
                         agent_os = $5, agent_arch = $6, allowlist_json = $7 \
                         WHERE id = $1 AND COALESCE(last_cycle_at_ms, 0) <= $2",
                    )
                    .bind(&inc.host_id)
                    .bind(c.started_at_ms)
                    .bind(&c.agent.version)
                    .bind(&c.agent.hostname)
                    .bind(&c.agent.os)
                    .bind(&c.agent.arch)
                    .bind(inc.allowlist_json())
                    .execute(&mut *tx)
                    .await?;
                    outcome.push($crate::Stored::New);
                }
                tx.commit().await?;
                Ok(outcome)
            }

            // `CROSS JOIN` makes SQLite walk the few (name, latest) pairs
            // first and probe the index for each; PostgreSQL plans it freely.
            async fn latest_outputs(
                &self,
                host_id: &str,
            ) -> Result<Vec<$crate::StoredOutput>, $crate::DbError> {
                let mut rows: Vec<$crate::StoredOutput> = $crate::sqlx::query_as(
                    "SELECT r.name, c.cycle_id, r.started_at_ms, r.duration_ms, r.exit_code, r.signal, \
                     r.timed_out, r.truncated, r.output \
                     FROM (SELECT name, MAX(started_at_ms) AS latest FROM command_results \
                       WHERE host_id = $1 GROUP BY name) m \
                     CROSS JOIN command_results r JOIN cycles c ON c.id = r.cycle_pk \
                     WHERE r.host_id = $1 AND r.name = m.name AND r.started_at_ms = m.latest \
                     ORDER BY r.name, r.id DESC",
                )
                .bind(host_id)
                .fetch_all(&self.pool)
                .await?;
                rows.dedup_by(|later, first| later.name == first.name);
                Ok(rows)
            }

            async fn recent_cycles(
                &self,
                host_id: &str,
                limit: u32,
            ) -> Result<Vec<$crate::StoredCycle>, $crate::DbError> {
                use $crate::sqlx;
                let cycles: Vec<$crate::CycleRow> = sqlx::query_as(
                    "SELECT id, cycle_id, started_at_ms, received_at_ms, duration_ms, agent_version, \
                     spool_dropped, rejected_json FROM cycles WHERE host_id = $1 \
                     ORDER BY started_at_ms DESC, id DESC LIMIT $2",
                )
                .bind(host_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                let results: Vec<$crate::ResultRow> = sqlx::query_as(
                    "SELECT cycle_pk, name, duration_ms, exit_code, signal, timed_out, truncated, \
                     CAST(LENGTH(output) AS BIGINT) AS output_bytes FROM command_results \
                     WHERE cycle_pk IN (SELECT id FROM cycles WHERE host_id = $1 \
                       ORDER BY started_at_ms DESC, id DESC LIMIT $2) ORDER BY id",
                )
                .bind(host_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok($crate::StoredCycle::assemble(cycles, results))
            }

            async fn prune(&self, cutoff_ms: i64) -> Result<u64, $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.pool.begin().await?;
                let outputs = sqlx::query(
                    "DELETE FROM command_results WHERE started_at_ms < $1 AND EXISTS (SELECT 1 \
                     FROM command_results n WHERE n.host_id = command_results.host_id \
                     AND n.name = command_results.name AND n.started_at_ms > command_results.started_at_ms)",
                )
                .bind(cutoff_ms)
                .execute(&mut *tx)
                .await?;
                let cycles = sqlx::query(
                    "DELETE FROM cycles WHERE started_at_ms < $1 AND NOT EXISTS \
                     (SELECT 1 FROM command_results r WHERE r.cycle_pk = cycles.id)",
                )
                .bind(cutoff_ms)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(outputs.rows_affected() + cycles.rows_affected())
            }
        }
    };
}
