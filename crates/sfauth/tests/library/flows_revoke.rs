//! Revocation and introspection against the emulator.

use crate::support::Org;
use sfauth::{ErrorKind, RefreshToken};
use sfauth_emulator::Config;

#[tokio::test]
async fn revoked_refresh_token_makes_the_next_refresh_login_required() {
    let org = Org::start(Config::default()).await;
    let refresh_token = org.stored().refresh_token().unwrap();
    org.app_client().revoke(&refresh_token).await.unwrap();
    assert_eq!(org.emulator.stats().revocations, 1);

    let before = org.bytes();
    let e = org.session(org.client()).refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginRequired);
    assert_eq!(org.bytes(), before);
}

#[tokio::test]
async fn revoking_an_invalid_token_says_it_was_already_invalid() {
    let org = Org::start(Config::default()).await;
    let e = org
        .app_client()
        .revoke(&RefreshToken::from("5Aep.unknown"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginRequired);
    assert!(e.to_string().contains("already invalid"), "{e}");
    assert_eq!(e.oauth().unwrap().error, "invalid_token");
    assert!(!e.to_string().contains("5Aep.unknown"));
}

#[tokio::test]
async fn introspection_reports_a_live_token_then_a_revoked_one() {
    let org = Org::start(Config::default()).await;
    let client = org.app_client_with_secret();
    let access = org.stored().access_token();

    let live = client.introspect(&access).await.unwrap();
    assert!(live.active);
    assert_eq!(live.username.as_deref(), Some("ada@example.com"));
    assert_eq!(live.token_type.as_deref(), Some("access_token"));
    let (exp, iat) = (live.exp.unwrap(), live.iat.unwrap());
    assert_eq!(exp - iat, 2 * 60 * 60);
    assert_eq!(
        live.client_id.as_deref(),
        Some(org.emulator.config().client_id.as_str())
    );

    client.revoke(&access).await.unwrap();
    let dead = client.introspect(&access).await.unwrap();
    assert!(!dead.active);
    assert_eq!(dead.exp, None);
}

#[tokio::test]
async fn introspection_of_a_refresh_token_sends_its_hint() {
    let org = Org::start(Config::default()).await;
    let refresh_token = org.stored().refresh_token().unwrap();
    let answer = org
        .app_client_with_secret()
        .introspect(&refresh_token)
        .await
        .unwrap();
    assert!(answer.active);
    assert_eq!(answer.token_type.as_deref(), Some("refresh_token"));
}

#[tokio::test]
async fn introspection_without_the_client_secret_is_client_rejected() {
    let org = Org::start(Config::default()).await;
    let e = org
        .app_client()
        .introspect(&org.stored().access_token())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ClientRejected);
}
