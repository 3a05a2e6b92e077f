//! `POST /v1/nlu/parse` and the model registry under `/ops/models`.

use crate::auth;
use crate::{json_body, json_reply, optional_json_body, render, ApiError, AppState};
use autoglm_actors::Caller;
use autoglm_core::auth::Role;
use autoglm_gpu::{NluError, NluService};
use autoglm_nlu::Lang;
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use serde_json::json;
use std::path::{Component, Path, PathBuf};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParseRequest {
    text: String,
    reference_time: Option<String>,
    lang: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadRequest {
    /// Model folder relative to the node's models folder (default: the model's name).
    dir: Option<String>,
}

/// NLU and model-registry routes.
pub fn nlu(state: AppState) -> BoxedFilter<(Response,)> {
    let s = state.clone();
    let parse = warp::path!("v1" / "nlu" / "parse")
        .and(warp::post())
        .and(auth::caller(s.clone()))
        .and(json_body::<ParseRequest>(&s))
        .then(move |_: Caller, req: ParseRequest| {
            let s = s.clone();
            async move { render(parse_text(&s, req).await) }
        });

    let s = state.clone();
    let models = warp::path!("ops" / "models").and(warp::get()).and(auth::role(s.clone(), Role::Admin)).then(
        move |_: Caller| {
            let s = s.clone();
            async move {
                let Ok(nlu) = service(&s) else { return render::<()>(service(&s).map(|_| ())) };
                let devices: Vec<String> = nlu.pool().devices().iter().map(|d| d.name.clone()).collect();
                json_reply(&json!({ "devices": devices, "models": nlu.pool().models().await }), StatusCode::OK)
            }
        },
    );

    let s = state.clone();
    let load = warp::path!("ops" / "models" / String / "load")
        .and(warp::post())
        .and(auth::role(s.clone(), Role::Admin))
        .and(optional_json_body::<LoadRequest>(&s))
        .then(move |name: String, _: Caller, req: LoadRequest| {
            let s = s.clone();
            async move { render(load_model(&s, &name, req).await) }
        });

    let s = state;
    let unload = warp::path!("ops" / "models" / String / "unload")
        .and(warp::post())
        .and(auth::role(s.clone(), Role::Admin))
        .then(move |name: String, _: Caller| {
            let s = s.clone();
            async move {
                let result = async {
                    check_name(&name)?;
                    let nlu = service(&s)?;
                    nlu.pool()
                        .unload(&name)
                        .await
                        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()))?;
                    Ok(json!({ "unloaded": name }))
                };
                render(result.await)
            }
        });

    parse.or(models).unify().or(load).unify().or(unload).unify().boxed()
}

fn service(s: &AppState) -> Result<&NluService, ApiError> {
    s.nlu
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "NLU is not enabled on this node"))
}

async fn parse_text(s: &AppState, req: ParseRequest) -> Result<autoglm_nlu::NluResult, ApiError> {
    let nlu = service(s)?;
    let lang = req
        .lang
        .map(|l| l.parse::<Lang>())
        .transpose()
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("lang: {e}")))?;
    let reference =
        req.reference_time.map(|t| DateTime::<FixedOffset>::parse_from_rfc3339(&t)).transpose().map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("reference_time must be RFC 3339 with an offset (2026-03-05T09:00:00+08:00): {e}"),
            )
        })?;
    nlu.parse(&req.text, lang, reference).await.map_err(nlu_error)
}

fn nlu_error(e: NluError) -> ApiError {
    match e {
        NluError::InvalidText(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
        NluError::Overloaded(e) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", e.to_string()),
    }
}

async fn load_model(s: &AppState, name: &str, req: LoadRequest) -> Result<autoglm_gpu::ModelStatus, ApiError> {
    check_name(name)?;
    let nlu = service(s)?;
    let relative = req.dir.unwrap_or_else(|| name.to_string());
    let dir = inside(&s.models_dir, &relative)?;
    if !dir.is_dir() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no model folder {relative:?} in the models folder"),
        ));
    }
    nlu.pool().load(name, &dir).await.map_err(|e| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("model {relative:?} not loaded: {e}"))
    })
}

/// A model name: 1 to 64 of `a-z 0-9 _ -`.
fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request("model name must be 1 to 64 of a-z, 0-9, '_' or '-'"))
    }
}

/// `relative` under `root`, refusing absolute paths and `..`.
fn inside(root: &Path, relative: &str) -> Result<PathBuf, ApiError> {
    let path = Path::new(relative);
    if relative.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(ApiError::bad_request(
            "dir must be a relative folder inside the models folder (no '..', not absolute)",
        ));
    }
    Ok(root.join(path))
}
