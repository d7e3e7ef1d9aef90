//! Logins that import a credential made elsewhere: an SFDX auth URL (`force://...`, from a
//! file or stdin) and an access token (`SF_ACCESS_TOKEN` or stdin).

mod common;

use std::path::Path;

use common::exit::{LOGIN_REQUIRED, USAGE};
use common::*;
use predicates::prelude::*;
use sfauth_emulator::{Config, Emulator};

/// The emulator's connected app and a fresh refresh token as an SFDX auth URL; the
/// instance keeps its `http://` scheme (plain http is allowed for loopback only).
fn auth_url(org: &Emulator, refresh_token: &str) -> String {
    format!(
        "force://{}:{}:{refresh_token}@{}",
        org.config().client_id,
        org.config().client_secret,
        org.url()
    )
}

fn fresh_refresh_token(org: &Emulator) -> String {
    text(&org.issue_token(USERNAME), "refresh_token")
}

fn sfdx_url_login(home: &Home, alias: &str, file: &Path) -> assert_cmd::Command {
    let mut cmd = home.sfauth();
    cmd.args(["login", "sfdx-url", "--alias", alias]).arg(file);
    cmd
}

/// `login sfdx-url` of a badly shaped URL: a usage error that says `says`, quotes neither
/// the client secret nor the refresh token, and stores nothing.
fn refuse_shape(url: &str, says: &str, secrets: &[&str]) {
    let home = Home::new();
    let file = home.file("auth-url", url);
    let out = sfdx_url_login(&home, "ci", &file)
        .assert()
        .code(USAGE)
        .stderr(predicate::str::contains(says))
        .stderr(predicate::str::contains("hint:"))
        .get_output()
        .clone();
    let all = format!("{}{}", utf8(&out.stdout), utf8(&out.stderr));
    for secret in secrets {
        assert!(!all.contains(secret), "a secret leaked: {all}");
    }
    home.assert_no_org();
}

// ---- SFDX auth URL -------------------------------------------------------------------

#[test]
fn sfdx_url_login_from_a_file_refreshes_once_and_stores_the_org() {
    let org = default_emulator();
    let home = Home::new();
    let refresh_token = fresh_refresh_token(&org);
    let file = home.file("auth-url", &auth_url(&org, &refresh_token));
    sfdx_url_login(&home, "ci", &file)
        .assert()
        .success()
        .stderr(predicate::str::contains("stored org `ci`"));
    assert_eq!(org.stats().refreshes_served, 1);
    let row = home.org("ci");
    assert_eq!(row["flow"], "sfdx-url");
    assert_eq!(row["client_id"], org.config().client_id);
    assert_eq!(row["instance_url"], org.url());
    let config = utf8(&home.config_bytes());
    assert!(!config.contains(&org.config().client_secret), "{config}");
    assert!(!config.contains(&refresh_token), "{config}");
    assert_eq!(mode(&home.token_file("ci")), 0o600);

    // The secret that came in the URL is used: the refresh's signature is verified.
    home.sfauth()
        .args(["refresh", "--org", "ci"])
        .assert()
        .success()
        .stderr(predicate::str::contains("signature verified"));
    assert_eq!(org.stats().refreshes_served, 2);
}

#[test]
fn sfdx_url_login_merges_its_refresh_as_a_refresh_does_and_records_the_rotation() {
    for rotation in [true, false] {
        let org = emulator(Config {
            rotation,
            ..Config::default()
        });
        let home = Home::new();
        let refresh_token = fresh_refresh_token(&org);
        let file = home.file("auth-url", &auth_url(&org, &refresh_token));
        sfdx_url_login(&home, "ci", &file).assert().success();

        let stored = home.token("ci");
        assert_eq!(
            text(&stored, "refresh_token") == refresh_token,
            !rotation,
            "rotation {rotation}: {:?}",
            keys(&stored)
        );
        assert_eq!(stored["sfauth_rotation"], rotation.to_string());
        // An org known not to rotate exports without the single-use warning.
        let warns = predicate::str::contains("single-use");
        home.sfauth()
            .args(["export", "--org", "ci", "--format", "sfdx-url"])
            .assert()
            .success()
            .stderr(if rotation {
                warns.boxed()
            } else {
                warns.not().boxed()
            });
    }
}

