//! Every failure has its class, and leaves the stored token byte-for-byte as it was.

use std::time::Duration;

use crate::support::Org;
use sfauth::{ConnectedApp, ErrorKind};
use sfauth_emulator::{Config, Fault};

fn oauth_fault(error: &str, description: &str) -> Fault {
    Fault::OAuthError {
        status: 400,
        error: error.into(),
        description: description.into(),
    }
}

fn status_fault(status: u16, content_type: &str, body: &str) -> Fault {
    Fault::Status {
        status,
        content_type: content_type.into(),
        body: body.into(),
    }
}

/// Refreshes with `client` and returns the error, checking the file did not change.
async fn failed_refresh(org: &Org, client: ConnectedApp) -> sfauth::Error {
    let before = org.bytes();
    let error = org.session(client).refresh().await.unwrap_err();
    assert_eq!(
        org.bytes(),
        before,
        "a failed refresh changed the token file"
    );
    error
}

#[tokio::test]
async fn wrong_client_id_is_client_rejected() {
    let org = Org::start(Config::default()).await;
    let e = failed_refresh(&org, ConnectedApp::new("not-the-app")).await;
    assert_eq!(e.kind(), ErrorKind::ClientRejected);
    assert_eq!(e.oauth().unwrap().error, "invalid_client_id");
}

#[tokio::test]
async fn wrong_client_secret_is_client_rejected() {
    let org = Org::start(Config::default()).await;
    let e = failed_refresh(
        &org,
        org.client()
            .with_secret(sfauth::ClientSecret::from("wrong")),
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::ClientRejected);
    assert!(
        !format!("{e:?} {e}").contains("wrong"),
        "the secret leaked into the error"
    );
}

#[tokio::test]
async fn app_that_requires_the_secret_refuses_a_refresh_without_it() {
    let org = Org::start(Config {
        require_secret: true,
        ..Config::default()
    })
    .await;
    let e = failed_refresh(&org, org.client()).await;
    assert_eq!(e.kind(), ErrorKind::ClientRejected);
}

#[tokio::test]
async fn revoked_refresh_token_requires_a_new_login() {
    let org = Org::start(Config::default()).await;
    let rt = org.stored().refresh_token().unwrap();
    org.emulator.revoke_refresh_token(rt.expose());
    let e = failed_refresh(&org, org.client()).await;
    assert_eq!(e.kind(), ErrorKind::LoginRequired);
    assert!(e.hint().unwrap().contains("log in again"));
}

#[tokio::test]
async fn ip_restriction_is_denied_by_policy() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(oauth_fault(
        "invalid_grant",
        "IP restricted or invalid login hours",
    ));
    let e = failed_refresh(&org, org.client()).await;
    assert_eq!(e.kind(), ErrorKind::DeniedByPolicy);
}

#[tokio::test]
async fn one_503_is_retried_and_the_refresh_succeeds() {
    let org = Org::start(Config::default()).await;
    org.emulator
        .inject(status_fault(503, "text/html", "<html>maintenance</html>"));
    org.session(org.client()).refresh().await.unwrap();
    assert_eq!(org.emulator.stats().token_requests, 2);
    assert_eq!(org.emulator.stats().refreshes_served, 1);
}

#[tokio::test]
async fn persistent_503_is_unavailable_after_bounded_retries() {
    let org = Org::start(Config::default()).await;
    for _ in 0..10 {
        org.emulator.inject(status_fault(503, "text/plain", "down"));
    }
    let e = failed_refresh(&org, org.client()).await;
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(e.status(), Some(503));
    assert_eq!(org.emulator.stats().token_requests, 4, "1 try + 3 retries");
}

#[tokio::test]
async fn unreachable_server_is_unavailable_after_retries() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let org = Org::start(Config::default()).await;
    let before = org.bytes();
    let session = sfauth::Session::builder(sfauth::FileStore::new(&org.path), org.client())
        .login_url(sfauth::LoginUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap())
        .http(crate::support::fast_http())
        .build();
    let e = session.refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(!e.is_ambiguous());
    assert_eq!(org.bytes(), before);
}

#[tokio::test]
async fn html_page_is_a_protocol_error() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(status_fault(
        200,
        "text/html",
        "<!DOCTYPE html><html>Login</html>",
    ));
    let e = failed_refresh(&org, org.client()).await;
    assert_eq!(e.kind(), ErrorKind::Protocol);
}

