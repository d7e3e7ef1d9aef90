//! `POST {site}/services/oauth2/token`: faults first, then the grant the form names.
//!
//! The refresh-token grant lives here; the other grants are in [`crate::grants`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::credentials;
use crate::fault::{self, Fault};
use crate::faulty;
use crate::grants;
use crate::reply;
use crate::server::ConnectionKiller;
use crate::state::{Issued, Refusal, Shared};

/// How an injected fault bends normal processing.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Twist {
    pub(crate) bad_signature: bool,
    pub(crate) extra_delay: Duration,
    after: After,
}

/// What happens to the answer of a request that was processed normally.
#[derive(Clone, Copy, Debug, Default)]
enum After {
    /// It is sent.
    #[default]
    Send,
    /// [`Fault::LoseResponse`].
    Lose,
    /// [`Fault::ResetBeforeBody`].
    ResetBeforeBody,
    /// [`Fault::ResetMidBody`].
    ResetMidBody,
    /// [`Fault::Trickle`].
    Trickle(Duration),
    /// [`Fault::ProcessedThen504`].
    GatewayTimeout,
}

/// The page a gateway in front of Salesforce serves when the origin answers too late.
const GATEWAY_TIMEOUT_PAGE: &str = "<html><head><title>504 Gateway Time-out</title></head>\
<body><center><h1>504 Gateway Time-out</h1></center></body></html>";

impl Twist {
    /// Waits as long as a request that issues tokens is "being processed": the
    /// configured latency plus any injected delay.
    pub(crate) async fn processing_delay(self, shared: &Shared) {
        let latency = shared.lock().latency;
        tokio::time::sleep(latency + self.extra_delay).await;
    }
}

/// A refusal, with the counter it lands in. Every refusal is a 400.
#[derive(Debug)]
pub(crate) enum Denial {
    /// Counted in `rejected`.
    Rejected {
        error: &'static str,
        description: &'static str,
    },
    /// A normal step of a flow rather than a failure (device flow's
    /// `authorization_pending` and `slow_down`): counted in no outcome counter.
    Quiet {
        error: &'static str,
        description: &'static str,
    },
    /// Counted in `refused_parallel`.
    Parallel,
    /// Counted in `reuse_detected`.
    Reused,
}

/// The answer for any refresh token that is unknown, revoked or rotated out.
const EXPIRED_GRANT: (&str, &str) = ("invalid_grant", "expired access/refresh token");

impl Denial {
    /// An `invalid_grant` refusal counted in `rejected`.
    pub(crate) const fn invalid_grant(description: &'static str) -> Self {
        Self::Rejected {
            error: "invalid_grant",
            description,
        }
    }

    const EXPIRED: Self = Self::Rejected {
        error: EXPIRED_GRANT.0,
        description: EXPIRED_GRANT.1,
    };
    pub(crate) const BAD_CLIENT_ID: Self = Self::Rejected {
        error: "invalid_client_id",
        description: "client identifier invalid",
    };
    pub(crate) const BAD_SECRET: Self = Self::Rejected {
        error: "invalid_client",
        description: "invalid client credentials",
    };
    const UNSUPPORTED_GRANT: Self = Self::Rejected {
        error: "unsupported_grant_type",
        description: "grant type not supported",
    };
}

impl From<Refusal> for Denial {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Invalid => Self::EXPIRED,
            Refusal::InFlight => Self::Parallel,
            Refusal::Reused => Self::Reused,
        }
    }
}

/// The token endpoint. The form is taken leniently: a body that is not form-encoded
/// (JSON, say) is treated as having no parameters, which Salesforce answers with
/// `unsupported_grant_type`.
///
/// The request is processed on its own task, so it runs to completion (rotation,
/// counters) even when the client hangs up mid-way and hyper drops this handler: Salesforce
/// does not stop a refresh because its caller went away, and a client must cope with that.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    killer: Option<Extension<ConnectionKiller>>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let params = form.map(|Form(params)| params).unwrap_or_default();
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

