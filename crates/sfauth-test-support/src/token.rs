//! Token files as the seed samples leave them, and the one way to make a token stale.
//!
//! A token is stale when its `issued_at` is older than the session timeout (Salesforce's
//! default: 2 h). [`aged`] moves `issued_at` into the past; [`stale`] moves it [`STALE_AGE`]
//! back; [`TokenFile::make_stale`] and [`make_stale`] do that to a file in place. Tests do
//! not backdate tokens any other way.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use sfauth_emulator::Emulator;
use tempfile::TempDir;

use crate::org::USERNAME;

/// Salesforce's default session timeout: a token this old is no longer fresh.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(2 * 3600);

/// How far [`stale`] backdates a token: an hour past [`SESSION_TIMEOUT`], so no clock
/// tolerance makes it fresh again.
pub const STALE_AGE: Duration = Duration::from_secs(3 * 3600);

/// `token` with `issued_at` moved `age` into the past (the signature no longer matches,
/// which only matters for responses, never for a stored token).
pub fn aged(token: &Value, age: Duration) -> Value {
    let mut token = token.clone();
    let millis = (SystemTime::now() - age)
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    token["issued_at"] = Value::String(millis.to_string());
    token
}

/// `token` past the default session timeout: issued [`STALE_AGE`] ago.
pub fn stale(token: &Value) -> Value {
    aged(token, STALE_AGE)
}

/// Makes the token file at `path` stale in place, pretty-printed as the seeds keep it.
pub fn make_stale(path: &Path) {
    let token: Value = serde_json::from_slice(&std::fs::read(path).expect("read the token file"))
        .expect("the token file is JSON");
    write_pretty(path, &stale(&token));
}

/// `token` with `key` removed, the other keys in order.
pub fn without(token: &Value, key: &str) -> Value {
    let mut map: Map<String, Value> = token.as_object().expect("a JSON object").clone();
    map.shift_remove(key);
    Value::Object(map)
}

/// A string field of a JSON object; panics with the key's name if it is not a string.
pub fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {value}"))
        .to_owned()
}

/// The keys of a JSON object, in order.
pub fn keys(value: &Value) -> Vec<String> {
    value
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect()
}

/// The permission bits of a file.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Sets the permission bits of a file or directory.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Writes `token` pretty-printed with a final newline, mode 0644 (what a sample script
/// leaves behind), so a test can see that sfauth tightens it.
fn write_pretty(path: &Path, token: &Value) {
    let mut text = serde_json::to_string_pretty(token).expect("token serializes");
    text.push('\n');
    std::fs::write(path, text).expect("write token file");
    set_mode(path, 0o644);
}

/// A token file, `_salesforce.json`, in a temporary directory that lives as long as this.
#[derive(Debug)]
pub struct TokenFile {
    /// Keeps the directory alive; also a place for a secret file or a CA file.
    pub dir: TempDir,
    /// The token file.
    pub path: PathBuf,
}

impl TokenFile {
    /// A file holding `token`, pretty-printed as the seed samples keep it, mode 0644.
    pub fn new(token: &Value) -> TokenFile {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("_salesforce.json");
        let file = TokenFile { dir, path };
        file.write(token);
        file
    }

    /// A fresh login of [`USERNAME`] at `org`.
    pub fn issued_by(org: &Emulator) -> TokenFile {
        TokenFile::new(&org.issue_token(USERNAME))
    }

    /// A login of [`USERNAME`] at `org` that is stale: its refresh token is live, its
    /// access token past the session timeout.
    pub fn stale_from(org: &Emulator) -> TokenFile {
        TokenFile::new(&stale(&org.issue_token(USERNAME)))
    }

    /// Makes the stored token stale, in place.
    pub fn make_stale(&self) {
        make_stale(&self.path);
    }

    /// Replaces the file's content with `token`, pretty-printed, mode 0644.
    pub fn write(&self, token: &Value) {
        write_pretty(&self.path, token);
    }

    /// Replaces the file's content with these bytes, mode 0644.
    pub fn write_raw(&self, bytes: &[u8]) {
        std::fs::write(&self.path, bytes).expect("write token file");
        set_mode(&self.path, 0o644);
    }

    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).expect("read token file")
    }

    /// The file as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes()).expect("the token file is JSON")
    }

    /// A string field of the file.
    pub fn field(&self, key: &str) -> String {
        text(&self.json(), key)
    }

    /// The file's keys, in order.
    pub fn keys(&self) -> Vec<String> {
        keys(&self.json())
    }

    /// Writes `content` and a newline to `name` beside the token file; returns its path.
    pub fn beside(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("{content}\n")).expect("write a file beside the token");
        path
    }

    /// A file beside the token file holding `secret`, for `--client-secret-file`.
    pub fn secret_file(&self, secret: &str) -> PathBuf {
        self.beside("client_secret", secret)
    }
}

/// The unix seconds of an RFC 3339 time in JSON (`"2026-12-03T11:10:16Z"`), as the
/// commands print every time; panics, naming it, if it is not one.
pub fn rfc3339_secs(value: &Value) -> u64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not an RFC 3339 string: {value}"));
    humantime::parse_rfc3339(text)
        .unwrap_or_else(|e| panic!("`{text}` is not RFC 3339: {e}"))
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
}

/// Salesforce's `issued_at` (milliseconds, as text) as the commands print it: RFC 3339.
pub fn issued_at_rfc3339(millis: &str) -> String {
    let millis: u64 = millis.parse().expect("issued_at is milliseconds");
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(millis / 1000);
    humantime::format_rfc3339_seconds(at).to_string()
}
