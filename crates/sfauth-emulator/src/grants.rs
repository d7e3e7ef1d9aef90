//! The token endpoint's other grants: web-server (authorization code + PKCE), JWT
//! bearer, client credentials, username-password, and the device flow.
//!
//! Each success starts a new token family. Refresh tokens (web-server and device flows
//! only) then work with the refresh-token grant in [`crate::token_endpoint`].

use std::collections::HashMap;

use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::config::Consent;
use crate::credentials;
use crate::jwt;
use crate::state::{DEFAULT_SCOPE, DevicePoll, Shared};
use crate::token_endpoint::{
    Denial, SecretPolicy, Shape, Twist, authenticate_client, constant_time_eq, missing,
    shaped_token_response,
};

/// Scopes of the grants that never yield a refresh token (JWT bearer, client
/// credentials, username-password).
pub(crate) const SESSION_SCOPE: &str = "api id";

/// The answer to an unknown, used or expired authorization code.
const BAD_CODE: Denial = Denial::invalid_grant("invalid authorization code");

/// The answer to a PKCE verifier that is missing or does not match the challenge.
const BAD_VERIFIER: Denial = Denial::invalid_grant("invalid code verifier");

/// The answer to a refused username-password login, whatever the reason (flow blocked,
/// unknown user, wrong password): Salesforce does not say which.
const AUTHENTICATION_FAILURE: Denial = Denial::invalid_grant("authentication failure");

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
}

/// Whether a space-separated scope list lets the client have a refresh token.
fn allows_refresh(scope: &str) -> bool {
    scope
        .split(' ')
        .any(|s| s == "refresh_token" || s == "offline_access")
}

/// `grant_type=authorization_code`: redeems a code from the authorize endpoint.
///
/// The code is used up by the first attempt, successful or not.
pub(crate) async fn authorization_code(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    twist: Twist,
) -> Result<Value, Denial> {
    authenticate_client(shared, headers, params, SecretPolicy::IfSent)?;
    let code = param(params, "code").ok_or_else(|| missing("code"))?;
    let grant = shared.lock().take_code(code).ok_or(BAD_CODE)?;
    if param(params, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return Err(Denial::Rejected {
            error: "redirect_uri_mismatch",
            description: "redirect_uri must match configuration",
        });
    }
    if let Some(challenge) = &grant.code_challenge {
        let verifier = param(params, "code_verifier").ok_or(BAD_VERIFIER)?;
        if !constant_time_eq(&credentials::pkce_challenge(verifier), challenge) {
            return Err(BAD_VERIFIER);
        }
    }
    twist.processing_delay(shared).await;
    let issued = {
        let mut state = shared.lock();
        state.stats.codes_exchanged += 1;
        let refresh = allows_refresh(&grant.scope);
        state.start_family(
            &grant.username,
            &grant.scope,
            refresh,
            &shared.config.org_id,
        )
    };
    Ok(shaped_token_response(
        shared,
        &issued,
        Shape {
            bad_signature: twist.bad_signature,
            ..Shape::FULL
        },
    ))
}

