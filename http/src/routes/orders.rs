//! `/v1/orders…`: placing, reading and changing orders.

use super::order_id;
use crate::auth;
use crate::{json_body, json_reply, optional_json_body, render, ApiError, AppState};
use autoglm_actors::{Caller, Command};
use autoglm_core::auth::Role;
use autoglm_core::order::OrderRequest;
use autoglm_core::{CustomerId, OrderState};
use autoglm_storage::CustomerPrefs;
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    limit: Option<u64>,
    offset: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RescheduleBody {
    start: DateTime<FixedOffset>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeWorkerBody {
    #[serde(default)]
    block: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateBody {
    stars: u8,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// Order routes.
pub fn orders(state: AppState) -> BoxedFilter<(Response,)> {
    let s = state.clone();
    let create = warp::path!("v1" / "orders")
        .and(warp::post())
        .and(auth::role(s.clone(), Role::Customer))
        .and(warp::header::optional::<String>("idempotency-key"))
        .and(json_body::<OrderRequest>(&s))
        .then(move |caller: Caller, key: Option<String>, req: OrderRequest| {
            let s = s.clone();
            async move {
                if caller.role != Role::Customer {
                    return ApiError::forbidden("orders are placed with a customer token").into_response();
                }
                let customer = CustomerId(caller.subject.clone());
                match s.engine.create_order(&customer, req, key.as_deref()).await {
                    Ok((order, true)) => json_reply(&order, StatusCode::CREATED),
                    Ok((order, false)) => json_reply(&order, StatusCode::OK),
                    Err(e) => ApiError::from(e).into_response(),
                }
            }
        });

    let s = state.clone();
    let list = warp::path!("v1" / "orders")
        .and(warp::get())
        .and(auth::caller(s.clone()))
        .and(warp::query::<ListQuery>())
        .then(move |caller: Caller, q: ListQuery| {
            let s = s.clone();
            async move {
                let states = match q.state.as_deref() {
                    None | Some("") => Vec::new(),
                    Some(list) => {
                        match list.split(',').map(|x| OrderState::parse(x.trim())).collect::<Option<Vec<_>>>() {
                            Some(v) => v,
                            None => return ApiError::bad_request(format!("unknown state in {list:?}")).into_response(),
                        }
                    }
                };
                let orders = s.engine.list_orders(&caller, states, q.limit.unwrap_or(50), q.offset.unwrap_or(0)).await;
                render(orders.map_err(ApiError::from))
            }
        });

    let s = state.clone();
    let get = warp::path!("v1" / "orders" / String).and(warp::get()).and(auth::caller(s.clone())).then(
        move |id: String, caller: Caller| {
            let s = s.clone();
            async move {
                let result = async { Ok(s.engine.get_order(&caller, &order_id(&id)?).await?) };
                render(result.await)
            }
        },
    );

    let s = state.clone();
    let pay = warp::path!("v1" / "orders" / String / "pay")
        .and(warp::post())
        .and(auth::caller(s.clone()))
        .and(optional_json_body::<Empty>(&s))
        .then(move |id: String, caller: Caller, _: Empty| {
            let s = s.clone();
            async move {
                let result = async { Ok(s.engine.pay(&caller, &order_id(&id)?).await?) };
                render(result.await)
            }
        });

    let cancel = command(&state, "cancel", optional_json_body::<Empty>(&state).map(|_: Empty| Command::Cancel).boxed());
    let reschedule = command(
        &state,
        "reschedule",
        json_body::<RescheduleBody>(&state).map(|b: RescheduleBody| Command::Reschedule { start: b.start }).boxed(),
    );
    let change_worker = command(
        &state,
        "change-worker",
        optional_json_body::<ChangeWorkerBody>(&state)
            .map(|b: ChangeWorkerBody| Command::ChangeWorker { block: b.block })
            .boxed(),
    );
    let rate = command(
        &state,
        "rate",
        json_body::<RateBody>(&state).map(|b: RateBody| Command::Rate { stars: b.stars }).boxed(),
    );

    let s = state.clone();
    let prefs = warp::path!("v1" / "customers" / "me" / "preferences")
        .and(warp::put())
        .and(auth::role(s.clone(), Role::Customer))
        .and(json_body::<CustomerPrefs>(&s))
        .then(move |caller: Caller, prefs: CustomerPrefs| {
            let s = s.clone();
            async move {
                let customer = CustomerId(caller.subject.clone());
                let result = s.engine.set_prefs(&customer, prefs.clone()).await.map(|()| prefs);
                render(result.map_err(ApiError::from))
            }
        });

    create
        .or(list)
        .unify()
        .or(get)
        .unify()
        .or(pay)
        .unify()
        .or(cancel)
        .unify()
        .or(reschedule)
        .unify()
        .or(change_worker)
        .unify()
        .or(rate)
        .unify()
        .or(prefs)
        .unify()
        .boxed()
}

/// `POST /v1/orders/{id}/{action}` with a body that becomes `Command`.
fn command(state: &AppState, action: &'static str, body: BoxedFilter<(Command,)>) -> BoxedFilter<(Response,)> {
    let s = state.clone();
    warp::path("v1")
        .and(warp::path("orders"))
        .and(warp::path::param::<String>())
        .and(warp::path(action))
        .and(warp::path::end())
        .and(warp::post())
        .and(auth::caller(s.clone()))
        .and(body)
        .then(move |id: String, caller: Caller, cmd: Command| {
            let s = s.clone();
            async move {
                let result = async { Ok(s.engine.command(&caller, &order_id(&id)?, cmd).await?) };
                render(result.await)
            }
        })
        .boxed()
}
