//! `--store keychain`: tokens in the OS keychain, against a real Secret Service
//! (gnome-keyring on a private D-Bus session), and `login`'s default store: the keychain
//! where one answers, else the 0600 file with a note, never a silent downgrade.

use std::time::Duration;

use serde_json::Value;
use sfauth_test_support::keychain::SecretService;
use sfauth_test_support::prelude::*;

/// `sfauth` in `home`, on `keychain`'s session bus.
fn on_keychain(home: &Home, keychain: &SecretService) -> TestCommand {
    home.sfauth().envs(keychain.envs())
}

/// The token sfauth keeps in the keychain for `name`, as JSON.
fn entry(keychain: &SecretService, name: &str) -> Option<Value> {
    keychain
        .lookup(&["service", "sfauth", "username", name])
        .map(|text| serde_json::from_str(&text).expect("the entry is a token"))
}

/// `sfauth login token-file` of `file` (a token of `org`) into the keychain as `alias`.
fn token_file_login(
    home: &Home,
    keychain: &SecretService,
    org: &Emulator,
    alias: &str,
    file: &TokenFile,
) -> TestCommand {
    on_keychain(home, keychain)
        .args([
            "login",
            "token-file",
            "--alias",
            alias,
            "--store",
            "keychain",
        ])
        .args([
            "--client-id",
            &org.config().client_id,
            "--login-url",
            &org.url(),
        ])
        .arg(&file.path)
}

/// `org`'s token (`file`), logged in from the file into the keychain as `alias`.
fn log_in(home: &Home, keychain: &SecretService, org: &Emulator, alias: &str, file: &TokenFile) {
    token_file_login(home, keychain, org, alias, file).ok();
}

/// A fresh token of `org`, logged in into the keychain as `alias`.
fn logged_in(home: &Home, keychain: &SecretService, org: &Emulator, alias: &str) -> TokenFile {
    let file = TokenFile::issued_by(org);
    log_in(home, keychain, org, alias, &file);
    file
}

#[test]
fn a_login_into_the_keychain_is_served_from_it_and_status_says_where_it_lives() {
    let keychain = SecretService::start();
    let org = org();
    let home = Home::new();
    let file = logged_in(&home, &keychain, &org, "kc");
    let stored = entry(&keychain, "kc").expect("the keychain holds the token");
    assert_eq!(stored["access_token"], file.json()["access_token"]);
    let run = on_keychain(&home, &keychain)
        .args(["token", "--org", "kc"])
        .ok();
    assert_eq!(run.printed(), stored["access_token"].as_str().unwrap());
    let status = on_keychain(&home, &keychain)
        .args(["status", "--org", "kc", "--json"])
        .ok();
    let details = status.json();
    assert_eq!(details["store"], "keychain:kc");
    assert_eq!(details["token_file"], Value::Null);
    status.never_shows(run.printed());
    assert!(
        !home.path.join("tokens/kc.json").exists(),
        "no copy in a file"
    );
}

#[test]
fn a_refresh_in_the_keychain_rotates_once_for_many_processes() {
    const CALLERS: usize = 32;
    let keychain = SecretService::start();
    let org = OrgBuilder::new()
        .latency(Duration::from_millis(200))
        .start();
    let home = Home::new();
    log_in(&home, &keychain, &org, "kc", &TokenFile::stale_from(&org));
    let first = entry(&keychain, "kc").unwrap()["refresh_token"].clone();
    let runs = finish_all(
        (0..CALLERS)
            .map(|_| {
                on_keychain(&home, &keychain)
                    .args(["token", "--org", "kc"])
                    .start()
            })
            .collect(),
    );
    let printed = printed_by_all(&runs);
    assert_eq!(printed.len(), 1, "one token for all: {printed:?}");
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 1, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    let now = entry(&keychain, "kc").unwrap();
    assert_ne!(
        now["refresh_token"], first,
        "the rotated token is in the keychain"
    );
    assert!(org.refresh_token_is_live(now["refresh_token"].as_str().unwrap()));
}

#[test]
fn a_failed_refresh_leaves_the_keychain_entry_as_it_was() {
    let keychain = SecretService::start();
    let org = org();
    let home = Home::new();
    logged_in(&home, &keychain, &org, "kc");
    let before = keychain.lookup(&["service", "sfauth", "username", "kc"]);
    org.inject(Fault::OAuthError {
        status: 400,
        error: "invalid_grant".into(),
        description: "expired access/refresh token".into(),
    });
    on_keychain(&home, &keychain)
        .args(["refresh", "--org", "kc"])
        .exits(exit::LOGIN_REQUIRED);
    assert_eq!(
        keychain.lookup(&["service", "sfauth", "username", "kc"]),
        before
    );
}

