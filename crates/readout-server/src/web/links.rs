//! Links sent by email. Members: owners and admins invite people into the
//! workspace with a role; the invitee follows the link, picks a name and
//! a password (or, having an account already, gives its password), and
//! is signed in, looking at that workspace. Reset: anyone asks for a link to their
//! address (the answer never tells whether an account exists), follows it
//! and sets a new password, which ends every session of that account.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use readout_notify::channel::Email;
use readout_storage::{AccountLink, Database, DbError, Role, SessionUser, User};
use serde::Deserialize;

use super::accounts::{self, MIN_PASSWORD, Signup};
use super::pages::{failed, not_allowed, password_failed, signed_in};
use super::{Change, ClientAddr, NoFields, PageError, Submitted, Viewer};
use crate::keys;
use crate::state::AppState;
use readout_app::{AppError, members};

const INVITE_DAYS: i64 = 7;
const RESET_MINUTES: i64 = 60;

/// A new link's token (for the URL) and its stored row.
fn new_link(
    kind: &str,
    email: &str,
    workspace: Option<(&str, Role)>,
    by: Option<&str>,
    lasts_ms: i64,
) -> anyhow::Result<(String, AccountLink)> {
    let token = keys::new_secret("rl_")?;
    let now = crate::now_ms();
    let link = AccountLink {
        token_hash: keys::hash_secret(&token),
        kind: kind.to_owned(),
        email: email.to_owned(),
        workspace_id: workspace.map(|(w, _)| w.to_owned()),
        role: workspace.map(|(_, r)| r.as_str().to_owned()),
        created_by: by.map(str::to_owned),
        created_at_ms: now,
        expires_at_ms: now + lasts_ms,
    };
    Ok((token, link))
}

/// Sends a plain-text email, if the server has an SMTP relay; whether it did.
async fn mail<D: Database>(state: &AppState<D>, to: &str, subject: &str, body: String) -> bool {
    let Some(mailer) = &state.delivery.mailer else {
        return false;
    };
    let email = Email {
        to: vec![to.to_owned()],
        subject: subject.to_owned(),
        body,
        html: false,
    };
    let key = keys::new_id("mail_").unwrap_or_default();
    match mailer.send(&email, &key).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e.message, "an account email was not sent");
            false
        }
    }
}

#[derive(Debug, Default)]
struct Said {
    invited: Option<(String, String, bool)>,
    error: Option<String>,
}

async fn members_page<D: Database>(
    state: &AppState<D>,
    user: &SessionUser,
    said: Said,
) -> Response {
    let (members, invitations) = match tokio::try_join!(
        state.db.members(&user.workspace_id),
        state.db.invitations(&user.workspace_id, crate::now_ms())
    ) {
        Ok(both) => both,
        Err(e) => return failed("listing members", e),
    };
    let invitations: Vec<_> = invitations
        .iter()
        .map(|i| {
            minijinja::context! {
                id => hex::encode(&i.token_hash), email => i.email.as_str(), role => i.role.as_deref(),
                expires => super::outputs::when(i.expires_at_ms),
            }
        })
        .collect();
    let status = if said.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (invited, link, mailed) = said.invited.unwrap_or_default();
    let mut response = state.web.render(
        "members.html",
        Some(user),
        minijinja::context! {
            page => "members", members => minijinja::value::Serde(&members), admin => super::actor(user).administers(),
            owner => user.role.0 == Role::Owner, me => user.user_id.as_str(), invitations => invitations,
            invited => invited, link => link, mailed => mailed, error => said.error,
            mail_ready => state.delivery.mailer.is_some(),
        },
    );
    *response.status_mut() = status;
    response
}

/// The members page saying why a change was refused.
async fn refused<D: Database>(state: &AppState<D>, user: &SessionUser, why: String) -> Response {
    let said = Said {
        error: Some(why),
        ..Said::default()
    };
    members_page(state, user, said).await
}

pub(super) async fn members<D: Database>(
    State(state): State<AppState<D>>,
    Viewer(user): Viewer,
) -> Response {
    members_page(&state, &user, Said::default()).await
}

