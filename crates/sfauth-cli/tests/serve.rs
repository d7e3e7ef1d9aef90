//! Serving tokens to scripts: `header`, `exec`, `request`, and the expiry sources.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use common::{TokenFile, default_emulator, sfauth, stale};
use predicates::prelude::*;
use serde_json::Value;
use sfauth_emulator::Emulator;

fn with_file(cmd: &str, org: &Emulator, file: &TokenFile) -> Command {
    let mut c = sfauth();
    c.arg(cmd)
        .arg("--token-file")
        .arg(&file.path)
        .args(["--client-id", &org.config().client_id]);
    c
}

fn stdout_of(cmd: &mut Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

#[test]
fn header_prints_the_authorization_header() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let out = stdout_of(&mut with_file("header", &org, &file));
    assert_eq!(
        out,
        format!("Authorization: Bearer {}\n", file.field("access_token"))
    );
}

#[test]
fn header_on_a_stale_token_refreshes_first() {
    let org = default_emulator();
    let file = TokenFile::new(&stale(&org.issue_token("ada@example.com")));
    let out = stdout_of(&mut with_file("header", &org, &file));
    assert_eq!(
        out,
        format!("Authorization: Bearer {}\n", file.field("access_token"))
    );
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn exec_passes_the_token_and_instance_in_the_environment() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let out = stdout_of(with_file("exec", &org, &file).args([
        "--",
        "sh",
        "-c",
        r#"printf '%s\n%s\n%s\n' "$SF_ACCESS_TOKEN" "$SF_INSTANCE_URL" "${SF_ORG_ALIAS-unset}""#,
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            file.field("access_token").as_str(),
            org.url().as_str(),
            "unset"
        ]
    );
}

#[test]
fn exec_exits_with_the_commands_status() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    with_file("exec", &org, &file)
        .args(["--", "sh", "-c", "exit 42"])
        .assert()
        .code(42);
}

#[test]
fn exec_of_a_missing_command_exits_127() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    with_file("exec", &org, &file)
        .args(["--", "sfauth-no-such-command"])
        .assert()
        .code(127)
        .stderr(predicate::str::contains("was not found"));
}

#[test]
fn exec_reports_a_login_failure_instead_of_running_the_command() {
    let org = default_emulator();
    let token = stale(&org.issue_token("ada@example.com"));
    org.revoke_refresh_token(token["refresh_token"].as_str().unwrap());
    let file = TokenFile::new(&token);
    with_file("exec", &org, &file)
        .args(["--", "sh", "-c", "echo ran"])
        .assert()
        .code(3)
        .stdout(predicate::str::is_empty());
}

#[test]
fn request_get_of_a_relative_path_prints_the_body() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let out = stdout_of(with_file("request", &org, &file).arg("/services/data/v62.0/limits"));
    let body: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["DailyApiRequests"]["Max"], 15000);
}

#[test]
fn request_to_an_absolute_url_works() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let url = format!("{}/services/data/", org.url());
    let out = stdout_of(with_file("request", &org, &file).arg(url));
    assert!(out.contains("62.0"));
}

