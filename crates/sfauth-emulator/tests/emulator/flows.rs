//! The login flows besides refresh: web-server with PKCE, JWT bearer, client
//! credentials, username-password, device; plus introspection and revocation.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sfauth_emulator::{Config, Consent, Emulator, Fault, Stats, assert_hits};
use sha2::{Digest, Sha256};
use url::Url;

use crate::support::*;

const JWT_KEY: &str = include_str!("../fixtures/jwt_test_key.pem");
const JWT_PUBLIC_KEY: &str = include_str!("../fixtures/jwt_test_key.pub.pem");
const JWT_CERT: &str = include_str!("../fixtures/jwt_test_cert.pem");
const OTHER_JWT_KEY: &str = include_str!("../fixtures/jwt_test_other_key.pem");

const REDIRECT_URI: &str = "http://localhost:1717/OauthRedirect";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A client that does not follow redirects, so the test sees the authorize answer.
fn no_redirects() -> reqwest::Client {
    client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The default authorize query with these parameters replaced (an empty value drops one).
fn authorize_params<'a>(
    emulator: &'a Emulator,
    overrides: &[(&'a str, &'a str)],
) -> Vec<(&'a str, String)> {
    let mut params: Vec<(&str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", emulator.config().client_id.clone()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("state", "st@te 1".into()),
        ("scope", "api refresh_token".into()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ];
    for (name, value) in overrides {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push((name, (*value).to_owned()));
        }
    }
    params
}

/// GETs the authorize endpoint and returns the raw response.
async fn authorize_raw(emulator: &Emulator, overrides: &[(&str, &str)]) -> reqwest::Response {
    no_redirects()
        .get(emulator.authorize_url())
        .query(&authorize_params(emulator, overrides))
        .send()
        .await
        .unwrap()
}

/// GETs the authorize endpoint, expects a 302, and returns the Location URL and its
/// decoded query.
async fn authorize(
    emulator: &Emulator,
    overrides: &[(&str, &str)],
) -> (Url, HashMap<String, String>) {
    let response = authorize_raw(emulator, overrides).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap();
    let url = Url::parse(location).unwrap();
    let query = url.query_pairs().into_owned().collect();
    (url, query)
}

/// Authorize with the defaults and return the code.
async fn code(emulator: &Emulator) -> String {
    let (_, query) = authorize(emulator, &[]).await;
    query["code"].clone()
}

/// The form of a code exchange with the default redirect URI and no secret.
fn exchange_params<'a>(
    emulator: &'a Emulator,
    code: &'a str,
    verifier: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", &emulator.config().client_id),
        ("redirect_uri", REDIRECT_URI),
    ];
    if let Some(verifier) = verifier {
        params.push(("code_verifier", verifier));
    }
    params
}

async fn exchange(emulator: &Emulator, code: &str, verifier: Option<&str>) -> (StatusCode, Value) {
    token_answer(emulator, &exchange_params(emulator, code, verifier)).await
}

/// Refreshes with the existing grant and expects success.
async fn assert_refreshes(emulator: &Emulator, token: &Value) {
    let body = assert_refresh_works(emulator, &refresh_token_of(token)).await;
    assert!(body["access_token"].is_string());
}

