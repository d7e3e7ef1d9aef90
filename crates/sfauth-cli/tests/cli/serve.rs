//! Serving tokens to scripts: `header`, `exec`, `request`, and the expiry sources.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sfauth_test_support::prelude::*;

fn header(org: &Emulator, file: &TokenFile) -> TestCommand {
    on_token_file("header", org, &file.path)
}

fn exec(org: &Emulator, file: &TokenFile, script: &str) -> TestCommand {
    on_token_file("exec", org, &file.path).args(["--", "sh", "-c", script])
}

fn request(org: &Emulator, file: &TokenFile) -> TestCommand {
    on_token_file("request", org, &file.path)
}

#[test]
fn header_prints_the_authorization_header() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    let run = header(&org, &file).ok();

    assert_eq!(
        run.stdout,
        format!("Authorization: Bearer {}\n", file.field("access_token"))
    );
}

#[test]
fn header_on_a_stale_token_refreshes_first() {
    let org = org();
    let file = TokenFile::stale_from(&org);

    let run = header(&org, &file).ok();

    assert_eq!(
        run.stdout,
        format!("Authorization: Bearer {}\n", file.field("access_token"))
    );
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn exec_passes_the_token_and_instance_in_the_environment() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    let run = exec(
        &org,
        &file,
        r#"printf '%s\n%s\n%s\n' "$SF_ACCESS_TOKEN" "$SF_INSTANCE_URL" "${SF_ORG_ALIAS-unset}""#,
    )
    .ok();

    let lines: Vec<&str> = run.stdout.lines().collect();
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
    let org = org();
    let file = TokenFile::issued_by(&org);

    exec(&org, &file, "exit 42").exits(42);
}

#[test]
fn exec_of_a_missing_command_exits_127() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    on_token_file("exec", &org, &file.path)
        .args(["--", "sfauth-no-such-command"])
        .exits(127)
        .stderr_has("was not found");
}

#[test]
fn exec_reports_a_login_failure_instead_of_running_the_command() {
    let org = org();
    let file = TokenFile::stale_from(&org);
    org.revoke_refresh_token(&file.field("refresh_token"));

    exec(&org, &file, "echo ran")
        .exits(exit::LOGIN_REQUIRED)
        .stdout_is_empty();
}

#[test]
fn request_get_of_a_relative_path_prints_the_body() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    let body = request(&org, &file)
        .arg("/services/data/v62.0/limits")
        .ok()
        .json();

    assert_eq!(body["DailyApiRequests"]["Max"], 15000);
}

#[test]
fn request_to_an_absolute_url_works() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    request(&org, &file)
        .arg(format!("{}/services/data/", org.url()))
        .ok()
        .stdout_has("62.0");
}

#[test]
fn request_post_sends_data_from_a_file_as_json() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let body_file = file.dir.path().join("account.json");
    std::fs::write(&body_file, r#"{"Name":"Acme"}"#).unwrap();

    request(&org, &file)
        .arg("--data")
        .arg(format!("@{}", body_file.display()))
        .arg("/services/data/v62.0/sobjects/Account")
        .ok()
        .stdout_has(r#""success":true"#);

    let seen = org.last_rest_request().unwrap();
    assert_eq!(
        (seen.method.as_str(), seen.body.as_slice()),
        ("POST", &br#"{"Name":"Acme"}"#[..])
    );
}

#[test]
fn request_reads_data_from_stdin_and_shows_headers_with_i() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    request(&org, &file)
        .args(["-i", "-X", "POST", "--data", "-"])
        .arg("/services/data/v62.0/sobjects/Contact")
        .stdin(r#"{"LastName":"Lovelace"}"#)
        .ok()
        .stderr_has("201 Created")
        .stderr_has("content-type: application/json");

    assert_eq!(
        org.last_rest_request().unwrap().body,
        br#"{"LastName":"Lovelace"}"#
    );
}

#[test]
fn request_refreshes_once_on_session_expired_and_retries() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let before = file.field("access_token");
    org.expire_access_tokens();

    request(&org, &file).arg("/services/data/").ok();

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
    let org = org();
    let file = TokenFile::issued_by(&org);
    org.inject_rest(
        401,
        r#"[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]"#,
    );

    request(&org, &file)
        .arg("/services/data/")
        .exits(exit::HTTP_ERROR)
        .stdout_has("not valid for use with the REST API")
        .stderr_has("refreshing will not help");

    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn request_error_status_exits_8_with_the_body_on_stdout() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    request(&org, &file)
        .arg("/services/data/v62.0/nope")
        .exits(exit::HTTP_ERROR)
        .stdout_has("NOT_FOUND")
        .stderr_has("404");
}

#[test]
fn request_with_a_malformed_header_is_a_usage_error() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    request(&org, &file)
        .args(["-H", "no colon here", "/services/data/"])
        .exits(exit::USAGE);

    assert_eq!(org.stats().rest_requests, 0);
}

fn token_json(org: &Emulator, file: &TokenFile) -> Value {
    token(org, &file.path)
        .args(["--format", "json"])
        .ok()
        .json()
}

#[test]
fn expiry_defaults_to_issued_at_plus_the_session_timeout() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    let json = token_json(&org, &file);

    assert_eq!(json["expiry_source"], "session_timeout");
    let issued_s = file.field("issued_at").parse::<u64>().unwrap() / 1000;
    assert_eq!(rfc3339_secs(&json["expires_at"]), issued_s + 7200);
}

#[test]
fn expiry_of_a_jwt_access_token_is_its_exp_claim() {
    use base64::Engine;
    let org = org();
    let mut token = org.issue_token(USERNAME);
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
    assert_eq!(rfc3339_secs(&json["expires_at"]), exp);
}

#[test]
fn expiry_from_introspection_is_recorded_at_refresh_for_an_org_set_to_use_it() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let home = Home::new();
    home.login_token_file("dev", &org, &file.path)
        .arg("--introspect")
        .arg("--client-secret-file")
        .arg(home.secret_file(&org))
        .ok();

    home.sfauth().args(["refresh", "--org", "dev"]).ok();

    let status = home.sfauth().args(["status", "--json"]).ok().json();
    assert_eq!(status["expiry_source"], "introspection");
    assert_eq!(org.stats().introspections, 1);
}

#[test]
fn session_timeout_of_the_org_sets_when_tokens_go_stale() {
    let org = org();
    let file = TokenFile::new(&aged(
        &org.issue_token(USERNAME),
        Duration::from_secs(20 * 60),
    ));
    let home = Home::new();
    home.login_token_file("dev", &org, &file.path)
        .args(["--session-timeout", "15m"])
        .ok();

    // 20 minutes old: fresh by the 2 h default, stale by the org's 15 minutes.
    home.sfauth().args(["token", "--org", "dev"]).ok();

    assert_eq!(org.stats().refreshes_served, 1);
}
