//! The dashboard in a real headless Chromium: first run, login, logout,
//! the servers list with a real agent reporting.

mod support;

use std::path::Path;
use std::process::Command;

use support::browser::Browser;
use support::receivers::Receiver;
use support::{Agent, Server};

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

#[tokio::test]
async fn accounts_from_the_command_line_can_log_in() {
    let server = Server::start();
    let out = server.user_add(&["owner@example.org", "--name", "Owner"], PASSWORD);
    let said = support::succeeded(&out, "readout user add");
    assert!(said.contains("Owner owner@example.org added"), "{said}");
    let out = server.user_add(&["owner@example.org", "--name", "Again"], PASSWORD);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("an account for owner@example.org exists already"),
        "{err}"
    );
    let out = server.user_add(&["viewer@example.org", "--name", "V"], "short");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 10 characters"), "{err}");
    let out = server.user_add(
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
    let out = server.user_add(&["owner@example.org", "--name", "Owner"], PASSWORD);
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
    let out = server.user_add(&["viewer@example.org", "--name", "Vera"], PASSWORD);
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

/// Points drawn in each chart panel, by title, once every chart has loaded.
async fn chart_points(browser: &Browser) -> Vec<(String, u64)> {
    let panels = browser
        .until(
            "every chart loaded",
            "const p = [...document.querySelectorAll('[data-chart]')];
             return p.length > 0 && p.every(e => e.dataset.points !== undefined && !e.dataset.loading)
               ? p.map(e => [e.querySelector('h2').textContent, Number(e.dataset.points)]) : null;",
        )
        .await;
    serde_json::from_value(panels).expect("titles and counts")
}

#[tokio::test]
async fn a_servers_dashboard_charts_its_machine_and_shows_raw_output_as_text() {
    let server = Server::start();
    let out = server.user_add(&["owner@example.org", "--name", "Owner"], PASSWORD);
    support::succeeded(&out, "readout user add");
    let (id, key) = server.add_host("web1");
    // Real commands of this machine, and one whose output is hostile markup.
    let agent = Agent::new(&server.url(), &id, &key, "", "");
    let page = agent.path("page.html");
    let hostile = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='img'\"> level 42";
    std::fs::write(&page, format!("{hostile}\n")).expect("write page");
    std::fs::write(
        agent.path("available_commands.sh"),
        format!(
            "readout_loadavg=\"cat /proc/loadavg\"\nreadout_free=\"free\"\nreadout_df=\"df -P\"\nreadout_page=\"cat {}\"\n",
            page.display()
        ),
    )
    .expect("allowlist");
    agent.once();
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &serde_json::json!({"commands": ["readout_loadavg", "readout_free", "readout_df", "readout_page"]}),
    );
    // The agent runs what the previous answer named: the new list from the
    // second cycle on.
    for _ in 0..3 {
        agent.once();
    }

    let browser = Browser::start().await;
    log_in(&browser, &server, "owner@example.org").await;
    browser.click("tr[data-host] .name a").await;
    assert_eq!(browser.path().await, format!("/servers/{id}"));

    // The default layout: current figures, then a chart per preset family,
    // each with points from the cycles that arrived.
    let figures = browser.filled_text(".panel.text .figures").await;
    assert!(
        figures.starts_with("Disk ") && figures.contains(" · Memory ") && figures.contains(" %"),
        "{figures}"
    );
    let charts = chart_points(&browser).await;
    let titles: Vec<&str> = charts.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, ["Load", "Memory", "Disks used"]);
    assert!(charts.iter().all(|(_, n)| *n > 0), "{charts:?}");
    browser.screenshot("dashboard").await;

    // Ranges: a day still holds the points; a step back to the day before
    // holds none, and says so.
    browser.press("[data-range='24h']").await;
    assert_eq!(browser.query().await, "range=24h");
    assert_eq!(browser.text("[data-range='24h']").await, "24h");
    browser.until("24h pressed", "return document.querySelector(\"[data-range='24h']\").getAttribute('aria-pressed') === 'true';").await;
    assert!(chart_points(&browser).await.iter().all(|(_, n)| *n > 0));
    browser.press("[data-step='-1']").await;
    assert!(browser.query().await.starts_with("from="));
    browser.until("empty charts", "return [...document.querySelectorAll('[data-chart]')].every(e => e.dataset.points === '0' && e.querySelector('.nodata'));").await;

    // Drag across the left half of a chart: every chart zooms to it, and it
    // holds none of the cycles (seconds old); a step forward reaches them.
    browser.press("[data-range='1h']").await;
    assert!(chart_points(&browser).await.iter().all(|(_, n)| *n > 0));
    let width = browser
        .js("return document.querySelector('[data-chart] .u-over').clientWidth;")
        .await
        .as_f64()
        .expect("width");
    browser
        .drag("[data-chart] .u-over", -(width / 2.0) + 1.0, 0.0)
        .await;
    let window = |query: &str| -> (i64, i64) {
        let ms: Vec<i64> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(_, v)| v.parse().expect("ms"))
            .collect();
        (ms[0], ms[1])
    };
    let (from, to) = window(&browser.query().await);
    assert!(
        (1_700_000..1_900_000).contains(&(to - from)),
        "zoomed to half an hour: {from}..{to}"
    );
    browser.until("empty charts", "return [...document.querySelectorAll('[data-chart]')].every(e => e.dataset.points === '0' && e.querySelector('.nodata'));").await;
    browser.press("[data-step='1']").await;
    let (later_from, later_to) = window(&browser.query().await);
    assert_eq!(later_to - later_from, to - from, "a step keeps the zoom");
    assert!(
        later_from >= to - 1000,
        "the next half hour: {later_from} after {to}"
    );
    assert!(chart_points(&browser).await.iter().all(|(_, n)| *n > 0));

    // Raw output: markup from the command is shown as text; no script ran.
    browser.click(".tabs a[href$='/outputs']").await;
    let listed = browser.text("#outputs").await;
    assert!(
        listed.contains("readout_page") && listed.contains("exit 0"),
        "{listed}"
    );
    browser.click("#outputs a[href$='/readout_page']").await;
    assert_eq!(browser.text("#raw").await, hostile);
    let made = browser
        .js("return document.querySelectorAll('#raw *, main script, main img').length;")
        .await;
    assert_eq!(made, 0, "markup in command output became elements");
    assert_eq!(
        browser.js("return document.title;").await,
        "readout_page · web1 · Readout"
    );
    browser.screenshot("raw-output").await;
    // History: two runs of it; the older one opens from the newer.
    let runs = browser
        .js("return document.querySelectorAll('.history li').length;")
        .await;
    assert_eq!(runs, 2);
    browser.click("a[rel=prev]").await;
    assert!(browser.query().await.starts_with("cycle="));
    assert_eq!(browser.text("#raw").await, hostile);
    assert!(
        browser
            .client
            .find_all(fantoccini::Locator::Css("a[rel=prev]"))
            .await
            .expect("find")
            .is_empty(),
        "the oldest has no older"
    );
    browser.close().await;
}

