//! Sessions over tokens without a refresh token: renewed by their own grant, once, however
//! many callers ask.

use std::collections::HashSet;

use sfauth::{
    ClientSecret, ConnectedApp, ErrorKind, FileStore, LoginUrl, RefreshAction, Renewal, Secret,
    Session,
};
use sfauth_emulator::Config;

#[tokio::test]
async fn stale_jwt_token_is_renewed_by_one_new_assertion_for_all_callers() {
    let emulator = crate::support::jwt_emulator().await;
    let bearer = crate::support::jwt_bearer(&emulator, crate::support::jwt_key());
    let app = ConnectedApp::new(emulator.config().client_id.clone());
    let first = crate::support::app_client(&emulator, app)
        .jwt_bearer(&bearer)
        .await
        .unwrap()
        .token;
    let (_dir, path) = crate::support::token_file(&first);
    crate::support::make_stale(&path);

    let session = Session::builder(
        FileStore::new(&path),
        ConnectedApp::new(emulator.config().client_id.clone()),
    )
    .login_url(LoginUrl::parse(&emulator.url()).unwrap())
    .renewal(Renewal::JwtBearer(bearer))
    .http(crate::support::fast_http())
    .build();
    let callers = (0..8).map(|_| {
        let session = session.clone();
        tokio::spawn(async move { session.access_token().await.unwrap() })
    });
    let mut tokens = HashSet::new();
    for caller in callers {
        tokens.insert(caller.await.unwrap().expose().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    assert_ne!(tokens.iter().next().unwrap(), first.access_token().expose());
    // One assertion for the first login, one for the renewal.
    assert_eq!(emulator.stats().jwt_grants, 2);
    let stored = sfauth::Token::from_json(&std::fs::read(&path).unwrap()).unwrap();
    assert!(session.expiry().is_fresh(&stored));
    assert!(stored.refresh_token().is_none());
}

#[tokio::test]
async fn stale_client_credentials_token_is_re_requested_at_its_instance() {
    let emulator = crate::support::client_credentials_emulator().await;
    let client = ConnectedApp::new(emulator.config().client_id.clone())
        .with_secret(ClientSecret::from(emulator.config().client_secret.as_str()));
    let first = crate::support::app_client(&emulator, client.clone())
        .client_credentials()
        .await
        .unwrap()
        .token;
    let (_dir, path) = crate::support::token_file(&first);
    crate::support::make_stale(&path);

    // No login URL: the renewal goes to the token's instance_url (the My Domain).
    let session = Session::builder(FileStore::new(&path), client)
        .renewal(Renewal::ClientCredentials)
        .http(crate::support::fast_http())
        .build();
    let outcome = session.refresh().await.unwrap();
    assert!(matches!(
        outcome.action,
        RefreshAction::Refreshed {
            rotated: false,
            signature: sfauth::SignatureCheck::Verified
        }
    ));
    assert_eq!(emulator.stats().client_credentials_grants, 2);
}

#[tokio::test]
async fn stale_password_token_logs_in_again() {
    let emulator = sfauth_emulator::spawn(Config {
        password_flow: true,
        users: vec![("ada@example.com".into(), "pw".into())],
        ..Config::default()
    })
    .await
    .unwrap();
    let client = ConnectedApp::new(emulator.config().client_id.clone())
        .with_secret(ClientSecret::from(emulator.config().client_secret.as_str()));
    let org = crate::support::Org::start(Config::default()).await;
    // Any token without a refresh token will do as the stale one.
    let mut stale = org.stored();
    stale.set("refresh_token", "");
    let (_dir, path) = crate::support::token_file(&stale);
    crate::support::make_stale(&path);

    let session = Session::builder(FileStore::new(&path), client)
        .login_url(LoginUrl::parse(&emulator.url()).unwrap())
        .renewal(Renewal::Password {
            username: "ada@example.com".into(),
            password: Secret::from("pw"),
        })
        .http(crate::support::fast_http())
        .build();
    session.access_token().await.unwrap();
    assert_eq!(emulator.stats().password_grants, 1);
}

#[tokio::test]
async fn a_stale_adopted_access_token_cannot_be_renewed() {
    let org = crate::support::Org::start(Config::default()).await;
    org.make_stale();
    let before = org.bytes();
    let session = Session::builder(FileStore::new(&org.path), org.client())
        .renewal(Renewal::None)
        .build();
    let e = session.access_token().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LoginRequired);
    assert!(e.to_string().contains("only an access token"), "{e}");
    assert!(e.hint().is_some());
    assert_eq!(org.bytes(), before);
    assert_eq!(org.emulator.stats().token_requests, 0);
}