#[derive(Debug, Deserialize)]
pub(super) struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub(super) async fn invite<D: Database>(
    State(state): State<AppState<D>>,
    Change { user, form }: Change<InviteForm>,
) -> Response {
    if !super::actor(&user).administers() {
        return not_allowed();
    }
    let refuse = |why: String| refused(&state, &user, why);
    let email = form.email.trim().to_lowercase();
    let check = Signup {
        email: &email,
        name: "invitee",
        password: "a long enough password",
    };
    if let Err(why) = accounts::check_signup(&check) {
        return refuse(format!("Not invited: {why}.")).await;
    }
    let role: Role = match form.role.parse() {
        Ok(Role::Owner) | Err(_) => {
            return refuse("Pick a role: admin, editor or viewer.".into()).await;
        }
        Ok(role) => role,
    };
    let members = match state.db.members(&user.workspace_id).await {
        Ok(members) => members,
        Err(e) => return failed("listing members", e),
    };
    if members.iter().any(|m| m.email == email) {
        return refuse(format!("{email} is a member already.")).await;
    }
    let made = new_link(
        "invite",
        &email,
        Some((&user.workspace_id, role)),
        Some(&user.user_id),
        INVITE_DAYS * 86_400_000,
    );
    let (token, link) = match made {
        Ok(both) => both,
        Err(e) => return failed("making an invitation", e),
    };
    if let Err(e) = state.db.create_link(&link).await {
        return failed("saving an invitation", e);
    }
    let url = format!("{}/join?token={token}", state.settings.public_url);
    let body = format!(
        "{} invites you to the workspace \"{}\" on Readout, as {}.\n\nFollow this link within {INVITE_DAYS} days to join (with your account, if you have one):\n{url}\n",
        user.name,
        user.workspace_name,
        role.as_str()
    );
    let subject = format!("Join {} on Readout", user.workspace_name);
    let mailed = mail(&state, &email, &subject, body).await;
    members_page(
        &state,
        &user,
        Said {
            invited: Some((email, url, mailed)),
            ..Said::default()
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct RoleForm {
    #[serde(default)]
    role: String,
}

/// Changes a member's role, or (without a role) takes them out; a
/// refusal shows the members page with why.
async fn change_member<D: Database>(
    state: &AppState<D>,
    user: &SessionUser,
    uid: &str,
    role: Option<Role>,
) -> Response {
    let refuse = |why: String| refused(state, user, why);
    match members::change_member(&super::actor(user), &state.db, uid, role).await {
        Ok(()) if uid == user.user_id => Redirect::to("/servers").into_response(),
        Ok(()) => Redirect::to("/members").into_response(),
        Err(AppError::Forbidden(why)) => refuse(why).await,
        Err(AppError::Conflict(why)) => refuse(format!("Not changed: {why}.")).await,
        Err(e) => PageError::from(e).into_response(),
    }
}

pub(super) async fn set_role<D: Database>(
    State(state): State<AppState<D>>,
    Path(uid): Path<String>,
    Change { user, form }: Change<RoleForm>,
) -> Response {
    let Ok(role) = form.role.parse::<Role>() else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "pick owner, admin, editor or viewer",
        )
            .into_response();
    };
    change_member(&state, &user, &uid, Some(role)).await
}

pub(super) async fn remove<D: Database>(
    State(state): State<AppState<D>>,
    Path(uid): Path<String>,
    Change { user, .. }: Change<NoFields>,
) -> Response {
    change_member(&state, &user, &uid, None).await
}

/// Withdraws an open invitation of the workspace: its link stops working.
pub(super) async fn withdraw<D: Database>(
    State(state): State<AppState<D>>,
    Path(id): Path<String>,
    Change { user, .. }: Change<NoFields>,
) -> Response {
    if !super::actor(&user).administers() {
        return not_allowed();
    }
    let Ok(hash) = hex::decode(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state
        .db
        .withdraw_invitation(&user.workspace_id, &hash)
        .await
    {
        Ok(()) => Redirect::to("/members#invitations").into_response(),
        Err(DbError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failed("withdrawing an invitation", e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn link_gone() -> Response {
    (
        StatusCode::NOT_FOUND,
        "This link has been used or has expired: ask for a new one.",
    )
        .into_response()
}

/// The join page; `account` tells whether the invited address has one.
fn join_page<D: Database>(
    state: &AppState<D>,
    token: &str,
    link: &AccountLink,
    account: bool,
    error: Option<(StatusCode, &str)>,
) -> Response {
    let mut response = state.web.render(
        "join.html",
        None,
        minijinja::context! {
            token => token, email => link.email.as_str(), role => link.role.as_deref(),
            error => error.map(|(_, e)| e), min_password => MIN_PASSWORD, account => account,
        },
    );
    if let Some((status, _)) = error {
        *response.status_mut() = status;
    }
    response
}

pub(super) async fn join_form<D: Database>(
    State(state): State<AppState<D>>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let link = match state
        .db
        .link(&keys::hash_secret(&q.token), "invite", crate::now_ms())
        .await
    {
        Ok(Some(link)) => link,
        Ok(None) => return link_gone(),
        Err(e) => return failed("reading an invitation", e),
    };
    match state.db.user_by_email(&link.email).await {
        Ok(account) => join_page(&state, &q.token, &link, account.is_some(), None),
        Err(e) => failed("looking up a user", e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct JoinForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn join<D: Database>(
    State(state): State<AppState<D>>,
    Submitted(form): Submitted<JoinForm>,
) -> Response {
    let hash = keys::hash_secret(&form.token);
    let link = match state.db.link(&hash, "invite", crate::now_ms()).await {
        Ok(Some(link)) => link,
        Ok(None) => return link_gone(),
        Err(e) => return failed("reading an invitation", e),
    };
    match state.db.user_by_email(&link.email).await {
        Ok(Some(account)) => return join_with_account(&state, &form, &link, &account).await,
        Ok(None) => {}
        Err(e) => return failed("looking up a user", e),
    }
    let signup = Signup {
        email: &link.email,
        name: &form.name,
        password: &form.password,
    };
    let (email, name) = match accounts::check_signup(&signup) {
        Ok(both) => both,
        Err(why) => {
            let why = format!("Not yet: {why}.");
            let error = Some((StatusCode::UNPROCESSABLE_ENTITY, why.as_str()));
            return join_page(&state, &form.token, &link, false, error);
        }
    };
    let password_hash = match state.web.passwords.hash(&form.password).await {
        Ok(hash) => hash,
        Err(e) => return password_failed("hashing a password", &e),
    };
    let user = match keys::new_id("u_") {
        Ok(id) => User {
            id,
            email,
            name,
            password_hash,
            created_at_ms: crate::now_ms(),
        },
        Err(e) => return failed("making a user id", e),
    };
    match state.db.accept_invite(&hash, &user, crate::now_ms()).await {
        Ok(()) => signed_in(&state, &user.id, None).await,
        Err(DbError::NotFound) => link_gone(),
        Err(DbError::Conflict(why)) => {
            let error = Some((StatusCode::UNPROCESSABLE_ENTITY, why.as_str()));
            join_page(&state, &form.token, &link, false, error)
        }
        Err(e) => failed("accepting an invitation", e),
    }
}

/// An invitation taken with an account that exists: its password, tried
/// as often as a login may be, then the membership.
async fn join_with_account<D: Database>(
    state: &AppState<D>,
    form: &JoinForm,
    link: &AccountLink,
    account: &User,
) -> Response {
    let key = format!("account:{}", account.email);
    if !state.web.limiter.attempt(&[key.as_str()]) {
        let error = "Too many wrong passwords: wait 15 minutes, or reset the password.";
        let error = Some((StatusCode::TOO_MANY_REQUESTS, error));
        return join_page(state, &form.token, link, true, error);
    }
    let matches = match state
        .web
        .passwords
        .matches(&form.password, &account.password_hash)
        .await
    {
        Ok(matches) => matches,
        Err(e) => return password_failed("checking a password", &e),
    };
    if !matches {
        let error = Some((StatusCode::UNAUTHORIZED, "Wrong password."));
        return join_page(state, &form.token, link, true, error);
    }
    state.web.limiter.succeeded(&[key.as_str()], &key);
    let hash = keys::hash_secret(&form.token);
    match state
        .db
        .join_with_account(&hash, &account.id, crate::now_ms())
        .await
    {
        Ok(workspace) => signed_in(state, &account.id, Some(&workspace)).await,
        Err(DbError::NotFound) => link_gone(),
        Err(DbError::Conflict(why)) => {
            let error = Some((StatusCode::CONFLICT, why.as_str()));
            join_page(state, &form.token, link, true, error)
        }
        Err(e) => failed("accepting an invitation", e),
    }
}

fn reset_page<D: Database>(
    state: &AppState<D>,
    ctx: minijinja::Value,
    status: StatusCode,
) -> Response {
    let mut response = state.web.render("reset.html", None, ctx);
    *response.status_mut() = status;
    response
}

/// `/reset`: the form asking for a link, or with `?token=` the new password's.
pub(super) async fn reset_form<D: Database>(
    State(state): State<AppState<D>>,
    Query(q): Query<TokenQuery>,
) -> Response {
    if q.token.is_empty() {
        return reset_page(&state, minijinja::context! {}, StatusCode::OK);
    }
    match state
        .db
        .link(&keys::hash_secret(&q.token), "reset", crate::now_ms())
        .await
    {
        Ok(Some(link)) => reset_page(
            &state,
            minijinja::context! { token => q.token.as_str(), email => link.email.as_str(), min_password => MIN_PASSWORD },
            StatusCode::OK,
        ),
        Ok(None) => link_gone(),
        Err(e) => failed("reading a reset link", e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ResetAsk {
    #[serde(default)]
    email: String,
}

pub(super) async fn ask_reset<D: Database>(
    State(state): State<AppState<D>>,
    ClientAddr(addr): ClientAddr,
    Submitted(form): Submitted<ResetAsk>,
) -> Response {
    // Each request counts against the address like a failed login: no
    // flooding someone's inbox from here.
    let address = format!("reset:{}", addr.map(|a| a.to_string()).unwrap_or_default());
    if !state.web.limiter.attempt(&[address.as_str()]) {
        let ctx = minijinja::context! { error => "Too many requests: wait 15 minutes." };
        return reset_page(&state, ctx, StatusCode::TOO_MANY_REQUESTS);
    }
    let email = form.email.trim().to_lowercase();
    // The link is made and sent after answering, for known and unknown
    // addresses alike: how long that takes must not tell which addresses
    // have an account.
    let task_state = state.clone();
    let asked = email.clone();
    tokio::spawn(async move { send_reset_link(&task_state, &asked).await });
    let ctx = minijinja::context! { asked => email };
    reset_page(&state, ctx, StatusCode::OK)
}

/// Mails a reset link to `email`, if it has an account.
async fn send_reset_link<D: Database>(state: &AppState<D>, email: &str) {
    let user = match state.db.user_by_email(email).await {
        Ok(Some(user)) => user,
        Ok(None) => return,
        Err(e) => return tracing::error!(error = %e, "looking up a user for a reset failed"),
    };
    let (token, link) = match new_link("reset", &user.email, None, None, RESET_MINUTES * 60_000) {
        Ok(both) => both,
        Err(e) => return tracing::error!(error = %e, "making a reset link failed"),
    };
    if let Err(e) = state.db.create_link(&link).await {
        return tracing::error!(error = %e, "saving a reset link failed");
    }
    let url = format!("{}/reset?token={token}", state.settings.public_url);
    let body = format!(
        "Someone asked to reset the Readout password of {}.\n\nIf it was you, follow this link within {RESET_MINUTES} minutes to pick a new one:\n{url}\n\nIf not, ignore this email: nothing changes.\n",
        user.email
    );
    if !mail(state, &user.email, "Reset your Readout password", body).await {
        tracing::warn!(
            "a password reset was asked, but no email could be sent: set alerts.smtp_url"
        );
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    revoke_tokens: Option<String>,
}

pub(super) async fn reset<D: Database>(
    State(state): State<AppState<D>>,
    Submitted(form): Submitted<ResetForm>,
) -> Response {
    let hash = keys::hash_secret(&form.token);
    let link = match state.db.link(&hash, "reset", crate::now_ms()).await {
        Ok(Some(link)) => link,
        Ok(None) => return link_gone(),
        Err(e) => return failed("reading a reset link", e),
    };
    if let Err(why) = accounts::check_password(&form.password) {
        let ctx = minijinja::context! {
            token => form.token.as_str(), email => link.email.as_str(), min_password => MIN_PASSWORD,
            error => format!("Not changed: {why}."),
        };
        return reset_page(&state, ctx, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let password_hash = match state.web.passwords.hash(&form.password).await {
        Ok(hash) => hash,
        Err(e) => return password_failed("hashing a password", &e),
    };
    match state
        .db
        .reset_password(
            &hash,
            &password_hash,
            crate::now_ms(),
            form.revoke_tokens.is_some(),
        )
        .await
    {
        Ok(()) => Redirect::to("/login?reset=1").into_response(),
        Err(DbError::NotFound) => link_gone(),
        Err(e) => failed("resetting a password", e),
    }
}
