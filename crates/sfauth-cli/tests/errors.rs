//! Every failure class with its exit code (the README's exit-code table): the token
//! file stays byte for byte as it was, stderr says `error:` and `hint:`, and no secret is
//! printed. Plus the transient failures that must end in success, and usage errors.

mod common;

use std::process::Output;
use std::time::Duration;

use common::*;
use serde_json::Value;
use sfauth_emulator::{Config, Emulator, Fault};

/// Exit codes, as documented.
const USAGE: i32 = 2;
const LOGIN_REQUIRED: i32 = 3;
const CLIENT_REJECTED: i32 = 4;
const DENIED_BY_POLICY: i32 = 5;
const UNAVAILABLE: i32 = 6;
const PROTOCOL: i32 = 7;

/// A logged-in token file at `org`, its bytes, and the secrets a failed run must not print.
fn setup(org: &Emulator) -> (TokenFile, Vec<u8>, Vec<String>) {
    let file = TokenFile::issued_by(org);
    let before = file.bytes();
    let secrets = secrets_of(org, &file.json()).to_vec();
    (file, before, secrets)
}

fn check(output: &Output, code: i32, file: &TokenFile, before: &[u8], secrets: &[String]) {
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_failed_cleanly(output, code, file, before, &secrets);
}

fn stderr(output: &Output) -> String {
    utf8(&output.stderr)
}

fn oauth_error(error: &str, description: &str) -> Fault {
    Fault::OAuthError {
        status: 400,
        error: error.into(),
        description: description.into(),
    }
}

fn status_503() -> Fault {
    Fault::Status {
        status: 503,
        content_type: "text/html".into(),
        body: "<html><body>Down for maintenance</body></html>".into(),
    }
}

// ---- failure classes -----------------------------------------------------------------

#[test]
fn wrong_client_id_is_client_rejected() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);

    let output = sfauth()
        .arg("refresh")
        .arg("--token-file")
        .arg(&file.path)
        .args(["--client-id", "not-the-consumer-key"])
        .output()
        .unwrap();

    check(&output, CLIENT_REJECTED, &file, &before, &secrets);
    assert_eq!(org.stats().refreshes_served, 0);
}

#[test]
fn wrong_client_secret_is_client_rejected() {
    let org = default_emulator();
    let (file, before, mut secrets) = setup(&org);
    let wrong = "wrong-secret-7Hq2Zk";
    let secret = secret_file(&file, wrong);
    secrets.push(wrong.to_owned());

    let output = refresh(&org, &file.path)
        .arg("--client-secret-file")
        .arg(&secret)
        .output()
        .unwrap();

    check(&output, CLIENT_REJECTED, &file, &before, &secrets);
    assert_eq!(org.stats().refreshes_served, 0);
}

#[test]
fn revoked_refresh_token_is_login_required() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    org.revoke_refresh_token(&file.field("refresh_token"));

    let output = refresh(&org, &file.path).output().unwrap();

    check(&output, LOGIN_REQUIRED, &file, &before, &secrets);
}

#[test]
fn ip_restriction_is_denied_by_policy() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    org.inject(oauth_error(
        "invalid_grant",
        "IP restricted or invalid login hours",
    ));

    let output = refresh(&org, &file.path).output().unwrap();

    check(&output, DENIED_BY_POLICY, &file, &before, &secrets);
    assert_eq!(
        org.stats().token_requests,
        1,
        "a policy refusal was retried"
    );
}

#[test]
fn inactive_user_is_denied_by_policy() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    org.inject(oauth_error("inactive_user", "user is inactive"));

    let output = refresh(&org, &file.path).output().unwrap();

    check(&output, DENIED_BY_POLICY, &file, &before, &secrets);
}

