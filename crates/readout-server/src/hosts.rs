//! Adding and removing hosts: shared by the CLI and the API.

use readout_storage::{Database, Host, NewHost, NewSource};
use serde::Serialize;

use crate::errors::ApiError;
use crate::keys;

/// A freshly added host, with the only copy of its API key.
#[derive(Debug, Serialize)]
pub struct AddedHost {
    pub host: Host,
    pub api_key: String,
    pub install_command: String,
}

/// Checks a host name: what people type on the CLI and in forms.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
        return Err(ApiError::bad_request(format!(
            "host name {name:?} must be 1 to 64 of A-Z, a-z, 0-9, '.', '-' and '_'"
        )));
    }
    Ok(())
}

/// The commands of the default allowlist, each with its preset: a new
/// host runs all of them.
pub fn default_sources() -> Vec<NewSource> {
    let entries = readout_allowlist::parse(readout_allowlist::DEFAULT_ALLOWLIST.as_bytes()).entries;
    let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
    crate::parsing::new_sources(
        &names,
        entries
            .iter()
            .map(|e| (e.name.as_str(), e.command.as_str())),
    )
}

/// Creates a host in `workspace` (`None`: the first workspace, or none
/// before the owner exists).
pub async fn add<D: Database>(
    db: &D,
    name: &str,
    public_url: &str,
    workspace: Option<&str>,
) -> Result<AddedHost, ApiError> {
    check_name(name)?;
    let id = keys::new_host_id().map_err(|e| {
        tracing::error!(error = %e, "cannot make a host id");
        ApiError::internal()
    })?;
    let api_key = keys::new_secret("rk_").map_err(|e| {
        tracing::error!(error = %e, "cannot make an API key");
        ApiError::internal()
    })?;
    let host = db
        .create_host(&NewHost {
            id: id.clone(),
            name: name.to_owned(),
            key_hash: keys::hash_secret(&api_key),
            created_at_ms: crate::now_ms(),
            workspace_id: workspace.map(str::to_owned),
            sources: default_sources(),
        })
        .await?;
    let install_command = format!(
        "curl -fsSL {public_url}/agent/install.sh | sh -s -- --server {public_url} --host-id {id} --api-key {api_key}"
    );
    Ok(AddedHost {
        host,
        api_key,
        install_command,
    })
}
