//! `sfauth agent`: tokens served on a private unix socket, refreshed ahead of expiry
//! through the org's store and lock, the token commands using it when it answers and the
//! store when it does not, and every bad request a JSON 4xx.

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use sfauth_test_support::agent::{
    Agent, ask_for, assert_each_refresh_counted_once, request, token_at,
};
use sfauth_test_support::prelude::*;

#[test]
fn the_agent_serves_a_fresh_token_with_its_expiry_and_ids() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    let served = agent.token("a");
    assert_eq!(served["access_token"], file.field("access_token").as_str());
    assert_eq!(served["instance_url"], org.url().as_str());
    let expires_at = served["expires_at"].as_str().unwrap();
    assert!(
        expires_at.ends_with('Z') && expires_at.len() == 20,
        "RFC 3339: {expires_at}"
    );
    let expires_in = served["expires_in"].as_u64().unwrap();
    assert!((7000..=7200).contains(&expires_in), "{expires_in}");
    assert!(
        served["org_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("00D")),
        "{served}"
    );
    assert!(
        served["user_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("005")),
        "{served}"
    );
    assert!(served.get("api_instance_url").is_some());
    assert!(served.get("refresh_token").is_none(), "{served}");
    assert_eq!(
        org.stats().token_requests,
        0,
        "a fresh token needs no refresh"
    );
    let run = agent.stop();
    run.assert_ok()
        .never_shows(&file.field("access_token"))
        .never_shows(&file.field("refresh_token"));
}

#[test]
fn the_token_commands_use_the_agent_when_it_answers() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    let access = file.field("access_token");
    // The file is broken now: only the agent, which read it at start, can serve.
    file.write_raw(b"{ not a token");
    let run = home.sfauth().args(["token", "--org", "a"]).ok();
    assert_eq!(run.printed(), access);
    home.sfauth()
        .args(["header", "--org", "a"])
        .ok()
        .stdout_has(&format!("Authorization: Bearer {access}"));
    home.sfauth()
        .args([
            "exec",
            "--org",
            "a",
            "--",
            "sh",
            "-c",
            "printf %s \"$SF_ACCESS_TOKEN\"",
        ])
        .ok()
        .stdout_has(&access);
    // --no-agent reads the store itself, and meets the broken file.
    home.sfauth()
        .args(["token", "--org", "a", "--no-agent"])
        .exits(exit::USAGE);
    agent.stop().assert_ok();
}

#[test]
fn the_default_org_and_every_format_are_served_by_the_agent() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    let access = file.field("access_token");
    file.write_raw(b"{ not a token");
    assert_eq!(home.sfauth().arg("token").ok().printed(), access);
    let json = home
        .sfauth()
        .args(["token", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["access_token"], access.as_str());
    assert!(json["expiry_source"].is_string(), "{json}");
    assert!(json["expires_in"].as_u64().is_some_and(|s| s > 0), "{json}");
    home.sfauth()
        .arg("token")
        .env("SFAUTH_FORMAT", "header")
        .ok()
        .stdout_has(&format!("Authorization: Bearer {access}"));
    agent.stop().assert_ok();
}

#[test]
fn a_setting_in_the_environment_that_changes_the_org_reads_the_store() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    file.write_raw(b"{ not a token");
    for (name, value) in [("SFAUTH_MAX_AGE", "1h"), ("SFAUTH_NO_AGENT", "true")] {
        home.sfauth()
            .args(["token", "--org", "a"])
            .env(name, value)
            .exits(exit::USAGE)
            .stderr_has("token file");
    }
    agent.stop().assert_ok();
}

#[test]
fn the_token_commands_read_the_store_when_no_agent_answers() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    // A dead agent's socket file is left behind.
    agent.running.kill();
    assert!(home.agent_socket().exists());
    let run = home.sfauth().args(["token", "--org", "a"]).ok();
    assert_eq!(run.printed(), file.field("access_token"));
    run.stderr_lacks("agent");
}

#[test]
fn sigterm_stops_the_agent_with_exit_0_and_removes_its_socket() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    let socket = agent.socket.clone();
    agent.stop().assert_ok().stderr_has("stopped");
    assert!(!socket.exists());
}

#[test]
fn the_socket_is_private_to_its_user() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    let socket_mode = mode(&agent.socket);
    let dir_mode = mode(agent.socket.parent().unwrap());
    assert_eq!(socket_mode & 0o777, 0o600, "{socket_mode:o}");
    assert_eq!(dir_mode & 0o777, 0o700, "{dir_mode:o}");
    agent.stop().assert_ok();
}