/// What the connection should do once a token request has been processed.
enum Outcome {
    /// Send this answer.
    Answer(Response),
    /// Drop the connection without an answer.
    Close,
    /// Say nothing for this long, then drop the connection without an answer.
    Hang(Duration),
}

/// Consumes the next fault and runs the grant, independently of the connection.
async fn process(
    shared: Arc<Shared>,
    headers: HeaderMap,
    params: HashMap<String, String>,
) -> Outcome {
    let fault = {
        let mut state = shared.lock();
        state.stats.token_requests += 1;
        let fault = state.faults.pop_front();
        if fault.is_some() {
            state.stats.faults_served += 1;
        }
        fault
    };
    let mut twist = Twist::default();
    match fault {
        None => {}
        Some(Fault::Status {
            status,
            content_type,
            body,
        }) => {
            return Outcome::Answer(reply::raw(
                reply::status_or_500(status),
                &content_type,
                body,
            ));
        }
        Some(Fault::OAuthError {
            status,
            error,
            description,
        }) => {
            return Outcome::Answer(reply::oauth_error(
                reply::status_or_500(status),
                &error,
                &description,
            ));
        }
        Some(Fault::CloseConnection) => return Outcome::Close,
        Some(Fault::Hang(duration)) => return Outcome::Hang(duration),
        Some(Fault::GzipBomb { inflated_bytes }) => {
            return Outcome::Answer(faulty::gzip_bomb(inflated_bytes));
        }
        Some(Fault::RetryAfter { status, seconds }) => {
            let status = reply::status_or_500(status);
            let mut answer = reply::raw(status, "text/html", fault::default_page(status.as_u16()));
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return Outcome::Answer(answer);
        }
        Some(Fault::LoseResponse) => twist.after = After::Lose,
        Some(Fault::BadSignature) => twist.bad_signature = true,
        Some(Fault::Delay(delay)) => twist.extra_delay = delay,
        Some(Fault::ResetBeforeBody) => twist.after = After::ResetBeforeBody,
        Some(Fault::ResetMidBody) => twist.after = After::ResetMidBody,
        Some(Fault::Trickle { delay_per_byte }) => twist.after = After::Trickle(delay_per_byte),
        Some(Fault::ProcessedThen504) => twist.after = After::GatewayTimeout,
    }

    let response = match grant(&shared, &headers, &params, twist).await {
        Ok(body) => reply::json(StatusCode::OK, &body),
        Err(denial) => deny(&shared, denial),
    };
    Outcome::Answer(match twist.after {
        After::Send => response,
        After::Lose => return Outcome::Close,
        After::ResetBeforeBody => faulty::reset_before_body(response).await,
        After::ResetMidBody => faulty::reset_mid_body(response).await,
        After::Trickle(delay) => faulty::trickle(response, delay).await,
        After::GatewayTimeout => reply::raw(
            StatusCode::GATEWAY_TIMEOUT,
            "text/html",
            GATEWAY_TIMEOUT_PAGE.to_owned(),
        ),
    })
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
    params: &HashMap<String, String>,
    twist: Twist,
) -> Result<Value, Denial> {
    let grant_type = params.get("grant_type").map(String::as_str);
    match grant_type {
        Some("refresh_token") => refresh(shared, headers, params, twist).await,
        Some("authorization_code") => {
            grants::authorization_code(shared, headers, params, twist).await
        }
        Some(JWT_BEARER) => grants::jwt_bearer(shared, params, twist).await,
        Some("client_credentials") => {
            grants::client_credentials(shared, headers, params, twist).await
        }
        Some("password") => grants::password(shared, headers, params, twist).await,
        Some("device") => grants::device_poll(shared, headers, params, twist).await,
        None if params.get("response_type").map(String::as_str) == Some("device_code") => {
            grants::device_start(shared, headers, params, twist).await
        }
        _ => Err(Denial::UNSUPPORTED_GRANT),
    }
}

