//! Injected faults: raw answers, OAuth errors, dropped connections, bad signatures, delays.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sfauth_emulator::{Config, Emulator, Fault, assert_hits};

use crate::support::*;

/// An emulator with a user logged in and `fault` queued; returns it and her refresh token.
async fn faulted(fault: Fault) -> (Emulator, String) {
    let (emulator, token) = logged_in(Config::default()).await;
    emulator.inject(fault);
    (emulator, token)
}

/// The replay of `token` is refused as reuse: it was rotated out.
async fn assert_rotated_out(emulator: &Emulator, token: &str) {
    let (status, _) = refresh_answer(emulator, token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_hits!(emulator, reuse_detected: 1);
}

#[tokio::test]
async fn a_status_fault_is_served_verbatim_instead_of_the_grant() {
    let (emulator, token) = faulted(Fault::Status {
        status: 503,
        content_type: "text/html".to_owned(),
        body: "<html>maintenance</html>".to_owned(),
    })
    .await;
    let response = refresh(&emulator, &token).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert_eq!(response.text().await.unwrap(), "<html>maintenance</html>");

    assert_hits!(emulator, faults_served: 1, refreshes_served: 0);
    // The fault did not consume the token.
    assert_refresh_works(&emulator, &token).await;
}

#[tokio::test]
async fn faults_are_consumed_in_fifo_order_one_per_request() {
    let (emulator, token) = faulted(Fault::OAuthError {
        status: 400,
        error: "invalid_grant".to_owned(),
        description: "IP restricted or invalid login hours".to_owned(),
    })
    .await;
    emulator.inject(Fault::Status {
        status: 200,
        content_type: "text/plain".to_owned(),
        body: "not json".to_owned(),
    });

    let (status, body) = refresh_answer(&emulator, &token).await;
    assert_refused(
        status,
        &body,
        "invalid_grant",
        "IP restricted or invalid login hours",
    );
    let second = refresh(&emulator, &token).await.unwrap();
    assert_eq!(second.text().await.unwrap(), "not json");
    assert_refresh_works(&emulator, &token).await;
    assert_hits!(emulator, faults_served: 2);
}

#[tokio::test]
async fn close_connection_gives_the_client_a_transport_error_not_a_status() {
    let (emulator, token) = faulted(Fault::CloseConnection).await;

    let started = Instant::now();
    let error = refresh(&emulator, &token)
        .await
        .expect_err("no HTTP answer at all");
    assert!(error.status().is_none(), "{error:?}");
    assert!(!error.is_timeout(), "closed, not hung: {error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    assert_hits!(emulator, faults_served: 1, refreshes_served: 0);
    // The server keeps serving.
    assert_refresh_works(&emulator, &token).await;
}

#[tokio::test]
async fn lose_response_rotates_the_token_but_the_client_never_hears_of_it() {
    let (emulator, token) = faulted(Fault::LoseResponse).await;

    let error = refresh(&emulator, &token).await.expect_err("no answer");
    assert!(error.status().is_none(), "{error:?}");
    assert_hits!(emulator, refreshes_served: 1);

    // The naive retry replays a rotated-out token and loses the family.
    assert_rotated_out(&emulator, &token).await;
}

#[tokio::test]
async fn bad_signature_fault_processes_the_refresh_with_a_wrong_signature() {
    let (emulator, token) = faulted(Fault::BadSignature).await;
    let body = assert_refresh_works(&emulator, &token).await;
    assert!(body.get("refresh_token").is_some(), "processed normally");
    let signature = body["signature"].as_str().unwrap();
    assert_eq!(signature.len(), 44, "still looks like a base64 HMAC");

    // The same id and issued_at signed properly would differ.
    let honest = emulator.issue_token("alice@example.com");
    assert_ne!(honest["signature"], body["signature"]);
    assert_hits!(emulator, refreshes_served: 1);
}

#[tokio::test]
async fn a_retry_during_a_delayed_refresh_is_refused_as_already_processing() {
    let (emulator, token) = faulted(Fault::Delay(Duration::from_millis(1000))).await;

    let slow = tokio::spawn(refresh(&emulator, &token));
    wait_until("the slow request is being processed", || {
        emulator.stats().token_requests == 1
    })
    .await;

    let (status, body) = refresh_answer(&emulator, &token).await;
    assert_refused(
        status,
        &body,
        "invalid_grant",
        "token request is already being processed",
    );
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.status(), StatusCode::OK);
    assert_hits!(emulator, refused_parallel: 1);
}

#[tokio::test]
async fn reset_before_body_sends_the_status_then_closes_after_rotating() {
    let (emulator, token) = faulted(Fault::ResetBeforeBody).await;

    let response = refresh(&emulator, &token).await.expect("headers arrive");
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.expect_err("the body never comes");
    assert_hits!(emulator, faults_served: 1, refreshes_served: 1);
    assert_rotated_out(&emulator, &token).await;
}

#[tokio::test]
async fn reset_mid_body_cuts_the_token_answer_in_half_after_rotating() {
    let (emulator, token) = faulted(Fault::ResetMidBody).await;

    let response = refresh_request(&raw_client(), &emulator, &token)
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.expect_err("the body is cut short");
    assert_hits!(emulator, refreshes_served: 1);
    assert_rotated_out(&emulator, &token).await;
}

#[tokio::test]
async fn hang_answers_nothing_then_closes_without_processing() {
    let (emulator, token) = faulted(Fault::Hang(Duration::from_millis(300))).await;

    let error = refresh(&emulator, &token).await.expect_err("no answer");
    assert!(error.status().is_none(), "{error:?}");
    assert_hits!(emulator, faults_served: 1, refreshes_served: 0);
    // The token was never spent.
    assert_refresh_works(&emulator, &token).await;
}

#[tokio::test]
async fn trickle_sends_the_whole_valid_answer_slowly() {
    let (emulator, token) = faulted(Fault::Trickle {
        delay_per_byte: Duration::from_millis(1),
    })
    .await;

    let body = assert_refresh_works(&emulator, &token).await;
    assert_ne!(refresh_token_of(&body), token);
    assert_hits!(emulator, refreshes_served: 1);
}

#[tokio::test]
async fn a_trickled_answer_outlasts_a_client_timeout() {
    let (emulator, token) = faulted(Fault::Trickle {
        delay_per_byte: Duration::from_millis(100),
    })
    .await;
    let impatient = impatient_client(Duration::from_millis(500));
    let result = async {
        refresh_request(&impatient, &emulator, &token)
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(result.expect_err("times out").is_timeout());
}

#[tokio::test]
async fn gzip_bomb_is_a_small_gzip_body_that_inflates_to_the_size_asked() {
    let inflated_bytes = 64 << 20;
    let (emulator, token) = faulted(Fault::GzipBomb { inflated_bytes }).await;

    let response = refresh_request(&raw_client(), &emulator, &token)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let wire = response.bytes().await.unwrap();
    assert!(wire.len() < 1 << 20, "{} bytes on the wire", wire.len());

    let mut decoder = flate2::read::GzDecoder::new(&wire[..]);
    let inflated = std::io::copy(&mut decoder, &mut std::io::sink()).expect("valid gzip");
    assert_eq!(inflated, inflated_bytes);
    assert_hits!(emulator, faults_served: 1, refreshes_served: 0);
}

#[tokio::test]
async fn processed_then_504_rotates_but_answers_a_gateway_page() {
    let (emulator, token) = faulted(Fault::ProcessedThen504).await;

    let response = refresh(&emulator, &token).await.unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(response.headers()["content-type"], "text/html");
    let page = response.text().await.unwrap();
    assert!(page.contains("504 Gateway Time-out"), "{page}");
    assert_hits!(emulator, faults_served: 1, refreshes_served: 1);
    assert_rotated_out(&emulator, &token).await;
}

#[tokio::test]
async fn already_being_processed_is_the_salesforce_refusal_without_processing() {
    let (emulator, token) = faulted(Fault::already_being_processed()).await;

    let (status, body) = refresh_answer(&emulator, &token).await;
    assert_refused(
        status,
        &body,
        "invalid_grant",
        "token request is already being processed",
    );
    assert_hits!(emulator, refreshes_served: 0);
}

#[tokio::test]
async fn retry_after_answers_the_status_with_the_header() {
    let (emulator, token) = faulted(Fault::RetryAfter {
        status: 429,
        seconds: 2,
    })
    .await;

    let response = refresh(&emulator, &token).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_hits!(emulator, faults_served: 1, refreshes_served: 0);
}

#[tokio::test]
async fn faults_posted_to_the_side_door_are_queued_in_order() {
    let (emulator, token) = logged_in(Config::default()).await;

    let answer = post_text(
        &emulator,
        "/__emulator/faults",
        "status:502\n\nretry-after:503:7\n",
    )
    .await;
    let (status, body) = status_and_json(answer).await;
    assert_eq!((status, body["queued"].as_u64()), (StatusCode::OK, Some(2)));

    assert_eq!(refresh(&emulator, &token).await.unwrap().status(), 502);
    let second = refresh(&emulator, &token).await.unwrap();
    assert_eq!(second.status(), 503);
    assert_eq!(second.headers()["retry-after"], "7");
    assert_eq!(refresh(&emulator, &token).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_bad_spec_at_the_side_door_is_refused_and_queues_nothing() {
    let (emulator, token) = logged_in(Config::default()).await;
    let answer = post_text(&emulator, "/__emulator/faults", "close\nexplode\n").await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let message = answer.text().await.unwrap();
    assert!(message.contains("invalid fault \"explode\""), "{message}");

    // The valid line was not queued either.
    assert_refresh_works(&emulator, &token).await;
}

#[test]
fn the_emulator_is_idle_only_when_no_connection_is_open() {
    use std::io::Write;
    let emulator = Emulator::start(Config::default()).unwrap();
    assert!(emulator.is_idle());
    let mut client = std::net::TcpStream::connect(emulator.addr()).unwrap();
    // Half a request: the emulator has more to read, so it is not idle.
    client
        .write_all(b"POST /services/oauth2/token HTTP/1.1\r\n")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while emulator.is_idle() {
        assert!(
            Instant::now() < deadline,
            "the connection was never counted"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(client);
    while !emulator.is_idle() {
        assert!(
            Instant::now() < deadline,
            "the closed connection stayed open"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}