/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`: a signed assertion instead
/// of a client secret. No refresh token and no signature in the answer.
pub(crate) async fn jwt_bearer(
    shared: &Shared,
    params: &HashMap<String, String>,
    twist: Twist,
) -> Result<Value, Denial> {
    let assertion = param(params, "assertion").ok_or_else(|| missing("assertion"))?;
    let username = jwt::verify(shared, assertion)?;
    twist.processing_delay(shared).await;
    let issued = {
        let mut state = shared.lock();
        state.stats.jwt_grants += 1;
        state.start_family(&username, SESSION_SCOPE, false, &shared.config.org_id)
    };
    Ok(shaped_token_response(
        shared,
        &issued,
        Shape {
            signature: false,
            bad_signature: false,
            scope: true,
        },
    ))
}

/// `grant_type=client_credentials`: the app logs in as its "Run As" user. The secret
/// is required. No refresh token.
pub(crate) async fn client_credentials(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    twist: Twist,
) -> Result<Value, Denial> {
    authenticate_client(shared, headers, params, SecretPolicy::Required)?;
    let Some(username) = &shared.config.client_credentials_user else {
        return Err(Denial::invalid_grant("no client credentials user enabled"));
    };
    twist.processing_delay(shared).await;
    let issued = {
        let mut state = shared.lock();
        state.stats.client_credentials_grants += 1;
        state.start_family(username, SESSION_SCOPE, false, &shared.config.org_id)
    };
    Ok(shaped_token_response(
        shared,
        &issued,
        Shape {
            bad_signature: twist.bad_signature,
            ..Shape::FULL
        },
    ))
}

/// `grant_type=password`: the username-password flow, blocked unless
/// [`Config::password_flow`](crate::Config::password_flow). The client secret is
/// required. No refresh token and no `scope` in the answer ("doesn't support scopes").
pub(crate) async fn password(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    twist: Twist,
) -> Result<Value, Denial> {
    authenticate_client(shared, headers, params, SecretPolicy::Required)?;
    let username = param(params, "username").ok_or_else(|| missing("username"))?;
    let password = param(params, "password").ok_or_else(|| missing("password"))?;
    let config = &shared.config;
    if !config.password_flow {
        return Err(AUTHENTICATION_FAILURE);
    }
    let known = config
        .users
        .iter()
        .any(|(name, secret)| name == username && constant_time_eq(password, secret));
    if !known {
        return Err(AUTHENTICATION_FAILURE);
    }
    twist.processing_delay(shared).await;
    let issued = {
        let mut state = shared.lock();
        state.stats.password_grants += 1;
        state.start_family(username, SESSION_SCOPE, false, &config.org_id)
    };
    Ok(shaped_token_response(
        shared,
        &issued,
        Shape {
            signature: true,
            bad_signature: twist.bad_signature,
            scope: false,
        },
    ))
}

/// `response_type=device_code`: starts a device flow. The answer is 200 with
/// `device_code`, `user_code`, `verification_uri` and `interval`.
pub(crate) async fn device_start(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    twist: Twist,
) -> Result<Value, Denial> {
    authenticate_client(shared, headers, params, SecretPolicy::IfSent)?;
    let scope = param(params, "scope").unwrap_or(DEFAULT_SCOPE);
    let device_code = credentials::device_code();
    twist.processing_delay(shared).await;
    shared.lock().store_device_code(device_code.clone(), scope);
    Ok(json!({
        "device_code": device_code,
        "user_code": credentials::user_code(),
        "verification_uri": format!("{}{}/setup/connect", shared.url, shared.config.site),
        "interval": shared.config.device_interval_secs,
    }))
}

/// `grant_type=device&code=<device_code>`: one poll of a device flow. See
/// [`Config::device_approve_after_polls`](crate::Config::device_approve_after_polls).
/// A granted device flow always includes a refresh token.
pub(crate) async fn device_poll(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    twist: Twist,
) -> Result<Value, Denial> {
    shared.lock().stats.device_polls += 1;
    authenticate_client(shared, headers, params, SecretPolicy::IfSent)?;
    let device_code = param(params, "code").ok_or_else(|| missing("code"))?;
    let config = &shared.config;
    let poll = shared.lock().poll_device(
        device_code,
        config.device_slow_down_polls,
        config.device_approve_after_polls,
    );
    let scope = match poll {
        DevicePoll::Unknown => return Err(Denial::invalid_grant("invalid device code")),
        DevicePoll::SlowDown => {
            return Err(Denial::Quiet {
                error: "slow_down",
                description: "polling too frequently",
            });
        }
        DevicePoll::Pending => {
            return Err(Denial::Quiet {
                error: "authorization_pending",
                description: "authorization pending",
            });
        }
        DevicePoll::Decided { scope } => scope,
    };
    if config.consent == Consent::Deny {
        return Err(Denial::Rejected {
            error: "access_denied",
            description: "end-user denied authorization",
        });
    }
    twist.processing_delay(shared).await;
    let issued =
        shared
            .lock()
            .start_family(crate::authorize::DEFAULT_USER, &scope, true, &config.org_id);
    Ok(shaped_token_response(
        shared,
        &issued,
        Shape {
            bad_signature: twist.bad_signature,
            ..Shape::FULL
        },
    ))
}
