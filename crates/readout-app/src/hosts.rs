//! The hosts an actor reaches, and adding one.

use readout_storage::{Database, DbError, Host, NewHost};
use serde::Serialize;

use crate::{Actor, AppError};

/// A new host's id and key, made by the caller (randomness is the
/// system's); only the key's hash is stored.
#[derive(Debug)]
pub struct HostKeys {
    pub id: String,
    pub api_key: String,
    pub key_hash: Vec<u8>,
}

/// A freshly added host, with the only copy of its API key.
#[derive(Debug, Serialize)]
pub struct AddedHost {
    pub host: Host,
    pub api_key: String,
    pub install_command: String,
}

/// Checks a host name: what people type on the CLI and in forms.
pub fn check_name(name: &str) -> Result<(), AppError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
        return Err(AppError::Invalid(format!(
            "host name {name:?} must be 1 to 64 of A-Z, a-z, 0-9, '.', '-' and '_'"
        )));
    }
    Ok(())
}

/// Adds a host to the actor's workspace (the operator's: the first
/// workspace, or none before the owner exists), running the default
/// allowlist's commands.
pub async fn add<D: Database>(
    actor: &Actor,
    db: &D,
    name: &str,
    keys: HostKeys,
    public_url: &str,
    now_ms: i64,
) -> Result<AddedHost, AppError> {
    actor.may_change()?;
    check_name(name)?;
    let host = db
        .create_host(&NewHost {
            id: keys.id.clone(),
            name: name.to_owned(),
            key_hash: keys.key_hash,
            created_at_ms: now_ms,
            workspace_id: actor.workspace().map(str::to_owned),
            sources: crate::sources::default_sources(),
        })
        .await?;
    let (id, api_key) = (keys.id, keys.api_key);
    let install_command = format!(
        "curl -fsSL {public_url}/agent/install.sh | sh -s -- --server {public_url} --host-id {id} --api-key {api_key}"
    );
    Ok(AddedHost {
        host,
        api_key,
        install_command,
    })
}

/// The live host `id`, if the actor reaches its workspace: another
/// workspace's host is not found, like a missing one.
pub async fn host<D: Database>(actor: &Actor, db: &D, id: &str) -> Result<Host, AppError> {
    match db.host(id).await {
        Ok(host) if actor.reaches(host.workspace_id.as_deref()) => Ok(host),
        Ok(_) | Err(DbError::NotFound) => Err(AppError::NotFound(format!("host {id}"))),
        Err(e) => Err(e.into()),
    }
}
