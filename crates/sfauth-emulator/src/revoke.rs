//! `{site}/services/oauth2/revoke`: logging out.
//!
//! A refresh token takes its whole family with it; an access token dies alone. Unknown
//! tokens get Salesforce's 400 `invalid_token`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::form::Params;
use crate::reply;
use crate::state::Shared;

/// `POST` with a form body `token=...`, or the older `GET ?token=...`.
pub(crate) async fn revoke(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let revoked = params.raw("token").is_some_and(|token| {
        let mut state = shared.lock();
        state.revoke_refresh_token(token) || state.revoke_access_token(token)
    });
    if revoked {
        shared.lock().stats.revocations += 1;
        StatusCode::OK.into_response()
    } else {
        reply::oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token was invalid",
        )
    }
}
