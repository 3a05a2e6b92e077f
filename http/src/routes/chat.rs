//! `POST /v1/chat` and the mini program's `POST /api/v1/order/place`.

use crate::auth;
use crate::{json_body, render, ApiError, AppState};
use autoglm_actors::{Caller, ChatRequest, ChatService};
use autoglm_core::auth::Role;
use autoglm_core::CustomerId;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

/// The mini program's request: just the text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceRequest {
    text: String,
}

/// Chat routes (customers only: the chat acts on the caller's own orders).
pub fn chat(state: AppState) -> BoxedFilter<(Response,)> {
    let s = state.clone();
    let turn = warp::path!("v1" / "chat")
        .and(warp::post())
        .and(auth::role(s.clone(), Role::Customer))
        .and(json_body::<ChatRequest>(&s))
        .then(move |caller: Caller, req: ChatRequest| {
            let s = s.clone();
            async move {
                let result = async {
                    let chat = service(&s)?;
                    Ok::<_, ApiError>(chat.turn(&CustomerId(caller.subject), req).await?)
                };
                render(result.await)
            }
        });

    let s = state;
    let place = warp::path!("api" / "v1" / "order" / "place")
        .and(warp::post())
        .and(auth::role(s.clone(), Role::Customer))
        .and(json_body::<PlaceRequest>(&s))
        .then(move |caller: Caller, req: PlaceRequest| {
            let s = s.clone();
            async move {
                let result = async {
                    let chat = service(&s)?;
                    Ok::<_, ApiError>(chat.place(&CustomerId(caller.subject), &req.text).await?)
                };
                render(result.await)
            }
        });

    turn.or(place).unify().boxed()
}

fn service(state: &AppState) -> Result<&ChatService, ApiError> {
    state.chat.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the chat is not running on this node")
    })
}
