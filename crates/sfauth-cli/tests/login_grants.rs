//! The logins that need no browser redirect: JWT bearer, client credentials, username and
//! password, and the device flow, end to end through the binary against the emulator.
//!
//! An expired JWT cannot be produced through the CLI (it always signs `exp` = now + 3 min);
//! the emulator's own tests cover its `expired JWT` refusal.

mod common;

use common::exit::{CLIENT_REJECTED, DENIED_BY_POLICY, LOGIN_REQUIRED, USAGE};
use common::*;
use predicates::prelude::*;
use sfauth_emulator::{Config, Consent, Emulator};

const PASSWORD: &str = "hunter2-pw+SECTOKEN123";
const RUN_AS: &str = "integration@example.com";

fn jwt_org() -> Emulator {
    emulator(Config {
        jwt_certificate_pem: Some(jwt_public_key()),
        ..Config::default()
    })
}

fn jwt_login(home: &Home, org: &Emulator, key: &str) -> assert_cmd::assert::Assert {
    home.sfauth()
        .args([
            "login",
            "jwt",
            "--alias",
            "ci",
            "--client-id",
            &org.config().client_id,
            "--login-url",
            &org.url(),
            "--username",
            USERNAME,
            "--key-file",
            key,
        ])
        .assert()
}

fn client_credentials_org() -> Emulator {
    emulator(Config {
        client_credentials_user: Some(RUN_AS.to_owned()),
        ..Config::default()
    })
}

fn password_login(home: &Home, org: &Emulator) -> assert_cmd::Command {
    let mut cmd = home.sfauth();
    cmd.args([
        "login",
        "password",
        "--alias",
        "old",
        "--client-id",
        &org.config().client_id,
        "--login-url",
        &org.url(),
        "--username",
        USERNAME,
    ])
    .arg("--client-secret-file")
    .arg(home.secret_file(org));
    cmd
}

fn device_login(home: &Home, org: &Emulator) -> assert_cmd::assert::Assert {
    home.sfauth()
        .args([
            "login",
            "device",
            "--alias",
            "tv",
            "--client-id",
            &org.config().client_id,
            "--login-url",
            &org.url(),
            "--wait",
            "100s",
        ])
        .assert()
}

// ---- JWT bearer ----------------------------------------------------------------------

