//! The fault matrix: every misbehaviour of the token endpoint, each against `sfauth refresh`
//! and against `sfauth token` on a stale token. For each: the exit code, `error:` and `hint:`
//! lines, no secret in the output, the token file byte for byte, and how many token
//! requests the server saw (a refresh token that may have been spent is never sent again).

use std::time::Duration;

use sfauth_test_support::prelude::*;

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

/// A fault in its `SPEC` form (`Fault`'s text form).
fn spec(spec: &str) -> Fault {
    spec.parse().expect("a fault spec")
}

fn json_answer(body: &str) -> Fault {
    Fault::Status {
        status: 200,
        content_type: "application/json".into(),
        body: body.into(),
    }
}

const GATEWAY_PAGE: &str = "<html><body><h1>504 Gateway Time-out</h1></body></html>";

fn cases() -> Vec<Case> {
    let unavailable = exit::UNAVAILABLE;
    vec![
        Case {
            name: "500 with an HTML page",
            faults: vec![Fault::html(500, "<html>Internal error</html>")],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "502 bad gateway",
            faults: vec![Fault::html(502, "<html>Bad Gateway</html>")],
            code: unavailable,
            requests: 1,
            hint: Some("may"),
        },
        Case {
            name: "504 gateway timeout",
            faults: vec![Fault::html(504, GATEWAY_PAGE)],
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
                .map(|_| Fault::html(503, "<html>Down for maintenance</html>"))
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
            faults: vec![Fault::html(200, "<html>Log in to Salesforce</html>")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: Some("login URL"),
        },
        Case {
            name: "400 with an HTML page",
            faults: vec![Fault::html(400, "<html>Bad Request</html>")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: Some("login URL"),
        },
        Case {
            name: "401 with an HTML page",
            faults: vec![Fault::html(401, "<html>Unauthorized</html>")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: Some("login URL"),
        },
        Case {
            name: "403 with an HTML page",
            faults: vec![Fault::html(403, "<html>Forbidden</html>")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: Some("login URL"),
        },
        Case {
            name: "404 with an HTML page",
            faults: vec![Fault::html(404, "<html>Not Found</html>")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: Some("login URL"),
        },
        Case {
            name: "a 10 MB answer",
            faults: vec![json_answer(&format!(
                "{{\"access_token\": \"{}\"}}",
                "x".repeat(10 << 20)
            ))],
            code: exit::PROTOCOL,
            requests: 1,
            hint: None,
        },
        Case {
            name: "a 200 that is not JSON",
            faults: vec![json_answer("{\"access_token\": ")],
            code: exit::PROTOCOL,
            requests: 1,
            hint: None,
        },
        Case {
            name: "an expired refresh token",
            faults: vec![spec("oauth:400:invalid_grant:expired access/refresh token")],
            code: exit::LOGIN_REQUIRED,
            requests: 1,
            hint: Some("log in again"),
        },
        Case {
            name: "an unknown client id",
            faults: vec![spec(
                "oauth:400:invalid_client_id:client identifier invalid",
            )],
            code: exit::CLIENT_REJECTED,
            requests: 1,
            hint: Some("client id"),
        },
        Case {
            name: "an inactive user",
            faults: vec![spec("oauth:400:inactive_user:user is inactive")],
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
    let outcome = std::panic::catch_unwind(|| {
        let org = org();
        let file = TokenFile::stale_from(&org);
        let before = Snapshot::of(&file, &org);
        let secret = file.secret_file(org.client_secret());
        for fault in &case.faults {
            org.inject(fault.clone());
        }
        let run = on_token_file(subcommand, &org, &file.path)
            .arg("--client-secret-file")
            .arg(&secret)
            .args(["--timeout", TIMEOUT])
            .run();
        check(case, &org, &before, &run);
    });
    outcome.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

fn check(case: &Case, org: &Emulator, before: &Snapshot<'_>, run: &Run) {
    if case.code == 0 {
        run.assert_ok();
        assert!(
            before.file_changed(),
            "a successful run saves the new token"
        );
        before.never_shown_by(run);
    } else {
        before.assert_failed_cleanly(run, case.code);
        if let Some(word) = case.hint {
            let hint = run.hint().unwrap_or_default();
            assert!(
                hint.to_lowercase().contains(&word.to_lowercase()),
                "the hint should mention `{word}`: {run}"
            );
        }
    }
    run.did_not_panic();
    let stats = org.stats();
    assert_eq!(
        stats.token_requests, case.requests,
        "token requests the server saw: {stats:?}\n{run}"
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
