//! The logins that need no browser redirect: JWT bearer, client credentials, username and
//! password, and the device flow, end to end through the binary against the emulator.
//!
//! An expired JWT cannot be produced through the CLI (it always signs `exp` = now + 3 min);
//! the emulator's own tests cover its `expired JWT` refusal.

use std::path::Path;

use sfauth_test_support::fixtures;
use sfauth_test_support::prelude::*;

const PASSWORD: &str = "hunter2-pw+SECTOKEN123";
const RUN_AS: &str = "integration@example.com";

/// `sfauth login KIND --alias ALIAS --client-id ID --login-url URL`, not run yet.
fn login(home: &Home, kind: &str, alias: &str, org: &Emulator) -> TestCommand {
    home.sfauth().args(["login", kind, "--alias", alias]).args([
        "--client-id",
        org.client_id(),
        "--login-url",
        &org.url(),
    ])
}

fn jwt_login(home: &Home, org: &Emulator, key: &Path) -> TestCommand {
    login(home, "jwt", "ci", org)
        .args(["--username", USERNAME, "--key-file"])
        .arg(key)
}

fn password_login(home: &Home, org: &Emulator) -> TestCommand {
    login(home, "password", "old", org)
        .args(["--username", USERNAME, "--client-secret-file"])
        .arg(home.secret_file(org))
}

fn device_login(home: &Home, org: &Emulator) -> TestCommand {
    login(home, "device", "tv", org).args(["--wait", "100s"])
}

// ---- JWT bearer ----------------------------------------------------------------------

#[test]
fn jwt_login_stores_the_org_and_a_stale_token_is_renewed_by_signing_again() {
    let org = OrgBuilder::new().trusting_the_jwt_key().start();
    let home = Home::new();

    jwt_login(&home, &org, &fixtures::jwt_key_path())
        .ok()
        .stderr_has("stored org `ci`");

    assert_eq!(org.stats().jwt_grants, 1);
    let row = home.org("ci");
    assert_eq!(row["flow"], "jwt");
    assert_eq!(row["username"], USERNAME);
    assert_eq!(row["refresh_token"], "none");
    let first = text(&home.token("ci"), "access_token");
    let run = home
        .sfauth()
        .args(["token", "--org", "ci", "--max-age", "0s"])
        .ok();
    assert_eq!(
        org.stats().jwt_grants,
        2,
        "the stale token was not re-signed"
    );
    assert_ne!(run.printed(), first);
    assert_eq!(run.printed(), text(&home.token("ci"), "access_token"));
}

// ---- client credentials --------------------------------------------------------------

#[test]
fn client_credentials_login_with_a_secret_file_stores_the_org_without_the_secret() {
    let org = OrgBuilder::new().client_credentials_as(RUN_AS).start();
    let home = Home::new();

    login(&home, "client-credentials", "int", &org)
        .arg("--client-secret-file")
        .arg(home.secret_file(&org))
        .ok()
        .stderr_has("stored org `int`");

    assert_eq!(org.stats().client_credentials_grants, 1);
    assert_eq!(home.org("int")["flow"], "client-credentials");
    let config = String::from_utf8(home.config_bytes()).unwrap();
    assert!(!config.contains(org.client_secret()), "{config}");
    home.sfauth()
        .args(["token", "--org", "int", "--max-age", "0s"])
        .ok();
    assert_eq!(
        org.stats().client_credentials_grants,
        2,
        "the stale token was not renewed by asking again"
    );
}

// ---- username and password -----------------------------------------------------------

#[test]
fn password_login_reads_the_password_from_stdin_and_warns_about_the_flow() {
    let org = OrgBuilder::new()
        .password_flow_for(USERNAME, PASSWORD)
        .start();
    let home = Home::new();

    password_login(&home, &org)
        .stdin(format!("{PASSWORD}\n"))
        .ok()
        .stderr_has("warning: Salesforce blocks the username-password flow")
        .never_shows(PASSWORD);

    assert_eq!(org.stats().password_grants, 1);
    let row = home.org("old");
    assert_eq!(row["flow"], "password");
    assert_eq!(row["username"], USERNAME);
}

// ---- device flow ---------------------------------------------------------------------

#[test]
fn device_login_shows_the_code_slows_down_when_told_and_stores_the_org() {
    let org = OrgBuilder::new().device_polls(1, 2).start();
    let home = Home::new();

    let run = device_login(&home, &org).ok();

    let verification_uri = format!("{}/setup/connect", org.url());
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("enter the code"))
        .unwrap_or_else(|| panic!("no user code shown: {run}"));
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
    let org = OrgBuilder::new()
        .consent(Consent::Deny)
        .device_polls(0, 0)
        .start();
    let home = Home::new();

    device_login(&home, &org)
        .exits(exit::DENIED_BY_POLICY)
        .stderr_has("denied")
        .stderr_has("hint:");

    home.assert_no_org();
}