#[tokio::test]
async fn json_without_instance_url_is_a_protocol_error() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(status_fault(
        200,
        "application/json",
        r#"{"access_token":"00Dx!AQ"}"#,
    ));
    let e = failed_refresh(&org, org.client()).await;
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("instance_url"));
}

#[tokio::test]
async fn signature_mismatch_is_rejected_and_nothing_is_written() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(Fault::BadSignature);
    let e = failed_refresh(&org, org.client_with_secret()).await;
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("signature"));
}

#[tokio::test]
async fn connection_closed_after_sending_is_not_replayed() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(Fault::CloseConnection);
    let e = failed_refresh(&org, org.client()).await;
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.is_ambiguous());
    assert_eq!(
        org.emulator.stats().token_requests,
        1,
        "an ambiguous refresh was replayed"
    );
}

#[tokio::test]
async fn lost_response_under_rotation_is_reported_not_replayed() {
    // The server rotated the token but the answer was lost: replaying the old refresh token
    // would make Salesforce revoke the family. sfauth reports instead.
    let org = Org::start(Config::default()).await;
    org.emulator.inject(Fault::LoseResponse);
    let e = failed_refresh(&org, org.client()).await;
    assert!(e.is_ambiguous());
    assert_eq!(org.emulator.stats().reuse_detected, 0);
}

#[tokio::test]
async fn timeout_after_sending_is_not_replayed() {
    let org = Org::start(Config::default()).await;
    org.emulator.inject(Fault::Delay(Duration::from_secs(3)));
    let session = sfauth::Session::builder(sfauth::FileStore::new(&org.path), org.client())
        .http(crate::support::fast_http().with_timeout(Duration::from_millis(300)))
        .build();
    let before = org.bytes();
    let e = session.refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.is_ambiguous());
    assert_eq!(org.emulator.stats().token_requests, 1);
    assert_eq!(org.bytes(), before);
}

#[tokio::test]
async fn already_being_processed_is_waited_out_not_a_login_error() {
    // Sent again only for a token known not to rotate; see tests/rotation.rs.
    let org = Org::start(Config {
        rotation: false,
        ..Config::default()
    })
    .await;
    org.mark_rotation(false);
    org.emulator.inject(oauth_fault(
        "invalid_grant",
        "token request is already being processed",
    ));
    org.session(org.client()).refresh().await.unwrap();
    assert_eq!(org.emulator.stats().refreshes_served, 1);
}

#[tokio::test]
async fn already_being_processed_every_time_ends_unavailable_not_login_required() {
    let org = Org::start(Config::default()).await;
    for _ in 0..10 {
        org.emulator.inject(oauth_fault(
            "invalid_grant",
            "token request is already being processed",
        ));
    }
    let e = failed_refresh(&org, org.client()).await;
    assert_eq!(e.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn token_without_refresh_token_cannot_be_refreshed() {
    let org = Org::start(Config::default()).await;
    let mut value: serde_json::Value = serde_json::from_slice(&org.bytes()).unwrap();
    value.as_object_mut().unwrap().remove("refresh_token");
    std::fs::write(&org.path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    let e = failed_refresh(&org, org.client()).await;
    assert_eq!(e.kind(), ErrorKind::LoginRequired);
    assert_eq!(org.emulator.stats().token_requests, 0);
}

#[tokio::test]
async fn no_error_message_or_debug_output_holds_a_token() {
    let org = Org::start(Config::default()).await;
    let stored = org.stored();
    let secrets = [
        stored.access_token().expose().to_owned(),
        stored.refresh_token().unwrap().expose().to_owned(),
        org.emulator.config().client_secret.clone(),
    ];
    org.emulator
        .inject(oauth_fault("invalid_grant", "expired access/refresh token"));
    let e = failed_refresh(&org, org.client_with_secret()).await;
    let session = org.session(org.client_with_secret());
    let shown = format!(
        "{e} {e:?} {:?} {session:?} {stored:?} {:?}",
        e.hint(),
        org.client_with_secret()
    );
    for secret in &secrets {
        assert!(!shown.contains(secret.as_str()), "a secret leaked: {shown}");
    }
}
