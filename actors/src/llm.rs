//! The optional LLM plugin: a second reading of low-confidence chat turns by
//! any OpenAI-compatible chat-completions endpoint (GLM, Qwen, vLLM, …).
//!
//! The local NLU always runs first and stays the fallback: every failure here
//! (timeout, HTTP error, an answer that is not valid labels) is an
//! [`LlmError`], on which the caller keeps the local result. The client speaks
//! plain HTTP only, to keep TLS out of the engine: put an HTTPS endpoint
//! behind a local proxy or sidecar (nginx, envoy, `socat`) and point `url` at it.

use autoglm_core::catalog::{Room, Service};
use autoglm_nlu::{Intent, NluResult, Slots};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat};
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Largest response body read from the endpoint.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// Confidence given to a turn the LLM read: the endpoint reports no calibrated
/// probability, and a valid answer should count as understood (above any
/// sensible `min_confidence`) without claiming more than a confident local read.
const LLM_CONFIDENCE: f64 = 0.9;
/// Longest free-text slot accepted (address, worker, order id).
const MAX_TEXT_SLOT: usize = 200;

/// Where and how to ask the LLM (`[llm]` in the node config).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// Base URL of the API, `http://` only (`http://127.0.0.1:9000/v1`); requests go to `{url}/chat/completions`.
    pub url: String,
    /// Model name sent with each request.
    pub model: String,
    /// Name of the environment variable holding the API key, sent as `Authorization: Bearer`.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Limit on the whole call, connect to last byte, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Turns whose local confidence is below this go to the LLM.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f64,
}

fn default_timeout_ms() -> u64 {
    1500
}

fn default_min_confidence() -> f64 {
    0.6
}

/// Why the LLM gave no usable reading (the caller keeps the local one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The configuration cannot work (bad URL, missing key variable, …).
    #[error("llm config: {0}")]
    Config(String),
    /// No complete answer within the configured time.
    #[error("llm gave no answer within {0} ms")]
    Timeout(u64),
    /// The endpoint answered with a non-success status.
    #[error("llm endpoint answered HTTP {0}")]
    Http(u16),
    /// The connection failed or broke.
    #[error("llm transport: {0}")]
    Transport(String),
    /// The answer is not a valid reading (unknown label, bad time, not JSON, …).
    #[error("llm answer invalid: {0}")]
    Invalid(String),
}

/// A client for one OpenAI-compatible endpoint; cheap to clone.
#[derive(Clone)]
pub struct LlmClient {
    endpoint: Uri,
    model: String,
    authorization: Option<HeaderValue>,
    timeout: Duration,
    min_confidence: f64,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("LlmClient")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("min_confidence", &self.min_confidence)
            .finish()
    }
}

impl LlmClient {
    /// A client for `cfg`; reads the API key from its environment variable now.
    pub fn new(cfg: LlmConfig) -> Result<Self, LlmError> {
        let base = cfg.url.trim_end_matches('/');
        if !base.starts_with("http://") {
            return Err(LlmError::Config(format!(
                "url {:?} must be http:// (put an HTTPS endpoint behind a local proxy)",
                cfg.url
            )));
        }
        let endpoint: Uri = format!("{base}/chat/completions")
            .parse()
            .map_err(|e| LlmError::Config(format!("url {:?}: {e}", cfg.url)))?;
        if cfg.model.trim().is_empty() {
            return Err(LlmError::Config("model is empty".into()));
        }
        if cfg.timeout_ms == 0 {
            return Err(LlmError::Config("timeout_ms must be above 0".into()));
        }
        if !(0.0..=1.0).contains(&cfg.min_confidence) {
            return Err(LlmError::Config(format!("min_confidence {} is not within 0–1", cfg.min_confidence)));
        }
        let authorization = match &cfg.api_key_env {
            None => None,
            Some(var) => {
                let key = std::env::var(var)
                    .map_err(|_| LlmError::Config(format!("environment variable {var} (the API key) is not set")))?;
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.trim()))
                    .map_err(|_| LlmError::Config(format!("the API key in {var} is not a valid header value")))?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let http = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Full<Bytes>>();
        Ok(Self {
            endpoint,
            model: cfg.model,
            authorization,
            timeout: Duration::from_millis(cfg.timeout_ms),
            min_confidence: cfg.min_confidence,
            http,
        })
    }

    /// Turns whose local confidence is below this go to the LLM.
    pub fn min_confidence(&self) -> f64 {
        self.min_confidence
    }

