//! The one SQL implementation of [`crate::Accounts`], for both backends.

/// Implements [`crate::Accounts`] for a store with a `pool: sqlx::Pool<$db>`.
#[macro_export]
macro_rules! impl_accounts {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Commits what was written, or rolls it back at once: on SQLite
            /// a dropped transaction keeps the write lock until its
            /// connection is next used.
            async fn finish<T>(
                tx: $crate::sqlx::Transaction<'static, $db>,
                written: Result<T, $crate::DbError>,
            ) -> Result<T, $crate::DbError> {
                match written {
                    Ok(value) => {
                        tx.commit().await?;
                        Ok(value)
                    }
                    Err(e) => {
                        tx.rollback().await?;
                        Err(e)
                    }
                }
            }

            /// Holds the workspace's row until the transaction ends: two
            /// owners stepping down at once cannot both pass the owner count.
            async fn lock_workspace(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                workspace_id: &str,
            ) -> Result<(), $crate::DbError> {
                $crate::sqlx::query("UPDATE workspaces SET name = name WHERE id = $1")
                    .bind(workspace_id)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            /// `Conflict` unless the workspace still has an owner.
            async fn keeps_an_owner(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                workspace_id: &str,
            ) -> Result<(), $crate::DbError> {
                let owners: i64 = $crate::sqlx::query_scalar(
                    "SELECT count(*) FROM memberships WHERE workspace_id = $1 AND role = 'owner'",
                )
                .bind(workspace_id)
                .fetch_one(&mut **tx)
                .await?;
                if owners == 0 {
                    return Err($crate::DbError::Conflict(
                        "a workspace keeps at least one owner: make someone else owner first".into(),
                    ));
                }
                Ok(())
            }

            /// A new user and their membership, in the caller's transaction.
            async fn insert_member(
                tx: &mut $crate::sqlx::Transaction<'static, $db>,
                user: &$crate::User,
                workspace_id: &str,
                role: &str,
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                sqlx::query(
                    "INSERT INTO users (id, email, name, password_hash, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&user.id)
                .bind(&user.email)
                .bind(&user.name)
                .bind(&user.password_hash)
                .bind(user.created_at_ms)
                .execute(&mut **tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        $crate::DbError::Conflict(format!("an account for {} exists already", user.email))
                    }
                    _ => $crate::DbError::Other(e),
                })?;
                sqlx::query(
                    "INSERT INTO memberships (workspace_id, user_id, role, created_at_ms) VALUES ($1, $2, $3, $4)",
                )
                .bind(workspace_id)
                .bind(&user.id)
                .bind(role)
                .bind(user.created_at_ms)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }

        impl $crate::Accounts for $store {
            async fn set_up(&self) -> Result<bool, $crate::DbError> {
                let done: Option<i64> = $crate::sqlx::query_scalar("SELECT done_at_ms FROM setup WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(done.is_some())
            }

            async fn add_user(
                &self,
                user: &$crate::User,
                joining: &$crate::Joining,
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                // An expected refusal (the owner exists, the address is
                // taken) rolls back at once (see `finish`).
                let written: Result<(), $crate::DbError> = async {
                    let (workspace_id, role) = match joining {
                        $crate::Joining::FirstOwner { workspace_id, workspace_name } => {
                            sqlx::query("INSERT INTO setup (id, done_at_ms) VALUES (1, $1)")
                                .bind(user.created_at_ms)
                                .execute(&mut *tx)
                                .await
                                .map_err(|e| match &e {
                                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                                        $crate::DbError::Conflict("the owner account exists already".into())
                                    }
                                    _ => $crate::DbError::Other(e),
                                })?;
                            sqlx::query("INSERT INTO workspaces (id, name, created_at_ms) VALUES ($1, $2, $3)")
                                .bind(workspace_id)
                                .bind(workspace_name)
                                .bind(user.created_at_ms)
                                .execute(&mut *tx)
                                .await?;
                            // Hosts added before the owner (the demo's) are theirs.
                            sqlx::query("UPDATE hosts SET workspace_id = $1 WHERE workspace_id IS NULL")
                                .bind(workspace_id)
                                .execute(&mut *tx)
                                .await?;
                            (workspace_id.clone(), $crate::Role::Owner)
                        }
                        $crate::Joining::NewWorkspace { workspace_id, workspace_name } => {
                            sqlx::query("INSERT INTO workspaces (id, name, created_at_ms) VALUES ($1, $2, $3)")
                                .bind(workspace_id)
                                .bind(workspace_name)
                                .bind(user.created_at_ms)
                                .execute(&mut *tx)
                                .await?;
                            (workspace_id.clone(), $crate::Role::Owner)
                        }
                        $crate::Joining::FirstWorkspace { role } => {
                            let first: Option<String> = sqlx::query_scalar(
                                "SELECT id FROM workspaces ORDER BY created_at_ms, id LIMIT 1",
                            )
                            .fetch_optional(&mut *tx)
                            .await?;
                            let first = first.ok_or_else(|| {
                                $crate::DbError::Conflict("no workspace yet: create the owner first".into())
                            })?;
                            (first, *role)
                        }
                    };
                    Self::insert_member(&mut tx, user, &workspace_id, role.as_str()).await
                }
                .await;
                Self::finish(tx, written).await
            }

            async fn user_by_email(&self, email: &str) -> Result<Option<$crate::User>, $crate::DbError> {
                Ok($crate::sqlx::query_as(
                    "SELECT id, email, name, password_hash, created_at_ms FROM users WHERE email = $1",
                )
                .bind(email)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn create_session(&self, session: &$crate::NewSession) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at_ms, expires_at_ms) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&session.token_hash)
                .bind(&session.user_id)
                .bind(&session.csrf_token)
                .bind(session.created_at_ms)
                .bind(session.expires_at_ms)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session(
                &self,
                token_hash: &[u8],
                now_ms: i64,
            ) -> Result<Option<$crate::SessionUser>, $crate::DbError> {
                // The session's workspace if the user is still in it, else their first.
                Ok($crate::sqlx::query_as(
                    "SELECT u.id AS user_id, u.email, u.name, s.csrf_token, w.id AS workspace_id, \
                     w.name AS workspace_name, m.role \
                     FROM sessions s JOIN users u ON u.id = s.user_id \
                     JOIN memberships m ON m.user_id = u.id JOIN workspaces w ON w.id = m.workspace_id \
                     WHERE s.token_hash = $1 AND s.expires_at_ms > $2 \
                     ORDER BY CASE WHEN m.workspace_id = s.workspace_id THEN 0 ELSE 1 END, \
                     m.created_at_ms, w.id LIMIT 1",
                )
                .bind(token_hash)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn set_session_workspace(
                &self,
                token_hash: &[u8],
                workspace_id: &str,
            ) -> Result<(), $crate::DbError> {
                let done = $crate::sqlx::query(
                    "UPDATE sessions SET workspace_id = $2 WHERE token_hash = $1 AND EXISTS \
                     (SELECT 1 FROM memberships m WHERE m.user_id = sessions.user_id AND m.workspace_id = $2)",
                )
                .bind(token_hash)
                .bind(workspace_id)
                .execute(&self.pool)
                .await?;
                $crate::DbError::expect_one(done.rows_affected())
            }

            async fn memberships(&self, user_id: &str) -> Result<Vec<$crate::Membership>, $crate::DbError> {
                Ok($crate::sqlx::query_as(
                    "SELECT w.id AS workspace_id, w.name AS workspace_name, m.role FROM memberships m \
                     JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 \
                     ORDER BY m.created_at_ms, w.id",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn hosts_of(&self, workspace_id: &str) -> Result<Vec<$crate::Host>, $crate::DbError> {
                Ok($crate::sqlx::query_as($crate::sqlx::AssertSqlSafe(format!(
                    "{} WHERE workspace_id = $1 AND removed_at_ms IS NULL ORDER BY name, created_at_ms",
                    $crate::sql::HOST_SELECT
                )))
                .bind(workspace_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn prune_sessions(&self, now_ms: i64) -> Result<u64, $crate::DbError> {
                let done = $crate::sqlx::query("DELETE FROM sessions WHERE expires_at_ms <= $1")
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn delete_session(&self, token_hash: &[u8]) -> Result<(), $crate::DbError> {
                $crate::sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_password(
                &self,
                user_id: &str,
                password_hash: &str,
                keep_session: &[u8],
                revoke_tokens: bool,
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(password_hash)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Err($crate::DbError::NotFound);
                }
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                    .bind(user_id)
                    .bind(keep_session)
                    .execute(&mut *tx)
                    .await?;
                if revoke_tokens {
                    sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn create_api_token(&self, token: &$crate::NewApiToken) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO api_tokens (id, user_id, workspace_id, name, scope, token_hash, created_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&token.id)
                .bind(&token.user_id)
                .bind(&token.workspace_id)
                .bind(&token.name)
                .bind(&token.scope)
                .bind(&token.token_hash)
                .bind(token.created_at_ms)
                .execute(&self.pool)
                .await
                .map_err($crate::DbError::missing_parent)?;
                Ok(())
            }

            async fn api_tokens(&self, user_id: &str) -> Result<Vec<$crate::ApiToken>, $crate::DbError> {
                Ok($crate::sqlx::query_as(
                    "SELECT id, name, scope, created_at_ms, last_used_at_ms FROM api_tokens \
                     WHERE user_id = $1 ORDER BY created_at_ms DESC, id",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn delete_api_token(&self, user_id: &str, id: &str) -> Result<(), $crate::DbError> {
                let done = $crate::sqlx::query("DELETE FROM api_tokens WHERE user_id = $1 AND id = $2")
                    .bind(user_id)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                $crate::DbError::expect_one(done.rows_affected())
            }

            async fn members(&self, workspace_id: &str) -> Result<Vec<$crate::Member>, $crate::DbError> {
                Ok($crate::sqlx::query_as(
                    "SELECT u.id AS user_id, u.name, u.email, m.role FROM memberships m \
                     JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY u.name, u.email",
                )
                .bind(workspace_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn set_member_role(
                &self,
                workspace_id: &str,
                user_id: &str,
                role: $crate::Role,
            ) -> Result<(), $crate::DbError> {
                let mut tx = self.begin_write().await?;
                let written = async {
                    Self::lock_workspace(&mut tx, workspace_id).await?;
                    let done = $crate::sqlx::query(
                        "UPDATE memberships SET role = $3 WHERE workspace_id = $1 AND user_id = $2",
                    )
                    .bind(workspace_id)
                    .bind(user_id)
                    .bind(role.as_str())
                    .execute(&mut *tx)
                    .await?;
                    $crate::DbError::expect_one(done.rows_affected())?;
                    Self::keeps_an_owner(&mut tx, workspace_id).await
                }
                .await;
                Self::finish(tx, written).await
            }

            async fn remove_member(&self, workspace_id: &str, user_id: &str) -> Result<(), $crate::DbError> {
                let mut tx = self.begin_write().await?;
                let written = async {
                    Self::lock_workspace(&mut tx, workspace_id).await?;
                    let done = $crate::sqlx::query(
                        "DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2",
                    )
                    .bind(workspace_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                    $crate::DbError::expect_one(done.rows_affected())?;
                    Self::keeps_an_owner(&mut tx, workspace_id).await
                }
                .await;
                Self::finish(tx, written).await
            }

            async fn create_link(&self, link: &$crate::AccountLink) -> Result<(), $crate::DbError> {
                $crate::sqlx::query(
                    "INSERT INTO account_links (token_hash, kind, email, workspace_id, role, created_by, \
                     created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&link.token_hash)
                .bind(&link.kind)
                .bind(&link.email)
                .bind(&link.workspace_id)
                .bind(&link.role)
                .bind(&link.created_by)
                .bind(link.created_at_ms)
                .bind(link.expires_at_ms)
                .execute(&self.pool)
                .await
                .map_err($crate::DbError::missing_parent)?;
                Ok(())
            }

            async fn invitations(
                &self,
                workspace_id: &str,
                now_ms: i64,
            ) -> Result<Vec<$crate::AccountLink>, $crate::DbError> {
                Ok($crate::sqlx::query_as(
                    "SELECT token_hash, kind, email, workspace_id, role, created_by, created_at_ms, \
                     expires_at_ms FROM account_links WHERE workspace_id = $1 AND kind = 'invite' \
                     AND used_at_ms IS NULL AND expires_at_ms > $2 ORDER BY created_at_ms DESC",
                )
                .bind(workspace_id)
                .bind(now_ms)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn withdraw_invitation(
                &self,
                workspace_id: &str,
                token_hash: &[u8],
            ) -> Result<(), $crate::DbError> {
                let gone = $crate::sqlx::query(
                    "DELETE FROM account_links WHERE token_hash = $1 AND workspace_id = $2 \
                     AND kind = 'invite' AND used_at_ms IS NULL",
                )
                .bind(token_hash)
                .bind(workspace_id)
                .execute(&self.pool)
                .await?;
                $crate::DbError::expect_one(gone.rows_affected())
            }

            async fn link(
                &self,
                token_hash: &[u8],
                kind: &str,
                now_ms: i64,
            ) -> Result<Option<$crate::AccountLink>, $crate::DbError> {
                Ok($crate::sqlx::query_as(
                    "SELECT token_hash, kind, email, workspace_id, role, created_by, created_at_ms, \
                     expires_at_ms FROM account_links WHERE token_hash = $1 AND kind = $2 \
                     AND used_at_ms IS NULL AND expires_at_ms > $3",
                )
                .bind(token_hash)
                .bind(kind)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn accept_invite(
                &self,
                token_hash: &[u8],
                user: &$crate::User,
                now_ms: i64,
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                let written: Result<(), $crate::DbError> = async {
                    let claimed: Option<(Option<String>, Option<String>)> = sqlx::query_as(
                        "UPDATE account_links SET used_at_ms = $2 WHERE token_hash = $1 AND kind = 'invite' \
                         AND used_at_ms IS NULL AND expires_at_ms > $2 RETURNING workspace_id, role",
                    )
                    .bind(token_hash)
                    .bind(now_ms)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((Some(workspace_id), Some(role))) = claimed else {
                        return Err($crate::DbError::NotFound);
                    };
                    Self::insert_member(&mut tx, user, &workspace_id, &role).await
                }
                .await;
                Self::finish(tx, written).await
            }

            async fn join_with_account(
                &self,
                token_hash: &[u8],
                user_id: &str,
                now_ms: i64,
            ) -> Result<String, $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                let written: Result<String, $crate::DbError> = async {
                    let claimed: Option<(Option<String>, Option<String>)> = sqlx::query_as(
                        "UPDATE account_links SET used_at_ms = $2 WHERE token_hash = $1 AND kind = 'invite' \
                         AND used_at_ms IS NULL AND expires_at_ms > $2 \
                         AND email = (SELECT email FROM users WHERE id = $3) RETURNING workspace_id, role",
                    )
                    .bind(token_hash)
                    .bind(now_ms)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((Some(workspace_id), Some(role))) = claimed else {
                        return Err($crate::DbError::NotFound);
                    };
                    sqlx::query(
                        "INSERT INTO memberships (workspace_id, user_id, role, created_at_ms) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&workspace_id)
                    .bind(user_id)
                    .bind(&role)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match &e {
                        sqlx::Error::Database(d) if d.is_unique_violation() => {
                            $crate::DbError::Conflict("you are a member of this workspace already".into())
                        }
                        _ => $crate::DbError::Other(e),
                    })?;
                    Ok(workspace_id)
                }
                .await;
                Self::finish(tx, written).await
            }

            async fn reset_password(
                &self,
                token_hash: &[u8],
                password_hash: &str,
                now_ms: i64,
                revoke_tokens: bool,
            ) -> Result<(), $crate::DbError> {
                use $crate::sqlx;
                let mut tx = self.begin_write().await?;
                let email: Option<String> = sqlx::query_scalar(
                    "UPDATE account_links SET used_at_ms = $2 WHERE token_hash = $1 AND kind = 'reset' \
                     AND used_at_ms IS NULL AND expires_at_ms > $2 RETURNING email",
                )
                .bind(token_hash)
                .bind(now_ms)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(email) = email else {
                    tx.rollback().await?;
                    return Err($crate::DbError::NotFound);
                };
                sqlx::query("UPDATE users SET password_hash = $2 WHERE email = $1")
                    .bind(&email)
                    .bind(password_hash)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = $1)")
                    .bind(&email)
                    .execute(&mut *tx)
                    .await?;
                if revoke_tokens {
                    sqlx::query("DELETE FROM api_tokens WHERE user_id = (SELECT id FROM users WHERE email = $1)")
                        .bind(&email)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn api_token_user(
                &self,
                token_hash: &[u8],
                now_ms: i64,
            ) -> Result<Option<($crate::SessionUser, String)>, $crate::DbError> {
                use $crate::sqlx::Row as _;
                let row = $crate::sqlx::query(
                    "UPDATE api_tokens SET last_used_at_ms = $2 WHERE token_hash = $1 \
                     RETURNING user_id, workspace_id, scope",
                )
                .bind(token_hash)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let (user_id, workspace_id, scope): (String, String, String) =
                    (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                // The role as it is now: a member demoted or removed loses
                // what the token could do.
                let user: Option<$crate::SessionUser> = $crate::sqlx::query_as(
                    "SELECT u.id AS user_id, u.email, u.name, '' AS csrf_token, w.id AS workspace_id, \
                     w.name AS workspace_name, m.role \
                     FROM users u JOIN memberships m ON m.user_id = u.id AND m.workspace_id = $2 \
                     JOIN workspaces w ON w.id = m.workspace_id WHERE u.id = $1",
                )
                .bind(&user_id)
                .bind(&workspace_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(user.map(|u| (u, scope)))
            }
        }
    };
}
