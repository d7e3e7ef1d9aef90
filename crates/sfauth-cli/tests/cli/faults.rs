//! Rotation-safe under faults and hostile input, through the binary: signals during a
//! refresh, closed pipes, tokens sent only to the org's own origins, revoked orgs, logins
//! that go through the store's lock, and settings that bound every wait.

use std::net::TcpListener;
use std::time::Duration;

use sfauth_test_support::fixtures;
use sfauth_test_support::lock::HeldLock;
use sfauth_test_support::net::{Silent, shut_down};
use sfauth_test_support::prelude::*;
use sfauth_test_support::wait_until;

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// An org that takes a second over each token request: long enough to signal a run in
/// the middle of one.
fn slow_org() -> Emulator {
    OrgBuilder::new().latency(Duration::from_secs(1)).start()
}

/// Waits (at most a minute) until `org` has received a token request.
fn wait_for_a_token_request(org: &Emulator) {
    wait_until(
        "the refresh to reach the server",
        Duration::from_secs(60),
        || org.stats().token_requests >= 1,
    );
}

// ---- signals ---------------------------------------------------------------------------

#[test]
fn sigterm_during_a_refresh_is_held_until_the_rotated_token_is_saved_then_exits_143() {
    let org = slow_org();
    let file = TokenFile::issued_by(&org);
    let issued = file.field("refresh_token");
    let running = refresh(&org, &file.path).start();
    // The request is at the server, which holds it for a second: the refresh is in flight.
    wait_for_a_token_request(&org);

    running.signal(SIGTERM);

    running.finish().assert_code(128 + SIGTERM);
    assert_ne!(
        file.field("refresh_token"),
        issued,
        "the rotated refresh token was not saved"
    );
    refresh(&org, &file.path).ok();
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 2, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

#[test]
fn sigterm_during_an_sfdx_url_login_is_held_until_the_org_is_stored() {
    let home = Home::new();
    let org = slow_org();
    let refresh_token = org.fresh_refresh_token();
    let file = home.file("prod.url", &org.sfdx_url(&refresh_token));
    let running = home.login_sfdx_url("prod", &file).start();
    wait_for_a_token_request(&org);

    running.signal(SIGTERM);

    running.finish().assert_code(128 + SIGTERM);
    assert_ne!(text(&home.token("prod"), "refresh_token"), refresh_token);
    home.sfauth().args(["refresh", "--org", "prod"]).ok();
    assert_eq!(org.stats().reuse_detected, 0);
}

#[test]
fn sigint_with_no_refresh_in_flight_exits_130_without_sending_one() {
    let org = org();
    let file = TokenFile::stale_from(&org);
    let _held = HeldLock::of_token_file(&file.path);
    let mut running = token(&org, &file.path)
        .env("SFAUTH_LOG", "sfauth=debug")
        .start();
    // Waiting for the lock, nothing sent.
    running.line_with("signal handlers installed", Duration::from_secs(60));

    running.signal(SIGINT);

    running.finish().assert_code(128 + SIGINT);
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn sigterm_during_exec_is_passed_on_and_the_command_status_is_kept() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let script = "trap 'exit 7' TERM; echo ready >&2; i=0; \
                  while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 1";
    let mut running = on_token_file("exec", &org, &file.path)
        .args(["--", "sh", "-c", script])
        .start();
    running.line_with("ready", Duration::from_secs(60));

    running.signal(SIGTERM);

    running.finish().assert_code(7);
}

// ---- closed pipes ------------------------------------------------------------------------

#[test]
fn refresh_into_a_closed_stdout_saves_the_token_and_does_not_panic() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let issued = file.field("refresh_token");

    refresh(&org, &file.path)
        .arg("--json")
        .stdout_closed()
        .run()
        .did_not_panic();

    assert_ne!(file.field("refresh_token"), issued);
}

#[test]
fn refresh_with_a_closed_stderr_saves_the_token_and_exits_0() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let issued = file.field("refresh_token");

    refresh(&org, &file.path).stderr_closed().ok();

    assert_ne!(file.field("refresh_token"), issued);
}