    /// Asks the LLM to read `local.text` at `reference` (the customer's "now");
    /// returns `local` with the LLM's intent and slots, or why not.
    ///
    /// Text, language and entities stay the local ones (entities may then not
    /// cover every slot); confidence becomes the larger of the local one and 0.9.
    pub async fn refine(&self, local: &NluResult, reference: DateTime<FixedOffset>) -> Result<NluResult, LlmError> {
        let body = self.request_body(local, reference)?;
        let content = match tokio::time::timeout(self.timeout, self.call(body)).await {
            Ok(r) => r?,
            Err(_) => return Err(LlmError::Timeout(self.timeout.as_millis() as u64)),
        };
        let (intent, slots) = parse_answer(&content, reference)?;
        Ok(NluResult { intent, slots, confidence: local.confidence.max(LLM_CONFIDENCE), ..local.clone() })
    }

    fn request_body(&self, local: &NluResult, reference: DateTime<FixedOffset>) -> Result<Vec<u8>, LlmError> {
        let guess = serde_json::json!({ "intent": local.intent, "slots": local.slots });
        let user = format!("Utterance: {}\nLocal parser's low-confidence guess: {guess}", local.text);
        let body = serde_json::json!({
            "model": self.model,
            "temperature": 0,
            "messages": [
                { "role": "system", "content": system_prompt(reference) },
                { "role": "user", "content": user },
            ],
        });
        serde_json::to_vec(&body).map_err(|e| LlmError::Config(format!("request does not serialise: {e}")))
    }

    /// One POST; the message content of the first choice.
    async fn call(&self, body: Vec<u8>) -> Result<String, LlmError> {
        let mut req = hyper::Request::post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| LlmError::Config(e.to_string()))?;
        if let Some(auth) = &self.authorization {
            req.headers_mut().insert(AUTHORIZATION, auth.clone());
        }
        let resp = self.http.request(req).await.map_err(|e| LlmError::Transport(e.to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(LlmError::Http(status.as_u16()));
        }
        let bytes = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    LlmError::Invalid(format!("response larger than {MAX_RESPONSE_BYTES} bytes"))
                } else {
                    LlmError::Transport(e.to_string())
                }
            })?
            .to_bytes();
        let completion: Completion =
            serde_json::from_slice(&bytes).map_err(|e| LlmError::Invalid(format!("not a chat completion: {e}")))?;
        completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| LlmError::Invalid("the completion has no message content".into()))
    }
}

fn system_prompt(reference: DateTime<FixedOffset>) -> String {
    let list = |labels: &mut dyn Iterator<Item = &'static str>| labels.collect::<Vec<_>>().join(", ");
    let intents = list(&mut Intent::ALL.iter().map(|i| i.as_str()));
    let services = list(&mut Service::ALL.iter().map(|s| s.as_str()));
    let rooms = list(&mut Room::ALL.iter().map(|r| r.as_str()));
    let now = reference.to_rfc3339_opts(SecondsFormat::Secs, false);
    let weekday = reference.format("%A");
    let offset = reference.offset();
    format!(
        "You read one customer message to a home-services platform (Chinese or English) and answer \
ONLY with one JSON object, no prose:\n\
{{\"intent\": INTENT, \"slots\": {{\"service\": SERVICE|null, \"rooms\": [ROOM...], \"start\": RFC3339|null, \
\"end\": RFC3339|null, \"date\": \"YYYY-MM-DD\"|null, \"duration_minutes\": integer|null, \"order_id\": string|null, \
\"rating\": 1-5|null, \"address\": string|null, \"phone\": digits|null, \"worker\": string|null}}}}\n\
INTENT is one of: {intents}.\nSERVICE is one of: {services}.\nROOM is one of: {rooms}.\n\
Now is {now} ({weekday}); write every time with offset {offset}.\n\
Conventions: set start only when a time of day is known; a date without one goes to date, never a midnight start. \
A part of day without an hour: 早上 08:00, 上午/morning 09:00, 下午/afternoon 14:00, 晚上/evening 19:00. \
A bare hour 1-6 is afternoon (三点 = 15:00), 7-11 morning, 12 noon. 半 = :30, 一刻 = :15, 三刻 = :45. \
A time without a date is today if still ahead of now, else tomorrow. Weeks run Monday to Sunday: 这周X / \"this X\" \
is that day of the current week, 下周X / \"next X\" that day of next week; 周末 is this week's Saturday \
(next week's when today is Saturday or Sunday); 月底 is the last day of the month. For reschedule_order the times \
are the new time. Set a room only from a room word; a cleaning or deep_cleaning booking with no room gets \
[\"whole_home\"]. 阿姨 or 师傅 alone name no service. Order ids without '#'. Ratings are integers 1-5 (满分 = 5). \
Unknown slots are null (rooms: [])."
    )
}

/// The part of an OpenAI chat completion we read.
#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

