//! The chat page at `GET /` in a real headless Chromium, driven through
//! WebDriver (chromedriver), against a real node: the page loads, and a
//! customer books, confirms and pays by chat. A screenshot lands in
//! `target/screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`./dev test`
//! installs Debian's `chromium` and `chromium-driver`; `AUTOGLM_CHROMIUM` and
//! `AUTOGLM_CHROMEDRIVER` point elsewhere). Without them the tests skip,
//! except under `CI=true`, where they fail.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use autoglm_core::auth::Role;
use common::*;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use webdriver::{browser_binaries, save_screenshot, Browser};

/// How long one step may take before the test fails.
const STEP: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_page_loads_with_a_token_from_the_fragment() {
    let Some((chromium, driver)) = browser_binaries("chat page") else { return };
    let dir = data_dir("chat_page_load");
    let node = start(&dir, Some(4)).await;

    // The page itself, as a browser gets it.
    let page = autoglm::client::Client::new(&node.url(), None).get("/").await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(page.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&page.body).contains("id=\"chat-input\""));

    let browser = Browser::launch(&chromium, &driver, 420, 900).await;
    let token = node.token(Role::Customer, "C1");
    browser.goto(&format!("{}/#token={token}", node.url())).await;
    browser.wait_for("the chat input", STEP, "return !!document.querySelector('#chat-input')").await;
    browser.wait_for("the greeting", STEP, "return document.querySelectorAll('.msg.assistant').length > 0").await;

    // The token moved from the address bar into storage; no token form shown.
    let state = browser
        .run(
            "return { hash: location.hash, stored: localStorage.getItem('autoglm.token'), \
                      form: document.getElementById('token-panel').hidden }",
        )
        .await;
    assert_eq!(state["hash"], "", "the token must leave the address bar");
    assert_eq!(state["stored"], token.as_str());
    assert_eq!(state["form"], true, "the token form must stay hidden when a token was given");

    save_screenshot(&browser, "chat_page_empty.png").await;
    browser.close().await;
    node.stop().await;
}

/// Waits for `condition` (a script returning something truthy when it holds)
/// but fails at once when the page shows an error message.
async fn wait_step(browser: &Browser, what: &str, condition: &str) -> Value {
    let script = format!(
        "const err = document.querySelector('.msg.system.error'); \
         if (err) return {{ page_error: err.textContent }}; \
         return (() => {{ {condition} }})()"
    );
    let value = browser.wait_for(what, STEP, &script).await;
    if let Some(err) = value.get("page_error") {
        panic!("the page showed an error while waiting for {what}: {err}");
    }
    value
}

/// The whole booking by chat: one sentence, confirm, pay, confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_page_books_confirms_and_pays() {
    let Some((chromium, driver)) = browser_binaries("chat page") else { return };
    let started = Instant::now();
    let dir = data_dir("chat_page_book");
    let node = start(&dir, Some(40)).await;
    let token = node.token(Role::Customer, "C1");

    // The profile holds the address, so the chat asks only what the sentence lacks.
    let c1 = client(&node, Role::Customer, "C1");
    let prefs = json!({ "favourites": [], "blocked": [],
                        "address": { "text": "人民广场1号", "lat": 31.2304, "lon": 121.4737 } });
    let r = c1
        .send(Method::PUT, "/v1/customers/me/preferences", Some(&prefs), &[])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));

    let browser = Browser::launch(&chromium, &driver, 420, 900).await;
    browser.goto(&format!("{}/#token={token}", node.url())).await;
    browser.wait_for("the chat input", STEP, "return !!document.querySelector('#chat-input')").await;

    browser.type_into("#chat-input", "明天上午10点来打扫厨房").await;
    browser.click("#chat-send").await;
    wait_step(
        &browser,
        "the customer's message",
        "return [...document.querySelectorAll('.msg.customer')].some(m => m.textContent.includes('打扫厨房'))",
    )
    .await;
    wait_step(
        &browser,
        "the confirmation quick replies",
        "return document.querySelectorAll('.quick-reply').length >= 3",
    )
    .await;

    let confirm = browser.run("return [...document.querySelectorAll('.quick-reply')].map(b => b.textContent)").await;
    assert_eq!(confirm, json!(["确认", "修改", "取消"]), "the quick replies of a Chinese confirmation");
    browser.click(".quick-reply.primary").await;

    let card = wait_step(
        &browser,
        "an order card awaiting payment",
        "const c = document.querySelector('.order-card[data-state=\"awaiting_payment\"]'); \
             return c && c.querySelector('.btn-pay') ? c.getAttribute('data-order-id') : null",
    )
    .await;
    let id = card.as_str().unwrap_or_else(|| panic!("order id is not a string: {card}")).to_string();

    browser.click(&format!(".order-card[data-order-id=\"{id}\"] .btn-pay")).await;
    wait_step(
        &browser,
        "the order confirmed after paying",
        &format!("return !!document.querySelector('.order-card[data-order-id=\"{id}\"][data-state=\"confirmed\"]')"),
    )
    .await;
    wait_step(
        &browser,
        "the payment success message",
        "return [...document.querySelectorAll('.msg.system.success')].some(m => m.textContent.includes('支付成功'))",
    )
    .await;
    let errors =
        browser.run("return [...document.querySelectorAll('.msg.system.error')].map(m => m.textContent)").await;
    assert_eq!(errors, json!([]), "the page showed errors");

    save_screenshot(&browser, "chat_page.png").await;
    browser.close().await;

    // The API agrees.
    let order = c1.get(&format!("/v1/orders/{id}")).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(order.status, StatusCode::OK);
    let order: Value = order.json().unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(order["state"], "confirmed", "{order}");
    assert_eq!(order["service"], "cleaning");
    assert_eq!(order["rooms"], json!(["kitchen"]));
    assert_eq!(order["payment"]["state"], "paid");
    assert_eq!(order["address"]["text"], "人民广场1号");
    eprintln!("booked, confirmed and paid {id} through the page in {:.1?}", started.elapsed());
    node.stop().await;
}
