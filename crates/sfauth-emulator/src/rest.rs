//! The resources a client calls with its access token: the REST version list, UserInfo
//! and the identity URL, plus the emulator's own stats.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::credentials;
use crate::fault::Fault;
use crate::reply::JSON_UTF8;
use crate::state::{RestRequest, Shared};
use crate::stats::Stats;

/// The largest request body a REST resource takes (Bulk API 2.0's upload limit).
const MAX_UPLOAD_BYTES: usize = 150 * 1000 * 1000;
/// The most rows one page of query results holds.
const MAX_RESULT_ROWS: u64 = 1_000_000;
/// Rows per chunk of a streamed result.
const ROWS_PER_CHUNK: u64 = 1000;

/// The one API version the emulated org offers.
const API_VERSION: &str = "62.0";

/// What the gate in front of every REST resource decided.
enum Gate {
    /// A valid session of this user.
    User(String),
    /// Send this instead: an injected answer, or 401 `INVALID_SESSION_ID`.
    Answer(Box<Response>),
}

/// Counts and records the request, serves an injected answer if one is queued, and checks
/// the session.
fn gate(shared: &Shared, headers: &HeaderMap, method: &Method, uri: &Uri, body: &[u8]) -> Gate {
    {
        let mut state = shared.lock();
        state.stats.rest_requests += 1;
        state.last_rest_request = Some(RestRequest {
            method: method.as_str().to_owned(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
            headers: headers
                .iter()
                .filter(|(name, _)| **name != header::AUTHORIZATION)
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_owned(), value)
                })
                .collect(),
            body: body.to_vec(),
        });
        if let Some((status, text)) = state.rest_faults.pop_front() {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let answer = (status, [(header::CONTENT_TYPE, JSON_UTF8)], text).into_response();
            return Gate::Answer(Box::new(answer));
        }
    }
    match session_user(shared, headers) {
        Some(user) => Gate::User(user),
        None => {
            shared.lock().stats.rest_unauthorized += 1;
            Gate::Answer(Box::new(invalid_session()))
        }
    }
}

/// `/services/data/v{version}/...`: a few REST resources: `GET limits`, `POST
/// sobjects/{type}` (creates a record from a JSON body), and Bulk API 2.0's `PUT
/// jobs/ingest/{id}/batches` (a CSV upload) and `GET jobs/query/{id}/results` (CSV, streamed).
/// Anything else is 404 `NOT_FOUND`.
pub(crate) async fn data(
    State(shared): State<Arc<Shared>>,
    Path(rest): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    // The whole body is read before the session is checked, as a server that answers after
    // the upload does: Bulk API 2.0 takes up to 150 MB of CSV in one PUT.
    let body = match axum::body::to_bytes(body, MAX_UPLOAD_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return rest_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!([{
                    "message": "The request body is too large",
                    "errorCode": "REQUEST_TOO_LARGE",
                }]),
            );
        }
    };
    if let Gate::Answer(answer) = gate(&shared, &headers, &method, &uri, &body) {
        return *answer;
    }
    let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("PUT", [_version, "jobs", "ingest", _job, "batches"]) => {
            StatusCode::CREATED.into_response()
        }
        ("GET", [_version, "jobs", "query", _job, "results"]) => query_results(&uri),
        ("GET", [_version, "limits"]) => rest_json(
            StatusCode::OK,
            &json!({
                "DailyApiRequests": {"Max": 15000, "Remaining": 14998},
                "DailyBulkApiRequests": {"Max": 10000, "Remaining": 10000},
            }),
        ),
        ("POST", [_version, "sobjects", _sobject]) => {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(_)) => rest_json(
                    StatusCode::CREATED,
                    &json!({"id": "001000000000001AAA", "success": true, "errors": []}),
                ),
                _ => rest_json(
                    StatusCode::BAD_REQUEST,
                    &json!([{
                        "message": "The request body is not a JSON object",
                        "errorCode": "JSON_PARSER_ERROR",
                    }]),
                ),
            }
        }
        _ => rest_json(
            StatusCode::NOT_FOUND,
            &json!([{
                "message": "The requested resource does not exist",
                "errorCode": "NOT_FOUND",
            }]),
        ),
    }
}