#[test]
fn persistent_503_is_unavailable_after_three_retries() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    // More faults than the retry budget: a client that retried without bound would
    // consume them all.
    for _ in 0..6 {
        org.inject(status_503());
    }

    let output = refresh(&org, &file.path).output().unwrap();

    check(&output, UNAVAILABLE, &file, &before, &secrets);
    let stats = org.stats();
    assert_eq!(stats.token_requests, 4, "one try and three retries");
    assert_eq!(stats.refreshes_served, 0);
}

#[test]
fn the_retries_flag_and_its_variable_bound_the_retries_of_a_503() {
    for (how, tries) in [("--retries", 1), ("SFAUTH_RETRIES", 2)] {
        let org = default_emulator();
        let (file, before, secrets) = setup(&org);
        for _ in 0..6 {
            org.inject(status_503());
        }
        let retries = (tries - 1).to_string();
        let mut cmd = refresh(&org, &file.path);
        match how {
            "--retries" => cmd.args(["--retries", &retries]),
            _ => cmd.env(how, &retries),
        };

        let output = cmd.output().unwrap();

        check(&output, UNAVAILABLE, &file, &before, &secrets);
        assert_eq!(org.stats().token_requests, tries, "{how}");
    }
}

#[test]
fn unreachable_server_is_unavailable() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    let nowhere = format!("http://127.0.0.1:{}", closed_port());

    let output = refresh(&org, &file.path)
        .args(["--login-url", &nowhere])
        .output()
        .unwrap();

    check(&output, UNAVAILABLE, &file, &before, &secrets);
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn html_page_instead_of_json_is_a_protocol_error() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    org.inject(Fault::Status {
        status: 200,
        content_type: "text/html".into(),
        body: "<!DOCTYPE html><html><body>Login | Salesforce</body></html>".into(),
    });

    let output = refresh(&org, &file.path).output().unwrap();

    check(&output, PROTOCOL, &file, &before, &secrets);
    assert_eq!(org.stats().token_requests, 1);
}

#[test]
fn signature_mismatch_is_a_protocol_error() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    let secret = secret_file(&file, &org.config().client_secret);
    org.inject(Fault::BadSignature);

    let output = refresh(&org, &file.path)
        .arg("--client-secret-file")
        .arg(&secret)
        .output()
        .unwrap();

    check(&output, PROTOCOL, &file, &before, &secrets);
    assert!(stderr(&output).contains("signature"), "{}", stderr(&output));
}

#[test]
fn refresh_json_failure_puts_the_error_object_on_stdout() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    org.revoke_refresh_token(&file.field("refresh_token"));

    let output = refresh(&org, &file.path).arg("--json").output().unwrap();

    assert_eq!(
        output.status.code(),
        Some(LOGIN_REQUIRED),
        "{}",
        stderr(&output)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let error = &printed["error"];
    assert_eq!(error["kind"], "login_required");
    assert_eq!(error["exit_code"], LOGIN_REQUIRED);
    assert!(!text(error, "message").is_empty());
    assert!(!text(error, "hint").is_empty());
    assert_eq!(file.bytes(), before);
    let all = format!("{}{}", utf8(&output.stdout), stderr(&output));
    for secret in &secrets {
        assert!(!all.contains(secret.as_str()), "a secret leaked: {all}");
    }
}

// ---- ambiguous failures: reported, never replayed -------------------------------------

#[test]
fn connection_closed_after_sending_is_unavailable_and_not_replayed() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    org.inject(Fault::CloseConnection);

    let output = refresh(&org, &file.path).output().unwrap();

    check(&output, UNAVAILABLE, &file, &before, &secrets);
    assert_eq!(
        org.stats().token_requests,
        1,
        "a refresh that may have reached the server was replayed"
    );
}

#[test]
fn lost_response_is_unavailable_and_not_replayed() {
    // The server refreshed (and rotated) but the answer never arrived. Replaying the old
    // refresh token would revoke the whole family.
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    org.inject(Fault::LoseResponse);

    let output = refresh(&org, &file.path).output().unwrap();

    check(&output, UNAVAILABLE, &file, &before, &secrets);
    let stats = org.stats();
    assert_eq!(stats.token_requests, 1, "the lost refresh was replayed");
    assert_eq!(stats.reuse_detected, 0);
}

