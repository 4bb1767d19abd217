//! Headless Debian Chromium driven over the DevTools protocol: the browser is started
//! with `--remote-debugging-port=0` in a fresh profile directory, its port read from
//! `DevToolsActivePort`, and each page is driven through its own websocket with
//! `Runtime.evaluate`, `Emulation.setDeviceMetricsOverride` and
//! `Page.captureScreenshot`. No driver binary, no download.
//!
//! A page that breaks its Content-Security-Policy fails the test: each tab has the
//! `Log` domain on, and a console entry saying the policy refused something (an inline
//! script, style or handler, a load from elsewhere) panics at the next call.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

type Socket = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

/// Where Debian puts Chromium, or `FAULTLINE_CHROMIUM`.
pub fn chromium_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FAULTLINE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// A running headless Chromium; killed and its profile removed on drop.
pub struct Browser {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start Chromium; `None` (after saying so) when it is not installed.
    pub fn start() -> Option<Browser> {
        let Some(path) = chromium_path() else {
            eprintln!("chromium is not installed: browser test skipped (apt-get install chromium)");
            return None;
        };
        let profile = tempfile::tempdir().expect("profile dir");
        let child = Command::new(path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                "--window-size=1280,800",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        let port = wait_for_port(profile.path());
        Some(Browser {
            child,
            port,
            _profile: profile,
        })
    }

    /// A new tab, at `url`, of the given size in CSS pixels.
    pub async fn open(&self, url: &str, width: u32, height: u32, mobile: bool) -> Page {
        let client = awc::Client::default();
        let mut resp = client
            .put(format!(
                "http://127.0.0.1:{}/json/new?about:blank",
                self.port
            ))
            .send()
            .await
            .expect("DevTools answers");
        let target: Value = resp.json().await.expect("a target");
        let ws = target["webSocketDebuggerUrl"]
            .as_str()
            .expect("the target's websocket");
        let (_, socket) = awc::Client::builder()
            .max_http_version(awc::http::Version::HTTP_11)
            .finish()
            .ws(ws)
            .max_frame_size(256 << 20)
            .connect()
            .await
            .expect("DevTools websocket");
        let mut page = Page { socket, next_id: 0 };
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
        page.call("Page.enable", json!({})).await;
        page.call("Log.enable", json!({})).await;
        page.call("Page.navigate", json!({"url": url})).await;
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_port(profile: &Path) -> u16 {
    let file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Some(port) = text.lines().next().and_then(|l| l.trim().parse().ok()) {
                return port;
            }
        }
        assert!(
            Instant::now() < deadline,
            "chromium did not open its DevTools port"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One tab.
pub struct Page {
    socket: Socket,
    next_id: u64,
}

impl Page {
    /// Call a DevTools method and return its result.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let text = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket
            .send(awc::ws::Message::Text(text.into()))
            .await
            .expect("DevTools send");
        let mut partial: Vec<u8> = Vec::new();
        loop {
            let frame = actix_web::rt::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{method}: no answer"))
                .expect("DevTools socket open")
                .expect("DevTools frame");
            let bytes = match frame {
                awc::ws::Frame::Text(b) => b.to_vec(),
                awc::ws::Frame::Continuation(item) => match item {
                    actix_ws::Item::FirstText(b) | actix_ws::Item::FirstBinary(b) => {
                        partial = b.to_vec();
                        continue;
                    }
                    actix_ws::Item::Continue(b) => {
                        partial.extend_from_slice(&b);
                        continue;
                    }
                    actix_ws::Item::Last(b) => {
                        partial.extend_from_slice(&b);
                        std::mem::take(&mut partial)
                    }
                },
                _ => continue,
            };
            let v: Value = serde_json::from_slice(&bytes).expect("DevTools JSON");
            if v["method"] == "Log.entryAdded" {
                refused_by_the_policy(&v["params"]["entry"]);
            }
            if v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method}: {e}");
                }
                return v["result"].clone();
            }
        }
    }

    /// Evaluate JavaScript in the page and return its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        r["result"]["value"].clone()
    }

    /// Wait (polling every 20 ms) until `expression` is true; how long it took.
    pub async fn wait_until(&mut self, expression: &str, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.eval(expression).await == Value::Bool(true) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "the page never showed: {expression}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Save a PNG screenshot of the page.
    pub async fn screenshot(&mut self, path: &Path) {
        use base64::Engine;
        let r = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("screenshot data"))
            .expect("base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("screenshot written");
    }
}

/// Panic on a console entry that says the Content-Security-Policy refused something:
/// the pages must work within it.
fn refused_by_the_policy(entry: &Value) {
    let text = entry["text"].as_str().unwrap_or_default();
    assert!(
        !text.contains("Content Security Policy"),
        "the page broke its Content-Security-Policy: {text} ({})",
        entry["url"].as_str().unwrap_or_default()
    );
}
