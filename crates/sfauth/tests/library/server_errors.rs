//! 5xx, 429 and oversized answers from the token endpoint, injected in the emulator: retried
//! only when the answer proves the request was not processed (503, 429), or when the request
//! is safe to repeat; an oversized answer is refused.

use crate::support::Org;
use sfauth::{ClientSecret, ConnectedApp, ErrorKind};
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
    let e = org.app_client().refresh(&rt).await.unwrap_err();
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
    org.app_client().refresh(&rt).await.unwrap();
    assert_eq!(org.emulator.stats().token_requests, 2);
}

#[tokio::test]
async fn repeatable_grant_answered_502_is_retried_and_succeeds() {
    let emulator = crate::support::client_credentials_emulator().await;
    emulator.inject(status_fault(502));
    let client = ConnectedApp::new(emulator.config().client_id.clone())
        .with_secret(ClientSecret::from(emulator.config().client_secret.as_str()));
    crate::support::app_client(&emulator, client)
        .client_credentials()
        .await
        .unwrap();
    assert_eq!(emulator.stats().token_requests, 2);
    assert_eq!(emulator.stats().client_credentials_grants, 1);
}

#[tokio::test]
async fn refresh_processed_then_answered_504_is_not_replayed_and_the_family_survives() {
    // The server rotated the token, then a gateway said 504: replaying the old refresh token
    // would be reuse, which revokes the family.
    let org = Org::start(Config::default()).await;
    let before = org.bytes();
    org.emulator.inject(Fault::ProcessedThen504);
    let e = org.session(org.client()).refresh().await.unwrap_err();
    assert!(e.is_ambiguous(), "{e:?}");
    assert_eq!(e.status(), Some(504));
    let stats = org.emulator.stats();
    assert_eq!(stats.token_requests, 1, "the 504 was replayed");
    assert_eq!(stats.refreshes_served, 1);
    assert_eq!(stats.reuse_detected, 0);
    assert_eq!(org.bytes(), before);
}

#[tokio::test]
async fn retry_after_of_an_hour_is_capped_at_max_delay_and_the_refresh_succeeds() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(Fault::RetryAfter {
        status: 503,
        seconds: 3600,
    });
    // max_delay is 50 ms here: an uncapped Retry-After would wait an hour.
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        org.session(org.client()).refresh(),
    )
    .await
    .expect("the Retry-After of an hour was not capped at max_delay")
    .unwrap();
    assert_eq!(org.emulator.stats().token_requests, 2);
    assert_eq!(org.emulator.stats().refreshes_served, 1);
}

#[tokio::test]
async fn every_429_with_retry_after_ends_unavailable_after_the_bounded_retries() {
    let org = Org::start(Config::default()).await;
    for _ in 0..10 {
        org.emulator.inject(Fault::RetryAfter {
            status: 429,
            seconds: 1,
        });
    }
    let before = org.bytes();
    let e = org.session(org.client()).refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(e.status(), Some(429));
    assert!(!e.is_ambiguous());
    assert_eq!(org.emulator.stats().token_requests, 4, "1 try + 3 retries");
    assert_eq!(org.bytes(), before);
}

#[tokio::test]
async fn gzip_bomb_from_the_token_endpoint_is_a_protocol_error_and_nothing_is_saved() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(Fault::GzipBomb {
        inflated_bytes: 1 << 30,
    });
    let before = org.bytes();
    let e = org.session(org.client()).refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e:?}");
    assert!(e.to_string().contains("over 256 KiB"), "{e}");
    assert_eq!(org.emulator.stats().token_requests, 1);
    assert_eq!(org.bytes(), before);
}
