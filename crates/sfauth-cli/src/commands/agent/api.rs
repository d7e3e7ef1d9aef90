//! The agent's HTTP/1.1 JSON API on its unix socket:
//!
//! - `GET /v1/orgs/{alias}/token`: a fresh token ([`AgentToken`]);
//! - `POST /v1/orgs/{alias}/invalidate` with `{"access_token": "…"}`: the API rejected that
//!   token; renewed once if it is still current, and the current token answered;
//! - `GET /v1/health`: every org's state and last error;
//! - `GET /metrics`: Prometheus text.
//!
//! Errors are JSON ([`ErrorBody`]) with a 4xx for the caller's mistakes and a 5xx for the
//! org's. Bodies are bounded; nothing here logs a token.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use sfauth::{AccessToken, ErrorKind};

use crate::agent::wire::{AgentToken, ErrorBody, ErrorDetail};
use crate::commands::agent::metrics;
use crate::commands::agent::worker::OrgAgent;
use crate::output;

/// The largest request body the agent reads (an invalidate carries one access token).
const MAX_BODY_BYTES: usize = 16 * 1024;
/// How much of an oversized body is read and dropped before the 413, so that the client
/// reads the answer; beyond it the connection is cut.
const DRAIN_LIMIT_BYTES: usize = 1024 * 1024;
/// A request body must arrive within this.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The orgs the agent serves, by alias; replaced whole on SIGHUP.
pub type Orgs = Arc<std::sync::RwLock<BTreeMap<String, Arc<OrgAgent>>>>;

/// Answers one request.
pub async fn handle(orgs: Orgs, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = request.method().clone();
    match (method, segments.as_slice()) {
        (Method::GET, ["v1", "health"]) => health(&orgs).await,
        (Method::GET, ["metrics"]) => {
            let text = metrics::render(&snapshot(&orgs)).await;
            let mut response = Response::new(Full::new(Bytes::from(text)));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            response
        }
        (Method::GET, ["v1", "orgs", alias, "token"]) => match find(&orgs, alias) {
            Ok(org) => serve(&org, org.token().await),
            Err(refused) => refused.response(),
        },
        (Method::POST, ["v1", "orgs", alias, "invalidate"]) => {
            let org = match find(&orgs, alias) {
                Ok(org) => org,
                Err(refused) => return refused.response(),
            };
            match rejected_token(request).await {
                Ok(rejected) => serve(&org, org.invalidate(&rejected).await),
                Err(refused) => refused.response(),
            }
        }
        (_, ["v1", "health"] | ["metrics"] | ["v1", "orgs", _, "token" | "invalidate"]) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not served on {path}", request_method_name(&path)),
            Some("GET a token, health or metrics; POST an invalidate"),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("nothing is served at {path}"),
            Some("GET /v1/orgs/ALIAS/token, /v1/health or /metrics"),
        ),
    }
}

fn request_method_name(path: &str) -> &'static str {
    if path.ends_with("/invalidate") {
        "only POST"
    } else {
        "only GET"
    }
}

/// The orgs, as they are now.
pub fn snapshot(orgs: &Orgs) -> Vec<Arc<OrgAgent>> {
    orgs.read()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .cloned()
        .collect()
}

/// A request the agent does not serve, and why: answered as a JSON error.
struct Refused {
    status: StatusCode,
    kind: &'static str,
    message: String,
    hint: &'static str,
}

impl Refused {
    fn response(self) -> Response<Full<Bytes>> {
        error(self.status, self.kind, self.message, Some(self.hint))
    }
}

fn find(orgs: &Orgs, alias: &str) -> Result<Arc<OrgAgent>, Refused> {
    let found = orgs
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(alias)
        .cloned();
    found.ok_or_else(|| Refused {
        status: StatusCode::NOT_FOUND,
        kind: "unknown_org",
        message: format!(
            "this agent does not serve an org `{}`",
            alias.chars().take(64).collect::<String>()
        ),
        hint: "start the agent with --org ALIAS, or log in to the org and send the agent SIGHUP",
    })
}