/// The answer as the model writes it, before validation.
#[derive(Deserialize)]
struct Answer {
    intent: String,
    #[serde(default)]
    slots: Option<RawSlots>,
}

#[derive(Deserialize, Default)]
struct RawSlots {
    service: Option<String>,
    rooms: Option<Vec<String>>,
    start: Option<String>,
    end: Option<String>,
    date: Option<String>,
    duration_minutes: Option<i64>,
    order_id: Option<String>,
    rating: Option<i64>,
    address: Option<String>,
    phone: Option<String>,
    worker: Option<String>,
}

/// The JSON object in `content`, which may be wrapped in a ```json fence.
fn strip_fence(content: &str) -> &str {
    let s = content.trim();
    let Some(rest) = s.strip_prefix("```") else {
        return s;
    };
    let rest = rest.strip_prefix("json").or_else(|| rest.strip_prefix("JSON")).unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

/// Validates the model's answer against the label sets and DESIGN.md §3.
fn parse_answer(content: &str, reference: DateTime<FixedOffset>) -> Result<(Intent, Slots), LlmError> {
    let invalid = LlmError::Invalid;
    let value: serde_json::Value =
        serde_json::from_str(strip_fence(content)).map_err(|e| invalid(format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(invalid("not a JSON object".into()));
    }
    let answer: Answer =
        serde_json::from_value(value).map_err(|e| invalid(format!("not the JSON object asked for: {e}")))?;
    let intent: Intent = answer.intent.parse().map_err(|e| invalid(format!("{e}")))?;
    let raw = answer.slots.unwrap_or_default();
    let service = text(raw.service).map(|s| s.parse::<Service>().map_err(|e| invalid(e.to_string()))).transpose()?;
    let mut rooms = Vec::new();
    for r in raw.rooms.unwrap_or_default() {
        let room: Room = r.parse().map_err(|e: autoglm_core::DomainError| invalid(e.to_string()))?;
        if !rooms.contains(&room) {
            rooms.push(room);
        }
    }
    if rooms.is_empty() && intent == Intent::BookService && service.is_some_and(Service::defaults_to_whole_home) {
        rooms.push(Room::WholeHome);
    }
    let time = |field: &str, v: Option<String>| -> Result<Option<String>, LlmError> {
        let Some(v) = text(v) else { return Ok(None) };
        let t = DateTime::parse_from_rfc3339(&v).map_err(|e| invalid(format!("{field} {v:?} is not RFC 3339: {e}")))?;
        // Times are the customer's local ones.
        Ok(Some(t.with_timezone(reference.offset()).to_rfc3339_opts(SecondsFormat::Secs, false)))
    };
    let start = time("start", raw.start)?;
    let end = time("end", raw.end)?;
    let date = text(raw.date)
        .map(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_err(|e| invalid(format!("date {d:?} is not YYYY-MM-DD: {e}")))
        })
        .transpose()?;
    let duration_minutes = raw
        .duration_minutes
        .map(|m| match u32::try_from(m) {
            Ok(m @ 1..=1440) => Ok(m),
            _ => Err(invalid(format!("duration_minutes {m} is not within 1–1440"))),
        })
        .transpose()?;
    let rating = raw
        .rating
        .map(|r| match u8::try_from(r) {
            Ok(r @ 1..=5) => Ok(r),
            _ => Err(invalid(format!("rating {r} is not within 1–5"))),
        })
        .transpose()?;
    let order_id = bounded_text("order_id", raw.order_id.map(|o| o.trim().trim_start_matches('#').to_owned()))?;
    let phone = text(raw.phone)
        .map(|p| {
            let digits: String = p.chars().filter(|c| !matches!(c, ' ' | '-' | '+' | '(' | ')')).collect();
            if (5..=20).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
                Ok(digits)
            } else {
                Err(invalid(format!("phone {p:?} is not a phone number")))
            }
        })
        .transpose()?;
    let slots = Slots {
        service,
        rooms,
        start,
        end,
        date,
        duration_minutes,
        order_id,
        rating,
        address: bounded_text("address", raw.address)?,
        phone,
        worker: bounded_text("worker", raw.worker)?,
    };
    Ok((intent, slots))
}

/// A trimmed string slot; empty means absent.
fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A free-text slot of bounded length.
fn bounded_text(field: &str, v: Option<String>) -> Result<Option<String>, LlmError> {
    match text(v) {
        Some(s) if s.chars().count() > MAX_TEXT_SLOT => {
            Err(LlmError::Invalid(format!("{field} is longer than {MAX_TEXT_SLOT} characters")))
        }
        other => Ok(other),
    }
}

