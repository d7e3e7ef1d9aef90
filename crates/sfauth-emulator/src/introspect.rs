//! `POST {site}/services/oauth2/introspect`: is this token alive, and whose is it?
//!
//! The caller must authenticate as the connected app (id and secret, in the form or
//! HTTP Basic), else 401 `invalid_client`. A live token gets
//! `{"active": true, "scope", "client_id", "username", "sub", "token_type", "exp", "iat",
//! "nbf"}` (times in Unix seconds); anything else `{"active": false}`.
//!
//! An access token's `exp` is its issue time plus
//! [`Config::access_token_lifetime`](crate::Config::access_token_lifetime). Refresh
//! tokens have no expiry here (the "valid until revoked" policy); their `exp` is reported
//! as issue time plus [`REFRESH_TOKEN_EXP_SECS`], far enough ahead never to matter in a test.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::client_auth::{self, SecretPolicy};
use crate::credentials;
use crate::form::Params;
use crate::reply;
use crate::state::{Shared, TokenKind};

/// Reported lifetime of a refresh token: one year.
const REFRESH_TOKEN_EXP_SECS: u64 = 365 * 24 * 60 * 60;

/// The introspection endpoint.
pub(crate) async fn introspect(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    shared.lock().stats.introspections += 1;
    // Whatever is wrong with the client (missing, unknown, bad secret) is one answer.
    let client =
        client_auth::authenticate(&shared.config, &headers, &params, SecretPolicy::Required);
    if client.is_err() {
        return reply::oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "invalid client credentials",
        );
    }
    let Some(token) = params.get("token") else {
        return reply::oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "missing required parameter: token",
        );
    };
    let lifetime = shared.config.access_token_lifetime;
    let found = shared.lock().introspect(token, lifetime);
    let Some(found) = found else {
        return reply::json(StatusCode::OK, &json!({ "active": false }));
    };
    let (token_type, exp) = match found.kind {
        TokenKind::Access => ("access_token", found.issued_unix + lifetime.as_secs()),
        TokenKind::Refresh => ("refresh_token", found.issued_unix + REFRESH_TOKEN_EXP_SECS),
    };
    let sub = shared.identity_url(&credentials::user_id(&found.username));
    reply::json(
        StatusCode::OK,
        &json!({
            "active": true,
            "scope": found.scope,
            "client_id": shared.config.client_id,
            "username": found.username,
            "sub": sub,
            "token_type": token_type,
            "exp": exp,
            "iat": found.issued_unix,
            "nbf": found.issued_unix,
        }),
    )
}
