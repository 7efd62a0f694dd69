//! The HTTP surface: one router, generic over the storage backend.

use axum::Router;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse as _, Response};
use axum::routing::{delete, get, post, put};
use readout_storage::Database;
use tower_http::trace::TraceLayer;

use crate::route_list::Routes;
use crate::state::AppState;

pub mod agent;
pub mod alerts;
pub mod api;
pub mod dist;
pub mod layouts;
pub mod variables;

/// 200 while a write can start; a load balancer takes a node answering 503
/// out of rotation (a full disk, a read-only file, a stuck lock).
async fn healthz<D: Database>(State(state): State<AppState<D>>) -> Response {
    let unhealthy = |why: &str| (StatusCode::SERVICE_UNAVAILABLE, why.to_owned()).into_response();
    match tokio::time::timeout(Duration::from_secs(5), state.db.writable()).await {
        Ok(Ok(())) => "ok".into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the database cannot be written");
            unhealthy("the database cannot be written; the server log says why")
        }
        Err(_) => unhealthy("the database did not let a write start within 5 s"),
    }
}

/// The JSON API's routes, under `/api/v1`, each behind `api::authorize`.
fn api_routes<D: Database>() -> Routes<AppState<D>> {
    Routes::new()
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
        .route("/hosts/{id}/sources", get(variables::list_sources::<D>))
        .route(
            "/hosts/{id}/sources/{name}",
            put(variables::put_source::<D>).delete(variables::delete_source::<D>),
        )
        .route("/hosts/{id}/derived", get(variables::list_derived::<D>))
        .route(
            "/hosts/{id}/derived/{name}",
            put(variables::put_derived::<D>).delete(variables::delete_derived::<D>),
        )
        .route("/hosts/{id}/preview", post(variables::preview::<D>))
        .route("/hosts/{id}/table", post(variables::table::<D>))
        .route("/hosts/{id}/variables", get(variables::list_variables::<D>))
        .route("/hosts/{id}/series", get(variables::query_series::<D>))
        .route("/hosts/{id}/backfill", post(variables::backfill::<D>))
        .route(
            "/hosts/{id}/layouts/{device}",
            get(layouts::get_layout::<D>)
                .put(layouts::put_layout::<D>)
                .delete(layouts::delete_layout::<D>),
        )
        .route(
            "/templates",
            get(variables::list_templates::<D>).post(variables::create_template::<D>),
        )
        .route(
            "/templates/{tid}",
            get(variables::get_template::<D>)
                .put(variables::update_template::<D>)
                .delete(variables::delete_template::<D>),
        )
        .route(
            "/templates/{tid}/apply",
            post(variables::apply_template::<D>),
        )
        .route("/hosts/{id}/alerts", get(alerts::list_rules::<D>))
        .route(
            "/hosts/{id}/alerts/{variable}",
            put(alerts::put_rule::<D>).delete(alerts::delete_rule::<D>),
        )
        .route("/incidents", get(alerts::list_incidents::<D>))
        .route("/incidents/{iid}", get(alerts::get_incident::<D>))
        .route(
            "/incidents/{iid}/acknowledge",
            post(alerts::acknowledge::<D>),
        )
        .route(
            "/maintenance",
            get(alerts::list_windows::<D>).post(alerts::create_window::<D>),
        )
        .route("/maintenance/{wid}", delete(alerts::delete_window::<D>))
        .route(
            "/channels",
            get(alerts::list_channels::<D>).post(alerts::create_channel::<D>),
        )
        .route(
            "/channels/{cid}",
            get(alerts::get_channel::<D>)
                .put(alerts::update_channel::<D>)
                .delete(alerts::delete_channel::<D>),
        )
        .route("/channels/{cid}/test", post(alerts::test_channel::<D>))
        .route(
            "/routes",
            get(alerts::list_routes::<D>).post(alerts::create_route::<D>),
        )
        .route(
            "/routes/{rid}",
            put(alerts::update_route::<D>).delete(alerts::delete_route::<D>),
        )
        .route("/notifications", get(alerts::list_notifications::<D>))
        .route("/notifications/{nid}", get(alerts::get_notification::<D>))
}

/// What the server serves beside the API and the pages.
fn edge_routes<D: Database>() -> Routes<AppState<D>> {
    Routes::new()
        .route("/agent/install.sh", get(dist::install_sh))
        .route("/agent/uninstall.sh", get(dist::uninstall_sh))
        .route("/agent/available_commands.sh", get(dist::default_allowlist))
        .route("/agent/readout-agent", get(dist::agent_binary::<D>))
        .route("/healthz", get(healthz::<D>))
}

/// Every path a browser or an API client may ask for (not the agent's
/// cycle endpoint), as the routers declare them.
pub fn declared_paths<D: Database>() -> Vec<String> {
    let api = api_routes::<D>().into_parts().1;
    let others = [edge_routes::<D>(), crate::web::routes::<D>()]
        .into_iter()
        .flat_map(|r| r.into_parts().1)
        .chain([crate::web::STATIC_PATH]);
    api.into_iter()
        .map(|path| format!("/api/v1{path}"))
        .chain(others.map(str::to_owned))
        .collect()
}

pub fn router<D: Database>(state: AppState<D>) -> Router {
    let admin = api_routes::<D>()
        .into_parts()
        .0
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            api::authorize::<D>,
        ));

    let agent = Router::new()
        .route(readout_proto::CYCLES_PATH, post(agent::post_cycle::<D>))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes));

    Router::new()
        .merge(agent)
        .nest("/api/v1", admin)
        .merge(edge_routes::<D>().into_parts().0)
        .merge(crate::web::router::<D>())
        // A body trickled in slower than this holds a connection and a
        // handler for nothing.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            Duration::from_secs(60),
        ))
        // Pages, scripts and JSON go out gzipped to clients that ask.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
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