#[test]
fn orgs_into_a_closed_stdout_ends_quietly() {
    let home = Home::new();
    let org = org();
    home.login_access_token("prod", &org).ok();

    for args in [
        &["orgs"][..],
        &["orgs", "--json"],
        &["status", "--org", "prod"],
    ] {
        home.sfauth()
            .args(args)
            .stdout_closed()
            .ok()
            .did_not_panic();
    }
}

#[test]
fn token_into_a_closed_stdout_ends_quietly() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    token(&org, &file.path).stdout_closed().ok().did_not_panic();
}

// ---- request: the org's own origins ------------------------------------------------------

/// `sfauth request TARGET` with the token file of `org`.
fn request(org: &Emulator, file: &TokenFile, target: &str) -> TestCommand {
    on_token_file("request", org, &file.path)
        .args(["--timeout", "5s"])
        .arg(target)
}

#[test]
fn request_to_another_origin_is_a_usage_error_naming_the_host_and_sends_nothing() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let other = Silent::bind();

    request(&org, &file, &format!("{}/services/data/", other.url()))
        .exits(exit::USAGE)
        .stderr_has(&other.host())
        .stderr_has("--allow-host")
        .never_shows(&file.field("access_token"));

    assert!(
        !other.was_contacted(),
        "the token was sent to {}",
        other.host()
    );
}

#[test]
fn request_to_an_allowed_host_sends_the_token_there() {
    let org = org();
    let other = OrgBuilder::new().start();
    let file = TokenFile::issued_by(&org);
    let host = other.url().trim_start_matches("http://").to_owned();

    let run = request(&org, &file, &format!("{}/services/data/", other.url()))
        .env("SFAUTH_ALLOW_HOST", format!("example.com,{host}"))
        .run();

    assert_ne!(run.code, Some(exit::USAGE), "{run}");
    // The other emulator does not know the token: a 401, one refresh, one retry.
    assert!(other.stats().rest_requests >= 1);
}

#[test]
fn request_to_the_api_instance_url_needs_no_allow_host() {
    let org = org();
    let api = OrgBuilder::new().start();
    let mut token = org.issue_token(USERNAME);
    token["api_instance_url"] = api.url().into();
    let file = TokenFile::new(&token);

    let run = request(&org, &file, &format!("{}/services/data/", api.url())).run();

    assert_ne!(run.code, Some(exit::USAGE), "{run}");
    assert!(api.stats().rest_requests >= 1);
}

#[test]
fn request_reports_a_redirect_to_another_origin_without_following_it() {
    let org = org();
    let elsewhere = Silent::bind();
    let location = format!("{}/stolen", elsewhere.url());
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

    let run = request(&org, &file, "/services/data/").ok();
    server.join().unwrap();

    run.stderr_has("302").stderr_has(&location);
    assert!(!elsewhere.was_contacted(), "the redirect was followed");
}

#[test]
fn request_to_the_site_host_is_allowed_only_when_a_site_is_configured() {
    let org = org();
    let site = OrgBuilder::new().start();
    let file = TokenFile::issued_by(&org);
    let target = format!("{}/services/data/", site.url());

    request(&org, &file, &target)
        .args(["--login-url", &site.url()])
        .exits(exit::USAGE);
    assert_eq!(site.stats().rest_requests, 0);

    let run = request(&org, &file, &target)
        .args(["--login-url", &site.url(), "--site", "/customers"])
        .run();
    assert_ne!(run.code, Some(exit::USAGE), "{run}");
    assert!(site.stats().rest_requests >= 1);
}

// ---- revoked orgs ------------------------------------------------------------------------

