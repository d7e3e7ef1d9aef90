//! Injected faults: raw answers, OAuth errors, dropped connections, bad signatures, delays.

mod common;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sfauth_emulator::{Config, Fault};

use common::*;

#[tokio::test]
async fn a_status_fault_is_served_verbatim_instead_of_the_grant() {
    let emulator = emulator(Config::default()).await;
    let token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    emulator.inject(Fault::Status {
        status: 503,
        content_type: "text/html".to_owned(),
        body: "<html>maintenance</html>".to_owned(),
    });
    let response = refresh(&emulator, &token).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert_eq!(response.text().await.unwrap(), "<html>maintenance</html>");

    let stats = emulator.stats();
    assert_eq!(stats.faults_served, 1);
    assert_eq!(stats.refreshes_served, 0);
    let (status, _) = status_and_json(refresh(&emulator, &token).await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the fault did not consume the token"
    );
}

#[tokio::test]
async fn faults_are_consumed_in_fifo_order_one_per_request() {
    let emulator = emulator(Config::default()).await;
    let token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    emulator.inject(Fault::OAuthError {
        status: 400,
        error: "invalid_grant".to_owned(),
        description: "IP restricted or invalid login hours".to_owned(),
    });
    emulator.inject(Fault::Status {
        status: 200,
        content_type: "text/plain".to_owned(),
        body: "not json".to_owned(),
    });

    let (status, body) = status_and_json(refresh(&emulator, &token).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        oauth_error("invalid_grant", "IP restricted or invalid login hours")
    );
    let second = refresh(&emulator, &token).await.unwrap();
    assert_eq!(second.text().await.unwrap(), "not json");
    let (status, _) = status_and_json(refresh(&emulator, &token).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emulator.stats().faults_served, 2);
}

#[tokio::test]
async fn close_connection_gives_the_client_a_transport_error_not_a_status() {
    let emulator = emulator(Config::default()).await;
    let token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    emulator.inject(Fault::CloseConnection);

    let started = Instant::now();
    let error = refresh(&emulator, &token)
        .await
        .expect_err("no HTTP answer at all");
    assert!(error.status().is_none(), "{error:?}");
    assert!(!error.is_timeout(), "closed, not hung: {error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let stats = emulator.stats();
    assert_eq!((stats.faults_served, stats.refreshes_served), (1, 0));
    let (status, _) = status_and_json(refresh(&emulator, &token).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "the server keeps serving");
}

#[tokio::test]
async fn lose_response_rotates_the_token_but_the_client_never_hears_of_it() {
    let emulator = emulator(Config::default()).await;
    let token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    emulator.inject(Fault::LoseResponse);

    let error = refresh(&emulator, &token).await.expect_err("no answer");
    assert!(error.status().is_none(), "{error:?}");
    assert_eq!(emulator.stats().refreshes_served, 1);

    // The naive retry replays a rotated-out token and loses the family.
    let (status, _) = status_and_json(refresh(&emulator, &token).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(emulator.stats().reuse_detected, 1);
}

#[tokio::test]
async fn bad_signature_fault_processes_the_refresh_with_a_wrong_signature() {
    let emulator = emulator(Config::default()).await;
    let login = emulator.issue_token("alice@example.com");
    emulator.inject(Fault::BadSignature);
    let (status, body) =
        status_and_json(refresh(&emulator, &refresh_token_of(&login)).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("refresh_token").is_some(), "processed normally");
    let signature = body["signature"].as_str().unwrap();
    assert_eq!(signature.len(), 44, "still looks like a base64 HMAC");

    // The same id and issued_at signed properly would differ.
    let honest = emulator.issue_token("alice@example.com");
    assert_ne!(honest["signature"], body["signature"]);
    assert_eq!(emulator.stats().refreshes_served, 1);
}

#[tokio::test]
async fn a_retry_during_a_delayed_refresh_is_refused_as_already_processing() {
    let emulator = emulator(Config::default()).await;
    let token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    emulator.inject(Fault::Delay(Duration::from_millis(1000)));

    let slow = tokio::spawn(refresh(&emulator, &token));
    wait_until("the slow request is being processed", || {
        emulator.stats().token_requests == 1
    })
    .await;

    let (status, body) = status_and_json(refresh(&emulator, &token).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        oauth_error("invalid_grant", "token request is already being processed")
    );
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.status(), StatusCode::OK);
    assert_eq!(emulator.stats().refused_parallel, 1);
}
