//! Gateway callbacks and the sandbox's "customer pays" button.

use crate::{render, ApiError, AppState};
use autoglm_core::PaymentId;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

/// Payment routes.
pub fn payments(state: AppState) -> BoxedFilter<(Response,)> {
    let s = state.clone();
    let callback = warp::path!("v1" / "payments" / "callback")
        .and(warp::post())
        .and(warp::header::optional::<String>("x-signature"))
        .and(warp::body::content_length_limit(state.body_limit))
        .and(warp::body::bytes())
        .then(move |sig: Option<String>, body: bytes::Bytes| {
            let s = s.clone();
            async move {
                let Some(sig) = sig else {
                    return ApiError::unauthorized("missing X-Signature header").into_response();
                };
                render(s.engine.payment_callback(&body, &sig).await.map_err(ApiError::from))
            }
        });

    let s = state.clone();
    let sandbox = warp::path!("v1" / "sandbox" / "pay" / String).and(warp::post()).then(move |id: String| {
        let s = s.clone();
        async move {
            let result = async {
                let id = PaymentId::parse(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
                let notice = s.engine.sandbox_pay(&id).await?;
                Ok::<_, ApiError>(serde_json::json!({
                    "payment_id": notice.payment_id,
                    "order_id": notice.order_id,
                    "status": "paid",
                    "message": "payment simulated; the gateway is calling back",
                }))
            };
            render(result.await)
        }
    });

    callback.or(sandbox).unify().boxed()
}
