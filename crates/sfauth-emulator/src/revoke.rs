//! `{site}/services/oauth2/revoke`: logging out.
//!
//! A refresh token takes its whole family with it; an access token dies alone. Unknown
//! tokens get Salesforce's 400 `invalid_token`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::reply;
use crate::state::Shared;

/// `POST` with a form body `token=...`.
pub(crate) async fn revoke_form(
    State(shared): State<Arc<Shared>>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let params = form.map(|Form(params)| params).unwrap_or_default();
    revoke(&shared, params.get("token").map(String::as_str))
}

/// `GET ?token=...`, the older variant.
pub(crate) async fn revoke_query(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    revoke(&shared, params.get("token").map(String::as_str))
}

fn revoke(shared: &Shared, token: Option<&str>) -> Response {
    let revoked = token.is_some_and(|token| {
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