/// The boxes on the grid as (title, x, y, w, h), in reading order.
async fn boxes(browser: &Browser) -> Vec<(String, u64, u64, u64, u64)> {
    let found = browser
        .until(
            "the grid drawn",
            "const items = [...document.querySelectorAll('.grid-stack-item')].filter(i => i.gridstackNode);
             return items.length ? items.map(i => { const n = i.gridstackNode; return [i.querySelector('h2').textContent, n.x, n.y, n.w, n.h]; })
               .sort((a, b) => a[2] - b[2] || a[1] - b[1]) : null;",
        )
        .await;
    serde_json::from_value(found).expect("boxes")
}

/// Gives the box titled `title` an id, so a selector can reach it.
async fn mark(browser: &Browser, title: &str, id: &str) {
    let found = browser
        .js(&format!(
            "const i = [...document.querySelectorAll('.grid-stack-item')].find(i => i.querySelector('h2').textContent === {title:?});
             if (i) i.id = {id:?}; return !!i;"
        ))
        .await;
    assert_eq!(found, true, "no box titled {title}");
}

#[tokio::test]
async fn a_layout_edited_in_the_browser_holds_after_a_reload_on_each_screen() {
    let server = Server::start();
    let out = server.user_add(&["owner@example.org", "--name", "Owner"], PASSWORD);
    support::succeeded(&out, "readout user add");
    let (id, key) = server.add_host("web1");
    let agent = Agent::new(
        &server.url(),
        &id,
        &key,
        "readout_loadavg=\"cat /proc/loadavg\"\nreadout_free=\"free\"\nreadout_df=\"df -P\"\n",
        "",
    );
    agent.once();
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &serde_json::json!({"commands": ["readout_loadavg", "readout_free", "readout_df"]}),
    );
    agent.once();
    agent.once();

    let browser = Browser::start().await;
    // Tall enough that every drag starts and ends on screen.
    let desktop = (1280, 1400);
    browser
        .client
        .set_window_size(desktop.0, desktop.1)
        .await
        .expect("size");
    log_in(&browser, &server, "owner@example.org").await;
    let page = format!("{}/servers/{id}", server.url());
    browser.client.goto(&page).await.expect("open");
    let before = boxes(&browser).await;
    let titles: Vec<&str> = before.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(titles, ["Now", "Load", "Memory", "Disks used"]);
    assert_eq!(
        browser
            .js("return document.querySelector('[data-grid]').dataset.saved;")
            .await,
        "false"
    );

    // Edit: remove a box, move one (to the right edge), resize another.
    browser.press("[data-edit]").await;
    browser.press("[aria-label='Remove box Memory']").await;
    mark(&browser, "Load", "load-box").await;
    mark(&browser, "Disks used", "disks-box").await;
    let column = browser
        .js("return document.querySelector('[data-grid]').clientWidth / 12;")
        .await
        .as_f64()
        .expect("column width");
    browser
        .drag("#load-box .panel-head h2", column * 7.0, 0.0)
        .await;
    let moved = boxes(&browser).await;
    let load = moved.iter().find(|b| b.0 == "Load").expect("Load");
    assert_eq!(
        (load.1, load.3, load.4),
        (6, 6, 4),
        "moved right: {moved:?}"
    );
    browser
        .drag("#disks-box .ui-resizable-se", column * 2.0, 70.0)
        .await;
    let resized = boxes(&browser).await;
    let disks = resized.iter().find(|b| b.0 == "Disks used").expect("disks");
    assert!(disks.3 > 6 && disks.4 > 4, "wider and taller: {resized:?}");

    // Configure: a title, a series hidden until clicked in the legend.
    browser.press("#load-box [data-configure]").await;
    browser.fill("title", "Load average").await;
    browser
        .press("[data-series] li[data-name='load15'] [name=show]")
        .await;
    browser.press("[data-apply]").await;
    assert_eq!(browser.text("#load-box h2").await, "Load average");
    // A chart becomes text: its variables' current values.
    browser.press("#disks-box [data-configure]").await;
    browser.press("input[name=kind][value=text]").await;
    browser.press("[data-apply]").await;
    let figures = browser.filled_text("#disks-box .figures").await;
    assert!(
        figures.starts_with("fs_used_pct / ") && figures.contains(" %"),
        "{figures}"
    );
    // A new chart without variables is refused in the editor.
    browser.press("[data-add=chart]").await;
    browser.press("[data-apply]").await;
    assert_eq!(
        browser.text("[data-editor-error]").await,
        "Pick at least one variable."
    );
    browser.press("[data-editor] button[value=cancel]").await;
    // A new text box: markup in it stays text.
    browser.press("[data-add=text]").await;
    browser.fill("title", "Root disk").await;
    browser
        .fill("text", "Root {{ fs_used_pct{mount=\"/\"} }} <b>bold</b>")
        .await;
    browser.press("[data-apply]").await;
    mark(&browser, "Root disk", "root-box").await;
    let root = browser.filled_text("#root-box .figures").await;
    assert!(
        root.starts_with("Root ") && root.ends_with(" % <b>bold</b>"),
        "{root}"
    );
    assert_eq!(
        browser
            .js("return document.querySelectorAll('.grid-stack b').length;")
            .await,
        0
    );

    let edited = boxes(&browser).await;
    browser.press("[data-save]").await;
    browser
        .until(
            "saved",
            "return document.querySelector('[data-note]').textContent.startsWith('Saved');",
        )
        .await;
    let saved = server.api_get(&format!("/hosts/{id}/layouts/desktop"));
    assert_eq!(saved["saved"], true);
    let stored: Vec<(String, u64, u64, u64, u64)> = saved["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_u64().expect("number");
            (
                p["title"].as_str().expect("title").to_owned(),
                n("x"),
                n("y"),
                n("w"),
                n("h"),
            )
        })
        .collect();
    let mut sorted = stored.clone();
    sorted.sort_by_key(|b| (b.2, b.1));
    assert_eq!(sorted, edited, "the API holds what the grid showed");
    let load_panel = saved["panels"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["title"] == "Load average"))
        .expect("load panel");
    assert_eq!(load_panel["hidden"], serde_json::json!(["load15"]));

    // Reload: the same layout, load15 off in the legend.
    browser.client.refresh().await.expect("reload");
    assert_eq!(boxes(&browser).await, edited);
    mark(&browser, "Load average", "load-box").await;
    chart_points(&browser).await;
    let off = browser.text("#load-box .u-legend .u-series.u-off").await;
    assert!(off.contains("load15"), "{off}");
    browser.screenshot("dashboard-edited").await;

    // A layout that does not fit is refused with where, and nothing changes.
    let (status, answer) = server.api(
        "PUT",
        &format!("/hosts/{id}/layouts/desktop"),
        Some(&serde_json::json!({"panels": [
            {"kind": "text", "title": "a", "text": "x", "x": 0, "y": 0, "w": 6, "h": 2},
            {"kind": "text", "title": "b", "text": "y", "x": 3, "y": 1, "w": 6, "h": 2}
        ]})),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["message"], "panels[1]: overlaps panels[0]");
    assert_eq!(
        server.api_get(&format!("/hosts/{id}/layouts/desktop")),
        saved
    );

    // A phone starts from the desktop's boxes, stacked; its own edits stay
    // its own.
    browser
        .client
        .set_window_size(420, 900)
        .await
        .expect("narrow");
    browser.client.refresh().await.expect("reload");
    let phone = boxes(&browser).await;
    let phone_titles: Vec<&str> = phone.iter().map(|b| b.0.as_str()).collect();
    let desktop_titles: Vec<&str> = edited.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(phone_titles, desktop_titles);
    assert!(phone.iter().all(|b| b.1 == 0 && b.3 == 2), "{phone:?}");
    assert_eq!(
        browser
            .js("return document.querySelector('[data-grid]').dataset.device;")
            .await,
        "mobile"
    );
    browser.press("[data-edit]").await;
    browser.press("[aria-label='Remove box Now']").await;
    browser.press("[data-save]").await;
    browser
        .until(
            "saved",
            "return document.querySelector('[data-note]').textContent.startsWith('Saved');",
        )
        .await;
    browser.screenshot("dashboard-phone").await;
    let mobile = server.api_get(&format!("/hosts/{id}/layouts/mobile"));
    assert_eq!(
        mobile["panels"].as_array().map(Vec::len),
        Some(edited.len() - 1)
    );
    assert_eq!(
        server.api_get(&format!("/hosts/{id}/layouts/desktop")),
        saved
    );

    browser
        .client
        .set_window_size(1280, 900)
        .await
        .expect("wide");
    browser.client.refresh().await.expect("reload");
    assert_eq!(
        boxes(&browser).await,
        edited,
        "the desktop layout is untouched"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_variable_made_by_clicking_a_cell_is_previewed_saved_and_alerts() {
    // Notices go to a real HTTP receiver on loopback, which the operator allows.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("readout.toml");
    std::fs::write(
        &config,
        "[alerts]\nsweep_every_secs = 1\nallow_networks = [\"127.0.0.1/32\"]\n",
    )
    .expect("config");
    let config = config.display().to_string();
    let server = Server::start_in(dir, &["--config", config.as_str()]);
    let receiver = Receiver::start();
    let out = server.user_add(&["owner@example.org", "--name", "Owner"], PASSWORD);
    support::succeeded(&out, "readout user add");
    let (id, key) = server.add_host("web1");
    let agent = Agent::new(&server.url(), &id, &key, "", "");
    let queue = agent.path("queue.txt");
    let hostile = "<script>document.title='pwned'</script> 1 2";
    let table = format!("name    depth   age\nalpha   10      3\nbeta    150     7\n{hostile}\n");
    std::fs::write(&queue, &table).expect("queue file");
    std::fs::write(
        agent.path("available_commands.sh"),
        format!(
            "readout_queue=\"cat {}\"\nreadout_free=\"free\"\n  readout_indented=\"uptime\"\nreadout_nope = \"df\"\n",
            queue.display()
        ),
    )
    .expect("allowlist");
    agent.once();
    server.api_put(
        &format!("/hosts/{id}/commands"),
        &serde_json::json!({"commands": ["readout_queue", "readout_free"]}),
    );
    agent.once();
    agent.once();

    let browser = Browser::start().await;
    browser
        .client
        .set_window_size(1280, 1400)
        .await
        .expect("size");
    log_in(&browser, &server, "owner@example.org").await;
    add_channel_and_route(&browser, &server, &receiver).await;
    browser
        .client
        .goto(&format!("{}/servers/{id}", server.url()))
        .await
        .expect("open");
    browser.click(".tabs a[href$='/sources']").await;

    // Invalid allowlist lines, with where and why.
    let invalid = browser.text("#invalid").await;
    assert!(
        invalid.contains("line 3") && invalid.contains("white space"),
        "{invalid}"
    );
    assert!(
        invalid.contains("line 4") && invalid.contains("readout_nope"),
        "{invalid}"
    );
    let listed = browser.text("#sources").await;
    assert!(
        listed.contains("readout_queue") && listed.contains("preset free"),
        "{listed}"
    );
    browser.screenshot("data-sources").await;

    // The editor: the raw output and the same output as a table, as text.
    browser.click("#sources a[href$='/readout_queue']").await;
    assert_eq!(browser.text("#raw").await, table.trim_end());
    browser
        .until(
            "the table",
            "const c = document.querySelector(\"td[data-cell='B3']\"); return c && c.textContent === '150';",
        )
        .await;
    assert_eq!(
        browser.text("td[data-cell='A4']").await,
        "<script>document.title='pwned'</script>"
    );
    assert_eq!(
        browser
            .js("return document.querySelectorAll('main script, .cells img').length;")
            .await,
        0
    );
    assert!(
        !browser
            .js("return document.title;")
            .await
            .as_str()
            .unwrap_or_default()
            .contains("pwned")
    );

    // A click on a cell picks it by row and header; the preview reads it.
    browser.press("td[data-cell='B3']").await;
    browser
        .until(
            "the preview",
            "return document.querySelector('[data-preview]').textContent === 'beta_depth = 150';",
        )
        .await;
    let field = |name: &str| {
        format!("return document.querySelector('[data-variable]').elements.{name}.value;")
    };
    assert_eq!(browser.js(&field("from")).await, "table");
    assert_eq!(browser.js(&field("row_label")).await, "beta");
    assert_eq!(browser.js(&field("header")).await, "depth");
    // A wrong header says so in the preview.
    browser.fill("header", "size").await;
    browser
        .until(
            "a clear preview error",
            "return document.querySelector('[data-preview]').textContent.includes('no header \"size\"');",
        )
        .await;
    browser.fill("header", "depth").await;
    browser
        .until(
            "the preview again",
            "return document.querySelector('[data-preview]').textContent === 'beta_depth = 150';",
        )
        .await;
    // Ranges, then save: the parser, the rule and the back-filled history.
    for kind in ["warning_kind", "error_kind"] {
        browser
            .client
            .find(fantoccini::Locator::Css(&format!("[name={kind}]")))
            .await
            .expect(kind)
            .select_by_value("above")
            .await
            .expect("select");
    }
    browser.fill("warning_a", "100").await;
    browser.fill("error_a", "1000").await;
    browser.screenshot("variable-editor").await;
    browser.click("[data-variable] button[type=submit]").await;
    assert_eq!(browser.text("[data-saved]").await, "Saved beta_depth.");
    assert_eq!(
        browser.text("tr[data-variable='beta_depth'] .value").await,
        "150",
        "back-filled from the stored outputs"
    );
    let rules = server.api_get(&format!("/hosts/{id}/alerts"));
    let rule = rules["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["variable"] == "beta_depth"))
        .unwrap_or_else(|| panic!("a rule for beta_depth: {rules}"));
    assert_eq!(rule["rule"]["warning"], serde_json::json!({"above": 100.0}));
    assert_eq!(rule["rule"]["error"], serde_json::json!({"above": 1000.0}));

    // The next cycle holds 150: an incident opens and the servers list says so.
    agent.once();
    browser
        .client
        .goto(&format!("{}/servers", server.url()))
        .await
        .expect("open");
    assert_eq!(browser.text("tr[data-host] .status").await, "alerting");
    assert_eq!(
        browser.text("tr[data-host] .problems").await,
        "beta_depth WARNING"
    );

    // The alerts page: the incident, its notice delivered, acknowledged here.
    let told = support::wait_for(std::time::Duration::from_secs(15), || {
        let calls = receiver.calls_to("/ops");
        (!calls.is_empty()).then_some(calls)
    })
    .expect("the warning reaches the receiver");
    assert!(told[0].body.contains("beta_depth"), "{}", told[0].body);
    browser.click(".top nav a[href='/alerts']").await;
    let open = browser.text("#open tbody tr").await;
    assert!(
        open.contains("web1")
            && open.contains("beta_depth")
            && open.contains("WARNING")
            && open.contains("150"),
        "{open}"
    );
    browser
        .until(
            "the delivery logged",
            "return document.querySelector('#delivery .delivered') ? true : (location.reload(), false);",
        )
        .await;
    browser.click("#open button[type=submit]").await;
    let acknowledged = browser.text("#open tbody tr").await;
    assert!(acknowledged.contains("Owner, "), "{acknowledged}");
    // Its page tells its history.
    browser.click("#open a[href^='/alerts/incidents/']").await;
    let history = browser.text("#events tbody").await;
    assert!(history.contains("OK WARNING 150"), "{history}");
    assert!(
        browser
            .text(".facts")
            .await
            .contains("acknowledged by Owner")
    );
    browser.click("a[href='/alerts']").await;
    // Send test: queued, then delivered to the receiver.
    browser
        .click("#channel-list tr:first-child form[action$='/test'] button")
        .await;
    assert!(browser.text(".saved").await.contains("ops hook"));
    let calls = support::wait_for(std::time::Duration::from_secs(15), || {
        let calls = receiver.calls_to("/ops");
        (calls.len() >= 2).then_some(calls)
    })
    .expect("the test notice arrives");
    assert_eq!(calls.len(), 2, "the warning, then the test");
    // The ntfy preset posts to its topic, titled; no route sends to it yet.
    assert!(receiver.calls_to("/ntfy").is_empty());
    browser
        .click("#channel-list tr:nth-child(2) form[action$='/test'] button")
        .await;
    let ntfy = support::wait_for(std::time::Duration::from_secs(15), || {
        receiver.calls_to("/ntfy/readout-alerts").pop()
    })
    .expect("the ntfy test arrives");
    assert!(ntfy.body.contains("example_used_pct"), "{}", ntfy.body);
    // A channel a route sends to stays until the route goes.
    browser
        .click("#channel-list tr:first-child form[action$='/delete'] button")
        .await;
    let refused = browser.text("#channels .error").await;
    assert!(
        refused.contains("route \"everything\" sends to this channel"),
        "{refused}"
    );
    browser.screenshot("alerts").await;
    browser.close().await;
    // The receiver's own runtime cannot be dropped on this one's thread.
    std::thread::spawn(move || drop(receiver))
        .join()
        .expect("receiver stops");
}

/// On the alerts page: a webhook channel to the receiver (after a refused
/// try that keeps what was typed), an ntfy channel from its preset, and a
/// route of every incident to the webhook.
async fn add_channel_and_route(browser: &Browser, server: &Server, receiver: &Receiver) {
    browser
        .client
        .goto(&format!("{}/alerts", server.url()))
        .await
        .expect("open");
    assert_eq!(browser.text("#channels .empty").await, "No channel yet.");
    let form = "#channel-form";
    browser.tick("#channels summary").await;
    browser.fill_in(form, "name", "ops hook").await;
    browser.select(form, "kind", "webhook").await;
    // Only the picked kind's fields show.
    let shown = "return [...document.querySelectorAll('[data-channel-kind]')].filter(f => !f.hidden).map(f => f.dataset.channelKind);";
    assert_eq!(browser.js(shown).await, serde_json::json!(["webhook"]));
    browser.fill_in(form, "url", "ftp://example.org/x").await;
    browser.click(&format!("{form} button[type=submit]")).await;
    let refused = browser.text("#channels .error").await;
    assert!(
        refused.contains("Channel not added: the url renders to \"ftp://example.org/x\": it must start with https:// or http://"),
        "{refused}"
    );
    assert_eq!(
        browser
            .js("return document.querySelector('#channel-form [name=name]').value;")
            .await,
        "ops hook"
    );
    browser
        .fill_in(form, "url", &format!("{}/ops", receiver.url))
        .await;
    browser.click(&format!("{form} button[type=submit]")).await;
    browser.tick("#channels summary").await;
    browser.fill_in(form, "name", "phones").await;
    browser.select(form, "kind", "ntfy").await;
    assert_eq!(browser.js(shown).await, serde_json::json!(["ntfy"]));
    browser.fill_in(form, "ntfy.topic", "readout-alerts").await;
    browser
        .fill_in(form, "ntfy.url", &format!("{}/ntfy", receiver.url))
        .await;
    browser.click(&format!("{form} button[type=submit]")).await;
    let channels = browser.text("#channel-list tbody").await;
    for shown in ["ops hook", "webhook to 127.0.0.1", "phones", "ntfy"] {
        assert!(channels.contains(shown), "{shown} in {channels}");
    }
    // A route of everything to the webhook, told again every hour.
    let form = "#route-form";
    browser.tick("#routes summary").await;
    browser.fill_in(form, "name", "everything").await;
    browser.tick("#route-form input[name=channels]").await;
    browser.fill_in(form, "repeat_minutes", "60").await;
    browser.click(&format!("{form} button[type=submit]")).await;
    let routes = browser.text("#route-list tbody").await;
    for shown in [
        "everything",
        "ops hook",
        "every server",
        "every problem",
        "every 1 h",
    ] {
        assert!(routes.contains(shown), "{shown} in {routes}");
    }
    browser.tick("#routes summary").await;
    browser
        .js("document.querySelector('#channels').scrollIntoView();")
        .await;
    browser.screenshot("alerts-channels").await;
}

#[tokio::test]
async fn the_servers_list_filters_by_status_and_text_and_draws_load_sparklines() {
    let server = Server::start();
    let out = server.user_add(&["owner@example.org", "--name", "Owner"], PASSWORD);
    support::succeeded(&out, "readout user add");
    let allowlist = "readout_loadavg=\"cat /proc/loadavg\"\n";
    let mut agents = Vec::new();
    for name in ["alpha", "beta", "gamma"] {
        let (id, key) = server.add_host(name);
        agents.push((
            id.clone(),
            Agent::new(&server.url(), &id, &key, allowlist, ""),
        ));
    }
    // alpha and beta report load; beta's rule holds any load as a warning;
    // gamma never reports.
    let (beta, _) = &agents[1];
    let (status, answer) = server.api(
        "PUT",
        &format!("/hosts/{beta}/alerts/load1"),
        Some(&serde_json::json!({"warning": {"above": -1}})),
    );
    assert_eq!(status, 200, "{answer}");
    for (id, agent) in &agents[..2] {
        agent.once();
        server.api_put(
            &format!("/hosts/{id}/commands"),
            &serde_json::json!({"commands": ["readout_loadavg"]}),
        );
        agent.once();
        agent.once();
    }

    let browser = Browser::start().await;
    log_in(&browser, &server, "owner@example.org").await;
    let visible = || async {
        let names = browser
            .js("return [...document.querySelectorAll('#servers tbody tr')].filter(r => !r.hidden).map(r => r.querySelector('.name').textContent);")
            .await;
        serde_json::from_value::<Vec<String>>(names).expect("names")
    };
    assert_eq!(visible().await, ["alpha", "beta", "gamma"]);
    let statuses = browser.text(".filters").await;
    assert!(
        statuses.contains("alerting 1")
            && statuses.contains("online 1")
            && statuses.contains("waiting 1"),
        "{statuses}"
    );
    browser.press("[data-status=alerting]").await;
    assert_eq!(visible().await, ["beta"]);
    assert_eq!(browser.query().await, "status=alerting");
    browser.press("button[data-status='']").await;
    browser.fill("q", "GAM").await;
    assert_eq!(visible().await, ["gamma"]);
    browser.fill("q", "nothing like it").await;
    assert_eq!(browser.text("[data-none]").await, "No server matches.");
    // A reload keeps the filter.
    browser.fill("q", "alp").await;
    browser.client.refresh().await.expect("reload");
    assert_eq!(visible().await, ["alpha"]);
    browser
        .client
        .goto(&format!("{}/servers", server.url()))
        .await
        .expect("open");
    assert_eq!(visible().await, ["alpha", "beta", "gamma"]);

    // Sparklines: a day of load for those that report, a dash for gamma.
    let points = browser
        .until(
            "sparklines",
            "const c = [...document.querySelectorAll('[data-spark]')]; return c.every(e => e.dataset.points !== undefined) ? c.map(e => [Number(e.dataset.points), !!e.querySelector('svg polyline')]) : null;",
        )
        .await;
    let points: Vec<(u64, bool)> = serde_json::from_value(points).expect("points");
    assert!(points[0].0 >= 1 && points[0].1, "{points:?}");
    assert!(points[1].0 >= 1 && points[1].1, "{points:?}");
    assert_eq!(points[2], (0, false));
    browser.screenshot("servers").await;
    browser.close().await;
}

/// The README's path: `readout demo`, open the address, make the owner
/// account, and this machine's dashboard charts it.
#[tokio::test]
async fn a_newcomer_goes_from_readout_demo_to_this_machines_charts() {
    let started = std::time::Instant::now();
    let demo = support::Demo::start();
    let browser = Browser::start().await;
    browser.client.goto(&demo.url).await.expect("open");
    assert_eq!(browser.path().await, "/setup");
    browser.fill("name", "Newcomer").await;
    browser.fill("email", "new@example.org").await;
    browser.fill("password", PASSWORD).await;
    browser.fill("workspace", "Home").await;
    browser.click("main button[type=submit]").await;
    assert_eq!(browser.path().await, "/servers");
    // The demo's agent reports this machine; the list says so once it has.
    browser
        .until(
            "this machine online",
            "const s = document.querySelector('tr[data-host] .status'); return s && s.textContent === 'online' ? true : (location.reload(), false);",
        )
        .await;
    browser.click("tr[data-host] .name a").await;
    let charts = chart_points(&browser).await;
    let titles: Vec<&str> = charts.iter().map(|(t, _)| t.as_str()).collect();
    assert!(
        titles.contains(&"Memory") && titles.contains(&"Disks used"),
        "{titles:?}"
    );
    assert!(charts.iter().all(|(_, n)| *n > 0), "{charts:?}");
    // Not a timed test: the figure is for the README's claim, printed.
    eprintln!("from `readout demo` to charts: {:?}", started.elapsed());
    browser.close().await;
    assert!(demo.stop(), "the demo ends cleanly");
}