#[test]
fn request_post_sends_data_from_a_file_as_json() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let body_file = file.dir.path().join("account.json");
    std::fs::write(&body_file, r#"{"Name":"Acme"}"#).unwrap();
    let out = stdout_of(
        with_file("request", &org, &file)
            .arg("--data")
            .arg(format!("@{}", body_file.display()))
            .arg("/services/data/v62.0/sobjects/Account"),
    );
    assert!(out.contains(r#""success":true"#));
    let seen = org.last_rest_request().unwrap();
    assert_eq!(
        (seen.method.as_str(), seen.body.as_slice()),
        ("POST", &br#"{"Name":"Acme"}"#[..])
    );
}

#[test]
fn request_reads_data_from_stdin_and_shows_headers_with_i() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    with_file("request", &org, &file)
        .args([
            "-i",
            "-X",
            "POST",
            "--data",
            "-",
            "/services/data/v62.0/sobjects/Contact",
        ])
        .write_stdin(r#"{"LastName":"Lovelace"}"#)
        .assert()
        .success()
        .stderr(predicate::str::contains("201 Created"))
        .stderr(predicate::str::contains("content-type: application/json"));
    assert_eq!(
        org.last_rest_request().unwrap().body,
        br#"{"LastName":"Lovelace"}"#
    );
}

#[test]
fn request_refreshes_once_on_session_expired_and_retries() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let before = file.field("access_token");
    org.expire_access_tokens();
    stdout_of(with_file("request", &org, &file).arg("/services/data/"));
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 1);
    assert_eq!(stats.rest_requests, 2);
    assert_ne!(
        file.field("access_token"),
        before,
        "the refreshed token was not saved"
    );
}

#[test]
fn request_does_not_refresh_on_a_401_a_refresh_cannot_fix() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    org.inject_rest(
        401,
        r#"[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]"#,
    );
    with_file("request", &org, &file)
        .arg("/services/data/")
        .assert()
        .code(8)
        .stdout(predicate::str::contains(
            "not valid for use with the REST API",
        ))
        .stderr(predicate::str::contains("refreshing will not help"));
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn request_error_status_exits_8_with_the_body_on_stdout() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    with_file("request", &org, &file)
        .arg("/services/data/v62.0/nope")
        .assert()
        .code(8)
        .stdout(predicate::str::contains("NOT_FOUND"))
        .stderr(predicate::str::contains("404"));
}

#[test]
fn request_with_a_malformed_header_is_a_usage_error() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    with_file("request", &org, &file)
        .args(["-H", "no colon here", "/services/data/"])
        .assert()
        .code(2);
    assert_eq!(org.stats().rest_requests, 0);
}

fn token_json(org: &Emulator, file: &TokenFile) -> Value {
    let out = stdout_of(with_file("token", org, file).args(["--format", "json"]));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn expiry_defaults_to_issued_at_plus_the_session_timeout() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let json = token_json(&org, &file);
    assert_eq!(json["expiry_source"], "session_timeout");
    let issued_s = file.field("issued_at").parse::<u64>().unwrap() / 1000;
    assert_eq!(json["expires_at"].as_u64().unwrap(), issued_s + 7200);
}

#[test]
fn expiry_of_a_jwt_access_token_is_its_exp_claim() {
    use base64::Engine;
    let org = default_emulator();
    let mut token = org.issue_token("ada@example.com");
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 900;
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#));
    token["access_token"] = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln").into();
    token["token_format"] = "jwt".into();
    let file = TokenFile::new(&token);
    let json = token_json(&org, &file);
    assert_eq!(json["expiry_source"], "jwt_exp");
    assert_eq!(json["expires_at"].as_u64(), Some(exp));
}

#[test]
fn expiry_from_introspection_is_recorded_at_refresh_for_an_org_set_to_use_it() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, &org.config().client_secret).unwrap();
    let mut login = sfauth();
    login
        .env("SFAUTH_HOME", &home)
        .args([
            "login",
            "token-file",
            "--alias",
            "dev",
            "--introspect",
            "--client-id",
            &org.config().client_id,
        ])
        .arg("--client-secret-file")
        .arg(&secret)
        .arg(&file.path)
        .assert()
        .success();
    sfauth()
        .env("SFAUTH_HOME", &home)
        .args(["refresh", "--org", "dev"])
        .assert()
        .success();
    let out = sfauth()
        .env("SFAUTH_HOME", &home)
        .args(["status", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let status: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(status["expiry_source"], "introspection");
    assert_eq!(org.stats().introspections, 1);
}

#[test]
fn session_timeout_of_the_org_sets_when_tokens_go_stale() {
    let org = default_emulator();
    let token = common::aged(
        &org.issue_token("ada@example.com"),
        Duration::from_secs(20 * 60),
    );
    let file = TokenFile::new(&token);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    sfauth()
        .env("SFAUTH_HOME", &home)
        .args([
            "login",
            "token-file",
            "--alias",
            "dev",
            "--session-timeout",
            "15m",
            "--client-id",
            &org.config().client_id,
        ])
        .arg(&file.path)
        .assert()
        .success();
    // 20 minutes old: fresh by the 2 h default, stale by the org's 15 minutes.
    sfauth()
        .env("SFAUTH_HOME", &home)
        .args(["token", "--org", "dev"])
        .assert()
        .success();
    assert_eq!(org.stats().refreshes_served, 1);
}
