//! https: the emulator's own CA, and the broken certificates a client must refuse.

use reqwest::{Client, StatusCode};
use sfauth_emulator::{Config, Emulator, TlsLeaf, assert_hits};

use crate::support::*;

async fn https_emulator(leaf: TlsLeaf) -> Emulator {
    emulator(Config {
        tls: Some(leaf),
        ..Config::default()
    })
    .await
}

/// A client that trusts only the emulator's CA.
fn trusting_its_ca(emulator: &Emulator) -> Client {
    trusting(emulator.ca_pem().expect("https has a CA").as_bytes())
}

async fn try_refresh(client: &Client, emulator: &Emulator) -> reqwest::Result<reqwest::Response> {
    let token = refresh_token_of(&emulator.issue_token("alice@example.com"));
    refresh_request(client, emulator, &token).send().await
}

/// `client` does not get past the handshake, so the token endpoint never hears of it.
async fn assert_handshake_fails(client: &Client, emulator: &Emulator) {
    let error = try_refresh(client, emulator)
        .await
        .expect_err("the handshake fails");
    assert!(error.is_connect(), "{error:?}");
    assert_hits!(emulator, token_requests: 0);
}

#[tokio::test]
async fn a_client_that_trusts_the_ca_refreshes_over_https() {
    let emulator = https_emulator(TlsLeaf::Valid).await;
    assert!(
        emulator.url().starts_with("https://127.0.0.1:"),
        "{}",
        emulator.url()
    );
    let response = try_refresh(&trusting_its_ca(&emulator), &emulator)
        .await
        .unwrap();
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
    let response = trusting_its_ca(&emulator).get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_fails_the_handshake() {
    let emulator = https_emulator(TlsLeaf::Valid).await;
    assert_handshake_fails(&client(), &emulator).await;
}

#[tokio::test]
async fn an_expired_leaf_is_refused_even_with_the_ca_trusted() {
    let emulator = https_emulator(TlsLeaf::Expired).await;
    assert_handshake_fails(&trusting_its_ca(&emulator), &emulator).await;
}

#[tokio::test]
async fn a_leaf_for_another_host_is_refused_even_with_the_ca_trusted() {
    let emulator = https_emulator(TlsLeaf::WrongHost).await;
    assert_handshake_fails(&trusting_its_ca(&emulator), &emulator).await;
}

#[tokio::test]
async fn plain_http_has_no_ca() {
    let emulator = emulator(Config::default()).await;
    assert!(emulator.ca_pem().is_none());
    assert!(emulator.url().starts_with("http://"));
}
