//! https: the emulator's own CA, and the broken certificates a client must refuse.

mod common;

use reqwest::{Certificate, Client, StatusCode};
use sfauth_emulator::{Config, Emulator, TlsLeaf};

use common::*;

async fn https_emulator(leaf: TlsLeaf) -> Emulator {
    emulator(Config {
        tls: Some(leaf),
        ..Config::default()
    })
    .await
}

/// A client that trusts only the emulator's CA.
fn trusting(emulator: &Emulator) -> Client {
    let ca = Certificate::from_pem(emulator.ca_pem().expect("https has a CA").as_bytes())
        .expect("the CA is valid PEM");
    Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .tls_certs_only([ca])
        .build()
        .unwrap()
}

async fn try_refresh(client: &Client, emulator: &Emulator) -> reqwest::Result<reqwest::Response> {
    let token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    client
        .post(emulator.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", emulator.config().client_id.as_str()),
            ("refresh_token", token.as_str()),
        ])
        .send()
        .await
}

#[tokio::test]
async fn a_client_that_trusts_the_ca_refreshes_over_https() {
    let emulator = https_emulator(TlsLeaf::Valid).await;
    assert!(
        emulator.url().starts_with("https://127.0.0.1:"),
        "{}",
        emulator.url()
    );
    let response = try_refresh(&trusting(&emulator), &emulator).await.unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["instance_url"], emulator.url().as_str());
}

#[tokio::test]
async fn localhost_is_a_valid_name_too() {
    let emulator = https_emulator(TlsLeaf::Valid).await;
    let url = format!(
        "https://localhost:{}/__emulator/stats",
        emulator.addr().port()
    );
    let response = trusting(&emulator).get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_fails_the_handshake() {
    let emulator = https_emulator(TlsLeaf::Valid).await;
    let error = try_refresh(&client(), &emulator)
        .await
        .expect_err("unknown CA");
    assert!(error.is_connect(), "{error:?}");
    assert_eq!(emulator.stats().token_requests, 0);
}

#[tokio::test]
async fn an_expired_leaf_is_refused_even_with_the_ca_trusted() {
    let emulator = https_emulator(TlsLeaf::Expired).await;
    let error = try_refresh(&trusting(&emulator), &emulator)
        .await
        .expect_err("expired");
    assert!(error.is_connect(), "{error:?}");
    assert_eq!(emulator.stats().token_requests, 0);
}

#[tokio::test]
async fn a_leaf_for_another_host_is_refused_even_with_the_ca_trusted() {
    let emulator = https_emulator(TlsLeaf::WrongHost).await;
    let error = try_refresh(&trusting(&emulator), &emulator)
        .await
        .expect_err("wrong host");
    assert!(error.is_connect(), "{error:?}");
    assert_eq!(emulator.stats().token_requests, 0);
}

#[tokio::test]
async fn plain_http_has_no_ca() {
    let emulator = emulator(Config::default()).await;
    assert!(emulator.ca_pem().is_none());
    assert!(emulator.url().starts_with("http://"));
}
