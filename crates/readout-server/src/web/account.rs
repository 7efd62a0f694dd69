//! The signed-in user's own page: the workspaces they belong to (pick the
//! one the session shows), change the password, and API tokens (each for
//! this workspace, read-only or read-write, shown once, kept only as a
//! hash, revocable).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use readout_storage::{Database, DbError, NewApiToken, SessionUser};
use serde::Deserialize;

use super::accounts::{self, MIN_PASSWORD};
use super::change::forbidden;
use super::outputs::when;
use super::pages::failed;
use super::{Change, NoFields, Viewer};
use crate::keys;
use crate::state::AppState;

/// What the page says after an action.
#[derive(Debug, Default)]
struct Said<'a> {
    password_error: Option<&'a str>,
    password_changed: bool,
    tokens_revoked: bool,
    new_token: Option<&'a str>,
    token_error: Option<&'a str>,
}

async fn page<D: Database>(
    state: &AppState<D>,
    user: &SessionUser,
    said: Said<'_>,
    status: StatusCode,
) -> Response {
    let (tokens, memberships) = match tokio::try_join!(
        state.db.api_tokens(&user.user_id),
        state.db.memberships(&user.user_id)
    ) {
        Ok(both) => both,
        Err(e) => return failed("listing tokens and workspaces", e),
    };
    let tokens: Vec<_> = tokens
        .iter()
        .map(|t| {
            minijinja::context! {
                id => t.id.as_str(), name => t.name.as_str(), scope => t.scope.as_str(),
                created => when(t.created_at_ms), used => t.last_used_at_ms.map(when),
            }
        })
        .collect();
    let mut response = state.web.render(
        "account.html",
        Some(user),
        minijinja::context! {
            page => "account", tokens => tokens, min_password => MIN_PASSWORD,
            password_error => said.password_error, password_changed => said.password_changed,
            tokens_revoked => said.tokens_revoked,
            new_token => said.new_token, token_error => said.token_error,
            can_edit => super::actor(user).changes(), workspaces => minijinja::value::Serde(&memberships),
        },
    );
    *response.status_mut() = status;
    response
}

pub(super) async fn show<D: Database>(
    State(state): State<AppState<D>>,
    Viewer(user): Viewer,
) -> Response {
    page(&state, &user, Said::default(), StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub(super) struct SwitchForm {
    #[serde(default)]
    workspace: String,
}

/// Shows another of the user's workspaces in this session.
pub(super) async fn switch_workspace<D: Database>(
    State(state): State<AppState<D>>,
    headers: HeaderMap,
    Change { form, .. }: Change<SwitchForm>,
) -> Response {
    let Some(token) = crate::session::session_token(&headers) else {
        return forbidden();
    };
    let hash = keys::hash_secret(&token);
    match state.db.set_session_workspace(&hash, &form.workspace).await {
        Ok(()) => Redirect::to("/servers").into_response(),
        Err(DbError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failed("switching workspaces", e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    revoke_tokens: Option<String>,
}

pub(super) async fn change_password<D: Database>(
    State(state): State<AppState<D>>,
    headers: HeaderMap,
    Change { user, form }: Change<PasswordForm>,
) -> Response {
    let refuse = |why| {
        let said = Said {
            password_error: Some(why),
            ..Said::default()
        };
        page(&state, &user, said, StatusCode::UNPROCESSABLE_ENTITY)
    };
    if let Err(why) = accounts::check_password(&form.new) {
        return refuse(&format!("The new password is not accepted: {why}.")).await;
    }
    let stored = match state.db.user_by_email(&user.email).await {
        Ok(Some(u)) => u.password_hash,
        Ok(None) => return forbidden(),
        Err(e) => return failed("reading a user", e),
    };
    let (current, new) = (form.current.clone(), form.new.clone());
    let checked = state
        .web
        .passwords
        .run(move || {
            accounts::password_matches(&current, &stored).then(|| accounts::hash_password(&new))
        })
        .await;
    let hash = match checked {
        Ok(Some(Ok(hash))) => hash,
        Ok(None) => return refuse("The current password is not right.").await,
        Ok(Some(Err(e))) => return failed("hashing a password", e),
        Err(e) => return super::pages::password_failed("hashing a password", &e),
    };
    let Some(session) = crate::session::session_token(&headers) else {
        return forbidden();
    };
    let revoke_tokens = form.revoke_tokens.is_some();
    let kept = keys::hash_secret(&session);
    if let Err(e) = state
        .db
        .set_password(&user.user_id, &hash, &kept, revoke_tokens)
        .await
    {
        return failed("changing a password", e);
    }
    page(
        &state,
        &user,
        Said {
            password_changed: true,
            tokens_revoked: revoke_tokens,
            ..Said::default()
        },
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

pub(super) async fn create_token<D: Database>(
    State(state): State<AppState<D>>,
    Change { user, form }: Change<TokenForm>,
) -> Response {
    let refuse = |why| {
        page(
            &state,
            &user,
            Said {
                token_error: Some(why),
                ..Said::default()
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let name = match readout_app::Name::parse(&form.name) {
        Ok(name) => name,
        Err(e) => {
            let why = format!("Name the token, e.g. where it is used: {e}.");
            return refuse(&why).await;
        }
    };
    let scope = match form.scope.as_str() {
        "read" => "read",
        // A token cannot do more than its owner.
        "write" if super::actor(&user).changes() => "write",
        "write" => {
            return refuse("Your role cannot change this workspace: a token of yours reads only.")
                .await;
        }
        _ => return refuse("Pick what the token may do: read, or read and write.").await,
    };
    let made =
        keys::new_secret(keys::USER_TOKEN_PREFIX).and_then(|t| Ok((t, keys::new_id("at_")?)));
    let (token, id) = match made {
        Ok(both) => both,
        Err(e) => return failed("making a token", e),
    };
    let saved = state
        .db
        .create_api_token(&NewApiToken {
            id,
            user_id: user.user_id.clone(),
            workspace_id: user.workspace_id.clone(),
            name: name.into_string(),
            scope: scope.to_owned(),
            token_hash: keys::hash_secret(&token),
            created_at_ms: crate::now_ms(),
        })
        .await;
    if let Err(e) = saved {
        return failed("saving a token", e);
    }
    page(
        &state,
        &user,
        Said {
            new_token: Some(&token),
            ..Said::default()
        },
        StatusCode::OK,
    )
    .await
}

pub(super) async fn revoke_token<D: Database>(
    State(state): State<AppState<D>>,
    Path(tid): Path<String>,
    Change { user, .. }: Change<NoFields>,
) -> Response {
    match state.db.delete_api_token(&user.user_id, &tid).await {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(DbError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failed("revoking a token", e),
    }
}