#[test]
fn sfdx_url_login_reads_the_url_from_stdin() {
    let org = default_emulator();
    let home = Home::new();
    let url = auth_url(&org, &fresh_refresh_token(&org));
    sfdx_url_login(&home, "ci", Path::new("-"))
        .write_stdin(format!("{url}\n"))
        .assert()
        .success();
    assert_eq!(org.stats().refreshes_served, 1);
    assert_eq!(home.org("ci")["flow"], "sfdx-url");
}

#[test]
fn sfdx_url_with_a_revoked_refresh_token_is_login_required_and_stores_nothing() {
    let org = default_emulator();
    let home = Home::new();
    let refresh_token = fresh_refresh_token(&org);
    org.revoke_refresh_token(&refresh_token);
    let file = home.file("auth-url", &auth_url(&org, &refresh_token));
    sfdx_url_login(&home, "ci", &file)
        .assert()
        .code(LOGIN_REQUIRED)
        .stderr(predicate::str::contains("invalid_grant"))
        .stderr(predicate::str::contains(&refresh_token).not());
    home.assert_no_org();
}

#[test]
fn sfdx_url_without_an_at_sign_is_a_usage_error_naming_it() {
    refuse_shape(
        "force://3MVG9id:S3CR3Tvalue:5Aep861TOKEN.value==",
        "no `@`",
        &["S3CR3Tvalue", "5Aep861TOKEN"],
    );
}

#[test]
fn sfdx_url_without_a_refresh_token_is_a_usage_error_naming_it() {
    refuse_shape(
        "force://3MVG9id:S3CR3Tvalue:@acme.my.salesforce.com",
        "empty refresh token",
        &["S3CR3Tvalue"],
    );
}

#[test]
fn sfdx_url_without_the_force_scheme_is_a_usage_error_naming_it() {
    refuse_shape(
        "https://3MVG9id:S3CR3Tvalue:5Aep861TOKEN.value==@acme.my.salesforce.com",
        "does not start with force://",
        &["S3CR3Tvalue", "5Aep861TOKEN"],
    );
}

#[test]
fn sfdx_url_file_that_is_missing_is_a_usage_error() {
    let home = Home::new();
    let missing = home.dir.path().join("no-such-file");
    sfdx_url_login(&home, "ci", &missing)
        .assert()
        .code(USAGE)
        .stderr(predicate::str::contains("cannot read"));
    home.assert_no_org();
}

// ---- access token --------------------------------------------------------------------

fn access_token_login(home: &Home, org: &Emulator) -> assert_cmd::Command {
    let mut cmd = home.sfauth();
    cmd.env_remove("SF_ACCESS_TOKEN").args([
        "login",
        "access-token",
        "--alias",
        "adopted",
        "--instance-url",
        &org.url(),
    ]);
    cmd
}

#[test]
fn access_token_login_from_the_environment_serves_that_token() {
    let org = default_emulator();
    let home = Home::new();
    let access = text(&org.issue_token(USERNAME), "access_token");
    access_token_login(&home, &org)
        .env("SF_ACCESS_TOKEN", &access)
        .assert()
        .success()
        .stderr(predicate::str::contains("cannot be renewed"))
        .stderr(predicate::str::contains(&access).not());
    let row = home.org("adopted");
    assert_eq!(row["flow"], "access-token");
    assert_eq!(row["refresh_token"], "none");

    let out = home
        .sfauth()
        .args(["token", "--org", "adopted"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(utf8(&out).trim(), access);
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn access_token_login_reads_the_token_from_stdin() {
    let org = default_emulator();
    let home = Home::new();
    let access = text(&org.issue_token(USERNAME), "access_token");
    access_token_login(&home, &org)
        .write_stdin(format!("{access}\n"))
        .assert()
        .success();
    assert_eq!(text(&home.token("adopted"), "access_token"), access);
}

#[test]
fn adopted_access_token_when_stale_says_it_cannot_be_renewed() {
    let org = default_emulator();
    let home = Home::new();
    let access = text(&org.issue_token(USERNAME), "access_token");
    access_token_login(&home, &org)
        .env("SF_ACCESS_TOKEN", &access)
        .assert()
        .success();
    let before = std::fs::read(home.token_file("adopted")).unwrap();
    home.sfauth()
        .args(["token", "--org", "adopted", "--max-age", "0s"])
        .assert()
        .code(LOGIN_REQUIRED)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("cannot renew"))
        .stderr(predicate::str::contains("hint:"))
        .stderr(predicate::str::contains(&access).not());
    assert!(std::fs::read(home.token_file("adopted")).unwrap() == before);
    assert_eq!(org.stats().token_requests, 0);
}