#[test]
fn timeout_is_unavailable_and_not_replayed() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    // Far longer than --timeout: the run gives up long before the server would answer.
    org.inject(Fault::Delay(Duration::from_secs(60)));

    let output = refresh(&org, &file.path)
        .args(["--timeout", "1s"])
        .output()
        .unwrap();

    check(&output, UNAVAILABLE, &file, &before, &secrets);
    assert_eq!(
        org.stats().token_requests,
        1,
        "a refresh that may have reached the server was replayed"
    );
}

// ---- transient failures that end in success -------------------------------------------

#[test]
fn one_503_then_success_refreshes() {
    let org = default_emulator();
    let (file, before, _) = setup(&org);
    let old = serde_json::from_slice::<Value>(&before).unwrap();
    org.inject(status_503());

    refresh(&org, &file.path).assert().success();

    let stats = org.stats();
    assert_eq!((stats.token_requests, stats.refreshes_served), (2, 1));
    assert_ne!(file.field("access_token"), text(&old, "access_token"));
    assert_ne!(file.field("refresh_token"), text(&old, "refresh_token"));
}

#[test]
fn already_being_processed_is_not_resent_while_rotation_may_be_on() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    org.inject(oauth_error(
        "invalid_grant",
        "token request is already being processed",
    ));

    let output = refresh(&org, &file.path).output().unwrap();

    // Resending could be reuse: the other refresher may have spent the token already.
    check(&output, UNAVAILABLE, &file, &before, &secrets);
    assert!(
        stderr(&output).contains("outside sfauth's lock"),
        "{}",
        stderr(&output)
    );
    let stats = org.stats();
    assert_eq!((stats.token_requests, stats.reuse_detected), (1, 0));
}

#[test]
fn already_being_processed_is_waited_out_for_a_token_that_does_not_rotate() {
    let org = emulator(Config {
        rotation: false,
        ..Config::default()
    });
    let file = TokenFile::issued_by(&org);
    let mut token = file.json();
    token["sfauth_rotation"] = "false".into();
    file.write(&token);
    let old = file.field("access_token");
    org.inject(oauth_error(
        "invalid_grant",
        "token request is already being processed",
    ));

    let output = refresh(&org, &file.path).output().unwrap();

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stats = org.stats();
    assert_eq!((stats.token_requests, stats.refreshes_served), (2, 1));
    assert_ne!(file.field("access_token"), old);
}

// ---- hints: the library says what is wrong, the CLI names the flag ----------------------

/// The `hint:` line of a run's stderr.
fn hint_line(output: &Output) -> String {
    stderr(output)
        .lines()
        .find_map(|line| line.strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("no hint: {}", stderr(output)))
        .to_owned()
}

#[test]
fn hints_name_the_flag_that_fixes_the_problem() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let missing = file.dir.path().join("missing.json");
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "a missing token file",
            vec![
                "token".into(),
                "--token-file".into(),
                missing.display().to_string(),
                "--client-id".into(),
                org.config().client_id.clone(),
            ],
            "give the path of a Salesforce token JSON file: pass it with --token-file (or \
             SFAUTH_TOKEN_FILE), or name a stored org with --org",
        ),
        (
            "a site given as a URL",
            vec![
                "refresh".into(),
                "--token-file".into(),
                file.path.display().to_string(),
                "--client-id".into(),
                org.config().client_id.clone(),
                "--site".into(),
                "https://acme.my.site.com/customers".into(),
            ],
            "give the site's path prefix only, for example /customers: pass it with --site",
        ),
    ];
    for (name, args, expected) in cases {
        let output = sfauth().args(&args).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(USAGE),
            "{name}: {}",
            stderr(&output)
        );
        assert_eq!(hint_line(&output), expected, "{name}");
    }
}

