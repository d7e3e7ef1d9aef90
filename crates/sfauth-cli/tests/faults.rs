//! Rotation-safe under faults and hostile input, through the binary: signals during a
//! refresh, closed pipes, tokens sent only to the org's own origins, revoked orgs, logins
//! that go through the store's lock, and settings that bound every wait.

mod common;

use std::io::BufRead;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::exit::{LOGIN_REQUIRED, UNAVAILABLE, USAGE};
use common::*;
use sfauth_emulator::{Config, Emulator};

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Sends `signal` to `pid` with kill(1) (the tests have no unsafe code either).
fn send_signal(pid: u32, signal: i32) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Waits for `child` (at most [`COMMAND_TIMEOUT`]); kills it and panics if it is still
/// running then. Returns its exit code and stderr.
fn finish(child: Child) -> (Option<i32>, String) {
    let output = wait_all(vec![child]).pop().expect("one output");
    (output.status.code(), utf8(&output.stderr))
}

/// Polls `done` every 20 ms for at most 60 s; panics with `what` if it never holds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads `child`'s stderr until a line containing `needle` (at most 60 s), in a thread
/// that keeps draining it afterwards; returns the lines up to that one.
fn stderr_until(child: &mut Child, needle: &'static str) -> Vec<String> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = send.send(line);
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(e) => panic!("no stderr line with `{needle}` ({e:?}): {seen:?}"),
        }
    }
}

/// Holds the advisory lock on `lock_file` with flock(1) in a child until it is killed.
struct Flock(Child);

