//! The LLM plugin against a fake OpenAI-compatible endpoint on a real socket.

use autoglm_actors::llm::fake::{completion, fake_endpoint, Reply};
use autoglm_actors::llm::{LlmClient, LlmConfig, LlmError};
use autoglm_core::catalog::{Room, Service};
use autoglm_nlu::{Intent, Lang, NluEntity, NluResult, Slots};
use chrono::{DateTime, FixedOffset};
use std::time::{Duration, Instant};

fn config(url: &str) -> LlmConfig {
    LlmConfig { url: url.into(), model: "glm-test".into(), api_key_env: None, timeout_ms: 1500, min_confidence: 0.6 }
}

fn client(cfg: LlmConfig) -> LlmClient {
    LlmClient::new(cfg).unwrap_or_else(|e| panic!("{e}"))
}

fn reference() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-03-05T09:00:00+08:00").unwrap_or_else(|e| panic!("{e}"))
}

/// A low-confidence local reading.
fn local() -> NluResult {
    NluResult {
        text: "后天下午让阿姨来擦窗户".into(),
        lang: Lang::Zh,
        intent: Intent::Other,
        confidence: 0.41,
        slots: Slots::default(),
        entities: vec![NluEntity { kind: "time".into(), text: "后天下午".into(), start: 0, end: 4 }],
    }
}

const ANSWER: &str = r#"{"intent": "book_service", "slots": {"service": "window_cleaning", "rooms": [], "start": "2026-03-07T14:00:00+08:00", "end": null, "date": null, "duration_minutes": null, "order_id": null, "rating": null, "address": null, "phone": null, "worker": null}}"#;

#[tokio::test]
async fn a_valid_answer_replaces_intent_and_slots() {
    let (url, seen) = fake_endpoint(Reply::With(200, completion(ANSWER))).await;
    let llm = client(config(&url));
    assert_eq!(llm.min_confidence(), 0.6);
    let out = llm.refine(&local(), reference()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.intent, Intent::BookService);
    assert_eq!(out.slots.service, Some(Service::WindowCleaning));
    assert_eq!(out.slots.start.as_deref(), Some("2026-03-07T14:00:00+08:00"));
    assert_eq!(out.confidence, 0.9);
    assert_eq!((out.text.as_str(), out.lang, &out.entities), (local().text.as_str(), Lang::Zh, &local().entities));

    let requests = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert!(req.starts_with("POST /v1/chat/completions HTTP/1.1"), "{req}");
    assert!(!req.to_ascii_lowercase().contains("authorization:"), "no key configured: {req}");
    let body = req.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(body["model"], "glm-test");
    assert_eq!(body["temperature"], 0);
    let system = body["messages"][0]["content"].as_str().unwrap_or_default();
    assert!(system.contains("2026-03-05T09:00:00+08:00") && system.contains("window_cleaning"), "{system}");
    assert!(system.contains("rate_order") && system.contains("living_room"), "{system}");
    assert!(body["messages"][1]["content"].as_str().unwrap_or_default().contains("擦窗户"));
}

#[tokio::test]
async fn a_fenced_answer_is_accepted_and_cleaning_gets_whole_home() {
    let answer = "```json\n{\"intent\": \"book_service\", \"slots\": {\"service\": \"cleaning\", \"date\": \"2026-03-07\"}}\n```";
    let (url, _) = fake_endpoint(Reply::With(200, completion(answer))).await;
    let out = client(config(&url)).refine(&local(), reference()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.slots.service, Some(Service::Cleaning));
    assert_eq!(out.slots.rooms, vec![Room::WholeHome]);
    assert_eq!(out.slots.date.as_deref(), Some("2026-03-07"));
}

#[tokio::test]
async fn the_key_from_the_environment_is_sent_as_bearer() {
    let var = format!("AUTOGLM_TEST_LLM_KEY_{}", std::process::id());
    std::env::set_var(&var, "sk-test-123");
    let (url, seen) = fake_endpoint(Reply::With(200, completion(ANSWER))).await;
    let llm = client(LlmConfig { api_key_env: Some(var.clone()), ..config(&url) });
    std::env::remove_var(&var);
    assert!(!format!("{llm:?}").contains("sk-test-123"), "Debug hides the key");
    llm.refine(&local(), reference()).await.unwrap_or_else(|e| panic!("{e}"));
    let requests = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(
        requests.iter().any(|r| r.to_ascii_lowercase().contains("authorization: bearer sk-test-123")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn unknown_labels_and_malformed_answers_are_invalid() {
    let answers = [
        r#"{"intent": "order_pizza", "slots": {}}"#.to_string(),
        r#"{"intent": "book_service", "slots": {"service": "gardening"}}"#.to_string(),
        "Sure! The customer wants cleaning.".to_string(),
        r#"{"intent": "book_service", "slots": {"start": "2026-03-07 14:00"}}"#.to_string(),
    ];
    for a in answers {
        let (url, _) = fake_endpoint(Reply::With(200, completion(&a))).await;
        match client(config(&url)).refine(&local(), reference()).await {
            Err(LlmError::Invalid(_)) => {}
            other => panic!("{a}: expected Invalid, got {other:?}"),
        }
    }
    // Not a chat completion at all.
    let (url, _) = fake_endpoint(Reply::With(200, "{\"oops\": true".into())).await;
    assert!(matches!(client(config(&url)).refine(&local(), reference()).await, Err(LlmError::Invalid(_))));
}

#[tokio::test]
async fn a_server_error_is_http() {
    let (url, _) = fake_endpoint(Reply::With(500, "{\"error\": \"overloaded\"}".into())).await;
    match client(config(&url)).refine(&local(), reference()).await {
        Err(LlmError::Http(500)) => {}
        other => panic!("expected Http(500), got {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_endpoint_times_out_on_time() {
    let (url, seen) = fake_endpoint(Reply::Hang).await;
    let llm = client(LlmConfig { timeout_ms: 100, ..config(&url) });
    let started = Instant::now();
    match llm.refine(&local(), reference()).await {
        Err(LlmError::Timeout(100)) => {}
        other => panic!("expected Timeout, got {other:?}"),
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(100) && took < Duration::from_secs(1), "{took:?}");
    assert_eq!(seen.lock().unwrap_or_else(|e| e.into_inner()).len(), 1, "the request reached the endpoint");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transport_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        l.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
    };
    let llm = client(config(&format!("http://127.0.0.1:{port}/v1")));
    assert!(matches!(llm.refine(&local(), reference()).await, Err(LlmError::Transport(_))));
}
