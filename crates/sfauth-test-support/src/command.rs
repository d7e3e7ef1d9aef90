//! The `sfauth` binary under test, run the one way every suite runs it: no inherited
//! `SFAUTH_*` setting, no user config, no browser, and a time limit, so a hang fails the
//! test instead of wedging the suite. Shaped like ripgrep's `TestCommand`.
//!
//! [`TestCommand`] builds a run; [`TestCommand::run`] (or [`ok`](TestCommand::ok),
//! [`exits`](TestCommand::exits)) waits for it and gives a [`Run`]; [`TestCommand::start`]
//! gives a [`Running`] process that a test talks to, signals or kills.
//!
//! ```no_run
//! use sfauth_test_support::prelude::*;
//!
//! let run = sfauth().args(["token", "--org", "prod"]).exits(exit::USAGE);
//! assert_eq!(run.error(), "no org named `prod`");
//! ```

use std::ffi::OsStr;
use std::fmt;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;
use sfauth_emulator::Emulator;
use wait_timeout::ChildExt;

use crate::org::OrgExt;

/// Every run is killed after this. Generous: the machine is shared, and retries back off
/// for seconds.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a finished run's pipes may stay open (held by a process it started).
const PIPE_GRACE: Duration = Duration::from_secs(10);

/// The `sfauth` binary cargo built for this test run.
pub fn sfauth_bin() -> PathBuf {
    // Cargo sets this for integration tests at run time too; older versions only at build
    // time, when the binary is beside the test binary's `deps` directory.
    if let Some(path) = std::env::var_os("CARGO_BIN_EXE_sfauth") {
        return path.into();
    }
    let mut dir = std::env::current_exe().expect("the test binary's path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(format!("sfauth{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "no sfauth binary at {}: run the tests with cargo test",
        path.display()
    );
    path
}

/// `sfauth`, with a clean environment and a home that does not exist.
pub fn sfauth() -> TestCommand {
    TestCommand::new(sfauth_bin())
}

/// `sfauth SUBCOMMAND --token-file PATH --client-id ID`: a command on one token file of
/// `org`, a refresh going to the token's `instance_url` (the emulator).
pub fn on_token_file(subcommand: &str, org: &Emulator, path: &Path) -> TestCommand {
    sfauth()
        .arg(subcommand)
        .arg("--token-file")
        .arg(path)
        .args(["--client-id", org.client_id()])
}

/// `sfauth refresh` on one token file of `org`.
pub fn refresh(org: &Emulator, path: &Path) -> TestCommand {
    on_token_file("refresh", org, path)
}

/// `sfauth token` on one token file of `org`.
pub fn token(org: &Emulator, path: &Path) -> TestCommand {
    on_token_file("token", org, path)
}

/// How a standard stream of a run is connected.
#[derive(Clone, Copy, Debug)]
enum Stream {
    /// Captured by the test.
    Piped,
    /// A pipe whose reading end is already closed: writing to it fails with EPIPE.
    Closed,
}

impl Stream {
    fn stdio(self) -> Stdio {
        match self {
            Stream::Piped => Stdio::piped(),
            Stream::Closed => {
                let (reader, writer) = std::io::pipe().expect("pipe");
                drop(reader);
                Stdio::from(writer)
            }
        }
    }
}

/// A run of a program (normally `sfauth`) being set up. Methods take and give it back, so
/// a run reads as one expression.
#[must_use]
pub struct TestCommand {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    stdout: Stream,
    stderr: Stream,
    timeout: Duration,
}

impl fmt::Debug for TestCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(&self.cmd))
    }
}

/// The program and its arguments, for messages.
fn describe(cmd: &Command) -> String {
    let name = std::path::Path::new(cmd.get_program())
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let args: Vec<_> = cmd.get_args().map(OsStr::to_string_lossy).collect();
    format!("{name} {}", args.join(" "))
}