/// A fake OpenAI-compatible endpoint on loopback, for tests (it never leaves 127.0.0.1).
pub mod fake {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// What the fake endpoint does with each request.
    #[derive(Clone)]
    pub enum Reply {
        /// Answer with this status and body.
        /// Status and body.
        With(u16, String),
        /// Read the request and never answer.
        Hang,
    }

    /// A fake endpoint on 127.0.0.1; returns its base URL and the raw requests it saw.
    pub async fn fake_endpoint(reply: Reply) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            // A test sends a handful of requests; the task ends with the runtime.
            for _ in 0..16 {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                let log = log.clone();
                let reply = reply.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut sock).await else { return };
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(request);
                    match reply {
                        Reply::Hang => std::future::pending::<()>().await,
                        Reply::With(status, body) => {
                            let head = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                            let _ = sock.write_all(head.as_bytes()).await;
                            let _ = sock.write_all(body.as_bytes()).await;
                            let _ = sock.shutdown().await;
                        }
                    }
                });
            }
        });
        (format!("http://{addr}/v1"), seen)
    }

    /// Reads one HTTP/1.1 request (head and content-length body) as text.
    async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<String> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Bounded: a request is far below 1 MiB.
        while buf.len() < 1 << 20 {
            let n = sock.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= head_end + 4 + length {
                    return Some(String::from_utf8_lossy(&buf).into_owned());
                }
            }
        }
        None
    }

    /// A chat completion whose message content is `content`.
    pub fn completion(content: &str) -> String {
        serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "glm-test",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn fences_are_stripped() {
        assert_eq!(strip_fence("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_fence("```\n{}\n```"), "{}");
        assert_eq!(strip_fence("  {} "), "{}");
    }

    #[test]
    fn answers_are_validated_and_normalised() {
        let now = at("2026-03-05T09:00:00+08:00");
        let ok = |s: &str| parse_answer(s, now).unwrap_or_else(|e| panic!("{s}: {e}"));
        let (intent, slots) = ok(
            r##"{"intent":"book_service","slots":{"service":"cleaning","start":"2026-03-06T02:00:00Z","order_id":"#A1","phone":"138-0000 0000","rooms":null}}"##,
        );
        assert_eq!(intent, Intent::BookService);
        assert_eq!(slots.rooms, vec![Room::WholeHome]);
        assert_eq!(slots.start.as_deref(), Some("2026-03-06T10:00:00+08:00"));
        assert_eq!(slots.order_id.as_deref(), Some("A1"));
        assert_eq!(slots.phone.as_deref(), Some("13800000000"));
        let (intent, slots) = ok(r#"{"intent":"confirm","slots":null}"#);
        assert_eq!((intent, slots), (Intent::Confirm, Slots::default()));
        let bad = [
            r#"{"intent":"book_service","slots":{"service":"gardening"}}"#,
            r#"{"intent":"book_service","slots":{"rooms":["garage"]}}"#,
            r#"{"intent":"book_service","slots":{"start":"tomorrow 10am"}}"#,
            r#"{"intent":"book_service","slots":{"date":"2026/03/06"}}"#,
            r#"{"intent":"rate_order","slots":{"rating":6}}"#,
            r#"{"intent":"rate_order","slots":{"rating":4.5}}"#,
            r#"{"intent":"book_service","slots":{"duration_minutes":0}}"#,
            r#"{"intent":"book_service","slots":{"duration_minutes":1441}}"#,
            r#"{"intent":"book_service","slots":{"phone":"call me"}}"#,
            r#"["book_service"]"#,
            r#"{"slots":{}}"#,
        ];
        for b in bad {
            assert!(matches!(parse_answer(b, now), Err(LlmError::Invalid(_))), "{b}");
        }
    }

    #[test]
    fn config_is_checked() {
        let cfg = |url: &str| LlmConfig {
            url: url.into(),
            model: "glm".into(),
            api_key_env: None,
            timeout_ms: 1500,
            min_confidence: 0.6,
        };
        assert!(matches!(LlmClient::new(cfg("https://api.example.com/v1")), Err(LlmError::Config(_))));
        assert!(LlmClient::new(cfg("http://127.0.0.1:9000/v1/")).is_ok());
        let missing = LlmConfig { api_key_env: Some("AUTOGLM_TEST_NO_SUCH_KEY_VAR".into()), ..cfg("http://h/v1") };
        assert!(matches!(LlmClient::new(missing), Err(LlmError::Config(_))));
        let parsed: LlmConfig =
            serde_json::from_str(r#"{"url":"http://h/v1","model":"m"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((parsed.timeout_ms, parsed.min_confidence), (1500, 0.6));
        assert!(serde_json::from_str::<LlmConfig>(r#"{"url":"u","model":"m","extra":1}"#).is_err());
    }
}