#[test]
fn an_agent_refuses_a_socket_directory_others_can_enter() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let open = home.dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = open.join("agent.sock");
    home.sfauth()
        .arg("agent")
        .arg("--socket")
        .arg(&socket)
        .exits(exit::USAGE)
        .stderr_has("not private to you")
        .stderr_has("chmod 700");
    assert!(!socket.exists());
}

#[test]
fn a_second_agent_on_the_same_socket_does_not_start() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    home.sfauth()
        .arg("agent")
        .exits(exit::USAGE)
        .stderr_has("another agent is already serving");
    agent.token("a");
    agent.stop().assert_ok();
}

#[test]
fn an_agent_with_no_org_to_serve_says_to_log_in() {
    Home::new()
        .sfauth()
        .arg("agent")
        .exits(exit::USAGE)
        .stderr_has("no org for the agent to serve")
        .stderr_has("sfauth login");
}

#[test]
fn bad_requests_get_a_json_4xx_that_says_what_to_send() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    for (method, path, body, status, kind) in [
        ("GET", "/v1/orgs/nope/token", "", 404, "unknown_org"),
        ("GET", "/v2/anything", "", 404, "not_found"),
        ("DELETE", "/v1/orgs/a/token", "", 405, "method_not_allowed"),
        (
            "POST",
            "/v1/orgs/a/invalidate",
            "{not json",
            400,
            "bad_request",
        ),
        ("POST", "/v1/orgs/a/invalidate", "{}", 400, "bad_request"),
    ] {
        let reply = request(&agent.socket, method, path, body);
        assert_eq!(reply.status, status, "{method} {path}: {reply:?}");
        assert_eq!(reply.content_type, "application/json");
        let error = &reply.json()["error"];
        assert_eq!(error["kind"], kind, "{reply:?}");
        assert!(error["hint"].is_string(), "{reply:?}");
    }
    let huge = format!("{{\"access_token\": \"{}\"}}", "x".repeat(100_000));
    let reply = agent.post("/v1/orgs/a/invalidate", &huge);
    assert_eq!(reply.status, 413, "{reply:?}");
    // Still serving, and nothing was refreshed.
    assert_eq!(
        agent.token("a")["access_token"],
        file.field("access_token").as_str()
    );
    assert_eq!(org.stats().token_requests, 0);
    agent.stop().assert_ok();
}

#[test]
fn an_invalidate_of_the_current_token_refreshes_once_and_of_an_old_one_not_at_all() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    let old = file.field("access_token");
    let body = format!("{{\"access_token\": \"{old}\"}}");
    let renewed = agent.post("/v1/orgs/a/invalidate", &body);
    assert_eq!(renewed.status, 200, "{renewed:?}");
    let new = renewed.json()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(file.field("access_token"), new, "saved to the store first");
    // The same rejected token again: already replaced, so no second refresh.
    let again = agent.post("/v1/orgs/a/invalidate", &body);
    assert_eq!(again.json()["access_token"], new.as_str());
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 1, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    assert_eq!(
        agent.metric("sfauth_agent_refreshes_total", "a"),
        1,
        "counted for a client too"
    );
    let health = agent.get("/v1/health").json();
    assert_eq!(health["orgs"]["a"]["refreshes"], 1, "{health}");
    assert!(health["orgs"]["a"]["last_refresh"].is_string(), "{health}");
    agent.stop().assert_ok();
}

#[test]
fn health_and_metrics_report_each_org_without_secrets() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    let health = agent.get("/v1/health");
    assert_eq!(health.status, 200);
    let health = health.json();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["orgs"]["a"]["fresh"], true, "{health}");
    assert!(health["orgs"]["a"]["expires_at"].is_string(), "{health}");
    let metrics = agent.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.content_type.starts_with("text/plain"),
        "{metrics:?}"
    );
    for line in [
        "# TYPE sfauth_agent_refreshes_total counter",
        "sfauth_agent_refreshes_total{org=\"a\"} 0",
        "sfauth_agent_token_fresh{org=\"a\"} 1",
        "sfauth_agent_token_expires_in_seconds{org=\"a\"} ",
    ] {
        assert!(
            metrics.body.contains(line),
            "no `{line}` in:\n{}",
            metrics.body
        );
    }
    for secret in [file.field("access_token"), file.field("refresh_token")] {
        assert!(!health.to_string().contains(&secret));
        assert!(!metrics.body.contains(&secret));
    }
    agent.stop().assert_ok();
}

