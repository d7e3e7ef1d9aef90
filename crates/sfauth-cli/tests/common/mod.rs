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

/// Checks a failed run as the README's exit-code table promises: this exit code, `error:` and `hint:`
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

// ---- logins: a config home, a scripted browser, and interactive runs -----------------

/// Exit codes, as the README's table documents them.
pub mod exit {
    pub const USAGE: i32 = 2;
    pub const LOGIN_REQUIRED: i32 = 3;
    pub const CLIENT_REJECTED: i32 = 4;
    pub const DENIED_BY_POLICY: i32 = 5;
    pub const UNAVAILABLE: i32 = 6;
    pub const PROTOCOL: i32 = 7;
}

/// The test RSA private key whose public key [`jwt_public_key`] is.
pub const JWT_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../sfauth-emulator/tests/fixtures/jwt_test_key.pem"
);

/// An RSA private key unrelated to [`JWT_KEY`]: its signatures do not verify.
pub const JWT_OTHER_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../sfauth-emulator/tests/fixtures/jwt_test_other_key.pem"
);

/// The public key of [`JWT_KEY`], as PEM, for `Config::jwt_certificate_pem`.
pub fn jwt_public_key() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sfauth-emulator/tests/fixtures/jwt_test_key.pub.pem"
    ))
    .expect("read the public key fixture")
}

/// `sfauth` (clean environment, time limit) with its config in `home`.
pub fn sfauth_in(home: &Path) -> Command {
    let mut cmd = sfauth();
    cmd.env("SFAUTH_HOME", home);
    cmd
}

/// A config home of its own, in a temporary directory, for one test.
pub struct Home {
    /// Keeps the directory alive; also a place for secret files.
    pub dir: TempDir,
    /// `$SFAUTH_HOME`: not created until sfauth writes to it.
    pub path: PathBuf,
}

impl Default for Home {
    fn default() -> Self {
        Home::new()
    }
}

impl Home {
    /// A fresh, empty home.
    pub fn new() -> Home {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sfauth-home");
        Home { dir, path }
    }

    /// `sfauth` using this home.
    pub fn sfauth(&self) -> Command {
        sfauth_in(&self.path)
    }

    /// `sfauth ARGS` using this home, as a plain process with stdin, stdout and stderr
    /// piped, `BROWSER=true` so no browser opens, for runs a test talks to.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sfauth"));
        for key in inherited_sfauth_vars() {
            cmd.env_remove(key);
        }
        cmd.env("SFAUTH_HOME", &self.path)
            .env("BROWSER", "true")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Running::start(cmd)
    }

    /// `config.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.path.join("config.toml")
    }

    /// The bytes of `config.toml`; panics if there is none.
    pub fn config_bytes(&self) -> Vec<u8> {
        std::fs::read(self.config_file()).expect("read config.toml")
    }

    /// The token file sfauth keeps for `alias`.
    pub fn token_file(&self, alias: &str) -> PathBuf {
        self.path.join("tokens").join(format!("{alias}.json"))
    }

    /// The token sfauth keeps for `alias`, as JSON.
    pub fn token(&self, alias: &str) -> Value {
        let bytes = std::fs::read(self.token_file(alias)).expect("read the org's token file");
        serde_json::from_slice(&bytes).expect("the token file is JSON")
    }

    /// `sfauth orgs --json`.
    pub fn orgs(&self) -> Vec<Value> {
        let out = self
            .sfauth()
            .args(["orgs", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let rows: Value = serde_json::from_slice(&out).expect("orgs --json prints JSON");
        rows.as_array().expect("a JSON array").clone()
    }

    /// The aliases `sfauth orgs --json` lists.
    pub fn aliases(&self) -> Vec<String> {
        self.orgs().iter().map(|row| text(row, "alias")).collect()
    }

    /// The row of `sfauth orgs --json` for `alias`; panics if it is not listed.
    pub fn org(&self, alias: &str) -> Value {
        self.orgs()
            .into_iter()
            .find(|row| row["alias"] == alias)
            .unwrap_or_else(|| panic!("org `{alias}` is not listed"))
    }

    /// Writes `content` and a newline to a file in the temporary directory (not in the
    /// home) and returns its path: a client secret, an SFDX auth URL.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("{content}\n")).expect("write file");
        path
    }

    /// A file holding the emulator's client secret.
    pub fn secret_file(&self, org: &Emulator) -> PathBuf {
        self.file("client_secret", &org.config().client_secret)
    }

    /// Nothing stored: no org listed and no token file written.
    pub fn assert_no_org(&self) {
        assert!(
            !self.config_file().exists() || self.orgs().is_empty(),
            "an org was stored: {:?}",
            self.orgs()
        );
        let tokens = self.path.join("tokens");
        // A `.lock` file holds no token: a login takes the lock before its token request.
        let files = std::fs::read_dir(&tokens)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|e| !e.file_name().to_string_lossy().ends_with(".lock"))
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(files, 0, "a token file was written in {}", tokens.display());
    }
}