#[test]
fn revoked_org_is_not_served_and_status_says_revoked_until_a_new_login() {
    let home = Home::new();
    let org = org();
    home.store_sfdx_org(&org, "prod");
    home.sfauth().args(["revoke", "--org", "prod"]).ok();

    for command in ["token", "header"] {
        home.sfauth()
            .args([command, "--org", "prod"])
            .exits(exit::LOGIN_REQUIRED)
            .stdout_is_empty()
            .stderr_has("revoked")
            .stderr_has("log in again");
    }
    home.sfauth()
        .args(["exec", "--org", "prod", "--", "true"])
        .exits(exit::LOGIN_REQUIRED);
    let status = home.org("prod");
    assert_eq!(status["revoked"], true, "{status}");
    assert_eq!(status["fresh"], false, "{status}");

    home.store_sfdx_org(&org, "prod");
    home.sfauth().args(["token", "--org", "prod"]).ok();
    assert_eq!(home.org("prod")["revoked"], false);
}

// ---- logins ------------------------------------------------------------------------------

#[test]
fn login_waits_for_the_token_files_lock_and_gives_up_after_timeout_changing_nothing() {
    let home = Home::new();
    let org = org();
    home.login_access_token("prod", &org).ok();
    let before = home.token_bytes("prod");
    let _held = HeldLock::of_token_file(&home.token_file("prod"));

    home.login_access_token("prod", &org)
        .args(["--timeout", "2s"])
        .timeout(Duration::from_secs(60))
        .exits(exit::UNAVAILABLE);

    assert!(home.token_bytes("prod") == before);
}

#[test]
fn login_whose_config_cannot_be_written_puts_the_previous_token_back() {
    let home = Home::new();
    let org = org();
    home.login_access_token("prod", &org).ok();
    let before = home.token_bytes("prod");
    std::fs::rename(home.config_file(), home.path.join("config.toml.saved")).unwrap();
    std::fs::create_dir(home.config_file()).unwrap();

    home.login_access_token("prod", &org).fails();

    assert!(
        home.token_bytes("prod") == before,
        "the previous token was not put back"
    );
}

#[test]
fn first_login_whose_config_cannot_be_written_leaves_no_token_file() {
    let home = Home::new();
    let org = org();
    std::fs::create_dir_all(home.config_file()).unwrap();

    home.login_access_token("prod", &org).fails();

    assert!(!home.token_file("prod").exists());
}

#[test]
fn logging_in_again_revokes_the_refresh_token_it_replaced() {
    let home = Home::new();
    let org = org();
    home.store_sfdx_org(&org, "prod");
    let first = home.token("prod");
    let revocations = org.stats().revocations;
    let file = home.file("second.url", &org.sfdx_url(&org.fresh_refresh_token()));

    home.login_sfdx_url("prod", &file)
        .ok()
        .stderr_has("revoked the refresh token this login replaced");

    assert_eq!(org.stats().revocations, revocations + 1);
    let old = TokenFile::new(&stale(&first));
    refresh(&org, &old.path).exits(exit::LOGIN_REQUIRED);
    home.sfauth().args(["token", "--org", "prod"]).ok();
}

#[test]
fn login_honours_the_ca_file_from_the_environment() {
    let home = Home::new();
    let org = org();
    let file = home.file("prod.url", &org.sfdx_url(&org.fresh_refresh_token()));
    let missing = home.dir.path().join("no-such-ca.pem");

    home.login_sfdx_url("prod", &file)
        .env("SFAUTH_CA_FILE", &missing)
        .fails()
        .stderr_has("no-such-ca.pem");

    assert_eq!(org.stats().token_requests, 0);
    home.assert_no_org();
}

#[test]
fn revoke_honours_the_timeout_from_the_environment() {
    let home = Home::new();
    let org = org();
    home.store_sfdx_org(&org, "prod");
    let before = home.token_bytes("prod");
    // The org's login host now takes connections and never answers.
    let silent = Silent::bind_at(shut_down(org));

    home.sfauth()
        .args(["revoke", "--org", "prod"])
        .env("SFAUTH_TIMEOUT", "1s")
        .timeout(Duration::from_secs(20))
        .exits(exit::UNAVAILABLE);

    assert!(home.token_bytes("prod") == before);
    drop(silent);
}

/// The password of [`USERNAME`] in [`org_for_every_login`].
const PASSWORD: &str = "hunter2-pw";

