//! A real headless Chromium driven through Debian's chromedriver.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

/// chromedriver and a Chromium session; both end on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (scripts/test installs chromium and chromium-driver)");
        let up = super::wait_for(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        assert!(up.is_some(), "chromedriver did not start");
        let profile = tempfile::tempdir().expect("tempdir");
        // Background networking off: this machine's network is closed.
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Types into the form field named `name`.
    pub async fn fill(&self, name: &str, text: &str) {
        self.fill_in("", name, text).await;
    }

    /// Types into the field named `name` inside the element `scope`.
    pub async fn fill_in(&self, scope: &str, name: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(&format!("{scope} [name={name:?}]")))
            .await
            .unwrap_or_else(|e| panic!("field {name} in {scope:?}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Clicks `css` and waits for the page it loads: until the old
    /// document's root goes stale.
    pub async fn click(&self, css: &str) {
        let old = self.client.find(Locator::Css("html")).await.expect("page");
        let button = self.client.find(Locator::Css(css)).await.expect(css);
        button.click().await.expect("click");
        let gone = super::wait_for_async(Duration::from_secs(10), || async {
            old.attr("lang").await.is_err().then_some(())
        })
        .await;
        assert!(gone.is_some(), "clicking {css} loaded no page");
    }

    /// Picks the option `value` of the select named `name` in `scope`.
    pub async fn select(&self, scope: &str, name: &str, value: &str) {
        self.client
            .find(Locator::Css(&format!("{scope} select[name={name:?}]")))
            .await
            .unwrap_or_else(|e| panic!("select {name} in {scope:?}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("option {value} of {name}: {e}"));
    }

    /// Clicks `css` without waiting for a page (a checkbox, a tab).
    pub async fn tick(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        element.text().await.expect("text")
    }

    /// The text of the first element matching `css` once it has some: for
    /// parts a page fills in after drawing them (a text box's figures).
    pub async fn filled_text(&self, css: &str) -> String {
        super::wait_for_async(Duration::from_secs(10), || async {
            Some(self.text(css).await).filter(|t| !t.is_empty())
        })
        .await
        .unwrap_or_default()
    }

    /// Saves a PNG of the page as `NAME.png`: into `READOUT_SCREENSHOTS_DIR`
    /// when set (`scripts/screenshots` refreshes the README's), else beside
    /// the test binaries.
    pub async fn screenshot(&self, name: &str) {
        let dir = std::env::var_os("READOUT_SCREENSHOTS_DIR").map_or_else(
            || std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"),
            std::path::PathBuf::from,
        );
        std::fs::create_dir_all(&dir).expect("screenshots dir");
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Waits until `script` returns something other than null or false.
    pub async fn until(&self, what: &str, script: &str) -> serde_json::Value {
        // Generous: a slow machine is no failure; a failure still says what.
        let value = super::wait_for_async(Duration::from_secs(40), || async {
            let value = self.js(script).await;
            (!value.is_null() && value != serde_json::Value::Bool(false)).then_some(value)
        })
        .await;
        value.unwrap_or_else(|| panic!("{what}: still not so after 40 s"))
    }

    /// Presses the mouse on the centre of `css`, moves it by (dx, dy) pixels
    /// and lets go, as a hand would.
    pub async fn drag(&self, css: &str, dx: f64, dy: f64) {
        use fantoccini::actions::{
            InputSource as _, MOUSE_BUTTON_LEFT, MouseActions, PointerAction,
        };
        let element = self.client.find(Locator::Css(css)).await.expect(css);
        // Actions do not scroll: the target must be on screen, with room.
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(&element).expect("element")],
            )
            .await
            .expect("scroll");
        let mut drag = MouseActions::new("mouse".into())
            // WebDriver offsets count from the element's centre.
            .then(PointerAction::MoveToElement {
                element,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            });
        // chromedriver sends one event per move: a hand sends many, and
        // drag-and-drop code follows each.
        const STEPS: u32 = 12;
        for _ in 0..STEPS {
            drag = drag.then(PointerAction::MoveBy {
                duration: Some(Duration::from_millis(30)),
                x: dx / f64::from(STEPS),
                y: dy / f64::from(STEPS),
            });
        }
        let drag = drag.then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
        self.client.perform_actions(drag).await.expect("drag");
        self.client.release_actions().await.expect("release");
    }

    /// Clicks `css` on this page (no page load expected).
    pub async fn press(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The query string of the page's address.
    pub async fn query(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        url.query().unwrap_or_default().to_owned()
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    pub async fn close(self) {
        let Self {
            client, mut driver, ..
        } = self;
        let _ = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
    }
}
