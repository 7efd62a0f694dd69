//! The one SQL implementation of [`crate::Alerts`], and the alert step of
//! ingest, for both backends. `$claim` is the backend's statement that
//! leases due notifications (`$1` now, `$2` node, `$3` lease end, `$4`
//! limit); PostgreSQL's skips rows another node has locked.

/// Columns of [`crate::Incident`], for `FROM incidents i JOIN hosts h`.
pub const INCIDENT_SELECT: &str = "SELECT i.id, i.host_id, h.name AS host_name, i.variable, i.state, \
    i.value, i.opened_at_ms, i.changed_at_ms, i.resolved_at_ms, i.acknowledged_at_ms, i.acknowledged_by \
    FROM incidents i JOIN hosts h ON h.id = i.host_id";

/// Columns of [`crate::NotificationRow`].
pub const NOTIFICATION_COLUMNS: &str = "id, channel_id, route_id, host_id, notice_json, created_at_ms, \
    status, attempts, next_attempt_at_ms, delivered_at_ms, last_error";

/// A stored state name, read back.
pub fn parse_state(text: &str) -> Result<readout_alerting::State, crate::DbError> {
    text.parse()
        .map_err(|e| crate::DbError::Corrupt(format!("alert state: {e}")))
}

/// Implements [`crate::Alerts`] for a store with a `pool: sqlx::Pool<$db>`.
#[macro_export]
macro_rules! impl_alerts {
    ($store:ty, $db:ty, $claim:expr) => {
        impl $store {
            /// The routes of one host (the operator's and its workspace's)
            /// and every maintenance window, as plans need them.
            async fn routing(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                host_id: &str,
            ) -> Result<
                (
                    Vec<(String, $crate::readout_alerting::route::Route)>,
                    Vec<$crate::readout_alerting::window::Window>,
                ),
                $crate::DbError,
            > {
                let routes: Vec<$crate::RouteRow> = $crate::sqlx::query_as(
                    "SELECT id, workspace_id, name, route_json, created_at_ms, updated_at_ms FROM routes \
                     WHERE workspace_id IS NULL \
                        OR workspace_id = (SELECT workspace_id FROM hosts WHERE id = $1) ORDER BY name",
                )
                .bind(host_id)
                .fetch_all(&mut **tx)
                .await?;
                let windows: Vec<$crate::WindowRow> =
                    $crate::sqlx::query_as("SELECT id, window_json, created_at_ms FROM maintenance_windows")
                        .fetch_all(&mut **tx)
                        .await?;
                Ok((
                    routes.into_iter().map(|r| (r.id, r.route.0)).collect(),
                    windows.into_iter().map(|w| w.window.0).collect(),
                ))
            }

            /// The host's latest readings, for templates.
            async fn readings(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                host_id: &str,
            ) -> Result<
                std::collections::BTreeMap<String, $crate::readout_alerting::route::Reading>,
                $crate::DbError,
            > {
                use $crate::readout_alerting::route::Reading;
                let rows = Self::series_with_latest(&mut **tx, host_id).await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|s| {
                        let (name, n, t) = (s.name, s.last_value, s.last_text);
                        let reading = match (n, t) {
                            (Some(n), _) => Reading::Number(n),
                            (None, Some(t)) => Reading::Text(t),
                            (None, None) => return None,
                        };
                        Some((name, reading))
                    })
                    .collect())
            }

            /// Opens, moves or resolves the incident of a counted change;
            /// returns its part of a notice (none for a recovery of
            /// something that never opened).
            #[allow(clippy::too_many_arguments)]
            async fn record_change(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                host_id: &str,
                variable: &str,
                change: $crate::readout_alerting::Transition,
                value: Option<f64>,
                at_ms: i64,
                rule: Option<&$crate::readout_alerting::Rule>,
            ) -> Result<Option<$crate::readout_alerting::route::NoticeEvent>, $crate::DbError> {
                use $crate::readout_alerting::State;
                use $crate::sqlx;
                let open: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT id, opened_at_ms FROM incidents \
                     WHERE host_id = $1 AND variable = $2 AND resolved_at_ms IS NULL",
                )
                .bind(host_id)
                .bind(variable)
                .fetch_optional(&mut **tx)
                .await?;
                let (id, opened_at_ms) = match open {
                    None if change.to == State::Ok => return Ok(None),
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO incidents (host_id, variable, state, value, opened_at_ms, changed_at_ms) \
                             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                        )
                        .bind(host_id)
                        .bind(variable)
                        .bind(change.to.as_str())
                        .bind(value)
                        .bind(at_ms)
                        .fetch_one(&mut **tx)
                        .await?;
                        (id, at_ms)
                    }
                    Some((id, opened)) => {
                        sqlx::query(
                            "UPDATE incidents SET state = $2, value = $3, changed_at_ms = $4, \
                             resolved_at_ms = CASE WHEN $2 = 'OK' THEN $4 ELSE NULL END WHERE id = $1",
                        )
                        .bind(id)
                        .bind(change.to.as_str())
                        .bind(value)
                        .bind(at_ms)
                        .execute(&mut **tx)
                        .await?;
                        (id, opened)
                    }
                };
                sqlx::query(
                    "INSERT INTO incident_events (incident_id, at_ms, from_state, to_state, value) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(at_ms)
                .bind(change.from.as_str())
                .bind(change.to.as_str())
                .bind(value)
                .execute(&mut **tx)
                .await?;
                Ok(Some($crate::readout_alerting::route::NoticeEvent {
                    incident_id: id,
                    variable: variable.to_owned(),
                    from: change.from,
                    to: change.to,
                    value,
                    at_ms,
                    opened_at_ms,
                    warning: rule.and_then(|r| r.warning),
                    error: rule.and_then(|r| r.error),
                }))
            }

            /// Queues one notice for each channel of each send, keeping
            /// what each route was told. Returns notifications queued.
            async fn queue_plan(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                host_id: &str,
                host_name: &str,
                plan: &$crate::readout_alerting::route::Plan,
                now_ms: i64,
            ) -> Result<u32, $crate::DbError> {
                use $crate::sqlx;
                for mark in &plan.marks {
                    sqlx::query(
                        "INSERT INTO route_incidents (route_id, incident_id, told_at_ms, escalated_at_ms) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (route_id, incident_id) DO UPDATE SET \
                         told_at_ms = COALESCE(excluded.told_at_ms, route_incidents.told_at_ms), \
                         escalated_at_ms = COALESCE(excluded.escalated_at_ms, route_incidents.escalated_at_ms)",
                    )
                    .bind(&mark.route_id)
                    .bind(mark.incident_id)
                    .bind(mark.told.then_some(now_ms))
                    .bind(mark.escalated.then_some(now_ms))
                    .execute(&mut **tx)
                    .await?;
                }
                if plan.sends.is_empty() {
                    return Ok(0);
                }
                let values = Self::readings(tx, host_id).await?;
                let mut queued = 0;
                for send in &plan.sends {
                    let notice = $crate::readout_alerting::route::Notice {
                        kind: send.kind,
                        host_id: host_id.to_owned(),
                        host_name: host_name.to_owned(),
                        at_ms: now_ms,
                        events: send.events.clone(),
                        values: values.clone(),
                    };
                    let json = $crate::json_text(&notice);
                    for channel in &send.channels {
                        // A route naming a channel since deleted queues nothing.
                        let added = sqlx::query(
                            "INSERT INTO notifications (channel_id, route_id, host_id, notice_json, \
                             created_at_ms, status, next_attempt_at_ms) \
                             SELECT id, $2, $3, $4, $5, 'pending', $5 FROM channels WHERE id = $1",
                        )
                        .bind(channel)
                        .bind(&send.route_id)
                        .bind(host_id)
                        .bind(&json)
                        .bind(now_ms)
                        .execute(&mut **tx)
                        .await?;
                        queued += u32::try_from(added.rows_affected()).unwrap_or(0);
                    }
                }
                Ok(queued)
            }

            /// Plans and queues the notices of one host's changes.
            async fn notify_changes(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                host_id: &str,
                events: &[$crate::readout_alerting::route::NoticeEvent],
                now_ms: i64,
            ) -> Result<u32, $crate::DbError> {
                use $crate::readout_alerting::State;
                use $crate::readout_alerting::route::Told;
                use $crate::sqlx;
                if events.is_empty() {
                    return Ok(0);
                }
                let host_name: String = sqlx::query_scalar("SELECT name FROM hosts WHERE id = $1")
                    .bind(host_id)
                    .fetch_one(&mut **tx)
                    .await?;
                let (routes, windows) = Self::routing(tx, host_id).await?;
                let mut told = std::collections::HashMap::new();
                for e in events {
                    let routes: Vec<(String, Option<i64>)> = sqlx::query_as(
                        "SELECT route_id, escalated_at_ms FROM route_incidents \
                         WHERE incident_id = $1 AND told_at_ms IS NOT NULL",
                    )
                    .bind(e.incident_id)
                    .fetch_all(&mut **tx)
                    .await?;
                    told.extend(routes.into_iter().map(|(r, escalated)| {
                        let told = if escalated.is_some() { Told::Escalated } else { Told::Channels };
                        ((r, e.incident_id), told)
                    }));
                }
                let plan = $crate::readout_alerting::route::plan_changes(
                    host_id,
                    &host_name,
                    events,
                    &routes,
                    &windows,
                    |route, incident| {
                        told.get(&(route.to_owned(), incident)).copied().unwrap_or(Told::Nothing)
                    },
                    now_ms,
                );
                let queued = Self::queue_plan(tx, host_id, &host_name, &plan, now_ms).await?;
                for e in events.iter().filter(|e| e.to == State::Ok) {
                    sqlx::query("DELETE FROM route_incidents WHERE incident_id = $1")
                        .bind(e.incident_id)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(queued)
            }

            /// Writes a variable's (or the host's) state after a cycle.
            async fn put_state(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                host_id: &str,
                variable: &str,
                tracker: &$crate::readout_alerting::Tracker,
                value: Option<f64>,
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO alert_states (host_id, variable, state, tracker_json, value, observed_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host_id, variable) DO UPDATE SET \
                     state = excluded.state, tracker_json = excluded.tracker_json, \
                     value = excluded.value, observed_at_ms = excluded.observed_at_ms",
                )
                .bind(host_id)
                .bind(variable)
                .bind(tracker.state.as_str())
                .bind($crate::json_text(tracker))
                .bind(value)
                .bind(at_ms)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// The alert step of a new cycle, in its transaction: each
            /// rule's variable is judged, a silent host is heard again,
            /// and the changes are queued as notifications. A cycle older
            /// than the last one judged (spooled) changes nothing.
            async fn alert_cycle(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                inc: &$crate::IncomingCycle,
            ) -> Result<(), $crate::DbError> {
                use $crate::readout_alerting::{Observation, State, Tracker, Transition};
                use $crate::sqlx;
                let host_id = inc.host_id.as_str();
                let at_ms = inc.cycle.started_at_ms;
                let now_ms = inc.received_at_ms;
                let rows: Vec<(String, String, Option<String>, Option<i64>)> = sqlx::query_as(
                    "SELECT r.variable, r.rule_json, s.tracker_json, s.observed_at_ms FROM alert_rules r \
                     LEFT JOIN alert_states s ON s.host_id = r.host_id AND s.variable = r.variable \
                     WHERE r.host_id = $1 ORDER BY r.variable",
                )
                .bind(host_id)
                .fetch_all(&mut **tx)
                .await?;
                let corrupt = |what: &str, e: $crate::serde_json::Error| {
                    $crate::DbError::Corrupt(format!("{what} of host {host_id}: {e}"))
                };
                let mut events = Vec::new();
                for (variable, rule_json, tracker_json, observed) in rows {
                    if observed.is_some_and(|o| o >= at_ms) {
                        continue;
                    }
                    let rule: $crate::readout_alerting::Rule =
                        $crate::serde_json::from_str(&rule_json).map_err(|e| corrupt("alert rule", e))?;
                    let mut tracker: Tracker = match tracker_json {
                        Some(t) => $crate::serde_json::from_str(&t).map_err(|e| corrupt("alert state", e))?,
                        None => Tracker::default(),
                    };
                    let value = match inc.parsed.values.get(&variable) {
                        Some((_, $crate::readout_parse::Value::Number(n))) if n.is_finite() => Some(*n),
                        _ => None,
                    };
                    let observation = value.map_or(Observation::Missing, Observation::Value);
                    let change = tracker.observe(&rule, observation);
                    Self::put_state(tx, host_id, &variable, &tracker, value, at_ms).await?;
                    if let Some(change) = change {
                        let event = Self::record_change(tx, host_id, &variable, change, value, at_ms, Some(&rule)).await?;
                        events.extend(event);
                    }
                }
                let host_state: Option<String> = sqlx::query_scalar(
                    "SELECT state FROM alert_states WHERE host_id = $1 AND variable = ''",
                )
                .bind(host_id)
                .fetch_optional(&mut **tx)
                .await?;
                if host_state.as_deref() == Some(State::Silent.as_str()) {
                    let tracker = Tracker::default();
                    Self::put_state(tx, host_id, "", &tracker, None, now_ms).await?;
                    let change = Transition { from: State::Silent, to: State::Ok };
                    let event = Self::record_change(tx, host_id, "", change, None, now_ms, None).await?;
                    events.extend(event);
                }
                Self::notify_changes(tx, host_id, &events, now_ms).await?;
                Ok(())
            }

            /// Marks one host silent, unless a cycle came in meanwhile or
            /// another node did it first.
            async fn silence_host(
                &self,
                host_id: &str,
                cutoff_ms: i64,
                now_ms: i64,
            ) -> Result<Option<u32>, $crate::DbError> {
                use $crate::readout_alerting::{State, Tracker, Transition};
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                // Locks the host row: an ingest of this host waits, and a
                // cycle committed meanwhile makes this touch nothing.
                let still = sqlx::query(
                    "UPDATE hosts SET last_seen_at_ms = last_seen_at_ms \
                     WHERE id = $1 AND last_seen_at_ms <= $2 AND removed_at_ms IS NULL",
                )
                .bind(host_id)
                .bind(cutoff_ms)
                .execute(&mut *tx)
                .await?;
                let state: Option<String> = sqlx::query_scalar(
                    "SELECT state FROM alert_states WHERE host_id = $1 AND variable = ''",
                )
                .bind(host_id)
                .fetch_optional(&mut *tx)
                .await?;
                if still.rows_affected() == 0 || state.as_deref() == Some(State::Silent.as_str()) {
                    return Ok(None);
                }
                let tracker = Tracker { state: State::Silent, pending: None };
                Self::put_state(&mut tx, host_id, "", &tracker, None, now_ms).await?;
                let change = Transition { from: State::Ok, to: State::Silent };
                let event = Self::record_change(&mut tx, host_id, "", change, None, now_ms, None).await?;
                let queued = Self::notify_changes(&mut tx, host_id, &Vec::from_iter(event), now_ms).await?;
                tx.commit().await?;
                Ok(Some(queued))
            }

            /// Queues one host's due follow-ups (held, repeats,
            /// escalations); none if another node queued them first.
            async fn follow_up_host(
                &self,
                host_id: &str,
                host_name: &str,
                followed: &[$crate::readout_alerting::route::Followed],
                now_ms: i64,
            ) -> Result<u32, $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                let (routes, windows) = Self::routing(&mut tx, host_id).await?;
                let plan = $crate::readout_alerting::route::plan_followups(host_id, followed, &routes, &windows, now_ms);
                for mark in &plan.marks {
                    let Some(told) = followed
                        .iter()
                        .find(|f| f.route_id == mark.route_id && f.event.incident_id == mark.incident_id)
                        .map(|f| f.last_told_ms)
                    else {
                        continue;
                    };
                    // Claims the follow-up: a node that read the same row
                    // before this commit finds it changed and backs off.
                    let claimed = sqlx::query(
                        "UPDATE route_incidents SET told_at_ms = told_at_ms \
                         WHERE route_id = $1 AND incident_id = $2 AND told_at_ms IS NOT DISTINCT FROM $3",
                    )
                    .bind(&mark.route_id)
                    .bind(mark.incident_id)
                    .bind(told)
                    .execute(&mut *tx)
                    .await?;
                    if claimed.rows_affected() == 0 {
                        return Ok(0);
                    }
                }
                let queued = Self::queue_plan(&mut tx, host_id, host_name, &plan, now_ms).await?;
                tx.commit().await?;
                Ok(queued)
            }
        }

        impl $crate::Alerts for $store {
            async fn alert_rules(
                &self,
                host_id: &str,
            ) -> Result<(Option<String>, Vec<$crate::RuleStatus>), $crate::DbError> {
                use $crate::sqlx;
                let host: Option<String> = sqlx::query_scalar(
                    "SELECT state FROM alert_states WHERE host_id = $1 AND variable = ''",
                )
                .bind(host_id)
                .fetch_optional(&self.pool)
                .await?;
                let rules = sqlx::query_as(
                    "SELECT r.variable, r.rule_json, s.state, s.value, s.observed_at_ms FROM alert_rules r \
                     LEFT JOIN alert_states s ON s.host_id = r.host_id AND s.variable = r.variable \
                     WHERE r.host_id = $1 ORDER BY r.variable",
                )
                .bind(host_id)
                .fetch_all(&self.pool)
                .await?;
                Ok((host, rules))
            }

            async fn put_alert_rule(
                &self,
                host_id: &str,
                variable: &str,
                rule: &$crate::readout_alerting::Rule,
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO alert_rules (host_id, variable, rule_json, updated_at_ms) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (host_id, variable) DO UPDATE SET rule_json = excluded.rule_json, \
                     updated_at_ms = excluded.updated_at_ms",
                )
                .bind(host_id)
                .bind(variable)
                .bind($crate::json_text(rule))
                .bind(at_ms)
                .execute(&self.pool)
                .await
                .map_err($crate::DbError::missing_parent)?;
                Ok(())
            }

            async fn delete_alert_rule(
                &self,
                host_id: &str,
                variable: &str,
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                let gone = sqlx::query("DELETE FROM alert_rules WHERE host_id = $1 AND variable = $2")
                    .bind(host_id)
                    .bind(variable)
                    .execute(&mut *tx)
                    .await?;
                $crate::DbError::expect_one(gone.rows_affected())?;
                sqlx::query("DELETE FROM alert_states WHERE host_id = $1 AND variable = $2")
                    .bind(host_id)
                    .bind(variable)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE incidents SET resolved_at_ms = $3 \
                     WHERE host_id = $1 AND variable = $2 AND resolved_at_ms IS NULL",
                )
                .bind(host_id)
                .bind(variable)
                .bind(at_ms)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn incidents(
                &self,
                open_only: bool,
                host_id: Option<&str>,
                workspace_id: Option<&str>,
                limit: u32,
            ) -> Result<Vec<$crate::Incident>, $crate::DbError> {
                Ok($crate::sqlx::query_as($crate::sqlx::AssertSqlSafe(format!(
                    "{} WHERE ($1 = 0 OR i.resolved_at_ms IS NULL) AND ($2 IS NULL OR i.host_id = $2) \
                     AND ($4 IS NULL OR h.workspace_id = $4) \
                     ORDER BY i.opened_at_ms DESC, i.id DESC LIMIT $3",
                    $crate::alerts_sql::INCIDENT_SELECT
                )))
                .bind(i32::from(open_only))
                .bind(host_id)
                .bind(i64::from(limit))
                .bind(workspace_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn incident(
                &self,
                id: i64,
            ) -> Result<($crate::Incident, Vec<$crate::IncidentEvent>), $crate::DbError> {
                use $crate::sqlx;
                let incident = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{} WHERE i.id = $1",
                    $crate::alerts_sql::INCIDENT_SELECT
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or($crate::DbError::NotFound)?;
                let events = sqlx::query_as(
                    "SELECT at_ms, from_state, to_state, value FROM incident_events \
                     WHERE incident_id = $1 ORDER BY at_ms",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                Ok((incident, events))
            }

            async fn set_silent_after(&self, host_id: &str, secs: Option<i32>) -> Result<(), $crate::DbError> {
                let done = $crate::sqlx::query("UPDATE hosts SET silent_after_secs = $2 WHERE id = $1")
                    .bind(host_id)
                    .bind(secs)
                    .execute(&self.pool)
                    .await?;
                $crate::DbError::expect_one(done.rows_affected())
            }

            async fn acknowledge(&self, id: i64, by: &str, at_ms: i64) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                let done = sqlx::query(
                    "UPDATE incidents SET acknowledged_at_ms = $2, acknowledged_by = $3 \
                     WHERE id = $1 AND resolved_at_ms IS NULL",
                )
                .bind(id)
                .bind(at_ms)
                .bind(by)
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 1 {
                    return Ok(());
                }
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM incidents WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                match exists {
                    Some(_) => Err($crate::DbError::Conflict(format!("incident {id} is resolved already"))),
                    None => Err($crate::DbError::NotFound),
                }
            }

            async fn windows(&self) -> Result<Vec<$crate::WindowRow>, $crate::DbError> {
                Ok($crate::sqlx::query_as(
                    "SELECT id, window_json, created_at_ms FROM maintenance_windows ORDER BY created_at_ms, id",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn put_window(
                &self,
                id: &str,
                window: &$crate::readout_alerting::window::Window,
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO maintenance_windows (id, window_json, created_at_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET window_json = excluded.window_json",
                )
                .bind(id)
                .bind($crate::json_text(window))
                .bind(at_ms)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn delete_window(&self, id: &str) -> Result<(), $crate::DbError> {
                let gone = $crate::sqlx::query("DELETE FROM maintenance_windows WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                $crate::DbError::expect_one(gone.rows_affected())
            }

            async fn channels(&self) -> Result<Vec<$crate::ChannelRow>, $crate::DbError> {
                Ok($crate::sqlx::query_as(
                    "SELECT id, workspace_id, name, config_json, created_at_ms, updated_at_ms FROM channels ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn channel(&self, id: &str) -> Result<$crate::ChannelRow, $crate::DbError> {
                $crate::sqlx::query_as(
                    "SELECT id, workspace_id, name, config_json, created_at_ms, updated_at_ms FROM channels WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or($crate::DbError::NotFound)
            }

            async fn put_channel(
                &self,
                id: &str,
                workspace_id: Option<&str>,
                name: &str,
                config_json: &str,
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO channels (id, name, config_json, created_at_ms, updated_at_ms, workspace_id) \
                     VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                     config_json = excluded.config_json, updated_at_ms = excluded.updated_at_ms",
                )
                .bind(id)
                .bind(name)
                .bind(config_json)
                .bind(at_ms)
                .bind(workspace_id)
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::DbError::unique_name(e, "channel", name))?;
                Ok(())
            }

            async fn delete_channel(&self, id: &str) -> Result<(), $crate::DbError> {
                let gone = $crate::sqlx::query("DELETE FROM channels WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                $crate::DbError::expect_one(gone.rows_affected())
            }

            async fn routes(&self) -> Result<Vec<$crate::RouteRow>, $crate::DbError> {
                Ok($crate::sqlx::query_as(
                    "SELECT id, workspace_id, name, route_json, created_at_ms, updated_at_ms FROM routes ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn put_route(
                &self,
                id: &str,
                workspace_id: Option<&str>,
                name: &str,
                route: &$crate::readout_alerting::route::Route,
                at_ms: i64,
            ) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO routes (id, name, route_json, created_at_ms, updated_at_ms, workspace_id) \
                     VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                     route_json = excluded.route_json, updated_at_ms = excluded.updated_at_ms",
                )
                .bind(id)
                .bind(name)
                .bind($crate::json_text(route))
                .bind(at_ms)
                .bind(workspace_id)
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::DbError::unique_name(e, "route", name))?;
                Ok(())
            }

            async fn delete_route(&self, id: &str) -> Result<(), $crate::DbError> {
                let gone = $crate::sqlx::query("DELETE FROM routes WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                $crate::DbError::expect_one(gone.rows_affected())
            }

            async fn enqueue(
                &self,
                channel_id: &str,
                notice: &$crate::readout_alerting::route::Notice,
                at_ms: i64,
            ) -> Result<i64, $crate::DbError> {
                $crate::sqlx::query_scalar(
                    "INSERT INTO notifications (channel_id, host_id, notice_json, created_at_ms, status, \
                     next_attempt_at_ms) VALUES ($1, $2, $3, $4, 'pending', $4) RETURNING id",
                )
                .bind(channel_id)
                .bind(Some(notice.host_id.as_str()).filter(|h| !h.is_empty()))
                .bind($crate::json_text(notice))
                .bind(at_ms)
                .fetch_one(&self.pool)
                .await
                .map_err($crate::DbError::missing_parent)
            }

            async fn claim_notifications(
                &self,
                node: &str,
                now_ms: i64,
                lease_ms: i64,
                limit: u32,
            ) -> Result<Vec<$crate::NotificationRow>, $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                // A lease that ran out with its owner still named: that node
                // died mid-send. The send it started is an attempt (it may
                // have arrived), so it is logged and counted before the
                // notice is claimed again. The owner is checked on the
                // update, so two nodes never log one twice.
                let lapsed: Vec<(i64, String, i64, i32)> = sqlx::query_as(
                    "SELECT id, lease_owner, lease_until_ms, attempts FROM notifications \
                     WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_until_ms < $1 \
                     ORDER BY id LIMIT 100",
                )
                .bind(now_ms)
                .fetch_all(&mut *tx)
                .await?;
                for (id, owner, until, attempts) in lapsed {
                    let error = format!(
                        "node {owner} stopped during the send; whether it arrived is unknown"
                    );
                    let moved = sqlx::query(
                        "UPDATE notifications SET attempts = attempts + 1, lease_owner = NULL, \
                         last_error = $3 WHERE id = $1 AND lease_owner = $2",
                    )
                    .bind(id)
                    .bind(&owner)
                    .bind(&error)
                    .execute(&mut *tx)
                    .await?;
                    if moved.rows_affected() == 0 {
                        continue;
                    }
                    let started = until.saturating_sub(lease_ms).min(now_ms);
                    sqlx::query(
                        "INSERT INTO delivery_attempts (notification_id, attempt, at_ms, duration_ms, \
                         node, ok, status_code, error) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
                    )
                    .bind(id)
                    .bind(attempts.saturating_add(1))
                    .bind(started)
                    .bind(now_ms.saturating_sub(started))
                    .bind(&owner)
                    .bind(false)
                    .bind(&error)
                    .execute(&mut *tx)
                    .await?;
                }
                let mut rows: Vec<$crate::NotificationRow> = sqlx::query_as($claim)
                    .bind(now_ms)
                    .bind(node)
                    .bind(now_ms.saturating_add(lease_ms))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows.sort_by_key(|r| r.id);
                Ok(rows)
            }

            async fn record_attempt(
                &self,
                id: i64,
                node: &str,
                attempt: &$crate::Attempt,
                after: $crate::After,
            ) -> Result<bool, $crate::DbError> {
                use $crate::sqlx;
                let (status, next, delivered) = match after {
                    $crate::After::Delivered => ("delivered", None, Some(attempt.at_ms)),
                    $crate::After::RetryAt(at) => ("pending", Some(at), None),
                    $crate::After::GiveUp => ("failed", None, None),
                };
                let mut tx = self.begin_write().await?;
                let moved = sqlx::query(
                    "UPDATE notifications SET status = $3, attempts = attempts + 1, \
                     next_attempt_at_ms = COALESCE($4, next_attempt_at_ms), delivered_at_ms = $5, \
                     last_error = $6, lease_until_ms = NULL, lease_owner = NULL \
                     WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
                )
                .bind(id)
                .bind(node)
                .bind(status)
                .bind(next)
                .bind(delivered)
                .bind(&attempt.error)
                .execute(&mut *tx)
                .await?;
                if moved.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO delivery_attempts (notification_id, attempt, at_ms, duration_ms, node, ok, \
                     status_code, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(attempt.attempt)
                .bind(attempt.at_ms)
                .bind(attempt.duration_ms)
                .bind(&attempt.node)
                .bind(attempt.ok)
                .bind(attempt.status_code)
                .bind(&attempt.error)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn notifications(
                &self,
                status: Option<&str>,
                workspace_id: Option<&str>,
                limit: u32,
            ) -> Result<Vec<$crate::NotificationRow>, $crate::DbError> {
                Ok($crate::sqlx::query_as($crate::sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM notifications WHERE ($1 IS NULL OR status = $1) \
                     AND ($3 IS NULL OR host_id IN (SELECT id FROM hosts WHERE workspace_id = $3) \
                     OR channel_id IN (SELECT id FROM channels WHERE workspace_id = $3)) \
                     ORDER BY id DESC LIMIT $2",
                    $crate::alerts_sql::NOTIFICATION_COLUMNS
                )))
                .bind(status)
                .bind(i64::from(limit))
                .bind(workspace_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn notification(
                &self,
                id: i64,
            ) -> Result<($crate::NotificationRow, Vec<$crate::Attempt>), $crate::DbError> {
                use $crate::sqlx;
                let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM notifications WHERE id = $1",
                    $crate::alerts_sql::NOTIFICATION_COLUMNS
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or($crate::DbError::NotFound)?;
                let attempts = sqlx::query_as(
                    "SELECT attempt, at_ms, duration_ms, node, ok, status_code, error FROM delivery_attempts \
                     WHERE notification_id = $1 ORDER BY attempt, id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                Ok((row, attempts))
            }

            async fn sweep_alerts(
                &self,
                now_ms: i64,
                silent_after_ms: i64,
                listening_since_ms: i64,
            ) -> Result<$crate::SweepReport, $crate::DbError> {
                use $crate::readout_alerting::route::{Followed, NoticeEvent};
                use $crate::sqlx;
                let mut report = $crate::SweepReport::default();
                let quiet: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT h.id, COALESCE(h.silent_after_secs * 1000, $2) FROM hosts h \
                     LEFT JOIN alert_states s ON s.host_id = h.id AND s.variable = '' \
                     WHERE h.removed_at_ms IS NULL AND h.last_seen_at_ms IS NOT NULL \
                     AND h.last_seen_at_ms <= $1 - COALESCE(h.silent_after_secs * 1000, $2) \
                     AND $3 <= $1 - COALESCE(h.silent_after_secs * 1000, $2) \
                     AND (s.state IS NULL OR s.state <> 'SILENT')",
                )
                .bind(now_ms)
                .bind(silent_after_ms)
                .bind(listening_since_ms)
                .fetch_all(&self.pool)
                .await?;
                for (host_id, limit) in quiet {
                    if let Some(queued) = self.silence_host(&host_id, now_ms - limit, now_ms).await? {
                        report.silenced += 1;
                        report.notifications += queued;
                    }
                }
                #[allow(clippy::type_complexity)]
                let rows: Vec<(String, i64, Option<i64>, Option<i64>, String, String, String, String,
                               Option<f64>, i64, i64, Option<i64>, Option<String>)> = sqlx::query_as(
                    "SELECT ri.route_id, ri.incident_id, ri.told_at_ms, ri.escalated_at_ms, i.host_id, \
                     h.name, i.variable, i.state, i.value, i.opened_at_ms, i.changed_at_ms, \
                     i.acknowledged_at_ms, r.rule_json \
                     FROM route_incidents ri JOIN incidents i ON i.id = ri.incident_id \
                     JOIN hosts h ON h.id = i.host_id \
                     LEFT JOIN alert_rules r ON r.host_id = i.host_id AND r.variable = i.variable \
                     WHERE i.resolved_at_ms IS NULL ORDER BY i.host_id, ri.incident_id",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut by_host: std::collections::BTreeMap<(String, String), Vec<_>> =
                    std::collections::BTreeMap::new();
                for (route_id, incident_id, told, escalated, host_id, host_name, variable, state, value,
                     opened, changed, acked, rule_json) in rows
                {
                    let state = $crate::alerts_sql::parse_state(&state)?;
                    let rule: Option<$crate::readout_alerting::Rule> =
                        rule_json.and_then(|r| $crate::serde_json::from_str(&r).ok());
                    let followed = Followed {
                        route_id,
                        event: NoticeEvent {
                            incident_id,
                            variable,
                            from: state,
                            to: state,
                            value,
                            at_ms: changed,
                            opened_at_ms: opened,
                            warning: rule.and_then(|r| r.warning),
                            error: rule.and_then(|r| r.error),
                        },
                        last_told_ms: told,
                        escalated: escalated.is_some(),
                        acknowledged: acked.is_some(),
                    };
                    by_host.entry((host_id, host_name)).or_default().push(followed);
                }
                for ((host_id, host_name), followed) in by_host {
                    report.notifications += self.follow_up_host(&host_id, &host_name, &followed, now_ms).await?;
                }
                Ok(report)
            }
        }
    };
}
