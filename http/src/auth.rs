//! Bearer-token authentication: `Authorization: Bearer <token>`, verified
//! with the node's token key; the claims become the [`Caller`].

use crate::error::ApiError;
use crate::AppState;
use autoglm_actors::Caller;
use autoglm_core::auth::Role;
use warp::{Filter, Rejection};

/// Extracts the verified caller, or rejects with 401.
pub fn caller(state: AppState) -> impl Filter<Extract = (Caller,), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization").and_then(move |header: Option<String>| {
        let state = state.clone();
        async move { verify(&state, header.as_deref()).map_err(warp::reject::custom) }
    })
}

/// Extracts the caller and checks it has `role` (admins pass every check).
pub fn role(state: AppState, role: Role) -> impl Filter<Extract = (Caller,), Error = Rejection> + Clone {
    caller(state).and_then(move |c: Caller| async move {
        if c.role == role || c.role == Role::Admin {
            Ok(c)
        } else {
            Err(warp::reject::custom(ApiError::forbidden(format!("this needs a {} token", role_name(role)))))
        }
    })
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Customer => "customer",
        Role::Worker => "worker",
        Role::Admin => "admin",
    }
}

fn verify(state: &AppState, header: Option<&str>) -> Result<Caller, ApiError> {
    let header = header.ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::unauthorized("Authorization must be 'Bearer <token>'"))?;
    let now = chrono::Utc::now().timestamp();
    let claims = state.tokens.verify(token.trim(), now).map_err(|e| ApiError::unauthorized(e.to_string()))?;
    Ok(claims.into())
}
