//! `GET {site}/services/oauth2/authorize`: the web-server flow's login page, minus the
//! page. The emulated user is always logged in and answers the consent screen at once,
//! per [`Config::consent`](crate::Config::consent).
//!
//! Problems with the client or the callback URL are answered 400 with a JSON error body
//! (there is nowhere safe to redirect to); everything else is reported on the redirect,
//! in the query, as Salesforce does for the web-server flow.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::client_auth;
use crate::config::Consent;
use crate::credentials;
use crate::form::Params;
use crate::reply;
use crate::state::{AuthCode, DEFAULT_SCOPE, DEFAULT_USER, Shared};

/// The authorize endpoint.
pub(crate) async fn authorize(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    shared.lock().stats.authorizations += 1;
    let config = &shared.config;

    if !params
        .get("client_id")
        .is_some_and(|id| client_auth::is_client_id(config, id))
    {
        return refuse("invalid_client_id", "client identifier invalid");
    }
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return refuse("redirect_uri_missing", "redirect_uri must not be empty");
    };
    let registered = config.redirect_uris.iter().any(|uri| uri == redirect_uri);
    let target = Url::parse(redirect_uri).ok().filter(|_| registered);
    let Some(target) = target else {
        return refuse(
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    };
    let state = params.get("state");

    if params.get("response_type") != Some("code") {
        return redirect(
            target,
            &[
                ("error", "unsupported_response_type"),
                ("error_description", "response type not supported"),
            ],
            state,
        );
    }
    let code_challenge = params.get("code_challenge");
    // Salesforce's older docs had no method parameter; a challenge alone means S256.
    if code_challenge.is_some()
        && params
            .get("code_challenge_method")
            .is_some_and(|m| m != "S256")
    {
        return redirect(
            target,
            &[
                ("error", "invalid_request"),
                ("error_description", "unsupported code challenge method"),
            ],
            state,
        );
    }
    if config.consent == Consent::Deny {
        return redirect(
            target,
            &[
                ("error", "access_denied"),
                ("error_description", "end-user denied authorization"),
            ],
            state,
        );
    }

    let scope = params.get("scope").map_or_else(
        || DEFAULT_SCOPE.to_owned(),
        |scope| scope.split_whitespace().collect::<Vec<_>>().join(" "),
    );
    let username = params.get("login_hint").unwrap_or(DEFAULT_USER);
    let code = credentials::authorization_code();
    shared.lock().store_code(
        code.clone(),
        AuthCode::new(
            redirect_uri.to_owned(),
            code_challenge.map(str::to_owned),
            scope,
            username.to_owned(),
        ),
    );
    redirect(target, &[("code", &code)], state)
}

/// 400 with a JSON error body: for a request that cannot be redirected safely.
fn refuse(error: &str, description: &str) -> Response {
    tracing::debug!(error, description, "authorize request refused");
    reply::oauth_error(StatusCode::BAD_REQUEST, error, description)
}

/// 302 to the callback with these query parameters, then `state` if the request had one.
fn redirect(mut target: Url, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    {
        let mut query = target.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, target.to_string()),
            (header::CACHE_CONTROL, "no-cache,no-store".to_owned()),
        ],
    )
        .into_response()
}
