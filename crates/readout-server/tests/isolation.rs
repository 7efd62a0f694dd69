//! Who may see and change what. Nobody sees or changes another
//! workspace's data: a signed-in owner of another workspace walks every
//! route that names a host, an incident or a data source of the first one,
//! and gets 404 (or 403 where the route is the operator's); every route the
//! server declares must be in the walk. API tokens act as their user,
//! within their scope; a password change takes effect at once.

mod support;

use std::collections::BTreeSet;

use serde_json::json;
use support::{Agent, Server};

const PASSWORD: &str = "correct horse battery";

/// `readout user add ARGS` with the test password; `what` names it on failure.
fn add_user(server: &Server, args: &[&str], what: &str) {
    support::succeeded(&server.user_add(args, PASSWORD), what);
}

/// A request body and its content type.
type Body<'a> = Option<(&'a str, String)>;

/// A signed-in browser session, spoken to with plain HTTP.
struct Session {
    base: String,
    cookie: String,
    csrf: String,
}

/// `POST /login`; the status and the session cookie, if one was set.
fn post_login(server: &Server, email: &str, password: &str) -> (u16, Option<String>) {
    let (status, cookie, _) = post_plain(
        server,
        "/login",
        &[("email", email), ("password", password)],
    );
    (status, cookie)
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Session {
    fn log_in(server: &Server, email: &str) -> Self {
        Self::log_in_with(server, email, PASSWORD)
    }

    fn log_in_with(server: &Server, email: &str, password: &str) -> Self {
        let (status, cookie) = post_login(server, email, password);
        let cookie = cookie.unwrap_or_else(|| panic!("no session cookie: {status}"));
        Self::with_cookie(server, cookie)
    }

    /// The session of a cookie the server set.
    fn with_cookie(server: &Server, cookie: String) -> Self {
        let mut session = Self {
            base: server.url(),
            cookie,
            csrf: String::new(),
        };
        let (_, page) = session.call("GET", "/servers", None);
        let at = page
            .find("\"X-CSRF-Token\": \"")
            .expect("the page's CSRF token")
            + 17;
        session.csrf = page[at..].split('"').next().unwrap_or_default().to_owned();
        session
    }

    /// A form post of this session's page, with its CSRF token.
    fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> (u16, String) {
        let mut pairs = pairs.to_vec();
        pairs.push(("csrf", &self.csrf));
        let body = form_body(&pairs);
        self.call(
            "POST",
            path,
            Some(("application/x-www-form-urlencoded", body)),
        )
    }

    /// A call as this session, with its CSRF token and the page's origin.
    fn call(&self, method: &str, path: &str, body: Body<'_>) -> (u16, String) {
        self.call_from(&self.base, method, path, body)
    }

    /// A call as this session sent by a page of `origin` (the browser sends
    /// the cookie along, not the CSRF token: a forged form would carry it
    /// only if it could read our pages).
    fn call_from(&self, origin: &str, method: &str, path: &str, body: Body<'_>) -> (u16, String) {
        let (kind, body) = body.unwrap_or(("application/json", String::new()));
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base).as_str())
            .header("cookie", self.cookie.as_str())
            .header("origin", origin)
            .header("x-csrf-token", self.csrf.as_str())
            .header("content-type", kind)
            .body(body.into_bytes())
            .expect("request");
        // Redirects are the answer: a followed one would drop the cookie.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let mut answer = agent.run(request).expect("call");
        let status = answer.status().as_u16();
        (
            status,
            answer.body_mut().read_to_string().unwrap_or_default(),
        )
    }
}