/// An org where every login kind that asks for a token can succeed: JWT bearer, client
/// credentials, username and password, the device flow (approved at once) and, as ever,
/// the refresh of an SFDX auth URL.
fn org_for_every_login() -> Emulator {
    OrgBuilder::new()
        .trusting_the_jwt_key()
        .client_credentials_as("integration@example.com")
        .password_flow_for(USERNAME, PASSWORD)
        .device_polls(0, 0)
        .start()
}

/// `sfauth login KIND --alias prod` at `org`, one command for each login kind that asks
/// Salesforce for a token without a browser, with what it needs to succeed.
fn every_login(home: &Home, org: &Emulator) -> Vec<(&'static str, TestCommand)> {
    let app = |kind: &str| {
        home.sfauth()
            .args(["login", kind, "--alias", "prod"])
            .args(["--login-url", &org.url(), "--client-id", org.client_id()])
    };
    let auth_url = home.file("prod.url", &org.sfdx_url(&org.fresh_refresh_token()));
    vec![
        (
            "jwt",
            app("jwt")
                .args(["--username", USERNAME, "--key-file"])
                .arg(fixtures::jwt_key_path()),
        ),
        (
            "client-credentials",
            app("client-credentials")
                .arg("--client-secret-file")
                .arg(home.secret_file(org)),
        ),
        (
            "password",
            app("password")
                .args(["--username", USERNAME, "--client-secret-file"])
                .arg(home.secret_file(org))
                .env("SFAUTH_PASSWORD", PASSWORD),
        ),
        ("device", app("device").args(["--wait", "60s"])),
        ("sfdx-url", home.login_sfdx_url("prod", &auth_url)),
    ]
}

/// Panics unless no token was granted: no grant of any kind served, no device poll, no
/// refresh, no code exchanged.
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
    let held = HeldLock::of_token_file(&home.token_file("prod"));
    let waited = format!(
        "another process has held {} for over 2 s",
        held.path().display()
    );

    for (kind, login) in every_login(&home, &org) {
        let run = login
            .args(["--timeout", "2s"])
            .timeout(Duration::from_secs(60))
            .exits(exit::UNAVAILABLE);
        assert_eq!(run.error(), waited, "{kind}: {run}");
        assert_no_token_granted(&org, kind);
    }
    home.assert_no_org();
}

#[test]
fn every_login_kind_succeeds_once_the_lock_is_free() {
    let home = Home::new();
    let org = org_for_every_login();

    for (kind, login) in every_login(&home, &org) {
        login.ok();
        assert_eq!(home.org("prod")["flow"], kind);
    }
}

#[test]
fn a_web_login_takes_the_lock_after_the_browser_and_before_the_code_exchange() {
    let home = Home::new();
    let org = org();
    let held = HeldLock::of_token_file(&home.token_file("prod"));
    let mut run = home.start(&[
        "login",
        "web",
        "--no-browser",
        "--alias",
        "prod",
        "--client-id",
        org.client_id(),
        "--login-url",
        &org.url(),
        "--timeout",
        "2s",
    ]);

    let redirected = Browser::new().authorize(&run.authorize_url());
    run.type_line(&redirected);

    let done = run.finish();
    done.assert_code(exit::UNAVAILABLE);
    assert_eq!(
        done.error(),
        format!(
            "another process has held {} for over 2 s",
            held.path().display()
        )
    );
    assert_eq!(org.stats().authorizations, 1);
    assert_no_token_granted(&org, "web");
    home.assert_no_org();
}

#[test]
fn every_command_that_talks_to_salesforce_honours_the_ca_file_flag() {
    let home = Home::new();
    let org = org_for_every_login();
    home.store_sfdx_org(&org, "stored");
    let before = org.stats();
    let stored = home.token_bytes("stored");
    let missing = home.dir.path().join("no-such-ca.pem");
    let mut commands = every_login(&home, &org);
    for args in [
        &["revoke", "--org", "stored"][..],
        &["revoke", "--org", "stored", "--access-token-only"],
        &["logout", "--org", "stored"],
    ] {
        commands.push((args[0], home.sfauth().args(args)));
    }

    let unreadable = format!(
        "cannot read CA file {}: No such file or directory (os error 2)",
        missing.display()
    );

    for (what, cmd) in commands {
        let run = cmd.arg("--ca-file").arg(&missing).exits(exit::USAGE);
        // `logout` says first what it could not do: revoke before it forgets.
        assert!(run.error().ends_with(&unreadable), "{what}: {run}");
    }

    let after = org.stats();
    assert_eq!(after.token_requests, before.token_requests, "{after:?}");
    assert_eq!(after.revocations, before.revocations, "{after:?}");
    assert_eq!(home.aliases(), ["stored"]);
    assert!(home.token_bytes("stored") == stored);
}

