//! The chat end to end: scripted multi-turn conversations, in Chinese and
//! English, through the real HTTP API of a real node, each ending in a
//! checked order state in the database; bad input; concurrent turns on one
//! session; a conversation continued on a second node over Redis sessions.

mod common;

use autoglm::client::Client;
use autoglm::config::{Config, SessionBackend};
use autoglm::node::{self, Node, StartOptions};
use autoglm_core::auth::Role;
use chrono::{Datelike, Duration, Timelike};
use common::*;
use futures::StreamExt;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

/// How a conversation must end, checked on the customer's newest order.
#[derive(Clone, Copy)]
enum End {
    /// No order at all.
    NoOrder,
    /// The newest order is in this state and passes the check (given every reply).
    State(&'static str, fn(&Value, &[Value]) -> bool),
}

/// One scripted conversation.
struct Script {
    name: &'static str,
    /// Whether the customer's profile has an address.
    profile: bool,
    /// Customer lines; `!pay` pays the order in the sandbox, `!complete` has
    /// the worker check in and finish, `!new` starts a new session, `!mp `
    /// sends the rest through the mini-program path. `{D3}`, `{D4}`: dates
    /// three and four days ahead (`12月3日` / `December 3`); `{LAST}`: the
    /// newest order's id.
    turns: &'static [&'static str],
    end: End,
}

fn any(_: &Value, _: &[Value]) -> bool {
    true
}

fn hour(o: &Value) -> Option<(i64, u32)> {
    let start = chrono::DateTime::parse_from_rfc3339(o["start"].as_str()?).ok()?;
    let today = chrono::Utc::now().with_timezone(start.offset()).date_naive();
    Some(((start.date_naive() - today).num_days(), start.hour()))
}