#[test]
fn another_workspace_sees_and_changes_nothing_of_this_one() {
    let server = Server::start();
    add_user(&server, &["ada@example.org", "--name", "Ada"], "owner");
    let (id, key) = server.add_host("web-a");
    let agent = Agent::new(
        &server.url(),
        &id,
        &key,
        "readout_loadavg=\"cat /proc/loadavg\"\n",
        "",
    );
    agent.once();
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &json!({"commands": ["readout_loadavg"]}),
    );
    server.api_put(
        &format!("/hosts/{id}/alerts/load1"),
        &json!({"warning": {"above": -1}}),
    );
    agent.once();
    agent.once();
    let incidents = server.api_get(&format!("/incidents?open=true&host={id}"));
    let incident = incidents[0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("an incident: {incidents}"));
    let cycle = server.cycles(&id)[0]["cycle_id"]
        .as_str()
        .expect("cycle")
        .to_owned();

    add_user(
        &server,
        &[
            "bob@example.org",
            "--name",
            "Bob",
            "--new-workspace",
            "Bob's",
        ],
        "owner of another workspace",
    );
    let bob = Session::log_in(&server, "bob@example.org");
    let ada = Session::log_in(&server, "ada@example.org");
    let (_, page) = ada.post_form("/account/tokens", &[("name", "ada-ci"), ("scope", "read")]);
    let adas_token = shown_token(&page);
    let (_, page) = ada.call("GET", "/account", None);
    let token_id = token_id(&page, "ada-ci");

    let layout = json!({"panels": [{"kind": "text", "title": "t", "text": "x", "x": 0, "y": 0, "w": 2, "h": 2}]});
    let parser = json!({"parser": {"variables": [{"name": "v", "extract": {"from": "whole"}}]}});
    let preview = json!({"command": "readout_loadavg", "parser": {"variables": []}});
    let form = (
        "application/x-www-form-urlencoded",
        format!("csrf={}", bob.csrf),
    );
    let json_body = |v: &serde_json::Value| Some(("application/json", v.to_string()));
    let h = |rest: &str| format!("/api/v1/hosts/{id}{rest}");
    let p = |rest: &str| format!("/servers/{id}{rest}");
    // (route as declared, method, path, body): each must be refused.
    let mut walk: Vec<(&str, &str, String, Body)> = vec![
        ("/api/v1/hosts/{id}", "GET", h(""), None),
        (
            "/api/v1/hosts/{id}",
            "PATCH",
            h(""),
            json_body(&json!({"interval_secs": 300})),
        ),
        ("/api/v1/hosts/{id}", "DELETE", h(""), None),
        ("/api/v1/hosts/{id}/allowlist", "GET", h("/allowlist"), None),
        ("/api/v1/hosts/{id}/commands", "GET", h("/commands"), None),
        (
            "/api/v1/hosts/{id}/commands",
            "PUT",
            h("/commands"),
            json_body(&json!({"commands": []})),
        ),
        ("/api/v1/hosts/{id}/outputs", "GET", h("/outputs"), None),
        ("/api/v1/hosts/{id}/cycles", "GET", h("/cycles"), None),
        ("/api/v1/hosts/{id}/sources", "GET", h("/sources"), None),
        (
            "/api/v1/hosts/{id}/sources/{name}",
            "PUT",
            h("/sources/readout_loadavg"),
            json_body(&parser),
        ),
        (
            "/api/v1/hosts/{id}/sources/{name}",
            "DELETE",
            h("/sources/readout_loadavg"),
            None,
        ),
        ("/api/v1/hosts/{id}/derived", "GET", h("/derived"), None),
        (
            "/api/v1/hosts/{id}/derived/{name}",
            "PUT",
            h("/derived/d"),
            json_body(&json!({"formula": "load1 * 2"})),
        ),
        (
            "/api/v1/hosts/{id}/derived/{name}",
            "DELETE",
            h("/derived/d"),
            None,
        ),
        (
            "/api/v1/hosts/{id}/preview",
            "POST",
            h("/preview"),
            json_body(&preview),
        ),
        (
            "/api/v1/hosts/{id}/table",
            "POST",
            h("/table"),
            json_body(&json!({"command": "readout_loadavg"})),
        ),
        ("/api/v1/hosts/{id}/variables", "GET", h("/variables"), None),
        (
            "/api/v1/hosts/{id}/series",
            "GET",
            h("/series?name=load1"),
            None,
        ),
        (
            "/api/v1/hosts/{id}/backfill",
            "POST",
            h("/backfill"),
            json_body(&json!({"command": "readout_loadavg"})),
        ),
        (
            "/api/v1/hosts/{id}/layouts/{device}",
            "GET",
            h("/layouts/desktop"),
            None,
        ),
        (
            "/api/v1/hosts/{id}/layouts/{device}",
            "PUT",
            h("/layouts/desktop"),
            json_body(&layout),
        ),
        (
            "/api/v1/hosts/{id}/layouts/{device}",
            "DELETE",
            h("/layouts/desktop"),
            None,
        ),
        ("/api/v1/hosts/{id}/alerts", "GET", h("/alerts"), None),
        (
            "/api/v1/hosts/{id}/alerts/{variable}",
            "PUT",
            h("/alerts/load1"),
            json_body(&json!({"warning": {"above": 1}})),
        ),
        (
            "/api/v1/hosts/{id}/alerts/{variable}",
            "DELETE",
            h("/alerts/load1"),
            None,
        ),
        ("/servers/{id}", "GET", p(""), None),
        (
            "/servers/{id}/text",
            "GET",
            p("/text?t=%7B%7B%20load1%20%7D%7D"),
            None,
        ),
        ("/servers/{id}/first-cycle", "GET", p("/first-cycle"), None),
        ("/servers/{id}/outputs", "GET", p("/outputs"), None),
        (
            "/servers/{id}/outputs/{name}",
            "GET",
            p(&format!("/outputs/readout_loadavg?cycle={cycle}")),
            None,
        ),
        ("/servers/{id}/sources", "GET", p("/sources"), None),
        (
            "/servers/{id}/sources/{name}",
            "GET",
            p("/sources/readout_loadavg"),
            None,
        ),
        (
            "/alerts/incidents/{iid}/acknowledge",
            "POST",
            format!("/alerts/incidents/{incident}/acknowledge"),
            Some(form.clone()),
        ),
    ];
    let (status, window) = server.api(
        "POST",
        "/maintenance",
        Some(&json!({"host": id, "schedule": {"kind": "once", "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"}})),
    );
    assert_eq!(status, 201, "{window}");
    let wid = window["id"].as_str().expect("window id").to_owned();
    let window_form = format!(
        "csrf={}&host={id}&kind=weekly&days=sun&start=02:00&end=04:00&time_zone=UTC",
        bob.csrf
    );
    walk.push((
        "/alerts/windows",
        "POST",
        "/alerts/windows".into(),
        Some(("application/x-www-form-urlencoded", window_form)),
    ));
    walk.push((
        "/alerts/windows/{wid}/delete",
        "POST",
        format!("/alerts/windows/{wid}/delete"),
        Some(form.clone()),
    ));
    // Ada's channel and route, made on her page.
    let adas_channel = channel_and_route(&ada, "ada pager", "https://1.1.1.1/hook");
    let (_, page) = ada.call("GET", "/alerts", None);
    let adas_route = attr_after(&page, "<td>everything to ada pager</td>", "data-route");
    // "Sent a test through …" names only a channel the viewer may see.
    let (_, page) = bob.call("GET", &format!("/alerts?tested={adas_channel}"), None);
    assert!(
        !page.contains("ada pager"),
        "another workspace's channel named"
    );
    walk.push((
        "/alerts/channels/{cid}/test",
        "POST",
        format!("/alerts/channels/{adas_channel}/test"),
        Some(form.clone()),
    ));
    walk.push((
        "/alerts/channels/{cid}",
        "POST",
        format!("/alerts/channels/{adas_channel}"),
        Some((
            "application/x-www-form-urlencoded",
            format!(
                "csrf={}&name=taken&kind=email&to=bob%40example.org",
                bob.csrf
            ),
        )),
    ));
    walk.push((
        "/alerts/routes/{rid}",
        "POST",
        format!("/alerts/routes/{adas_route}"),
        Some((
            "application/x-www-form-urlencoded",
            format!("csrf={}&name=taken", bob.csrf),
        )),
    ));
    walk.push((
        "/alerts/channels/{cid}/delete",
        "POST",
        format!("/alerts/channels/{adas_channel}/delete"),
        Some(form.clone()),
    ));
    walk.push((
        "/alerts/routes",
        "POST",
        "/alerts/routes".into(),
        Some((
            "application/x-www-form-urlencoded",
            format!("csrf={}&name=borrowed&channels={adas_channel}", bob.csrf),
        )),
    ));
    walk.push((
        "/alerts/routes/{rid}/delete",
        "POST",
        format!("/alerts/routes/{adas_route}/delete"),
        Some(form.clone()),
    ));
    ada.post_form(
        "/members/invite",
        &[("email", "dan@example.org"), ("role", "viewer")],
    );
    let (_, members) = ada.call("GET", "/members", None);
    let adas_id = attr_after(&members, "<td>ada@example.org</td>", "data-member");
    let dans = attr_after(&members, "<td>dan@example.org</td>", "data-invitation");
    walk.push((
        "/members/invitations/{id}/withdraw",
        "POST",
        format!("/members/invitations/{dans}/withdraw"),
        Some(form.clone()),
    ));
    for route in ["/members/{uid}/role", "/members/{uid}/remove"] {
        walk.push((
            route,
            "POST",
            route.replace("{uid}", &adas_id),
            Some((
                "application/x-www-form-urlencoded",
                format!("csrf={}&role=viewer", bob.csrf),
            )),
        ));
    }
    let adas_workspace = server.api_get(&format!("/hosts/{id}"))["workspace_id"]
        .as_str()
        .expect("Ada's workspace")
        .to_owned();
    walk.push((
        "/account/workspace",
        "POST",
        "/account/workspace".into(),
        Some((
            "application/x-www-form-urlencoded",
            format!("csrf={}&workspace={adas_workspace}", bob.csrf),
        )),
    ));
    walk.push((
        "/alerts/incidents/{iid}",
        "GET",
        format!("/alerts/incidents/{incident}"),
        None,
    ));
    walk.push((
        "/account/tokens/{tid}/revoke",
        "POST",
        format!("/account/tokens/{token_id}/revoke"),
        Some(form.clone()),
    ));
    for (_, method, path, body) in &walk {
        let (status, answer) = bob.call(method, path, body.clone());
        assert_eq!(
            status, 404,
            "{method} {path} as another workspace's owner: {answer}"
        );
    }
    // The operator's routes are the admin token's, not a member's.
    let operator = [
        ("/api/v1/hosts", "GET"),
        ("/api/v1/templates", "GET"),
        ("/api/v1/templates/{tid}", "GET"),
        ("/api/v1/templates/{tid}/apply", "POST"),
        ("/api/v1/incidents", "GET"),
        ("/api/v1/incidents/{iid}", "GET"),
        ("/api/v1/incidents/{iid}/acknowledge", "POST"),
        ("/api/v1/maintenance", "GET"),
        ("/api/v1/maintenance/{wid}", "DELETE"),
        ("/api/v1/channels", "GET"),
        ("/api/v1/channels/{cid}", "GET"),
        ("/api/v1/channels/{cid}/test", "POST"),
        ("/api/v1/routes", "GET"),
        ("/api/v1/routes/{rid}", "DELETE"),
        ("/api/v1/notifications", "GET"),
        ("/api/v1/notifications/{nid}", "GET"),
    ];
    for (route, method) in operator {
        let path = route
            .replace("{tid}", "t_x")
            .replace("{iid}", &incident.to_string())
            .replace("{wid}", "w_x")
            .replace("{cid}", "c_x")
            .replace("{rid}", "r_x")
            .replace("{nid}", "1");
        let (status, answer) =
            bob.call(method, &path, json_body(&json!({"by": "Bob", "hosts": []})));
        assert_eq!(status, 403, "{method} {path} as a member: {answer}");
    }
    // Lists show only one's own workspace.
    let (_, servers) = bob.call("GET", "/servers", None);
    assert!(
        !servers.contains("web-a") && !servers.contains(&id),
        "Bob's servers list"
    );
    let (_, alerts) = bob.call("GET", "/alerts", None);
    assert!(
        !alerts.contains("web-a") && !alerts.contains("load1") && !alerts.contains("ada pager"),
        "Bob's alerts page"
    );
    assert_eq!(
        server.api_get("/maintenance").as_array().map(Vec::len),
        Some(1),
        "Bob added no window and deleted none"
    );
    let (_, members) = bob.call("GET", "/members", None);
    assert!(
        !members.contains("ada@example.org") && !members.contains("dan@example.org"),
        "Bob's members: {members}"
    );
    let (_, members) = ada.call("GET", "/members", None);
    assert!(members.contains(&dans), "Ada's invitation stays open");
    let (_, sparks) = bob.call("GET", "/servers/sparklines", None);
    assert!(!sparks.contains(&id), "Bob's sparklines: {sparks}");
    // Nothing Bob tried changed anything: Ada still sees it all.
    let (status, _) = ada.call("GET", &p(""), None);
    assert_eq!(status, 200);
    let commands = server.api_get(&format!("/hosts/{id}/commands"));
    assert_eq!(commands["commands"], json!(["readout_loadavg"]));
    let detail = server.api_get(&format!("/incidents/{incident}"));
    assert!(detail["acknowledged_by"].is_null(), "{detail}");
    let routes = server.api_get("/routes");
    assert_eq!(routes[0]["name"], "everything to ada pager", "{routes}");
    assert_eq!(
        routes.as_array().map(Vec::len),
        Some(1),
        "Bob borrowed none"
    );
    let (status, _) = server.api("GET", &format!("/channels/{adas_channel}"), None);
    assert_eq!(status, 200, "Ada's channel stays");
    assert!(detail["resolved_at_ms"].is_null(), "{detail}");
    let (status, _) = ada.call("GET", &h("/layouts/desktop"), None);
    assert_eq!(status, 200, "Ada reaches her host through the API");
    let (status, _) = with_token(
        &server,
        &adas_token,
        "GET",
        &format!("/hosts/{id}/variables"),
        None,
    );
    assert_eq!(status, 200, "Ada's token outlived Bob's try");

    // The walk covers every route that names another workspace's data; the
    // rest hold none (or only one's own).
    // Members and invitations are one's own workspace's; join and reset
    // take a link's token, which names no workspace of the caller's.
    let own_only = [
        "/",
        "/account",
        "/account/password",
        "/account/tokens",
        "/members",
        "/members/invite",
        "/join",
        "/reset",
        "/reset/password",
        "/login",
        "/logout",
        "/setup",
        "/static/{file}",
        "/servers",
        "/servers/new",
        "/servers/sparklines",
        "/alerts",
        "/alerts/channels",
        "/healthz",
        "/agent/install.sh",
        "/agent/uninstall.sh",
        "/agent/available_commands.sh",
        "/agent/readout-agent",
    ];
    let covered: BTreeSet<String> = walk
        .iter()
        .map(|w| w.0.to_owned())
        .chain(operator.iter().map(|r| r.0.to_owned()))
        .chain(own_only.iter().map(|r| (*r).to_owned()))
        .collect();
    let declared = readout_server::routes::declared_paths::<readout_storage_sqlite::SqliteStore>();
    for known in [
        "/api/v1/hosts/{id}",
        "/servers/{id}/sources/{name}",
        "/healthz",
    ] {
        assert!(
            declared.iter().any(|p| p == known),
            "{known} in {declared:?}"
        );
    }
    let missing: Vec<String> = declared
        .into_iter()
        .filter(|r| !covered.contains(r))
        .collect();
    assert!(
        missing.is_empty(),
        "routes the walk does not cover: {missing:?}"
    );
}