impl TestCommand {
    /// `program` with no inherited `SFAUTH_*`, `SF_ACCESS_TOKEN` or `XDG_RUNTIME_DIR`, `SFAUTH_HOME` at a
    /// directory that does not exist (no user config, no default org), `BROWSER=true` (no
    /// browser opens), no stdin and [`COMMAND_TIMEOUT`].
    pub fn new(program: impl AsRef<OsStr>) -> TestCommand {
        let mut cmd = Command::new(program);
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            // sfauth's settings, and the Salesforce CLI's (its default org, its keychain).
            if ["SFAUTH_", "SF_", "SFDX_"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                cmd.env_remove(key);
            }
        }
        // A developer's own agent (its socket under XDG_RUNTIME_DIR) must not serve tests.
        // Nor the developer's keychain (its session bus).
        cmd.env_remove("SF_ACCESS_TOKEN")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env(
                "SFAUTH_HOME",
                std::env::temp_dir().join("sfauth-tests-no-home"),
            )
            .env("BROWSER", "true");
        TestCommand {
            cmd,
            stdin: None,
            stdout: Stream::Piped,
            stderr: Stream::Piped,
            timeout: COMMAND_TIMEOUT,
        }
    }

    /// Runs as another user (`uid`, `gid`); only root may.
    pub fn as_user(mut self, uid: u32, gid: u32) -> TestCommand {
        use std::os::unix::process::CommandExt as _;
        // std drops the supplementary groups too when root changes the uid.
        self.cmd.uid(uid).gid(gid);
        self
    }

    /// Runs in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<std::path::Path>) -> TestCommand {
        self.cmd.current_dir(dir);
        self
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> TestCommand {
        self.cmd.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Sets an environment variable for this run only (never the test's own environment:
    /// the tests share one process).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> TestCommand {
        self.cmd.env(key, value);
        self
    }

    /// Sets each of `envs` for this run only.
    pub fn envs<K, V>(mut self, envs: impl IntoIterator<Item = (K, V)>) -> TestCommand
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.cmd.envs(envs);
        self
    }

    /// Removes an environment variable for this run.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> TestCommand {
        self.cmd.env_remove(key);
        self
    }

    /// Feeds `input` on stdin, then closes it.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> TestCommand {
        self.stdin = Some(input.into());
        self
    }

    /// Kills the run after `limit` instead of [`COMMAND_TIMEOUT`].
    pub fn timeout(mut self, limit: Duration) -> TestCommand {
        self.timeout = limit;
        self
    }

    /// Connects stdout to a pipe nobody reads: every write fails with EPIPE.
    pub fn stdout_closed(mut self) -> TestCommand {
        self.stdout = Stream::Closed;
        self
    }

    /// Connects stderr to a pipe nobody reads: every write fails with EPIPE.
    pub fn stderr_closed(mut self) -> TestCommand {
        self.stderr = Stream::Closed;
        self
    }

    /// Runs to the end and returns what came out, whatever the exit code.
    pub fn run(self) -> Run {
        let timeout = self.timeout;
        self.start().finish_by(Instant::now() + timeout)
    }

    /// Runs to the end; panics unless the exit code is 0.
    pub fn ok(self) -> Run {
        let run = self.run();
        run.assert_ok();
        run
    }

    /// Runs to the end; panics unless the exit code is `code`.
    pub fn exits(self, code: i32) -> Run {
        let run = self.run();
        run.assert_code(code);
        run
    }

    /// Runs to the end; panics unless it failed (any exit code but 0).
    pub fn fails(self) -> Run {
        let run = self.run();
        assert!(run.code != Some(0), "expected a failure: {run}");
        run
    }

    /// Starts the run: stdout and stderr are read as they come; stdin stays open for
    /// [`Running::type_line`] unless [`TestCommand::stdin`] gave its content.
    pub fn start(mut self) -> Running {
        let command = describe(&self.cmd);
        self.cmd
            .stdin(Stdio::piped())
            .stdout(self.stdout.stdio())
            .stderr(self.stderr.stdio());
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start `{command}`: {e}"));
        if let Some(input) = self.stdin {
            let mut stdin = child.stdin.take().expect("stdin is piped");
            // In a thread: a large input must not wait for the reader while we wait too.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        let stdout = child.stdout.take().map(read_all);
        let (lines, stderr) = match child.stderr.take() {
            Some(stderr) => {
                let (lines, all) = read_lines(stderr);
                (Some(lines), Some(all))
            }
            None => (None, None),
        };
        Running {
            child,
            command,
            lines,
            seen: Vec::new(),
            stdout,
            stderr,
        }
    }
}

