//! Helpers shared by the `sfauth` integration tests: an emulated org, token files in the
//! seeds' format, the binary with a clean environment, and checks on failed runs.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use serde_json::{Map, Value};
use sfauth_emulator::{Config, Emulator};
use tempfile::TempDir;

/// Every run of the binary is killed after this, so a hang fails the test instead of
/// wedging the suite. Generous: the machine is shared and retries back off for seconds.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// The user every test logs in as.
pub const USERNAME: &str = "ada@example.com";

/// Starts the emulator on `127.0.0.1`, on its own runtime.
pub fn emulator(config: Config) -> Emulator {
    Emulator::start(config).expect("the emulator starts on 127.0.0.1")
}

/// Starts the emulator with its defaults (rotation on, no latency).
pub fn default_emulator() -> Emulator {
    emulator(Config::default())
}

/// A token file in a temporary directory. The directory lives as long as this does.
pub struct TokenFile {
    /// Keeps the directory alive.
    pub dir: TempDir,
    /// The token file.
    pub path: PathBuf,
}

impl TokenFile {
    /// Writes `token` pretty-printed, as the seed samples keep it, mode 0644 (what a
    /// sample script leaves behind), so a test can see that sfauth tightens it.
    pub fn new(token: &Value) -> TokenFile {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("_salesforce.json");
        let file = TokenFile { dir, path };
        file.write(token);
        file
    }

    /// A fresh login of [`USERNAME`] at `org`, written as the seeds do.
    pub fn issued_by(org: &Emulator) -> TokenFile {
        TokenFile::new(&org.issue_token(USERNAME))
    }

    /// Replaces the file's content with `token`, pretty-printed, mode 0644.
    pub fn write(&self, token: &Value) {
        let mut text = serde_json::to_string_pretty(token).expect("token serializes");
        text.push('\n');
        self.write_raw(text.as_bytes());
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

/// `token` with `issued_at` moved `age` into the past (the signature no longer matches,
/// which only matters for responses, never for the stored token).
pub fn aged(token: &Value, age: Duration) -> Value {
    let mut token = token.clone();
    let then = SystemTime::now() - age;
    let millis = then
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    token["issued_at"] = Value::String(millis.to_string());
    token
}

/// `token` past the default 2 h session timeout: issued three hours ago.
pub fn stale(token: &Value) -> Value {
    aged(token, Duration::from_secs(3 * 3600))
}

/// `token` with `key` removed.
pub fn without(token: &Value, key: &str) -> Value {
    let mut map: Map<String, Value> = token.as_object().expect("a JSON object").clone();
    map.shift_remove(key);
    Value::Object(map)
}

/// The permission bits of a file.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A port on 127.0.0.1 where nothing listens: bound, then released.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// Writes the emulator's client secret (or any text) to a file beside the token file and
/// returns its path.
pub fn secret_file(file: &TokenFile, secret: &str) -> PathBuf {
    let path = file.dir.path().join("client_secret");
    std::fs::write(&path, format!("{secret}\n")).expect("write secret file");
    path
}

/// Every `SFAUTH_*` variable of the test's own environment: none may leak into a run.
fn inherited_sfauth_vars() -> Vec<std::ffi::OsString> {
    std::env::vars_os()
        .map(|(key, _)| key)
        .filter(|key| key.to_string_lossy().starts_with("SFAUTH_"))
        .collect()
}

/// The `sfauth` binary with no inherited `SFAUTH_*` setting and a time limit.
pub fn sfauth() -> Command {
    let mut cmd = Command::cargo_bin("sfauth").expect("the sfauth binary is built");
    for key in inherited_sfauth_vars() {
        cmd.env_remove(key);
    }
    // A home that does not exist: no user config (no default org) can leak into a test.
    cmd.env(
        "SFAUTH_HOME",
        std::env::temp_dir().join("sfauth-tests-no-home"),
    );
    cmd.timeout(COMMAND_TIMEOUT);
    cmd
}

/// `sfauth refresh --token-file PATH --client-id ID`, the refresh going to the token's
/// `instance_url` (the emulator).
pub fn refresh(org: &Emulator, path: &Path) -> Command {
    let mut cmd = sfauth();
    cmd.arg("refresh")
        .arg("--token-file")
        .arg(path)
        .args(["--client-id", &org.config().client_id]);
    cmd
}

/// `sfauth token --token-file PATH --client-id ID`.
pub fn token(org: &Emulator, path: &Path) -> Command {
    let mut cmd = sfauth();
    cmd.arg("token")
        .arg("--token-file")
        .arg(path)
        .args(["--client-id", &org.config().client_id]);
    cmd
}

/// The binary as a plain `std::process::Command`, for starting many at once: clean
/// `SFAUTH_*` environment, no stdin, stdout and stderr piped.
pub fn std_sfauth(subcommand: &str, org: &Emulator, path: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sfauth"));
    for key in inherited_sfauth_vars() {
        cmd.env_remove(key);
    }
    cmd.arg(subcommand)
        .arg("--token-file")
        .arg(path)
        .args(["--client-id", &org.config().client_id])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// How often [`wait_all`] and friends look at their children.
const POLL: Duration = Duration::from_millis(20);

/// Waits for every child, at most [`COMMAND_TIMEOUT`] in all; kills the rest and panics
/// if they are not done by then. Their output is small, so the pipes never fill up.
pub fn wait_all(mut children: Vec<Child>) -> Vec<Output> {
    let polls = COMMAND_TIMEOUT.as_millis() / POLL.as_millis();
    for _ in 0..polls {
        let mut running = 0;
        for child in &mut children {
            if child.try_wait().expect("try_wait").is_none() {
                running += 1;
            }
        }
        if running == 0 {
            break;
        }
        std::thread::sleep(POLL);
    }
    let mut stuck = 0;
    for child in &mut children {
        if child.try_wait().expect("try_wait").is_none() {
            stuck += 1;
            let _ = child.kill();
        }
    }
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|child| child.wait_with_output().expect("collect output"))
        .collect();
    assert_eq!(stuck, 0, "{stuck} sfauth processes did not finish in time");
    outputs
}

/// Lossy UTF-8 of captured output.
pub fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Checks a failed run the way DESIGN.md promises: this exit code, `error:` and `hint:`
/// on stderr, nothing on stdout, the token file byte for byte as it was, and none of
/// `secrets` on either stream.
pub fn assert_failed_cleanly(
    output: &Output,
    code: i32,
    file: &TokenFile,
    before: &[u8],
    secrets: &[&str],
) {
    let stdout = utf8(&output.stdout);
    let stderr = utf8(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stderr.contains("error:"), "no `error:` line: {stderr}");
    assert!(stderr.contains("hint:"), "no `hint:` line: {stderr}");
    assert!(
        stdout.is_empty(),
        "stdout must stay empty on failure: {stdout}"
    );
    assert!(
        file.bytes() == before,
        "the token file changed although the run failed:\n{}",
        utf8(&file.bytes())
    );
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "a secret leaked into the output: {stderr}"
        );
    }
}

/// The secrets of a token file plus the emulator's client secret: what must never be
/// printed by a failed run.
pub fn secrets_of(org: &Emulator, token: &Value) -> [String; 3] {
    [
        text(token, "access_token"),
        text(token, "refresh_token"),
        org.config().client_secret.clone(),
    ]
}
