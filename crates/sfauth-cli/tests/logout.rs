//! Ending and moving a login: `sfauth revoke`, `sfauth logout` and `sfauth export`.
//! A revoke the server refuses, or one that cannot reach it, changes nothing stored.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::exit::{LOGIN_REQUIRED, UNAVAILABLE, USAGE};
use common::*;
use predicates::prelude::*;
use sfauth_emulator::Emulator;

/// Stores `alias` by `login sfdx-url`, with a fresh login at `org` (one refresh).
fn sfdx_org(home: &Home, org: &Emulator, alias: &str) {
    let refresh_token = text(&org.issue_token(USERNAME), "refresh_token");
    let url = format!(
        "force://{}:{}:{refresh_token}@{}",
        org.config().client_id,
        org.config().client_secret,
        org.url()
    );
    let file = home.file(&format!("{alias}.url"), &url);
    home.sfauth()
        .args(["login", "sfdx-url", "--alias", alias])
        .arg(file)
        .assert()
        .success();
}

/// Stops `org` and waits (at most 20 s) until its port refuses connections.
fn shut_down(org: Emulator) {
    let addr: SocketAddr = org.addr();
    org.shutdown();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "{addr} still accepts connections"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Adopts a token file for `alias` whose refresh token the server never issued: every
/// revoke of it is refused with `invalid_token`.
fn org_with_an_unknown_refresh_token(home: &Home, org: &Emulator, alias: &str) -> TokenFile {
    let mut token = org.issue_token(USERNAME);
    token["refresh_token"] = "5Aep861NeverIssued.by.this.org==".into();
    let file = TokenFile::new(&token);
    home.sfauth()
        .args([
            "login",
            "token-file",
            "--alias",
            alias,
            "--client-id",
            &org.config().client_id,
        ])
        .arg(&file.path)
        .assert()
        .success();
    file
}

/// The bytes of config.toml and of the org's token file.
fn snapshot(home: &Home, alias: &str) -> (Vec<u8>, Vec<u8>) {
    (
        home.config_bytes(),
        std::fs::read(home.token_file(alias)).expect("read the token file"),
    )
}

fn assert_unchanged(home: &Home, alias: &str, before: &(Vec<u8>, Vec<u8>)) {
    let now = snapshot(home, alias);
    assert!(now.0 == before.0, "config.toml changed:\n{}", utf8(&now.0));
    assert!(now.1 == before.1, "the token file changed");
}

// ---- revoke --------------------------------------------------------------------------

#[test]
fn revoke_kills_the_refresh_token_so_the_next_refresh_needs_a_login() {
    let org = default_emulator();
    let home = Home::new();
    sfdx_org(&home, &org, "ci");
    home.sfauth()
        .args(["revoke", "--org", "ci"])
        .assert()
        .success()
        .stderr(predicate::str::contains("revoked the refresh token"));
    assert_eq!(org.stats().revocations, 1);
    assert_eq!(home.aliases(), ["ci"], "revoke must not forget the org");
    home.sfauth()
        .args(["refresh", "--org", "ci"])
        .assert()
        .code(LOGIN_REQUIRED);
}

#[test]
fn revoke_the_server_refuses_fails_and_leaves_the_org_unchanged() {
    let org = default_emulator();
    let home = Home::new();
    sfdx_org(&home, &org, "ci");
    home.sfauth()
        .args(["revoke", "--org", "ci"])
        .assert()
        .success();
    let before = snapshot(&home, "ci");
    let refresh_token = text(&home.token("ci"), "refresh_token");

    home.sfauth()
        .args(["revoke", "--org", "ci"])
        .assert()
        .code(LOGIN_REQUIRED)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("invalid_token"))
        .stderr(predicate::str::contains("already invalid"))
        .stderr(predicate::str::contains("hint:"))
        .stderr(predicate::str::contains(&refresh_token).not());
    assert_eq!(org.stats().revocations, 1);
    assert_unchanged(&home, "ci", &before);
}

#[test]
fn revoke_of_a_token_the_server_does_not_know_fails_and_leaves_the_org_unchanged() {
    let org = default_emulator();
    let home = Home::new();
    let file = org_with_an_unknown_refresh_token(&home, &org, "dev");
    let config = home.config_bytes();
    let token = file.bytes();
    home.sfauth()
        .args(["revoke", "--org", "dev"])
        .assert()
        .code(LOGIN_REQUIRED)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("invalid_token"))
        .stderr(predicate::str::contains("already invalid"))
        .stderr(predicate::str::contains("NeverIssued").not());
    assert_eq!(org.stats().revocations, 0);
    assert!(home.config_bytes() == config, "config.toml changed");
    assert!(file.bytes() == token, "the token file changed");
}

#[test]
fn revoke_of_the_access_token_only_keeps_the_refresh_token_working() {
    let org = default_emulator();
    let home = Home::new();
    sfdx_org(&home, &org, "ci");
    home.sfauth()
        .args(["revoke", "--org", "ci", "--access-token-only"])
        .assert()
        .success()
        .stderr(predicate::str::contains("revoked the access token"));
    assert_eq!(org.stats().revocations, 1);
    home.sfauth()
        .args(["refresh", "--org", "ci"])
        .assert()
        .success();
}

#[test]
fn after_revoking_the_access_token_only_token_prints_a_renewed_one() {
    let org = default_emulator();
    let home = Home::new();
    sfdx_org(&home, &org, "ci");
    let revoked = text(&home.token("ci"), "access_token");
    let refreshes_at_login = org.stats().refreshes_served;
    home.sfauth()
        .args(["revoke", "--org", "ci", "--access-token-only"])
        .assert()
        .success()
        .stderr(predicate::str::contains("renewed"));

    let output = home
        .sfauth()
        .args(["token", "--org", "ci"])
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", utf8(&output.stderr));
    let printed = utf8(&output.stdout).trim().to_owned();
    assert_ne!(printed, revoked, "the revoked access token was handed out");
    assert_eq!(printed, text(&home.token("ci"), "access_token"));
    // One renewal, by the revoke; `token` then serves it without another.
    assert_eq!(org.stats().refreshes_served, refreshes_at_login + 1);
}

