//! The dashboard in a real headless Chromium: first run, login, logout,
//! the servers list with a real agent reporting.

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use support::browser::Browser;
use support::{Agent, Server, server_binary};

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn first_run_login_and_a_server_that_reports() {
    let server = Server::start();
    // Added before any account (as `readout demo` does): first-run gives it
    // the owner's workspace.
    let (id, key) = server.add_host("web1");
    let browser = Browser::start().await;
    let web = &browser.client;

    // First run: the owner account, created on the page, signs in.
    web.goto(&server.url()).await.expect("open");
    assert_eq!(browser.path().await, "/setup");
    assert_eq!(browser.text("h1").await, "Welcome to Readout");
    browser.screenshot("first-run").await;
    // Markup in what people type stays text.
    browser
        .fill("name", "Ada <b>Lovelace</b><img src=x onerror=alert(1)>")
        .await;
    browser.fill("email", "Ada@Example.org").await;
    browser.fill("password", PASSWORD).await;
    browser.fill("workspace", "Analytical engines").await;
    browser.click("main button[type=submit]").await;
    assert_eq!(browser.path().await, "/servers");
    assert_eq!(browser.text("tr[data-host] .status").await, "waiting");
    let who = browser.text(".who span").await;
    assert!(
        who.contains("Ada <b>Lovelace</b><img src=x onerror=alert(1)> · Analytical engines"),
        "{who}"
    );
    let made = web
        .find_all(fantoccini::Locator::Css(".who img, .who b"))
        .await
        .expect("find");
    assert!(made.is_empty(), "markup typed in a name became elements");

    // First run is over: the page sends newcomers to the login.
    web.goto(&format!("{}/setup", server.url()))
        .await
        .expect("open");
    assert_eq!(browser.path().await, "/servers");

    // Its real agent reports: online, with its agent version.
    Agent::new(&server.url(), &id, &key, "", "").once();
    web.refresh().await.expect("reload");
    let row = browser.text("tr[data-host] .name").await;
    assert_eq!(row, "web1");
    assert_eq!(browser.text("tr[data-host] .status").await, "online");
    browser.screenshot("servers").await;
    let cells = browser.text("tr[data-host]").await;
    assert!(cells.contains(env!("CARGO_PKG_VERSION")), "{cells}");

    // Log out; a wrong password is refused with a message; the right one works.
    browser.click(".who button").await;
    assert_eq!(browser.path().await, "/login");
    web.goto(&format!("{}/servers", server.url()))
        .await
        .expect("open");
    assert_eq!(browser.path().await, "/login", "signed out");
    browser.fill("email", "ada@example.org").await;
    browser.fill("password", "wrong horse battery").await;
    browser.click("main button[type=submit]").await;
    assert_eq!(browser.text(".error").await, "Wrong email or password.");
    browser.fill("password", PASSWORD).await;
    browser.click("main button[type=submit]").await;
    assert_eq!(browser.path().await, "/servers");
    browser.close().await;

    // Static files go out gzipped to a client that asks, cacheable for a year.
    let response = support::http()
        .get(format!("{}/static/htmx.min.js", server.url()).as_str())
        .header("accept-encoding", "gzip")
        .call()
        .expect("GET htmx");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-encoding"), "gzip");
    assert!(header("cache-control").contains("immutable"));
}

/// `readout user add` reads the password from standard input.
fn user_add(server: &Server, args: &[&str], password: &str) -> std::process::Output {
    let data_dir = server.data_dir();
    let mut child = Command::new(server_binary())
        .args(["user", "add"])
        .args(args)
        .arg("--data-dir")
        .arg(&data_dir)
        .env("READOUT_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("readout user add");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{password}").expect("password");
    drop(stdin);
    child.wait_with_output().expect("output")
}

#[tokio::test]
async fn accounts_from_the_command_line_can_log_in() {
    let server = Server::start();
    let out = user_add(&server, &["owner@example.org", "--name", "Owner"], PASSWORD);
    let said = support::succeeded(&out, "readout user add");
    assert!(said.contains("Owner owner@example.org added"), "{said}");
    let out = user_add(&server, &["owner@example.org", "--name", "Again"], PASSWORD);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("an account for owner@example.org exists already"),
        "{err}"
    );
    let out = user_add(&server, &["viewer@example.org", "--name", "V"], "short");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 10 characters"), "{err}");
    let out = user_add(
        &server,
        &["viewer@example.org", "--name", "Vera", "--role", "viewer"],
        PASSWORD,
    );
    support::succeeded(&out, "readout user add");

    let browser = Browser::start().await;
    browser.client.goto(&server.url()).await.expect("open");
    assert_eq!(
        browser.path().await,
        "/login",
        "the owner exists: no first-run page"
    );
    browser.fill("email", "viewer@example.org").await;
    browser.fill("password", PASSWORD).await;
    browser.click("main button[type=submit]").await;
    assert_eq!(browser.path().await, "/servers");
    assert!(
        browser
            .text(".who span")
            .await
            .contains("Vera · My servers")
    );
    browser.close().await;
}

