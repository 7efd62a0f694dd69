//! The dashboard: server-rendered pages from templates compiled into the
//! binary, made interactive with htmx and a little plain JavaScript, and
//! their static files (vendored at pinned versions by `scripts/vendor-web`).

mod account;
pub mod accounts;
mod alerts;
mod change;
mod channels;
pub mod dashboard;
mod error;
mod links;
mod outputs;
mod pages;
mod sources;

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST, ORIGIN, X_CONTENT_TYPE_OPTIONS};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use readout_storage::{Database, SessionUser};
use sha2::{Digest as _, Sha256};

use crate::route_list::Routes;
use crate::session::{COOKIE_NAME, csrf_ok, current_user};
use crate::state::AppState;
pub use accounts::{LoginLimiter, PasswordGate};
use change::{Change, NoFields, Submitted};
use error::PageError;

/// Files served under `/static/`, compiled in.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css", include_bytes!("../../web/app.css")),
    (
        "dashboard.js",
        "text/javascript",
        include_bytes!("../../web/dashboard.js"),
    ),
    (
        "gridstack-all.js",
        "text/javascript",
        include_bytes!("../../web/vendor/gridstack-all.js"),
    ),
    (
        "gridstack.min.css",
        "text/css",
        include_bytes!("../../web/vendor/gridstack.min.css"),
    ),
    (
        "alerts.js",
        "text/javascript",
        include_bytes!("../../web/alerts.js"),
    ),
    (
        "servers.js",
        "text/javascript",
        include_bytes!("../../web/servers.js"),
    ),
    (
        "sources.js",
        "text/javascript",
        include_bytes!("../../web/sources.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript",
        include_bytes!("../../web/vendor/htmx.min.js"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript",
        include_bytes!("../../web/vendor/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css",
        include_bytes!("../../web/vendor/uPlot.min.css"),
    ),
];

const TEMPLATES: &[(&str, &str)] = &[
    (
        "account.html",
        include_str!("../../web/templates/account.html"),
    ),
    (
        "alerts.html",
        include_str!("../../web/templates/alerts.html"),
    ),
    ("base.html", include_str!("../../web/templates/base.html")),
    (
        "first_cycle.html",
        include_str!("../../web/templates/first_cycle.html"),
    ),
    (
        "incident.html",
        include_str!("../../web/templates/incident.html"),
    ),
    ("join.html", include_str!("../../web/templates/join.html")),
    ("login.html", include_str!("../../web/templates/login.html")),
    (
        "members.html",
        include_str!("../../web/templates/members.html"),
    ),
    (
        "output.html",
        include_str!("../../web/templates/output.html"),
    ),
    (
        "outputs.html",
        include_str!("../../web/templates/outputs.html"),
    ),
    ("reset.html", include_str!("../../web/templates/reset.html")),
    (
        "server.html",
        include_str!("../../web/templates/server.html"),
    ),
    (
        "server_added.html",
        include_str!("../../web/templates/server_added.html"),
    ),
    (
        "server_new.html",
        include_str!("../../web/templates/server_new.html"),
    ),
    (
        "server_tabs.html",
        include_str!("../../web/templates/server_tabs.html"),
    ),
    (
        "servers.html",
        include_str!("../../web/templates/servers.html"),
    ),
    ("setup.html", include_str!("../../web/templates/setup.html")),
    (
        "source.html",
        include_str!("../../web/templates/source.html"),
    ),
    (
        "sources.html",
        include_str!("../../web/templates/sources.html"),
    ),
];

/// Everything pages share: templates, the login limiter, cookie settings.
#[derive(Debug)]
pub struct Web {
    templates: minijinja::Environment<'static>,
    /// Changes whenever a static file does: URLs carry it, so files can be
    /// cached for a year.
    asset_version: String,
    pub limiter: LoginLimiter,
    /// Every argon2 hash and check a request starts goes through it.
    pub passwords: PasswordGate,
    /// Cookies get `Secure` when the public URL is HTTPS.
    secure_cookies: bool,
    /// `scheme://host[:port]` of the public URL.
    public_origin: String,
}

impl Web {
    pub fn new(public_url: &str) -> anyhow::Result<Self> {
        let mut templates = minijinja::Environment::new();
        for (name, source) in TEMPLATES {
            templates
                .add_template(name, source)
                .map_err(|e| anyhow::anyhow!("template {name}: {e}"))?;
        }
        let mut hasher = Sha256::new();
        for (_, _, bytes) in ASSETS {
            hasher.update(bytes);
        }
        let digest = hasher.finalize();
        let asset_version = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            templates,
            asset_version,
            limiter: LoginLimiter::default(),
            passwords: PasswordGate::new()?,
            secure_cookies: public_url.starts_with("https://"),
            public_origin: url::Url::parse(public_url)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default(),
        })
    }

    /// Renders a page; `user` fills the header.
    fn render(&self, name: &str, user: Option<&SessionUser>, page: minijinja::Value) -> Response {
        let user = user.map(|u| {
            minijinja::context! {
                name => u.name.as_str(), email => u.email.as_str(),
                workspace => u.workspace_name.as_str(), workspace_id => u.workspace_id.as_str(),
                role => u.role.0.as_str(), csrf => u.csrf_token.as_str(),
            }
        });
        let ctx = minijinja::context! {
            asset_version => self.asset_version.as_str(), user => user, ..page
        };
        match self
            .templates
            .get_template(name)
            .and_then(|t| t.render(ctx))
        {
            Ok(html) => (
                [(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                )],
                html,
            )
                .into_response(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "page render failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }

    fn session_cookie(&self, token: &str) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        let max_age = accounts::SESSION_DAYS * 86_400;
        HeaderValue::from_str(&format!(
            "{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Whether a state-changing request comes from our own pages: browsers
    /// say so with `Sec-Fetch-Site` or `Origin`; a request with neither is
    /// not a browser's, and cannot ride on a user's cookies. The origin may
    /// be the host the request names or the public URL's (behind a proxy
    /// that does not pass `Host` on).
    pub(crate) fn same_origin(&self, headers: &HeaderMap) -> bool {
        if let Some(site) = headers.get("sec-fetch-site") {
            return matches!(site.as_bytes(), b"same-origin" | b"none");
        }
        let Some(origin) = headers.get(ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if origin == self.public_origin {
            return true;
        }
        let host = headers.get(HOST).and_then(|h| h.to_str().ok());
        origin
            .split_once("://")
            .is_some_and(|(_, o)| host.is_some_and(|h| h == o))
    }

    fn cleared_cookie(&self) -> HeaderValue {
        HeaderValue::from_static("readout_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }
}

/// Where the pages' scripts and styles are served from.
pub(crate) const STATIC_PATH: &str = "/static/{file}";

/// The pages, with their security headers; static files beside them.
pub fn router<D: Database>() -> Router<AppState<D>> {
    routes::<D>()
        .into_parts()
        .0
        .layer(axum::middleware::map_response(security_headers))
        .route(STATIC_PATH, get(asset))
}

/// The pages' routes.
pub(crate) fn routes<D: Database>() -> Routes<AppState<D>> {
    Routes::new()
        .route("/", get(pages::home::<D>))
        .route(
            "/setup",
            get(pages::setup_form::<D>).post(pages::setup::<D>),
        )
        .route(
            "/login",
            get(pages::login_form::<D>).post(pages::login::<D>),
        )
        .route("/logout", post(pages::logout::<D>))
        .route("/servers", get(pages::servers::<D>))
        .route(
            "/servers/new",
            get(pages::add_server_form::<D>).post(pages::add_server::<D>),
        )
        .route("/servers/{id}/first-cycle", get(pages::first_cycle::<D>))
        .route("/servers/sparklines", get(pages::sparklines::<D>))
        .route("/alerts", get(alerts::page::<D>))
        .route("/account", get(account::show::<D>))
        .route("/members", get(links::members::<D>))
        .route("/members/invite", post(links::invite::<D>))
        .route(
            "/members/invitations/{id}/withdraw",
            post(links::withdraw::<D>),
        )
        .route("/members/{uid}/role", post(links::set_role::<D>))
        .route("/members/{uid}/remove", post(links::remove::<D>))
        .route("/join", get(links::join_form::<D>).post(links::join::<D>))
        .route(
            "/reset",
            get(links::reset_form::<D>).post(links::ask_reset::<D>),
        )
        .route("/reset/password", post(links::reset::<D>))
        .route("/account/password", post(account::change_password::<D>))
        .route("/account/workspace", post(account::switch_workspace::<D>))
        .route("/account/tokens", post(account::create_token::<D>))
        .route(
            "/account/tokens/{tid}/revoke",
            post(account::revoke_token::<D>),
        )
        .route("/alerts/incidents/{iid}", get(alerts::incident::<D>))
        .route("/alerts/windows", post(alerts::add_window::<D>))
        .route(
            "/alerts/windows/{wid}/delete",
            post(alerts::delete_window::<D>),
        )
        .route(
            "/alerts/incidents/{iid}/acknowledge",
            post(alerts::acknowledge::<D>),
        )
        .route("/alerts/channels", post(channels::add_channel::<D>))
        .route(
            "/alerts/channels/{cid}",
            post(channels::update_channel::<D>),
        )
        .route(
            "/alerts/channels/{cid}/test",
            post(channels::test_channel::<D>),
        )
        .route(
            "/alerts/channels/{cid}/delete",
            post(channels::delete_channel::<D>),
        )
        .route("/alerts/routes", post(channels::add_route::<D>))
        .route("/alerts/routes/{rid}", post(channels::update_route::<D>))
        .route(
            "/alerts/routes/{rid}/delete",
            post(channels::delete_route::<D>),
        )
        .route("/servers/{id}", get(dashboard::server::<D>))
        .route("/servers/{id}/text", get(dashboard::text::<D>))
        .route("/servers/{id}/outputs", get(outputs::list::<D>))
        .route("/servers/{id}/sources", get(sources::list::<D>))
        .route("/servers/{id}/sources/{name}", get(sources::editor::<D>))
        .route("/servers/{id}/outputs/{name}", get(outputs::one::<D>))
}

/// Pages run no script but the ones served here, and are never framed.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'",
        ),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    response
}

async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, bytes)) => (
            [
                (CONTENT_TYPE, HeaderValue::from_static(kind)),
                (
                    CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The signed-in user as the application rules see them.
fn actor(user: &SessionUser) -> readout_app::Actor {
    readout_app::Actor::member(user, readout_app::Via::Session)
}

/// A page's signed-in user; anyone else is sent to the login page.
#[derive(Debug)]
pub struct Viewer(pub SessionUser);

impl<D: Database> FromRequestParts<AppState<D>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<D>,
    ) -> Result<Self, Self::Rejection> {
        match current_user(state, &parts.headers).await {
            Some(user) => Ok(Viewer(user)),
            None => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// The client's address, when the server knows it (rate limits key on it).
#[derive(Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_compiled_in_and_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/templates");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("templates dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let names: Vec<&str> = TEMPLATES.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, names, "TEMPLATES must list web/templates/*, sorted");
        Web::new("http://x").expect("every template parses");
    }

    /// The budget: a page loads at most every script there is, and all of
    /// them gzipped stay under 300 KB.
    #[test]
    fn the_scripts_a_page_can_load_stay_under_300_kb_gzipped() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for (_, kind, bytes) in ASSETS {
            if *kind == "text/javascript" {
                gz.write_all(bytes).expect("gzip");
            }
        }
        let size = gz.finish().expect("gzip").len();
        assert!(size < 300 * 1024, "{size} bytes of gzipped script");
    }

    #[test]
    fn cross_site_posts_are_told_apart() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        let web = Web::new("https://readout.example.com/").expect("web");
        let same_origin = |h: &HeaderMap| web.same_origin(h);
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(same_origin(&headers(&[
            ("origin", "https://r.example"),
            ("host", "r.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "r.example")
        ])));
        assert!(same_origin(&headers(&[])));
        // Behind a proxy that passes no Host: the public URL's origin.
        assert!(same_origin(&headers(&[
            ("origin", "https://readout.example.com"),
            ("host", "127.0.0.1:8080")
        ])));
    }
}