impl Flock {
    fn hold(lock_file: &Path) -> Flock {
        std::fs::create_dir_all(lock_file.parent().unwrap()).unwrap();
        let mut child = std::process::Command::new("flock")
            .arg(lock_file)
            .args(["sh", "-c", "echo locked; exec sleep 60"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("flock from util-linux is installed");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("flock says it holds the lock");
        assert_eq!(line.trim(), "locked");
        Flock(child)
    }
}

impl Drop for Flock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A pipe whose reading end is already closed: writing to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

/// An SFDX auth URL for a fresh login at `org`.
fn fresh_auth_url(org: &Emulator) -> String {
    let refresh_token = text(&org.issue_token(USERNAME), "refresh_token");
    format!(
        "force://{}:{}:{refresh_token}@{}",
        org.config().client_id,
        org.config().client_secret,
        org.url()
    )
}

/// Stores `alias` by `login sfdx-url` with a fresh login at `org` (one refresh).
fn sfdx_org(home: &Home, org: &Emulator, alias: &str) {
    let file = home.file(&format!("{alias}.url"), &fresh_auth_url(org));
    home.sfauth()
        .args(["login", "sfdx-url", "--alias", alias])
        .arg(file)
        .assert()
        .success();
}

/// Stores `alias` by `login access-token` (no network).
fn access_token_org(home: &Home, org: &Emulator, alias: &str) -> assert_cmd::Command {
    let token = org.issue_token(USERNAME);
    let mut cmd = home.sfauth();
    cmd.args(["login", "access-token", "--alias", alias, "--instance-url"])
        .arg(org.url())
        .env("SF_ACCESS_TOKEN", text(&token, "access_token"));
    cmd
}

// ---- signals ---------------------------------------------------------------------------

#[test]
fn sigterm_during_a_refresh_is_held_until_the_rotated_token_is_saved_then_exits_143() {
    let org = emulator(Config {
        latency: Duration::from_secs(1),
        ..Config::default()
    });
    let issued = org.issue_token(USERNAME);
    let file = TokenFile::new(&issued);
    let child = std_sfauth("refresh", &org, &file.path)
        .spawn()
        .expect("start sfauth refresh");
    // The request is at the server, which holds it for a second: the refresh is in flight.
    wait_until("the refresh to reach the server", || {
        org.stats().token_requests >= 1
    });
    send_signal(child.id(), SIGTERM);
    let (code, stderr) = finish(child);

    assert_eq!(code, Some(128 + SIGTERM), "{stderr}");
    assert_ne!(
        file.field("refresh_token"),
        text(&issued, "refresh_token"),
        "the rotated refresh token was not saved"
    );
    refresh(&org, &file.path).assert().success();
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 2, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

#[test]
fn sigterm_during_an_sfdx_url_login_is_held_until_the_org_is_stored() {
    let home = Home::new();
    let org = emulator(Config {
        latency: Duration::from_secs(1),
        ..Config::default()
    });
    let refresh_token = text(&org.issue_token(USERNAME), "refresh_token");
    let url = format!(
        "force://{}:{}:{refresh_token}@{}",
        org.config().client_id,
        org.config().client_secret,
        org.url()
    );
    let file = home.file("prod.url", &url);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_sfauth"))
        .env("SFAUTH_HOME", &home.path)
        .args(["login", "sfdx-url", "--alias", "prod"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sfauth login");
    wait_until("the refresh to reach the server", || {
        org.stats().token_requests >= 1
    });
    send_signal(child.id(), SIGTERM);
    let (code, stderr) = finish(child);

    assert_eq!(code, Some(128 + SIGTERM), "{stderr}");
    let stored = home.token("prod");
    assert_ne!(text(&stored, "refresh_token"), refresh_token);
    home.sfauth()
        .args(["refresh", "--org", "prod"])
        .assert()
        .success();
    assert_eq!(org.stats().reuse_detected, 0);
}

#[test]
fn sigint_with_no_refresh_in_flight_exits_130_without_sending_one() {
    let org = default_emulator();
    let file = TokenFile::new(&stale(&org.issue_token(USERNAME)));
    let _held = Flock::hold(&file.path.with_file_name("_salesforce.json.lock"));
    let mut child = std_sfauth("token", &org, &file.path)
        .env("SFAUTH_LOG", "sfauth=debug")
        .spawn()
        .expect("start sfauth token");
    // Waiting for the lock, nothing sent.
    stderr_until(&mut child, "signal handlers installed");
    send_signal(child.id(), SIGINT);
    let (code, stderr) = finish(child);

    assert_eq!(code, Some(128 + SIGINT), "{stderr}");
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn sigterm_during_exec_is_passed_on_and_the_command_status_is_kept() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let script = "trap 'exit 7' TERM; echo ready >&2; i=0; \
                  while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 1";
    let mut child = std_sfauth("exec", &org, &file.path)
        .args(["--", "sh", "-c", script])
        .spawn()
        .expect("start sfauth exec");
    stderr_until(&mut child, "ready");
    send_signal(child.id(), SIGTERM);
    let (code, stderr) = finish(child);

    assert_eq!(code, Some(7), "{stderr}");
}

// ---- closed pipes ------------------------------------------------------------------------

#[test]
fn refresh_into_a_closed_stdout_saves_the_token_and_does_not_panic() {
    let org = default_emulator();
    let issued = org.issue_token(USERNAME);
    let file = TokenFile::new(&issued);
    let child = std_sfauth("refresh", &org, &file.path)
        .arg("--json")
        .stdout(closed_pipe())
        .spawn()
        .expect("start sfauth refresh");
    let (code, stderr) = finish(child);

    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(code, Some(101), "{stderr}");
    assert_ne!(file.field("refresh_token"), text(&issued, "refresh_token"));
}

#[test]
fn refresh_with_a_closed_stderr_saves_the_token_and_exits_0() {
    let org = default_emulator();
    let issued = org.issue_token(USERNAME);
    let file = TokenFile::new(&issued);
    let child = std_sfauth("refresh", &org, &file.path)
        .stderr(closed_pipe())
        .spawn()
        .expect("start sfauth refresh");
    let output = wait_all(vec![child]).pop().unwrap();

    assert_eq!(output.status.code(), Some(0));
    assert_ne!(file.field("refresh_token"), text(&issued, "refresh_token"));
}

#[test]
fn orgs_into_a_closed_stdout_ends_quietly() {
    let home = Home::new();
    let org = default_emulator();
    access_token_org(&home, &org, "prod").assert().success();
    for args in [
        &["orgs"][..],
        &["orgs", "--json"],
        &["status", "--org", "prod"],
    ] {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_sfauth"))
            .env("SFAUTH_HOME", &home.path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sfauth");
        let (code, stderr) = finish(child);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn token_into_a_closed_stdout_ends_quietly() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let child = std_sfauth("token", &org, &file.path)
        .stdout(closed_pipe())
        .spawn()
        .expect("start sfauth token");
    let (code, stderr) = finish(child);

    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(0), "{stderr}");
}

// ---- request: the org's own origins ------------------------------------------------------

/// `sfauth request TARGET` with the token file of `org`.
fn request(org: &Emulator, file: &TokenFile, target: &str) -> assert_cmd::Command {
    let mut cmd = sfauth();
    cmd.arg("request")
        .arg("--token-file")
        .arg(&file.path)
        .args(["--client-id", &org.config().client_id, "--timeout", "5s"])
        .arg(target);
    cmd
}

/// Whether anything connected to `listener` (which never answers).
fn was_contacted(listener: &TcpListener) -> bool {
    listener.set_nonblocking(true).unwrap();
    listener.accept().is_ok()
}

#[test]
fn request_to_another_origin_is_a_usage_error_naming_the_host_and_sends_nothing() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", other.local_addr().unwrap().port());

    let output = request(&org, &file, &format!("http://{host}/services/data/"))
        .assert()
        .code(USAGE)
        .get_output()
        .clone();

    let stderr = utf8(&output.stderr);
    assert!(stderr.contains(&host), "{stderr}");
    assert!(stderr.contains("--allow-host"), "{stderr}");
    assert!(!was_contacted(&other), "the token was sent to {host}");
    assert!(!stderr.contains(&text(&file.json(), "access_token")));
}

#[test]
fn request_to_an_allowed_host_sends_the_token_there() {
    let org = default_emulator();
    let other = default_emulator();
    let file = TokenFile::issued_by(&org);
    let host = other.url().trim_start_matches("http://").to_owned();

    request(&org, &file, &format!("{}/services/data/", other.url()))
        .env("SFAUTH_ALLOW_HOST", format!("example.com,{host}"))
        .assert()
        .code(predicates::ord::ne(USAGE));
    // The other emulator does not know the token: a 401, one refresh, one retry.
    assert!(other.stats().rest_requests >= 1);
}

#[test]
fn request_to_the_api_instance_url_needs_no_allow_host() {
    let org = default_emulator();
    let api = default_emulator();
    let mut token = org.issue_token(USERNAME);
    token["api_instance_url"] = api.url().into();
    let file = TokenFile::new(&token);

    request(&org, &file, &format!("{}/services/data/", api.url()))
        .assert()
        .code(predicates::ord::ne(USAGE));
    assert!(api.stats().rest_requests >= 1);
}

#[test]
fn request_reports_a_redirect_to_another_origin_without_following_it() {
    let org = default_emulator();
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    let location = format!(
        "http://127.0.0.1:{}/stolen",
        elsewhere.local_addr().unwrap().port()
    );
    // The org's instance: one answer, a 302 to another origin.
    let instance = TcpListener::bind("127.0.0.1:0").unwrap();
    let instance_url = format!("http://127.0.0.1:{}", instance.local_addr().unwrap().port());
    let answer = format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = instance.accept().expect("the request arrives");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
            match stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
        stream.write_all(answer.as_bytes()).unwrap();
    });
    let mut token = org.issue_token(USERNAME);
    token["instance_url"] = instance_url.into();
    let file = TokenFile::new(&token);

    let output = request(&org, &file, "/services/data/")
        .assert()
        .success()
        .get_output()
        .clone();
    server.join().unwrap();

    let stderr = utf8(&output.stderr);
    assert!(stderr.contains("302"), "{stderr}");
    assert!(stderr.contains(&location), "{stderr}");
    assert!(!was_contacted(&elsewhere), "the redirect was followed");
}

// ---- revoked orgs ------------------------------------------------------------------------

#[test]
fn revoked_org_is_not_served_and_status_says_revoked_until_a_new_login() {
    let home = Home::new();
    let org = default_emulator();
    sfdx_org(&home, &org, "prod");
    home.sfauth()
        .args(["revoke", "--org", "prod"])
        .assert()
        .success();

    for command in ["token", "header"] {
        let output = home
            .sfauth()
            .args([command, "--org", "prod"])
            .assert()
            .code(LOGIN_REQUIRED)
            .get_output()
            .clone();
        assert!(output.stdout.is_empty());
        let stderr = utf8(&output.stderr);
        assert!(
            stderr.contains("revoked") && stderr.contains("log in again"),
            "{stderr}"
        );
    }
    home.sfauth()
        .args(["exec", "--org", "prod", "--", "true"])
        .assert()
        .code(LOGIN_REQUIRED);
    let status = home.org("prod");
    assert_eq!(status["revoked"], true, "{status}");
    assert_eq!(status["fresh"], false, "{status}");

    sfdx_org(&home, &org, "prod");
    home.sfauth()
        .args(["token", "--org", "prod"])
        .assert()
        .success();
    assert_eq!(home.org("prod")["revoked"], false);
}

// ---- logins ------------------------------------------------------------------------------

#[test]
fn login_waits_for_the_token_files_lock_and_gives_up_after_timeout_changing_nothing() {
    let home = Home::new();
    let org = default_emulator();
    access_token_org(&home, &org, "prod").assert().success();
    let before = std::fs::read(home.token_file("prod")).unwrap();
    let lock = home.path.join("tokens/prod.json.lock");
    let _held = Flock::hold(&lock);

    access_token_org(&home, &org, "prod")
        .args(["--timeout", "2s"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(UNAVAILABLE);
    assert!(std::fs::read(home.token_file("prod")).unwrap() == before);
}

#[test]
fn login_whose_config_cannot_be_written_puts_the_previous_token_back() {
    let home = Home::new();
    let org = default_emulator();
    access_token_org(&home, &org, "prod").assert().success();
    let before = std::fs::read(home.token_file("prod")).unwrap();
    std::fs::rename(home.config_file(), home.path.join("config.toml.saved")).unwrap();
    std::fs::create_dir(home.config_file()).unwrap();

    access_token_org(&home, &org, "prod").assert().failure();
    assert!(
        std::fs::read(home.token_file("prod")).unwrap() == before,
        "the previous token was not put back"
    );
}

#[test]
fn first_login_whose_config_cannot_be_written_leaves_no_token_file() {
    let home = Home::new();
    let org = default_emulator();
    std::fs::create_dir_all(home.config_file()).unwrap();

    access_token_org(&home, &org, "prod").assert().failure();
    assert!(!home.token_file("prod").exists());
}

#[test]
fn logging_in_again_revokes_the_refresh_token_it_replaced() {
    let home = Home::new();
    let org = default_emulator();
    sfdx_org(&home, &org, "prod");
    let first = home.token("prod");
    let revocations = org.stats().revocations;

    let refresh_token = text(&org.issue_token(USERNAME), "refresh_token");
    let url = format!(
        "force://{}:{}:{refresh_token}@{}",
        org.config().client_id,
        org.config().client_secret,
        org.url()
    );
    let file = home.file("second.url", &url);
    let output = home
        .sfauth()
        .args(["login", "sfdx-url", "--alias", "prod"])
        .arg(file)
        .assert()
        .success()
        .get_output()
        .clone();

    let stderr = utf8(&output.stderr);
    assert!(
        stderr.contains("revoked the refresh token this login replaced"),
        "{stderr}"
    );
    assert_eq!(org.stats().revocations, revocations + 1);
    let old = TokenFile::new(&stale(&first));
    refresh(&org, &old.path).assert().code(LOGIN_REQUIRED);
    home.sfauth()
        .args(["token", "--org", "prod"])
        .assert()
        .success();
}

#[test]
fn login_honours_the_ca_file_from_the_environment() {
    let home = Home::new();
    let org = default_emulator();
    let refresh_token = text(&org.issue_token(USERNAME), "refresh_token");
    let url = format!(
        "force://{}:{}:{refresh_token}@{}",
        org.config().client_id,
        org.config().client_secret,
        org.url()
    );
    let file = home.file("prod.url", &url);
    let missing = home.dir.path().join("no-such-ca.pem");

    let output = home
        .sfauth()
        .args(["login", "sfdx-url", "--alias", "prod"])
        .arg(file)
        .env("SFAUTH_CA_FILE", &missing)
        .assert()
        .failure()
        .get_output()
        .clone();
    assert!(
        utf8(&output.stderr).contains("no-such-ca.pem"),
        "{}",
        utf8(&output.stderr)
    );
    assert_eq!(org.stats().token_requests, 0);
    home.assert_no_org();
}

#[test]
fn revoke_honours_the_timeout_from_the_environment() {
    let home = Home::new();
    let org = default_emulator();
    sfdx_org(&home, &org, "prod");
    let before = std::fs::read(home.token_file("prod")).unwrap();
    // The org's login host now takes connections and never answers.
    let addr = org.addr();
    org.shutdown();
    let mut silent = None;
    wait_until("the emulator's port to be free", || {
        silent = TcpListener::bind(addr).ok();
        silent.is_some()
    });

    home.sfauth()
        .args(["revoke", "--org", "prod"])
        .env("SFAUTH_TIMEOUT", "1s")
        .timeout(Duration::from_secs(20))
        .assert()
        .code(UNAVAILABLE);
    assert!(std::fs::read(home.token_file("prod")).unwrap() == before);
    drop(silent);
}

/// An org where every login kind that asks for a token can succeed: JWT bearer, client
/// credentials, username and password, the device flow (approved at once) and, as ever,
/// the refresh of an SFDX auth URL.
fn org_for_every_login() -> Emulator {
    emulator(Config {
        jwt_certificate_pem: Some(jwt_public_key()),
        client_credentials_user: Some("integration@example.com".to_owned()),
        password_flow: true,
        users: vec![(USERNAME.to_owned(), "hunter2-pw".to_owned())],
        device_approve_after_polls: 0,
        ..Config::default()
    })
}

/// `sfauth login KIND --alias prod` at `org`, one command for each login kind that asks
/// Salesforce for a token without a browser, with what it needs to succeed.
fn every_login(home: &Home, org: &Emulator) -> Vec<(&'static str, assert_cmd::Command)> {
    let app = |kind: &str| {
        let mut cmd = home.sfauth();
        cmd.args(["login", kind, "--alias", "prod", "--login-url", &org.url()])
            .args(["--client-id", &org.config().client_id]);
        cmd
    };
    let mut jwt = app("jwt");
    jwt.args(["--username", USERNAME, "--key-file", JWT_KEY]);
    let mut client_credentials = app("client-credentials");
    client_credentials
        .arg("--client-secret-file")
        .arg(home.secret_file(org));
    let mut password = app("password");
    password
        .args(["--username", USERNAME])
        .arg("--client-secret-file")
        .arg(home.secret_file(org))
        .env("SFAUTH_PASSWORD", "hunter2-pw");
    let mut device = app("device");
    device.args(["--wait", "60s"]);
    let mut sfdx_url = home.sfauth();
    sfdx_url
        .args(["login", "sfdx-url", "--alias", "prod"])
        .arg(home.file("prod.url", &fresh_auth_url(org)));
    vec![
        ("jwt", jwt),
        ("client-credentials", client_credentials),
        ("password", password),
        ("device", device),
        ("sfdx-url", sfdx_url),
    ]
}

/// No token was granted: no grant of any kind served, no device poll, no refresh.
fn assert_no_token_granted(org: &Emulator, what: &str) {
    let s = org.stats();
    assert_eq!(
        (
            s.jwt_grants,
            s.client_credentials_grants,
            s.password_grants,
            s.device_polls,
            s.refreshes_served,
            s.codes_exchanged,
        ),
        (0, 0, 0, 0, 0, 0),
        "{what}: {s:?}"
    );
}

#[test]
fn every_login_kind_takes_the_token_files_lock_before_it_asks_for_a_token() {
    let home = Home::new();
    let org = org_for_every_login();
    let _held = Flock::hold(&home.path.join("tokens/prod.json.lock"));

    for (kind, mut login) in every_login(&home, &org) {
        login
            .args(["--timeout", "2s"])
            .timeout(Duration::from_secs(60))
            .assert()
            .code(UNAVAILABLE);
        assert_no_token_granted(&org, kind);
    }
    home.assert_no_org();
}

#[test]
fn every_login_kind_succeeds_once_the_lock_is_free() {
    let home = Home::new();
    let org = org_for_every_login();
    for (kind, mut login) in every_login(&home, &org) {
        let output = login.assert().get_output().clone();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{kind}: {}",
            utf8(&output.stderr)
        );
        assert_eq!(home.org("prod")["flow"], kind);
    }
}

#[test]
fn a_web_login_takes_the_lock_after_the_browser_and_before_the_code_exchange() {
    let home = Home::new();
    let org = default_emulator();
    let _held = Flock::hold(&home.path.join("tokens/prod.json.lock"));
    let mut run = home.spawn(&[
        "login",
        "web",
        "--no-browser",
        "--alias",
        "prod",
        "--client-id",
        &org.config().client_id,
        "--login-url",
        &org.url(),
        "--timeout",
        "2s",
    ]);
    let redirected = authorize(&run.authorize_url());
    run.type_line(&redirected);
    let done = run.finish();

    assert_eq!(done.code, Some(UNAVAILABLE), "{}", done.stderr);
    assert_eq!(org.stats().authorizations, 1);
    assert_no_token_granted(&org, "web");
    home.assert_no_org();
}

#[test]
fn every_command_that_talks_to_salesforce_honours_the_ca_file_flag() {
    let home = Home::new();
    let org = org_for_every_login();
    sfdx_org(&home, &org, "stored");
    let before = org.stats();
    let stored = std::fs::read(home.token_file("stored")).unwrap();
    let missing = home.dir.path().join("no-such-ca.pem");
    let mut commands = every_login(&home, &org);
    for args in [
        &["revoke", "--org", "stored"][..],
        &["revoke", "--org", "stored", "--access-token-only"],
        &["logout", "--org", "stored"],
    ] {
        let mut cmd = home.sfauth();
        cmd.args(args);
        commands.push((args[0], cmd));
    }

    for (what, mut cmd) in commands {
        let output = cmd
            .arg("--ca-file")
            .arg(&missing)
            .assert()
            .failure()
            .get_output()
            .clone();
        let stderr = utf8(&output.stderr);
        assert!(stderr.contains("no-such-ca.pem"), "{what}: {stderr}");
    }
    let after = org.stats();
    assert_eq!(after.token_requests, before.token_requests, "{after:?}");
    assert_eq!(after.revocations, before.revocations, "{after:?}");
    assert_eq!(home.aliases(), ["stored"]);
    assert!(std::fs::read(home.token_file("stored")).unwrap() == stored);
}

// ---- export, token files, durations ------------------------------------------------------

#[test]
fn export_warns_that_the_url_is_single_use_under_rotation_and_recommends_jwt() {
    let home = Home::new();
    let org = default_emulator();
    sfdx_org(&home, &org, "ci");
    let output = home
        .sfauth()
        .args(["export", "--org", "ci", "--format", "sfdx-url"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = utf8(&output.stderr);
    assert!(
        stderr.contains("single-use") && stderr.contains("JWT bearer"),
        "{stderr}"
    );
    assert!(utf8(&output.stdout).starts_with("force://"));
}

#[test]
fn export_of_an_org_known_not_to_rotate_gives_no_warning() {
    let home = Home::new();
    let org = default_emulator();
    sfdx_org(&home, &org, "ci");
    let mut token = home.token("ci");
    token["sfauth_rotation"] = false.into();
    std::fs::write(home.token_file("ci"), token.to_string()).unwrap();
    let output = home
        .sfauth()
        .args(["export", "--org", "ci", "--format", "sfdx-url"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        !utf8(&output.stderr).contains("warning"),
        "{}",
        utf8(&output.stderr)
    );
}

#[test]
fn token_file_in_a_world_writable_directory_without_sticky_bit_gets_one_warning() {
    use std::os::unix::fs::PermissionsExt;
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let dir = file.dir.path();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let output = token(&org, &file.path)
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = utf8(&output.stderr);
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert!(stderr.contains("anyone on this machine"), "{stderr}");

    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let output = token(&org, &file.path)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(utf8(&output.stderr).is_empty(), "{}", utf8(&output.stderr));
}

#[test]
fn adopting_a_token_file_in_a_world_writable_directory_warns_at_login() {
    use std::os::unix::fs::PermissionsExt;
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    std::fs::set_permissions(file.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let home = Home::new();

    let output = home
        .sfauth()
        .args(["login", "token-file", "--alias", "qa", "--client-id"])
        .arg(&org.config().client_id)
        .arg(&file.path)
        .output()
        .unwrap();

    let stderr = utf8(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("anyone on this machine"), "{stderr}");
}

#[test]
fn a_stuck_lock_is_waited_for_at_most_the_timeout_and_nothing_is_sent() {
    let org = default_emulator();
    let file = TokenFile::new(&stale(&org.issue_token(USERNAME)));
    let before = file.bytes();
    let _held = Flock::hold(&file.path.with_file_name("_salesforce.json.lock"));

    token(&org, &file.path)
        .args(["--timeout", "2s"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(UNAVAILABLE);
    assert_eq!(org.stats().token_requests, 0);
    assert!(file.bytes() == before);
}

#[test]
fn durations_that_overflow_are_usage_errors() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    for (flag, value) in [
        ("--max-age", "307445734561825860m"),
        ("--timeout", "99999999999999999999s"),
    ] {
        let output = token(&org, &file.path)
            .args([flag, value])
            .assert()
            .code(USAGE)
            .get_output()
            .clone();
        let stderr = utf8(&output.stderr);
        assert!(
            stderr.contains("too long") && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}

#[test]
fn request_to_the_site_host_is_allowed_only_when_a_site_is_configured() {
    let org = default_emulator();
    let site = default_emulator();
    let file = TokenFile::issued_by(&org);
    let target = format!("{}/services/data/", site.url());

    request(&org, &file, &target)
        .args(["--login-url", &site.url()])
        .assert()
        .code(USAGE);
    assert_eq!(site.stats().rest_requests, 0);

    request(&org, &file, &target)
        .args(["--login-url", &site.url(), "--site", "/customers"])
        .assert()
        .code(predicates::ord::ne(USAGE));
    assert!(site.stats().rest_requests >= 1);
}

#[test]
fn a_lock_wait_on_a_terminal_says_what_it_waits_for() {
    let org = default_emulator();
    let file = TokenFile::new(&stale(&org.issue_token(USERNAME)));
    let _held = Flock::hold(&file.path.with_file_name("_salesforce.json.lock"));
    let command = format!(
        "{} token --token-file {} --client-id {} --timeout 3s",
        env!("CARGO_BIN_EXE_sfauth"),
        file.path.display(),
        org.config().client_id
    );
    // script(1) gives the run a terminal for its stdout and stderr.
    let mut script = std::process::Command::new("script");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SFAUTH_") {
            script.env_remove(key);
        }
    }
    let output = script
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script from util-linux is installed");

    let shown = utf8(&output.stdout);
    assert_eq!(output.status.code(), Some(UNAVAILABLE), "{shown}");
    assert_eq!(
        shown
            .matches("waiting for another sfauth that is refreshing this token")
            .count(),
        1,
        "{shown}"
    );
    assert!(shown.contains("_salesforce.json.lock"), "{shown}");
}
