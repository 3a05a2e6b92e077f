//! Tokens, operations and the endpoints every node serves to anyone:
//! health, readiness, metrics, the OpenAPI document.

use crate::auth;
use crate::{json_body, json_reply, render, ApiError, AppState};
use autoglm_actors::Caller;
use autoglm_core::auth::{Claims, Role};
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    role: Role,
    subject: String,
    ttl_secs: Option<i64>,
}

/// Longest token lifetime: one year.
const MAX_TTL_SECS: i64 = 365 * 24 * 3600;

/// This node's supervision tree.
fn node_actors(s: &AppState) -> serde_json::Value {
    json!({ "node": s.engine.registry().node(), "counts": s.engine.actor_counts(), "tree": s.engine.actors() })
}

/// Every member's supervision tree in one (snapshots carry their node), the
/// counts summed; members that did not answer in time are listed.
async fn cluster_actors(s: &AppState) -> serde_json::Value {
    let Some(cluster) = &s.cluster else {
        let mut doc = node_actors(s);
        doc["scope"] = json!("cluster");
        doc["nodes"] = json!([s.engine.registry().node()]);
        doc["missing"] = json!([]);
        return doc;
    };
    let (trees, missing) = cluster.actors_everywhere(std::time::Duration::from_secs(2)).await;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut tree = Vec::new();
    let mut nodes = Vec::new();
    for t in trees {
        nodes.push(t["node"].clone());
        if let Some(c) = t["counts"].as_object() {
            for (k, v) in c {
                *counts.entry(k.clone()).or_default() += v.as_u64().unwrap_or(0);
            }
        }
        if let serde_json::Value::Array(roots) = t["tree"].clone() {
            tree.extend(roots);
        }
    }
    json!({ "node": cluster.name(), "scope": "cluster", "nodes": nodes, "missing": missing,
            "counts": counts, "tree": tree })
}

/// System routes.
pub fn system(state: AppState) -> BoxedFilter<(Response,)> {
    let s = state.clone();
    let tokens = warp::path!("v1" / "auth" / "tokens")
        .and(warp::post())
        .and(auth::role(s.clone(), Role::Admin))
        .and(json_body::<TokenRequest>(&s))
        .then(move |_: Caller, req: TokenRequest| {
            let s = s.clone();
            async move {
                let ttl = req.ttl_secs.unwrap_or(30 * 24 * 3600);
                if !(60..=MAX_TTL_SECS).contains(&ttl) {
                    return ApiError::bad_request("ttl_secs must be between 60 and one year").into_response();
                }
                if autoglm_core::CustomerId::parse(&req.subject).is_err() {
                    return ApiError::bad_request("subject must be 1 to 64 letters, digits, '-' or '_'")
                        .into_response();
                }
                let exp = chrono::Utc::now().timestamp() + ttl;
                let token = s.tokens.issue(&Claims { role: req.role, sub: req.subject.clone(), exp });
                json_reply(
                    &json!({ "token": token, "role": req.role, "subject": req.subject, "expires_at": exp }),
                    StatusCode::CREATED,
                )
            }
        });

    let s = state.clone();
    let actors = warp::path!("ops" / "actors")
        .and(warp::get())
        .and(auth::role(s.clone(), Role::Admin))
        .and(warp::query::<HashMap<String, String>>())
        .then(move |_: Caller, q: HashMap<String, String>| {
            let s = s.clone();
            async move {
                if let Some(bad) = q.keys().find(|k| k.as_str() != "scope") {
                    return ApiError::bad_request(format!("unknown query parameter {bad:?} (known: scope)"))
                        .into_response();
                }
                match q.get("scope").map(String::as_str) {
                    None | Some("node") => json_reply(&node_actors(&s), StatusCode::OK),
                    Some("cluster") => json_reply(&cluster_actors(&s).await, StatusCode::OK),
                    Some(other) => {
                        ApiError::bad_request(format!("scope must be node or cluster, not {other:?}")).into_response()
                    }
                }
            }
        });

    let s = state.clone();
    let cluster = warp::path!("ops" / "cluster")
        .and(warp::get())
        .and(auth::role(s.clone(), Role::Admin))
        .map(move |_: Caller| json_reply(&s.cluster_view(), StatusCode::OK));

    let s = state.clone();
    let drill = warp::path!("ops" / "actors" / String / String / "fail")
        .and(warp::post())
        .and(auth::role(s.clone(), Role::Admin))
        .then(move |kind: String, id: String, _: Caller| {
            let s = s.clone();
            async move {
                let result =
                    s.engine.fail_actor(&kind, &id).await.map(|()| json!({ "failed": format!("{kind}/{id}") }));
                render(result.map_err(ApiError::from))
            }
        });

    let s = state.clone();
    let invariants = warp::path!("ops" / "invariants").and(warp::get()).and(auth::role(s.clone(), Role::Admin)).then(
        move |_: Caller| {
            let s = s.clone();
            async move { render(s.engine.check_invariants().await.map_err(ApiError::from)) }
        },
    );

    let healthz =
        warp::path!("healthz").and(warp::get()).map(|| json_reply(&json!({ "status": "ok" }), StatusCode::OK));

    let s = state.clone();
    let readyz = warp::path!("readyz").and(warp::get()).then(move || {
        let s = s.clone();
        async move {
            let db_ok = s.engine.shared().db.conn().ping().await.is_ok();
            let ready = s.is_ready() && db_ok;
            let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
            json_reply(&json!({ "ready": ready, "database": db_ok, "accepting": s.is_ready() }), status)
        }
    });

    let s = state.clone();
    let metrics = warp::path!("metrics").and(warp::get()).map(move || {
        let body = crate::metrics::render(&s);
        warp::reply::with_header(body, "content-type", "text/plain; version=0.0.4").into_response()
    });

    let openapi =
        warp::path!("openapi.json").and(warp::get()).map(|| json_reply(&crate::openapi::document(), StatusCode::OK));

    tokens
        .or(actors)
        .unify()
        .or(cluster)
        .unify()
        .or(drill)
        .unify()
        .or(invariants)
        .unify()
        .or(healthz)
        .unify()
        .or(readyz)
        .unify()
        .or(metrics)
        .unify()
        .or(openapi)
        .unify()
        .boxed()
}