async fn rejected_token(request: Request<Incoming>) -> Result<AccessToken, Refused> {
    let reading = read_body(request.into_body());
    let Ok(body) = tokio::time::timeout(BODY_TIMEOUT, reading).await else {
        return Err(Refused {
            status: StatusCode::REQUEST_TIMEOUT,
            kind: "request_timeout",
            message: format!(
                "the request body did not arrive within {}s",
                BODY_TIMEOUT.as_secs()
            ),
            hint: "send the whole request at once",
        });
    };
    let body = body?;
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|_| bad_invalidate())?;
    value
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty())
        .map(AccessToken::from)
        .ok_or_else(bad_invalidate)
}

/// The body, at most [`MAX_BODY_BYTES`].
async fn read_body(mut body: Incoming) -> Result<zeroize::Zeroizing<Vec<u8>>, Refused> {
    let too_large = || Refused {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        kind: "body_too_large",
        message: format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        hint: "send {\"access_token\": \"…\"} only",
    };
    let mut kept = Vec::new();
    let mut read = 0usize;
    // An oversized body is still read (up to a bound) before the answer: closing a socket
    // with unread bytes resets it, and the client would see a reset instead of the 413.
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(bad_invalidate());
        };
        if let Ok(data) = frame.into_data() {
            read = read.saturating_add(data.len());
            if read > DRAIN_LIMIT_BYTES {
                return Err(too_large());
            }
            if read <= MAX_BODY_BYTES {
                kept.extend_from_slice(&data);
            }
        }
    }
    if read > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(zeroize::Zeroizing::new(kept))
}

fn bad_invalidate() -> Refused {
    Refused {
        status: StatusCode::BAD_REQUEST,
        kind: "bad_request",
        message: "an invalidate needs a JSON body with the rejected access_token".to_owned(),
        hint: "send {\"access_token\": \"…\"} with the token the API rejected",
    }
}

fn serve(org: &OrgAgent, token: sfauth::Result<sfauth::Token>) -> Response<Full<Bytes>> {
    match token {
        Ok(token) => {
            let expiry = org.expiry().expiry(&token);
            let body = zeroize::Zeroizing::new(
                serde_json::to_vec(&AgentToken::of(&token, expiry)).unwrap_or_default(),
            );
            json(StatusCode::OK, Bytes::copy_from_slice(&body))
        }
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::Usage | ErrorKind::LoginRequired | ErrorKind::ClientRejected => {
                    StatusCode::CONFLICT
                }
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            error(status, e.kind().as_str(), e.to_string(), e.hint())
        }
    }
}

async fn health(orgs: &Orgs) -> Response<Full<Bytes>> {
    let mut all_ok = true;
    let mut listed = serde_json::Map::new();
    for org in snapshot(orgs) {
        let health = org.health().await;
        all_ok &= health.fresh && health.last_error.is_none();
        let now = SystemTime::now();
        listed.insert(
            org.alias.as_str().to_owned(),
            serde_json::json!({
                "fresh": health.fresh,
                "expires_at": health.expires_at.map(output::rfc3339),
                "expires_in": health.expires_at.map(|at| at.duration_since(now).unwrap_or_default().as_secs()),
                "refreshes": health.refreshes,
                "adopted": health.adopted,
                "last_refresh": health.last_refresh.map(output::rfc3339),
                "needs_login": health.exhausted,
                "last_error": health.last_error.map(|e| serde_json::json!({
                    "kind": e.kind.as_str(),
                    "message": e.message,
                    "hint": e.hint,
                    "at": output::rfc3339(e.at),
                })),
            }),
        );
    }
    let body = serde_json::json!({
        "status": if all_ok { "ok" } else { "degraded" },
        "pid": std::process::id(),
        "orgs": listed,
    });
    json(StatusCode::OK, Bytes::from(body.to_string()))
}

/// A JSON error answer.
pub fn error(
    status: StatusCode,
    kind: &str,
    message: String,
    hint: Option<&str>,
) -> Response<Full<Bytes>> {
    let body = ErrorBody {
        error: ErrorDetail {
            kind: kind.to_owned(),
            message,
            hint: hint.map(str::to_owned),
        },
    };
    json(
        status,
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
    )
}

fn json(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