#[test]
fn a_rejected_client_secret_hint_names_the_secret_file_flag() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);
    org.inject(Fault::OAuthError {
        status: 400,
        error: "invalid_client".into(),
        description: "invalid client credentials".into(),
    });

    let output = refresh(&org, &file.path).output().unwrap();

    check(&output, CLIENT_REJECTED, &file, &before, &secrets);
    assert_eq!(
        hint_line(&output),
        "check the client secret: Salesforce checks it whenever one is sent, and an app that \
         requires it refuses a request without it: pass --client-secret-file PATH or set \
         SFAUTH_CLIENT_SECRET"
    );
}

// ---- usage errors ------------------------------------------------------------------------

#[test]
fn missing_client_id_is_a_usage_error() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);

    let output = sfauth()
        .arg("refresh")
        .arg("--token-file")
        .arg(&file.path)
        .output()
        .unwrap();

    check(&output, USAGE, &file, &before, &secrets);
    let stderr = stderr(&output);
    assert!(stderr.contains("client id"), "{stderr}");
    assert!(stderr.contains("--client-id"), "{stderr}");
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn http_login_url_to_a_remote_host_is_a_usage_error() {
    let org = default_emulator();
    let (file, before, secrets) = setup(&org);

    let output = refresh(&org, &file.path)
        .args(["--login-url", "http://login.salesforce.com"])
        .output()
        .unwrap();

    check(&output, USAGE, &file, &before, &secrets);
    let stderr = stderr(&output);
    assert!(
        stderr.contains("loopback") && stderr.contains("https://"),
        "{stderr}"
    );
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn missing_token_file_is_a_usage_error_naming_the_path() {
    let org = default_emulator();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.json");

    let output = refresh(&org, &path).output().unwrap();

    assert_eq!(output.status.code(), Some(USAGE), "{}", stderr(&output));
    let stderr = stderr(&output);
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!path.exists(), "a failed run created the token file");
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn corrupt_token_file_is_a_usage_error() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    file.write_raw(b"{\"access_token\": \"00D!AQ.trunc");
    let before = file.bytes();

    let output = refresh(&org, &file.path).output().unwrap();

    check(&output, USAGE, &file, &before, &[]);
    let stderr = stderr(&output);
    assert!(
        stderr.contains(&file.path.display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains("JSON"), "{stderr}");
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn token_file_without_access_token_is_a_usage_error() {
    let org = default_emulator();
    let issued = org.issue_token(USERNAME);
    let file = TokenFile::new(&without(&issued, "access_token"));
    let before = file.bytes();

    let output = refresh(&org, &file.path).output().unwrap();

    check(
        &output,
        USAGE,
        &file,
        &before,
        &[text(&issued, "refresh_token")],
    );
    assert!(
        stderr(&output).contains("access_token"),
        "{}",
        stderr(&output)
    );
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn token_file_without_refresh_token_is_login_required() {
    let org = default_emulator();
    let issued = org.issue_token(USERNAME);
    let file = TokenFile::new(&without(&issued, "refresh_token"));
    let before = file.bytes();

    let output = refresh(&org, &file.path).output().unwrap();

    check(
        &output,
        LOGIN_REQUIRED,
        &file,
        &before,
        &[text(&issued, "access_token")],
    );
    assert!(
        stderr(&output).contains("refresh_token"),
        "{}",
        stderr(&output)
    );
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn token_on_a_stale_token_with_revoked_refresh_token_is_login_required() {
    let org = default_emulator();
    let issued = org.issue_token(USERNAME);
    let file = TokenFile::new(&stale(&issued));
    let before = file.bytes();
    org.revoke_refresh_token(&text(&issued, "refresh_token"));
    let secrets = secrets_of(&org, &issued);

    let output = token(&org, &file.path).output().unwrap();

    check(&output, LOGIN_REQUIRED, &file, &before, &secrets);
}