#[test]
fn a_sink_holds_the_current_token_in_the_format_asked_for() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let sink = home.dir.path().join("sinks").join("a.header");
    let spec = format!("a={}:header", sink.display());
    let agent = Agent::start(&home, &["--sink", &spec]);
    sfauth_test_support::wait_until("the sink to be written", Duration::from_secs(10), || {
        sink.exists()
    });
    assert_eq!(
        std::fs::read_to_string(&sink).unwrap(),
        format!("Authorization: Bearer {}\n", file.field("access_token"))
    );
    assert_eq!(mode(&sink) & 0o777, 0o600);
    agent.stop().assert_ok();
}

/// A home with the org `a`, whose session timeout is the emulator's token lifetime.
fn home_with_short_lived_org(org: &Emulator, lifetime: Duration) -> (Home, TokenFile) {
    let home = Home::new();
    let file = TokenFile::issued_by(org);
    home.login_token_file("a", org, &file.path)
        .args(["--session-timeout", &format!("{}s", lifetime.as_secs())])
        .ok();
    (home, file)
}

fn short_lived(lifetime: Duration) -> Emulator {
    OrgBuilder::new()
        .with(|config| config.access_token_lifetime = lifetime)
        .start()
}

#[test]
fn a_hundred_clients_for_a_minute_never_get_an_expired_token_and_cause_one_refresh_per_lifetime() {
    const CLIENTS: usize = 100;
    const RUN: Duration = Duration::from_secs(60);
    let lifetime = Duration::from_secs(6);
    let org = short_lived(lifetime);
    let (home, file) = home_with_short_lived_org(&org, lifetime);
    let agent = Agent::start(&home, &[]);
    let started = Instant::now();
    let socket = &agent.socket;
    let org_ref = &org;
    let results: Vec<(usize, usize)> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                scope.spawn(move || {
                    let org = org_ref;
                    let (mut served, mut expired) = (0, 0);
                    while started.elapsed() < RUN {
                        let token = token_at(socket, "a");
                        served += 1;
                        if !org.access_token_is_live(token["access_token"].as_str().unwrap()) {
                            expired += 1;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    (served, expired)
                })
            })
            .collect();
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let served: usize = results.iter().map(|r| r.0).sum();
    let expired: usize = results.iter().map(|r| r.1).sum();
    let stats = org.stats();
    eprintln!("served {served} tokens to {CLIENTS} clients in {RUN:?}: {stats:?}");
    assert_eq!(
        expired, 0,
        "{expired} of {served} tokens served were expired"
    );
    assert!(served > CLIENTS * 100, "the clients were served: {served}");
    // One refresh per lifetime (a little more: it renews ahead), never one per client.
    let lifetimes = RUN.as_secs() / lifetime.as_secs();
    assert!(
        (lifetimes - 2..=lifetimes * 2).contains(&stats.refreshes_served),
        "{} refreshes in {lifetimes} lifetimes: {stats:?}",
        stats.refreshes_served
    );
    assert_eq!(stats.refused_parallel, 0, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    agent.stop().assert_ok();
    assert!(org.refresh_token_is_live(&file.field("refresh_token")));
}

#[test]
fn sigterm_mid_refresh_saves_then_exits_0_and_a_restart_serves_the_saved_token() {
    let org = OrgBuilder::new().latency(Duration::from_secs(2)).start();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    let old = file.field("access_token");
    let socket = agent.socket.clone();
    let renewing = std::thread::spawn(move || {
        request(
            &socket,
            "POST",
            "/v1/orgs/a/invalidate",
            &format!("{{\"access_token\": \"{old}\"}}"),
        )
    });
    sfauth_test_support::wait_until(
        "the refresh to reach the emulator",
        Duration::from_secs(10),
        || org.refreshes_in_flight() > 0,
    );
    let run = agent.stop();
    run.assert_ok();
    let _ = renewing.join();
    let saved = file.field("access_token");
    assert_ne!(saved, file.field("refresh_token"));
    assert!(org.access_token_is_live(&saved));
    assert!(
        org.refresh_token_is_live(&file.field("refresh_token")),
        "the rotated token was saved"
    );
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 1, "{stats:?}");
    let again = Agent::start(&home, &[]);
    assert_eq!(again.token("a")["access_token"], saved.as_str());
    assert_eq!(
        org.stats().refreshes_served,
        1,
        "the restart refreshed nothing"
    );
    again.stop().assert_ok();
}

