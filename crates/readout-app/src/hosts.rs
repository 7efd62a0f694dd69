//! The hosts an actor reaches.

use readout_storage::{Database, DbError, Host};

use crate::{Actor, AppError};

/// The live host `id`, if the actor reaches its workspace: another
/// workspace's host is not found, like a missing one.
pub async fn host<D: Database>(actor: &Actor, db: &D, id: &str) -> Result<Host, AppError> {
    match db.host(id).await {
        Ok(host) if actor.reaches(host.workspace_id.as_deref()) => Ok(host),
        Ok(_) | Err(DbError::NotFound) => Err(AppError::NotFound(format!("host {id}"))),
        Err(e) => Err(e.into()),
    }
}