/// `GET jobs/query/{id}/results?maxRecords=N`: N rows (default 1000) of CSV, sent in chunks
/// as they are made, with the headers Bulk API 2.0 sends. Row `i` is
/// `"001…{i}","Account {i}"`, so a client can check every byte it received.
fn query_results(uri: &Uri) -> Response {
    let rows = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "maxRecords")
        .and_then(|(_, value)| value.parse::<u64>().ok())
        .unwrap_or(1000)
        .min(MAX_RESULT_ROWS);
    let chunks = (0..rows.div_ceil(ROWS_PER_CHUNK)).map(move |chunk| {
        let first = chunk * ROWS_PER_CHUNK;
        let mut text = if chunk == 0 {
            String::from("\"Id\",\"Name\"\n")
        } else {
            String::new()
        };
        for row in first..(first + ROWS_PER_CHUNK).min(rows) {
            text.push_str(&query_row(row));
        }
        Ok::<_, std::convert::Infallible>(Bytes::from(text))
    });
    let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv".to_owned()),
            (
                header::HeaderName::from_static("sforce-numberofrecords"),
                rows.to_string(),
            ),
            (
                header::HeaderName::from_static("sforce-locator"),
                "null".to_owned(),
            ),
        ],
        body,
    )
        .into_response()
}

/// Row `row` of every query result, newline included.
pub fn query_row(row: u64) -> String {
    format!("\"001{row:015}\",\"Account {row}\"\n")
}

/// `GET /services/data/`: the API versions, for a valid session.
pub(crate) async fn versions(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Gate::Answer(answer) = gate(&shared, &headers, &method, &uri, &[]) {
        return *answer;
    }
    rest_json(
        StatusCode::OK,
        &json!([{
            "label": "Winter '25",
            "url": format!("/services/data/v{API_VERSION}"),
            "version": API_VERSION,
        }]),
    )
}

/// `GET {site}/services/oauth2/userinfo`: OpenID Connect UserInfo, for a valid session.
pub(crate) async fn userinfo(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let username = match gate(&shared, &headers, &method, &uri, &[]) {
        Gate::User(user) => user,
        Gate::Answer(answer) => return *answer,
    };
    let user = User::new(&shared, &username);
    rest_json(
        StatusCode::OK,
        &json!({
            "sub": user.identity_url,
            "user_id": user.user_id,
            "organization_id": shared.config.org_id,
            "preferred_username": username,
            "nickname": user.nickname,
            "name": username,
            "email": user.email,
            "email_verified": true,
            "active": true,
            "user_type": "STANDARD",
            "urls": user.urls,
        }),
    )
}

/// `GET|POST /services/oauth2/singleaccess`: the Single-Access UI Bridge, as `sf org open`
/// uses it: for a valid session, a frontdoor URL that logs a browser in once, at the path
/// `redirect_uri` names (a path on this instance; default `/`).
pub(crate) async fn singleaccess(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    params: crate::form::Params,
) -> Response {
    if let Gate::Answer(answer) = gate(&shared, &headers, &method, &uri, &[]) {
        return *answer;
    }
    let start = params.get("redirect_uri").unwrap_or("/").to_owned();
    if !start.starts_with('/') || start.starts_with("//") {
        return rest_json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "redirect_uri must be a path of this org"}),
        );
    }
    let otp = credentials::random_text(32);
    {
        let mut state = shared.lock();
        state.frontdoor.insert(otp.clone(), start.clone());
        state.stats.frontdoor_urls += 1;
    }
    let start: String = url::form_urlencoded::byte_serialize(start.as_bytes()).collect();
    rest_json(
        StatusCode::OK,
        &json!({"frontdoor_uri": format!("{}/secur/frontdoor.jsp?otp={otp}&startURL={start}&cshc=emulator", shared.url)}),
    )
}

/// `GET /secur/frontdoor.jsp?otp=…`: lets a browser in once per frontdoor URL, redirecting
/// to its path; a URL used already (or never made) gets an error page.
pub(crate) async fn frontdoor(
    State(shared): State<Arc<Shared>>,
    params: crate::form::Params,
) -> Response {
    let start = {
        let mut state = shared.lock();
        let start = params
            .get("otp")
            .and_then(|otp| state.frontdoor.remove(otp));
        match start {
            Some(_) => state.stats.frontdoor_logins += 1,
            None => state.stats.frontdoor_refused += 1,
        }
        start
    };
    match start {
        Some(path) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, path),
                (
                    header::SET_COOKIE,
                    "sid=emulated-session; Path=/; Secure; HttpOnly".to_owned(),
                ),
            ],
        )
            .into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            "<html><body>This link is no longer valid. Log in again.</body></html>",
        )
            .into_response(),
    }
}

