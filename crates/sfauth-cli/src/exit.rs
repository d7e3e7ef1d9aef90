//! Exit codes and error reporting, in one place.

use std::process::ExitCode;

use sfauth::{Error, ErrorKind, Remedy};

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
    for line in lines(message, &[], hint) {
        errln!("{line}");
    }
}

/// The CLI's words for what the library says the caller can supply: the flag or variable
/// that supplies it.
fn remedy_words(remedy: Remedy) -> Option<&'static str> {
    Some(match remedy {
        Remedy::ClientSecret => "pass --client-secret-file PATH or set SFAUTH_CLIENT_SECRET",
        Remedy::SitePrefix => "pass it with --site",
        Remedy::LoginUrl => "pass it with --login-url",
        Remedy::TokenFile => {
            "pass it with --token-file (or SFAUTH_TOKEN_FILE), or name a stored org with --org"
        }
        Remedy::PasteRedirect => "log in with --no-browser and paste the redirected URL",
        Remedy::ImportToken => {
            "run sfauth store import --store URL --store-key KEY FILE (or log in with --store URL)"
        }
        // A remedy a newer library adds: its own hint stands alone.
        _ => return None,
    })
}

/// The library's hint, with the flag that carries it out when the error names a remedy.
fn cli_hint(error: &Error) -> Option<String> {
    let words = error.remedy().and_then(remedy_words);
    match (error.hint(), words) {
        (Some(hint), Some(words)) => Some(format!("{hint}: {words}")),
        (Some(hint), None) => Some(hint.to_owned()),
        (None, words) => words.map(str::to_owned),
    }
}

/// What stderr shows for an error: `error:`, the causes (as cargo shows them), `hint:`.
fn lines(message: &str, causes: &[String], hint: Option<&str>) -> Vec<String> {
    let mut lines = vec![format!("error: {message}")];
    if !causes.is_empty() {
        lines.push(String::new());
        lines.push("Caused by:".to_owned());
        lines.extend(causes.iter().map(|cause| format!("  {cause}")));
    }
    lines.extend(hint.map(|hint| format!("hint: {hint}")));
    lines
}

/// The causes under an error, outermost first (cargo's "Caused by:").
fn causes(error: &Error) -> Vec<String> {
    let mut causes = Vec::new();
    let mut next = std::error::Error::source(error);
    // Bounded: a cause chain is short, and a cycle must not hang the report.
    while let Some(cause) = next
        && causes.len() < 8
    {
        causes.push(cause.to_string());
        next = cause.source();
    }
    causes
}

/// Prints `error:` and `hint:` on stderr (and, for `--json` callers, a JSON error on stdout)
/// and returns the exit code. Error messages never hold a secret. A closed stdout is no
/// error: the reader stopped reading, so sfauth stops quietly.
pub fn report(error: &anyhow::Error, json: bool) -> ExitCode {
    if crate::out::is_closed(error) {
        return ExitCode::SUCCESS;
    }
    let (kind, message, hint, causes) = match error.downcast_ref::<Error>() {
        Some(e) => (e.kind(), e.to_string(), cli_hint(e), causes(e)),
        None => (
            ErrorKind::Internal,
            format!("{error:#}"),
            Some("this is a bug in sfauth; please report it with the command you ran".to_owned()),
            Vec::new(),
        ),
    };
    for line in lines(&message, &causes, hint.as_deref()) {
        errln!("{line}");
    }
    if json {
        let body = serde_json::json!({
            "error": { "kind": kind.as_str(), "message": message, "causes": causes, "hint": hint, "exit_code": code(kind) }
        });
        // Nowhere left to report a closed stdout.
        let _ = crate::out::stdout_line(format_args!("{body}"));
    }
    ExitCode::from(code(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_with_a_cause_shows_it_under_caused_by_before_the_hint() {
        let io = std::io::Error::other("No space left on device");
        let e = Error::new(ErrorKind::Storage, "could not save the token")
            .with_hint("free the disk")
            .with_source(io);

        let shown = lines(&e.to_string(), &causes(&e), cli_hint(&e).as_deref());

        assert_eq!(
            shown,
            [
                "error: could not save the token",
                "",
                "Caused by:",
                "  No space left on device",
                "hint: free the disk",
            ]
        );
    }

    #[test]
    fn a_remedy_is_worded_with_the_flag_that_supplies_it() {
        let e = Error::new(ErrorKind::Usage, "no secret")
            .with_hint("give the connected app's Consumer Secret")
            .with_remedy(Remedy::ClientSecret);
        assert_eq!(
            cli_hint(&e).unwrap(),
            "give the connected app's Consumer Secret: pass --client-secret-file PATH or set \
             SFAUTH_CLIENT_SECRET"
        );
    }

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
