use std::path::PathBuf;
use std::sync::Arc;

use readout_proto::Limits;

use crate::delivery::Delivery;
use crate::ingest::Ingest;
use crate::web::Web;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState<D> {
    pub db: D,
    pub ingest: Ingest,
    pub delivery: Arc<Delivery>,
    pub settings: Arc<Settings>,
    pub web: Arc<Web>,
    /// Parsing an editor asks for (previews, tables, back-fills): bounded,
    /// so one editor cannot take the cores from cycles and other people.
    pub editing: Arc<crate::work::Gate>,
}

/// Settings resolved once at start-up.
#[derive(Debug)]
pub struct Settings {
    pub admin_token_hash: Vec<u8>,
    pub max_body_bytes: usize,
    pub public_url: String,
    pub agent_binary: PathBuf,
    pub limits: Limits,
    /// Full-resolution values are kept this long (older ranges read hours).
    pub points_days: u32,
    /// Raw outputs are kept this long (the reach of a back-fill).
    pub history_days: u32,
}
