//! The `sfauth-emulator` binary: URL on the first stdout line, start-up token file,
//! secret from a file, clean exit on SIGTERM, faults by flag and side door, https.

#![cfg(unix)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use common::REQUEST_TIMEOUT;

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

fn refresh(url: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap()
            .post(format!("{url}/services/oauth2/token"))
            .form(params)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    })
}

#[test]
fn prints_the_url_and_writes_a_private_token_file_that_refreshes() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token.json");
    let (_running, url) = start(&[
        "--issue-token",
        "alice@example.com",
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");

    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let token: Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    assert_eq!(token["instance_url"], url.as_str());

    let (status, body) = refresh(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "sfauth-emulator-client"),
            ("refresh_token", token["refresh_token"].as_str().unwrap()),
        ],
    );
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[test]
fn reads_the_client_secret_from_a_file_without_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "s3cr3t\n").unwrap();
    let token_file = dir.path().join("token.json");
    let (_running, url) = start(&[
        "--client-secret-file",
        secret_file.to_str().unwrap(),
        "--require-secret",
        "--issue-token",
        "alice@example.com",
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    let token: Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    let refresh_token = token["refresh_token"].as_str().unwrap();

    let (status, body) = refresh(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "sfauth-emulator-client"),
            ("client_secret", "s3cr3t"),
            ("refresh_token", refresh_token),
        ],
    );
    assert_eq!(status, StatusCode::OK, "{body}");
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
    let (status, body) = refresh(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "sfauth-emulator-client"),
            ("client_secret", "sfauth-emulator-secret"),
        ],
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = refresh(
        &url,
        &[
            ("grant_type", "password"),
            ("client_id", "sfauth-emulator-client"),
            ("client_secret", "sfauth-emulator-secret"),
            ("username", "ada@example.com"),
            ("password", "pa:ss"),
        ],
    );
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A client for the binary's https URL that trusts only the CA in `ca_file`.
fn https_refresh(url: &str, ca_file: &std::path::Path, refresh_token: &str) -> StatusCode {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca_file).unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .tls_certs_only([ca])
            .build()
            .unwrap()
            .post(format!("{url}/services/oauth2/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "sfauth-emulator-client"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .unwrap()
            .status()
    })
}

fn read_token(path: &std::path::Path) -> String {
    let token: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    token["refresh_token"].as_str().unwrap().to_owned()
}

#[test]
fn fault_flags_are_queued_in_order_one_per_token_request() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token.json");
    let (_running, url) = start(&[
        "--fault",
        "oauth:400:invalid_grant:token request is already being processed",
        "--fault",
        "status:502",
        "--issue-token",
        "alice@example.com",
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    let refresh_token = read_token(&token_file);
    let params = [
        ("grant_type", "refresh_token"),
        ("client_id", "sfauth-emulator-client"),
        ("refresh_token", refresh_token.as_str()),
    ];
    let (status, body) = refresh(&url, &params);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error_description"],
        "token request is already being processed"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let second = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/services/oauth2/token"))
            .form(&params)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(second, StatusCode::BAD_GATEWAY);
    let (status, body) = refresh(&url, &params);
    assert_eq!(status, StatusCode::OK, "{body}");
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
    let token_file = dir.path().join("token.json");
    let (_running, url) = start(&[
        "--issue-token",
        "alice@example.com",
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    let refresh_token = read_token(&token_file);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let injected = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/__emulator/faults"))
            .body("retry-after:503:2")
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(injected, StatusCode::OK);
    let answer = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/services/oauth2/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "sfauth-emulator-client"),
                ("refresh_token", refresh_token.as_str()),
            ])
            .send()
            .await
            .unwrap()
    });
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers()["retry-after"], "2");
}

#[test]
fn tls_serves_https_with_the_ca_written_to_ca_out() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token.json");
    let ca_file = dir.path().join("ca.pem");
    let (_running, url) = start(&[
        "--tls",
        "--ca-out",
        ca_file.to_str().unwrap(),
        "--issue-token",
        "alice@example.com",
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    assert!(url.starts_with("https://127.0.0.1:"), "{url:?}");
    let refresh_token = read_token(&token_file);
    assert_eq!(
        https_refresh(&url, &ca_file, &refresh_token),
        StatusCode::OK
    );
}

#[test]
fn tls_expired_serves_a_leaf_that_clients_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    let (_running, url) = start(&["--tls-expired", "--ca-out", ca_file.to_str().unwrap()]);
    assert!(url.starts_with("https://"), "{url:?}");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&ca_file).unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let error = runtime.block_on(async {
        reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .tls_certs_only([ca])
            .build()
            .unwrap()
            .get(format!("{url}/__emulator/stats"))
            .send()
            .await
            .expect_err("expired leaf")
    });
    assert!(error.is_connect(), "{error:?}");
}