/// Reads `stream` to its end in a thread; the bytes arrive on the returned channel.
fn read_all(mut stream: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (send, all) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        let _ = send.send(bytes);
    });
    all
}

/// Reads `stream` line by line in a thread: each line, lossily decoded, as it comes on
/// the first channel; all the bytes at the end on the second.
fn read_lines(stream: impl Read + Send + 'static) -> (Receiver<String>, Receiver<Vec<u8>>) {
    let (send_line, lines) = std::sync::mpsc::channel();
    let (send_all, all) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stream);
        let mut bytes = Vec::new();
        loop {
            let start = bytes.len();
            match reader.read_until(b'\n', &mut bytes) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&bytes[start..]);
                    let _ = send_line.send(line.trim_end_matches(['\n', '\r']).to_owned());
                }
            }
        }
        let _ = send_all.send(bytes);
    });
    (lines, all)
}

/// A finished run.
#[derive(Clone)]
pub struct Run {
    /// The program and its arguments, for messages.
    pub command: String,
    /// The exit code (`None` if a signal ended it).
    pub code: Option<i32>,
    /// Everything on stdout, lossily decoded.
    pub stdout: String,
    /// Everything on stderr, lossily decoded.
    pub stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` exited with {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Run {
    /// Panics unless the exit code is 0.
    pub fn assert_ok(&self) -> &Run {
        self.assert_code(0)
    }

    /// Panics unless the exit code is `code`.
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "expected exit code {code}: {self}");
        self
    }

    /// What the `error:` line says (without `error: `); panics if there is none.
    pub fn error(&self) -> &str {
        self.line_after("error: ")
            .unwrap_or_else(|| panic!("no `error:` line: {self}"))
    }

    /// What the `hint:` line says (without `hint: `), if there is one.
    pub fn hint(&self) -> Option<&str> {
        self.line_after("hint: ")
    }

    fn line_after(&self, prefix: &str) -> Option<&str> {
        self.stderr
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
    }

    /// Stdout, trimmed: what a script would capture with `$(...)`.
    pub fn printed(&self) -> &str {
        self.stdout.trim()
    }

    /// Stdout as JSON; panics if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self}"))
    }

    /// Panics unless stderr contains `needle`.
    pub fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "no `{needle}` on stderr: {self}"
        );
        self
    }

    /// Panics if stderr contains `needle`.
    pub fn stderr_lacks(&self, needle: &str) -> &Run {
        assert!(
            !self.stderr.contains(needle),
            "`{needle}` is on stderr: {self}"
        );
        self
    }

    /// Panics unless stdout contains `needle`.
    pub fn stdout_has(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle),
            "no `{needle}` on stdout: {self}"
        );
        self
    }

    /// Panics unless stdout is empty.
    pub fn stdout_is_empty(&self) -> &Run {
        assert!(self.stdout.is_empty(), "stdout must be empty: {self}");
        self
    }

    /// Panics if `secret` is on stdout or stderr.
    pub fn never_shows(&self, secret: &str) -> &Run {
        assert!(!secret.is_empty(), "an empty secret proves nothing");
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "a secret leaked into the output: {self}"
        );
        self
    }

    /// Panics if the run panicked (exit code 101 and Rust's panic message).
    pub fn did_not_panic(&self) -> &Run {
        assert!(
            self.code != Some(101) && !self.stderr.contains("panicked"),
            "sfauth panicked: {self}"
        );
        self
    }
}

/// A started run that a test talks to: stdin open, stderr read line by line as it comes.
/// Killed when dropped, so a failed test leaves no process behind.
pub struct Running {
    child: Child,
    command: String,
    lines: Option<Receiver<String>>,
    /// The stderr lines [`Running::line_with`] has seen so far.
    seen: Vec<String>,
    stdout: Option<Receiver<Vec<u8>>>,
    stderr: Option<Receiver<Vec<u8>>>,
}

impl Running {
    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has ended.
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_some()
    }

    /// Waits (at most `limit`) for a stderr line containing `needle` and returns it,
    /// trimmed. Panics with what was seen if none comes, or if stderr closes first.
    pub fn line_with(&mut self, needle: &str, limit: Duration) -> String {
        let lines = self.lines.as_ref().expect("stderr is piped");
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line.clone());
                    if found {
                        return line.trim().to_owned();
                    }
                }
                Err(e) => panic!(
                    "no stderr line with `{needle}` from `{}` ({e:?}); stderr so far:\n{}",
                    self.command,
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The authorize URL `sfauth login web` prints.
    pub fn authorize_url(&mut self) -> String {
        self.line_with("/services/oauth2/authorize", COMMAND_TIMEOUT)
    }

    /// Writes `line` and a newline to stdin, then closes stdin.
    pub fn type_line(&mut self, line: &str) {
        let mut stdin = self
            .child
            .stdin
            .take()
            .expect("stdin is piped and still open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write to the run's stdin");
    }

    /// Sends `signal` with kill(1) (the tests have no unsafe code either).
    pub fn signal(&self, signal: i32) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {} failed", self.id());
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the end, at most [`COMMAND_TIMEOUT`]; kills the process and panics if it
    /// does not end by then.
    pub fn finish(self) -> Run {
        self.finish_by(Instant::now() + COMMAND_TIMEOUT)
    }

    /// Waits for the end until `deadline`; kills the process and panics if it does not end
    /// by then.
    pub fn finish_by(mut self, deadline: Instant) -> Run {
        drop(self.child.stdin.take());
        let left = deadline.saturating_duration_since(Instant::now());
        let status = match self.child.wait_timeout(left).expect("wait for the run") {
            Some(status) => status,
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let mut seen = std::mem::take(&mut self.seen);
                if let Some(lines) = &self.lines {
                    seen.extend(lines.try_iter());
                }
                panic!(
                    "`{}` did not finish in time; stderr so far:\n{}",
                    self.command,
                    seen.join("\n")
                );
            }
        };
        let stdout = collect(self.stdout.take(), &self.command);
        let stderr = collect(self.stderr.take(), &self.command);
        Run {
            command: std::mem::take(&mut self.command),
            code: status.code(),
            stdout,
            stderr,
        }
    }
}

/// What a reader thread collected, once the process is gone: the pipe is at its end then,
/// unless a process it started still holds it.
fn collect(all: Option<Receiver<Vec<u8>>>, command: &str) -> String {
    let Some(all) = all else {
        return String::new();
    };
    match all.recv_timeout(PIPE_GRACE) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(RecvTimeoutError::Timeout) => {
            panic!("`{command}` ended but its output stayed open for {PIPE_GRACE:?}")
        }
        Err(RecvTimeoutError::Disconnected) => String::new(),
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

/// Asserts that every run succeeded, and gives what they printed on stdout, each distinct
/// text once: for many processes that must all print the one token.
pub fn printed_by_all(runs: &[Run]) -> std::collections::BTreeSet<&str> {
    for run in runs {
        run.assert_ok();
    }
    runs.iter().map(|run| run.stdout.as_str()).collect()
}

/// Waits for every run, [`COMMAND_TIMEOUT`] in all; a run still going then is killed (the
/// rest with it, when they are dropped) and the test panics.
pub fn finish_all(runs: Vec<Running>) -> Vec<Run> {
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    runs.into_iter()
        .map(|run| run.finish_by(deadline))
        .collect()
}
