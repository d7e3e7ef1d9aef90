//! Revocation and introspection against the emulator.

mod common;

use common::Org;
use sfauth::flows::{introspect, revoke};
use sfauth::{ErrorKind, Secret};
use sfauth_emulator::Config;

#[tokio::test]
async fn revoked_refresh_token_makes_the_next_refresh_login_required() {
    let org = Org::start(Config::default()).await;
    let (http, endpoint) = (common::http(&org.emulator), common::endpoint(&org.emulator));
    let refresh_token = org.stored().refresh_token().unwrap();
    revoke::revoke(&http, &endpoint, &refresh_token)
        .await
        .unwrap();
    assert_eq!(org.emulator.stats().revocations, 1);

    let before = org.bytes();
    let e = org.session(org.client()).refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginRequired);
    assert_eq!(org.bytes(), before);
}

#[tokio::test]
async fn revoking_an_invalid_token_says_it_was_already_invalid() {
    let org = Org::start(Config::default()).await;
    let (http, endpoint) = (common::http(&org.emulator), common::endpoint(&org.emulator));
    let e = revoke::revoke(&http, &endpoint, &Secret::from("5Aep.unknown"))
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
    let (http, endpoint) = (common::http(&org.emulator), common::endpoint(&org.emulator));
    let client = org.client_with_secret();
    let access = org.stored().access_token();

    let live = introspect::introspect(&http, &endpoint, &client, &access, "access_token")
        .await
        .unwrap();
    assert!(live.active);
    assert_eq!(live.username.as_deref(), Some("ada@example.com"));
    assert_eq!(live.token_type.as_deref(), Some("access_token"));
    let (exp, iat) = (live.exp.unwrap(), live.iat.unwrap());
    assert_eq!(exp - iat, 2 * 60 * 60);
    assert_eq!(
        live.client_id.as_deref(),
        Some(org.emulator.config().client_id.as_str())
    );

    revoke::revoke(&http, &endpoint, &access).await.unwrap();
    let dead = introspect::introspect(&http, &endpoint, &client, &access, "access_token")
        .await
        .unwrap();
    assert!(!dead.active);
    assert_eq!(dead.exp, None);
}

#[tokio::test]
async fn introspection_without_the_client_secret_is_client_rejected() {
    let org = Org::start(Config::default()).await;
    let e = introspect::introspect(
        &common::http(&org.emulator),
        &common::endpoint(&org.emulator),
        &org.client(),
        &org.stored().access_token(),
        "access_token",
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ClientRejected);
}
