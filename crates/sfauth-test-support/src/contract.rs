//! The exit codes the README's table documents, and the contract every failed run keeps:
//! that exit code, an `error:` and a `hint:` line on stderr, nothing on stdout, the token
//! file byte for byte as it was, and no secret on either stream.

use serde_json::Value;
use sfauth_emulator::Emulator;

use crate::command::Run;
use crate::token::{TokenFile, text};

/// Exit codes, as the README's table documents them.
pub mod exit {
    /// A bug in sfauth.
    pub const INTERNAL: i32 = 1;
    /// A mistake in the command line, the environment or a file given.
    pub const USAGE: i32 = 2;
    /// The login is gone: log in again.
    pub const LOGIN_REQUIRED: i32 = 3;
    /// The connected app refused the client id or secret.
    pub const CLIENT_REJECTED: i32 = 4;
    /// The org's policy refused (IP range, login hours, inactive user, denied consent).
    pub const DENIED_BY_POLICY: i32 = 5;
    /// Salesforce could not be reached, or did not say whether it refreshed.
    pub const UNAVAILABLE: i32 = 6;
    /// The answer was not what Salesforce sends (an HTML page, a bad signature).
    pub const PROTOCOL: i32 = 7;
    /// `sfauth request`: the API answered with an HTTP error status.
    pub const HTTP_ERROR: i32 = 8;
    /// A token could not be saved.
    pub const STORAGE: i32 = 9;
}

/// The secrets of a token plus the org's client secret: what no run may print.
pub fn secrets_of(org: &Emulator, token: &Value) -> Vec<String> {
    vec![
        text(token, "access_token"),
        text(token, "refresh_token"),
        org.config().client_secret.clone(),
    ]
}

/// A token file as it was before a run, and the secrets no run may print: what
/// [`Snapshot::assert_failed_cleanly`] holds a failed run to.
#[derive(Debug)]
pub struct Snapshot<'a> {
    file: &'a TokenFile,
    bytes: Vec<u8>,
    secrets: Vec<String>,
}

impl<'a> Snapshot<'a> {
    /// The file's bytes now, with its tokens (when it holds any) and `org`'s client secret
    /// as the secrets.
    pub fn of(file: &'a TokenFile, org: &Emulator) -> Snapshot<'a> {
        let bytes = file.bytes();
        let mut secrets = vec![org.config().client_secret.clone()];
        if let Ok(token) = serde_json::from_slice::<Value>(&bytes) {
            for key in ["access_token", "refresh_token"] {
                if let Some(secret) = token[key].as_str() {
                    secrets.push(secret.to_owned());
                }
            }
        }
        Snapshot {
            file,
            bytes,
            secrets,
        }
    }

    /// One more secret that no run may print.
    pub fn and_secret(mut self, secret: &str) -> Snapshot<'a> {
        self.secrets.push(secret.to_owned());
        self
    }

    /// The file's bytes as they were.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the token file differs from what it was.
    pub fn file_changed(&self) -> bool {
        self.file.bytes() != self.bytes
    }

    /// Panics if `run` printed any of the secrets.
    pub fn never_shown_by(&self, run: &Run) {
        for secret in &self.secrets {
            run.never_shows(secret);
        }
    }

    /// Panics if the token file is not byte for byte as it was.
    pub fn assert_unchanged(&self) {
        assert!(
            self.file.bytes() == self.bytes,
            "the token file changed:\n{}",
            String::from_utf8_lossy(&self.file.bytes())
        );
    }

    /// Checks a failed run as the README's exit-code table promises: exit code `code`,
    /// `error:` and `hint:` on stderr, nothing on stdout, the token file byte for byte as
    /// it was, and none of the secrets on either stream.
    pub fn assert_failed_cleanly(&self, run: &Run, code: i32) {
        assert_failed_cleanly(run, code, self);
    }
}

/// [`Snapshot::assert_failed_cleanly`], as a function.
pub fn assert_failed_cleanly(run: &Run, code: i32, before: &Snapshot<'_>) {
    assert_eq!(run.code, Some(code), "exit code: {run}");
    run.error();
    assert!(run.hint().is_some(), "no `hint:` line: {run}");
    run.stdout_is_empty();
    before.assert_unchanged();
    before.never_shown_by(run);
}
