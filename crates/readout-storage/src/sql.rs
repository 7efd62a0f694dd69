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
    allowlist_json, silent_after_secs, workspace_id FROM hosts";

/// Columns of [`crate::OutputRow`], for `FROM command_results r JOIN cycles c`.
pub const OUTPUT_COLUMNS: &str = "r.name, c.cycle_id, r.started_at_ms, r.duration_ms, r.exit_code, \
    r.signal, r.timed_out, r.truncated, r.output, r.output_encoding";

/// The writes one compaction (or back-fill) of a host makes, computed
/// before any of them is made.
#[derive(Debug, Default)]
pub struct Rewrite {
    /// `(hour_ms, data)`: hour rows, or a block's row at its start.
    pub chunks: Vec<(i64, Vec<u8>)>,
    /// Hour rows a block row now holds.
    pub chunks_gone: Vec<i64>,
    /// `(series_id, day_ms, data)`.
    pub days: Vec<(i64, i64, Vec<u8>)>,
    /// `(series_id, at_ms)`: when each series was last seen.
    pub last_seen: Vec<(i64, i64)>,
    pub samples_gone: Vec<i64>,
    /// `(hour_ms, command, data)`.
    pub packs: Vec<(i64, String, Vec<u8>)>,
    pub results_gone: Vec<i64>,
}

/// The hours (their starts) these times fall in.
pub fn distinct_hours(times: impl Iterator<Item = i64>) -> std::collections::BTreeSet<i64> {
    times
        .map(|at| crate::series::bucket_start(at, crate::chunk::HOUR_MS))
        .collect()
}

/// Each item once, in first-seen order.
pub fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|item| seen.insert(*item)).collect()
}

/// Appends `$1, $2, …)` binding `items`: the rest of an `IN (` list.
pub fn push_list<DB: sqlx::Database>(query: &mut sqlx::QueryBuilder<DB>, items: &[&str])
where
    for<'t> &'t str: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut list = query.separated(", ");
    for item in items {
        list.push_bind(*item);
    }
    query.push(")");
}