// ---- logout --------------------------------------------------------------------------

#[test]
fn logout_revokes_then_forgets_the_org_and_deletes_its_token_file() {
    let org = default_emulator();
    let home = Home::new();
    sfdx_org(&home, &org, "ci");
    home.sfauth()
        .args(["logout", "--org", "ci"])
        .assert()
        .success()
        .stderr(predicate::str::contains("revoked"))
        .stderr(predicate::str::contains("logged out of `ci`"));
    assert_eq!(org.stats().revocations, 1);
    assert!(home.orgs().is_empty(), "{:?}", home.orgs());
    assert!(
        !home.token_file("ci").exists(),
        "the token file is still there"
    );
    // The default org went with it.
    home.sfauth()
        .arg("token")
        .assert()
        .code(USAGE)
        .stderr(predicate::str::contains("no org or token file given"));
}

#[test]
fn logout_of_a_token_already_dead_at_salesforce_still_forgets_it() {
    let org = default_emulator();
    let home = Home::new();
    sfdx_org(&home, &org, "ci");
    org.revoke_refresh_token(&text(&home.token("ci"), "refresh_token"));
    home.sfauth()
        .args(["logout", "--org", "ci"])
        .assert()
        .success()
        .stderr(predicate::str::contains("already invalid"));
    assert!(home.orgs().is_empty());
    assert!(!home.token_file("ci").exists());
}

#[test]
fn logout_of_a_token_the_server_does_not_know_still_forgets_it() {
    let org = default_emulator();
    let home = Home::new();
    let _file = org_with_an_unknown_refresh_token(&home, &org, "dev");
    home.sfauth()
        .args(["logout", "--org", "dev"])
        .assert()
        .success()
        .stderr(predicate::str::contains("already invalid"))
        .stderr(predicate::str::contains("logged out of `dev`"));
    assert!(home.orgs().is_empty());
}

#[test]
fn logout_when_salesforce_cannot_be_reached_keeps_the_org_and_its_token() {
    let org = default_emulator();
    let home = Home::new();
    sfdx_org(&home, &org, "ci");
    let before = snapshot(&home, "ci");
    shut_down(org);
    home.sfauth()
        .args(["logout", "--org", "ci"])
        .assert()
        .code(UNAVAILABLE)
        .stderr(predicate::str::contains("cannot revoke the token of `ci`"))
        .stderr(predicate::str::contains("nothing was deleted"))
        .stderr(predicate::str::contains("--local-only"));
    assert_unchanged(&home, "ci", &before);
}

#[test]
fn logout_local_only_forgets_an_org_that_cannot_be_reached() {
    let org = default_emulator();
    let home = Home::new();
    sfdx_org(&home, &org, "ci");
    shut_down(org);
    home.sfauth()
        .args(["logout", "--org", "ci", "--local-only"])
        .assert()
        .success()
        .stderr(predicate::str::contains("logged out of `ci`"));
    assert!(home.orgs().is_empty());
    assert!(!home.token_file("ci").exists());
}

#[test]
fn logout_of_an_adopted_token_file_leaves_the_file_in_place() {
    let org = default_emulator();
    let home = Home::new();
    let file = TokenFile::issued_by(&org);
    home.sfauth()
        .args([
            "login",
            "token-file",
            "--alias",
            "dev",
            "--client-id",
            &org.config().client_id,
        ])
        .arg(&file.path)
        .assert()
        .success();
    let before = file.bytes();
    home.sfauth()
        .args(["logout", "--org", "dev"])
        .assert()
        .success()
        .stderr(predicate::str::contains("left in place"));
    assert_eq!(org.stats().revocations, 1);
    assert!(home.orgs().is_empty());
    assert!(file.bytes() == before, "the adopted file changed");
}

// ---- export --------------------------------------------------------------------------

#[test]
fn exported_sfdx_url_logs_in_under_another_alias() {
    let org = default_emulator();
    let home = Home::new();
    sfdx_org(&home, &org, "a");
    let out = home
        .sfauth()
        .args(["export", "--org", "a", "--format", "sfdx-url"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let url = utf8(&out).trim().to_owned();
    assert!(url.starts_with("force://"), "{url}");
    assert!(
        url.contains(&text(&home.token("a"), "refresh_token")),
        "the URL does not hold the current refresh token"
    );
    assert!(url.ends_with(&format!("@{}", org.url())), "{url}");

    home.sfauth()
        .args(["login", "sfdx-url", "--alias", "b", "-"])
        .write_stdin(format!("{url}\n"))
        .assert()
        .success();
    assert_eq!(home.aliases(), ["a", "b"]);
    assert_eq!(org.stats().refreshes_served, 2);
    home.sfauth()
        .args(["refresh", "--org", "b"])
        .assert()
        .success();
}

#[test]
fn export_of_an_org_without_a_refresh_token_is_a_usage_error() {
    let org = default_emulator();
    let home = Home::new();
    home.sfauth()
        .env(
            "SF_ACCESS_TOKEN",
            text(&org.issue_token(USERNAME), "access_token"),
        )
        .args([
            "login",
            "access-token",
            "--alias",
            "adopted",
            "--instance-url",
            &org.url(),
        ])
        .assert()
        .success();
    home.sfauth()
        .args(["export", "--org", "adopted", "--format", "sfdx-url"])
        .assert()
        .code(USAGE)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("no refresh token to export"));
}
