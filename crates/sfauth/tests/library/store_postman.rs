//! The Postman environment store: the store contract, a refresh that writes back only the
//! token's variables, and an environment whose access token something else replaced.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use sfauth::{ConnectedApp, PostmanStore, Session, TokenStore};
use sfauth_emulator::{Config, Fault};

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

/// An environment as Postman exports it, with the seeds' variables for `org` and values of
/// the user's own around them.
fn seeds_environment(org: &sfauth_emulator::Emulator, dir: &Path) -> PathBuf {
    let issued = org.issue_token("ada@example.com");
    let env = json!({
        "id": "4f2c9a1e-0000-4000-8000-000000000001",
        "name": "Salesforce dev",
        "values": [
            {"key": "url", "value": org.url(), "type": "default", "enabled": true},
            {"key": "version", "value": "62.0", "type": "default", "enabled": true},
            {"key": "site", "value": "", "type": "default", "enabled": true},
            {"key": "clientId", "value": org.config().client_id, "type": "default", "enabled": true},
            {"key": "clientSecret", "value": org.config().client_secret, "type": "secret", "enabled": true},
            {"key": "_refreshToken", "value": issued["refresh_token"], "type": "secret", "enabled": true},
            {"key": "_accessToken", "value": issued["access_token"], "type": "secret", "enabled": true},
            {"key": "myOwn", "value": "untouched", "type": "default", "enabled": false},
        ],
        "_postman_variable_scope": "environment",
        "_postman_exported_at": "2026-11-30T10:00:00.000Z",
        "_postman_exported_using": "Postman/11.20.0",
    });
    let path = dir.join("salesforce.postman_environment.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&env).unwrap()).unwrap();
    path
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn var<'a>(env: &'a Value, key: &str) -> Option<&'a str> {
    env["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == key)
        .and_then(|v| v["value"].as_str())
}

fn session(org: &sfauth_emulator::Emulator, path: &Path) -> Session {
    Session::builder(
        PostmanStore::new(path),
        ConnectedApp::new(org.config().client_id.clone()),
    )
    .http(fast_http())
    .build()
}

#[tokio::test]
async fn a_refresh_writes_back_the_token_and_keeps_every_other_value_in_order() {
    let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = seeds_environment(&org, dir.path());
    let before = read(&path);
    let app = PostmanStore::new(&path).app().unwrap();
    assert_eq!(app.login_url.as_deref(), Some(org.url().as_str()));
    assert_eq!(
        app.client_id.as_deref(),
        Some(org.config().client_id.as_str())
    );
    assert!(app.client_secret.is_some());
    // No recorded age: the token is refreshed before it is handed out.
    let token = session(&org, &path).token().await.unwrap();
    assert_eq!(org.stats().refreshes_served, 1);
    let after = read(&path);
    assert_eq!(
        var(&after, "_accessToken"),
        Some(token.access_token().expose())
    );
    assert_ne!(
        var(&after, "_refreshToken"),
        var(&before, "_refreshToken"),
        "rotated"
    );
    assert_eq!(var(&after, "_endpoint"), Some(token.instance_url()));
    let keys = |env: &Value| -> Vec<String> {
        env["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut expected = keys(&before);
    expected.extend(["_endpoint".to_owned(), "_sfauthToken".to_owned()]);
    assert_eq!(
        keys(&after),
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
    let rest = var(&after, "_sfauthToken").unwrap();
    for secret in [
        token.access_token().expose().to_owned(),
        token.refresh_token().unwrap().expose().to_owned(),
    ] {
        assert!(!rest.contains(&secret), "no secret in _sfauthToken");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Now its age is known: a second session serves it without a refresh.
    session(&org, &path).token().await.unwrap();
    assert_eq!(org.stats().refreshes_served, 1);
}

#[tokio::test]
async fn a_failed_refresh_leaves_the_environment_byte_for_byte() {
    let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = seeds_environment(&org, dir.path());
    let before = std::fs::read(&path).unwrap();
    org.inject(Fault::OAuthError {
        status: 400,
        error: "invalid_grant".into(),
        description: "expired access/refresh token".into(),
    });
    assert!(session(&org, &path).token().await.is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn an_access_token_replaced_by_another_tool_is_taken_as_of_unknown_age() {
    let org = sfauth_emulator::spawn(Config::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = seeds_environment(&org, dir.path());
    session(&org, &path).token().await.unwrap();
    // The seeds' test script: `_accessToken` set from a refresh it made itself.
    let mut env = read(&path);
    let other = org.issue_token("ada@example.com");
    for v in env["values"].as_array_mut().unwrap() {
        if v["key"] == "_accessToken" {
            v["value"] = other["access_token"].clone();
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&env).unwrap()).unwrap();
    let loaded = PostmanStore::new(&path).load().await.unwrap();
    assert_eq!(
        loaded.access_token().expose(),
        other["access_token"].as_str().unwrap()
    );
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
