//! `readout demo`: the newcomer's first command. Serves on SQLite and runs
//! the real agent on this machine against it, so data arrives at once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use readout_storage::{Database, DbError};

use crate::config::Config;
use crate::store::StoreTask;

/// Runs the demo on the store it is given.
#[derive(Debug)]
pub struct Demo {
    pub config: Config,
    pub agent_binary: PathBuf,
}

impl StoreTask for Demo {
    type Output = ();

    async fn run<D: Database>(self, db: D) -> anyhow::Result<()> {
        let agent_dir = self.config.data_dir.join("demo-agent");
        let name = machine_name();
        let host_id = ensure_host(&db, &self.config, &agent_dir, &name).await?;
        let admin_token =
            crate::serve::read_or_create_secret(&self.config.data_dir.join("admin-token"))?;
        let agent: Arc<Mutex<Option<tokio::process::Child>>> = Arc::default();
        let slot = agent.clone();
        let binary = self.agent_binary.clone();
        let config_path = agent_dir.join("agent.toml");
        let data_dir = self.config.data_dir.clone();
        let on_ready = move |addr: SocketAddr| {
            let url = format!("http://{addr}");
            let spawned = tokio::process::Command::new(&binary)
                .arg("run")
                .arg("--config")
                .arg(&config_path)
                .env("READOUT_AGENT_SERVER", &url)
                .kill_on_drop(true)
                .spawn();
            match spawned {
                Ok(child) => {
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(child);
                    }
                }
                Err(e) => {
                    tracing::error!(binary = %binary.display(), error = %e, "cannot start the agent");
                }
            }
            crate::say(&format!(
                "\nReadout is running at {url}\n\
                 \x20 open it in a browser: the first visit creates your account, then Servers lists this machine.\n\
                 \x20 host {name:?} ({host_id}) reports this machine every minute; the first cycle is on its way.\n\
                 \x20 admin token: {}/admin-token\n\
                 \x20 try: curl -s -H \"Authorization: Bearer {admin_token}\" {url}/api/v1/hosts/{host_id}/variables\n\
                 Stop with Ctrl-C.\n",
                data_dir.display()
            ));
        };
        let result = crate::serve::serve(db, &self.config, on_ready, shutdown_signal()).await;
        if let Some(mut child) = agent.lock().ok().and_then(|mut slot| slot.take()) {
            let _ = child.kill().await;
        }
        result
    }
}

/// Reuses the demo host if its agent config is still valid, else adds it.
async fn ensure_host<D: Database>(
    db: &D,
    config: &Config,
    agent_dir: &Path,
    name: &str,
) -> anyhow::Result<String> {
    let config_path = agent_dir.join("agent.toml");
    if let Some(id) = configured_host_id(&config_path) {
        match db.host(&id).await {
            Ok(host) if host.removed_at_ms.is_none() => return Ok(id),
            Ok(_) | Err(DbError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // The key of an existing host is not recoverable: replace the host.
    if let Ok(old) = db.host_by_name(name).await {
        db.remove_host(&old.id, crate::now_ms()).await?;
    }
    let added = crate::hosts::add(
        &readout_app::Actor::Operator,
        db,
        name,
        &config.public_url(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot add the demo host: {e}"))?;
    std::fs::create_dir_all(agent_dir)
        .with_context(|| format!("cannot create {}", agent_dir.display()))?;
    let allowlist = agent_dir.join("available_commands.sh");
    if !allowlist.exists() {
        std::fs::write(&allowlist, readout_allowlist::DEFAULT_ALLOWLIST)
            .with_context(|| format!("cannot write {}", allowlist.display()))?;
    }
    let state_dir = agent_dir.join("state");
    // The server URL comes from READOUT_AGENT_SERVER when the demo starts it.
    let agent_config = format!(
        "# Written by `readout demo`.\nservers = [{server:?}]\nhost_id = {id:?}\napi_key = {key:?}\n\
         allowlist = {allowlist:?}\nstate_dir = {state:?}\n",
        server = config.public_url(),
        id = added.host.id,
        key = added.api_key,
        allowlist = allowlist.display().to_string(),
        state = state_dir.display().to_string(),
    );
    let _ = std::fs::remove_dir_all(&state_dir);
    std::fs::write(&config_path, agent_config)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    Ok(added.host.id)
}

fn configured_host_id(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: toml::Table = toml::from_str(&text).ok()?;
    value.get("host_id")?.as_str().map(str::to_owned)
}

/// This machine's name, made a valid host name.
fn machine_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "this-machine".to_owned()
    } else {
        name
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