#[test]
fn two_agents_on_one_org_still_make_one_refresh_at_a_time() {
    let lifetime = Duration::from_secs(3);
    let org = short_lived(lifetime);
    let (home, file) = home_with_short_lived_org(&org, lifetime);
    let first = Agent::start(&home, &[]);
    let other_socket = home.dir.path().join("second").join("agent.sock");
    let second = Agent::start_at(&home, &other_socket, &[]);
    let run = Duration::from_secs(15);
    ask_for(&[&first, &second], "a", &org, run);
    let stats = org.stats();
    let lifetimes = run.as_secs() / lifetime.as_secs();
    assert!(
        stats.refreshes_served <= lifetimes * 2,
        "two agents refreshed each on their own: {stats:?}"
    );
    assert_eq!(stats.refused_parallel, 0, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    assert_each_refresh_counted_once(&[&first, &second], "a", &org);
    first.stop().assert_ok();
    second.stop().assert_ok();
    assert!(org.refresh_token_is_live(&file.field("refresh_token")));
}

#[test]
fn clients_killed_at_random_instants_while_the_agent_refreshes_lose_no_family() {
    let lifetime = Duration::from_secs(2);
    let org = short_lived(lifetime);
    let (home, file) = home_with_short_lived_org(&org, lifetime);
    let agent = Agent::start(&home, &[]);
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let started = Instant::now();
    let mut kills = 0;
    while started.elapsed() < Duration::from_secs(10) {
        let running = home.sfauth().args(["token", "--org", "a"]).start();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_micros(rng % 20_000));
        running.kill();
        kills += 1;
    }
    assert!(kills > 50, "{kills}");
    let served = agent.token("a");
    assert!(org.access_token_is_live(served["access_token"].as_str().unwrap()));
    let stats = org.stats();
    assert!(
        stats.refreshes_served >= 3,
        "the agent refreshed meanwhile: {stats:?}"
    );
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    assert_eq!(stats.refused_parallel, 0, "{stats:?}");
    agent.stop().assert_ok();
    assert!(org.refresh_token_is_live(&file.field("refresh_token")));
}

#[test]
fn an_org_whose_refresh_fails_keeps_its_last_error_in_health_and_status() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    org.revoke_refresh_token(&file.field("refresh_token"));
    let body = format!("{{\"access_token\": \"{}\"}}", file.field("access_token"));
    let refused = agent.post("/v1/orgs/a/invalidate", &body);
    assert_eq!(refused.status, 409, "{refused:?}");
    assert_eq!(
        refused.json()["error"]["kind"],
        "login_required",
        "{refused:?}"
    );
    let health = agent.get("/v1/health").json();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["orgs"]["a"]["needs_login"], true, "{health}");
    assert_eq!(
        health["orgs"]["a"]["last_error"]["kind"], "login_required",
        "{health}"
    );
    let status = home.sfauth().args(["status", "--org", "a", "--json"]).ok();
    status.never_shows(&file.field("refresh_token"));
    let status = status.json();
    assert_eq!(
        status["agent"]["last_error"]["kind"], "login_required",
        "{status}"
    );
    agent.stop().assert_ok();
}

/// `nobody` on Debian.
const OTHER_UID: u32 = 65534;

/// Gives `path` and everything under it to [`OTHER_UID`].
fn give_to_other_user(path: &std::path::Path) {
    std::os::unix::fs::chown(path, Some(OTHER_UID), Some(OTHER_UID)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            give_to_other_user(&entry.path());
        }
    }
}

#[test]
fn an_agent_and_a_client_of_different_users_refuse_each_other() {
    assert!(
        sfauth_test_support::services::is_root(),
        "this test runs an agent as another user, which needs root (CI runs as root; so \
         does scripts/test-deps.sh where it installs packages)"
    );
    let org = org();
    // The other user's home: its org's token file inside it, all of it theirs.
    let theirs = Home::new();
    let token = theirs.file("token.json", &org.issue_token(USERNAME).to_string());
    theirs.adopt("a", &org, &token);
    // The other user may not be able to reach the build directory: a copy of the binary
    // in their home is theirs to run, from there.
    let binary = theirs.dir.path().join("sfauth");
    std::fs::copy(sfauth_test_support::command::sfauth_bin(), &binary).unwrap();
    give_to_other_user(theirs.dir.path());
    let socket = theirs.dir.path().join("run").join("agent.sock");
    let as_them = TestCommand::new(&binary)
        .env("SFAUTH_HOME", &theirs.path)
        .current_dir(theirs.dir.path())
        .as_user(OTHER_UID, OTHER_UID);
    let agent = Agent::started(as_them, &socket, &[]);
    // Root can reach any socket; the agent still serves its own user only.
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    use std::io::{Read as _, Write as _};
    // The agent may have closed the connection already: the write can fail, and nothing
    // may come back either way.
    let _ = stream
        .write_all(b"GET /v1/orgs/a/token HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(
        answer.is_empty(),
        "served another user: {}",
        String::from_utf8_lossy(&answer)
    );
    // And our client does not use another user's agent: with our own token file broken,
    // only that agent could have served.
    let (mine, file) = Home::with_org("a", &org);
    file.write_raw(b"{ broken");
    mine.sfauth()
        .args(["token", "--org", "a"])
        .env("SFAUTH_AGENT_SOCKET", &socket)
        .exits(exit::USAGE);
    agent
        .stop()
        .assert_ok()
        .stderr_has("refused a connection from another user");
}

