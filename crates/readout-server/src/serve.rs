//! `readout serve`: binds, serves until told to stop, then drains.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use readout_storage::Database;

use crate::config::Config;
use crate::delivery::{self, Delivery};
use crate::ingest::Ingest;
use crate::keys;
use crate::state::{AppState, Settings};

/// Editor parses that may wait for a turn; more are told to retry.
const EDITING_QUEUE: usize = 16;

/// How often old history is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// How often the compactor looks at the series head when it is drained.
const COMPACT_EVERY: Duration = Duration::from_secs(2);
/// Head rows of one host folded per transaction: two hours of cycles a
/// minute, short enough that cycles, the outbox and pages waiting for the
/// write lock are not held up.
const COMPACT_BATCH: u32 = 120;
/// An hour is folded once it is closed and this long past, and a cycle once
/// it arrived `compact_settle_secs` ago, so a host's hour is written once
/// and not once per cycle; a cycle later still is merged into its hour.
const COMPACT_AFTER_MS: i64 = 5 * 60_000;

/// Serves until `shutdown` resolves. `on_ready` gets the bound address
/// (useful with port 0).
pub async fn serve<D: Database>(
    db: D,
    config: &Config,
    on_ready: impl FnOnce(SocketAddr) + Send,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let admin_token = admin_token(config)?;
    let agent_binary = match &config.agent_binary {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .context("cannot locate this executable")?
            .with_file_name("readout-agent"),
    };
    // Bound first: links in notifications and install commands name the
    // port actually bound, port 0 included.
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url_at(addr);
    let (ingest, writer) = Ingest::start(db.clone(), config.max_inflight_bytes);
    let delivery = Arc::new(Delivery::new(&config.alerts, public_url.clone())?);
    let (stop_delivery, stop) = tokio::sync::watch::channel(false);
    let deliverer = tokio::spawn(delivery::deliver_loop(
        db.clone(),
        Arc::clone(&delivery),
        stop,
    ));
    let sweeper = tokio::spawn(delivery::sweep_loop(
        db.clone(),
        Duration::from_secs(u64::from(config.alerts.sweep_every_secs)),
        i64::from(config.alerts.silent_after_secs) * 1000,
    ));
    let state = AppState {
        db: db.clone(),
        ingest,
        delivery,
        web: Arc::new(crate::web::Web::new(&public_url)?),
        editing: Arc::new(crate::work::Gate::new(
            "editing",
            (crate::work::cores() / 2).max(1),
            EDITING_QUEUE,
        )?),
        settings: Arc::new(Settings {
            admin_token_hash: keys::hash_secret(&admin_token),
            max_body_bytes: config.max_body_bytes,
            public_url,
            agent_binary,
            limits: readout_proto::Limits::default(),
            points_days: config.points_days,
            history_days: config.history_days,
        }),
    };
    let settle_ms = i64::from(config.compact_settle_secs) * 1000;
    let compactor = tokio::spawn(compact_loop(db.clone(), settle_ms));
    let pruner = tokio::spawn(prune_loop(db, config.clone()));
    let app = crate::routes::router(state);

    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(crate::listen::tls_acceptor(cert, key)?),
        _ => None,
    };
    let bounds = crate::listen::Bounds::within_descriptors(
        config.max_connections,
        Duration::from_secs(u64::from(config.header_timeout_secs)),
    );
    let listener = tokio::net::TcpListener::from_std(listener)?;
    on_ready(addr);
    crate::listen::serve(
        listener,
        tls,
        app,
        bounds,
        shutdown,
        Duration::from_secs(10),
    )
    .await;
    pruner.abort();
    compactor.abort();
    sweeper.abort();
    // Sends in flight finish, so a receiver that answered is recorded.
    let _ = stop_delivery.send(true);
    deliverer.await.context("notification worker panicked")?;
    // The router and its Ingest handles are gone: the writer drains and ends.
    writer.await.context("cycle writer panicked")?;
    tracing::info!("stopped");
    Ok(())
}

/// The configured admin token, or the one kept in the data directory
/// (generated on first start, readable by its owner only).
fn admin_token(config: &Config) -> anyhow::Result<String> {
    if !config.admin_token.is_empty() {
        return Ok(config.admin_token.clone());
    }
    let path = config.data_dir.join("admin-token");
    read_or_create_secret(&path)
}

pub fn read_or_create_secret(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(token) if !token.trim().is_empty() => return Ok(token.trim().to_owned()),
        Ok(_) => anyhow::bail!("{} is empty; delete it to get a new token", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let token = keys::new_secret("rat_")?;
    write_private(path, &token).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated the admin token");
    Ok(token)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{text}")?;
    file.sync_all()
}

/// Folds the head's closed hours into chunks and hourly aggregates, host
/// after host while it is behind. Every node runs it; a host is folded by
/// one node at a time (its row lock), and rows another node folded first
/// are simply gone.
async fn compact_loop<D: Database>(db: D, settle_ms: i64) {
    loop {
        let started = std::time::Instant::now();
        let now = crate::now_ms();
        let closed = readout_storage::series::bucket_start(
            now - COMPACT_AFTER_MS,
            readout_storage::chunk::HOUR_MS,
        );
        let folded = db
            .compact_head(COMPACT_BATCH, closed, now - settle_ms)
            .await;
        tracing::debug!(
            duration_ms = started.elapsed().as_millis(),
            ?folded,
            "compacted the head"
        );
        match folded {
            Ok(n) if n > 0 => {
                tokio::task::yield_now().await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "compacting the series head failed"),
        }
        tokio::time::sleep(COMPACT_EVERY).await;
    }
}

async fn prune_loop<D: Database>(db: D, config: Config) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tick.tick().await;
        match db.prune(config.retention(crate::now_ms())).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "pruned old history"),
            Err(e) => tracing::warn!(error = %e, "pruning old history failed"),
        }
        if let Err(e) = db.prune_sessions(crate::now_ms()).await {
            tracing::warn!(error = %e, "pruning expired sessions failed");
        }
    }
}