/// Counts a refusal and renders Salesforce's body for it. Every refusal is a 400.
fn deny(shared: &Shared, denial: Denial) -> Response {
    let (error, description) = {
        let mut state = shared.lock();
        match denial {
            Denial::Rejected { error, description } => {
                state.stats.rejected += 1;
                (error, description)
            }
            Denial::Quiet { error, description } => (error, description),
            Denial::Parallel => {
                state.stats.refused_parallel += 1;
                ("invalid_grant", "token request is already being processed")
            }
            // The replay gets the same answer as any dead token: Salesforce does not tell
            // the client that it just lost the whole family.
            Denial::Reused => {
                state.stats.reuse_detected += 1;
                EXPIRED_GRANT
            }
        }
    };
    tracing::debug!(error, description, "token request refused");
    reply::oauth_error(StatusCode::BAD_REQUEST, error, description)
}

/// The refresh-token grant proper.
async fn refresh(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    twist: Twist,
) -> Result<Value, Denial> {
    if params.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return Err(Denial::UNSUPPORTED_GRANT);
    }
    let (client_id, client_secret) = client_credentials(headers, params)?;
    let Some(client_id) = client_id else {
        return Err(missing("client_id"));
    };
    let Some(refresh_token) = params.get("refresh_token").filter(|t| !t.is_empty()) else {
        return Err(missing("refresh_token"));
    };
    let config = &shared.config;
    if !constant_time_eq(&client_id, &config.client_id) {
        return Err(Denial::BAD_CLIENT_ID);
    }
    match client_secret {
        // Salesforce validates a secret that is sent even when none is required.
        Some(secret) if !constant_time_eq(&secret, &config.client_secret) => {
            return Err(Denial::BAD_SECRET);
        }
        None if config.require_secret => return Err(Denial::BAD_SECRET),
        _ => {}
    }

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
    Ok(token_response(shared, &issued, twist.bad_signature))
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

/// Which optional fields a token response carries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    /// `signature` (absent from JWT bearer responses).
    pub(crate) signature: bool,
    /// `signature` computed with the wrong key ([`Fault::BadSignature`]).
    pub(crate) bad_signature: bool,
    /// `scope` (absent from username-password responses).
    pub(crate) scope: bool,
}

impl Shape {
    /// Everything: the web-server, device and refresh grants.
    pub(crate) const FULL: Self = Self {
        signature: true,
        bad_signature: false,
        scope: true,
    };
}

/// A token response in Salesforce's shape and key order:
/// `access_token, [refresh_token], signature, scope, instance_url, id, token_type, issued_at`.
pub(crate) fn token_response(shared: &Shared, issued: &Issued, bad_signature: bool) -> Value {
    shaped_token_response(
        shared,
        issued,
        Shape {
            bad_signature,
            ..Shape::FULL
        },
    )
}

/// A token response with the fields `shape` asks for, in Salesforce's key order:
/// `access_token, [refresh_token], [signature], [scope], [id_token], instance_url, id,
/// token_type, issued_at`. `refresh_token` is there when `issued` has one, `id_token`
/// when the scope includes `openid`.
pub(crate) fn shaped_token_response(shared: &Shared, issued: &Issued, shape: Shape) -> Value {
    let id = shared.identity_url(&credentials::user_id(&issued.username));
    let issued_at = credentials::issued_at_now();

    let mut body = Map::new();
    body.insert("access_token".into(), issued.access_token.clone().into());
    if let Some(refresh_token) = &issued.refresh_token {
        body.insert("refresh_token".into(), refresh_token.clone().into());
    }
    if shape.signature {
        let key = if shape.bad_signature {
            format!("not-{}", shared.config.client_secret)
        } else {
            shared.config.client_secret.clone()
        };
        let signature = credentials::signature(&key, &id, &issued_at);
        body.insert("signature".into(), signature.into());
    }
    if shape.scope {
        body.insert("scope".into(), issued.scope.clone().into());
    }
    if issued.scope.split(' ').any(|s| s == "openid") {
        let now = credentials::unix_now();
        let claims = serde_json::json!({
            "at_hash": "emulator",
            "sub": id,
            "aud": shared.config.client_id,
            "iss": shared.url,
            "exp": now + 300,
            "iat": now,
            "preferred_username": issued.username,
        });
        body.insert("id_token".into(), credentials::id_token(&claims).into());
    }
    body.insert("instance_url".into(), shared.url.clone().into());
    body.insert("id".into(), id.into());
    body.insert("token_type".into(), "Bearer".into());
    body.insert("issued_at".into(), issued_at.into());
    Value::Object(body)
}