#[test]
fn login_defaults_to_the_keychain_where_one_answers_and_store_file_opts_out() {
    let keychain = SecretService::start();
    let home = Home::new();
    let login = |alias: &str, extra: &[&str]| {
        on_keychain(&home, &keychain)
            .args(["login", "access-token", "--alias", alias])
            .args(["--instance-url", "https://acme.my.salesforce.com"])
            .args(extra)
            .stdin(format!("00Dx!AQ.{alias}"))
            .ok()
    };
    let run = login("desk", &[]);
    run.stderr_lacks("no keychain");
    assert!(entry(&keychain, "desk").is_some());
    assert!(!home.path.join("tokens/desk.json").exists());
    login("plain", &["--store", "file"]);
    assert!(entry(&keychain, "plain").is_none());
    assert!(home.path.join("tokens/plain.json").exists());
    assert_eq!(mode(&home.path.join("tokens/plain.json")), 0o600);
}

#[test]
fn without_a_keychain_login_says_so_and_store_keychain_is_refused() {
    let home = Home::new();
    let login = |extra: &[&str]| {
        home.sfauth()
            .args(["login", "access-token", "--alias", "ci"])
            .args(["--instance-url", "https://acme.my.salesforce.com"])
            .args(extra)
            .stdin("00Dx!AQ.ci-token")
    };
    let run = login(&[]).ok();
    assert!(
        run.stderr.contains("no keychain answers here"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--store file"), "{}", run.stderr);
    login(&["--store", "file"]).ok().stderr_lacks("keychain");
    let refused = TestCommand::new(sfauth_test_support::command::sfauth_bin())
        .env("SFAUTH_HOME", home.dir.path().join("other"))
        .args(["login", "access-token", "--alias", "ci"])
        .args(["--instance-url", "https://acme.my.salesforce.com"])
        .args(["--store", "keychain"])
        .stdin("00Dx!AQ.ci-token")
        .exits(exit::STORAGE);
    assert!(refused.error().contains("keychain"), "{}", refused.stderr);
    assert!(
        refused.hint().unwrap().contains("--store file"),
        "{}",
        refused.stderr
    );
    refused.never_shows("00Dx!AQ.ci-token");
    assert!(!home.dir.path().join("other/config.toml").exists());
}

#[test]
fn a_locked_keychain_is_a_clear_error_not_a_hang() {
    let keychain = SecretService::start();
    let org = org();
    let home = Home::new();
    logged_in(&home, &keychain, &org, "kc");
    keychain.lock_all();
    let run = on_keychain(&home, &keychain)
        .args(["token", "--org", "kc"])
        .timeout(Duration::from_secs(60))
        .exits(exit::STORAGE);
    assert!(run.error().contains("locked"), "{}", run.stderr);
    assert!(run.hint().unwrap().contains("unlock"), "{}", run.stderr);
}

#[test]
fn logout_revokes_and_deletes_the_keychain_entry() {
    let keychain = SecretService::start();
    let org = org();
    let home = Home::new();
    let file = logged_in(&home, &keychain, &org, "kc");
    let run = on_keychain(&home, &keychain)
        .args(["logout", "--org", "kc"])
        .ok();
    assert!(
        run.stderr.contains("deleted from the keychain"),
        "{}",
        run.stderr
    );
    assert!(entry(&keychain, "kc").is_none());
    assert!(!org.refresh_token_is_live(&file.field("refresh_token")));
}

#[test]
fn an_entry_that_is_no_token_is_a_clear_error_and_is_left_as_it_was() {
    let keychain = SecretService::start();
    let org = org();
    let home = Home::new();
    logged_in(&home, &keychain, &org, "kc");
    TestCommand::new("secret-tool")
        .args(["store", "--label=x", "service", "sfauth", "username", "kc"])
        .envs(keychain.envs())
        .stdin("not a token")
        .ok();
    let run = on_keychain(&home, &keychain)
        .args(["token", "--org", "kc"])
        .exits(exit::USAGE);
    assert!(
        run.error().contains("keychain entry sfauth/kc"),
        "{}",
        run.stderr
    );
    assert!(
        run.hint().unwrap().contains("log in again"),
        "{}",
        run.stderr
    );
    run.never_shows("not a token");
    assert_eq!(
        keychain
            .lookup(&["service", "sfauth", "username", "kc"])
            .as_deref(),
        Some("not a token")
    );
}

#[test]
fn a_login_into_a_locked_keychain_stores_nothing_and_the_default_is_the_file() {
    let keychain = SecretService::start();
    let org = org();
    let home = Home::new();
    logged_in(&home, &keychain, &org, "first");
    keychain.lock_all();
    let file = TokenFile::issued_by(&org);
    let run = token_file_login(&home, &keychain, &org, "second", &file).exits(exit::STORAGE);
    assert!(run.error().contains("locked"), "{}", run.stderr);
    assert!(
        !String::from_utf8_lossy(&home.config_bytes()).contains("second"),
        "not recorded"
    );
    // By default, a login goes to the file instead, and says why.
    let run = on_keychain(&home, &keychain)
        .args(["login", "access-token", "--alias", "third"])
        .args(["--instance-url", "https://acme.my.salesforce.com"])
        .stdin("00Dx!AQ.third")
        .ok();
    assert!(
        run.stderr.contains("no keychain answers here"),
        "{}",
        run.stderr
    );
    assert!(home.path.join("tokens/third.json").exists());
}