/// Logs `email` in through the login page.
async fn log_in(browser: &Browser, server: &Server, email: &str) {
    browser
        .client
        .goto(&format!("{}/login", server.url()))
        .await
        .expect("open");
    browser.fill("email", email).await;
    browser.fill("password", PASSWORD).await;
    browser.click("main button[type=submit]").await;
    assert_eq!(browser.path().await, "/servers");
}

/// Runs the install command the page shows, as a user would, but into a
/// temporary root; then one cycle of the installed agent.
fn install_and_run(server: &Server, command: &str, root: &Path) {
    let (_, args) = command.split_once("sh -s -- ").expect("an install command");
    let script = root.with_extension("install.sh");
    let mut response = support::http()
        .get(format!("{}/agent/install.sh", server.url()).as_str())
        .call()
        .expect("GET install.sh");
    std::fs::write(&script, response.body_mut().read_to_vec().expect("body")).expect("write");
    let out = Command::new("sh")
        .arg(&script)
        .arg("--root")
        .arg(root)
        .args(["--scheduler", "none"])
        .args(args.split_whitespace())
        .output()
        .expect("run install.sh");
    support::succeeded(&out, "install.sh");
    // The config names the live paths; this install lives under `root`.
    let config = root.join("etc/readout/agent.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let rooted = text
        .replace(
            "\"/etc/readout",
            &format!("\"{}/etc/readout", root.display()),
        )
        .replace(
            "\"/var/lib/readout-agent",
            &format!("\"{}/var/lib/readout-agent", root.display()),
        );
    std::fs::write(&config, rooted).expect("config");
    let out = Command::new(root.join("usr/local/bin/readout-agent"))
        .arg("--config")
        .arg(&config)
        .args(["once", "--force"])
        .env_remove("READOUT_AGENT_SERVER")
        .output()
        .expect("run the installed agent");
    support::succeeded(&out, "agent");
}

#[tokio::test]
async fn a_server_added_on_the_page_is_installed_and_its_first_cycle_noticed() {
    let server = Server::start();
    let out = user_add(&server, &["owner@example.org", "--name", "Owner"], PASSWORD);
    support::succeeded(&out, "readout user add");
    let browser = Browser::start().await;
    log_in(&browser, &server, "owner@example.org").await;

    browser.click("#add-server").await;
    assert_eq!(browser.path().await, "/servers/new");
    browser.fill("name", "db1").await;
    browser.click("main button[type=submit]").await;
    assert_eq!(browser.text("h1").await, "db1 added");
    let command = browser.text("#install").await;
    assert!(
        command.starts_with(&format!(
            "curl -fsSL {}/agent/install.sh | sh -s -- ",
            server.url()
        )),
        "{command}"
    );
    assert_eq!(
        browser.text("#first-cycle").await,
        "Waiting for the first cycle…"
    );

    let root = tempfile::tempdir().expect("tempdir");
    install_and_run(&server, &command, &root.path().join("root"));
    // The page polls: it notices the cycle without a reload.
    let noticed = browser
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(15))
        .for_element(fantoccini::Locator::Css("#first-cycle.arrived"))
        .await
        .expect("the first cycle noticed");
    let text = noticed.text().await.expect("text");
    assert!(text.starts_with("First cycle received"), "{text}");
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
    browser.screenshot("add-server").await;

    browser.click("#first-cycle a").await;
    assert_eq!(browser.text("tr[data-host] .name").await, "db1");
    assert_eq!(browser.text("tr[data-host] .status").await, "online");

    // A viewer sees the server but cannot add one.
    let out = user_add(&server, &["viewer@example.org", "--name", "Vera"], PASSWORD);
    support::succeeded(&out, "readout user add");
    browser.click(".who button").await;
    log_in(&browser, &server, "viewer@example.org").await;
    assert_eq!(browser.text("tr[data-host] .name").await, "db1");
    let buttons = browser
        .client
        .find_all(fantoccini::Locator::Css("#add-server"))
        .await
        .expect("find");
    assert!(buttons.is_empty(), "a viewer is offered to add a server");
    browser
        .client
        .goto(&format!("{}/servers/new", server.url()))
        .await
        .expect("open");
    let body = browser.text("body").await;
    assert!(
        body.contains("your role in this workspace cannot change it"),
        "{body}"
    );
    browser.close().await;
}
