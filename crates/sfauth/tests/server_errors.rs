//! 5xx and 429 answers from the token endpoint: retried only when the answer proves the
//! request was not processed (503, 429), or when the request is safe to repeat.

mod common;

use common::Org;
use sfauth::flows::{client_credentials, refresh};
use sfauth::{ErrorKind, OAuthClient, Secret};
use sfauth_emulator::{Config, Fault};

fn status_fault(status: u16) -> Fault {
    Fault::Status {
        status,
        content_type: "text/html".into(),
        body: format!("<html>error {status}</html>"),
    }
}

#[tokio::test]
async fn refresh_answered_502_is_sent_exactly_once() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(status_fault(502));
    let rt = org.stored().refresh_token().unwrap();
    let e = refresh::refresh(
        &common::http(&org.emulator),
        &common::endpoint(&org.emulator),
        &org.client(),
        &rt,
    )
    .await
    .unwrap_err();
    assert_eq!(org.emulator.stats().token_requests, 1, "a 502 was replayed");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(e.status(), Some(502));
    assert!(e.is_ambiguous());
    assert!(
        e.hint().unwrap().contains("may have been processed"),
        "{e:?}"
    );
}

#[tokio::test]
async fn session_refresh_answered_500_or_504_is_not_replayed_and_changes_nothing() {
    for status in [500, 504] {
        let org = Org::start(Config::default()).await;
        let before = org.bytes();
        org.emulator.inject(status_fault(status));
        let e = org.session(org.client()).refresh().await.unwrap_err();
        assert!(e.is_ambiguous(), "{status}");
        assert_eq!(
            org.emulator.stats().token_requests,
            1,
            "{status} was replayed"
        );
        assert_eq!(org.emulator.stats().reuse_detected, 0);
        assert_eq!(org.bytes(), before);
    }
}

#[tokio::test]
async fn refresh_answered_429_is_retried_and_succeeds() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(status_fault(429));
    org.session(org.client()).refresh().await.unwrap();
    assert_eq!(org.emulator.stats().token_requests, 2);
    assert_eq!(org.emulator.stats().refreshes_served, 1);
}

#[tokio::test]
async fn refresh_answered_503_is_retried_and_succeeds() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(status_fault(503));
    let rt = org.stored().refresh_token().unwrap();
    refresh::refresh(
        &common::http(&org.emulator),
        &common::endpoint(&org.emulator),
        &org.client(),
        &rt,
    )
    .await
    .unwrap();
    assert_eq!(org.emulator.stats().token_requests, 2);
}

#[tokio::test]
async fn repeatable_grant_answered_502_is_retried_and_succeeds() {
    let emulator = sfauth_emulator::spawn(Config {
        client_credentials_user: Some("integration@example.com".into()),
        ..Config::default()
    })
    .await
    .unwrap();
    emulator.inject(status_fault(502));
    let client = OAuthClient::new(emulator.config().client_id.clone())
        .with_secret(Secret::from(emulator.config().client_secret.as_str()));
    client_credentials::request(
        &common::http(&emulator),
        &common::endpoint(&emulator),
        &client,
    )
    .await
    .unwrap();
    assert_eq!(emulator.stats().token_requests, 2);
    assert_eq!(emulator.stats().client_credentials_grants, 1);
}