/// Implements [`crate::Database`] for a struct with a `pool: sqlx::Pool<$db>`.
#[macro_export]
macro_rules! impl_sql_database {
    ($store:ty, $db:ty) => {
        impl $store {
            /// What a writer of a host's values reads first, under the host's
            /// row lock: its latest readings and its series by name. Names
            /// not stored (before this was kept, or cleared by prune) are
            /// rebuilt from the series table, dropping readings of series
            /// that are gone; the flag says they must be saved.
            async fn load_head(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                host_id: &str,
            ) -> Result<($crate::head::Latest, $crate::head::Names, bool), $crate::DbError> {
                use $crate::head::{Latest, Names};
                use $crate::sqlx;
                let mut latest = Self::load_latest(&mut *conn, host_id).await?;
                let names: Option<Vec<u8>> =
                    sqlx::query_scalar("SELECT data FROM series_names WHERE host_id = $1")
                        .bind(host_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                if let Some(names) = names {
                    return Ok((latest, Names::decode(&names)?, false));
                }
                let known: Vec<(i64, String, String)> =
                    sqlx::query_as("SELECT id, name, source FROM series WHERE host_id = $1")
                        .bind(host_id)
                        .fetch_all(&mut *conn)
                        .await?;
                let names = Names(known.into_iter().map(|(id, name, source)| (name, (id, source))).collect());
                let ids: std::collections::HashSet<i64> = names.0.values().map(|(id, _)| *id).collect();
                latest.0.retain(|id, _| ids.contains(id));
                Ok((latest, names, true))
            }

            /// Adds to `names` the `wanted` names that have no series yet,
            /// and moves those another source now produces (one statement
            /// per hundred; none once a host's variables are known).
            /// Returns whether `names` changed.
            async fn series_ids(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                host_id: &str,
                names: &mut $crate::head::Names,
                wanted: &[(&str, &str)],
                at_ms: i64,
            ) -> Result<bool, $crate::DbError> {
                use $crate::sqlx;
                // Once per name: PostgreSQL refuses an upsert touching a row twice.
                let mut seen = std::collections::HashSet::new();
                let missing: Vec<(&str, &str)> = wanted
                    .iter()
                    .copied()
                    .filter(|(name, source)| {
                        names.0.get(*name).is_none_or(|(_, s)| s != source) && seen.insert(*name)
                    })
                    .collect();
                for chunk in missing.chunks(100) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO series (host_id, name, source, last_at_ms) ",
                    );
                    insert.push_values(chunk, |mut row, (name, source)| {
                        row.push_bind(host_id)
                            .push_bind(*name)
                            .push_bind(*source)
                            .push_bind(at_ms);
                    });
                    insert.push(" ON CONFLICT (host_id, name) DO UPDATE SET source = excluded.source RETURNING id, name, source");
                    let made: Vec<(i64, String, String)> =
                        insert.build_query_as().fetch_all(&mut **tx).await?;
                    names.0.extend(made.into_iter().map(|(id, name, source)| (name, (id, source))));
                }
                Ok(!missing.is_empty())
            }

            /// Writes the values of a batch's new cycles into the head: each
            /// cycle's numbers as one row, and every value into its host's
            /// latest readings, in a handful of statements for the whole
            /// batch. The caller holds the hosts' row locks.
            async fn store_values(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                cycles: &[&$crate::IncomingCycle],
            ) -> Result<(), $crate::DbError> {
                use $crate::head::{Latest, LatestValue, Names};
                use $crate::readout_parse::Value;
                use $crate::sqlx;
                use std::collections::BTreeMap;
                let cycles: Vec<&$crate::IncomingCycle> =
                    cycles.iter().copied().filter(|c| !c.parsed.values.is_empty()).collect();
                let hosts: Vec<&str> = $crate::sql::distinct(cycles.iter().map(|c| c.host_id.as_str()));
                if hosts.is_empty() {
                    return Ok(());
                }
                let mut heads: BTreeMap<&str, (Latest, Option<Names>, bool)> = BTreeMap::new();
                let mut blobs = |table: &'static str| {
                    let mut select = sqlx::QueryBuilder::<$db>::new("SELECT host_id, data FROM ");
                    select.push(table).push(" WHERE host_id IN (");
                    $crate::sql::push_list(&mut select, &hosts);
                    select
                };
                let (mut latest, mut names) = (blobs("latest"), blobs("series_names"));
                let latest: std::collections::HashMap<String, Vec<u8>> =
                    latest.build_query_as().persistent(false).fetch_all(&mut **tx).await?.into_iter().collect();
                let names: std::collections::HashMap<String, Vec<u8>> =
                    names.build_query_as().persistent(false).fetch_all(&mut **tx).await?.into_iter().collect();
                for host in &hosts {
                    let head = (
                        latest.get(*host).map(|b| Latest::decode(b)).transpose()?.unwrap_or_default(),
                        names.get(*host).map(|b| Names::decode(b)).transpose()?,
                        false,
                    );
                    heads.insert(host, head);
                }
                // Names not stored (before they were kept, or cleared by
                // prune) are rebuilt from the series table, dropping
                // readings of series that are gone.
                let unnamed: Vec<&str> =
                    heads.iter().filter(|(_, h)| h.1.is_none()).map(|(host, _)| *host).collect();
                if !unnamed.is_empty() {
                    let mut select = sqlx::QueryBuilder::<$db>::new("SELECT host_id, id, name, source FROM series WHERE host_id IN (");
                    $crate::sql::push_list(&mut select, &unnamed);
                    let known: Vec<(String, i64, String, String)> =
                        select.build_query_as().persistent(false).fetch_all(&mut **tx).await?;
                    for host in &unnamed {
                        if let Some(head) = heads.get_mut(host) {
                            head.1 = Some(Names::default());
                            head.2 = true;
                        }
                    }
                    for (host, id, name, source) in known {
                        if let Some((_, Some(names), _)) = heads.get_mut(host.as_str()) {
                            names.0.insert(name, (id, source));
                        }
                    }
                    for host in &unnamed {
                        if let Some((latest, Some(names), _)) = heads.get_mut(host) {
                            let ids: std::collections::HashSet<i64> = names.0.values().map(|(id, _)| *id).collect();
                            latest.0.retain(|id, _| ids.contains(id));
                        }
                    }
                }
                // New names, and names another source now produces: the
                // last cycle's source wins, dated by the first that has it.
                let mut missing: BTreeMap<(&str, &str), (&str, i64)> = BTreeMap::new();
                for c in &cycles {
                    let Some((_, Some(names), _)) = heads.get(c.host_id.as_str()) else { continue };
                    for (name, (source, _)) in &c.parsed.values {
                        if names.0.get(name).is_none_or(|(_, s)| s != source) {
                            let at = missing.get(&(c.host_id.as_str(), name.as_str())).map_or(c.cycle.started_at_ms, |m| m.1);
                            missing.insert((c.host_id.as_str(), name.as_str()), (source.as_str(), at));
                        }
                    }
                }
                let rows: Vec<_> = missing.iter().collect();
                for chunk in rows.chunks(1000) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO series (host_id, name, source, last_at_ms) ",
                    );
                    insert.push_values(chunk, |mut row, ((host, name), (source, at))| {
                        row.push_bind(*host).push_bind(*name).push_bind(*source).push_bind(*at);
                    });
                    insert.push(" ON CONFLICT (host_id, name) DO UPDATE SET source = excluded.source RETURNING host_id, id, name, source");
                    let made: Vec<(String, i64, String, String)> =
                        insert.build_query_as().persistent(false).fetch_all(&mut **tx).await?;
                    for (host, id, name, source) in made {
                        if let Some((_, Some(names), added)) = heads.get_mut(host.as_str()) {
                            names.0.insert(name, (id, source));
                            *added = true;
                        }
                    }
                }
                let mut samples = Vec::with_capacity(cycles.len());
                for c in &cycles {
                    let Some((latest, Some(names), _)) = heads.get_mut(c.host_id.as_str()) else { continue };
                    let at_ms = c.cycle.started_at_ms;
                    let mut numbers = Vec::with_capacity(c.parsed.values.len());
                    for (name, (_, value)) in &c.parsed.values {
                        let Some(&(id, _)) = names.0.get(name) else { continue };
                        let value = match value {
                            Value::Number(n) => {
                                numbers.push((id, *n));
                                LatestValue::Number(*n)
                            }
                            Value::Text(t) => LatestValue::Text(t.clone()),
                        };
                        latest.offer(id, at_ms, value);
                    }
                    samples.push((c.host_id.as_str(), at_ms, $crate::head::encode_values(&numbers), c.received_at_ms));
                }
                Self::insert_samples(tx, &samples).await?;
                let latest: Vec<(&str, Vec<u8>)> = heads.iter().map(|(host, h)| (*host, h.0.encode())).collect();
                Self::put_blobs(tx, "latest", &latest).await?;
                let names: Vec<(&str, Vec<u8>)> = heads
                    .iter()
                    .filter(|(_, h)| h.2)
                    .filter_map(|(host, h)| Some((*host, h.1.as_ref()?.encode())))
                    .collect();
                Self::put_blobs(tx, "series_names", &names).await?;
                Ok(())
            }

            /// Head rows `(host_id, at_ms, data, received_at_ms)`.
            async fn insert_samples(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                samples: &[(&str, i64, Vec<u8>, i64)],
            ) -> Result<(), $crate::DbError> {
                for chunk in samples.chunks(1000) {
                    let mut insert = $crate::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO samples (host_id, at_ms, data, received_at_ms) ",
                    );
                    insert.push_values(chunk, |mut row, (host, at, data, received)| {
                        row.push_bind(*host).push_bind(*at).push_bind(data.as_slice()).push_bind(*received);
                    });
                    insert.build().persistent(false).execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Upserts `(host_id, data)` rows of a per-host blob table.
            async fn put_blobs(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                table: &'static str,
                rows: &[(&str, Vec<u8>)],
            ) -> Result<(), $crate::DbError> {
                for chunk in rows.chunks(1000) {
                    let mut upsert = $crate::sqlx::QueryBuilder::<$db>::new("INSERT INTO ");
                    upsert.push(table).push(" (host_id, data) ");
                    upsert.push_values(chunk, |mut row, (host, data)| {
                        row.push_bind(*host).push_bind(data.as_slice());
                    });
                    upsert.push(" ON CONFLICT (host_id) DO UPDATE SET data = excluded.data");
                    upsert.build().persistent(false).execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Deletes the rows of `table` with these ids.
            async fn delete_ids(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                table: &'static str,
                ids: &[i64],
            ) -> Result<(), $crate::DbError> {
                for chunk in ids.chunks(3000) {
                    let mut delete = $crate::sqlx::QueryBuilder::<$db>::new("DELETE FROM ");
                    delete.push(table).push(" WHERE id IN (");
                    let mut list = delete.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    delete.push(")");
                    delete.build().persistent(false).execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Plans packing the host's settled head results of each hour in
            /// `hours` (before `before_ms`) into its `output_hours` rows,
            /// merged with what an earlier pass packed there (a late
            /// cycle's), and removing them from the head.
            async fn plan_packs(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                host_id: &str,
                hours: &std::collections::BTreeSet<i64>,
                before_ms: i64,
                received_before_ms: i64,
                plan: &mut $crate::sql::Rewrite,
            ) -> Result<(), $crate::DbError> {
                use $crate::pack::{self, PackedResult};
                use $crate::sqlx;
                use std::collections::{BTreeMap, HashMap};
                for &hour_ms in hours {
                    let rows: Vec<$crate::HeadResultRow> = sqlx::query_as(
                        sqlx::AssertSqlSafe(format!(
                            "SELECT r.id, r.cycle_pk, r.parse_errors_json, {} \
                             FROM command_results r JOIN cycles c ON c.id = r.cycle_pk \
                             WHERE r.host_id = $1 AND r.started_at_ms >= $2 AND r.started_at_ms < $3 \
                             AND c.received_at_ms < $4 ORDER BY r.id",
                            $crate::sql::OUTPUT_COLUMNS
                        )),
                    )
                    .bind(host_id)
                    .bind(hour_ms)
                    .bind((hour_ms + $crate::chunk::HOUR_MS).min(before_ms))
                    .bind(received_before_ms)
                    .fetch_all(&mut *conn)
                    .await?;
                    if rows.is_empty() {
                        continue;
                    }
                    plan.results_gone.extend(rows.iter().map(|r| r.id));
                    let mut places: HashMap<i64, u32> = HashMap::new();
                    let mut fresh: BTreeMap<String, Vec<PackedResult>> = BTreeMap::new();
                    for mut row in rows {
                        let place = places.entry(row.cycle_pk).or_insert(0);
                        let position = *place;
                        *place += 1;
                        let name = std::mem::take(&mut row.row.name);
                        fresh.entry(name).or_default().push(row.into_packed(position)?);
                    }
                    let stored: HashMap<String, Vec<u8>> =
                        sqlx::query_as("SELECT name, data FROM output_hours WHERE host_id = $1 AND hour_ms = $2")
                            .bind(host_id)
                            .bind(hour_ms)
                            .fetch_all(&mut *conn)
                            .await?
                            .into_iter()
                            .collect();
                    for (name, results) in fresh {
                        let mut all = stored.get(&name).map(|d| pack::decode(d)).transpose()?.unwrap_or_default();
                        pack::merge(&mut all, results);
                        plan.packs.push((hour_ms, name, pack::encode(&all)?));
                    }
                }
                Ok(())
            }

            /// Each command's latest output of a host (or of command
            /// `name` only), from the head and the packed hours.
            async fn latest_of(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                host_id: &str,
                name: Option<&str>,
            ) -> Result<std::collections::BTreeMap<String, $crate::StoredOutput>, $crate::DbError> {
                use $crate::sqlx;
                // `CROSS JOIN` makes SQLite walk the few (name, latest)
                // pairs first and probe the index for each.
                let mut rows: Vec<$crate::OutputRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} \
                     FROM (SELECT name, MAX(started_at_ms) AS latest FROM command_results \
                       WHERE host_id = $1 AND ($2 IS NULL OR name = $2) GROUP BY name) m \
                     CROSS JOIN command_results r JOIN cycles c ON c.id = r.cycle_pk \
                     WHERE r.host_id = $1 AND r.name = m.name AND r.started_at_ms = m.latest \
                     ORDER BY r.name, r.id DESC",
                    $crate::sql::OUTPUT_COLUMNS
                )))
                .bind(host_id)
                .bind(name)
                .fetch_all(&mut *conn)
                .await?;
                rows.dedup_by(|later, first| later.name == first.name);
                let mut latest = std::collections::BTreeMap::new();
                for row in rows {
                    let output = $crate::StoredOutput::try_from(row)?;
                    latest.insert(output.name.clone(), output);
                }
                let hours: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT name, MAX(hour_ms) FROM output_hours WHERE host_id = $1 \
                     AND ($2 IS NULL OR name = $2) GROUP BY name",
                )
                .bind(host_id)
                .bind(name)
                .fetch_all(&mut *conn)
                .await?;
                for (name, hour_ms) in hours {
                    // The head is newer unless a late cycle went there.
                    let head_at = latest.get(&name).map(|o: &$crate::StoredOutput| o.started_at_ms);
                    if head_at.is_some_and(|at| at >= hour_ms + $crate::chunk::HOUR_MS) {
                        continue;
                    }
                    let data: Vec<u8> = sqlx::query_scalar(
                        "SELECT data FROM output_hours WHERE host_id = $1 AND name = $2 AND hour_ms = $3",
                    )
                    .bind(host_id)
                    .bind(&name)
                    .bind(hour_ms)
                    .fetch_one(&mut *conn)
                    .await?;
                    if let Some(last) = $crate::pack::decode(&data)?.pop()
                        && head_at.is_none_or(|at| at < last.started_at_ms)
                    {
                        latest.insert(name.clone(), last.into_output(&name));
                    }
                }
                Ok(latest)
            }

            /// What the agents of a batch's new cycles say of themselves,
            /// one statement for all hosts. It is taken in the order cycles
            /// reach the server (its own clock), never by the time the
            /// agent's clock gave: one cycle dated years ahead must not
            /// freeze it.
            async fn note_agents(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                cycles: &[&$crate::IncomingCycle],
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                // Per host: its latest cycle by agent time, and the last
                // received, whose report wins.
                let mut per_host: std::collections::BTreeMap<&str, (i64, &$crate::IncomingCycle)> =
                    std::collections::BTreeMap::new();
                for inc in cycles {
                    let entry = per_host.entry(inc.host_id.as_str()).or_insert((inc.cycle.started_at_ms, inc));
                    entry.0 = entry.0.max(inc.cycle.started_at_ms);
                    if inc.received_at_ms >= entry.1.received_at_ms {
                        entry.1 = inc;
                    }
                }
                if per_host.is_empty() {
                    return Ok(());
                }
                let rows: Vec<_> = per_host.into_iter().collect();
                for chunk in rows.chunks(1000) {
                    let mut update = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE hosts SET last_cycle_at_ms = CASE WHEN COALESCE(last_cycle_at_ms, 0) < v.column2 \
                         THEN v.column2 ELSE last_cycle_at_ms END, \
                         agent_version = CASE WHEN COALESCE(last_seen_at_ms, 0) <= v.column8 THEN v.column3 ELSE agent_version END, \
                         agent_hostname = CASE WHEN COALESCE(last_seen_at_ms, 0) <= v.column8 THEN v.column4 ELSE agent_hostname END, \
                         agent_os = CASE WHEN COALESCE(last_seen_at_ms, 0) <= v.column8 THEN v.column5 ELSE agent_os END, \
                         agent_arch = CASE WHEN COALESCE(last_seen_at_ms, 0) <= v.column8 THEN v.column6 ELSE agent_arch END, \
                         allowlist_json = CASE WHEN COALESCE(last_seen_at_ms, 0) <= v.column8 THEN v.column7 ELSE allowlist_json END, \
                         last_seen_at_ms = CASE WHEN COALESCE(last_seen_at_ms, 0) < v.column8 THEN v.column8 ELSE last_seen_at_ms END \
                         FROM (",
                    );
                    update.push_values(chunk, |mut row, (host, (started, inc))| {
                        let agent = &inc.cycle.agent;
                        row.push_bind(*host)
                            .push_bind(*started)
                            .push_bind(agent.version.as_str())
                            .push_bind(agent.hostname.as_str())
                            .push_bind(agent.os.as_str())
                            .push_bind(agent.arch.as_str())
                            .push_bind(inc.allowlist_json())
                            .push_bind(inc.received_at_ms);
                    });
                    update.push(") AS v WHERE hosts.id = v.column1");
                    update.build().persistent(false).execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn load_latest(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                host_id: &str,
            ) -> Result<$crate::head::Latest, $crate::DbError> {
                let stored: Option<Vec<u8>> =
                    $crate::sqlx::query_scalar("SELECT data FROM latest WHERE host_id = $1")
                        .bind(host_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                stored.map_or_else(|| Ok($crate::head::Latest::default()), |b| $crate::head::Latest::decode(&b))
            }

            /// Writes the host's latest readings, and its names when given.
            async fn save_latest(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                host_id: &str,
                latest: &$crate::head::Latest,
                names: Option<&$crate::head::Names>,
            ) -> Result<(), $crate::DbError> {
                Self::put_blobs(&mut *conn, "latest", &[(host_id, latest.encode())]).await?;
                if let Some(names) = names {
                    Self::put_blobs(&mut *conn, "series_names", &[(host_id, names.encode())]).await?;
                }
                Ok(())
            }

            /// The head's values of series `id` of a host in `[from, to)`,
            /// oldest first; at one time the latest write wins.
            async fn head_points(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                host_id: &str,
                id: i64,
                from_ms: i64,
                to_ms: i64,
            ) -> Result<Vec<(i64, f64)>, $crate::DbError> {
                let rows: Vec<(i64, Vec<u8>)> = $crate::sqlx::query_as(
                    "SELECT at_ms, data FROM samples WHERE host_id = $1 AND at_ms >= $2 AND at_ms < $3 \
                     ORDER BY at_ms, id",
                )
                .bind(host_id)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(&mut *conn)
                .await?;
                let mut points: Vec<(i64, f64)> = Vec::new();
                for (at_ms, data) in rows {
                    for (sid, value) in $crate::head::decode_values(&data)? {
                        if sid != id {
                            continue;
                        }
                        match points.last_mut() {
                            Some(last) if last.0 == at_ms => last.1 = value,
                            _ => points.push((at_ms, value)),
                        }
                    }
                }
                Ok(points)
            }

            /// The host's series with their latest readings: the head's
            /// latest row overrides what the series rows hold.
            async fn series_with_latest(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                host_id: &str,
            ) -> Result<Vec<$crate::SeriesInfo>, $crate::DbError> {
                use $crate::head::{Latest, LatestValue};
                let rows: Vec<(i64, String, String, i64, Option<f64>, Option<String>)> =
                    $crate::sqlx::query_as(
                        "SELECT id, name, source, last_at_ms, last_value, last_text FROM series \
                         WHERE host_id = $1 ORDER BY name",
                    )
                    .bind(host_id)
                    .fetch_all(&mut *conn)
                    .await?;
                let latest = Self::load_latest(&mut *conn, host_id).await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, name, source, last_at_ms, last_value, last_text)| {
                        let mut info = $crate::SeriesInfo { name, source, last_at_ms, last_value, last_text };
                        if let Some((at, value)) = latest.0.get(&id).filter(|(at, _)| *at >= last_at_ms) {
                            info.last_at_ms = *at;
                            (info.last_value, info.last_text) = match value {
                                LatestValue::Number(n) => (Some(*n), None),
                                LatestValue::Text(t) => (None, Some(t.clone())),
                            };
                        }
                        info
                    })
                    .collect())
            }

            /// Folds a host's values (hour → series → time → value; a value
            /// replaces one stored at its time) into its hour chunks, and
            /// recomputes those hours in the series' days of hourly
            /// aggregates. An hour whose chunk is gone (its raw values
            /// pruned) adds to the aggregates it already has. A block of
            /// hours ending by `closed_before_ms`, or already kept whole, is
            /// written as one row. The caller holds the host's row lock.
            async fn fold(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                host_id: &str,
                values: &$crate::chunk::Folding,
                closed_before_ms: i64,
            ) -> Result<(), $crate::DbError> {
                let mut plan = $crate::sql::Rewrite::default();
                Self::plan_fold(&mut *conn, host_id, values, closed_before_ms, &mut plan).await?;
                Self::apply(&mut *conn, host_id, &plan).await
            }

            /// What `fold` reads and computes, for `apply` to write.
            async fn plan_fold(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                host_id: &str,
                values: &$crate::chunk::Folding,
                closed_before_ms: i64,
                plan: &mut $crate::sql::Rewrite,
            ) -> Result<(), $crate::DbError> {
                use $crate::chunk::{self, BLOCK_MS, Day, Hour, HourAgg};
                use $crate::series::bucket_start;
                use $crate::sqlx;
                use std::collections::{BTreeMap, BTreeSet};
                let (Some(first), Some(last)) = (values.keys().next(), values.keys().next_back()) else {
                    return Ok(());
                };
                let stored: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT hour_ms, data FROM chunks WHERE host_id = $1 AND hour_ms >= $2 AND hour_ms < $3",
                )
                .bind(host_id)
                .bind(bucket_start(*first, BLOCK_MS))
                .bind(bucket_start(*last, BLOCK_MS) + BLOCK_MS)
                .fetch_all(&mut *conn)
                .await?;
                let mut stored: BTreeMap<i64, Vec<u8>> = stored.into_iter().collect();
                let keys: BTreeSet<i64> = stored.keys().copied().collect();
                let blocks: BTreeSet<i64> = values.keys().map(|h| bucket_start(*h, BLOCK_MS)).collect();
                // The stored hours of the blocks folded into, by hour: all of
                // a block written whole, else the hours folded now and the
                // block's first row (which may hold the block).
                let mut known: BTreeMap<i64, Hour> = BTreeMap::new();
                let mut whole = BTreeSet::new();
                let unpack = |known: &mut BTreeMap<i64, Hour>, key: i64, bytes: &[u8]| -> Result<bool, $crate::DbError> {
                    let split = chunk::split_hours(chunk::decode_hour(key, bytes)?);
                    let spans = split.keys().any(|h| *h != key);
                    for (hour_ms, part) in split {
                        chunk::merge_into(known.entry(hour_ms).or_default(), &part);
                    }
                    Ok(spans)
                };
                for &block in &blocks {
                    let spans = match stored.remove(&block) {
                        Some(bytes) => unpack(&mut known, block, &bytes)?,
                        None => false,
                    };
                    if spans || block + BLOCK_MS <= closed_before_ms {
                        whole.insert(block);
                        for key in keys.range(block + 1..block + BLOCK_MS) {
                            if let Some(bytes) = stored.remove(key) {
                                unpack(&mut known, *key, &bytes)?;
                            }
                        }
                    }
                }
                for hour_ms in values.keys() {
                    if let Some(bytes) = stored.remove(hour_ms) {
                        unpack(&mut known, *hour_ms, &bytes)?;
                    }
                }
                // (series, day) → its hours folded now, and whether each adds.
                let mut hours: BTreeMap<(i64, i64), Vec<(u8, HourAgg, bool)>> = BTreeMap::new();
                for (&hour_ms, new) in values {
                    let existed = known.remove(&hour_ms);
                    let adds = existed.is_none();
                    let mut hour = existed.unwrap_or_default();
                    let mut folded = Hour::new();
                    for (&id, points) in new {
                        folded.insert(id, points.iter().map(|(at, v)| (*at, *v)).collect());
                    }
                    chunk::merge_into(&mut hour, &folded);
                    for id in new.keys() {
                        if let Some(agg) = hour.get(id).and_then(|series| HourAgg::of(series)) {
                            let (day, h) = chunk::day_and_hour(hour_ms);
                            hours.entry((*id, day)).or_default().push((h, agg, adds));
                        }
                    }
                    known.insert(hour_ms, hour);
                }
                for &block in &blocks {
                    if whole.contains(&block) {
                        let mut all = Hour::new();
                        for (_, hour) in known.range(block..block + BLOCK_MS) {
                            chunk::merge_into(&mut all, hour);
                        }
                        plan.chunks.push((block, chunk::encode_hour(block, &all)));
                        plan.chunks_gone.extend(keys.range(block + 1..block + BLOCK_MS));
                    } else {
                        for hour_ms in values.keys().filter(|h| bucket_start(**h, BLOCK_MS) == block) {
                            if let Some(hour) = known.get(hour_ms) {
                                plan.chunks.push((*hour_ms, chunk::encode_hour(*hour_ms, hour)));
                            }
                        }
                    }
                }
                let first_day = hours.keys().map(|k| k.1).min();
                let last_day = hours.keys().map(|k| k.1).max();
                let (Some(first_day), Some(last_day)) = (first_day, last_day) else {
                    return Ok(());
                };
                let known: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT series_id, day_ms, data FROM trends WHERE day_ms >= $2 AND day_ms <= $3 \
                     AND series_id IN (SELECT id FROM series WHERE host_id = $1)",
                )
                .bind(host_id)
                .bind(first_day)
                .bind(last_day)
                .fetch_all(&mut *conn)
                .await?;
                let mut known: BTreeMap<(i64, i64), Vec<u8>> =
                    known.into_iter().map(|(id, day, data)| ((id, day), data)).collect();
                for ((id, day_ms), folded) in hours {
                    let mut day: Day = known.remove(&(id, day_ms)).map(|b| chunk::decode_day(&b)).transpose()?.unwrap_or_default();
                    for (h, agg, adds) in folded {
                        match day.get_mut(&h) {
                            Some(had) if adds => had.add(&agg),
                            _ => {
                                day.insert(h, agg);
                            }
                        }
                    }
                    plan.days.push((id, day_ms, chunk::encode_day(&day)));
                }
                Ok(())
            }

            /// Writes what the plans of a fold and a pack computed.
            async fn apply(
                conn: &mut <$db as $crate::sqlx::Database>::Connection,
                host_id: &str,
                plan: &$crate::sql::Rewrite,
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                for part in plan.chunks_gone.chunks(500) {
                    let mut delete = sqlx::QueryBuilder::<$db>::new("DELETE FROM chunks WHERE host_id = ");
                    delete.push_bind(host_id).push(" AND hour_ms IN (");
                    let mut list = delete.separated(", ");
                    for hour_ms in part {
                        list.push_bind(*hour_ms);
                    }
                    delete.push(")");
                    delete.build().persistent(false).execute(&mut *conn).await?;
                }
                for part in plan.chunks.chunks(32) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new("INSERT INTO chunks (host_id, hour_ms, data) ");
                    insert.push_values(part, |mut row, (hour_ms, data)| {
                        row.push_bind(host_id).push_bind(*hour_ms).push_bind(data.as_slice());
                    });
                    insert.push(" ON CONFLICT (host_id, hour_ms) DO UPDATE SET data = excluded.data");
                    insert.build().persistent(false).execute(&mut *conn).await?;
                }
                for part in plan.days.chunks(500) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new("INSERT INTO trends (series_id, day_ms, data) ");
                    insert.push_values(part, |mut row, (id, day_ms, data)| {
                        row.push_bind(*id).push_bind(*day_ms).push_bind(data.as_slice());
                    });
                    insert.push(" ON CONFLICT (series_id, day_ms) DO UPDATE SET data = excluded.data");
                    insert.build().persistent(false).execute(&mut *conn).await?;
                }
                // When each series was last seen: a variable silent for the
                // roll-up retention is pruned.
                for part in plan.last_seen.chunks(3000) {
                    let mut update = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE series SET last_at_ms = v.column2 FROM (",
                    );
                    update.push_values(part, |mut row, (id, at)| {
                        row.push_bind(*id).push_bind(*at);
                    });
                    update.push(") AS v WHERE series.id = v.column1 AND series.last_at_ms < v.column2");
                    update.build().persistent(false).execute(&mut *conn).await?;
                }
                Self::delete_ids(&mut *conn, "samples", &plan.samples_gone).await?;
                for part in plan.packs.chunks(64) {
                    let mut upsert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO output_hours (host_id, name, hour_ms, data) ",
                    );
                    upsert.push_values(part, |mut row, (hour_ms, name, data)| {
                        row.push_bind(host_id).push_bind(name.as_str()).push_bind(*hour_ms).push_bind(data.as_slice());
                    });
                    upsert.push(" ON CONFLICT (host_id, name, hour_ms) DO UPDATE SET data = excluded.data");
                    upsert.build().persistent(false).execute(&mut *conn).await?;
                }
                Self::delete_ids(&mut *conn, "command_results", &plan.results_gone).await?;
                Ok(())
            }

            /// Moves the history a release before chunks kept (`points`,
            /// `rollups`) into chunks and days, one host per transaction
            /// under its row lock, so nodes starting together convert each
            /// host once. Returns the hosts converted.
            pub async fn convert_legacy(&self) -> Result<u64, $crate::DbError> {
                use $crate::chunk::{self, Day, HourAgg};
                use $crate::sqlx;
                use std::collections::BTreeMap;
                let hosts: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM hosts h WHERE EXISTS (SELECT 1 FROM series s WHERE s.host_id = h.id AND \
                     (EXISTS (SELECT 1 FROM points p WHERE p.series_id = s.id) \
                     OR EXISTS (SELECT 1 FROM rollups r WHERE r.series_id = s.id)))",
                )
                .fetch_all(&self.pool)
                .await?;
                for host_id in &hosts {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("UPDATE hosts SET id = id WHERE id = $1")
                        .bind(host_id)
                        .execute(&mut *tx)
                        .await?;
                    let points: Vec<(i64, i64, f64)> = sqlx::query_as(
                        "SELECT p.series_id, p.at_ms, p.value FROM points p JOIN series s ON s.id = p.series_id \
                         WHERE s.host_id = $1",
                    )
                    .bind(host_id)
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut folding = chunk::Folding::new();
                    for (id, at_ms, value) in points {
                        chunk::offer(&mut folding, id, at_ms, value);
                    }
                    Self::fold(&mut tx, host_id, &folding, i64::MIN).await?;
                    // Hours whose raw points were pruned live on in roll-ups.
                    let hourly: Vec<(i64, i64, f64, f64, f64, i64, f64)> = sqlx::query_as(
                        "SELECT r.series_id, r.bucket_ms, r.min, r.max, r.sum, r.count, r.last FROM rollups r \
                         JOIN series s ON s.id = r.series_id WHERE s.host_id = $1 AND r.res_ms = $2",
                    )
                    .bind(host_id)
                    .bind(chunk::HOUR_MS)
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut days: BTreeMap<(i64, i64), Vec<(u8, HourAgg)>> = BTreeMap::new();
                    for (id, at_ms, min, max, sum, count, last) in hourly {
                        let (day, h) = chunk::day_and_hour(at_ms);
                        let count = u32::try_from(count).unwrap_or(u32::MAX);
                        days.entry((id, day)).or_default().push((h, HourAgg { min, max, sum, count, last }));
                    }
                    for ((id, day_ms), hours) in days {
                        let stored: Option<Vec<u8>> =
                            sqlx::query_scalar("SELECT data FROM trends WHERE series_id = $1 AND day_ms = $2")
                                .bind(id)
                                .bind(day_ms)
                                .fetch_optional(&mut *tx)
                                .await?;
                        let mut day: Day = stored.map(|b| chunk::decode_day(&b)).transpose()?.unwrap_or_default();
                        for (h, agg) in hours {
                            day.entry(h).or_insert(agg);
                        }
                        sqlx::query(
                            "INSERT INTO trends (series_id, day_ms, data) VALUES ($1, $2, $3) \
                             ON CONFLICT (series_id, day_ms) DO UPDATE SET data = excluded.data",
                        )
                        .bind(id)
                        .bind(day_ms)
                        .bind(chunk::encode_day(&day))
                        .execute(&mut *tx)
                        .await?;
                    }
                    for table in ["points", "rollups"] {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DELETE FROM {table} WHERE series_id IN (SELECT id FROM series WHERE host_id = $1)"
                        )))
                        .bind(host_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                }
                Ok(hosts.len() as u64)
            }
        }

        impl $crate::Database for $store {
            async fn create_host(
                &self,
                host: &$crate::NewHost,
            ) -> Result<$crate::Host, $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    // No workspace named: the first one (if the owner exists yet).
                    "INSERT INTO hosts (id, name, key_hash, created_at_ms, workspace_id) VALUES ($1, $2, $3, $4, \
                     COALESCE($5, (SELECT id FROM workspaces ORDER BY created_at_ms, id LIMIT 1)))",
                )
                .bind(&host.id)
                .bind(&host.name)
                .bind(&host.key_hash)
                .bind(host.created_at_ms)
                .bind(&host.workspace_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| $crate::DbError::unique_name(e, "host", &host.name))?;
                for source in &host.sources {
                    sqlx::query(
                        "INSERT INTO data_sources (host_id, command_name, created_at_ms, parser_json) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&host.id)
                    .bind(&source.name)
                    .bind(host.created_at_ms)
                    .bind(source.parser.as_ref().map($crate::json_text))
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
                let mut found: Vec<$crate::Host> = $crate::sqlx::query_as($crate::sqlx::AssertSqlSafe(format!(
                    "{} WHERE name = $1 AND removed_at_ms IS NULL LIMIT 2",
                    $crate::sql::HOST_SELECT
                )))
                .bind(name)
                .fetch_all(&self.pool)
                .await?;
                match found.len() {
                    0 => Err($crate::DbError::NotFound),
                    1 => Ok(found.remove(0)),
                    _ => Err($crate::DbError::Conflict(format!(
                        "hosts in several workspaces are called {name:?}: name one by its id"
                    ))),
                }
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
                $crate::DbError::expect_one(done.rows_affected())
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

            async fn data_sources(
                &self,
                host_id: &str,
            ) -> Result<Vec<$crate::DataSource>, $crate::DbError> {
                let rows: Vec<$crate::DataSourceRow> = $crate::sqlx::query_as(
                    "SELECT d.command_name, COALESCE(t.parser_json, d.parser_json) AS parser_json, \
                     d.template_id, d.created_at_ms FROM data_sources d \
                     LEFT JOIN templates t ON t.id = d.template_id \
                     WHERE d.host_id = $1 ORDER BY d.command_name",
                )
                .bind(host_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn set_commands(
                &self,
                host_id: &str,
                sources: &[$crate::NewSource],
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                let exists: Option<String> = sqlx::query_scalar("SELECT id FROM hosts WHERE id = $1")
                    .bind(host_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Err($crate::DbError::NotFound);
                }
                let current: Vec<String> =
                    sqlx::query_scalar("SELECT command_name FROM data_sources WHERE host_id = $1")
                        .bind(host_id)
                        .fetch_all(&mut *tx)
                        .await?;
                for name in current {
                    if !sources.iter().any(|s| s.name == name) {
                        sqlx::query("DELETE FROM data_sources WHERE host_id = $1 AND command_name = $2")
                            .bind(host_id)
                            .bind(&name)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                for source in sources {
                    sqlx::query(
                        "INSERT INTO data_sources (host_id, command_name, created_at_ms, parser_json) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(host_id)
                    .bind(&source.name)
                    .bind(at_ms)
                    .bind(source.parser.as_ref().map($crate::json_text))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn put_data_source(
                &self,
                host_id: &str,
                name: &str,
                parser: Option<&$crate::ParserConfig>,
                template_id: Option<&str>,
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                if let Some(id) = template_id {
                    self.template(id).await?;
                }
                $crate::sqlx::query(
                    "INSERT INTO data_sources (host_id, command_name, created_at_ms, parser_json, template_id) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host_id, command_name) DO UPDATE SET \
                     parser_json = excluded.parser_json, template_id = excluded.template_id",
                )
                .bind(host_id)
                .bind(name)
                .bind(at_ms)
                .bind(parser.map($crate::json_text))
                .bind(template_id)
                .execute(&self.pool)
                .await
                .map_err($crate::DbError::missing_parent)?;
                Ok(())
            }

            async fn delete_data_source(&self, host_id: &str, name: &str) -> Result<(), $crate::DbError> {
                let done = $crate::sqlx::query(
                    "DELETE FROM data_sources WHERE host_id = $1 AND command_name = $2",
                )
                .bind(host_id)
                .bind(name)
                .execute(&self.pool)
                .await?;
                $crate::DbError::expect_one(done.rows_affected())
            }

            async fn templates(&self) -> Result<Vec<$crate::Template>, $crate::DbError> {
                let rows: Vec<$crate::TemplateRow> = $crate::sqlx::query_as(
                    "SELECT id, name, command_name, parser_json, created_at_ms, updated_at_ms \
                     FROM templates ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn template(&self, id: &str) -> Result<$crate::Template, $crate::DbError> {
                let row: $crate::TemplateRow = $crate::sqlx::query_as(
                    "SELECT id, name, command_name, parser_json, created_at_ms, updated_at_ms \
                     FROM templates WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or($crate::DbError::NotFound)?;
                row.try_into()
            }

            async fn put_template(&self, t: &$crate::Template) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO templates (id, name, command_name, parser_json, created_at_ms, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                     command_name = excluded.command_name, parser_json = excluded.parser_json, \
                     updated_at_ms = excluded.updated_at_ms",
                )
                .bind(&t.id)
                .bind(&t.name)
                .bind(&t.command_name)
                .bind($crate::json_text(&t.parser))
                .bind(t.created_at_ms)
                .bind(t.updated_at_ms)
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::DbError::unique_name(e, "template", &t.name))?;
                Ok(())
            }

            async fn delete_template(&self, id: &str) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "UPDATE data_sources SET parser_json = (SELECT parser_json FROM templates WHERE id = $1), \
                     template_id = NULL WHERE template_id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let done = sqlx::query("DELETE FROM templates WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                $crate::DbError::expect_one(done.rows_affected())?;
                tx.commit().await?;
                Ok(())
            }

            async fn apply_template(
                &self,
                id: &str,
                host_ids: &[String],
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                let template = self.template(id).await?;
                let mut tx = self.begin_write().await?;
                for host_id in host_ids {
                    let exists: Option<String> =
                        sqlx::query_scalar("SELECT id FROM hosts WHERE id = $1")
                            .bind(host_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if exists.is_none() {
                        return Err($crate::DbError::NotFound);
                    }
                    sqlx::query(
                        "INSERT INTO data_sources (host_id, command_name, created_at_ms, template_id) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (host_id, command_name) DO UPDATE SET \
                         template_id = excluded.template_id",
                    )
                    .bind(host_id)
                    .bind(&template.command_name)
                    .bind(at_ms)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn derived(&self, host_id: &str) -> Result<Vec<$crate::Derived>, $crate::DbError> {
                let rows: Vec<$crate::DerivedRow> = $crate::sqlx::query_as(
                    "SELECT spec_json FROM derived_variables WHERE host_id = $1 \
                     ORDER BY created_at_ms, name",
                )
                .bind(host_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn put_derived(
                &self,
                host_id: &str,
                derived: &$crate::Derived,
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO derived_variables (host_id, name, spec_json, created_at_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (host_id, name) DO UPDATE SET \
                     spec_json = excluded.spec_json",
                )
                .bind(host_id)
                .bind(&derived.name)
                .bind($crate::json_text(derived))
                .bind(at_ms)
                .execute(&self.pool)
                .await
                .map_err($crate::DbError::missing_parent)?;
                Ok(())
            }

            async fn delete_derived(&self, host_id: &str, name: &str) -> Result<(), $crate::DbError> {
                let done = $crate::sqlx::query(
                    "DELETE FROM derived_variables WHERE host_id = $1 AND name = $2",
                )
                .bind(host_id)
                .bind(name)
                .execute(&self.pool)
                .await?;
                $crate::DbError::expect_one(done.rows_affected())
            }

            async fn readings_before(
                &self,
                host_id: &str,
                names: &[String],
                before_ms: i64,
            ) -> Result<Vec<(String, $crate::Reading)>, $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_read().await?;
                let ids: Vec<(i64, String)> =
                    sqlx::query_as("SELECT id, name FROM series WHERE host_id = $1")
                        .bind(host_id)
                        .fetch_all(&mut *tx)
                        .await?;
                let wanted: std::collections::HashMap<i64, &String> = ids
                    .iter()
                    .filter(|(_, name)| names.contains(name))
                    .map(|(id, name)| (*id, name))
                    .collect();
                // The head's last writes first: a counter's previous reading
                // is nearly always in the cycle before.
                let recent: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT at_ms, data FROM samples WHERE host_id = $1 AND at_ms < $2 \
                     ORDER BY at_ms DESC, id DESC LIMIT 10",
                )
                .bind(host_id)
                .bind(before_ms)
                .fetch_all(&mut *tx)
                .await?;
                let mut found: std::collections::BTreeMap<String, $crate::Reading> =
                    std::collections::BTreeMap::new();
                for (at_ms, data) in recent {
                    for (id, value) in $crate::head::decode_values(&data)? {
                        if let Some(name) = wanted.get(&id) {
                            found
                                .entry((*name).clone())
                                .or_insert($crate::Reading { at_ms, value });
                        }
                    }
                }
                // Then the host's last few compacted hours.
                if found.len() < wanted.len() {
                    let hours: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                        "SELECT hour_ms, data FROM chunks WHERE host_id = $1 AND hour_ms < $2 \
                         ORDER BY hour_ms DESC LIMIT 3",
                    )
                    .bind(host_id)
                    .bind(before_ms)
                    .fetch_all(&mut *tx)
                    .await?;
                    for (hour_ms, data) in hours {
                        for (id, name) in &wanted {
                            if found.contains_key(*name) {
                                continue;
                            }
                            let points = $crate::chunk::decode_series(hour_ms, &data, *id)?;
                            if let Some(&(at_ms, value)) = points.iter().rev().find(|p| p.0 < before_ms) {
                                found.insert((*name).clone(), $crate::Reading { at_ms, value });
                            }
                        }
                    }
                }
                tx.commit().await?;
                Ok(found.into_iter().collect())
            }

            /// Writes a batch in a few statements whatever its size: one
            /// per table, not one per cycle or value, so a thread hop per
            /// statement does not bound ingest.
            async fn store_cycles(
                &self,
                batch: &[$crate::IncomingCycle],
            ) -> Result<Vec<$crate::Stored>, $crate::DbError> {
                use $crate::sqlx;
                let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                let mut tx = self.begin_write().await?;
                let mut hosts = $crate::sql::distinct(batch.iter().map(|c| c.host_id.as_str()));
                hosts.sort_unstable();
                // The hosts' rows, in one order on every node: two batches
                // sharing hosts wait for each other instead of deadlocking.
                // They also keep two nodes from interleaving their writes of
                // a host's latest readings.
                if !Self::LOCK_ROWS.is_empty() && !hosts.is_empty() {
                    let mut lock = sqlx::QueryBuilder::<$db>::new("SELECT id FROM hosts WHERE id IN (");
                    $crate::sql::push_list(&mut lock, &hosts);
                    lock.push(" ORDER BY id");
                    lock.push(Self::LOCK_ROWS);
                    lock.build().persistent(false).execute(&mut *tx).await?;
                }
                let mut made = std::collections::HashMap::new();
                for chunk in batch.chunks(1000) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO cycles (host_id, cycle_id, started_at_ms, received_at_ms, duration_ms, \
                         agent_version, spool_dropped, rejected_json, derived_errors_json) ",
                    );
                    insert.push_values(chunk, |mut row, inc| {
                        let c = &inc.cycle;
                        row.push_bind(inc.host_id.as_str())
                            .push_bind(c.cycle_id.as_str())
                            .push_bind(c.started_at_ms)
                            .push_bind(inc.received_at_ms)
                            .push_bind(to_i64(c.duration_ms))
                            .push_bind(c.agent.version.as_str())
                            .push_bind(to_i64(c.spool_dropped))
                            .push_bind(inc.rejected_json())
                            .push_bind(inc.derived_errors_json());
                    });
                    insert.push(" ON CONFLICT (host_id, cycle_id) DO NOTHING RETURNING id, host_id, cycle_id");
                    let rows: Vec<(i64, String, String)> =
                        insert.build_query_as().persistent(false).fetch_all(&mut *tx).await?;
                    made.extend(rows.into_iter().map(|(pk, host, cycle)| ((host, cycle), pk)));
                }
                // A cycle sent twice in one batch is new once.
                let mut fresh: Vec<(i64, &$crate::IncomingCycle)> = Vec::with_capacity(batch.len());
                let outcome: Vec<$crate::Stored> = batch
                    .iter()
                    .map(|inc| match made.remove(&(inc.host_id.clone(), inc.cycle.cycle_id.clone())) {
                        Some(pk) => {
                            fresh.push((pk, inc));
                            $crate::Stored::New
                        }
                        None => $crate::Stored::Duplicate,
                    })
                    .collect();
                let results: Vec<(i64, &$crate::IncomingCycle, usize)> = fresh
                    .iter()
                    .flat_map(|&(pk, inc)| (0..inc.cycle.results.len()).map(move |i| (pk, inc, i)))
                    .collect();
                for chunk in results.chunks(2000) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO command_results (cycle_pk, host_id, name, started_at_ms, duration_ms, \
                         exit_code, signal, timed_out, truncated, output, output_encoding, output_bytes, \
                         parse_errors_json) ",
                    );
                    insert.push_values(chunk, |mut row, &(pk, inc, i)| {
                        let r = &inc.cycle.results[i];
                        let (output, encoding) = inc.packed_output(i);
                        row.push_bind(pk)
                            .push_bind(inc.host_id.as_str())
                            .push_bind(r.name.as_str())
                            .push_bind(inc.cycle.started_at_ms)
                            .push_bind(to_i64(r.duration_ms))
                            .push_bind(r.exit_code)
                            .push_bind(r.signal)
                            .push_bind(r.timed_out)
                            .push_bind(r.truncated)
                            .push_bind(output)
                            .push_bind(encoding)
                            .push_bind(to_i64(r.output.len() as u64))
                            .push_bind(inc.parse_errors_json(&r.name));
                    });
                    insert.build().persistent(false).execute(&mut *tx).await?;
                }
                let cycles: Vec<&$crate::IncomingCycle> = fresh.iter().map(|(_, inc)| *inc).collect();
                Self::note_agents(&mut tx, &cycles).await?;
                Self::store_values(&mut tx, &cycles).await?;
                // A cycle without values still leaves a head row: the
                // compactor packs a cycle's outputs when it folds its row.
                let empty = $crate::head::encode_values(&[]);
                let bare: Vec<(&str, i64, Vec<u8>, i64)> = cycles
                    .iter()
                    .filter(|c| c.parsed.values.is_empty())
                    .map(|c| (c.host_id.as_str(), c.cycle.started_at_ms, empty.clone(), c.received_at_ms))
                    .collect();
                Self::insert_samples(&mut tx, &bare).await?;
                // The alert step, cycle by cycle, for the hosts it can
                // change: those with rules, and those heard again after
                // going silent.
                let fresh_hosts = $crate::sql::distinct(cycles.iter().map(|c| c.host_id.as_str()));
                if !fresh_hosts.is_empty() {
                    let mut select = sqlx::QueryBuilder::<$db>::new("SELECT host_id FROM alert_rules WHERE host_id IN (");
                    $crate::sql::push_list(&mut select, &fresh_hosts);
                    select.push(" UNION SELECT host_id FROM alert_states WHERE variable = '' AND state = ");
                    select.push_bind($crate::readout_alerting::State::Silent.as_str());
                    select.push(" AND host_id IN (");
                    $crate::sql::push_list(&mut select, &fresh_hosts);
                    let alerted: std::collections::HashSet<String> =
                        select.build_query_scalar().persistent(false).fetch_all(&mut *tx).await?.into_iter().collect();
                    for inc in cycles.iter().filter(|c| alerted.contains(&c.host_id)) {
                        Self::alert_cycle(&mut tx, inc).await?;
                    }
                }
                tx.commit().await?;
                Ok(outcome)
            }

            async fn latest_outputs(
                &self,
                host_id: &str,
            ) -> Result<Vec<$crate::StoredOutput>, $crate::DbError> {
                let mut tx = self.begin_read().await?;
                let latest = Self::latest_of(&mut tx, host_id, None).await?;
                tx.commit().await?;
                Ok(latest.into_values().collect())
            }

            async fn output(
                &self,
                host_id: &str,
                name: &str,
                cycle_id: Option<&str>,
            ) -> Result<$crate::StoredOutput, $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_read().await?;
                let Some(cycle_id) = cycle_id else {
                    let found = Self::latest_of(&mut tx, host_id, Some(name)).await?.remove(name);
                    tx.commit().await?;
                    return found.ok_or($crate::DbError::NotFound);
                };
                let row: Option<$crate::OutputRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM command_results r JOIN cycles c ON c.id = r.cycle_pk \
                     WHERE r.host_id = $1 AND r.name = $2 AND c.cycle_id = $3 \
                     ORDER BY r.id DESC LIMIT 1",
                    $crate::sql::OUTPUT_COLUMNS
                )))
                .bind(host_id)
                .bind(name)
                .bind(cycle_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = row {
                    tx.commit().await?;
                    return row.try_into();
                }
                // Not in the head: in the pack of its cycle's hour.
                let cycle: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT id, started_at_ms FROM cycles WHERE host_id = $1 AND cycle_id = $2",
                )
                .bind(host_id)
                .bind(cycle_id)
                .fetch_optional(&mut *tx)
                .await?;
                let (cycle_pk, started_at_ms) = cycle.ok_or($crate::DbError::NotFound)?;
                let data: Option<Vec<u8>> = sqlx::query_scalar(
                    "SELECT data FROM output_hours WHERE host_id = $1 AND name = $2 AND hour_ms = $3",
                )
                .bind(host_id)
                .bind(name)
                .bind($crate::series::bucket_start(started_at_ms, $crate::chunk::HOUR_MS))
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                let data = data.ok_or($crate::DbError::NotFound)?;
                $crate::pack::decode(&data)?
                    .into_iter()
                    .find(|r| r.cycle_pk == cycle_pk)
                    .map(|r| r.into_output(name))
                    .ok_or($crate::DbError::NotFound)
            }

            async fn outputs_between(
                &self,
                host_id: &str,
                name: &str,
                from_ms: i64,
                to_ms: i64,
                limit: u32,
            ) -> Result<Vec<$crate::StoredOutput>, $crate::DbError> {
                use $crate::sqlx;
                let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
                let mut tx = self.begin_read().await?;
                let rows: Vec<$crate::OutputRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM command_results r JOIN cycles c ON c.id = r.cycle_pk \
                     WHERE r.host_id = $1 AND r.name = $2 AND r.started_at_ms >= $3 \
                     AND r.started_at_ms < $4 ORDER BY r.started_at_ms, r.id LIMIT $5",
                    $crate::sql::OUTPUT_COLUMNS
                )))
                .bind(host_id)
                .bind(name)
                .bind(from_ms)
                .bind(to_ms)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
                let mut found: Vec<$crate::StoredOutput> =
                    rows.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
                // Packed hours in order, a few at a time, until they alone
                // fill the page: later ones could only come after it.
                let mut packed = 0;
                let mut after = $crate::series::bucket_start(from_ms, $crate::chunk::HOUR_MS) - 1;
                while packed < wanted {
                    let hours: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                        "SELECT hour_ms, data FROM output_hours WHERE host_id = $1 AND name = $2 \
                         AND hour_ms > $3 AND hour_ms < $4 ORDER BY hour_ms LIMIT 8",
                    )
                    .bind(host_id)
                    .bind(name)
                    .bind(after)
                    .bind(to_ms)
                    .fetch_all(&mut *tx)
                    .await?;
                    let Some(last) = hours.last() else { break };
                    after = last.0;
                    for (_, data) in &hours {
                        for r in $crate::pack::decode(data)? {
                            if r.started_at_ms >= from_ms && r.started_at_ms < to_ms {
                                packed += 1;
                                found.push(r.into_output(name));
                            }
                        }
                    }
                }
                tx.commit().await?;
                found.sort_by_key(|o| o.started_at_ms);
                found.truncate(wanted);
                Ok(found)
            }

            async fn write_samples(
                &self,
                host_id: &str,
                samples: &[$crate::SampleRow],
            ) -> Result<u64, $crate::DbError> {
                // It rewrites chunks as the compactor does, not beside it.
                let _alone = self.compaction.lock().await;
                let mut tx = self.begin_write().await?;
                // Locks the host's row, as a cycle does (see store_values).
                $crate::sqlx::query("UPDATE hosts SET id = id WHERE id = $1")
                    .bind(host_id)
                    .execute(&mut *tx)
                    .await?;
                use $crate::head::LatestValue;
                use $crate::readout_parse::Value;
                use $crate::sqlx;
                let Some(first_at) = samples.iter().map(|s| s.at_ms).min() else {
                    tx.commit().await?;
                    return Ok(0);
                };
                let (mut latest, mut names, rebuilt) = Self::load_head(&mut tx, host_id).await?;
                let wanted: Vec<(&str, &str)> =
                    samples.iter().map(|s| (s.name.as_str(), s.source.as_str())).collect();
                let added = Self::series_ids(&mut tx, host_id, &mut names, &wanted, first_at).await?;
                // A back-fill replaces stored values and recomputes their
                // hours in place, and takes the same values out of the
                // head, so the compactor cannot bring the old ones back.
                let mut replaced: std::collections::BTreeMap<(i64, i64), f64> = std::collections::BTreeMap::new();
                for s in samples {
                    let Some(&(id, _)) = names.0.get(&s.name) else { continue };
                    match &s.value {
                        Value::Number(n) => {
                            replaced.insert((id, s.at_ms), *n);
                            latest.offer(id, s.at_ms, LatestValue::Number(*n));
                        }
                        Value::Text(t) => latest.offer(id, s.at_ms, LatestValue::Text(t.clone())),
                    }
                }
                let last_at = samples.iter().map(|s| s.at_ms).max().unwrap_or(first_at);
                let head: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT id, at_ms, data FROM samples WHERE host_id = $1 AND at_ms >= $2 AND at_ms <= $3",
                )
                .bind(host_id)
                .bind(first_at)
                .bind(last_at)
                .fetch_all(&mut *tx)
                .await?;
                for (row, at_ms, data) in head {
                    let values = $crate::head::decode_values(&data)?;
                    let kept: Vec<(i64, f64)> = values
                        .iter()
                        .copied()
                        .filter(|(id, _)| !replaced.contains_key(&(*id, at_ms)))
                        .collect();
                    if kept.len() < values.len() {
                        sqlx::query("UPDATE samples SET data = $2 WHERE id = $1")
                            .bind(row)
                            .bind($crate::head::encode_values(&kept))
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let mut folding = $crate::chunk::Folding::new();
                for (&(id, at_ms), &value) in &replaced {
                    $crate::chunk::offer(&mut folding, id, at_ms, value);
                }
                Self::fold(&mut tx, host_id, &folding, i64::MIN).await?;
                let names = (rebuilt || added).then_some(&names);
                Self::save_latest(&mut tx, host_id, &latest, names).await?;
                tx.commit().await?;
                Ok(replaced.len() as u64)
            }

            async fn series_count(&self, host_id: &str) -> Result<u64, $crate::DbError> {
                let n: i64 = $crate::sqlx::query_scalar("SELECT COUNT(*) FROM series WHERE host_id = $1")
                    .bind(host_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn series_list(&self, host_id: &str) -> Result<Vec<$crate::SeriesInfo>, $crate::DbError> {
                let mut conn = self.pool.acquire().await?;
                Self::series_with_latest(&mut conn, host_id).await
            }

            async fn series_rows(
                &self,
                host_id: &str,
                name: &str,
                res_ms: i64,
                from_ms: i64,
                to_ms: i64,
            ) -> Result<Vec<$crate::AggRow>, $crate::DbError> {
                use $crate::chunk::{self, HOUR_MS};
                use $crate::series::{bucket_start, RES_1H};
                use $crate::sqlx;
                let mut tx = self.begin_read().await?;
                let id: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM series WHERE host_id = $1 AND name = $2")
                        .bind(host_id)
                        .bind(name)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(id) = id else { return Ok(Vec::new()) };
                let one = |at_ms: i64, v: f64| $crate::AggRow { at_ms, min: v, max: v, sum: v, count: 1, last: v };
                let mut rows: Vec<$crate::AggRow> = Vec::new();
                if res_ms >= RES_1H {
                    let days: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                        "SELECT day_ms, data FROM trends WHERE series_id = $1 AND day_ms >= $2 AND day_ms < $3 \
                         ORDER BY day_ms",
                    )
                    .bind(id)
                    .bind(bucket_start(from_ms, chunk::DAY_MS))
                    .bind(to_ms)
                    .fetch_all(&mut *tx)
                    .await?;
                    let from_hour = bucket_start(from_ms, HOUR_MS);
                    for (day_ms, data) in days {
                        for (h, agg) in chunk::decode_day(&data)? {
                            let at_ms = day_ms + i64::from(h) * HOUR_MS;
                            if at_ms >= from_hour && at_ms < to_ms {
                                rows.push(agg.row(at_ms));
                            }
                        }
                    }
                    // The head's hours; one may also be in a day (a late
                    // cycle): merging by time (series::merge) sums them.
                    let head = Self::head_points(&mut tx, host_id, id, from_hour, to_ms).await?;
                    for bucket in head.chunk_by(|a, b| bucket_start(a.0, res_ms) == bucket_start(b.0, res_ms)) {
                        rows.extend($crate::series::aggregate(bucket_start(bucket[0].0, res_ms), bucket));
                    }
                    tx.commit().await?;
                    rows.sort_by_key(|r| r.at_ms);
                    return Ok(rows);
                }
                // Raw values, or buckets of them: the hours' values with the
                // head's over them (a back-fill not yet compacted wins).
                let hours: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT hour_ms, data FROM chunks WHERE host_id = $1 AND hour_ms >= $2 AND hour_ms < $3 \
                     ORDER BY hour_ms",
                )
                .bind(host_id)
                .bind(bucket_start(from_ms, chunk::BLOCK_MS))
                .bind(to_ms)
                .fetch_all(&mut *tx)
                .await?;
                let mut points: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
                for (hour_ms, data) in hours {
                    points.extend(
                        chunk::decode_series(hour_ms, &data, id)?
                            .into_iter()
                            .filter(|p| p.0 >= from_ms && p.0 < to_ms),
                    );
                }
                points.extend(Self::head_points(&mut tx, host_id, id, from_ms, to_ms).await?);
                tx.commit().await?;
                let points: Vec<(i64, f64)> = points.into_iter().collect();
                if res_ms == 0 {
                    return Ok(points.into_iter().map(|(at, v)| one(at, v)).collect());
                }
                Ok(points
                    .chunk_by(|a, b| bucket_start(a.0, res_ms) == bucket_start(b.0, res_ms))
                    .filter_map(|bucket| $crate::series::aggregate(bucket_start(bucket[0].0, res_ms), bucket))
                    .collect())
            }

            async fn recent_cycles(
                &self,
                host_id: &str,
                limit: u32,
            ) -> Result<Vec<$crate::StoredCycle>, $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_read().await?;
                let cycles: Vec<$crate::CycleRow> = sqlx::query_as(
                    "SELECT id, cycle_id, started_at_ms, received_at_ms, duration_ms, agent_version, \
                     spool_dropped, rejected_json, derived_errors_json FROM cycles WHERE host_id = $1 \
                     ORDER BY started_at_ms DESC, id DESC LIMIT $2",
                )
                .bind(host_id)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
                let results: Vec<$crate::ResultRow> = sqlx::query_as(
                    "SELECT cycle_pk, name, duration_ms, exit_code, signal, timed_out, truncated, \
                     output_bytes, parse_errors_json FROM command_results \
                     WHERE cycle_pk IN (SELECT id FROM cycles WHERE host_id = $1 \
                       ORDER BY started_at_ms DESC, id DESC LIMIT $2) ORDER BY id",
                )
                .bind(host_id)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
                // Cycles whose results the compactor packed.
                let in_head: std::collections::HashSet<i64> = results.iter().map(|r| r.cycle_pk).collect();
                let packed: std::collections::HashSet<i64> =
                    cycles.iter().map(|c| c.id).filter(|id| !in_head.contains(id)).collect();
                let hours = $crate::sql::distinct_hours(
                    cycles.iter().filter(|c| packed.contains(&c.id)).map(|c| c.started_at_ms),
                );
                let mut results = results;
                if !hours.is_empty() {
                    let mut select = sqlx::QueryBuilder::<$db>::new(
                        "SELECT name, data FROM output_hours WHERE host_id = ",
                    );
                    select.push_bind(host_id).push(" AND hour_ms IN (");
                    let mut list = select.separated(", ");
                    for hour in &hours {
                        list.push_bind(*hour);
                    }
                    select.push(")");
                    let packs: Vec<(String, Vec<u8>)> =
                        select.build_query_as().persistent(false).fetch_all(&mut *tx).await?;
                    let mut found = Vec::new();
                    for (name, data) in packs {
                        for r in $crate::pack::decode(&data)? {
                            if packed.contains(&r.cycle_pk) {
                                found.push((r.position, r.summary(&name)?));
                            }
                        }
                    }
                    found.sort_by_key(|(position, r)| (r.cycle_pk, *position));
                    results.extend(found.into_iter().map(|(_, r)| r));
                }
                tx.commit().await?;
                Ok($crate::StoredCycle::assemble(cycles, results))
            }

            async fn writable(&self) -> Result<(), $crate::DbError> {
                // A read-only SQLite file still lets `BEGIN IMMEDIATE` through;
                // the first row written is refused.
                let mut tx = self.begin_write().await?;
                $crate::sqlx::query("INSERT INTO health_probe (id) VALUES (1)")
                    .execute(&mut *tx)
                    .await?;
                tx.rollback().await?;
                Ok(())
            }

            async fn compact_head(&self, limit: u32, before_ms: i64, received_before_ms: i64) -> Result<u64, $crate::DbError> {
                use $crate::sqlx;
                use std::collections::BTreeMap;
                let _alone = self.compaction.lock().await;
                // Where one lock holds the whole store, the reading and the
                // compressing are done in a read snapshot and only the
                // writes take the lock: cycles are not held up meanwhile.
                // What they add to the head meanwhile stays for the next
                // pass, and this node's other rewriters of chunks and
                // packs (back-fill, prune) wait on `compaction`.
                let mut tx = if Self::ONE_WRITE_LOCK { self.begin_read().await? } else { self.begin_write().await? };
                // One host at a time, under its row lock: its hours are
                // rewritten whole, and no other node folds them meanwhile.
                let host_id: Option<String> = sqlx::query_scalar(Self::HEAD_PICK)
                    .bind(before_ms)
                    .bind(received_before_ms)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(host_id) = host_id else { return Ok(0) };
                if !Self::ONE_WRITE_LOCK {
                    sqlx::query("UPDATE hosts SET id = id WHERE id = $1")
                        .bind(&host_id)
                        .execute(&mut *tx)
                        .await?;
                }
                let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT id, at_ms, data FROM samples WHERE host_id = $1 AND at_ms < $2 \
                     AND received_at_ms < $3 ORDER BY at_ms, id LIMIT $4",
                )
                .bind(&host_id)
                .bind(before_ms)
                .bind(received_before_ms)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
                let mut folding = $crate::chunk::Folding::new();
                let mut last_seen: BTreeMap<i64, i64> = BTreeMap::new();
                for (_, at_ms, data) in &rows {
                    for (id, value) in $crate::head::decode_values(data)? {
                        $crate::chunk::offer(&mut folding, id, *at_ms, value);
                        let seen = last_seen.entry(id).or_insert(*at_ms);
                        *seen = (*seen).max(*at_ms);
                    }
                }
                let mut plan = $crate::sql::Rewrite {
                    last_seen: last_seen.into_iter().collect(),
                    samples_gone: rows.iter().map(|r| r.0).collect(),
                    ..Default::default()
                };
                Self::plan_fold(&mut tx, &host_id, &folding, before_ms, &mut plan).await?;
                // Every cycle leaves a head row, so its outputs are packed
                // with the hour its row is folded in.
                let hours = $crate::sql::distinct_hours(rows.iter().map(|r| r.1));
                Self::plan_packs(&mut tx, &host_id, &hours, before_ms, received_before_ms, &mut plan).await?;
                if Self::ONE_WRITE_LOCK {
                    tx.commit().await?;
                    tx = self.begin_write().await?;
                }
                Self::apply(&mut tx, &host_id, &plan).await?;
                tx.commit().await?;
                Ok(rows.len() as u64)
            }

            async fn prune(&self, keep: $crate::Retention) -> Result<u64, $crate::DbError> {
                use $crate::sqlx;
                // Head rows past the cutoff still owe their hourly aggregates.
                while $crate::Database::compact_head(self, 256, keep.points_before_ms, i64::MAX).await? > 0 {}
                let _alone = self.compaction.lock().await;
                let mut tx = self.begin_write().await?;
                let mut removed = 0;
                // A command's latest output stays, however old: in the head
                // or in its last packed hour. Packed hours go whole, once
                // their end is past the cutoff.
                let statements: [(&str, i64); 5] = [
                    (
                        "DELETE FROM command_results WHERE started_at_ms < $1 AND (EXISTS (SELECT 1 \
                         FROM command_results n WHERE n.host_id = command_results.host_id \
                         AND n.name = command_results.name AND n.started_at_ms > command_results.started_at_ms) \
                         OR EXISTS (SELECT 1 FROM output_hours o WHERE o.host_id = command_results.host_id \
                         AND o.name = command_results.name AND o.hour_ms > command_results.started_at_ms))",
                        keep.outputs_before_ms,
                    ),
                    (
                        "DELETE FROM output_hours WHERE hour_ms <= $1 - 3600000 AND (EXISTS (SELECT 1 \
                         FROM output_hours n WHERE n.host_id = output_hours.host_id \
                         AND n.name = output_hours.name AND n.hour_ms > output_hours.hour_ms) \
                         OR EXISTS (SELECT 1 FROM command_results r WHERE r.host_id = output_hours.host_id \
                         AND r.name = output_hours.name AND r.started_at_ms >= output_hours.hour_ms + 3600000))",
                        keep.outputs_before_ms,
                    ),
                    (
                        "DELETE FROM cycles WHERE started_at_ms < $1 AND NOT EXISTS \
                         (SELECT 1 FROM command_results r WHERE r.cycle_pk = cycles.id) AND NOT EXISTS \
                         (SELECT 1 FROM output_hours o WHERE o.host_id = cycles.host_id \
                         AND o.hour_ms <= cycles.started_at_ms AND o.hour_ms > cycles.started_at_ms - 3600000)",
                        keep.outputs_before_ms,
                    ),
                    // Whole blocks and days only: rewriting the one that
                    // straddles the cutoff would rewrite every host's.
                    (
                        "DELETE FROM chunks WHERE hour_ms < $1",
                        $crate::series::bucket_start(keep.points_before_ms, $crate::chunk::BLOCK_MS),
                    ),
                    (
                        "DELETE FROM trends WHERE day_ms < $1",
                        $crate::series::bucket_start(keep.rollups_before_ms, $crate::chunk::DAY_MS),
                    ),
                ];
                for (statement, cutoff) in statements {
                    removed += sqlx::query(statement)
                        .bind(cutoff)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                // A variable silent for the whole roll-up retention is gone.
                // Per host, under its row lock (a writer reads its names
                // under that lock), and its names are cleared for the next
                // writer to rebuild without the removed series.
                let stale: Vec<String> =
                    sqlx::query_scalar("SELECT DISTINCT host_id FROM series WHERE last_at_ms < $1")
                        .bind(keep.rollups_before_ms)
                        .fetch_all(&self.pool)
                        .await?;
                for host_id in stale {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("UPDATE hosts SET id = id WHERE id = $1")
                        .bind(&host_id)
                        .execute(&mut *tx)
                        .await?;
                    removed += sqlx::query("DELETE FROM series WHERE host_id = $1 AND last_at_ms < $2")
                        .bind(&host_id)
                        .bind(keep.rollups_before_ms)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    sqlx::query("DELETE FROM series_names WHERE host_id = $1")
                        .bind(&host_id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
                Ok(removed)
            }
        }
    };
}
