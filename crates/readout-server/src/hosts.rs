//! Adding a host from the CLI, the API and the pages: the keys are made
//! here (the system's randomness), the rules are readout-app's.

use readout_app::hosts::{AddedHost, HostKeys};
use readout_app::{Actor, AppError};
use readout_storage::Database;

use crate::keys;

/// Adds a host as `actor` with a fresh id and API key.
pub async fn add<D: Database>(
    actor: &Actor,
    db: &D,
    name: &str,
    public_url: &str,
) -> Result<AddedHost, AppError> {
    let made = keys::new_host_id().and_then(|id| Ok((id, keys::new_secret("rk_")?)));
    let (id, api_key) = made.map_err(|e| AppError::Internal(format!("a host's keys: {e}")))?;
    let keys = HostKeys {
        id,
        key_hash: keys::hash_secret(&api_key),
        api_key,
    };
    readout_app::hosts::add(actor, db, name, keys, public_url, crate::now_ms()).await
}
