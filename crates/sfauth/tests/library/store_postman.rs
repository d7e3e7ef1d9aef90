//! The Postman environment store: the store contract, a refresh that writes back only the
//! token's variables, and an environment whose access token something else replaced.

use std::path::Path;
use std::time::Duration;

use sfauth::{ConnectedApp, PostmanStore, Session, TokenStore};
use sfauth_emulator::{Config, Emulator, Fault};
use sfauth_test_support::postman::{Environment, var};

use crate::store_contract::{StoreUnderTest, contract, next_number};
use crate::support::fast_http;

struct Environments(tempfile::TempDir);

impl StoreUnderTest for Environments {
    type Store = PostmanStore;

    fn fresh(&self) -> PostmanStore {
        let path = self.0.path().join(format!("env-{}.json", next_number()));
        std::fs::write(&path, r#"{"name": "contract", "values": []}"#).unwrap();
        PostmanStore::new(path).with_lock_timeout(Duration::from_secs(10))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postman_store_keeps_the_store_contract() {
    contract(&Environments(tempfile::tempdir().unwrap())).await;
}

/// A session over the environment with its app, secret included (as the CLI takes it
/// from the environment's `clientSecret`).
fn session(org: &Emulator, path: &Path) -> Session {
    Session::builder(PostmanStore::new(path), app_of(org))
        .http(fast_http())
        .build()
}

fn app_of(org: &Emulator) -> ConnectedApp {
    ConnectedApp::new(org.config().client_id.clone()).with_secret(sfauth::ClientSecret::from(
        org.config().client_secret.as_str(),
    ))
}

#[tokio::test]
async fn a_refresh_writes_back_the_token_and_keeps_every_other_value_in_order() {
    let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
    let env = Environment::seeds(&org);
    let before = env.json();
    let app = PostmanStore::new(&env.path).app().unwrap();
    assert_eq!(app.login_url.as_deref(), Some(org.url().as_str()));
    assert_eq!(
        app.client_id.as_deref(),
        Some(org.config().client_id.as_str())
    );
    assert!(app.client_secret.is_some());
    // No recorded age: the token is refreshed before it is handed out, its refresh token
    // checked first (sfauth never wrote this environment: the seeds' script may have spent
    // it).
    let token = session(&org, &env.path).token().await.unwrap();
    assert_eq!(org.stats().refreshes_served, 1);
    assert_eq!(org.stats().introspections, 1);
    let after = env.json();
    assert_eq!(
        env.var("_accessToken").as_deref(),
        Some(token.access_token().expose())
    );
    assert_ne!(
        env.var("_refreshToken"),
        var(&before, "_refreshToken"),
        "rotated"
    );
    assert_eq!(env.var("_endpoint").as_deref(), Some(token.instance_url()));
    let mut expected: Vec<String> = before["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap().to_owned())
        .collect();
    expected.extend(["_endpoint".to_owned(), "_sfauthToken".to_owned()]);
    assert_eq!(
        env.keys(),
        expected,
        "the values keep their order; new ones follow"
    );
    for key in [
        "url",
        "version",
        "site",
        "clientId",
        "clientSecret",
        "myOwn",
    ] {
        assert_eq!(var(&after, key), var(&before, key), "{key}");
    }
    for field in [
        "id",
        "name",
        "_postman_variable_scope",
        "_postman_exported_at",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    let rest = env.var("_sfauthToken").unwrap();
    for secret in [
        token.access_token().expose().to_owned(),
        token.refresh_token().unwrap().expose().to_owned(),
    ] {
        assert!(!rest.contains(&secret), "no secret in _sfauthToken");
    }
    assert_eq!(env.mode(), 0o600);
    // Now its age is known: a second session serves it without a refresh or a check.
    session(&org, &env.path).token().await.unwrap();
    assert_eq!(org.stats().refreshes_served, 1);
    assert_eq!(org.stats().introspections, 1);
}

#[tokio::test]
async fn a_failed_refresh_leaves_the_environment_byte_for_byte() {
    let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
    let env = Environment::seeds(&org);
    let before = env.bytes();
    org.inject(Fault::OAuthError {
        status: 400,
        error: "invalid_grant".into(),
        description: "expired access/refresh token".into(),
    });
    assert!(session(&org, &env.path).token().await.is_err());
    assert_eq!(env.bytes(), before);
}

#[tokio::test]
async fn an_access_token_replaced_by_another_tool_is_taken_as_of_unknown_age() {
    let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
    let env = Environment::seeds(&org);
    session(&org, &env.path).token().await.unwrap();
    // The seeds' test script: `_accessToken` set from a refresh it made itself.
    let other = org.issue_token("ada@example.com");
    let other = other["access_token"].as_str().unwrap();
    env.set("_accessToken", other);
    let loaded = PostmanStore::new(&env.path).load().await.unwrap();
    assert_eq!(loaded.access_token().expose(), other);
    assert_eq!(loaded.issued_at(), None, "its age is not the recorded one");
}

#[tokio::test]
async fn a_file_that_is_no_environment_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("collection.json");
    std::fs::write(&path, r#"{"info": {"name": "c"}, "item": []}"#).unwrap();
    let e = PostmanStore::new(&path).load().await.unwrap_err();
    assert_eq!(e.kind(), sfauth::ErrorKind::Usage);
    assert!(e.to_string().contains("Postman environment"), "{e}");
    assert!(e.to_string().contains("collection.json"), "{e}");
    assert!(e.hint().unwrap().contains("Export"), "{e:?}");
}

#[tokio::test]
async fn a_refresh_token_another_tool_may_have_spent_is_checked_and_never_replayed() {
    let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
    let env = Environment::seeds(&org);
    session(&org, &env.path).token().await.unwrap();
    // The seeds' script refreshes (rotation on) and keeps only the new access token.
    let stored = env.var("_refreshToken").unwrap();
    let theirs = org.issue_token("ada@example.com");
    org.revoke_refresh_token(&stored);
    env.set("_accessToken", theirs["access_token"].as_str().unwrap());
    let before = org.stats();
    let e = session(&org, &env.path).token().await.unwrap_err();
    assert_eq!(e.kind(), sfauth::ErrorKind::LoginRequired, "{e}");
    let stats = org.stats();
    assert_eq!(
        stats.introspections,
        before.introspections + 1,
        "checked first: {stats:?}"
    );
    assert_eq!(
        stats.refreshes_served, before.refreshes_served,
        "not sent: {stats:?}"
    );
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    // Without the secret to check it, it is not sent either.
    let without_secret = Session::builder(
        PostmanStore::new(&env.path),
        ConnectedApp::new(org.config().client_id.clone()),
    )
    .http(fast_http())
    .build();
    let e = without_secret.token().await.unwrap_err();
    assert_eq!(e.kind(), sfauth::ErrorKind::LoginRequired, "{e}");
    assert_eq!(org.stats().token_requests, stats.token_requests);
}
