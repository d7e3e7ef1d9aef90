//! What the test modules share: emulators with a user logged in, bounded HTTP clients, the
//! token-endpoint requests, and readers and checks for the answers.
//!
//! A helper used by one module only lives in that module.

use std::time::Duration;

use reqwest::{Certificate, Client, ClientBuilder, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use sfauth_emulator::{Config, Emulator};

/// Every request gives up after this, so a server bug fails the test instead of hanging it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The keys of a full token answer (refresh, web-server and device grants), in
/// Salesforce's order.
pub const FULL_TOKEN_KEYS: [&str; 8] = [
    "access_token",
    "refresh_token",
    "signature",
    "scope",
    "instance_url",
    "id",
    "token_type",
    "issued_at",
];

// ---- emulators ------------------------------------------------------------------------

/// Starts an emulator on the test's runtime.
pub async fn emulator(config: Config) -> Emulator {
    sfauth_emulator::spawn(config)
        .await
        .expect("emulator starts")
}

/// Starts an emulator and logs `alice@example.com` in through the side door (which counts
/// no hit); returns the emulator and her refresh token.
pub async fn logged_in(config: Config) -> (Emulator, String) {
    let emulator = emulator(config).await;
    let token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    (emulator, token)
}

// ---- clients --------------------------------------------------------------------------

/// A client builder that fails fast and does not pool connections, so a dropped connection
/// cannot leak into the next request. Tests that need another kind of client start here.
pub fn client_builder() -> ClientBuilder {
    Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(0)
}

/// The plain test client.
pub fn client() -> Client {
    client_builder().build().expect("client builds")
}

/// A client that leaves gzip bodies compressed, to look at the wire bytes.
pub fn raw_client() -> Client {
    client_builder().no_gzip().build().expect("client builds")
}

/// A client that gives up after `timeout`, to play a client that goes away.
pub fn impatient_client(timeout: Duration) -> Client {
    client_builder()
        .timeout(timeout)
        .build()
        .expect("client builds")
}

/// A client that trusts only the CA certificate `ca_pem`.
pub fn trusting(ca_pem: &[u8]) -> Client {
    let ca = Certificate::from_pem(ca_pem).expect("the CA is valid PEM");
    client_builder()
        .tls_certs_only([ca])
        .build()
        .expect("client builds")
}

// ---- requests -------------------------------------------------------------------------

/// The form of a refresh with `client_id` and no secret.
pub fn refresh_params<'a>(client_id: &'a str, refresh_token: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", refresh_token),
    ]
}

/// A refresh with the configured client id and no secret, sent by `client`.
pub fn refresh_request(
    client: &Client,
    emulator: &Emulator,
    refresh_token: &str,
) -> RequestBuilder {
    client
        .post(emulator.token_url())
        .form(&refresh_params(&emulator.config().client_id, refresh_token))
}

/// A refresh with the configured client id and no secret. The future owns its inputs, so
/// it can be `tokio::spawn`ed.
pub fn refresh(
    emulator: &Emulator,
    refresh_token: &str,
) -> impl Future<Output = reqwest::Result<Response>> + Send + use<> {
    let request = refresh_request(&client(), emulator, refresh_token);
    async move { request.send().await }
}

/// A token-endpoint POST with exactly these form parameters.
pub fn post_token(
    emulator: &Emulator,
    params: &[(&str, &str)],
) -> impl Future<Output = reqwest::Result<Response>> + Send + use<> {
    let request = client().post(emulator.token_url()).form(params);
    async move { request.send().await }
}

/// Status and JSON body of a refresh.
pub async fn refresh_answer(emulator: &Emulator, refresh_token: &str) -> (StatusCode, Value) {
    status_and_json(
        refresh(emulator, refresh_token)
            .await
            .expect("an HTTP answer"),
    )
    .await
}

/// Status and JSON body of a token-endpoint POST with these form parameters.
pub async fn token_answer(emulator: &Emulator, params: &[(&str, &str)]) -> (StatusCode, Value) {
    status_and_json(post_token(emulator, params).await.expect("an HTTP answer")).await
}

/// `GET {url}{path}` with an optional bearer token.
pub async fn get(emulator: &Emulator, path: &str, bearer: Option<&str>) -> Response {
    let mut request = client().get(format!("{}{path}", emulator.url()));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("GET succeeds at the HTTP level")
}

/// `POST` to the revocation endpoint with `token=...`.
pub async fn post_revoke(emulator: &Emulator, token: &str) -> Response {
    client()
        .post(emulator.revoke_url())
        .form(&[("token", token)])
        .send()
        .await
        .expect("POST succeeds at the HTTP level")
}

/// `POST {url}{path}` with a plain-text body.
pub async fn post_text(emulator: &Emulator, path: &str, body: &'static str) -> Response {
    client()
        .post(format!("{}{path}", emulator.url()))
        .body(body)
        .send()
        .await
        .expect("POST succeeds at the HTTP level")
}

// ---- answers --------------------------------------------------------------------------

/// Status and JSON body of a response.
pub async fn status_and_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json().await.expect("body is JSON");
    (status, body)
}

/// The Salesforce error body.
pub fn oauth_error(error: &str, description: &str) -> Value {
    json!({ "error": error, "error_description": description })
}

/// The answer is Salesforce's 400 with this error body.
#[track_caller]
pub fn assert_refused(status: StatusCode, body: &Value, error: &str, description: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(*body, oauth_error(error, description));
}

/// A refresh with `refresh_token` succeeds now; returns its answer.
pub async fn assert_refresh_works(emulator: &Emulator, refresh_token: &str) -> Value {
    let (status, body) = refresh_answer(emulator, refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The refresh token of a token response.
pub fn refresh_token_of(token: &Value) -> String {
    token["refresh_token"]
        .as_str()
        .expect("response has a refresh_token")
        .to_owned()
}

/// The access token of a token response.
pub fn access_token_of(token: &Value) -> String {
    token["access_token"]
        .as_str()
        .expect("response has an access_token")
        .to_owned()
}

/// The keys of a JSON object, in order.
pub fn keys(body: &Value) -> Vec<&str> {
    body.as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// Polls `condition` every 10 ms, at most 500 times, and fails the test if it never holds.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}