/// `GET /id/{org_id}/{user_id}`: the identity service, for a valid session and a user of
/// this org who has logged in.
pub(crate) async fn identity(
    State(shared): State<Arc<Shared>>,
    Path((org_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if session_user(&shared, &headers).is_none() {
        return invalid_session();
    }
    let username = (org_id == shared.config.org_id)
        .then(|| {
            shared
                .lock()
                .find_username(|name| credentials::user_id(name) == user_id)
        })
        .flatten();
    let Some(username) = username else {
        return rest_json(
            StatusCode::NOT_FOUND,
            &json!([{
                "message": "The requested resource does not exist",
                "errorCode": "NOT_FOUND",
            }]),
        );
    };
    let user = User::new(&shared, &username);
    rest_json(
        StatusCode::OK,
        &json!({
            "id": user.identity_url,
            "asserted_user": true,
            "user_id": user.user_id,
            "organization_id": shared.config.org_id,
            "username": username,
            "nick_name": user.nickname,
            "display_name": username,
            "email": user.email,
            "active": true,
            "user_type": "STANDARD",
            "urls": user.urls,
        }),
    )
}

/// `GET /__emulator/stats`: the counters, for tests that drive the binary.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Json<Stats> {
    Json(shared.lock().stats)
}

/// `POST /__emulator/faults`: queues faults on a running emulator, one fault `SPEC` (see
/// [`Fault`]) per non-empty line of the body, in order. All or nothing: one bad line
/// queues none and answers 400 with the reason; success answers 200 `{"queued": N}`.
pub(crate) async fn inject_faults(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let parsed: Result<Vec<Fault>, _> = body
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::parse::<Fault>)
        .collect();
    match parsed {
        Ok(faults) => {
            let queued = faults.len();
            shared.lock().faults.extend(faults);
            Json(json!({ "queued": queued })).into_response()
        }
        Err(error) => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{error}\n"),
        )
            .into_response(),
    }
}

/// What the user endpoints say about a username.
struct User {
    user_id: String,
    identity_url: String,
    nickname: String,
    email: String,
    urls: Value,
}

impl User {
    fn new(shared: &Shared, username: &str) -> Self {
        let user_id = credentials::user_id(username);
        let nickname = username.split('@').next().unwrap_or(username).to_owned();
        // Salesforce usernames are email-shaped, but tests may use plain names.
        let email = if username.contains('@') {
            username.to_owned()
        } else {
            format!("{username}@example.invalid")
        };
        let base = &shared.url;
        let urls = json!({
            "rest": format!("{base}/services/data/v{{version}}/"),
            "sobjects": format!("{base}/services/data/v{{version}}/sobjects/"),
            "query": format!("{base}/services/data/v{{version}}/query/"),
            "custom_domain": base,
        });
        Self {
            identity_url: shared.identity_url(&user_id),
            user_id,
            nickname,
            email,
            urls,
        }
    }
}

/// The username behind the request's usable access token; `None` calls for
/// [`invalid_session`].
fn session_user(shared: &Shared, headers: &HeaderMap) -> Option<String> {
    let lifetime = shared.config.access_token_lifetime;
    bearer_token(headers).and_then(|token| {
        shared
            .lock()
            .access_token_user(token, lifetime)
            .map(str::to_owned)
    })
}

/// `Authorization: Bearer <token>`, or Salesforce's older `OAuth <token>` form.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth");
    known.then(|| token.trim())
}

/// 401 with the JSON array body that tells clients to refresh.
fn invalid_session() -> Response {
    let mut response = rest_json(
        StatusCode::UNAUTHORIZED,
        &json!([{
            "message": "Session expired or invalid",
            "errorCode": "INVALID_SESSION_ID",
        }]),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Token"),
    );
    response
}

fn rest_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, JSON_UTF8)],
        body.to_string(),
    )
        .into_response()
}
