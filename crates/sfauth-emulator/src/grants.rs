//! The token endpoint's grants: refresh token, web-server (authorization code + PKCE),
//! JWT bearer, client credentials, username-password, and the device flow.
//!
//! Each grant checks the client through [`client_auth`] (the JWT bearer grant by the
//! assertion's `iss`), answers success with [`token_response`] and refusal with a
//! [`Denial`]. Each login starts a new token family;
//! refresh tokens (web-server and device flows only) then work with [`refresh`]. Which
//! grant a request asks for is decided by [`crate::token_endpoint`], not here.

use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::client_auth::{self, Presented, SecretPolicy};
use crate::config::Consent;
use crate::credentials::{self, constant_time_eq};
use crate::denial::Denial;
use crate::form::Params;
use crate::jwt;
use crate::state::{DEFAULT_SCOPE, DEFAULT_USER, DevicePoll, Shared};
use crate::stats::Stats;
use crate::token_response::{Shape, token_response};
use crate::twist::Twist;

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

/// Whether a space-separated scope list lets the client have a refresh token.
fn allows_refresh(scope: &str) -> bool {
    scope
        .split(' ')
        .any(|s| s == "refresh_token" || s == "offline_access")
}

/// `grant_type=refresh_token`: a new access token for a live refresh token, and a new
/// refresh token too when [`Config::rotation`](crate::Config::rotation) is on.
///
/// The token is "being processed" for the configured latency; a second request with it
/// meanwhile is refused as parallel, and a rotated-out token revokes its family.
pub(crate) async fn refresh(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
    twist: Twist,
) -> Result<Value, Denial> {
    // Salesforce names a missing refresh token before it checks who the client is.
    let client = Presented::from_request(headers, params)?;
    let refresh_token = params
        .get("refresh_token")
        .ok_or_else(|| Denial::missing("refresh_token"))?;
    let config = &shared.config;
    client.check(config, SecretPolicy::for_refresh(config))?;

    let latency = {
        let mut state = shared.lock();
        state.begin_refresh(refresh_token)?;
        state.latency
    };
    let mut in_flight = InFlightGuard {
        shared,
        refresh_token,
        armed: true,
    };
    // The token is "being processed" for this whole window; parallel requests are refused.
    tokio::time::sleep(latency + twist.extra_delay).await;
    let issued = {
        let mut state = shared.lock();
        in_flight.armed = false;
        let issued = state.finish_refresh(refresh_token, config.rotation, &config.org_id)?;
        state.stats.refreshes_served += 1;
        issued
    };
    tracing::debug!(rotated = issued.refresh_token.is_some(), "refresh served");
    Ok(token_response(shared, &issued, Shape::FULL, twist))
}

/// Clears the in-flight mark if the refresh future is dropped mid-refresh (the emulator
/// shut down; a client that goes away no longer stops it), so the token is not stuck as
/// "being processed" forever.
struct InFlightGuard<'a> {
    shared: &'a Shared,
    refresh_token: &'a str,
    armed: bool,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.lock().abandon_refresh(self.refresh_token);
        }
    }
}

/// Who a login grant logs in, with what scope, whether a refresh token comes with it, and
/// the shape of its answer.
struct Login<'a> {
    username: &'a str,
    scope: &'a str,
    refresh: bool,
    shape: Shape,
}

impl<'a> Login<'a> {
    /// A login with the session scope and no refresh token (JWT bearer, client credentials,
    /// password).
    fn session(username: &'a str, shape: Shape) -> Self {
        Login {
            username,
            scope: SESSION_SCOPE,
            refresh: false,
            shape,
        }
    }
}

/// The end every login grant shares once its checks pass: the emulated processing time, the
/// grant's counter, a new token family, and the answer in the grant's shape.
async fn log_in(
    shared: &Shared,
    twist: Twist,
    count: impl FnOnce(&mut Stats),
    login: Login<'_>,
) -> Value {
    twist.processing_delay(shared).await;
    let issued = {
        let mut state = shared.lock();
        count(&mut state.stats);
        state.start_family(
            login.username,
            login.scope,
            login.refresh,
            &shared.config.org_id,
        )
    };
    token_response(shared, &issued, login.shape, twist)
}

