//! The HTTP surface: one router, generic over the storage backend.

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware;
use axum::routing::{get, post};
use readout_storage::Database;
use tower_http::trace::TraceLayer;

use crate::state::AppState;

pub mod agent;
pub mod api;
pub mod dist;

pub fn router<D: Database>(state: AppState<D>) -> Router {
    let admin = Router::new()
        .route("/hosts", get(api::list_hosts::<D>).post(api::add_host::<D>))
        .route(
            "/hosts/{id}",
            get(api::get_host::<D>)
                .patch(api::update_host::<D>)
                .delete(api::remove_host::<D>),
        )
        .route("/hosts/{id}/allowlist", get(api::get_allowlist::<D>))
        .route(
            "/hosts/{id}/commands",
            get(api::get_commands::<D>).put(api::put_commands::<D>),
        )
        .route("/hosts/{id}/outputs", get(api::latest_outputs::<D>))
        .route("/hosts/{id}/cycles", get(api::recent_cycles::<D>))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            api::require_admin::<D>,
        ));

    let agent = Router::new()
        .route(readout_proto::CYCLES_PATH, post(agent::post_cycle::<D>))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes));

    Router::new()
        .merge(agent)
        .nest("/api/v1", admin)
        .route("/agent/install.sh", get(dist::install_sh))
        .route("/agent/uninstall.sh", get(dist::uninstall_sh))
        .route("/agent/available_commands.sh", get(dist::default_allowlist))
        .route("/agent/readout-agent", get(dist::agent_binary::<D>))
        .route("/healthz", get(|| async { "ok" }))
        .layer(
            // The span names the matched route, never the raw path.
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::info_span!("request", http.method = %request.method(), http.route = route)
            }),
        )
        .with_state(state)
}