// ---- export, token files, durations ------------------------------------------------------

#[test]
fn export_warns_that_the_url_is_single_use_under_rotation_and_recommends_jwt() {
    let home = Home::new();
    let org = org();
    home.store_sfdx_org(&org, "ci");

    let run = home
        .sfauth()
        .args(["export", "--org", "ci", "--format", "sfdx-url"])
        .ok();

    run.stderr_has("single-use").stderr_has("JWT bearer");
    assert!(run.stdout.starts_with("force://"), "{run}");
}

#[test]
fn export_of_an_org_known_not_to_rotate_gives_no_warning() {
    let home = Home::new();
    let org = org();
    home.store_sfdx_org(&org, "ci");
    let mut token = home.token("ci");
    token["sfauth_rotation"] = false.into();
    std::fs::write(home.token_file("ci"), token.to_string()).unwrap();

    home.sfauth()
        .args(["export", "--org", "ci", "--format", "sfdx-url"])
        .ok()
        .stderr_lacks("warning");
}

#[test]
fn token_file_in_a_world_writable_directory_without_sticky_bit_gets_one_warning() {
    use sfauth_test_support::token::set_mode;
    let org = org();
    let file = TokenFile::issued_by(&org);
    set_mode(file.dir.path(), 0o777);

    let run = token(&org, &file.path).ok();

    assert_eq!(run.stderr.matches("warning:").count(), 1, "{run}");
    run.stderr_has("anyone on this machine");
    set_mode(file.dir.path(), 0o1777);
    let run = token(&org, &file.path).ok();
    assert!(run.stderr.is_empty(), "{run}");
}

#[test]
fn adopting_a_token_file_in_a_world_writable_directory_warns_at_login() {
    use sfauth_test_support::token::set_mode;
    let org = org();
    let file = TokenFile::issued_by(&org);
    set_mode(file.dir.path(), 0o777);
    let home = Home::new();

    home.login_token_file("qa", &org, &file.path)
        .ok()
        .stderr_has("anyone on this machine");
}

#[test]
fn a_stuck_lock_is_waited_for_at_most_the_timeout_and_nothing_is_sent() {
    let org = org();
    let file = TokenFile::stale_from(&org);
    let before = file.bytes();
    let _held = HeldLock::of_token_file(&file.path);

    token(&org, &file.path)
        .args(["--timeout", "2s"])
        .timeout(Duration::from_secs(60))
        .exits(exit::UNAVAILABLE);

    assert_eq!(org.stats().token_requests, 0);
    assert!(file.bytes() == before);
}

#[test]
fn a_lock_wait_on_a_terminal_says_what_it_waits_for() {
    let org = org();
    let file = TokenFile::stale_from(&org);
    let held = HeldLock::of_token_file(&file.path);
    let command = format!(
        "{} token --token-file {} --client-id {} --timeout 3s",
        sfauth_test_support::command::sfauth_bin().display(),
        file.path.display(),
        org.client_id()
    );

    // script(1) gives the run a terminal for its stdout and stderr.
    let shown = TestCommand::new("script")
        .args(["-qec", &command, "/dev/null"])
        .exits(exit::UNAVAILABLE)
        .stdout;

    assert_eq!(
        shown
            .matches("waiting for another sfauth that is refreshing this token")
            .count(),
        1,
        "{shown}"
    );
    assert!(shown.contains("_salesforce.json.lock"), "{shown}");
    drop(held);
}
