//! Everything around the grant: REST and UserInfo auth, site routing, gzip, stats, and
//! the emulator's life cycle.

use std::io::Read as _;
use std::time::Duration;

use flate2::read::GzDecoder;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sfauth_emulator::{Config, Emulator, Stats, assert_hits};

use crate::support::*;

const INVALID_SESSION: &str =
    r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;

#[tokio::test]
async fn rest_accepts_a_valid_access_token() {
    let emulator = emulator(Config::default()).await;
    let access = access_token_of(&emulator.issue_token("alice@example.com"));
    for path in ["/services/data/", "/services/data"] {
        let response = get(&emulator, path, Some(&access)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body[0]["version"], "62.0");
        assert_eq!(body[0]["url"], "/services/data/v62.0");
    }
}

#[tokio::test]
async fn rest_answers_401_invalid_session_after_expire_access_tokens() {
    let emulator = emulator(Config::default()).await;
    let login = emulator.issue_token("alice@example.com");
    emulator.expire_access_tokens();

    let response = get(&emulator, "/services/data/", Some(&access_token_of(&login))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(response.text().await.unwrap(), INVALID_SESSION);

    // Refreshing is the cure: the refresh token survived.
    let body = assert_refresh_works(&emulator, &refresh_token_of(&login)).await;
    let fresh = get(&emulator, "/services/data/", Some(&access_token_of(&body))).await;
    assert_eq!(fresh.status(), StatusCode::OK);
}

#[tokio::test]
async fn rest_refuses_missing_and_unknown_tokens() {
    let emulator = emulator(Config::default()).await;
    for bearer in [None, Some("00D000000000001!AQnope")] {
        let response = get(&emulator, "/services/data/", bearer).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bearer:?}");
        assert_eq!(response.text().await.unwrap(), INVALID_SESSION);
    }
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let emulator = emulator(Config {
        access_token_lifetime: Duration::from_millis(1000),
        ..Config::default()
    })
    .await;
    let access = access_token_of(&emulator.issue_token("alice@example.com"));
    assert_eq!(
        get(&emulator, "/services/data/", Some(&access))
            .await
            .status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        get(&emulator, "/services/data/", Some(&access))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn userinfo_describes_the_user_behind_the_token() {
    let emulator = emulator(Config::default()).await;
    let login = emulator.issue_token("alice@example.com");
    let response = get(
        &emulator,
        "/services/oauth2/userinfo",
        Some(&access_token_of(&login)),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sub"], login["id"]);
    assert_eq!(body["preferred_username"], "alice@example.com");
    assert_eq!(body["organization_id"], "00D000000000001EAA");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["active"], true);
    assert!(
        login["id"]
            .as_str()
            .unwrap()
            .ends_with(body["user_id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn the_identity_url_answers_for_a_valid_token() {
    let emulator = emulator(Config::default()).await;
    let login = emulator.issue_token("alice@example.com");
    let id_url = login["id"].as_str().unwrap();
    let path = id_url.strip_prefix(&emulator.url()).unwrap();
    let response = get(&emulator, path, Some(&access_token_of(&login))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], id_url);
    assert_eq!(body["username"], "alice@example.com");

    let unauthenticated = get(&emulator, path, None).await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_site_prefix_moves_the_token_endpoint_under_it() {
    let emulator = emulator(Config {
        site: "/customers".to_owned(),
        ..Config::default()
    })
    .await;
    let login = emulator.issue_token("alice@example.com");
    assert_eq!(
        emulator.token_url(),
        format!("{}/customers/services/oauth2/token", emulator.url())
    );
    let response = refresh(&emulator, &refresh_token_of(&login)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let without_site = client()
        .post(format!("{}/services/oauth2/token", emulator.url()))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(without_site.status(), StatusCode::NOT_FOUND);

    let access = access_token_of(&login);
    for path in [
        "/customers/services/oauth2/userinfo",
        "/services/oauth2/userinfo",
    ] {
        let response = get(&emulator, path, Some(&access)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn a_site_prefix_with_route_syntax_is_refused() {
    let error = sfauth_emulator::spawn(Config {
        site: "/{oops}".to_owned(),
        ..Config::default()
    })
    .await
    .expect_err("invalid site");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn responses_are_gzipped_when_the_client_accepts_gzip() {
    let (emulator, token) = logged_in(Config::default()).await;
    let raw_client = raw_client();
    let send = || {
        refresh_request(&raw_client, &emulator, &token)
            .header("accept-encoding", "gzip")
            .send()
    };

    // A success and a tiny error body: both must come compressed.
    let success = send().await.unwrap();
    let error = send().await.unwrap();
    for (response, expected_status) in [(success, 200), (error, 400)] {
        assert_eq!(response.status().as_u16(), expected_status);
        assert_eq!(response.headers()["content-encoding"], "gzip");
        let compressed = response.bytes().await.unwrap();
        let mut text = String::new();
        GzDecoder::new(&compressed[..])
            .read_to_string(&mut text)
            .expect("valid gzip");
        let body: Value = serde_json::from_str(&text).expect("JSON inside");
        assert!(body.is_object(), "{body}");
    }
}

#[tokio::test]
async fn responses_are_plain_when_the_client_does_not_accept_gzip() {
    let (emulator, token) = logged_in(Config::default()).await;
    let response = refresh_request(&raw_client(), &emulator, &token)
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("content-encoding").is_none());
    let body: Value = response.json().await.unwrap();
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn stats_endpoint_reports_the_counters_as_json() {
    let (emulator, token) = logged_in(Config::default()).await;
    refresh(&emulator, &token).await.unwrap();
    refresh(&emulator, &token).await.unwrap(); // replay: reuse

    let body: Value = get(&emulator, "/__emulator/stats", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({
            "token_requests": 2,
            "refreshes_served": 1,
            "refused_parallel": 0,
            "reuse_detected": 1,
            "rejected": 0,
            "faults_served": 0,
            "authorizations": 0,
            "codes_exchanged": 0,
            "jwt_grants": 0,
            "client_credentials_grants": 0,
            "password_grants": 0,
            "device_polls": 0,
            "revocations": 0,
            "introspections": 0,
            "rest_requests": 0,
            "rest_unauthorized": 0,
            "frontdoor_urls": 0,
            "frontdoor_logins": 0,
            "frontdoor_refused": 0,
        })
    );
    assert_eq!(serde_json::to_value(emulator.stats()).unwrap(), body);
}

#[tokio::test]
async fn a_frontdoor_url_lets_a_browser_in_once_at_its_path() {
    let emulator = emulator(Config::default()).await;
    let issued = emulator.issue_token("alice@example.com");
    let access = issued["access_token"].as_str().unwrap();
    let answer: Value = client()
        .post(format!("{}/services/oauth2/singleaccess", emulator.url()))
        .bearer_auth(access)
        .form(&[("redirect_uri", "/lightning/page/home")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = answer["frontdoor_uri"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/secur/frontdoor.jsp?otp=", emulator.url())),
        "{url}"
    );
    let browser = client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let first = browser.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 302);
    assert_eq!(first.headers()["location"], "/lightning/page/home");
    let again = browser.get(&url).send().await.unwrap();
    assert_eq!(again.status(), 400, "a frontdoor URL works once");
    let unauthorized = client()
        .post(format!("{}/services/oauth2/singleaccess", emulator.url()))
        .bearer_auth("00Dx!AQ.not-a-session")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let stats = emulator.stats();
    assert_eq!(
        (
            stats.frontdoor_urls,
            stats.frontdoor_logins,
            stats.frontdoor_refused
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let emulator = emulator(Config::default()).await;
    let response = get(&emulator, "/services/oauth2/nothing-here", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_url_is_loopback_without_trailing_slash() {
    let emulator = emulator(Config::default()).await;
    let url = emulator.url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with('/'));
    assert_eq!(url, format!("http://{}", emulator.addr()));
}

#[tokio::test]
async fn after_shutdown_the_port_refuses_connections() {
    let emulator = emulator(Config::default()).await;
    let url = format!("{}/__emulator/stats", emulator.url());
    assert!(client().get(&url).send().await.is_ok());
    emulator.shutdown();

    let mut refused = false;
    for _ in 0..100 {
        match client().get(&url).send().await {
            Err(error) if error.is_connect() => {
                refused = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(refused, "the listener closed");
}

#[test]
fn start_serves_from_its_own_runtime_for_synchronous_tests() {
    let emulator = Emulator::start(Config::default()).unwrap();
    let token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let response = runtime.block_on(refresh(&emulator, &token)).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        emulator.stats(),
        Stats {
            token_requests: 1,
            refreshes_served: 1,
            ..Stats::default()
        }
    );
}

#[tokio::test]
async fn start_also_works_and_drops_cleanly_inside_an_async_test() {
    let emulator = Emulator::start(Config::default()).unwrap();
    let token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    let response = refresh(&emulator, &token).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    drop(emulator); // must not panic for dropping a runtime in async context
}

/// Anything with a `stats()` method will do for `assert_hits!`.
struct Counted(Stats);

impl Counted {
    fn stats(&self) -> Stats {
        self.0
    }
}

#[test]
fn assert_hits_names_each_counter_that_differs_then_shows_them_all() {
    let counted = Counted(Stats {
        token_requests: 1,
        refreshes_served: 1,
        ..Stats::default()
    });
    assert_hits!(counted, token_requests: 1, refreshes_served: 1, rejected: 0);

    let failure = std::panic::catch_unwind(|| {
        assert_hits!(counted, token_requests: 2, refreshes_served: 1, rejected: 3);
    })
    .expect_err("two counters differ");
    let message = failure
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(
        message.starts_with(
            "emulator hits: token_requests is 1, expected 2; rejected is 0, expected 3\n\
             all counters: Stats { token_requests: 1, refreshes_served: 1, "
        ),
        "{message}"
    );
}

#[test]
fn config_debug_never_shows_the_secret() {
    let config = Config {
        client_secret: "hunter2".to_owned(),
        ..Config::default()
    };
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[tokio::test]
async fn limits_answer_for_a_valid_session() {
    let emulator = emulator(Config::default()).await;
    let access = access_token_of(&emulator.issue_token("alice@example.com"));
    let response = get(&emulator, "/services/data/v62.0/limits", Some(&access)).await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["DailyApiRequests"]["Max"], 15000);
}

#[tokio::test]
async fn creating_a_record_needs_a_json_object_body() {
    let emulator = emulator(Config::default()).await;
    let access = access_token_of(&emulator.issue_token("alice@example.com"));
    let url = format!("{}/services/data/v62.0/sobjects/Account", emulator.url());
    let create = |body: &'static str| client().post(&url).bearer_auth(&access).body(body).send();
    let (status, body) = status_and_json(create(r#"{"Name":"Acme"}"#).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["success"], true);
    let recorded = emulator.last_rest_request().unwrap();
    assert_eq!(
        (recorded.method.as_str(), recorded.body.as_slice()),
        ("POST", &br#"{"Name":"Acme"}"#[..])
    );

    let (status, body) = status_and_json(create("not json").await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body[0]["errorCode"], "JSON_PARSER_ERROR");
}

#[tokio::test]
async fn unknown_rest_resources_are_not_found() {
    let emulator = emulator(Config::default()).await;
    let access = access_token_of(&emulator.issue_token("alice@example.com"));
    let response = get(
        &emulator,
        "/services/data/v62.0/nothing/here",
        Some(&access),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body[0]["errorCode"], "NOT_FOUND");
}

#[tokio::test]
async fn an_injected_rest_answer_is_served_once_whatever_the_token() {
    let emulator = emulator(Config::default()).await;
    let access = access_token_of(&emulator.issue_token("alice@example.com"));
    let policy = r#"[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]"#;
    emulator.inject_rest(401, policy);
    let first = get(&emulator, "/services/data/", Some(&access)).await;
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(first.text().await.unwrap(), policy);
    let second = get(&emulator, "/services/data/", Some(&access)).await;
    assert_eq!(second.status(), StatusCode::OK);
    // An injected answer is not a session check.
    assert_hits!(emulator, rest_requests: 2, rest_unauthorized: 0);
}

#[tokio::test]
async fn rejected_sessions_are_counted() {
    let emulator = emulator(Config::default()).await;
    let response = get(&emulator, "/services/data/v62.0/limits", Some("00Dbogus")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_hits!(emulator, rest_unauthorized: 1);
}
