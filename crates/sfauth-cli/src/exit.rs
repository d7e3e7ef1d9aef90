//! Exit codes and error reporting, in one place (DESIGN.md "Errors and exit codes").

use std::process::ExitCode;

use sfauth::{Error, ErrorKind};

/// The exit code of `sfauth request` when the API answered with an HTTP error status.
pub const HTTP_ERROR: u8 = 8;

/// The exit code for an error kind.
pub fn code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage => 2,
        ErrorKind::LoginRequired => 3,
        ErrorKind::ClientRejected => 4,
        ErrorKind::DeniedByPolicy => 5,
        ErrorKind::Unavailable => 6,
        ErrorKind::Protocol => 7,
        ErrorKind::Storage => 9,
        // Internal, and any kind a newer library adds.
        _ => 1,
    }
}

/// Prints the `error:` line and, when there is one, the `hint:` line on stderr.
pub fn say(message: &str, hint: Option<&str>) {
    eprintln!("error: {message}");
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
}

/// Prints `error:` and `hint:` on stderr (and, for `--json` callers, a JSON error on stdout)
/// and returns the exit code. Error messages never hold a secret.
pub fn report(error: &anyhow::Error, json: bool) -> ExitCode {
    let (kind, message, hint) = match error.downcast_ref::<Error>() {
        Some(e) => (e.kind(), e.to_string(), e.hint().map(str::to_owned)),
        None => (
            ErrorKind::Internal,
            format!("{error:#}"),
            Some("this is a bug in sfauth; please report it with the command you ran".to_owned()),
        ),
    };
    say(&message, hint.as_deref());
    if json {
        let body = serde_json::json!({
            "error": { "kind": kind.as_str(), "message": message, "hint": hint, "exit_code": code(kind) }
        });
        println!("{body}");
    }
    ExitCode::from(code(kind))
}
