//! The `sfauth-emulator` binary: URL on the first stdout line, start-up token file,
//! secret from a file, clean exit on SIGTERM, faults by flag and side door, https.
//!
//! These tests are synchronous: the binary is another process, and each request runs on
//! a runtime of its own ([`send`]).

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

use crate::support::{client, refresh_params, trusting};

/// The binary's default consumer key and secret.
const CLIENT_ID: &str = "sfauth-emulator-client";
const CLIENT_SECRET: &str = "sfauth-emulator-secret";

/// Kills the child if a test fails before it stops it, so no emulator outlives the test.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and returns it with the URL from its first stdout line.
fn start(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfauth-emulator"))
        .args(args)
        .env_remove("SFAUTH_EMULATOR_CLIENT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    // Read on a thread so a binary that never prints fails the test instead of hanging it.
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = send.send(line);
    });
    let line = receive
        .recv_timeout(Duration::from_secs(30))
        .expect("the URL is printed");
    (running, line.trim_end().to_owned())
}

/// Starts the binary with `args` and `alice@example.com` logged in at start-up, her token
/// written to `dir/token.json`; returns it, its URL and her token response.
fn start_logged_in(dir: &Path, args: &[&str]) -> (Running, String, Value) {
    let token_file = dir.join("token.json");
    let login = [
        "--issue-token",
        "alice@example.com",
        "--token-file",
        token_file.to_str().unwrap(),
    ];
    let (running, url) = start(&[args, &login].concat());
    let token = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    (running, url, token)
}

/// The refresh token of a token response.
fn refresh_token(token: &Value) -> &str {
    token["refresh_token"].as_str().unwrap()
}

/// What came back: read in full, because the runtime that read it is gone.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("a JSON body")
    }
}

/// Sends `request` on a runtime of its own and reads the whole answer.
fn send(request: RequestBuilder) -> reqwest::Result<Answer> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        Ok(Answer {
            status,
            headers,
            text,
        })
    })
}

/// A POST to the binary's token endpoint with these form parameters.
fn post_token(url: &str, params: &[(&str, &str)]) -> Answer {
    let request = client()
        .post(format!("{url}/services/oauth2/token"))
        .form(params);
    send(request).expect("an HTTP answer")
}

#[test]
fn prints_the_url_and_writes_a_private_token_file_that_refreshes() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, url, token) = start_logged_in(dir.path(), &[]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");

    let mode = std::fs::metadata(dir.path().join("token.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(token["instance_url"], url.as_str());

    let answer = post_token(&url, &refresh_params(CLIENT_ID, refresh_token(&token)));
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[test]
fn reads_the_client_secret_from_a_file_without_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "s3cr3t\n").unwrap();
    let (_running, url, token) = start_logged_in(
        dir.path(),
        &[
            "--client-secret-file",
            secret_file.to_str().unwrap(),
            "--require-secret",
        ],
    );
    let mut params = refresh_params(CLIENT_ID, refresh_token(&token)).to_vec();
    params.push(("client_secret", "s3cr3t"));
    let answer = post_token(&url, &params);
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[test]
fn exits_successfully_on_sigterm() {
    let (mut running, _url) = start(&[]);
    let pid = running.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    for _ in 0..200 {
        if let Some(status) = running.0.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the emulator did not exit within 5 s of SIGTERM");
}

#[test]
fn flags_enable_the_other_login_flows() {
    let cert = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/jwt_test_cert.pem"
    );
    let (_running, url) = start(&[
        "--client-credentials-user",
        "integration@example.com",
        "--password-user",
        "ada@example.com:pa:ss",
        "--jwt-certificate-file",
        cert,
    ]);
    let client = [("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
    let password = [("username", "ada@example.com"), ("password", "pa:ss")];
    for params in [
        [&[("grant_type", "client_credentials")], &client[..]].concat(),
        [&[("grant_type", "password")], &client[..], &password[..]].concat(),
    ] {
        let answer = post_token(&url, &params);
        assert_eq!(answer.status, StatusCode::OK, "{params:?}: {}", answer.text);
    }
}

#[test]
fn fault_flags_are_queued_in_order_one_per_token_request() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, url, token) = start_logged_in(
        dir.path(),
        &[
            "--fault",
            "oauth:400:invalid_grant:token request is already being processed",
            "--fault",
            "status:502",
        ],
    );
    let params = refresh_params(CLIENT_ID, refresh_token(&token));
    let first = post_token(&url, &params);
    assert_eq!(first.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        first.json()["error_description"],
        "token request is already being processed"
    );
    assert_eq!(post_token(&url, &params).status, StatusCode::BAD_GATEWAY);
    let third = post_token(&url, &params);
    assert_eq!(third.status, StatusCode::OK, "{}", third.text);
}

#[test]
fn a_bad_fault_flag_is_a_usage_error_naming_the_spec() {
    let output = Command::new(env!("CARGO_BIN_EXE_sfauth-emulator"))
        .args(["--fault", "explode"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid fault \"explode\""), "{stderr}");
}

#[test]
fn the_side_door_injects_faults_into_a_running_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, url, token) = start_logged_in(dir.path(), &[]);
    let injected = send(
        client()
            .post(format!("{url}/__emulator/faults"))
            .body("retry-after:503:2"),
    )
    .unwrap();
    assert_eq!(injected.status, StatusCode::OK);
    let answer = post_token(&url, &refresh_params(CLIENT_ID, refresh_token(&token)));
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers["retry-after"], "2");
}

#[test]
fn tls_serves_https_with_the_ca_written_to_ca_out() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    let (_running, url, token) = start_logged_in(
        dir.path(),
        &["--tls", "--ca-out", ca_file.to_str().unwrap()],
    );
    assert!(url.starts_with("https://127.0.0.1:"), "{url:?}");
    let request = trusting(&std::fs::read(&ca_file).unwrap())
        .post(format!("{url}/services/oauth2/token"))
        .form(&refresh_params(CLIENT_ID, refresh_token(&token)));
    assert_eq!(send(request).unwrap().status, StatusCode::OK);
}

#[test]
fn tls_expired_serves_a_leaf_that_clients_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    let (_running, url) = start(&["--tls-expired", "--ca-out", ca_file.to_str().unwrap()]);
    assert!(url.starts_with("https://"), "{url:?}");
    let request =
        trusting(&std::fs::read(&ca_file).unwrap()).get(format!("{url}/__emulator/stats"));
    let error = send(request).err().expect("expired leaf");
    assert!(error.is_connect(), "{error:?}");
}
