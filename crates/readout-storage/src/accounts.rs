//! What the store keeps of people: users, workspaces with their members'
//! roles, and browser sessions.

use std::future::Future;

use serde::Serialize;

use crate::DbError;

/// A role in a workspace, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Editor,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }
}

impl Role {
    /// Editors and above change hosts, layouts, variables and alerts.
    pub fn can_edit(self) -> bool {
        self <= Role::Editor
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!(
                "{other:?} is not a role: owner, admin, editor or viewer"
            )),
        }
    }
}

/// Where a new user works.
#[derive(Debug, Clone)]
pub enum Joining {
    /// The first user: owner of a new workspace. Fails with a conflict if
    /// the owner exists already.
    FirstOwner {
        workspace_id: String,
        workspace_name: String,
    },
    /// A member of the workspace every host belongs to so far.
    FirstWorkspace { role: Role },
    /// The owner of a new, empty workspace of their own (after first-run).
    NewWorkspace {
        workspace_id: String,
        workspace_name: String,
    },
}

/// A user, with the hash its password is checked against (the caller
/// hashes it; the email is lowercased).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at_ms: i64,
}

/// A session to create; only the hash of its cookie token is stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// The signed-in user of a live session, in their workspace.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SessionUser {
    pub user_id: String,
    pub email: String,
    pub name: String,
    #[serde(skip)]
    pub csrf_token: String,
    pub workspace_id: String,
    pub workspace_name: String,
    #[sqlx(try_from = "String")]
    pub role: RoleText,
}

/// A role as read from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RoleText(pub Role);

impl TryFrom<String> for RoleText {
    type Error = DbError;

    fn try_from(text: String) -> Result<Self, DbError> {
        text.parse().map(RoleText).map_err(DbError::Corrupt)
    }
}

/// An API token as its owner sees it (never the token itself).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// `read` (safe methods only) or `write`.
    pub scope: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
}

/// A token to create; the caller hashes it.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub id: String,
    pub user_id: String,
    pub workspace_id: String,
    pub name: String,
    pub scope: String,
    pub token_hash: Vec<u8>,
    pub created_at_ms: i64,
}

/// A link sent by email: an invitation (with its workspace and role) or a
/// password reset. Only the hash of its token is stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AccountLink {
    pub token_hash: Vec<u8>,
    /// `invite` or `reset`.
    pub kind: String,
    pub email: String,
    pub workspace_id: Option<String>,
    pub role: Option<String>,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// A member of a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Member {
    pub user_id: String,
    pub name: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: RoleText,
}

/// One of a user's workspaces.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Membership {
    pub workspace_id: String,
    pub workspace_name: String,
    #[sqlx(try_from = "String")]
    pub role: RoleText,
}

/// Users, workspaces and sessions. Implemented once for both backends by
/// [`crate::impl_accounts`].
pub trait Accounts {
    /// Whether the owner account exists (first-run is over).
    fn set_up(&self) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Creates a user and their membership in one transaction.
    fn add_user(
        &self,
        user: &User,
        joining: &Joining,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn user_by_email(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<User>, DbError>> + Send;

    fn create_session(
        &self,
        session: &NewSession,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The session's user if the session exists and has not expired, in
    /// the workspace the session picked (else the user's first).
    fn session(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<SessionUser>, DbError>> + Send;

    /// Points a session at another of its user's workspaces; `NotFound`
    /// unless the user is a member of it.
    fn set_session_workspace(
        &self,
        token_hash: &[u8],
        workspace_id: &str,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The workspaces a user belongs to, in the order they joined.
    fn memberships(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<Membership>, DbError>> + Send;

    /// A workspace's hosts (removed ones left out), by name.
    fn hosts_of(
        &self,
        workspace_id: &str,
    ) -> impl Future<Output = Result<Vec<crate::Host>, DbError>> + Send;

    /// Deletes the sessions expired by `now_ms`; returns how many.
    fn prune_sessions(&self, now_ms: i64) -> impl Future<Output = Result<u64, DbError>> + Send;

    fn delete_session(&self, token_hash: &[u8])
    -> impl Future<Output = Result<(), DbError>> + Send;

    /// Replaces a user's password hash and ends every session of theirs
    /// but `keep_session` (the one that changed it); with `revoke_tokens`
    /// their API tokens go too.
    fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep_session: &[u8],
        revoke_tokens: bool,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn create_api_token(
        &self,
        token: &NewApiToken,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// A user's tokens, newest first.
    fn api_tokens(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<ApiToken>, DbError>> + Send;

    /// Revokes one of the user's tokens.
    fn delete_api_token(
        &self,
        user_id: &str,
        id: &str,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// A workspace's members, by name.
    fn members(
        &self,
        workspace_id: &str,
    ) -> impl Future<Output = Result<Vec<Member>, DbError>> + Send;

    /// Gives a member another role; `NotFound` if they are not a member,
    /// `Conflict` if that would leave the workspace without an owner.
    fn set_member_role(
        &self,
        workspace_id: &str,
        user_id: &str,
        role: Role,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Takes someone out of a workspace (their sessions there fall back to
    /// another of theirs, or end; their tokens for it stop working);
    /// `NotFound` and `Conflict` as for [`Accounts::set_member_role`].
    fn remove_member(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    fn create_link(&self, link: &AccountLink) -> impl Future<Output = Result<(), DbError>> + Send;

    /// A workspace's invitations still open at `now_ms`, newest first.
    fn invitations(
        &self,
        workspace_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<AccountLink>, DbError>> + Send;

    /// Withdraws one of a workspace's open invitations: its link stops
    /// working; `NotFound` if it is not one of them.
    fn withdraw_invitation(
        &self,
        workspace_id: &str,
        token_hash: &[u8],
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// A link of `kind` that is unused and unexpired at `now_ms`.
    fn link(
        &self,
        token_hash: &[u8],
        kind: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<AccountLink>, DbError>> + Send;

    /// Uses an invitation: the new user joins its workspace with its role,
    /// in one transaction; `NotFound` if the link is used or expired.
    fn accept_invite(
        &self,
        token_hash: &[u8],
        user: &User,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Uses an invitation for an account that exists (its address must be
    /// the invitation's): the user joins its workspace with its role;
    /// returns the workspace. `NotFound` if the link is used, expired or
    /// for another address; `Conflict` if the user is a member already.
    fn join_with_account(
        &self,
        token_hash: &[u8],
        user_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<String, DbError>> + Send;

    /// Uses a reset link: the account gets the new password and every one
    /// of its sessions ends (with `revoke_tokens`, its API tokens too);
    /// `NotFound` if the link is used or expired.
    fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        now_ms: i64,
        revoke_tokens: bool,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The token's user, in the token's workspace with their role there now,
    /// and the token's scope; marks the token used.
    fn api_token_user(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<(SessionUser, String)>, DbError>> + Send;
}
