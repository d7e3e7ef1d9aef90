//! Helpers shared by the integration tests: a bounded HTTP client and a refresh call.

#![allow(dead_code)] // each test binary uses a different subset

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sfauth_emulator::{Config, Emulator};

/// Every request gives up after this, so a server bug fails the test instead of hanging it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A client that fails fast and does not pool connections, so a dropped connection
/// cannot leak into the next request.
pub fn client() -> Client {
    Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(0)
        .build()
        .expect("client builds")
}

/// Starts an emulator on the test's runtime.
pub async fn emulator(config: Config) -> Emulator {
    sfauth_emulator::spawn(config)
        .await
        .expect("emulator starts")
}

/// A refresh with the default client id and no secret. The future owns its inputs, so it
/// can be `tokio::spawn`ed.
pub fn refresh(
    emulator: &Emulator,
    refresh_token: &str,
) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send + use<> {
    let client_id = emulator.config().client_id.clone();
    post_token(
        emulator,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", refresh_token),
        ],
    )
}

/// A token-endpoint POST with exactly these form parameters.
pub fn post_token(
    emulator: &Emulator,
    params: &[(&str, &str)],
) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send + use<> {
    let request = client().post(emulator.token_url()).form(params);
    async move { request.send().await }
}

/// Status and JSON body of a response.
pub async fn status_and_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json().await.expect("body is JSON");
    (status, body)
}

/// The Salesforce error body.
pub fn oauth_error(error: &str, description: &str) -> Value {
    json!({ "error": error, "error_description": description })
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

/// `GET {url}{path}` with an optional bearer token.
pub async fn get(emulator: &Emulator, path: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("{}{path}", emulator.url()));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("GET succeeds at the HTTP level")
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