/// An API call with a bearer token; the status and the body.
fn with_token(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (u16, String) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}/api/v1{path}", server.url()).as_str())
        .header("authorization", format!("Bearer {token}").as_str())
        .header("content-type", "application/json")
        .body(
            body.map(ToString::to_string)
                .unwrap_or_default()
                .into_bytes(),
        )
        .expect("request");
    let mut answer = support::http().run(request).expect("call");
    let status = answer.status().as_u16();
    (
        status,
        answer.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// The id of the token named `name` on the account page.
fn token_id(page: &str, name: &str) -> String {
    let row = page
        .find(&format!("<td>{name}</td>"))
        .unwrap_or_else(|| panic!("no token {name}"));
    page[..row]
        .rsplit("data-token=\"")
        .next()
        .and_then(|t| t.split('"').next())
        .expect("token id")
        .to_owned()
}

/// The token a page shows once.
fn shown_token(page: &str) -> String {
    let at = page
        .find("id=\"new-token\">")
        .unwrap_or_else(|| panic!("no new token on the page: {page}"))
        + 15;
    page[at..].split('<').next().unwrap_or_default().to_owned()
}

#[test]
fn api_tokens_act_as_their_user_within_their_scope_and_a_new_password_works_at_once() {
    let server = Server::start();
    add_user(&server, &["ada@example.org", "--name", "Ada"], "owner");
    add_user(
        &server,
        &["vera@example.org", "--name", "Vera", "--role", "viewer"],
        "viewer",
    );
    add_user(
        &server,
        &[
            "bob@example.org",
            "--name",
            "Bob",
            "--new-workspace",
            "Bob's",
        ],
        "another workspace",
    );
    let (id, key) = server.add_host("web-a");
    let agent = Agent::new(
        &server.url(),
        &id,
        &key,
        "readout_loadavg=\"cat /proc/loadavg\"\n",
        "",
    );
    agent.once();
    let ada = Session::log_in(&server, "ada@example.org");

    // A read token reads this workspace's hosts and changes nothing.
    let (status, page) =
        ada.post_form("/account/tokens", &[("name", "grafana"), ("scope", "read")]);
    assert_eq!(status, 200, "{page}");
    let read = shown_token(&page);
    assert!(read.starts_with("rut_") && read.len() > 40, "{read}");
    let (status, body) = with_token(
        &server,
        &read,
        "GET",
        &format!("/hosts/{id}/variables"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let commands = json!({"commands": ["readout_loadavg"]});
    let (status, body) = with_token(
        &server,
        &read,
        "PUT",
        &format!("/hosts/{id}/commands"),
        Some(&commands),
    );
    assert_eq!((status, body.contains("read-only")), (403, true), "{body}");
    let (status, _) = with_token(&server, &read, "GET", "/hosts", None);
    assert_eq!(status, 403, "the operator's list");
    // A write token changes them, with no CSRF token: it is no cookie.
    let (_, page) = ada.post_form("/account/tokens", &[("name", "deploy"), ("scope", "write")]);
    let write = shown_token(&page);
    let (status, body) = with_token(
        &server,
        &write,
        "PUT",
        &format!("/hosts/{id}/commands"),
        Some(&commands),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        server.api_get(&format!("/hosts/{id}/commands"))["commands"],
        commands["commands"]
    );
    // Another workspace's token does not find the host; a viewer's token only reads.
    let bob = Session::log_in(&server, "bob@example.org");
    let (_, page) = bob.post_form("/account/tokens", &[("name", "bob's"), ("scope", "write")]);
    let bobs = shown_token(&page);
    let (status, _) = with_token(
        &server,
        &bobs,
        "GET",
        &format!("/hosts/{id}/variables"),
        None,
    );
    assert_eq!(status, 404);
    let vera = Session::log_in(&server, "vera@example.org");
    let (status, page) = vera.post_form("/account/tokens", &[("name", "mine"), ("scope", "write")]);
    assert_eq!(status, 422);
    assert!(page.contains("reads only"), "{page}");
    // The list says when a token was last used; a revoked one is refused.
    let (_, page) = ada.call("GET", "/account", None);
    assert!(
        page.contains("grafana") && page.contains("deploy"),
        "{page}"
    );
    assert!(!page.contains(&read), "a token is shown once only");
    let row = page.find("grafana").expect("row");
    let token_id = page[..row]
        .rsplit("data-token=\"")
        .next()
        .and_then(|t| t.split('"').next())
        .expect("token id")
        .to_owned();
    let (status, _) = ada.post_form(&format!("/account/tokens/{token_id}/revoke"), &[]);
    assert!(matches!(status, 200 | 303), "{status}");
    let (status, _) = with_token(
        &server,
        &read,
        "GET",
        &format!("/hosts/{id}/variables"),
        None,
    );
    assert_eq!(status, 401, "revoked");
    let (status, _) = with_token(
        &server,
        "rut_made_up",
        "GET",
        &format!("/hosts/{id}/variables"),
        None,
    );
    assert_eq!(status, 401);

    // Password: the current one must be right; the new one works at once.
    let new = "a much longer passphrase";
    let (status, page) = ada.post_form(
        "/account/password",
        &[("current", "wrong horse battery"), ("new", new)],
    );
    assert_eq!(status, 422);
    assert!(
        page.contains("The current password is not right."),
        "{page}"
    );
    let (status, page) = ada.post_form(
        "/account/password",
        &[("current", PASSWORD), ("new", "short")],
    );
    assert_eq!(status, 422);
    assert!(page.contains("at least 10 characters"), "{page}");
    // A change ends Ada's other sessions, keeps this one, and with the box
    // ticked revokes her tokens (the write token made above).
    let elsewhere = Session::log_in(&server, "ada@example.org");
    let (status, page) = ada.post_form(
        "/account/password",
        &[("current", PASSWORD), ("new", new), ("revoke_tokens", "1")],
    );
    assert_eq!(status, 200);
    assert!(
        page.contains("Your password is changed; every other session of yours has ended, and your API tokens are revoked."),
        "{page}"
    );
    assert_eq!(
        elsewhere.call("GET", "/account", None).0,
        303,
        "the other session ended"
    );
    assert_eq!(ada.call("GET", "/account", None).0, 200, "this one goes on");
    let (status, _) = with_token(
        &server,
        &write,
        "GET",
        &format!("/hosts/{id}/variables"),
        None,
    );
    assert_eq!(status, 401, "tokens revoked with the change");
    assert_eq!(
        post_login(&server, "ada@example.org", PASSWORD).0,
        401,
        "the old password"
    );
    Session::log_in_with(&server, "ada@example.org", new);
}

/// The first link to this server in a mail's body (quoted-printable undone).
fn link_in(mail: &support::receivers::Mail, base: &str) -> String {
    let body = mail
        .body
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let at = body
        .find(base)
        .unwrap_or_else(|| panic!("no link in {body}"));
    body[at..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A GET without a session, redirects not followed.
fn get_plain(url: &str) -> (u16, String) {
    let mut answer = support::http()
        .get(url)
        .config()
        .max_redirects(0)
        .build()
        .call()
        .expect("GET");
    let status = answer.status().as_u16();
    (
        status,
        answer.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// A form post without a session; the status and any session cookie.
fn post_plain(
    server: &Server,
    path: &str,
    pairs: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let base = server.url();
    let mut answer = support::http()
        .post(format!("{base}{path}").as_str())
        .header("origin", base.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .config()
        .max_redirects(0)
        .build()
        .send(form_body(pairs))
        .expect("POST");
    let cookie = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .filter(|c| c.starts_with("readout_session="))
        })
        .map(str::to_owned);
    let status = answer.status().as_u16();
    (
        status,
        cookie,
        answer.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn invitations_and_password_resets_arrive_by_email_and_work_once() {
    let smtp = support::receivers::SmtpServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("readout.toml");
    std::fs::write(
        &config,
        format!(
            "[alerts]\nsmtp_url = \"smtp://127.0.0.1:{}\"\nsmtp_from = \"Readout <readout@readout.test>\"\n",
            smtp.port
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    let server = Server::start_in(dir, &["--config", config.as_str()]);
    let base = server.url();
    add_user(&server, &["ada@example.org", "--name", "Ada"], "owner");
    add_user(
        &server,
        &["vera@example.org", "--name", "Vera", "--role", "viewer"],
        "viewer",
    );
    let mails_to = |to: &str, n: usize| {
        support::wait_for(std::time::Duration::from_secs(15), || {
            let mails: Vec<_> = smtp
                .mails()
                .into_iter()
                .filter(|m| m.headers.get("to").is_some_and(|t| t.contains(to)))
                .collect();
            (mails.len() >= n).then_some(mails)
        })
        .unwrap_or_else(|| panic!("{n} mails to {to}"))
    };

    // An admin invites; a viewer may not.
    let vera = Session::log_in(&server, "vera@example.org");
    let (status, _) = vera.post_form(
        "/members/invite",
        &[("email", "carol@example.org"), ("role", "editor")],
    );
    assert_eq!(status, 403);
    let ada = Session::log_in(&server, "ada@example.org");
    let (status, page) = ada.post_form(
        "/members/invite",
        &[("email", "Carol@Example.org"), ("role", "editor")],
    );
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("An invitation is on its way to carol@example.org."),
        "{page}"
    );
    let (status, page) = ada.post_form(
        "/members/invite",
        &[("email", "vera@example.org"), ("role", "viewer")],
    );
    assert_eq!(status, 422);
    assert!(
        page.contains("vera@example.org is a member already."),
        "{page}"
    );
    let invitation = &mails_to("carol@example.org", 1)[0];
    assert_eq!(invitation.headers["subject"], "Join My servers on Readout");
    let link = link_in(invitation, &base);
    assert!(
        link.starts_with(&format!("{base}/join?token=rl_")),
        "{link}"
    );

    // The invitee picks a name and a password, and is in, as an editor.
    let (status, page) = get_plain(&link);
    assert_eq!(status, 200);
    assert!(
        page.contains("<strong>editor</strong>") && page.contains("carol@example.org"),
        "{page}"
    );
    let token = link.split("token=").nth(1).expect("token");
    let (status, _, page) = post_plain(
        &server,
        "/join",
        &[("token", token), ("name", "Carol"), ("password", "short")],
    );
    assert_eq!(status, 422);
    assert!(page.contains("at least 10 characters"), "{page}");
    let (status, cookie, _) = post_plain(
        &server,
        "/join",
        &[("token", token), ("name", "Carol"), ("password", PASSWORD)],
    );
    assert_eq!(status, 303);
    assert!(cookie.is_some(), "signed in");
    let (_, page) = ada.call("GET", "/members", None);
    assert!(page.contains("carol@example.org</td><td>editor"), "{page}");
    let (status, _, _) = post_plain(
        &server,
        "/join",
        &[
            ("token", token),
            ("name", "Mallory"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(status, 404, "a link works once");
    assert_eq!(post_login(&server, "carol@example.org", PASSWORD).0, 303);
    // Open invitations are listed until used; one withdrawn stops working.
    let (_, page) = ada.post_form(
        "/members/invite",
        &[("email", "dan@example.org"), ("role", "viewer")],
    );
    assert!(
        !page.contains("<td>carol@example.org</td><td>editor</td><td>20"),
        "used: {page}"
    );
    let dans = attr_after(&page, "<td>dan@example.org</td>", "data-invitation");
    let dans_link = link_in(&mails_to("dan@example.org", 1)[0], &base);
    assert_eq!(get_plain(&dans_link).0, 200);
    let (status, _) = vera.post_form(&format!("/members/invitations/{dans}/withdraw"), &[]);
    assert_eq!(status, 403, "a viewer withdraws none");
    let (status, _) = ada.post_form(&format!("/members/invitations/{dans}/withdraw"), &[]);
    assert_eq!(status, 303);
    assert_eq!(
        get_plain(&dans_link).0,
        404,
        "a withdrawn link works no more"
    );
    let (_, page) = ada.call("GET", "/members", None);
    assert!(!page.contains("data-invitation"), "{page}");

    // Reset: the same answer for any address; a mail only to a real account.
    let (status, _, page) = post_plain(&server, "/reset", &[("email", "nobody@example.org")]);
    assert_eq!(status, 200);
    assert!(
        page.contains("If nobody@example.org has an account"),
        "{page}"
    );
    let (_, _, page) = post_plain(&server, "/reset", &[("email", "ada@example.org")]);
    assert!(page.contains("If ada@example.org has an account"), "{page}");
    let reset = &mails_to("ada@example.org", 1)[0];
    assert_eq!(reset.headers["subject"], "Reset your Readout password");
    assert!(mails_to("nobody@example.org", 0).is_empty());
    let link = link_in(reset, &base);
    let token = link.split("token=").nth(1).expect("token");
    assert_eq!(get_plain(&link).0, 200);
    let new = "a brand new passphrase";
    let (status, _, page) = post_plain(
        &server,
        "/reset/password",
        &[("token", token), ("password", "short")],
    );
    assert_eq!(status, 422, "{page}");
    let (status, _, _) = post_plain(
        &server,
        "/reset/password",
        &[("token", token), ("password", new)],
    );
    assert_eq!(status, 303);
    // Every session of the account ended; the new password works; once.
    let (status, _) = ada.call("GET", "/servers", None);
    assert_eq!(status, 303, "the old session is gone: to the login");
    assert_eq!(post_login(&server, "ada@example.org", PASSWORD).0, 401);
    assert_eq!(post_login(&server, "ada@example.org", new).0, 303);
    let (status, _, _) = post_plain(
        &server,
        "/reset/password",
        &[("token", token), ("password", "another passphrase")],
    );
    assert_eq!(status, 404);
}

#[test]
fn maintenance_windows_are_added_and_removed_on_the_alerts_page() {
    let server = Server::start();
    add_user(&server, &["ada@example.org", "--name", "Ada"], "owner");
    add_user(
        &server,
        &["vera@example.org", "--name", "Vera", "--role", "viewer"],
        "viewer",
    );
    let (id, _) = server.add_host("web-a");
    let ada = Session::log_in(&server, "ada@example.org");
    let add = |session: &Session, fields: &str| {
        let body = format!("csrf={}&host={id}&{fields}", session.csrf);
        session.call(
            "POST",
            "/alerts/windows",
            Some(("application/x-www-form-urlencoded", body)),
        )
    };
    let weekly = "kind=weekly&days=sat&days=sun&start=02:00&end=04:00&time_zone=Europe%2FVilnius&comment=kernel+upgrade";
    let vera = Session::log_in(&server, "vera@example.org");
    assert_eq!(add(&vera, weekly).0, 403, "a viewer adds none");
    let (status, page) = add(&ada, weekly);
    assert_eq!(status, 303, "{page}");
    let (_, page) = ada.call("GET", "/alerts", None);
    assert!(
        // The page escapes `/` as `&#x2f;`.
        page.contains("every sat, sun 02:00–04:00 Europe&#x2f;Vilnius")
            && page.contains("kernel upgrade"),
        "{page}"
    );
    let windows = server.api_get("/maintenance");
    assert_eq!(windows[0]["host"], json!(id));
    assert_eq!(windows[0]["schedule"]["days"], json!(["sat", "sun"]));
    // A one-off window is read in its time zone.
    add(
        &ada,
        "kind=once&from=2030-01-01T10:00&to=2030-01-01T12:00&time_zone=Europe%2FVilnius&variable=load1",
    );
    let (_, page) = ada.call("GET", "/alerts", None);
    assert!(
        page.contains("from 2030-01-01T08:00:00Z to 2030-01-01T10:00:00Z"),
        "{page}"
    );
    // Refused with what is wrong, nothing added.
    let (status, page) = add(&ada, "kind=once&from=2030-01-01T12:00&to=2030-01-01T10:00");
    assert_eq!(status, 422);
    assert!(page.contains("Window not added: the window ends"), "{page}");
    let (status, page) = add(
        &ada,
        "kind=weekly&days=sun&start=02:00&end=04:00&time_zone=Mars%2FOlympus",
    );
    assert_eq!(status, 422);
    assert!(page.contains("unknown time zone"), "{page}");
    let (status, _) = add(&ada, "kind=weekly&start=02:00&end=04:00");
    assert_eq!(status, 422, "no day");
    assert_eq!(
        server.api_get("/maintenance").as_array().map(Vec::len),
        Some(2)
    );
    // Delete one.
    let wid = windows[0]["id"].as_str().expect("id");
    let (status, _) = ada.post_form(&format!("/alerts/windows/{wid}/delete"), &[]);
    assert!(matches!(status, 200 | 303), "{status}");
    let left = server.api_get("/maintenance");
    assert_eq!(left.as_array().map(Vec::len), Some(1));
    assert_ne!(left[0]["id"], json!(wid));
}

/// A server whose webhooks may reach the test's receiver on loopback.
fn server_allowing_loopback(extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("readout.toml");
    std::fs::write(
        &config,
        "[alerts]\nsweep_every_secs = 1\nallow_networks = [\"127.0.0.1/32\"]\n",
    )
    .expect("config");
    let config = config.display().to_string();
    let mut args = vec!["--config", config.as_str()];
    args.extend_from_slice(extra);
    Server::start_in(dir, &args)
}

/// The value of `attr` on the first element the page shows after `marker`.
fn attr_after(page: &str, marker: &str, attr: &str) -> String {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not on the page: {page}"));
    page[..at]
        .rsplit(&format!("{attr}=\""))
        .next()
        .and_then(|t| t.split('"').next())
        .unwrap_or_else(|| panic!("no {attr} before {marker}"))
        .to_owned()
}

/// Adds a webhook channel to `url` on the session's alerts page, and a
/// route of everything to it; the channel's id.
fn channel_and_route(session: &Session, name: &str, url: &str) -> String {
    let (status, page) = session.post_form(
        "/alerts/channels",
        &[("name", name), ("kind", "webhook"), ("url", url)],
    );
    assert_eq!(status, 303, "channel {name}: {page}");
    let (_, page) = session.call("GET", "/alerts", None);
    let cid = attr_after(&page, &format!("<td>{name}</td>"), "data-channel");
    let route = format!("everything to {name}");
    let (status, page) = session.post_form(
        "/alerts/routes",
        &[
            ("name", &route),
            ("channels", &cid),
            ("repeat_minutes", "0"),
        ],
    );
    assert_eq!(status, 303, "route {route}: {page}");
    cid
}

/// A server added on the session's add-server page: its id and agent key.
fn add_server_on_page(session: &Session, name: &str) -> (String, String) {
    let (status, page) = session.post_form("/servers/new", &[("name", name)]);
    assert_eq!(status, 200, "{page}");
    let arg = |flag: &str| {
        page.split(flag)
            .nth(1)
            .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '<').next())
            .unwrap_or_else(|| panic!("no {flag} in {page}"))
            .to_owned()
    };
    (arg("--host-id "), arg("--api-key "))
}

/// Each workspace keeps its channels and routes: its route tells it of its
/// own servers only, while the operator's route tells of every server;
/// its page lists its own and the operator's, never another workspace's.
fn workspace_routes_story(extra: &[&str]) {
    let server = server_allowing_loopback(extra);
    let receiver = support::receivers::Receiver::start();
    add_user(&server, &["ada@example.org", "--name", "Ada"], "owner");
    add_user(
        &server,
        &[
            "bob@example.org",
            "--name",
            "Bob",
            "--new-workspace",
            "Bob's",
        ],
        "owner of another workspace",
    );
    let ada = Session::log_in(&server, "ada@example.org");
    let bob = Session::log_in(&server, "bob@example.org");
    let web_a = support::LevelHost::new(&server, "web-a");
    let (id, key) = add_server_on_page(&bob, "web-b");
    let web_b = support::LevelHost::with_key(&server, id, &key);
    let adas = channel_and_route(&ada, "ada hook", &format!("{}/ada", receiver.url));
    channel_and_route(&bob, "bob hook", &format!("{}/bob", receiver.url));
    let (status, operator) = server.api(
        "POST",
        "/channels",
        Some(&json!({"name": "operator hook", "kind": "webhook", "url": format!("{}/operator", receiver.url)})),
    );
    assert_eq!(status, 201, "{operator}");
    let (status, route) = server.api(
        "POST",
        "/routes",
        Some(&json!({"name": "everything", "channels": [operator["id"]], "repeat_every_secs": 0})),
    );
    assert_eq!(status, 201, "{route}");
    // Each channel says whose it is.
    let channels = server.api_get("/channels");
    let owners: Vec<_> = channels
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["workspace_id"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        owners,
        [
            ("ada hook".to_owned(), false),
            ("bob hook".to_owned(), false),
            ("operator hook".to_owned(), true)
        ]
    );

    web_a.report(95);
    web_b.report(95);
    let told = |path: &str| {
        support::wait_for(std::time::Duration::from_secs(30), || {
            let calls = receiver.calls_to(path);
            (calls.len() >= 2 || (path != "/operator" && !calls.is_empty())).then_some(calls)
        })
        .unwrap_or_else(|| panic!("notices to {path}: {:?}", receiver.calls()))
    };
    let operator_told = told("/operator");
    let ada_told = told("/ada");
    let bob_told = told("/bob");
    // Every notice is queued with its cycle: once none is pending, a stray
    // one would have arrived too.
    let drained = support::wait_for(std::time::Duration::from_secs(30), || {
        let pending = server.api_get("/notifications?status=pending");
        pending.as_array().is_some_and(Vec::is_empty).then_some(())
    });
    assert!(drained.is_some(), "the outbox drains");
    let hosts = |path: &str| -> BTreeSet<String> {
        receiver
            .calls_to(path)
            .iter()
            .map(|c| c.json()["host"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert!(operator_told.len() >= 2 && !ada_told.is_empty() && !bob_told.is_empty());
    assert_eq!(
        hosts("/operator"),
        BTreeSet::from(["web-a".into(), "web-b".into()])
    );
    assert_eq!(hosts("/ada"), BTreeSet::from(["web-a".into()]));
    assert_eq!(hosts("/bob"), BTreeSet::from(["web-b".into()]));

    // Bob's page: his channel with its buttons, the operator's read-only,
    // never Ada's; his delivery log holds his server's notices only.
    let (_, page) = bob.call("GET", "/alerts", None);
    assert!(
        page.contains("bob hook") && page.contains("operator hook"),
        "{page}"
    );
    assert!(
        !page.contains("ada hook") && !page.contains(&adas),
        "{page}"
    );
    assert!(
        page.contains("server-wide, set with the admin token"),
        "{page}"
    );
    let delivery = page
        .split("id=\"deliveries\"")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("Bob's delivery log");
    assert!(
        delivery.contains("web-b") && !delivery.contains("web-a"),
        "{delivery}"
    );
    // Nor can he route to Ada's channel, test or delete it.
    let (status, _) = bob.post_form(
        "/alerts/routes",
        &[("name", "borrowed"), ("channels", &adas)],
    );
    assert_eq!(status, 404);
    let (status, _) = bob.post_form(&format!("/alerts/channels/{adas}/test"), &[]);
    assert_eq!(status, 404);
    // Ada's channel goes once her route does.
    let (status, page) = ada.post_form(&format!("/alerts/channels/{adas}/delete"), &[]);
    assert_eq!(status, 422);
    assert!(
        page.contains(
            "Channel not deleted: route &quot;everything to ada hook&quot; sends to this channel"
        ),
        "{page}"
    );
    let (_, page) = ada.call("GET", "/alerts", None);
    let rid = attr_after(&page, "<td>everything to ada hook</td>", "data-route");
    let (status, _) = bob.post_form(&format!("/alerts/routes/{rid}/delete"), &[]);
    assert_eq!(status, 404, "Bob deletes none of Ada's routes");
    assert_eq!(
        ada.post_form(&format!("/alerts/routes/{rid}/delete"), &[])
            .0,
        303
    );
    assert_eq!(
        ada.post_form(&format!("/alerts/channels/{adas}/delete"), &[])
            .0,
        303
    );
    let (status, _) = server.api("GET", &format!("/channels/{adas}"), None);
    assert_eq!(status, 404, "Ada's channel is gone");
}

#[test]
fn a_workspaces_route_tells_only_of_its_own_servers_on_sqlite() {
    workspace_routes_story(&[]);
}

#[test]
fn a_workspaces_route_tells_only_of_its_own_servers_on_postgres() {
    let db = support::PgDatabase::create();
    workspace_routes_story(&["--database-url", &db.url]);
}

#[test]
fn someone_in_two_workspaces_joins_with_their_account_and_switches_between_them() {
    let server = Server::start();
    add_user(&server, &["ada@example.org", "--name", "Ada"], "owner");
    add_user(
        &server,
        &[
            "bob@example.org",
            "--name",
            "Bob",
            "--new-workspace",
            "Bob's",
        ],
        "owner of another workspace",
    );
    server.add_host("web-a");
    let ada = Session::log_in(&server, "ada@example.org");
    let bob = Session::log_in(&server, "bob@example.org");
    add_server_on_page(&bob, "web-b");
    let servers = |session: &Session| session.call("GET", "/servers", None).1;
    assert!(servers(&bob).contains("web-b") && !servers(&bob).contains("web-a"));

    // Ada invites Bob's address, with no SMTP relay: the page hands the link over.
    let (status, page) = ada.post_form(
        "/members/invite",
        &[("email", "bob@example.org"), ("role", "viewer")],
    );
    assert_eq!(status, 200, "{page}");
    let link = page
        .split("id=\"invite-link\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the invitation link")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let token = link.split("token=").nth(1).expect("token").to_owned();
    let (status, page) = get_plain(&link);
    assert_eq!(status, 200);
    assert!(page.contains("This address has an account"), "{page}");
    let join = |password: &str| {
        post_plain(
            &server,
            "/join",
            &[("token", &token), ("password", password)],
        )
    };
    let (status, cookie, page) = join("not bob's password");
    assert_eq!(status, 401, "{page}");
    assert!(
        cookie.is_none() && page.contains("Wrong password."),
        "{page}"
    );
    let (status, cookie, _) = join(PASSWORD);
    assert_eq!(status, 303);
    assert_eq!(join(PASSWORD).0, 404, "a link works once");

    // The new session looks at Ada's workspace, as a viewer there.
    let joined = Session::with_cookie(&server, cookie.expect("signed in"));
    assert!(servers(&joined).contains("web-a") && !servers(&joined).contains("web-b"));
    let (_, members) = ada.call("GET", "/members", None);
    assert!(
        members.contains("bob@example.org</td><td>viewer"),
        "{members}"
    );
    let (status, _) = joined.post_form(
        "/alerts/channels",
        &[("name", "x"), ("kind", "email"), ("to", "bob@example.org")],
    );
    assert_eq!(status, 403, "a viewer in Ada's workspace");
    // The older session still looks at his own; each picks its own.
    assert!(servers(&bob).contains("web-b"));
    let (_, account) = joined.call("GET", "/account", None);
    assert!(
        account.contains("Bob&#x27;s") && account.contains("shown now"),
        "{account}"
    );
    let bobs = attr_after(&account, "<td>Bob&#x27;s</td>", "data-workspace");
    let (status, _) = joined.post_form("/account/workspace", &[("workspace", &bobs)]);
    assert_eq!(status, 303);
    assert!(servers(&joined).contains("web-b") && !servers(&joined).contains("web-a"));
    let (status, page) = joined.post_form(
        "/alerts/channels",
        &[("name", "x"), ("kind", "email"), ("to", "bob@example.org")],
    );
    assert_eq!(
        status, 422,
        "an owner here (no SMTP relay for email): {page}"
    );
    assert!(page.contains("email channels need an SMTP relay"), "{page}");
    // Nobody switches into a workspace they are not in.
    let (_, account) = ada.call("GET", "/account", None);
    assert!(
        !account.contains("id=\"workspaces\""),
        "one workspace: no list"
    );
    let adas = server.api_get("/hosts")[0]["workspace_id"]
        .as_str()
        .expect("Ada's workspace")
        .to_owned();
    let carol_ws = {
        add_user(
            &server,
            &[
                "carol@example.org",
                "--name",
                "Carol",
                "--new-workspace",
                "Carol's",
            ],
            "a third workspace",
        );
        let carol = Session::log_in(&server, "carol@example.org");
        let (_, page) = carol.call("GET", "/servers", None);
        assert!(!page.contains("web-a"));
        let (status, _) = carol.post_form("/account/workspace", &[("workspace", &adas)]);
        assert_eq!(status, 404, "Carol is not in Ada's workspace");
        servers(&carol)
    };
    assert!(!carol_ws.contains("web-a") && !carol_ws.contains("web-b"));
    // Invited again: a member already.
    let (status, page) = ada.post_form(
        "/members/invite",
        &[("email", "bob@example.org"), ("role", "editor")],
    );
    assert_eq!(status, 422);
    assert!(
        page.contains("bob@example.org is a member already."),
        "{page}"
    );
}

#[test]
fn roles_change_and_members_leave_but_a_workspace_keeps_an_owner() {
    let server = Server::start();
    add_user(&server, &["ada@example.org", "--name", "Ada"], "owner");
    for (email, name, role) in [
        ("adam@example.org", "Adam", "admin"),
        ("vera@example.org", "Vera", "viewer"),
    ] {
        add_user(&server, &[email, "--name", name, "--role", role], role);
    }
    server.add_host("web-a");
    let ada = Session::log_in(&server, "ada@example.org");
    let adam = Session::log_in(&server, "adam@example.org");
    let vera = Session::log_in(&server, "vera@example.org");
    let (_, page) = ada.call("GET", "/members", None);
    let id_of = |email: &str| attr_after(&page, &format!("<td>{email}</td>"), "data-member");
    let (ada_id, adam_id, vera_id) = (
        id_of("ada@example.org"),
        id_of("adam@example.org"),
        id_of("vera@example.org"),
    );
    let role = |session: &Session, uid: &str, role: &str| {
        session.post_form(&format!("/members/{uid}/role"), &[("role", role)])
    };
    let roles = || {
        let (_, page) = ada.call("GET", "/members", None);
        ["ada", "adam", "vera"]
            .map(|name| {
                let row = page
                    .split(&format!("<td>{name}@example.org</td><td>"))
                    .nth(1)
                    .expect("a row");
                row.split('<').next().unwrap_or_default().to_owned()
            })
            .to_vec()
    };
    // A viewer changes nobody; an admin changes non-owners but no owner.
    assert_eq!(role(&vera, &adam_id, "viewer").0, 422);
    let (status, page) = role(&adam, &ada_id, "viewer");
    assert_eq!(status, 422);
    assert!(page.contains("Only an owner changes an owner"), "{page}");
    assert_eq!(role(&adam, &vera_id, "owner").0, 422, "nor makes one");
    assert_eq!(role(&adam, &vera_id, "editor").0, 303);
    assert_eq!(roles(), ["owner", "admin", "editor"]);
    // The last owner stays one, and cannot leave.
    let (status, page) = role(&ada, &ada_id, "admin");
    assert_eq!(status, 422);
    assert!(page.contains("keeps at least one owner"), "{page}");
    assert_eq!(
        ada.post_form(&format!("/members/{ada_id}/remove"), &[]).0,
        422
    );
    // With a second owner, the first may step down.
    assert_eq!(role(&ada, &adam_id, "owner").0, 303);
    assert_eq!(role(&ada, &ada_id, "admin").0, 303);
    assert_eq!(roles(), ["admin", "owner", "editor"]);
    // Someone removed is out at once: their session sees no workspace.
    assert_eq!(
        adam.post_form(&format!("/members/{vera_id}/remove"), &[]).0,
        303
    );
    let (status, _) = vera.call("GET", "/servers", None);
    assert_eq!(status, 303, "Vera's session ends with her last workspace");
    let (status, _, page) = post_plain(
        &server,
        "/login",
        &[("email", "vera@example.org"), ("password", PASSWORD)],
    );
    assert_eq!(status, 403, "the account stays, in no workspace");
    assert!(page.contains("belongs to no workspace any more"), "{page}");
    let (_, page) = ada.call("GET", "/members", None);
    assert!(!page.contains("vera@example.org"), "{page}");
    // Anyone may leave.
    assert_eq!(
        ada.post_form(&format!("/members/{ada_id}/remove"), &[]).0,
        303
    );
    assert_eq!(ada.call("GET", "/servers", None).0, 303);
}

#[test]
fn channels_and_routes_are_edited_on_the_alerts_page_and_secrets_stay_unshown() {
    let server = Server::start();
    add_user(&server, &["ada@example.org", "--name", "Ada"], "owner");
    add_user(
        &server,
        &["vera@example.org", "--name", "Vera", "--role", "viewer"],
        "viewer",
    );
    server.add_host("web-a");
    let ada = Session::log_in(&server, "ada@example.org");
    let (status, page) = ada.post_form(
        "/alerts/channels",
        &[
            ("name", "phones"),
            ("kind", "ntfy"),
            ("ntfy.topic", "alerts"),
            ("ntfy.url", "https://1.1.1.1"),
            ("ntfy.token", "tk_secret"),
        ],
    );
    assert_eq!(status, 303, "{page}");
    let (_, page) = ada.call("GET", "/alerts", None);
    let cid = attr_after(&page, "<td>phones</td>", "data-channel");

    // The edit form: what is stored, but the secret.
    let (status, page) = ada.call("GET", &format!("/alerts?edit_channel={cid}"), None);
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("action=\"/alerts/channels/{cid}\"")),
        "{page}"
    );
    assert!(
        page.contains("value=\"alerts\"") && page.contains("Save the channel"),
        "{page}"
    );
    assert!(
        !page.contains("tk_secret") && page.contains("unchanged if left empty"),
        "{page}"
    );
    let (status, page) = ada.post_form(
        &format!("/alerts/channels/{cid}"),
        &[
            ("name", "pagers"),
            ("kind", "ntfy"),
            ("ntfy.topic", "urgent"),
            ("ntfy.url", "https://1.1.1.1"),
            ("ntfy.token", ""),
        ],
    );
    assert_eq!(status, 303, "{page}");
    let channel = server.api_get(&format!("/channels/{cid}"));
    assert_eq!(channel["name"], "pagers");
    assert_eq!(
        channel["params"],
        json!({"topic": "urgent", "url": "https://1.1.1.1", "token": "tk_secret"}),
        "the token left empty stays"
    );

    // A route, edited: states, no repeats, an escalation.
    let (status, page) = ada.post_form(
        "/alerts/routes",
        &[
            ("name", "to phones"),
            ("channels", &cid),
            ("repeat_minutes", "60"),
        ],
    );
    assert_eq!(status, 303, "{page}");
    let (_, page) = ada.call("GET", "/alerts", None);
    let rid = attr_after(&page, "<td>to phones</td>", "data-route");
    let (_, page) = ada.call("GET", &format!("/alerts?edit_route={rid}"), None);
    assert!(
        page.contains("value=\"60\"") && page.contains("Save the route"),
        "{page}"
    );
    assert!(page.contains(&format!("value=\"{cid}\" checked")), "{page}");
    let edit = |pairs: &[(&str, &str)]| ada.post_form(&format!("/alerts/routes/{rid}"), pairs);
    let (status, page) = edit(&[("name", "to phones"), ("repeat_minutes", "0")]);
    assert_eq!(status, 422);
    assert!(
        page.contains("Route not saved: a route needs at least one channel"),
        "{page}"
    );
    assert!(
        page.contains(&format!("action=\"/alerts/routes/{rid}\"")),
        "still editing"
    );
    let (status, page) = edit(&[
        ("name", "errors to phones"),
        ("channels", &cid),
        ("states", "ERROR"),
        ("repeat_minutes", "0"),
        ("escalate_minutes", "30"),
        ("escalate_channels", &cid),
    ]);
    assert_eq!(status, 303, "{page}");
    let routes = server.api_get("/routes");
    assert_eq!(
        routes.as_array().map(Vec::len),
        Some(1),
        "edited, not added"
    );
    assert_eq!(routes[0]["name"], "errors to phones");
    assert_eq!(routes[0]["states"], json!(["ERROR"]));
    assert_eq!(routes[0]["repeat_every_secs"], 0);
    assert_eq!(
        routes[0]["escalation"],
        json!({"after_secs": 1800, "channels": [cid]})
    );

    // A viewer edits nothing.
    let vera = Session::log_in(&server, "vera@example.org");
    assert_eq!(
        vera.call("GET", &format!("/alerts?edit_channel={cid}"), None)
            .0,
        403
    );
    assert_eq!(
        vera.post_form(
            &format!("/alerts/routes/{rid}"),
            &[("name", "x"), ("channels", &cid)]
        )
        .0,
        403
    );
}

/// Every form the pages take is refused from another site's page, even
/// with the session's CSRF token, and from our own page without it (but
/// sign-in and links, which have no session): the walk covers each page
/// route the server declares, so a new one is walked too. `/logout` and
/// `/servers/new` once skipped the check.
#[test]
fn every_page_form_refuses_another_sites_and_a_missing_token() {
    let server = Server::start();
    add_user(&server, &["ada@example.org", "--name", "Ada"], "owner");
    let ada = Session::log_in(&server, "ada@example.org");
    let form = |csrf: bool| {
        let mut pairs = vec![("name", "planted"), ("email", "x@example.org")];
        if csrf {
            pairs.push(("csrf", ada.csrf.as_str()));
        }
        Some(("application/x-www-form-urlencoded", form_body(&pairs)))
    };
    let signed_out = ["/setup", "/login", "/join", "/reset", "/reset/password"];
    let pages = readout_server::routes::declared_paths::<readout_storage_sqlite::SqliteStore>()
        .into_iter()
        .filter(|p| {
            !p.starts_with("/api/") && !p.starts_with("/agent/") && !p.starts_with("/static/")
        });
    let mut forms = 0;
    for route in pages {
        let path = [
            "{id}", "{uid}", "{tid}", "{iid}", "{wid}", "{cid}", "{rid}", "{name}",
        ]
        .iter()
        .fold(route.clone(), |p, param| p.replace(param, "1"));
        let (status, answer) = ada.call_from("https://evil.example", "POST", &path, form(true));
        if status == 405 {
            continue;
        }
        forms += 1;
        assert_eq!(status, 403, "POST {path} from another site: {answer}");
        if !signed_out.contains(&route.as_str()) {
            let (status, answer) = ada.call("POST", &path, form(false));
            assert_eq!(status, 403, "POST {path} without the CSRF token: {answer}");
        }
    }
    assert!(forms >= 25, "{forms} forms walked");
    let (status, page) = ada.call("GET", "/servers", None);
    assert_eq!(status, 200, "still signed in");
    assert!(!page.contains("planted"), "no server was added");
}
