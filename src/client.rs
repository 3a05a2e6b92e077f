//! A small HTTP/1.1 JSON client for the CLI tools (keep-alive pooled).

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as Hyper;
use std::time::Duration;

/// A pooled client bound to one node.
#[derive(Clone)]
pub struct Client {
    inner: Hyper<HttpConnector, Full<Bytes>>,
    base: String,
    token: Option<String>,
}

/// A response: status and body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Body bytes.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("response is not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

impl Client {
    /// A client for `base` (e.g. `http://127.0.0.1:8080`) sending `token`.
    pub fn new(base: &str, token: Option<String>) -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        let inner = Hyper::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(1024)
            .build(http);
        Self { inner, base: base.trim_end_matches('/').to_string(), token }
    }

    /// The same client with another token.
    pub fn with_token(&self, token: String) -> Self {
        Self { token: Some(token), ..self.clone() }
    }

    /// The same client (token, connection pool) for another node.
    pub fn with_base(&self, base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_string(), ..self.clone() }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `method path` with an optional JSON body and extra headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply> {
        let mut req = Request::builder().method(method).uri(format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let bytes = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(v)?)
            }
            None => Bytes::new(),
        };
        let resp = self
            .inner
            .request(req.body(Full::new(bytes))?)
            .await
            .with_context(|| format!("request to {path} failed"))?;
        let status = resp.status();
        let body = resp.into_body().collect().await.context("reading response")?.to_bytes();
        Ok(Reply { status, body })
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> Result<Reply> {
        self.send(Method::GET, path, None, &[]).await
    }

    /// POST `path` with a JSON body.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Reply> {
        self.send(Method::POST, path, Some(body), &[]).await
    }
}

impl Client {
    /// Sends raw bytes as a JSON body (for malformed-input tests and tools).
    pub async fn send_raw(&self, method: Method, path: &str, body: Vec<u8>) -> Result<Reply> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header("content-type", "application/json");
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = self
            .inner
            .request(req.body(Full::new(Bytes::from(body)))?)
            .await
            .with_context(|| format!("request to {path} failed"))?;
        let status = resp.status();
        let body = resp.into_body().collect().await.context("reading response")?.to_bytes();
        Ok(Reply { status, body })
    }
}
