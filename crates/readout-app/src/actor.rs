//! Who is asking: the operator (the admin token, the CLI), or a member of
//! one workspace, through a browser session or one of their API tokens.
//! Every operation takes an actor and asks it here, so the pages and the
//! API cannot grant different things.

use readout_storage::{Role, SessionUser};

use crate::AppError;

/// The caller of an operation.
#[derive(Debug, Clone)]
pub enum Actor {
    /// Reaches every workspace and the server's own settings.
    Operator,
    Member(Member),
}

/// A person acting in one workspace.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: String,
    /// Recorded where they change something (an acknowledgement).
    pub name: String,
    pub workspace_id: String,
    pub role: Role,
    pub via: Via,
}

/// How a member came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Session,
    /// An API token reads; one with `write` also changes, as its owner may.
    Token {
        write: bool,
    },
}

/// What a member without the role is told.
pub const ROLE_CANNOT_CHANGE: &str =
    "your role in this workspace cannot change it: ask an owner or admin";

impl Actor {
    pub fn member(user: &SessionUser, via: Via) -> Self {
        Actor::Member(Member {
            user_id: user.user_id.clone(),
            name: user.name.clone(),
            workspace_id: user.workspace_id.clone(),
            role: user.role.0,
            via,
        })
    }

    /// The workspace a new thing of this actor's belongs to; none: the
    /// operator's own.
    pub fn workspace(&self) -> Option<&str> {
        match self {
            Actor::Operator => None,
            Actor::Member(m) => Some(&m.workspace_id),
        }
    }

    /// Whether something kept by `workspace` (none: the operator's) is
    /// within reach. Out of reach is answered as not found, so another
    /// workspace's ids tell nothing.
    pub fn reaches(&self, workspace: Option<&str>) -> bool {
        match self {
            Actor::Operator => true,
            Actor::Member(m) => workspace == Some(m.workspace_id.as_str()),
        }
    }

    /// Editors and above change hosts, layouts, variables and alerts; a
    /// read-only token changes nothing.
    pub fn may_change(&self) -> Result<(), AppError> {
        match self {
            Actor::Operator => Ok(()),
            Actor::Member(m) if m.via == (Via::Token { write: false }) => Err(AppError::Forbidden(
                "this API token is read-only".to_owned(),
            )),
            Actor::Member(m) if m.role.can_edit() => Ok(()),
            Actor::Member(_) => Err(AppError::Forbidden(ROLE_CANNOT_CHANGE.to_owned())),
        }
    }

    /// Owners and admins keep a workspace's channels, routes and members.
    pub fn may_administer(&self) -> Result<(), AppError> {
        self.may_change()?;
        match self {
            Actor::Member(m) if m.role > Role::Admin => {
                Err(AppError::Forbidden(ROLE_CANNOT_CHANGE.to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// Whether [`Actor::may_change`] holds, for pages that show or hide
    /// what only an editor can do.
    pub fn changes(&self) -> bool {
        self.may_change().is_ok()
    }

    /// Whether [`Actor::may_administer`] holds, for pages that show or hide
    /// what only an administrator can do.
    pub fn administers(&self) -> bool {
        self.may_administer().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: Role, via: Via) -> Actor {
        Actor::Member(Member {
            user_id: "u".into(),
            name: "U".into(),
            workspace_id: "ws_a".into(),
            role,
            via,
        })
    }

    #[test]
    fn roles_and_tokens_grant_what_they_say() {
        let write = Via::Token { write: true };
        let read = Via::Token { write: false };
        for (actor, change, administer) in [
            (Actor::Operator, true, true),
            (member(Role::Owner, Via::Session), true, true),
            (member(Role::Admin, write), true, true),
            (member(Role::Owner, read), false, false),
            (member(Role::Editor, Via::Session), true, false),
            (member(Role::Viewer, Via::Session), false, false),
            (member(Role::Viewer, write), false, false),
        ] {
            assert_eq!(actor.may_change().is_ok(), change, "{actor:?}");
            assert_eq!(actor.may_administer().is_ok(), administer, "{actor:?}");
        }
    }

    #[test]
    fn a_member_reaches_only_their_workspace() {
        let ada = member(Role::Owner, Via::Session);
        assert!(ada.reaches(Some("ws_a")));
        assert!(!ada.reaches(Some("ws_b")));
        assert!(!ada.reaches(None), "the operator's own things");
        assert!(Actor::Operator.reaches(Some("ws_b")) && Actor::Operator.reaches(None));
    }
}
