//! The warp edge: parses, authorizes, calls the engine, renders. Thin on
//! purpose: no domain rule lives here.

pub mod auth;
pub mod error;
mod metrics;
pub mod openapi;
mod routes;

pub use error::ApiError;

use autoglm_actors::{ChatService, Engine};
use autoglm_core::auth::TokenKey;
use autoglm_gpu::NluService;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Engine,
    /// Key that signs and verifies bearer tokens.
    pub tokens: TokenKey,
    /// Largest accepted request body in bytes.
    pub body_limit: u64,
    /// Whether the node takes traffic (false while starting or draining).
    pub ready: Arc<AtomicBool>,
    /// The NLU (`/v1/nlu/parse`, `/ops/models`); those routes answer 503 without it.
    pub nlu: Option<NluService>,
    /// Where `POST /ops/models/{name}/load` looks for model folders.
    pub models_dir: PathBuf,
    /// The chat (`/v1/chat`, `/api/v1/order/place`); those routes answer 503 without it.
    pub chat: Option<ChatService>,
    /// Cluster membership, when the node is part of a cluster (`/ops/cluster`).
    pub cluster: Option<Arc<autoglm_cluster::Cluster>>,
}

impl AppState {
    /// State for `engine` with tokens signed by `tokens`.
    pub fn new(engine: Engine, tokens: TokenKey) -> Self {
        Self {
            engine,
            tokens,
            body_limit: 64 * 1024,
            ready: Arc::new(AtomicBool::new(true)),
            nlu: None,
            models_dir: PathBuf::from("data/models"),
            chat: None,
            cluster: None,
        }
    }

    /// The same state with `cluster` answering `/ops/cluster`.
    pub fn with_cluster(mut self, cluster: Arc<autoglm_cluster::Cluster>) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// The cluster as this node sees it; a single node is a cluster of one.
    pub fn cluster_view(&self) -> serde_json::Value {
        match &self.cluster {
            Some(c) => serde_json::to_value(c.view()).unwrap_or_default(),
            None => {
                let node = self.engine.registry().node().to_string();
                serde_json::json!({
                    "node": node,
                    "clustered": false,
                    "up": 1,
                    "members": [{
                        "name": node, "state": "up", "self": true,
                        "actors": self.engine.actor_counts(), "last_heartbeat_ms_ago": 0,
                    }],
                })
            }
        }
    }

    /// The same state with `chat` answering the chat routes.
    pub fn with_chat(mut self, chat: ChatService) -> Self {
        self.chat = Some(chat);
        self
    }

    /// The same state with `nlu` serving models from `models_dir`.
    pub fn with_nlu(mut self, nlu: NluService, models_dir: PathBuf) -> Self {
        self.nlu = Some(nlu);
        self.models_dir = models_dir;
        self
    }

    /// Whether the node takes traffic.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// Every route of the node, with JSON errors for anything that does not match.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    routes::orders(state.clone())
        .or(routes::workers(state.clone()))
        .unify()
        .or(routes::payments(state.clone()))
        .unify()
        .or(routes::nlu(state.clone()))
        .unify()
        .or(routes::chat(state.clone()))
        .unify()
        .or(routes::pages(state.clone()))
        .unify()
        .or(routes::system(state))
        .unify()
        .recover(error::recover)
        .unify()
        .with(warp::log::custom(metrics::record_request))
        .with(warp::trace(metrics::request_span))
        .map(Reply::into_response)
        .boxed()
}

/// Serves `routes(state)` on `listener` until `shutdown` resolves, then
/// finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    warp::serve(routes(state)).incoming(listener).graceful(shutdown).run().await;
}

/// A JSON body of at most the configured size, parsed into `T`; unknown
/// fields and malformed JSON get a 400 that says where.
pub(crate) fn json_body<T: DeserializeOwned + Send>(
    state: &AppState,
) -> impl Filter<Extract = (T,), Error = warp::Rejection> + Clone {
    warp::body::content_length_limit(state.body_limit)
        .and(warp::body::bytes())
        .and_then(|bytes: bytes::Bytes| async move { parse_json(&bytes).map_err(warp::reject::custom) })
}

/// An optional JSON body: none at all (a bare `POST`, as `curl -X POST`
/// sends) or an empty one means `T::default()`; otherwise it is parsed like
/// [`json_body`].
pub(crate) fn optional_json_body<T: DeserializeOwned + Default + Send + 'static>(
    state: &AppState,
) -> impl Filter<Extract = (T,), Error = warp::Rejection> + Clone {
    let no_body = warp::header::optional::<String>("content-length")
        .and(warp::header::optional::<String>("transfer-encoding"))
        .and_then(|length: Option<String>, chunked: Option<String>| async move {
            if length.is_none() && chunked.is_none() {
                Ok(T::default())
            } else {
                Err(warp::reject::not_found())
            }
        });
    let some_body = warp::body::content_length_limit(state.body_limit).and(warp::body::bytes()).and_then(
        |bytes: bytes::Bytes| async move {
            if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                return Ok(T::default());
            }
            parse_json(&bytes).map_err(warp::reject::custom)
        },
    );
    no_body.or(some_body).unify()
}

/// Parses JSON with an error message that names the problem and position.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// Renders `value` as JSON with `status`.
pub(crate) fn json_reply<T: serde::Serialize>(value: &T, status: warp::http::StatusCode) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

/// Renders a handler's result: the value as 200 JSON, or the error.
pub(crate) fn render<T: serde::Serialize>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(v) => json_reply(&v, warp::http::StatusCode::OK),
        Err(e) => e.into_response(),
    }
}
