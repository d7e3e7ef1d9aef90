//! A refresh token that may have been spent is never sent again while rotation may be on.

use crate::support::Org;
use sfauth::ErrorKind;
use sfauth_emulator::{Config, Fault};

fn already_being_processed() -> Fault {
    Fault::OAuthError {
        status: 400,
        error: "invalid_grant".into(),
        description: "token request is already being processed".into(),
    }
}

fn non_rotating() -> Config {
    Config {
        rotation: false,
        ..Config::default()
    }
}

#[tokio::test]
async fn a_refresh_records_that_the_token_rotates() {
    let org = Org::start(Config::default()).await;
    org.session(org.client()).refresh().await.unwrap();
    assert_eq!(
        org.stored().get(sfauth::Token::ROTATION_KEY),
        Some(&serde_json::json!("true"))
    );
}

#[tokio::test]
async fn a_refresh_records_that_the_token_does_not_rotate() {
    let org = Org::start(non_rotating()).await;
    org.session(org.client()).refresh().await.unwrap();
    assert_eq!(
        org.stored().get(sfauth::Token::ROTATION_KEY),
        Some(&serde_json::json!("false"))
    );
}

#[tokio::test]
async fn already_being_processed_is_not_resent_while_rotation_may_be_on() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(already_being_processed());
    let before = org.bytes();

    let e = org.session(org.client()).refresh().await.unwrap_err();

    assert_eq!(org.emulator.stats().token_requests, 1);
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    let hint = e.hint().unwrap();
    assert!(hint.contains("outside sfauth's lock"), "{hint}");
    assert!(
        !hint.contains("--"),
        "a library hint names a CLI flag: {hint}"
    );
    assert_eq!(org.bytes(), before);
}

#[tokio::test]
async fn already_being_processed_is_not_resent_for_a_token_recorded_as_rotating() {
    let org = Org::start(Config::default()).await;
    org.mark_rotation(true);
    org.emulator.inject(already_being_processed());

    org.session(org.client()).refresh().await.unwrap_err();

    assert_eq!(org.emulator.stats().token_requests, 1);
}

#[tokio::test]
async fn already_being_processed_is_resent_for_a_token_that_does_not_rotate() {
    let org = Org::start(non_rotating()).await;
    org.mark_rotation(false);
    org.emulator.inject(already_being_processed());

    org.session(org.client()).refresh().await.unwrap();

    assert_eq!(org.emulator.stats().token_requests, 2);
    assert_eq!(org.emulator.stats().refreshes_served, 1);
}

#[tokio::test]
async fn a_lost_answer_is_not_resent_while_rotation_may_be_on() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(Fault::LoseResponse);
    let before = org.bytes();

    let e = org.session(org.client()).refresh().await.unwrap_err();

    assert_eq!(org.emulator.stats().token_requests, 1);
    assert_eq!(org.emulator.stats().reuse_detected, 0);
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.is_ambiguous());
    assert!(!e.hint().unwrap().contains("--"));
    assert_eq!(org.bytes(), before);
}

#[tokio::test]
async fn a_lost_answer_is_resent_for_a_token_that_does_not_rotate() {
    let org = Org::start(non_rotating()).await;
    org.mark_rotation(false);
    org.emulator.inject(Fault::LoseResponse);

    org.session(org.client()).refresh().await.unwrap();

    assert_eq!(org.emulator.stats().token_requests, 2);
    assert_eq!(org.emulator.stats().refreshes_served, 2);
}

#[tokio::test]
async fn already_being_processed_adopts_what_another_client_saves_meanwhile() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(already_being_processed());
    let mut theirs = org.stored();
    theirs.set("access_token", "00Dxx!AQ.saved.by.another.client");
    // Waits long enough for the other client's save to land within them.
    let session = sfauth::Session::builder(sfauth::FileStore::new(&org.path), org.client())
        .http(
            crate::support::fast_http().with_retry(
                sfauth::RetryPolicy::default()
                    .with_max_retries(5)
                    .with_min_delay(std::time::Duration::from_millis(200))
                    .with_max_delay(std::time::Duration::from_secs(1)),
            ),
        )
        .build();

    let refresh = tokio::spawn(async move { session.refresh().await });
    let refused = crate::support::eventually(std::time::Duration::from_secs(10), || {
        org.emulator.stats().token_requests > 0
    })
    .await;
    assert!(refused, "the refresh never reached the emulator");
    sfauth::files::write_private_file(&org.path, theirs.to_json_pretty().as_bytes()).unwrap();
    let outcome = refresh.await.unwrap().unwrap();

    assert_eq!(outcome.action, sfauth::RefreshAction::Adopted);
    assert_eq!(outcome.token, theirs);
    assert_eq!(org.emulator.stats().token_requests, 1);
}

fn gateway_timeout() -> Fault {
    Fault::Status {
        status: 504,
        content_type: "text/html".into(),
        body: "<html>Gateway Timeout</html>".into(),
    }
}

#[tokio::test]
async fn a_504_is_not_resent_while_rotation_may_be_on() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(gateway_timeout());
    let before = org.bytes();

    let e = org.session(org.client()).refresh().await.unwrap_err();

    assert_eq!(org.emulator.stats().token_requests, 1);
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(org.bytes(), before);
}

#[tokio::test]
async fn a_504_is_resent_for_a_token_that_does_not_rotate() {
    let org = Org::start(non_rotating()).await;
    org.mark_rotation(false);
    org.emulator.inject(gateway_timeout());

    org.session(org.client()).refresh().await.unwrap();

    assert_eq!(org.emulator.stats().token_requests, 2);
}
