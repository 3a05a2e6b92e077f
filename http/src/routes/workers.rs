//! `/v1/workers…` (admin) and `/v1/jobs…` (workers).

use super::order_id;
use crate::auth;
use crate::{json_body, json_reply, optional_json_body, render, ApiError, AppState};
use autoglm_actors::{Caller, Command};
use autoglm_core::auth::Role;
use autoglm_core::worker::{SkillLevel, WorkerPatch, WorkingHours};
use autoglm_core::{GeoPoint, Service, Worker, WorkerId};
use serde::Deserialize;
use std::collections::BTreeMap;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

/// A worker as an admin registers them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWorker {
    id: Option<String>,
    name: String,
    skills: BTreeMap<Service, SkillLevel>,
    home: GeoPoint,
    #[serde(default = "default_radius")]
    radius_km: f64,
    #[serde(default)]
    hours: WorkingHours,
    #[serde(default)]
    rating: Option<f64>,
    #[serde(default = "yes")]
    active: bool,
}

fn default_radius() -> f64 {
    10.0
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// Worker and job routes.
pub fn workers(state: AppState) -> BoxedFilter<(Response,)> {
    let s = state.clone();
    let register = warp::path!("v1" / "workers")
        .and(warp::post())
        .and(auth::role(s.clone(), Role::Admin))
        .and(json_body::<NewWorker>(&s))
        .then(move |_: Caller, w: NewWorker| {
            let s = s.clone();
            async move {
                let id = match w.id {
                    Some(id) => match WorkerId::parse(&id) {
                        Ok(id) => id,
                        Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
                    },
                    None => WorkerId(s.engine.shared().next_id(WorkerId::PREFIX)),
                };
                let worker = Worker {
                    id,
                    name: w.name,
                    skills: w.skills,
                    home: w.home,
                    radius_km: w.radius_km,
                    hours: w.hours,
                    rating: w.rating.unwrap_or(0.0),
                    rating_count: u32::from(w.rating.is_some()),
                    active: w.active,
                };
                match s.engine.register_worker(worker).await {
                    Ok(w) => json_reply(&w, StatusCode::CREATED),
                    Err(e) => ApiError::from(e).into_response(),
                }
            }
        });

    let s = state.clone();
    let get = warp::path!("v1" / "workers" / String).and(warp::get()).and(auth::role(s.clone(), Role::Admin)).then(
        move |id: String, _: Caller| {
            let s = s.clone();
            async move {
                let result = async {
                    let id = WorkerId::parse(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
                    Ok::<_, ApiError>(s.engine.get_worker(&id).await?)
                };
                render(result.await)
            }
        },
    );

    let s = state.clone();
    let patch = warp::path!("v1" / "workers" / String)
        .and(warp::patch())
        .and(auth::role(s.clone(), Role::Admin))
        .and(json_body::<WorkerPatch>(&s))
        .then(move |id: String, _: Caller, p: WorkerPatch| {
            let s = s.clone();
            async move {
                let result = async {
                    let id = WorkerId::parse(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
                    let current = s.engine.get_worker(&id).await?;
                    let next = p.apply(&current).map_err(|e| ApiError::from(autoglm_actors::EngineError::from(e)))?;
                    Ok::<_, ApiError>(s.engine.update_worker(next).await?)
                };
                render(result.await)
            }
        });

    let s = state.clone();
    let jobs = warp::path!("v1" / "workers" / "me" / "jobs")
        .and(warp::get())
        .and(auth::role(s.clone(), Role::Worker))
        .then(move |caller: Caller| {
            let s = s.clone();
            async move {
                if caller.role != Role::Worker {
                    return ApiError::forbidden("this needs a worker token").into_response();
                }
                render(s.engine.worker_jobs(&WorkerId(caller.subject)).await.map_err(ApiError::from))
            }
        });

    let check_in = job(&state, "check-in", |w| Command::CheckIn { worker: w });
    let complete = job(&state, "complete", |w| Command::Complete { worker: w });
    let decline = job(&state, "decline", |w| Command::Decline { worker: w });

    // `me/jobs` must be tried before `{id}` so "me" is not taken for an id.
    jobs.or(register)
        .unify()
        .or(get)
        .unify()
        .or(patch)
        .unify()
        .or(check_in)
        .unify()
        .or(complete)
        .unify()
        .or(decline)
        .unify()
        .boxed()
}

/// `POST /v1/jobs/{order_id}/{action}` by the assigned worker.
fn job(state: &AppState, action: &'static str, make: fn(WorkerId) -> Command) -> BoxedFilter<(Response,)> {
    let s = state.clone();
    warp::path("v1")
        .and(warp::path("jobs"))
        .and(warp::path::param::<String>())
        .and(warp::path(action))
        .and(warp::path::end())
        .and(warp::post())
        .and(auth::role(s.clone(), Role::Worker))
        .and(optional_json_body::<Empty>(&s))
        .then(move |id: String, caller: Caller, _: Empty| {
            let s = s.clone();
            async move {
                if caller.role != Role::Worker {
                    return ApiError::forbidden("this needs a worker token").into_response();
                }
                let result = async {
                    let id = order_id(&id)?;
                    let cmd = make(WorkerId(caller.subject.clone()));
                    Ok::<_, ApiError>(s.engine.command(&caller, &id, cmd).await?)
                };
                render(result.await)
            }
        })
        .boxed()
}
