//! The fault matrix: every misbehaviour of the token endpoint, each against `sfauth refresh`
//! and against `sfauth token` on a stale token. For each: the exit code, `error:` and `hint:`
//! lines, no secret in the output, the token file byte for byte, and how many token
//! requests the server saw (a refresh token that may have been spent is never sent again).

mod common;

use std::process::Output;
use std::time::Duration;

use common::*;
use sfauth_emulator::{Config, Emulator, Fault};

/// What one fault must lead to.
struct Case {
    name: &'static str,
    faults: Vec<Fault>,
    /// The exit code; 0 when the run must end in success after the faults.
    code: i32,
    /// Token requests the server saw.
    requests: u64,
    /// A word the `hint:` line must hold, when the fault has a telling hint.
    hint: Option<&'static str>,
}

fn status(status: u16, content_type: &str, body: &str) -> Fault {
    Fault::Status {
        status,
        content_type: content_type.into(),
        body: body.into(),
    }
}

fn oauth(status: u16, error: &str, description: &str) -> Fault {
    Fault::OAuthError {
        status,
        error: error.into(),
        description: description.into(),
    }
}

const GATEWAY_PAGE: &str = "<html><body><h1>504 Gateway Time-out</h1></body></html>";

fn cases() -> Vec<Case> {
    let unavailable = exit::UNAVAILABLE;
    vec![
        Case {
            name: "500 with an HTML page",
            faults: vec![status(500, "text/html", "<html>Internal error</html>")],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "502 bad gateway",
            faults: vec![status(502, "text/html", "<html>Bad Gateway</html>")],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "504 gateway timeout",
            faults: vec![status(504, "text/html", GATEWAY_PAGE)],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "an answer after rotation followed by a 504",
            faults: vec![Fault::ProcessedThen504],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "503 every time",
            faults: (0..4)
                .map(|_| status(503, "text/html", "<html>Down for maintenance</html>"))
                .collect(),
            code: unavailable,
            requests: 4,
            hint: None,
        },
        Case {
            name: "503 with Retry-After, then an answer",
            faults: vec![Fault::RetryAfter {
                status: 503,
                seconds: 1,
            }],
            code: 0,
            requests: 2,
            hint: None,
        },
        Case {
            name: "429 with Retry-After, then an answer",
            faults: vec![Fault::RetryAfter {
                status: 429,
                seconds: 1,
            }],
            code: 0,
            requests: 2,
            hint: None,
        },
        Case {
            name: "an HTML page with 200",
            faults: vec![status(
                200,
                "text/html",
                "<html>Log in to Salesforce</html>",
            )],
            code: exit::PROTOCOL,
            requests: 1,
            hint: Some("login URL"),
        },
        Case {
            name: "400 with an HTML page",
            faults: vec![status(400, "text/html", "<html>Bad Request</html>")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: Some("login URL"),
        },
        Case {
            name: "401 with an HTML page",
            faults: vec![status(401, "text/html", "<html>Unauthorized</html>")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: Some("login URL"),
        },
        Case {
            name: "403 with an HTML page",
            faults: vec![status(403, "text/html", "<html>Forbidden</html>")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: Some("login URL"),
        },
        Case {
            name: "404 with an HTML page",
            faults: vec![status(404, "text/html", "<html>Not Found</html>")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: Some("login URL"),
        },
        Case {
            name: "a 10 MB answer",
            faults: vec![status(
                200,
                "application/json",
                &format!("{{\"access_token\": \"{}\"}}", "x".repeat(10 << 20)),
            )],
            code: exit::PROTOCOL,
            requests: 1,
            hint: None,
        },
        Case {
            name: "a 200 that is not JSON",
            faults: vec![status(200, "application/json", "{\"access_token\": ")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: None,
        },
        Case {
            name: "an expired refresh token",
            faults: vec![oauth(400, "invalid_grant", "expired access/refresh token")],
            code: exit::LOGIN_REQUIRED,
            requests: 1,
            hint: Some("log in again"),
        },
        Case {
            name: "an unknown client id",
            faults: vec![oauth(400, "invalid_client_id", "client identifier invalid")],
            code: exit::CLIENT_REJECTED,
            requests: 1,
            hint: Some("client id"),
        },
        Case {
            name: "an inactive user",
            faults: vec![oauth(400, "inactive_user", "user is inactive")],
            code: exit::DENIED_BY_POLICY,
            requests: 1,
            hint: None,
        },
        Case {
            name: "token request already being processed by another client",
            faults: vec![Fault::already_being_processed()],
            code: unavailable,
            requests: 1,
            hint: Some("another"),
        },
        Case {
            name: "a connection closed after the request",
            faults: vec![Fault::CloseConnection],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "a lost response after the server rotated",
            faults: vec![Fault::LoseResponse],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "a reset before the body",
            faults: vec![Fault::ResetBeforeBody],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "a reset in the middle of the body",
            faults: vec![Fault::ResetMidBody],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "a server that never answers",
            faults: vec![Fault::Hang(Duration::from_secs(20))],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "a server that trickles its answer",
            faults: vec![Fault::Trickle {
                delay_per_byte: Duration::from_millis(50),
            }],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "a delay longer than the timeout",
            faults: vec![Fault::Delay(Duration::from_secs(10))],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "a gzip bomb",
            faults: vec![Fault::GzipBomb {
                inflated_bytes: 1 << 30,
            }],
            code: exit::PROTOCOL,
            requests: 1,
            hint: None,
        },
        Case {
            name: "a wrong signature",
            faults: vec![Fault::BadSignature],
            code: exit::PROTOCOL,
            requests: 1,
            hint: None,
        },
    ]
}

/// The request timeout every run gets: long enough for a normal answer on a busy machine,
/// short enough that hangs, trickles and delays end the run quickly.
const TIMEOUT: &str = "3s";

/// Runs `subcommand` (refresh, or token on a stale file) against a fresh emulator that
/// serves `case`'s faults first, and checks the whole contract.
fn run_case(case: &Case, subcommand: &str) -> Result<(), String> {
    let org = emulator(Config::default());
    let issued = org.issue_token(USERNAME);
    let file = TokenFile::new(&stale(&issued));
    let before = file.bytes();
    let secret = secret_file(&file, &org.config().client_secret);
    for fault in &case.faults {
        org.inject(fault.clone());
    }
    let output = sfauth()
        .arg(subcommand)
        .arg("--token-file")
        .arg(&file.path)
        .args(["--client-id", &org.config().client_id])
        .arg("--client-secret-file")
        .arg(&secret)
        .args(["--timeout", TIMEOUT])
        .output()
        .map_err(|e| e.to_string())?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check(case, &org, &file, &before, &output)
    }));
    outcome.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

fn check(case: &Case, org: &Emulator, file: &TokenFile, before: &[u8], output: &Output) {
    let secrets = secrets_of(org, &serde_json::from_slice(before).unwrap());
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let stderr = utf8(&output.stderr);
    if case.code == 0 {
        assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
        assert_ne!(file.bytes(), before, "a successful run saves the new token");
        for secret in &secrets {
            assert!(!stderr.contains(secret), "a secret on stderr: {stderr}");
        }
    } else {
        assert_failed_cleanly(output, case.code, file, before, &secrets);
        if let Some(word) = case.hint {
            let hint = stderr
                .lines()
                .find(|l| l.starts_with("hint:"))
                .unwrap_or_default();
            assert!(
                hint.to_lowercase().contains(&word.to_lowercase()),
                "the hint should mention `{word}`: {stderr}"
            );
        }
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    let stats = org.stats();
    assert_eq!(
        stats.token_requests, case.requests,
        "token requests the server saw: {stats:?}\nstderr: {stderr}"
    );
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

/// Runs every case against `subcommand` and reports all failures at once, with the
/// figures: cases held / tried.
fn run_matrix(subcommand: &str) {
    let cases = cases();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            run_case(case, subcommand)
                .err()
                .map(|e| format!("- {}: {e}", case.name))
        })
        .collect();
    eprintln!(
        "fault matrix, sfauth {subcommand}: {} of {} cases held",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fault_against_refresh_keeps_the_contract() {
    run_matrix("refresh");
}

#[test]
fn every_fault_against_a_stale_token_keeps_the_contract() {
    run_matrix("token");
}
