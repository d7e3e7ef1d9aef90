//! The refresh-token grant: rotation, reuse detection, parallel refusal, client checks,
//! signature and response shape.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::Value;
use sfauth_emulator::{Config, Stats, assert_hits};
use sha2::Sha256;

use crate::support::*;

#[tokio::test]
async fn rotation_issues_a_new_refresh_token_and_kills_the_old_one() {
    let (emulator, first) = logged_in(Config::default()).await;

    let (status, body) = refresh_answer(&emulator, &first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = refresh_token_of(&body);
    assert_ne!(second, first);

    let (status, _) = refresh_answer(&emulator, &second).await;
    assert_eq!(status, StatusCode::OK, "the new refresh token works");
    let (status, body) = refresh_answer(&emulator, &first).await;
    assert_refused(
        status,
        &body,
        "invalid_grant",
        "expired access/refresh token",
    );
}

#[tokio::test]
async fn replaying_a_rotated_out_token_revokes_the_whole_family() {
    let emulator = emulator(Config::default()).await;
    let login = emulator.issue_token("alice@example.com");
    let first = refresh_token_of(&login);
    let (_, body) = refresh_answer(&emulator, &first).await;
    let current = refresh_token_of(&body);
    let current_access = access_token_of(&body);

    let (status, replay) = refresh_answer(&emulator, &first).await;
    assert_refused(
        status,
        &replay,
        "invalid_grant",
        "expired access/refresh token",
    );

    let (status, after) = refresh_answer(&emulator, &current).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "current token died too");
    assert_eq!(after["error"], "invalid_grant");
    let rest = get(&emulator, "/services/data/", Some(&current_access)).await;
    assert_eq!(
        rest.status(),
        StatusCode::UNAUTHORIZED,
        "access tokens died too"
    );

    // `rejected` is the failed refresh of the current token.
    assert_hits!(emulator, reuse_detected: 1, refreshes_served: 1, rejected: 1);
}

#[tokio::test]
async fn without_rotation_no_refresh_token_is_returned_and_the_old_one_keeps_working() {
    let (emulator, token) = logged_in(Config {
        rotation: false,
        ..Config::default()
    })
    .await;
    for _ in 0..3 {
        let (status, body) = refresh_answer(&emulator, &token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("refresh_token").is_none(), "{body}");
    }
    assert_hits!(emulator, reuse_detected: 0);
}

#[tokio::test]
async fn parallel_refreshes_of_one_token_serve_one_and_refuse_the_other() {
    // Long enough that both requests surely overlap, even on a loaded machine.
    let (emulator, token) = logged_in(Config {
        latency: Duration::from_millis(1000),
        ..Config::default()
    })
    .await;

    let (a, b) = tokio::join!(refresh(&emulator, &token), refresh(&emulator, &token));
    let mut answers = [
        status_and_json(a.unwrap()).await,
        status_and_json(b.unwrap()).await,
    ];
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(answers[0].0, StatusCode::OK, "{}", answers[0].1);
    let (status, body) = &answers[1];
    assert_refused(
        *status,
        body,
        "invalid_grant",
        "token request is already being processed",
    );
    // A refused parallel request is not reuse.
    assert_hits!(emulator, refreshes_served: 1, refused_parallel: 1, reuse_detected: 0);
}

