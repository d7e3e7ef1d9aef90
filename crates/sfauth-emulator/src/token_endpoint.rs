//! `POST {site}/services/oauth2/token`: counts the request, lets the next queued fault
//! have its way ([`crate::twist`]), and hands the rest to the grant the form names
//! ([`crate::grants`]).
//!
//! It holds no grant and no shared vocabulary: refusals are in [`crate::denial`], client
//! authentication in [`crate::client_auth`], success bodies in [`crate::token_response`].

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::connection::ConnectionKiller;
use crate::denial::Denial;
use crate::form::Params;
use crate::grants;
use crate::reply;
use crate::state::Shared;
use crate::twist::{self, Outcome, Plan, Twist};

/// The token endpoint. The form is taken leniently ([`Params`]): a body that is not
/// form-encoded has no parameters, which Salesforce answers with `unsupported_grant_type`.
///
/// The request is processed on its own task, so it runs to completion (rotation,
/// counters) even when the client hangs up mid-way and hyper drops this handler: Salesforce
/// does not stop a refresh because its caller went away, and a client must cope with that.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    killer: Option<Extension<ConnectionKiller>>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let outcome = tokio::spawn(process(shared, headers, params)).await;
    match outcome {
        Ok(Outcome::Answer(response)) => response,
        Ok(Outcome::Close) => close(killer).await,
        Ok(Outcome::Hang(duration)) => {
            tokio::time::sleep(duration).await;
            close(killer).await
        }
        // Only a panic in the emulator gets here; a loud 500 beats a silent hang.
        Err(error) => reply::raw(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            format!("emulator task failed: {error}"),
        ),
    }
}

/// Consumes the next fault and runs the grant, independently of the connection.
async fn process(shared: Arc<Shared>, headers: HeaderMap, params: Params) -> Outcome {
    let fault = {
        let mut state = shared.lock();
        state.stats.token_requests += 1;
        let fault = state.faults.pop_front();
        if fault.is_some() {
            state.stats.faults_served += 1;
        }
        fault
    };
    let (twist, after) = match twist::plan(fault) {
        Plan::Instead(outcome) => return outcome,
        Plan::Process(twist, after) => (twist, after),
    };
    let response = match grant(&shared, &headers, &params, twist).await {
        Ok(body) => reply::json(StatusCode::OK, &body),
        Err(denial) => denial.answer(&shared),
    };
    after.apply(response).await
}

/// Drops the connection without answering; see [`ConnectionKiller`].
async fn close(killer: Option<Extension<ConnectionKiller>>) -> Response {
    match killer {
        Some(Extension(killer)) => match killer.kill().await {},
        // Only reachable if the router is served by something other than our accept
        // loop; a loud 500 beats silently answering normally.
        None => reply::raw(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            "connection killer missing".to_owned(),
        ),
    }
}

/// The URN of the JWT bearer grant.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Runs the grant named by `grant_type` (or the device-code request, which Salesforce
/// takes at the token endpoint with `response_type=device_code` and no grant type).
async fn grant(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
    twist: Twist,
) -> Result<Value, Denial> {
    match params.raw("grant_type") {
        Some("refresh_token") => grants::refresh(shared, headers, params, twist).await,
        Some("authorization_code") => {
            grants::authorization_code(shared, headers, params, twist).await
        }
        Some(JWT_BEARER) => grants::jwt_bearer(shared, params, twist).await,
        Some("client_credentials") => {
            grants::client_credentials(shared, headers, params, twist).await
        }
        Some("password") => grants::password(shared, headers, params, twist).await,
        Some("device") => grants::device_poll(shared, headers, params, twist).await,
        None if params.raw("response_type") == Some("device_code") => {
            grants::device_start(shared, headers, params, twist).await
        }
        _ => Err(Denial::UNSUPPORTED_GRANT),
    }
}