/// A run of `sfauth` that a test talks to: its stderr is read line by line as it comes,
/// its stdout collected. Killed when dropped, so a failed test leaves no process behind.
pub struct Running {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// The stderr lines received so far.
    pub stderr: Vec<String>,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
}

/// What a [`Running`] run ended with.
pub struct Finished {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Running {
    fn start(mut cmd: std::process::Command) -> Running {
        let mut child = cmd.spawn().expect("start sfauth");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let stdout = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stdout, &mut bytes);
            bytes
        });
        Running {
            child,
            lines,
            stderr: Vec::new(),
            stdout: Some(stdout),
        }
    }

    /// Waits (at most `limit`) for a stderr line containing `needle` and returns it,
    /// trimmed. Panics with what was seen if none comes, or if stderr closes first.
    pub fn line_with(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.stderr.push(line.clone());
                    if found {
                        return line.trim().to_owned();
                    }
                }
                Err(e) => panic!(
                    "no stderr line with `{needle}` ({e:?}); stderr so far:\n{}",
                    self.stderr.join("\n")
                ),
            }
        }
    }

    /// The authorize URL sfauth prints for a web login.
    pub fn authorize_url(&mut self) -> String {
        self.line_with("/services/oauth2/authorize", COMMAND_TIMEOUT)
    }

    /// Writes `line` and a newline to stdin, then closes stdin.
    pub fn type_line(&mut self, line: &str) {
        use std::io::Write;
        let mut stdin = self
            .child
            .stdin
            .take()
            .expect("stdin is piped and still open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write to sfauth's stdin");
    }

    /// Waits for the run to end, at most [`COMMAND_TIMEOUT`]; kills it and panics if it
    /// does not.
    pub fn finish(mut self) -> Finished {
        drop(self.child.stdin.take());
        let deadline = std::time::Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if std::time::Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "sfauth did not finish in {COMMAND_TIMEOUT:?}; stderr:\n{}",
                    self.stderr.join("\n")
                );
            }
            std::thread::sleep(POLL);
        };
        // The process is gone, so both pipes are at their end (or soon: bounded anyway).
        let rest_deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = rest_deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stderr.push(line),
                Err(_) => break,
            }
        }
        let stdout = self
            .stdout
            .take()
            .expect("stdout reader")
            .join()
            .expect("stdout reader thread");
        Finished {
            code: status.code(),
            stdout: utf8(&stdout),
            stderr: self.stderr.join("\n"),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a scripted browser got back from one `GET`.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The body, lossily decoded.
    pub body: String,
}

/// A browser in a dozen lines: `GET url` over HTTP/1.1 with `Connection: close`, read to
/// the end (at most 30 s), no redirect followed. Only for `http://` on this machine.
pub fn http_get(url: &str) -> Reply {
    use std::io::{Read, Write};
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("`{url}` is not a URL: {e}"));
    assert_eq!(parsed.scheme(), "http", "only http:// is supported: {url}");
    let host = parsed.host_str().expect("a host");
    let port = parsed.port_or_known_default().expect("a port");
    let mut path = parsed.path().to_owned();
    if let Some(query) = parsed.query() {
        path.push('?');
        path.push_str(query);
    }
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .expect("resolve")
        .next()
        .expect("an address");
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("set_read_timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .expect("set_write_timeout");
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("read the answer from {url}: {e}"));
    let text = utf8(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {status_line:?}"));
    let location = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    Reply {
        status,
        location,
        body: body.to_owned(),
    }
}

/// The value of query parameter `key` in `url`.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `url` with query parameter `key` set to `value` (the other parameters kept in order).
pub fn with_query_param(url: &str, key: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("a URL");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == key { value.into() } else { v };
            (k.into_owned(), v.into_owned())
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.into()
}

/// Plays the user at the emulator's authorize page: `GET` the authorize URL, expect a 302,
/// and return where it sends the browser.
pub fn authorize(authorize_url: &str) -> String {
    let reply = http_get(authorize_url);
    assert_eq!(
        reply.status, 302,
        "the authorize endpoint answered {reply:?}"
    );
    reply.location.expect("the 302 has a Location")
}