#[tokio::test]
async fn latency_can_be_changed_while_running() {
    let (emulator, token) = logged_in(Config::default()).await;
    emulator.set_latency(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let response = refresh(&emulator, &token).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn wrong_client_id_is_refused_as_invalid_client_id() {
    let (emulator, token) = logged_in(Config::default()).await;
    let (status, body) = token_answer(&emulator, &refresh_params("someone-else", &token)).await;
    assert_refused(
        status,
        &body,
        "invalid_client_id",
        "client identifier invalid",
    );
    assert_hits!(emulator, rejected: 1);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_even_when_no_secret_is_required() {
    let (emulator, token) = logged_in(Config::default()).await;
    let mut params = refresh_params(&emulator.config().client_id, &token).to_vec();
    params.push(("client_secret", "stale-secret"));
    let (status, body) = token_answer(&emulator, &params).await;
    assert_refused(
        status,
        &body,
        "invalid_client",
        "invalid client credentials",
    );
}

#[tokio::test]
async fn require_secret_refuses_a_refresh_without_secret() {
    let (emulator, token) = logged_in(Config {
        require_secret: true,
        ..Config::default()
    })
    .await;
    let (status, body) = refresh_answer(&emulator, &token).await;
    assert_refused(
        status,
        &body,
        "invalid_client",
        "invalid client credentials",
    );
}

#[tokio::test]
async fn require_secret_accepts_the_right_secret_in_the_form() {
    let (emulator, token) = logged_in(Config {
        require_secret: true,
        ..Config::default()
    })
    .await;
    let config = emulator.config();
    let mut params = refresh_params(&config.client_id, &token).to_vec();
    params.push(("client_secret", &config.client_secret));
    let (status, body) = token_answer(&emulator, &params).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn client_credentials_are_accepted_in_an_http_basic_header() {
    let (emulator, token) = logged_in(Config {
        require_secret: true,
        ..Config::default()
    })
    .await;
    let config = emulator.config().clone();
    let response = client()
        .post(emulator.token_url())
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_refresh_token_is_an_invalid_grant() {
    let emulator = emulator(Config::default()).await;
    let (status, body) = refresh_answer(&emulator, "5Aep861nope").await;
    assert_refused(
        status,
        &body,
        "invalid_grant",
        "expired access/refresh token",
    );
    assert_eq!(
        emulator.stats(),
        Stats {
            token_requests: 1,
            rejected: 1,
            ..Stats::default()
        }
    );
}

#[tokio::test]
async fn a_token_revoked_by_the_test_is_refused_without_counting_reuse() {
    let (emulator, token) = logged_in(Config::default()).await;
    emulator.revoke_refresh_token(&token);
    let (status, body) = refresh_answer(&emulator, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_hits!(emulator, reuse_detected: 0);
}

#[tokio::test]
async fn unknown_or_missing_grant_type_is_unsupported() {
    let emulator = emulator(Config::default()).await;
    for params in [
        vec![(
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        )],
        vec![("client_id", "sfauth-emulator-client")],
    ] {
        let (status, body) = token_answer(&emulator, &params).await;
        assert_refused(
            status,
            &body,
            "unsupported_grant_type",
            "grant type not supported",
        );
    }
    assert_hits!(emulator, rejected: 2);
}

#[tokio::test]
async fn a_json_body_is_not_understood_as_a_grant() {
    let (emulator, token) = logged_in(Config::default()).await;
    let response = client()
        .post(emulator.token_url())
        .json(&serde_json::json!({
            "grant_type": "refresh_token",
            "client_id": "sfauth-emulator-client",
            "refresh_token": token,
        }))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn a_missing_refresh_token_is_an_invalid_request() {
    let emulator = emulator(Config::default()).await;
    let params = [
        ("grant_type", "refresh_token"),
        ("client_id", "sfauth-emulator-client"),
    ];
    let (status, body) = token_answer(&emulator, &params).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
}

fn expected_signature(secret: &str, body: &Value) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body["id"].as_str().unwrap().as_bytes());
    mac.update(body["issued_at"].as_str().unwrap().as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn the_signature_is_the_hmac_of_id_and_issued_at_keyed_by_the_secret() {
    let emulator = emulator(Config {
        client_secret: "s3cr3t".to_owned(),
        ..Config::default()
    })
    .await;
    let login = emulator.issue_token("alice@example.com");
    assert_eq!(login["signature"], expected_signature("s3cr3t", &login));

    let (_, body) = refresh_answer(&emulator, &refresh_token_of(&login)).await;
    assert_eq!(body["signature"], expected_signature("s3cr3t", &body));
}

#[tokio::test]
async fn refresh_response_has_salesforce_keys_in_order_and_no_expires_in() {
    let (emulator, token) = logged_in(Config::default()).await;
    let response = refresh(&emulator, &token).await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    assert_eq!(
        response.headers()["cache-control"],
        "no-cache,must-revalidate,max-age=0,no-store,private"
    );
    let (_, body) = status_and_json(response).await;
    assert_eq!(keys(&body), FULL_TOKEN_KEYS);
    let issued_at = body["issued_at"].as_str().unwrap();
    assert_eq!(issued_at.len(), 13, "milliseconds: {issued_at}");
    assert!(issued_at.bytes().all(|b| b.is_ascii_digit()));
    assert!(access_token_of(&body).starts_with("00D000000000001!AQ"));
    assert!(access_token_of(&body).len() >= 40);
    assert_eq!(body["instance_url"], emulator.url());
    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn issued_tokens_carry_a_stable_identity_url() {
    let first = emulator(Config::default()).await;
    let second = emulator(Config::default()).await;
    let a = first.issue_token("alice@example.com");
    let b = second.issue_token("alice@example.com");

    let id = a["id"].as_str().unwrap();
    let prefix = format!("{}/id/00D000000000001EAA/", first.url());
    let user_id = id
        .strip_prefix(&prefix)
        .expect("id is {url}/id/{org}/{user}");
    assert_eq!(user_id.len(), 18);
    assert!(user_id.starts_with("005"));
    assert!(
        b["id"].as_str().unwrap().ends_with(user_id),
        "same user, same id"
    );
    assert_eq!(a["scope"], "api refresh_token id");
    assert_eq!(a["instance_url"], first.url());
}

#[tokio::test]
async fn revoke_endpoint_kills_a_refresh_token_and_its_access_tokens() {
    let emulator = emulator(Config::default()).await;
    let login = emulator.issue_token("alice@example.com");
    let response = post_revoke(&emulator, &refresh_token_of(&login)).await;
    assert_eq!(response.status(), StatusCode::OK);

    let refreshed = refresh(&emulator, &refresh_token_of(&login)).await.unwrap();
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
    let rest = get(&emulator, "/services/data/", Some(&access_token_of(&login))).await;
    assert_eq!(rest.status(), StatusCode::UNAUTHORIZED);

    let (status, body) = status_and_json(post_revoke(&emulator, "unknown").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn a_refresh_whose_client_went_away_is_still_processed_and_rotated() {
    let (emulator, token) = logged_in(Config {
        latency: Duration::from_millis(300),
        ..Config::default()
    })
    .await;

    // The client gives up long before the refresh is done, and closes its connection.
    let impatient = impatient_client(Duration::from_millis(50));
    let error = refresh_request(&impatient, &emulator, &token)
        .send()
        .await
        .expect_err("the client times out");
    assert!(error.is_timeout(), "{error:?}");
    drop(impatient);

    wait_until("the abandoned refresh is served", || {
        emulator.stats().refreshes_served == 1
    })
    .await;
    let (status, _) = refresh_answer(&emulator, &token).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the old token was rotated out"
    );
    assert_hits!(emulator, reuse_detected: 1);
}

#[tokio::test]
async fn the_side_door_sees_a_refresh_token_live_until_it_is_rotated_out() {
    let (emulator, first) = logged_in(Config::default()).await;
    assert!(emulator.refresh_token_is_live(&first), "live after issue");
    assert!(
        emulator.refresh_token_is_live(&first),
        "asking does not spend it"
    );

    let (status, body) = refresh_answer(&emulator, &first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = refresh_token_of(&body);
    assert!(
        !emulator.refresh_token_is_live(&first),
        "dead after rotation"
    );
    assert!(emulator.refresh_token_is_live(&second));
    assert!(!emulator.refresh_token_is_live("5Aep861never.issued"));
}

#[tokio::test]
async fn the_side_door_sees_every_refresh_token_of_a_revoked_family_dead() {
    let (emulator, first) = logged_in(Config::default()).await;
    let (_, body) = refresh_answer(&emulator, &first).await;
    let current = refresh_token_of(&body);
    let other = refresh_token_of(&emulator.issue_token("bob@example.com"));

    // Replaying the rotated-out token revokes the family, current token included.
    let (status, _) = refresh_answer(&emulator, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!emulator.refresh_token_is_live(&current));
    assert!(!emulator.refresh_token_is_live(&first));
    assert!(
        emulator.refresh_token_is_live(&other),
        "other families stand"
    );

    emulator.revoke_refresh_token(&other);
    assert!(!emulator.refresh_token_is_live(&other));
}
