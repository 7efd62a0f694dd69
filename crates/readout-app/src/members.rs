//! A workspace's members: owners and admins change roles and take members
//! out, only an owner touches an owner or makes one, and anyone may leave.

use readout_storage::{Database, Role};

use crate::{Actor, AppError, Via};

/// Changes member `uid`'s role, or (without a role) takes them out of the
/// actor's workspace.
pub async fn change_member<D: Database>(
    actor: &Actor,
    db: &D,
    uid: &str,
    role: Option<Role>,
) -> Result<(), AppError> {
    let Actor::Member(me) = actor else {
        return Err(AppError::Forbidden(
            "members are changed from within their workspace".to_owned(),
        ));
    };
    if me.via == (Via::Token { write: false }) {
        return Err(AppError::Forbidden(
            "this API token is read-only".to_owned(),
        ));
    }
    let leaving = uid == me.user_id && role.is_none();
    if !leaving && me.role > Role::Admin {
        return Err(AppError::Forbidden(
            "Only owners and admins change members.".to_owned(),
        ));
    }
    let members = db.members(&me.workspace_id).await?;
    let target = members
        .iter()
        .find(|m| m.user_id == uid)
        .ok_or_else(|| AppError::NotFound(format!("member {uid}")))?;
    let owners_only = target.role.0 == Role::Owner || role == Some(Role::Owner);
    if !leaving && owners_only && me.role != Role::Owner {
        return Err(AppError::Forbidden(
            "Only an owner changes an owner's role or makes an owner.".to_owned(),
        ));
    }
    let done = match role {
        Some(role) => db.set_member_role(&me.workspace_id, uid, role).await,
        None => db.remove_member(&me.workspace_id, uid).await,
    };
    done.map_err(AppError::or_not_found(format!("member {uid}")))
}