/// `invalid_request` for a missing form parameter.
pub(crate) fn missing(param: &'static str) -> Denial {
    Denial::Rejected {
        error: "invalid_request",
        description: match param {
            "client_id" => "missing required parameter: client_id",
            "refresh_token" => "missing required parameter: refresh_token",
            "code" => "missing required parameter: code",
            "assertion" => "missing required parameter: assertion",
            "username" => "missing required parameter: username",
            "password" => "missing required parameter: password",
            _ => "missing required parameter",
        },
    }
}

/// Whether a grant needs the client secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SecretPolicy {
    /// Checked only when sent.
    IfSent,
    /// Must be sent, and right.
    Required,
}

/// Checks the client id (required) and secret (per `policy`) from the form or HTTP Basic.
pub(crate) fn authenticate_client(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    policy: SecretPolicy,
) -> Result<(), Denial> {
    let (client_id, client_secret) = client_credentials(headers, params)?;
    let Some(client_id) = client_id else {
        return Err(missing("client_id"));
    };
    let config = &shared.config;
    if !constant_time_eq(&client_id, &config.client_id) {
        return Err(Denial::BAD_CLIENT_ID);
    }
    match client_secret {
        Some(secret) if !constant_time_eq(&secret, &config.client_secret) => {
            Err(Denial::BAD_SECRET)
        }
        None if policy == SecretPolicy::Required => Err(Denial::BAD_SECRET),
        _ => Ok(()),
    }
}

/// Client id and secret from the form, or else from an HTTP Basic header.
/// An empty secret counts as none: the Salesforce CLI's default app sends `""`.
pub(crate) fn client_credentials(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<(Option<String>, Option<String>), Denial> {
    let (basic_id, basic_secret) = match headers.get(header::AUTHORIZATION) {
        Some(value) => basic_credentials(value.as_bytes()).ok_or(Denial::Rejected {
            error: "invalid_basic_auth_header",
            description: "invalid basic auth header",
        })?,
        None => (None, None),
    };
    let non_empty = |value: Option<&String>| value.filter(|v| !v.is_empty()).cloned();
    let client_id = non_empty(params.get("client_id")).or(basic_id);
    let client_secret = non_empty(params.get("client_secret")).or(basic_secret);
    Ok((client_id, client_secret))
}

/// Parses `Basic base64(id:secret)`. Returns `None` for a malformed header, and empty
/// parts as `None`.
fn basic_credentials(value: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Some((some(id), some(secret)))
}

/// Compares without leaking, through timing, how much of a secret matched.
pub(crate) fn constant_time_eq(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_yields_id_and_secret() {
        let header = format!("Basic {}", STANDARD.encode("id:se:cret"));
        assert_eq!(
            basic_credentials(header.as_bytes()),
            Some((Some("id".to_owned()), Some("se:cret".to_owned())))
        );
    }

    #[test]
    fn basic_header_without_secret_yields_only_the_id() {
        let header = format!("basic {}", STANDARD.encode("id:"));
        assert_eq!(
            basic_credentials(header.as_bytes()),
            Some((Some("id".to_owned()), None))
        );
    }

    #[test]
    fn malformed_basic_headers_are_refused() {
        for header in ["Basic !!!", "Bearer abc", "Basic", "Basic aWQ="] {
            assert_eq!(basic_credentials(header.as_bytes()), None, "{header}");
        }
    }
}