#[test]
fn a_slow_request_is_cut_off_and_holds_up_nobody_else() {
    use std::io::{Read as _, Write as _};
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    // Half a head, then silence; and a head with a body that never comes.
    let mut slow_head = std::os::unix::net::UnixStream::connect(&agent.socket).unwrap();
    slow_head.write_all(b"GET /v1/orgs/a/tok").unwrap();
    let mut slow_body = std::os::unix::net::UnixStream::connect(&agent.socket).unwrap();
    slow_body
        .write_all(
            b"POST /v1/orgs/a/invalidate HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{",
        )
        .unwrap();
    // Meanwhile everyone else is served.
    assert_eq!(
        agent.token("a")["access_token"],
        file.field("access_token").as_str()
    );
    let started = Instant::now();
    for stream in [&mut slow_head, &mut slow_body] {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(org.stats().token_requests, 0);
    agent.stop().assert_ok();
}

#[test]
fn sighup_serves_an_org_logged_in_since_and_drops_one_logged_out() {
    let org = org();
    let (home, _file) = Home::with_org("a", &org);
    let mut agent = Agent::start(&home, &[]);
    let second = TokenFile::issued_by(&org);
    home.adopt("b", &org, &second.path);
    assert_eq!(agent.get("/v1/orgs/b/token").status, 404);
    agent.running.signal(1);
    agent
        .running
        .line_with("config reloaded", Duration::from_secs(10));
    assert_eq!(
        agent.token("b")["access_token"],
        second.field("access_token").as_str()
    );
    home.sfauth()
        .args(["logout", "--org", "a", "--local-only"])
        .ok();
    agent.running.signal(1);
    agent
        .running
        .line_with("config reloaded", Duration::from_secs(10));
    assert_eq!(agent.get("/v1/orgs/a/token").status, 404);
    agent.stop().assert_ok();
}

#[test]
fn sighup_rebuilds_an_org_whose_login_changed() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let mut agent = Agent::start(&home, &[]);
    assert_eq!(
        agent.token("a")["access_token"],
        file.field("access_token").as_str()
    );
    // A new login of `a`, from another token file.
    let again = TokenFile::issued_by(&org);
    home.adopt("a", &org, &again.path);
    agent.running.signal(1);
    agent
        .running
        .line_with("config reloaded", Duration::from_secs(10));
    assert_eq!(
        agent.token("a")["access_token"],
        again.field("access_token").as_str()
    );
    agent.stop().assert_ok();
}

#[test]
fn a_client_of_another_config_home_does_not_take_the_agents_tokens() {
    let org = org();
    let (theirs, _their_file) = Home::with_org("a", &org);
    let agent = Agent::start(&theirs, &[]);
    // Same user, same socket, another home with an org of the same name.
    let (mine, my_file) = Home::with_org("a", &org);
    let run = mine
        .sfauth()
        .args(["token", "--org", "a"])
        .env("SFAUTH_AGENT_SOCKET", &agent.socket)
        .ok();
    assert_eq!(run.printed(), my_file.field("access_token"));
    agent.stop().assert_ok();
}

#[test]
fn an_org_that_needed_a_login_is_served_again_after_one() {
    let org = org();
    let (home, file) = Home::with_org("a", &org);
    let agent = Agent::start(&home, &[]);
    org.revoke_refresh_token(&file.field("refresh_token"));
    let body = format!("{{\"access_token\": \"{}\"}}", file.field("access_token"));
    assert_eq!(agent.post("/v1/orgs/a/invalidate", &body).status, 409);
    assert_eq!(agent.get("/v1/orgs/a/token").status, 409, "needs a login");
    // A new login writes a new token where the org's token lives; no SIGHUP needed.
    file.write(&org.issue_token(USERNAME));
    let served = agent.token("a");
    assert_eq!(served["access_token"], file.field("access_token").as_str());
    assert_eq!(
        agent.get("/v1/health").json()["orgs"]["a"]["needs_login"],
        false
    );
    agent.stop().assert_ok();
}
