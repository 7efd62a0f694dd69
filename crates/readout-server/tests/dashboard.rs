//! The dashboard in a real headless Chromium: first run, login, logout,
//! the servers list with a real agent reporting.

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};

use support::browser::Browser;
use support::{Agent, Server, server_binary};

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn first_run_login_and_a_server_that_reports() {
    let server = Server::start();
    let browser = Browser::start().await;
    let web = &browser.client;

    // First run: the owner account, created on the page, signs in.
    web.goto(&server.url()).await.expect("open");
    assert_eq!(browser.path().await, "/setup");
    assert_eq!(browser.text("h1").await, "Welcome to Readout");
    // Markup in what people type stays text.
    browser
        .fill("name", "Ada <b>Lovelace</b><img src=x onerror=alert(1)>")
        .await;
    browser.fill("email", "Ada@Example.org").await;
    browser.fill("password", PASSWORD).await;
    browser.fill("workspace", "Analytical engines").await;
    browser.click("button[type=submit]").await;
    assert_eq!(browser.path().await, "/servers");
    assert!(browser.text("p.empty").await.contains("No servers yet"));
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

    // A host whose real agent reports shows online, with its agent version.
    let (id, key) = server.add_host("web1");
    Agent::new(&server.url(), &id, &key, "", "").once();
    web.refresh().await.expect("reload");
    let row = browser.text("tr[data-host] .name").await;
    assert_eq!(row, "web1");
    assert_eq!(browser.text("tr[data-host] .status").await, "online");
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
    browser.click("button[type=submit]").await;
    assert_eq!(browser.text(".error").await, "Wrong email or password.");
    browser.fill("password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    assert_eq!(browser.path().await, "/servers");
    browser.close().await;
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Owner owner@example.org added"));
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let browser = Browser::start().await;
    browser.client.goto(&server.url()).await.expect("open");
    assert_eq!(
        browser.path().await,
        "/login",
        "the owner exists: no first-run page"
    );
    browser.fill("email", "viewer@example.org").await;
    browser.fill("password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    assert_eq!(browser.path().await, "/servers");
    assert!(
        browser
            .text(".who span")
            .await
            .contains("Vera · My servers")
    );
    browser.close().await;
}