#[test]
fn jwt_login_stores_the_org_and_a_stale_token_is_renewed_by_signing_again() {
    let org = jwt_org();
    let home = Home::new();
    jwt_login(&home, &org, JWT_KEY)
        .success()
        .stderr(predicate::str::contains("stored org `ci`"));
    assert_eq!(org.stats().jwt_grants, 1);
    let row = home.org("ci");
    assert_eq!(row["flow"], "jwt");
    assert_eq!(row["username"], USERNAME);
    assert_eq!(row["refresh_token"], "none");
    let first = text(&home.token("ci"), "access_token");

    let out = home
        .sfauth()
        .args(["token", "--org", "ci", "--max-age", "0s"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        org.stats().jwt_grants,
        2,
        "the stale token was not re-signed"
    );
    let printed = utf8(&out).trim().to_owned();
    assert_ne!(printed, first);
    assert_eq!(printed, text(&home.token("ci"), "access_token"));
}

#[test]
fn jwt_login_signed_with_a_key_the_app_does_not_trust_is_client_rejected() {
    let org = jwt_org();
    let home = Home::new();
    jwt_login(&home, &org, JWT_OTHER_KEY)
        .code(CLIENT_REJECTED)
        .stderr(predicate::str::contains("invalid assertion"))
        .stderr(predicate::str::contains("hint:"))
        .stderr(predicate::str::contains("BEGIN").not());
    assert_eq!(org.stats().jwt_grants, 0);
    home.assert_no_org();
}

// ---- client credentials --------------------------------------------------------------

#[test]
fn client_credentials_login_with_a_secret_file_stores_the_org_without_the_secret() {
    let org = client_credentials_org();
    let home = Home::new();
    home.sfauth()
        .args([
            "login",
            "client-credentials",
            "--alias",
            "int",
            "--client-id",
            &org.config().client_id,
            "--login-url",
            &org.url(),
        ])
        .arg("--client-secret-file")
        .arg(home.secret_file(&org))
        .assert()
        .success()
        .stderr(predicate::str::contains("stored org `int`"));
    assert_eq!(org.stats().client_credentials_grants, 1);
    assert_eq!(home.org("int")["flow"], "client-credentials");
    let config = utf8(&home.config_bytes());
    assert!(!config.contains(&org.config().client_secret), "{config}");

    home.sfauth()
        .args(["token", "--org", "int", "--max-age", "0s"])
        .assert()
        .success();
    assert_eq!(
        org.stats().client_credentials_grants,
        2,
        "the stale token was not renewed by asking again"
    );
}

#[test]
fn client_credentials_at_the_generic_login_host_is_refused_before_any_request() {
    let home = Home::new();
    let secret = home.file("client_secret", "not-used");
    // Were a request made anyway, it would go to this closed port, not the internet.
    let proxy = format!("http://127.0.0.1:{}", closed_port());
    home.sfauth()
        .env("HTTPS_PROXY", &proxy)
        .env("https_proxy", &proxy)
        .args([
            "login",
            "client-credentials",
            "--alias",
            "int",
            "--client-id",
            "3MVG9example",
            "--login-url",
            "https://login.salesforce.com",
        ])
        .arg("--client-secret-file")
        .arg(&secret)
        .assert()
        .code(USAGE)
        .stderr(predicate::str::contains("My Domain"))
        .stderr(predicate::str::contains("hint:"));
    home.assert_no_org();
}

#[test]
fn client_credentials_without_a_secret_is_a_usage_error() {
    let org = client_credentials_org();
    let home = Home::new();
    home.sfauth()
        .args([
            "login",
            "client-credentials",
            "--alias",
            "int",
            "--client-id",
            &org.config().client_id,
            "--login-url",
            &org.url(),
        ])
        .assert()
        .code(USAGE)
        .stderr(predicate::str::contains("client secret"))
        .stderr(predicate::str::contains("hint:"));
    assert_eq!(org.stats().token_requests, 0);
    home.assert_no_org();
}

// ---- username and password -----------------------------------------------------------

#[test]
fn password_login_where_the_org_blocks_the_flow_is_login_required() {
    let org = default_emulator();
    let home = Home::new();
    let out = password_login(&home, &org)
        .env("SFAUTH_PASSWORD", PASSWORD)
        .assert()
        .code(LOGIN_REQUIRED)
        .stderr(predicate::str::contains("authentication failure"))
        .stderr(predicate::str::contains("hint:"))
        .get_output()
        .clone();
    let all = format!("{}{}", utf8(&out.stdout), utf8(&out.stderr));
    assert!(!all.contains(PASSWORD), "the password leaked: {all}");
    assert_eq!(org.stats().password_grants, 0);
    home.assert_no_org();
}

#[test]
fn password_login_reads_the_password_from_stdin_and_warns_about_the_flow() {
    let org = emulator(Config {
        password_flow: true,
        users: vec![(USERNAME.to_owned(), PASSWORD.to_owned())],
        ..Config::default()
    });
    let home = Home::new();
    let out = password_login(&home, &org)
        .write_stdin(format!("{PASSWORD}\n"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: Salesforce blocks the username-password flow",
        ))
        .get_output()
        .clone();
    assert!(!utf8(&out.stderr).contains(PASSWORD));
    assert_eq!(org.stats().password_grants, 1);
    let row = home.org("old");
    assert_eq!(row["flow"], "password");
    assert_eq!(row["username"], USERNAME);
}

// ---- device flow ---------------------------------------------------------------------

#[test]
fn device_login_shows_the_code_slows_down_when_told_and_stores_the_org() {
    let org = emulator(Config {
        device_slow_down_polls: 1,
        device_approve_after_polls: 2,
        ..Config::default()
    });
    let home = Home::new();
    let out = device_login(&home, &org)
        .success()
        .get_output()
        .stderr
        .clone();
    let stderr = utf8(&out);
    let verification_uri = format!("{}/setup/connect", org.url());
    let line = stderr
        .lines()
        .find(|l| l.contains("enter the code"))
        .unwrap_or_else(|| panic!("no user code shown: {stderr}"));
    assert!(line.contains(&verification_uri), "{line}");
    let code = line.rsplit(' ').next().unwrap_or_default();
    assert!(!code.is_empty() && code != "code", "{line}");
    assert!(org.stats().device_polls >= 3, "{:?}", org.stats());
    let row = home.org("tv");
    assert_eq!(row["flow"], "device");
    assert_eq!(row["refresh_token"], "[redacted]");
}

#[test]
fn device_login_denied_by_the_user_exits_5_and_stores_nothing() {
    let org = emulator(Config {
        consent: Consent::Deny,
        device_approve_after_polls: 0,
        ..Config::default()
    });
    let home = Home::new();
    device_login(&home, &org)
        .code(DENIED_BY_POLICY)
        .stderr(predicate::str::contains("denied"))
        .stderr(predicate::str::contains("hint:"));
    home.assert_no_org();
}
