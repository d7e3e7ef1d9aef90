//! Exit codes and error reporting, in one place.

use std::process::ExitCode;

use sfauth::{Error, ErrorKind};

use crate::out::errln;

/// The exit code of `sfauth request` when the API answered with an HTTP error status.
pub const HTTP_ERROR: u8 = 8;

/// Every exit code and what it means: the source of `sfauth --help`'s list, and checked
/// against README's table by a test.
pub const CODES: &[(u8, &str)] = &[
    (0, "ok"),
    (1, "internal error (a bug)"),
    (2, "usage"),
    (3, "login required"),
    (4, "client rejected"),
    (5, "denied by org policy"),
    (6, "unavailable"),
    (7, "protocol"),
    (HTTP_ERROR, "HTTP error (`request`)"),
    (9, "storage"),
];

/// `sfauth --help`'s list of exit codes, built from [`CODES`].
pub fn help() -> String {
    let mut text = String::from("Exit codes:\n");
    for (code, meaning) in CODES {
        text.push_str(&format!("  {code}  {meaning}\n"));
    }
    text.push_str(
        "  N  exec: the command's own status (128+N if signal N ended it)\n  \
         128+N  sfauth itself was stopped by signal N (after saving a refresh in flight)",
    );
    text
}

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
    errln!("error: {message}");
    if let Some(hint) = hint {
        errln!("hint: {hint}");
    }
}

/// Prints `error:` and `hint:` on stderr (and, for `--json` callers, a JSON error on stdout)
/// and returns the exit code. Error messages never hold a secret. A closed stdout is no
/// error: the reader stopped reading, so sfauth stops quietly.
pub fn report(error: &anyhow::Error, json: bool) -> ExitCode {
    if crate::out::is_closed(error) {
        return ExitCode::SUCCESS;
    }
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
        // Nowhere left to report a closed stdout.
        let _ = crate::out::stdout_line(format_args!("{body}"));
    }
    ExitCode::from(code(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README's exit-code table lists the same codes as [`CODES`], and each kind maps to
    /// the code the table gives it.
    #[test]
    fn readme_table_and_exit_codes_agree() {
        let readme = include_str!("../../../README.md");
        let table = readme
            .split("### Exit codes")
            .nth(1)
            .expect("README has an exit-code section");
        let documented: Vec<u8> = table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.split('|').nth(1)?.trim().parse().ok())
            .collect();
        let ours: Vec<u8> = CODES.iter().map(|(c, _)| *c).collect();
        assert_eq!(documented, ours);
        for (kind, expected) in [
            (ErrorKind::Internal, 1),
            (ErrorKind::Usage, 2),
            (ErrorKind::LoginRequired, 3),
            (ErrorKind::ClientRejected, 4),
            (ErrorKind::DeniedByPolicy, 5),
            (ErrorKind::Unavailable, 6),
            (ErrorKind::Protocol, 7),
            (ErrorKind::Storage, 9),
        ] {
            assert_eq!(code(kind), expected, "{kind:?}");
            let meaning = CODES.iter().find(|(c, _)| *c == expected).unwrap().1;
            let row = table
                .lines()
                .find(|l| l.split('|').nth(1).map(str::trim) == Some(&expected.to_string()))
                .unwrap();
            let first_word = meaning.split_whitespace().next().unwrap();
            assert!(row.contains(first_word), "{row} vs {meaning}");
        }
    }

    #[test]
    fn help_lists_every_code() {
        let help = help();
        for (code, _) in CODES {
            assert!(help.contains(&format!("  {code}  ")), "{help}");
        }
    }
}