fn rooms(o: &Value) -> Vec<String> {
    o["rooms"].as_array().map(|a| a.iter().filter_map(|r| r.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn first_worker(replies: &[Value]) -> Option<String> {
    replies.iter().find_map(|r| r["order"]["worker"]["id"].as_str().map(str::to_string))
}

fn scripts() -> Vec<Script> {
    use End::*;
    vec![
        Script {
            name: "zh one sentence",
            profile: true,
            turns: &["明天上午10点来打扫厨房", "确认"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((1, 10)) && rooms(o) == ["kitchen"]),
        },
        Script {
            name: "zh asks the time",
            profile: true,
            turns: &["我想约个保洁", "后天下午3点", "好的"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((2, 15)) && rooms(o) == ["whole_home"]),
        },
        Script {
            name: "zh asks the hour of a day",
            profile: true,
            turns: &["明天打扫客厅", "上午10点", "确认"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((1, 10)) && rooms(o) == ["living_room"]),
        },
        Script {
            name: "zh correction of the day",
            profile: true,
            turns: &["明天上午10点打扫卫生间", "不对，改成后天", "确认"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((2, 10)) && rooms(o) == ["bathroom"]),
        },
        Script {
            name: "zh correction of the hour",
            profile: true,
            turns: &["明天上午10点来打扫厨房", "修改", "改成下午3点", "确认"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((1, 15))),
        },
        Script {
            name: "zh change of service",
            profile: true,
            turns: &["后天上午10点来打扫厨房", "换成擦玻璃", "确认"],
            end: State("awaiting_payment", |o, _| o["service"] == "window_cleaning" && hour(o) == Some((2, 10))),
        },
        Script {
            name: "zh window cleaning",
            profile: true,
            turns: &["帮我找个擦玻璃的", "{D3}上午9点", "对"],
            end: State("awaiting_payment", |o, _| o["service"] == "window_cleaning" && hour(o) == Some((3, 9))),
        },
        Script {
            name: "zh deep cleaning",
            profile: true,
            turns: &["大后天下午两点来做深度保洁", "可以"],
            end: State("awaiting_payment", |o, _| o["service"] == "deep_cleaning" && hour(o) == Some((3, 14))),
        },
        Script {
            name: "zh plumbing",
            profile: true,
            turns: &["马桶堵了，后天上午10点能来吗", "确认"],
            end: State("awaiting_payment", |o, _| o["service"] == "plumbing"),
        },
        Script {
            name: "zh repair",
            profile: true,
            turns: &["明天下午4点修水管", "确认"],
            end: State("awaiting_payment", |o, _| o["service"] == "plumbing" && hour(o) == Some((1, 16))),
        },
        Script {
            name: "zh elderly care",
            profile: true,
            turns: &["给我家老人找个护工，明天下午2点", "确认"],
            end: State("awaiting_payment", |o, _| o["service"] == "elderly_care"),
        },
        Script {
            name: "zh moving",
            profile: true,
            turns: &["后天上午10点搬家", "确认"],
            end: State("awaiting_payment", |o, _| o["service"] == "moving"),
        },
        Script {
            name: "zh duration",
            profile: true,
            turns: &["明天上午10点来打扫厨房，3个小时", "确认"],
            end: State("awaiting_payment", |o, _| o["duration_minutes"] == 180),
        },
        Script {
            name: "zh small talk keeps the booking",
            profile: true,
            turns: &["明天上午11点来打扫厨房", "你好", "确认"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((1, 11))),
        },
        Script {
            name: "zh deny", profile: true, turns: &["明天上午10点来打扫厨房", "不用了"], end: NoOrder
        },
        Script {
            name: "zh no yes no order", profile: true, turns: &["明天上午10点来打扫厨房"], end: NoOrder
        },
        Script {
            name: "zh asks the address",
            profile: false,
            turns: &["明天上午10点来打扫厨房", "徐汇区漕溪北路88号", "确认"],
            end: State("awaiting_payment", |o, _| o["address"]["text"] == "徐汇区漕溪北路88号"),
        },
        Script {
            name: "zh remembers the address",
            profile: false,
            turns: &["后天上午10点打扫卫生间", "人民广场1号", "确认", "大后天下午3点擦玻璃", "确认"],
            end: State("awaiting_payment", |o, r| {
                o["service"] == "window_cleaning"
                    && o["address"]["text"] == "人民广场1号"
                    && r.iter()
                        .filter(|x| x["missing"].as_array().is_some_and(|m| m.iter().any(|v| v == "address")))
                        .count()
                        == 1
            }),
        },
        Script {
            name: "zh traditional",
            profile: true,
            turns: &["明天上午10點來打掃廚房", "確認"],
            end: State("awaiting_payment", |o, _| rooms(o) == ["kitchen"]),
        },
        Script {
            name: "zh full-width digits",
            profile: true,
            turns: &["明天上午１０点来打扫厨房", "确认"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((1, 10))),
        },
        Script {
            name: "zh mini program",
            profile: true,
            turns: &["!mp 明天上午10点来打扫厨房", "!mp 确认"],
            end: State("awaiting_payment", |o, _| rooms(o) == ["kitchen"]),
        },
        Script {
            name: "zh cancel after booking",
            profile: true,
            turns: &["{D3}上午10点来打扫厨房", "确认", "取消订单"],
            end: State("cancelled", any),
        },
        Script {
            name: "zh pay",
            profile: true,
            turns: &["{D3}上午10点来打扫厨房", "确认", "付款", "!pay"],
            end: State("confirmed", any),
        },
        Script {
            name: "zh reschedule the day",
            profile: true,
            turns: &["{D3}上午10点来打扫厨房", "确认", "改到{D4}"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((4, 10))),
        },
        Script {
            name: "zh reschedule the hour",
            profile: true,
            turns: &["{D3}上午10点来打扫厨房", "确认", "改到下午3点"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((3, 15))),
        },
        Script {
            name: "zh reschedule asks when",
            profile: true,
            turns: &["{D3}上午10点来打扫厨房", "确认", "我想改时间", "{D4}下午2点"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((4, 14))),
        },
        Script {
            name: "zh change worker",
            profile: true,
            turns: &["{D3}上午10点来打扫厨房", "确认", "换个阿姨"],
            end: State("awaiting_payment", |o, r| {
                o["worker"]["id"].as_str().is_some_and(|w| Some(w.to_string()) != first_worker(r))
            }),
        },
        Script {
            name: "zh query",
            profile: true,
            turns: &["{D3}上午10点来打扫厨房", "确认", "查一下我的订单"],
            end: State("awaiting_payment", |_, r| {
                r.last().is_some_and(|x| x["reply"].as_str().is_some_and(|t| t.contains("待支付")))
            }),
        },
        Script {
            name: "zh pay then cancel",
            profile: true,
            turns: &["{D3}上午10点来打扫厨房", "确认", "付款", "!pay", "取消订单"],
            end: State("cancelled", any),
        },
        Script {
            name: "zh rate with stars",
            profile: true,
            turns: &["明天上午10点来打扫厨房", "确认", "付款", "!pay", "!complete", "给个五星好评"],
            end: State("completed", |o, _| o["rating"] == 5),
        },
        Script {
            name: "zh rate asks stars",
            profile: true,
            turns: &["明天下午2点来打扫厨房", "确认", "付款", "!pay", "!complete", "我要评价", "4星"],
            end: State("completed", |o, _| o["rating"] == 4),
        },
        Script {
            name: "zh which order",
            profile: true,
            turns: &["{D3}上午10点来打扫厨房", "确认", "{D4}下午3点打扫卫生间", "确认", "!new", "取消订单", "第一个"],
            end: State("cancelled", |o, _| rooms(o) == ["bathroom"]),
        },
        Script {
            name: "zh order id",
            profile: true,
            turns: &["{D3}上午10点来打扫厨房", "确认", "!new", "取消订单{LAST}"],
            end: State("cancelled", any),
        },
        Script { name: "zh nothing to cancel", profile: true, turns: &["取消订单"], end: NoOrder },
        Script {
            name: "en one sentence",
            profile: true,
            turns: &["clean my kitchen tomorrow at 10am", "yes"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((1, 10)) && rooms(o) == ["kitchen"]),
        },
        Script {
            name: "en asks the time",
            profile: true,
            turns: &["I need a deep cleaning", "the day after tomorrow at 2pm", "ok"],
            end: State("awaiting_payment", |o, _| o["service"] == "deep_cleaning" && hour(o) == Some((2, 14))),
        },
        Script {
            name: "en correction",
            profile: true,
            turns: &["book a window cleaning for tomorrow at 9am", "actually make it 3pm", "confirm"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((1, 15))),
        },
        Script {
            name: "en nanny",
            profile: true,
            turns: &["I need a nanny on {D3} at 9am", "yes"],
            end: State("awaiting_payment", |o, _| o["service"] == "nanny"),
        },
        Script { name: "en deny", profile: true, turns: &["clean my bathroom tomorrow at 10am", "no"], end: NoOrder },
        Script {
            name: "en small talk first",
            profile: true,
            turns: &["hello", "clean the living room tomorrow at 11am", "sure"],
            end: State("awaiting_payment", |o, _| rooms(o) == ["living_room"]),
        },
        Script {
            name: "en cancel",
            profile: true,
            turns: &["clean my kitchen on {D3} at 10am", "yes", "cancel my order"],
            end: State("cancelled", any),
        },
        Script {
            name: "en pay",
            profile: true,
            turns: &["clean my kitchen on {D3} at 10am", "yes", "pay", "!pay"],
            end: State("confirmed", any),
        },
        Script {
            name: "en reschedule",
            profile: true,
            turns: &["clean my kitchen on {D3} at 10am", "yes", "reschedule it to 4pm"],
            end: State("awaiting_payment", |o, _| hour(o) == Some((3, 16))),
        },
        Script { name: "en nothing to query", profile: true, turns: &["where is my cleaner"], end: NoOrder },
    ]
}

/// Runs one script; the replies, or why it went wrong.
async fn run(node: &Node, n: usize, script: &Script) -> Result<Vec<Value>, String> {
    let customer = format!("CHAT{n}");
    let c = client(node, Role::Customer, &customer);
    if script.profile {
        set_address(&c).await;
    }
    let mut session: Option<String> = None;
    let mut replies: Vec<Value> = Vec::new();
    for raw in script.turns {
        match *raw {
            "!new" => session = None,
            "!pay" => pay(&c, &replies).await?,
            "!complete" => complete(node, &replies).await?,
            line => {
                let text = fill(line, &c).await?;
                let (path, body) = match text.strip_prefix("!mp ") {
                    Some(t) => ("/api/v1/order/place", json!({ "text": t })),
                    None => ("/v1/chat", json!({ "text": text, "session_id": session })),
                };
                let r = c.post(path, &body).await.map_err(|e| e.to_string())?;
                let v = r.json().map_err(|e| e.to_string())?;
                if r.status != StatusCode::OK {
                    return Err(format!("{text:?} -> {}: {v}", r.status));
                }
                session = v["session_id"].as_str().map(str::to_string);
                replies.push(v);
            }
        }
    }
    Ok(replies)
}

/// `{D3}`, `{D4}` and `{LAST}` filled in.
async fn fill(line: &str, c: &Client) -> Result<String, String> {
    let mut text = line.to_string();
    for days in [3, 4] {
        let d = chrono::Utc::now().with_timezone(&autoglm_core::default_offset()) + Duration::days(days);
        let zh = format!("{}月{}日", d.month(), d.day());
        let en = d.format("%B %-d").to_string();
        let tag = format!("{{D{days}}}");
        let word =
            if line.is_ascii() || line.chars().filter(|ch| ch.is_ascii_alphabetic()).count() > 3 { en } else { zh };
        text = text.replace(&tag, &word);
    }
    if text.contains("{LAST}") {
        let orders = newest(c).await?;
        let id = orders["id"].as_str().ok_or("no order for {LAST}")?.to_string();
        text = text.replace("{LAST}", &id);
    }
    Ok(text)
}

/// The customer's newest order (`Null` when none).
async fn newest(c: &Client) -> Result<Value, String> {
    let r = c.get("/v1/orders?limit=1").await.map_err(|e| e.to_string())?;
    let v = r.json().map_err(|e| e.to_string())?;
    let list = v.as_array().cloned().or_else(|| v["orders"].as_array().cloned()).unwrap_or_default();
    Ok(list.first().cloned().unwrap_or(Value::Null))
}

/// Pays the last order a reply showed, in the sandbox, and waits for `confirmed`.
async fn pay(c: &Client, replies: &[Value]) -> Result<(), String> {
    let order = replies.iter().rev().find_map(|r| r["order"].as_object().cloned()).ok_or("no order to pay")?;
    let payment = order["payment"]["id"].as_str().ok_or("the order has no payment")?;
    let r = c.post(&format!("/v1/sandbox/pay/{payment}"), &json!({})).await.map_err(|e| e.to_string())?;
    if r.status != StatusCode::OK {
        return Err(format!("sandbox pay: {}", String::from_utf8_lossy(&r.body)));
    }
    let id = order["id"].as_str().unwrap_or_default();
    wait_for(c, &format!("/v1/orders/{id}"), |o| o["state"] == "confirmed").await;
    Ok(())
}

/// The assigned worker checks in and finishes the last order a reply showed.
async fn complete(node: &Node, replies: &[Value]) -> Result<(), String> {
    let order = replies.iter().rev().find_map(|r| r["order"].as_object().cloned()).ok_or("no order to complete")?;
    let id = order["id"].as_str().unwrap_or_default();
    let worker = order["worker"]["id"].as_str().ok_or("no worker")?;
    let w = client(node, Role::Worker, worker);
    for step in ["check-in", "complete"] {
        let r = w.post(&format!("/v1/jobs/{id}/{step}"), &json!({})).await.map_err(|e| e.to_string())?;
        if r.status != StatusCode::OK {
            return Err(format!("{step}: {}", String::from_utf8_lossy(&r.body)));
        }
    }
    Ok(())
}

async fn check(node: &Node, n: usize, script: &Script) -> Result<usize, String> {
    let replies = run(node, n, script).await?;
    let c = client(node, Role::Customer, &format!("CHAT{n}"));
    let order = newest(&c).await?;
    match script.end {
        End::NoOrder if order.is_null() => {}
        End::NoOrder => return Err(format!("expected no order, got {order}")),
        End::State(state, ok) => {
            if order["state"] != state || !ok(&order, &replies) {
                let said: Vec<&str> = replies.iter().filter_map(|r| r["reply"].as_str()).collect();
                return Err(format!("expected {state}, got {order}\nreplies: {said:#?}"));
            }
        }
    }
    // Turns until the booking was placed (for the median).
    let placed = replies.iter().position(|r| r["order"]["state"] == "awaiting_payment");
    Ok(placed.map(|i| i + 1).unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_conversations_end_in_the_expected_orders() {
    let dir = data_dir("chat");
    let node = start(&dir, Some(400)).await;
    let scripts = scripts();
    assert!(scripts.len() >= 40, "the issue asks for at least 40 conversations");
    let results: Vec<(usize, Result<usize, String>)> =
        futures::stream::iter(scripts.iter().enumerate().map(|(n, s)| {
            let node = &node;
            async move { (n, check(node, n, s).await) }
        }))
        .buffer_unordered(6)
        .collect()
        .await;
    let mut failures = Vec::new();
    let mut turns_to_book: Vec<usize> = Vec::new();
    for (n, result) in &results {
        match result {
            Ok(t) if *t > 0 => turns_to_book.push(*t),
            Ok(_) => {}
            Err(e) => failures.push(format!("[{}] {e}", scripts[*n].name)),
        }
    }
    turns_to_book.sort_unstable();
    let median = turns_to_book.get(turns_to_book.len() / 2).copied().unwrap_or(0);
    eprintln!(
        "chat scripts: {}/{} ended in the expected order; median turns to a booking: {median} (over {} bookings)",
        scripts.len() - failures.len(),
        scripts.len(),
        turns_to_book.len()
    );
    assert!(failures.is_empty(), "{} conversations went wrong:\n{}", failures.len(), failures.join("\n\n"));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_chat_input_is_refused_and_changes_nothing() {
    let dir = data_dir("chat_bad");
    let node = start(&dir, Some(40)).await;
    let c = client(&node, Role::Customer, "CB1");
    let anon = Client::new(&node.url(), None);
    let r = anon.post("/v1/chat", &json!({"text": "明天上午10点来打扫厨房"})).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let worker = client(&node, Role::Worker, "W1");
    let r = worker.post("/v1/chat", &json!({"text": "你好"})).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::FORBIDDEN, "workers do not chat as customers");
    for (body, why) in [
        (json!({"text": ""}), "empty"),
        (json!({"text": "   "}), "blank"),
        (json!({"text": "你".repeat(501)}), "too long"),
        (json!({"text": "你好", "colour": "red"}), "unknown field"),
        (json!({"text": "你好", "session_id": "../../etc"}), "bad session id"),
        (json!({"text": 42}), "wrong type"),
    ] {
        let r = c.post("/v1/chat", &body).await.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}: {}", String::from_utf8_lossy(&r.body));
        assert!(r.json().unwrap_or_default()["error"]["message"].is_string(), "{why}");
    }
    let r = c.send_raw(Method::POST, "/v1/chat", b"{not json".to_vec()).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The server closes a connection whose body it refused unread: a client of its own, so the
    // pooled connection of `c` stays good for the requests below.
    let big = client(&node, Role::Customer, "CB1");
    let r = big.send_raw(Method::POST, "/v1/chat", vec![b' '; 64 * 1024]).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Another customer's session id is not theirs: "确认" there places nothing.
    set_address(&c).await;
    let r = c.post("/v1/chat", &json!({"text": "明天上午10点来打扫厨房"})).await.unwrap_or_else(|e| panic!("{e:#}"));
    let v = r.json().unwrap_or_default();
    assert_eq!(v["expect"], "confirmation", "{v}");
    let other = client(&node, Role::Customer, "CB2");
    let r = other
        .post("/v1/chat", &json!({"text": "确认", "session_id": v["session_id"]}))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json().unwrap_or_default()["order"].is_null());
    for who in [&c, &other] {
        let list = who.get("/v1/orders").await.unwrap_or_else(|e| panic!("{e:#}")).json().unwrap_or_default();
        assert_eq!(list.as_array().map(Vec::len), Some(0), "nothing was booked: {list}");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_turns_on_one_session_place_one_order() {
    let dir = data_dir("chat_race");
    let node = start(&dir, Some(40)).await;
    let c = client(&node, Role::Customer, "CR1");
    set_address(&c).await;
    let v = c.post("/v1/chat", &json!({"text": "明天上午10点来打扫厨房"})).await.unwrap_or_else(|e| panic!("{e:#}"));
    let session = v.json().unwrap_or_default()["session_id"].clone();
    let replies: Vec<StatusCode> = futures::future::join_all((0..12).map(|_| {
        let c = c.clone();
        let session = session.clone();
        async move {
            c.post("/v1/chat", &json!({"text": "确认", "session_id": session}))
                .await
                .map(|r| r.status)
                .unwrap_or_else(|e| panic!("{e:#}"))
        }
    }))
    .await;
    assert!(replies.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT), "{replies:?}");
    let list = c.get("/v1/orders").await.unwrap_or_else(|e| panic!("{e:#}")).json().unwrap_or_default();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "twelve yeses to one summary book once: {list}");
    node.stop().await;
}

/// Puts 人民广场1号 on the customer's profile (the chat then needs no address).
async fn set_address(c: &Client) {
    let prefs =
        json!({"favourites": [], "blocked": [], "address": {"text": "人民广场1号", "lat": 31.23, "lon": 121.47}});
    let r = c
        .send(Method::PUT, "/v1/customers/me/preferences", Some(&prefs), &[])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
}

/// A node on PostgreSQL with Redis sessions; `secret` shared so tokens work on both.
async fn redis_node(db_url: &str, redis_url: &str, dir: &std::path::Path, demo: Option<usize>) -> Node {
    let mut cfg = Config::default();
    cfg.server.listen = "127.0.0.1:0".into();
    cfg.server.data_dir = dir.to_path_buf();
    cfg.database.url = db_url.to_string();
    cfg.redis.url = redis_url.to_string();
    cfg.chat.sessions = SessionBackend::Redis;
    cfg.dispatch.bid_deadline_ms = 300;
    node::start(cfg, StartOptions { demo_workers: demo, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("node did not start: {e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_continues_on_a_second_node_over_redis() {
    let (Some(db_url), Some(redis_url)) =
        (autoglm_storage::testing::fresh_postgres_url().await, autoglm_storage::testing::test_redis_url().await)
    else {
        return; // reported loudly by the helpers; a failure under CI=true
    };
    // Same data dir: the two nodes share their token secret, as a cluster's nodes do.
    let dir = data_dir("chat_two_nodes");
    let a = redis_node(&db_url, &redis_url, &dir, Some(60)).await;
    let b = redis_node(&db_url, &redis_url, &dir, None).await;
    let on_a = client(&a, Role::Customer, "CT1");
    let on_b = Client::new(&b.url(), Some(a.token(Role::Customer, "CT1")));

    let r = on_a.post("/v1/chat", &json!({"text": "明天上午10点来打扫厨房"})).await.unwrap_or_else(|e| panic!("{e:#}"));
    let v = r.json().unwrap_or_default();
    assert_eq!(v["missing"], json!(["address"]), "{v}");
    let session = v["session_id"].clone();
    let r = on_b
        .post("/v1/chat", &json!({"text": "人民广场1号", "session_id": session}))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let v = r.json().unwrap_or_default();
    assert_eq!(v["expect"], "confirmation", "node B knows what node A heard: {v}");
    let r = on_a
        .post("/v1/chat", &json!({"text": "确认", "session_id": session}))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let v = r.json().unwrap_or_default();
    assert_eq!(v["order"]["state"], "awaiting_payment", "{v}");
    assert_eq!(v["order"]["rooms"], json!(["kitchen"]));
    let r = on_b
        .post("/v1/chat", &json!({"text": "取消订单", "session_id": session}))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let v = r.json().unwrap_or_default();
    assert_eq!(v["order"]["state"], "cancelled", "{v}");
    b.stop().await;
    a.stop().await;
}

/// A loopback TCP proxy to Redis that the test can cut.
async fn proxy_to(target: &str) -> (String, tokio::sync::watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (cut, cut_rx) = tokio::sync::watch::channel(false);
    let target = target.trim_start_matches("redis://").trim_end_matches('/').to_string();
    tokio::spawn(async move {
        loop {
            let mut stop = cut_rx.clone();
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.changed() => return,
            };
            let Ok((mut inbound, _)) = accepted else { return };
            let target = target.clone();
            let mut stop = cut_rx.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = stop.changed() => {}
                }
            });
        }
    });
    (format!("redis://{addr}"), cut)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_gives_503_and_books_nothing() {
    let (Some(db_url), Some(redis_url)) =
        (autoglm_storage::testing::fresh_postgres_url().await, autoglm_storage::testing::test_redis_url().await)
    else {
        return;
    };
    let (proxied, cut) = proxy_to(&redis_url).await;
    let dir = data_dir("chat_outage");
    let node = redis_node(&db_url, &proxied, &dir, Some(40)).await;
    let c = client(&node, Role::Customer, "CO1");
    set_address(&c).await;
    let v = c.post("/v1/chat", &json!({"text": "明天上午10点来打扫厨房"})).await.unwrap_or_else(|e| panic!("{e:#}"));
    let session = v.json().unwrap_or_default()["session_id"].clone();
    let _ = cut.send(true);
    let r =
        c.post("/v1/chat", &json!({"text": "确认", "session_id": session})).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json().unwrap_or_default()["error"]["code"], "unavailable");
    let list = c.get("/v1/orders").await.unwrap_or_else(|e| panic!("{e:#}")).json().unwrap_or_default();
    assert_eq!(list.as_array().map(Vec::len), Some(0), "no order without the session: {list}");
    node.stop().await;
}

/// A node whose chat asks the LLM at `url` for every turn (threshold 0.99).
async fn llm_node(dir: &std::path::Path, url: &str) -> Node {
    let mut cfg = Config::default();
    cfg.server.listen = "127.0.0.1:0".into();
    cfg.server.data_dir = dir.to_path_buf();
    cfg.dispatch.bid_deadline_ms = 300;
    cfg.chat.llm = Some(autoglm_actors::LlmConfig {
        url: url.into(),
        model: "glm-test".into(),
        api_key_env: None,
        timeout_ms: 500,
        min_confidence: 0.99,
    });
    node::start(cfg, StartOptions { demo_workers: Some(40), ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_llm_answers_unsure_turns_and_the_local_nlu_covers_its_failures() {
    use autoglm_actors::llm::fake::{completion, fake_endpoint, Reply};
    let tomorrow = start_in(1, 10);
    let answer = json!({"intent": "book_service",
                        "slots": {"service": "cleaning", "rooms": ["kitchen"], "start": tomorrow}});
    let (url, seen) = fake_endpoint(Reply::With(200, completion(&answer.to_string()))).await;
    let node = llm_node(&data_dir("chat_llm"), &url).await;
    let c = client(&node, Role::Customer, "CL1");
    set_address(&c).await;
    let r =
        c.post("/v1/chat", &json!({"text": "那个灶台油乎乎的，明早弄弄"})).await.unwrap_or_else(|e| panic!("{e:#}"));
    let v = r.json().unwrap_or_default();
    assert_eq!((v["llm"].clone(), v["intent"].clone()), (json!(true), json!("book_service")), "{v}");
    assert_eq!(v["expect"], "confirmation", "{v}");
    assert_eq!(v["slots"]["rooms"], json!(["kitchen"]));
    assert_eq!(seen.lock().map(|s| s.len()).unwrap_or(0), 1, "one call per unsure turn");
    node.stop().await;

    // An endpoint that answers nonsense, and one that never answers: the local result stands.
    for reply in [Reply::With(200, completion("{\"intent\": \"order_pizza\"}")), Reply::Hang] {
        let (url, _) = fake_endpoint(reply).await;
        let node = llm_node(&data_dir("chat_llm_bad"), &url).await;
        let c = client(&node, Role::Customer, "CL2");
        let r =
            c.post("/v1/chat", &json!({"text": "明天上午10点来打扫厨房"})).await.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.status, StatusCode::OK);
        let v = r.json().unwrap_or_default();
        assert_eq!((v["llm"].clone(), v["intent"].clone()), (json!(false), json!("book_service")), "{v}");
        assert_eq!(v["slots"]["rooms"], json!(["kitchen"]), "{v}");
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_chat_mix_runs_conversations_and_checks_invariants() {
    let node = start(&data_dir("chat_loadgen"), Some(200)).await;
    let admin = client(&node, Role::Admin, "ops");
    let opts = autoglm::loadgen::Options {
        rate: 40,
        duration: std::time::Duration::from_secs(1),
        mix: autoglm::loadgen::Mix::Chat,
        connections: 16,
        customers: 8,
        seed: 7,
    };
    let report = autoglm::loadgen::run(&admin, &[], &opts, |_| {}).await.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(report.passed, "{}", report.render());
    assert_eq!(report.conversations, report.sent, "{}", report.render());
    assert!(report.ok >= 2 * report.sent, "every conversation has two turns or more: {}", report.render());
    let booked: u64 =
        ["awaiting_payment", "cancelled", "unassignable"].iter().filter_map(|s| report.outcomes.get(*s)).sum();
    assert!(booked > 0, "{}", report.render());
    node.stop().await;
}