async fn assert_rest_works(emulator: &Emulator, token: &Value) {
    let response = get(emulator, "/services/data/", Some(&access_token_of(token))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

// ---- web-server flow ----------------------------------------------------------------

#[tokio::test]
async fn authorize_then_exchange_with_pkce_yields_refreshable_tokens() {
    let emulator = emulator(Config::default()).await;
    let (url, query) = authorize(&emulator, &[("login_hint", "grace@example.com")]).await;
    assert_eq!(
        format!("{}://{}{}", url.scheme(), url.authority(), url.path()),
        REDIRECT_URI
    );
    assert_eq!(query["state"], "st@te 1");
    let code = &query["code"];
    assert!(code.ends_with("=="), "real codes end in ==: {code}");

    let (status, token) = exchange(&emulator, code, Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(keys(&token), FULL_TOKEN_KEYS);
    assert_eq!(token["scope"], "api refresh_token");
    assert_eq!(token["instance_url"], emulator.url());
    assert_rest_works(&emulator, &token).await;
    let userinfo = get(
        &emulator,
        "/services/oauth2/userinfo",
        Some(&access_token_of(&token)),
    )
    .await;
    let userinfo: Value = userinfo.json().await.unwrap();
    assert_eq!(userinfo["preferred_username"], "grace@example.com");

    assert_refreshes(&emulator, &token).await;
    assert_hits!(
        emulator,
        authorizations: 1,
        codes_exchanged: 1,
        refreshes_served: 1,
        token_requests: 2,
    );
}

#[tokio::test]
async fn the_refresh_of_a_web_server_login_keeps_its_scope() {
    let emulator = emulator(Config::default()).await;
    let (_, query) = authorize(&emulator, &[("scope", "api  offline_access openid")]).await;
    let (status, token) = exchange(&emulator, &query["code"], Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["scope"], "api offline_access openid");
    let id_token = token["id_token"]
        .as_str()
        .expect("openid gives an id_token");
    assert_eq!(id_token.split('.').count(), 3);
    let (_, refreshed) = refresh_answer(&emulator, &refresh_token_of(&token)).await;
    assert_eq!(refreshed["scope"], "api offline_access openid");
}

#[tokio::test]
async fn without_a_refresh_scope_no_refresh_token_is_issued() {
    let emulator = emulator(Config::default()).await;
    let (_, query) = authorize(&emulator, &[("scope", "api")]).await;
    let (status, token) = exchange(&emulator, &query["code"], Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert!(token.get("refresh_token").is_none(), "{token}");
    assert!(token.get("id_token").is_none(), "{token}");
}

#[tokio::test]
async fn without_a_scope_the_default_scopes_are_granted() {
    let emulator = emulator(Config::default()).await;
    let (_, query) = authorize(&emulator, &[("scope", "")]).await;
    let (_, token) = exchange(&emulator, &query["code"], Some(VERIFIER)).await;
    assert_eq!(token["scope"], "api refresh_token id");
    assert!(token["refresh_token"].is_string());
}

#[tokio::test]
async fn denied_consent_redirects_with_access_denied() {
    let emulator = emulator(Config {
        consent: Consent::Deny,
        ..Config::default()
    })
    .await;
    let response = authorize_raw(&emulator, &[]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!(
            "{REDIRECT_URI}?error=access_denied&error_description=end-user+denied+authorization&state="
        )),
        "{location}"
    );
    let query: HashMap<String, String> = Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(query["state"], "st@te 1");
    assert!(!query.contains_key("code"));
}

#[tokio::test]
async fn a_code_works_only_once() {
    let emulator = emulator(Config::default()).await;
    let code = code(&emulator).await;
    let (status, _) = exchange(&emulator, &code, Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = exchange(&emulator, &code, Some(VERIFIER)).await;
    assert_refused(status, &body, "invalid_grant", "invalid authorization code");
    assert_hits!(emulator, codes_exchanged: 1, rejected: 1);
}

#[tokio::test]
async fn unknown_and_expired_codes_are_refused() {
    let emulator = emulator(Config::default()).await;
    let (status, body) = exchange(&emulator, "aPrxnope==", Some(VERIFIER)).await;
    assert_refused(status, &body, "invalid_grant", "invalid authorization code");
    let code = code(&emulator).await;
    emulator.expire_authorization_codes();
    let (status, body) = exchange(&emulator, &code, Some(VERIFIER)).await;
    assert_refused(status, &body, "invalid_grant", "invalid authorization code");
}

#[tokio::test]
async fn a_wrong_or_missing_code_verifier_is_refused() {
    let emulator = emulator(Config::default()).await;
    let (status, body) = exchange(&emulator, &code(&emulator).await, Some("wrong-verifier")).await;
    assert_refused(status, &body, "invalid_grant", "invalid code verifier");
    let (status, body) = exchange(&emulator, &code(&emulator).await, None).await;
    assert_refused(status, &body, "invalid_grant", "invalid code verifier");
}

#[tokio::test]
async fn without_a_challenge_no_verifier_is_needed() {
    let emulator = emulator(Config::default()).await;
    let (_, query) = authorize(
        &emulator,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    )
    .await;
    let (status, body) = exchange(&emulator, &query["code"], None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_exchange_needs_the_same_redirect_uri() {
    let emulator = emulator(Config {
        redirect_uris: vec![REDIRECT_URI.into(), "http://localhost:1818/cb".into()],
        ..Config::default()
    })
    .await;
    let code = code(&emulator).await;
    let client_id = emulator.config().client_id.clone();
    let params = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", &client_id),
        ("redirect_uri", "http://localhost:1818/cb"),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = token_answer(&emulator, &params).await;
    assert_refused(
        status,
        &body,
        "redirect_uri_mismatch",
        "redirect_uri must match configuration",
    );
}

#[tokio::test]
async fn the_exchange_checks_a_client_secret_that_is_sent() {
    let emulator = emulator(Config::default()).await;
    let code = code(&emulator).await;
    let mut params = exchange_params(&emulator, &code, Some(VERIFIER));
    params.push(("client_secret", "wrong"));
    let (status, body) = token_answer(&emulator, &params).await;
    assert_refused(
        status,
        &body,
        "invalid_client",
        "invalid client credentials",
    );

    let code = self::code(&emulator).await;
    let mut params = exchange_params(&emulator, &code, Some(VERIFIER));
    params.push(("client_secret", &emulator.config().client_secret));
    let (status, body) = token_answer(&emulator, &params).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_refused_without_redirecting() {
    let emulator = emulator(Config::default()).await;
    for uri in [
        "http://localhost:1717/OauthRedirect/",
        "http://localhost:1717/OauthRedirectX",
        "https://evil.example/cb",
    ] {
        let response = authorize_raw(&emulator, &[("redirect_uri", uri)]).await;
        assert!(response.headers().get("location").is_none());
        let (status, body) = status_and_json(response).await;
        assert_refused(
            status,
            &body,
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    }
    let response = authorize_raw(&emulator, &[("redirect_uri", "")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_unknown_client_id_is_refused_at_authorize() {
    let emulator = emulator(Config::default()).await;
    let response = authorize_raw(&emulator, &[("client_id", "someone-else")]).await;
    assert!(response.headers().get("location").is_none());
    let (status, body) = status_and_json(response).await;
    assert_refused(
        status,
        &body,
        "invalid_client_id",
        "client identifier invalid",
    );
}

#[tokio::test]
async fn a_response_type_other_than_code_is_reported_on_the_redirect() {
    let emulator = emulator(Config::default()).await;
    let (_, query) = authorize(&emulator, &[("response_type", "token")]).await;
    assert_eq!(query["error"], "unsupported_response_type");
    assert_eq!(query["state"], "st@te 1");
}

#[tokio::test]
async fn authorize_and_token_live_under_the_site_prefix() {
    let emulator = emulator(Config {
        site: "/customers".into(),
        ..Config::default()
    })
    .await;
    assert!(
        emulator
            .authorize_url()
            .ends_with("/customers/services/oauth2/authorize")
    );
    let code = code(&emulator).await;
    let (status, body) = exchange(&emulator, &code, Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn faults_apply_to_the_code_exchange_before_the_code_is_used() {
    let emulator = emulator(Config::default()).await;
    let code = code(&emulator).await;
    emulator.inject(Fault::Status {
        status: 503,
        content_type: "text/html".into(),
        body: "<html>maintenance</html>".into(),
    });
    let response = post_token(
        &emulator,
        &exchange_params(&emulator, &code, Some(VERIFIER)),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 503);
    let (status, body) = exchange(&emulator, &code, Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_hits!(emulator, faults_served: 1);
}

// ---- JWT bearer -----------------------------------------------------------------------

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn jwt_config(pem: &str) -> Config {
    Config {
        jwt_certificate_pem: Some(pem.to_owned()),
        ..Config::default()
    }
}

fn claims(emulator: &Emulator) -> Value {
    json!({
        "iss": emulator.config().client_id,
        "sub": "integration@example.com",
        "aud": "https://login.salesforce.com",
        "exp": now() + 180,
    })
}

fn sign(claims: &Value, private_key_pem: &str) -> String {
    let key = EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}

async fn jwt_grant(emulator: &Emulator, assertion: &str) -> (StatusCode, Value) {
    let params = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", assertion),
    ];
    token_answer(emulator, &params).await
}

#[tokio::test]
async fn a_signed_assertion_yields_an_access_token_without_refresh_token_or_signature() {
    for pem in [JWT_PUBLIC_KEY, JWT_CERT] {
        let emulator = emulator(jwt_config(pem)).await;
        let (status, token) = jwt_grant(&emulator, &sign(&claims(&emulator), JWT_KEY)).await;
        assert_eq!(status, StatusCode::OK, "{token}");
        assert_eq!(
            keys(&token),
            [
                "access_token",
                "scope",
                "instance_url",
                "id",
                "token_type",
                "issued_at"
            ]
        );
        assert_rest_works(&emulator, &token).await;
        let userinfo: Value = get(
            &emulator,
            "/services/oauth2/userinfo",
            Some(&access_token_of(&token)),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(userinfo["preferred_username"], "integration@example.com");
        assert_hits!(emulator, jwt_grants: 1);
    }
}

#[tokio::test]
async fn every_accepted_audience_works() {
    let emulator = emulator(Config {
        site: "/customers".into(),
        ..jwt_config(JWT_PUBLIC_KEY)
    })
    .await;
    let site_url = format!("{}/customers", emulator.url());
    for aud in [
        json!("https://test.salesforce.com"),
        json!(emulator.url()),
        json!(site_url),
        json!(["https://elsewhere.example", "https://login.salesforce.com"]),
    ] {
        let mut claims = claims(&emulator);
        claims["aud"] = aud.clone();
        let (status, body) = jwt_grant(&emulator, &sign(&claims, JWT_KEY)).await;
        assert_eq!(status, StatusCode::OK, "aud {aud}: {body}");
    }
}

#[tokio::test]
async fn an_expired_assertion_is_refused() {
    let emulator = emulator(jwt_config(JWT_PUBLIC_KEY)).await;
    let mut claims = claims(&emulator);
    claims["exp"] = json!(now() - 10);
    let (status, body) = jwt_grant(&emulator, &sign(&claims, JWT_KEY)).await;
    assert_refused(status, &body, "invalid_grant", "expired JWT");
}

#[tokio::test]
async fn an_assertion_valid_for_too_long_is_refused() {
    let emulator = emulator(jwt_config(JWT_PUBLIC_KEY)).await;
    let mut claims = claims(&emulator);
    claims["exp"] = json!(now() + 3600);
    let (status, body) = jwt_grant(&emulator, &sign(&claims, JWT_KEY)).await;
    assert_refused(
        status,
        &body,
        "invalid_grant",
        "expiration too far in the future",
    );
}

#[tokio::test]
async fn an_assertion_signed_by_another_key_is_refused() {
    let emulator = emulator(jwt_config(JWT_CERT)).await;
    let (status, body) = jwt_grant(&emulator, &sign(&claims(&emulator), OTHER_JWT_KEY)).await;
    assert_refused(status, &body, "invalid_grant", "invalid assertion");
    let (status, body) = jwt_grant(&emulator, "not.a.jwt").await;
    assert_refused(status, &body, "invalid_grant", "invalid assertion");
    assert_hits!(emulator, rejected: 2);
}

#[tokio::test]
async fn an_assertion_for_another_audience_is_refused() {
    let emulator = emulator(jwt_config(JWT_PUBLIC_KEY)).await;
    let mut claims = claims(&emulator);
    claims["aud"] = json!("https://login.example.com");
    let (status, body) = jwt_grant(&emulator, &sign(&claims, JWT_KEY)).await;
    assert_refused(status, &body, "invalid_grant", "audience is invalid");
}

#[tokio::test]
async fn an_assertion_from_another_client_is_refused() {
    let emulator = emulator(jwt_config(JWT_PUBLIC_KEY)).await;
    let mut claims = claims(&emulator);
    claims["iss"] = json!("someone-else");
    let (status, body) = jwt_grant(&emulator, &sign(&claims, JWT_KEY)).await;
    assert_refused(
        status,
        &body,
        "invalid_client_id",
        "client identifier invalid",
    );
}

#[tokio::test]
async fn an_assertion_without_subject_is_refused() {
    let emulator = emulator(jwt_config(JWT_PUBLIC_KEY)).await;
    let mut claims = claims(&emulator);
    claims.as_object_mut().unwrap().remove("sub");
    let (status, body) = jwt_grant(&emulator, &sign(&claims, JWT_KEY)).await;
    assert_refused(status, &body, "invalid_grant", "invalid assertion");
}

#[tokio::test]
async fn without_a_certificate_the_jwt_grant_is_refused() {
    let emulator = emulator(Config::default()).await;
    let (status, body) = jwt_grant(&emulator, &sign(&claims(&emulator), JWT_KEY)).await;
    assert_refused(status, &body, "invalid_grant", "invalid assertion");
}

#[tokio::test]
async fn an_unparsable_certificate_stops_the_emulator_from_starting() {
    let error = sfauth_emulator::spawn(jwt_config("not a pem"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

// ---- client credentials ---------------------------------------------------------------

fn run_as() -> Config {
    Config {
        client_credentials_user: Some("integration@example.com".into()),
        ..Config::default()
    }
}

/// The form of a client-credentials grant with the configured id and secret.
fn client_credentials(emulator: &Emulator) -> [(&str, &str); 3] {
    let config = emulator.config();
    [
        ("grant_type", "client_credentials"),
        ("client_id", config.client_id.as_str()),
        ("client_secret", config.client_secret.as_str()),
    ]
}

#[tokio::test]
async fn client_credentials_yield_a_signed_token_without_refresh_token() {
    let emulator = emulator(run_as()).await;
    let (status, token) = token_answer(&emulator, &client_credentials(&emulator)).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert!(token.get("refresh_token").is_none());
    assert!(token.get("token_format").is_none());
    assert!(token["signature"].is_string());
    assert_rest_works(&emulator, &token).await;
    assert_hits!(emulator, client_credentials_grants: 1);
}

#[tokio::test]
async fn client_credentials_may_come_in_a_basic_header() {
    let emulator = emulator(run_as()).await;
    let config = emulator.config();
    let response = client()
        .post(emulator.token_url())
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn client_credentials_need_the_secret() {
    let emulator = emulator(run_as()).await;
    let client_id = emulator.config().client_id.clone();
    for secret in [None, Some("wrong")] {
        let mut params = vec![
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
        ];
        if let Some(secret) = secret {
            params.push(("client_secret", secret));
        }
        let (status, body) = token_answer(&emulator, &params).await;
        assert_refused(
            status,
            &body,
            "invalid_client",
            "invalid client credentials",
        );
    }
}

#[tokio::test]
async fn client_credentials_without_a_run_as_user_are_refused() {
    let emulator = emulator(Config::default()).await;
    let (status, body) = token_answer(&emulator, &client_credentials(&emulator)).await;
    assert_refused(
        status,
        &body,
        "invalid_grant",
        "no client credentials user enabled",
    );
}

#[tokio::test]
async fn new_grants_wait_for_the_configured_latency() {
    let emulator = emulator(Config {
        latency: Duration::from_millis(300),
        ..run_as()
    })
    .await;
    let started = Instant::now();
    let response = post_token(&emulator, &client_credentials(&emulator))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

// ---- username-password ----------------------------------------------------------------

async fn password_grant(
    emulator: &Emulator,
    username: &str,
    password: &str,
) -> (StatusCode, Value) {
    let config = emulator.config();
    let params = [
        ("grant_type", "password"),
        ("client_id", config.client_id.as_str()),
        ("client_secret", config.client_secret.as_str()),
        ("username", username),
        ("password", password),
    ];
    token_answer(emulator, &params).await
}

fn password_flow() -> Config {
    Config {
        password_flow: true,
        users: vec![("ada@example.com".into(), "pa55wordTOKEN".into())],
        ..Config::default()
    }
}

#[tokio::test]
async fn the_password_flow_is_blocked_by_default() {
    let emulator = emulator(Config {
        password_flow: false,
        ..password_flow()
    })
    .await;
    let (status, body) = password_grant(&emulator, "ada@example.com", "pa55wordTOKEN").await;
    assert_refused(status, &body, "invalid_grant", "authentication failure");
}

#[tokio::test]
async fn the_password_flow_logs_a_known_user_in_when_enabled() {
    let emulator = emulator(password_flow()).await;
    let (status, token) = password_grant(&emulator, "ada@example.com", "pa55wordTOKEN").await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert!(token.get("refresh_token").is_none());
    assert!(token.get("scope").is_none());
    assert!(token["signature"].is_string());
    assert_rest_works(&emulator, &token).await;
    assert_hits!(emulator, password_grants: 1);
}

#[tokio::test]
async fn the_password_flow_refuses_wrong_credentials() {
    let emulator = emulator(password_flow()).await;
    for (user, password) in [
        ("ada@example.com", "pa55word"),
        ("bob@example.com", "pa55wordTOKEN"),
    ] {
        let (status, body) = password_grant(&emulator, user, password).await;
        assert_refused(status, &body, "invalid_grant", "authentication failure");
    }
}

// ---- device flow ----------------------------------------------------------------------

async fn start_device(emulator: &Emulator) -> Value {
    let params = [
        ("response_type", "device_code"),
        ("client_id", emulator.config().client_id.as_str()),
        ("scope", "api refresh_token"),
    ];
    let (status, body) = token_answer(emulator, &params).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn poll(emulator: &Emulator, device_code: &str) -> (StatusCode, Value) {
    let params = [
        ("grant_type", "device"),
        ("client_id", emulator.config().client_id.as_str()),
        ("code", device_code),
    ];
    token_answer(emulator, &params).await
}

#[tokio::test]
async fn device_flow_slows_down_then_pends_then_yields_refreshable_tokens() {
    let emulator = emulator(Config {
        device_slow_down_polls: 1,
        device_approve_after_polls: 2,
        ..Config::default()
    })
    .await;
    let start = start_device(&emulator).await;
    assert_eq!(
        start["verification_uri"],
        format!("{}/setup/connect", emulator.url())
    );
    assert_eq!(start["interval"], 1);
    assert_eq!(start["user_code"].as_str().unwrap().len(), 8);
    let device_code = start["device_code"].as_str().unwrap();

    let (status, body) = poll(&emulator, device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "slow_down");
    let (status, body) = poll(&emulator, device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "authorization_pending");
    let (status, token) = poll(&emulator, device_code).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["scope"], "api refresh_token");
    assert_rest_works(&emulator, &token).await;
    assert_refreshes(&emulator, &token).await;

    let (status, body) = poll(&emulator, device_code).await;
    assert_refused(status, &body, "invalid_grant", "invalid device code");
    // Pending and slow_down are not rejections.
    assert_hits!(emulator, device_polls: 4, rejected: 1);
}

#[tokio::test]
async fn device_flow_defaults_to_two_pending_polls() {
    let emulator = emulator(Config::default()).await;
    let start = start_device(&emulator).await;
    let device_code = start["device_code"].as_str().unwrap();
    for _ in 0..2 {
        let (_, body) = poll(&emulator, device_code).await;
        assert_eq!(body["error"], "authorization_pending");
    }
    let (status, _) = poll(&emulator, device_code).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_denied_device_flow_ends_in_access_denied() {
    let emulator = emulator(Config {
        consent: Consent::Deny,
        device_approve_after_polls: 0,
        ..Config::default()
    })
    .await;
    let start = start_device(&emulator).await;
    let (status, body) = poll(&emulator, start["device_code"].as_str().unwrap()).await;
    assert_refused(
        status,
        &body,
        "access_denied",
        "end-user denied authorization",
    );
}

#[tokio::test]
async fn an_unknown_device_code_is_refused() {
    let emulator = emulator(Config::default()).await;
    let (status, body) = poll(&emulator, "Mnope").await;
    assert_refused(status, &body, "invalid_grant", "invalid device code");
}

// ---- introspection and revocation -----------------------------------------------------

async fn introspect(emulator: &Emulator, token: &str, secret: &str) -> (StatusCode, Value) {
    let response = client()
        .post(emulator.introspect_url())
        .form(&[
            ("token", token),
            ("token_type_hint", "access_token"),
            ("client_id", &emulator.config().client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

#[tokio::test]
async fn introspection_describes_live_tokens() {
    let emulator = emulator(Config::default()).await;
    let secret = emulator.config().client_secret.clone();
    let token = emulator.issue_token("alice@example.com");
    let before = now();

    let (status, access) = introspect(&emulator, &access_token_of(&token), &secret).await;
    assert_eq!(status, StatusCode::OK, "{access}");
    assert_eq!(access["active"], true);
    assert_eq!(access["token_type"], "access_token");
    assert_eq!(access["username"], "alice@example.com");
    assert_eq!(access["client_id"], emulator.config().client_id);
    assert_eq!(access["sub"], token["id"]);
    assert_eq!(access["scope"], "api refresh_token id");
    let iat = access["iat"].as_u64().unwrap();
    assert!(iat.abs_diff(before) <= 2);
    assert_eq!(access["nbf"], iat);
    assert_eq!(access["exp"].as_u64().unwrap(), iat + 7200);

    let (_, refresh) = introspect(&emulator, &refresh_token_of(&token), &secret).await;
    assert_eq!(refresh["active"], true);
    assert_eq!(refresh["token_type"], "refresh_token");
    assert_hits!(emulator, introspections: 2);
}

#[tokio::test]
async fn introspection_reports_dead_tokens_as_inactive() {
    let emulator = emulator(Config::default()).await;
    let secret = emulator.config().client_secret.clone();
    let token = emulator.issue_token("alice@example.com");
    let (_, body) = introspect(&emulator, "00Dnope", &secret).await;
    assert_eq!(body, json!({ "active": false }));
    emulator.expire_access_tokens();
    let (_, body) = introspect(&emulator, &access_token_of(&token), &secret).await;
    assert_eq!(body, json!({ "active": false }));
    emulator.revoke_refresh_token(&refresh_token_of(&token));
    let (_, body) = introspect(&emulator, &refresh_token_of(&token), &secret).await;
    assert_eq!(body, json!({ "active": false }));
}

#[tokio::test]
async fn introspection_needs_the_client_to_authenticate() {
    let emulator = emulator(Config::default()).await;
    let token = emulator.issue_token("alice@example.com");
    let (status, body) = introspect(&emulator, &access_token_of(&token), "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        oauth_error("invalid_client", "invalid client credentials")
    );
    let (status, _) = introspect(&emulator, &access_token_of(&token), "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a secret is required");

    let config = emulator.config();
    let response = client()
        .post(emulator.introspect_url())
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .form(&[("token", access_token_of(&token))])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true);
}

#[tokio::test]
async fn revocation_by_post_and_get_kills_the_family_and_is_counted() {
    let emulator = emulator(Config::default()).await;
    let first = emulator.issue_token("alice@example.com");
    let response = post_revoke(&emulator, &refresh_token_of(&first)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rest = get(&emulator, "/services/data/", Some(&access_token_of(&first))).await;
    assert_eq!(rest.status(), StatusCode::UNAUTHORIZED);

    let second = emulator.issue_token("alice@example.com");
    let response = client()
        .get(emulator.revoke_url())
        .query(&[("token", access_token_of(&second))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_refreshes(&emulator, &second).await;

    let response = post_revoke(&emulator, "nope").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        emulator.stats(),
        Stats {
            token_requests: 1,
            refreshes_served: 1,
            revocations: 2,
            rest_requests: 1,
            rest_unauthorized: 1,
            ..Stats::default()
        }
    );
}

#[tokio::test]
async fn revoking_an_already_revoked_token_is_invalid_token() {
    let emulator = emulator(Config::default()).await;
    let refresh_token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    for expected in [StatusCode::OK, StatusCode::BAD_REQUEST] {
        let response = post_revoke(&emulator, &refresh_token).await;
        assert_eq!(response.status(), expected);
    }
    assert_hits!(emulator, revocations: 1);
}
