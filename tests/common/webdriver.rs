//! A small W3C WebDriver client over `autoglm::client::Client`, enough to
//! drive one headless Chromium, and what the browser tests share around it:
//! finding the binaries (skip unless CI), screenshots. Included by each
//! browser test with `#[path = "common/webdriver.rs"] mod webdriver;`.
#![allow(dead_code)]

use autoglm::client::{Client, Reply};
use hyper::Method;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The browser binaries, or `None` (after saying why) when `test` should
/// skip. Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`./dev test`
/// installs Debian's `chromium` and `chromium-driver`; `AUTOGLM_CHROMIUM` and
/// `AUTOGLM_CHROMEDRIVER` point elsewhere); under `CI=true` missing ones fail.
pub fn browser_binaries(test: &str) -> Option<(PathBuf, PathBuf)> {
    let path = |var: &str, default: &str| PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_string()));
    let chromium = path("AUTOGLM_CHROMIUM", "/usr/bin/chromium");
    let driver = path("AUTOGLM_CHROMEDRIVER", "/usr/bin/chromedriver");
    let missing: Vec<String> =
        [&chromium, &driver].iter().filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
    if missing.is_empty() {
        return Some((chromium, driver));
    }
    let why = format!(
        "{test} browser test needs {} (apt-get install chromium chromium-driver; ./dev test installs them)",
        missing.join(" and ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true: {why}");
    }
    eprintln!("\n*** SKIPPED: {why} ***\n");
    None
}

/// Where screenshots go: `target/screenshots/NAME`.
pub fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("screenshots").join(name)
}

/// Takes a screenshot, writes it to `target/screenshots/NAME` and checks it
/// is a real, non-trivial PNG.
pub async fn save_screenshot(browser: &Browser, name: &str) -> PathBuf {
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is not a PNG");
    assert!(png.len() > 10 * 1024, "the screenshot is only {} bytes: a blank page?", png.len());
    let path = screenshot_path(name);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    }
    std::fs::write(&path, &png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    eprintln!("screenshot: {} ({} bytes)", path.display(), png.len());
    path
}

/// The key W3C WebDriver names an element reference by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session; both end when this
/// drops, whether the test passed or panicked.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    client: Client,
    session: String,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless session
    /// with a `width` × `height` window.
    pub async fn launch(chromium: &Path, chromedriver: &Path, width: u32, height: u32) -> Browser {
        let addr = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={}", addr.port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver.display()));
        let client = Client::new(&format!("http://{addr}"), None);
        // The guard owns chromedriver from here, so a panic below kills it.
        let mut browser = Browser { driver, addr, client, session: String::new() };
        browser.wait_ready().await;
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", &format!("--window-size={width},{height}"),
                         "--disable-dev-shm-usage", "--lang=zh-CN", "--no-first-run",
                         // No entrance animations: screenshots show the settled page.
                         "--force-prefers-reduced-motion"],
            },
        } } });
        let value = browser.call(Method::POST, "/session", Some(&caps)).await;
        browser.session = value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver gave no session id: {value}"))
            .to_string();
        browser
    }

    /// Waits (bounded) until chromedriver answers `/status` as ready.
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited at start: {status}");
            }
            if let Ok(r) = self.client.get("/status").await {
                if r.json().is_ok_and(|v| v["value"]["ready"] == true) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not become ready on {} within 20 s", self.addr);
    }

    /// Sends a WebDriver command; returns its `value`, panics on an error.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let reply = self.send(method.clone(), path, body).await;
        let json = reply.json().unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e:#}"));
        if reply.status.is_success() {
            return json["value"].clone();
        }
        panic!("WebDriver {method} {path} failed ({}): {}", reply.status, json["value"]);
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let body = body.cloned().or_else(|| (method == Method::POST).then(|| json!({})));
        self.client
            .send(method.clone(), path, body.as_ref(), &[])
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e:#}"))
    }

    fn at(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.call(Method::POST, &self.at("/url"), Some(&json!({ "url": url }))).await;
    }

    /// Runs `script` (a function body) in the page; returns what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.call(Method::POST, &self.at("/execute/sync"), Some(&json!({ "script": script, "args": [] }))).await
    }

    /// Polls `script` until it returns something truthy, at most `limit`;
    /// on timeout panics with what the page shows.
    pub async fn wait_for(&self, what: &str, limit: Duration, script: &str) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let value = self.run(script).await;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false)) && value != json!(0) && value != json!("");
            if truthy {
                return value;
            }
            if Instant::now() >= deadline {
                let text = self.run("return document.body ? document.body.innerText : ''").await;
                panic!(
                    "timed out after {limit:?} waiting for {what}; the page shows:\n{}",
                    text.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element matching `css`; panics when there is none.
    async fn find(&self, css: &str) -> String {
        let v = self
            .call(Method::POST, &self.at("/element"), Some(&json!({ "using": "css selector", "value": css })))
            .await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element id for {css}: {v}")).to_string()
    }

    /// Clicks the element matching `css`, as a user would.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(Method::POST, &self.at(&format!("/element/{id}/click")), None).await;
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(Method::POST, &self.at(&format!("/element/{id}/value")), Some(&json!({ "text": text }))).await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let v = self.call(Method::GET, &self.at("/screenshot"), None).await;
        let b64 = v.as_str().unwrap_or_else(|| panic!("screenshot is not a string"));
        decode_base64(b64).unwrap_or_else(|| panic!("screenshot is not valid base64"))
    }

    /// Ends the session (the browser quits); chromedriver stops on drop.
    pub async fn close(mut self) {
        let path = self.at("");
        let _ = self.send(Method::DELETE, &path, None).await;
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // No runtime to await on in drop: a plain blocking request.
            delete_session(self.addr, &self.session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE /session/{id}` over a blocking socket, bounded by timeouts.
fn delete_session(addr: SocketAddr, session: &str) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else { return };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let req =
        format!("DELETE /session/{session} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if stream.write_all(req.as_bytes()).is_ok() {
        let mut sink = Vec::new();
        let _ = stream.take(64 * 1024).read_to_end(&mut sink);
    }
}

/// A loopback address with a port that was free a moment ago.
fn free_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], crate::common::free_port()))
}

/// Standard base64 (with padding) to bytes; `None` on anything else.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let sextet = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let pad = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for &b in &chunk[..4 - pad] {
            n = (n << 6) | sextet(b)?;
        }
        n <<= 6 * pad as u32;
        let group = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&group[..3 - pad]);
    }
    Some(out)
}

#[test]
fn base64_round_trips_known_values() {
    assert_eq!(decode_base64("").as_deref(), Some(&b""[..]));
    assert_eq!(decode_base64("Zg==").as_deref(), Some(&b"f"[..]));
    assert_eq!(decode_base64("Zm8=").as_deref(), Some(&b"fo"[..]));
    assert_eq!(decode_base64("Zm9vYmFy").as_deref(), Some(&b"foobar"[..]));
    assert_eq!(decode_base64("iVBORw0KGgo=").as_deref(), Some(&b"\x89PNG\r\n\x1a\n"[..]));
    assert_eq!(decode_base64("Zm9v!mFy"), None);
    assert_eq!(decode_base64("Zm9"), None);
}