/// `grant_type=authorization_code`: redeems a code from the authorize endpoint.
///
/// The code is used up by the first attempt, successful or not.
pub(crate) async fn authorization_code(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
    twist: Twist,
) -> Result<Value, Denial> {
    client_auth::authenticate(&shared.config, headers, params, SecretPolicy::IfSent)?;
    let code = params.get("code").ok_or_else(|| Denial::missing("code"))?;
    let grant = shared.lock().take_code(code).ok_or(BAD_CODE)?;
    if params.get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return Err(Denial::Rejected {
            error: "redirect_uri_mismatch",
            description: "redirect_uri must match configuration",
        });
    }
    if let Some(challenge) = &grant.code_challenge {
        let verifier = params.get("code_verifier").ok_or(BAD_VERIFIER)?;
        if !constant_time_eq(&credentials::pkce_challenge(verifier), challenge) {
            return Err(BAD_VERIFIER);
        }
    }
    let login = Login {
        username: &grant.username,
        scope: &grant.scope,
        refresh: allows_refresh(&grant.scope),
        shape: Shape::FULL,
    };
    Ok(log_in(shared, twist, |stats| stats.codes_exchanged += 1, login).await)
}

/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`: a signed assertion instead
/// of a client secret. No refresh token and no signature in the answer.
pub(crate) async fn jwt_bearer(
    shared: &Shared,
    params: &Params,
    twist: Twist,
) -> Result<Value, Denial> {
    let assertion = params
        .get("assertion")
        .ok_or_else(|| Denial::missing("assertion"))?;
    let username = jwt::verify(shared, assertion)?;
    let login = Login::session(&username, Shape::JWT_BEARER);
    Ok(log_in(shared, twist, |stats| stats.jwt_grants += 1, login).await)
}

/// `grant_type=client_credentials`: the app logs in as its "Run As" user. The secret
/// is required. No refresh token.
pub(crate) async fn client_credentials(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
    twist: Twist,
) -> Result<Value, Denial> {
    client_auth::authenticate(&shared.config, headers, params, SecretPolicy::Required)?;
    let Some(username) = &shared.config.client_credentials_user else {
        return Err(Denial::invalid_grant("no client credentials user enabled"));
    };
    let login = Login::session(username, Shape::FULL);
    Ok(log_in(
        shared,
        twist,
        |stats| stats.client_credentials_grants += 1,
        login,
    )
    .await)
}

/// `grant_type=password`: the username-password flow, blocked unless
/// [`Config::password_flow`](crate::Config::password_flow). The client secret is
/// required. No refresh token and no `scope` in the answer ("doesn't support scopes").
pub(crate) async fn password(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
    twist: Twist,
) -> Result<Value, Denial> {
    client_auth::authenticate(&shared.config, headers, params, SecretPolicy::Required)?;
    let username = params
        .get("username")
        .ok_or_else(|| Denial::missing("username"))?;
    let password = params
        .get("password")
        .ok_or_else(|| Denial::missing("password"))?;
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
    let login = Login::session(username, Shape::PASSWORD);
    Ok(log_in(shared, twist, |stats| stats.password_grants += 1, login).await)
}

/// `response_type=device_code`: starts a device flow. The answer is 200 with
/// `device_code`, `user_code`, `verification_uri` and `interval`.
pub(crate) async fn device_start(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
    twist: Twist,
) -> Result<Value, Denial> {
    client_auth::authenticate(&shared.config, headers, params, SecretPolicy::IfSent)?;
    let scope = params.get("scope").unwrap_or(DEFAULT_SCOPE);
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
    params: &Params,
    twist: Twist,
) -> Result<Value, Denial> {
    shared.lock().stats.device_polls += 1;
    client_auth::authenticate(&shared.config, headers, params, SecretPolicy::IfSent)?;
    let device_code = params.get("code").ok_or_else(|| Denial::missing("code"))?;
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
    let issued = shared
        .lock()
        .start_family(DEFAULT_USER, &scope, true, &config.org_id);
    Ok(token_response(shared, &issued, Shape::FULL, twist))
}
