//! One place that turns engine errors and warp rejections into the JSON
//! error shape of DESIGN.md §3: `{"error": {"code": "...", "message": "..."}}`.

use autoglm_actors::{ChatError, EngineError};
use autoglm_core::DomainError;
use serde_json::json;
use std::convert::Infallible;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Rejection;

/// An error as the API shows it.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 with `message`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 with `message`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// The error as an HTTP response.
    pub fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        warp::reply::with_status(warp::reply::json(&body), self.status).into_response()
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        match e {
            ChatError::BadRequest(_) => ApiError::new(S::BAD_REQUEST, "bad_request", message),
            ChatError::Busy(_) => ApiError::new(S::CONFLICT, "busy", message),
            ChatError::Overloaded(_) => ApiError::new(S::TOO_MANY_REQUESTS, "overloaded", message),
            ChatError::Unavailable(_) => ApiError::new(S::SERVICE_UNAVAILABLE, "unavailable", message),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        match e {
            EngineError::NotFound(..) => ApiError::new(S::NOT_FOUND, "not_found", message),
            EngineError::Forbidden(_) => ApiError::new(S::FORBIDDEN, "forbidden", message),
            EngineError::Domain(d) => domain(d),
            EngineError::Conflict(_) | EngineError::Duplicate => ApiError::new(S::CONFLICT, "conflict", message),
            EngineError::BadRequest(_) => ApiError::new(S::BAD_REQUEST, "bad_request", message),
            EngineError::Overloaded(_) => ApiError::new(S::TOO_MANY_REQUESTS, "overloaded", message),
            EngineError::Unavailable(_) => ApiError::new(S::SERVICE_UNAVAILABLE, "unavailable", message),
            EngineError::Payment(_) => ApiError::new(S::CONFLICT, "payment_rejected", message),
        }
    }
}

fn domain(d: DomainError) -> ApiError {
    use StatusCode as S;
    let message = d.to_string();
    match d {
        DomainError::InvalidTransition { .. } | DomainError::AlreadyRated | DomainError::TooManyReschedules(_) => {
            ApiError::new(S::CONFLICT, "invalid_state", message)
        }
        DomainError::TooLate { .. } => ApiError::new(S::CONFLICT, "too_late", message),
        DomainError::StartInPast(_) | DomainError::TooFarAhead(_) => {
            ApiError::new(S::UNPROCESSABLE_ENTITY, "bad_time", message)
        }
        _ => ApiError::new(S::UNPROCESSABLE_ENTITY, "invalid", message),
    }
}

/// Turns any rejection into the JSON error shape.
pub async fn recover(rej: Rejection) -> Result<Response, Infallible> {
    use StatusCode as S;
    let err = if let Some(e) = rej.find::<ApiError>() {
        e.clone()
    } else if rej.is_not_found() {
        ApiError::new(S::NOT_FOUND, "not_found", "no such route")
    } else if rej.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::new(S::PAYLOAD_TOO_LARGE, "too_large", "request body is too large")
    } else if rej.find::<warp::reject::LengthRequired>().is_some() {
        ApiError::new(S::LENGTH_REQUIRED, "length_required", "send a Content-Length header")
    } else if rej.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::new(S::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
    } else if let Some(e) = rej.find::<warp::reject::InvalidQuery>() {
        ApiError::bad_request(e.to_string())
    } else if let Some(e) = rej.find::<warp::reject::MissingHeader>() {
        ApiError::bad_request(e.to_string())
    } else if let Some(e) = rej.find::<warp::reject::InvalidHeader>() {
        ApiError::bad_request(e.to_string())
    } else if rej.find::<warp::reject::UnsupportedMediaType>().is_some() {
        ApiError::new(S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send application/json")
    } else {
        tracing::warn!(rejection = ?rej, "unhandled rejection");
        ApiError::new(S::INTERNAL_SERVER_ERROR, "internal", "internal error")
    };
    Ok(err.into_response())
}
