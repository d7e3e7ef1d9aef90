//! One token shared by many machines through a PostgreSQL or Redis store, with the real
//! servers: `sfauth store import/export/list/delete/init`, 64 processes in 8 separate homes
//! that make one refresh, two agents on two machines that make one at a time, a holder
//! killed mid-refresh, a store that cannot be reached, and bad input. Each scenario runs on
//! both servers (`on_both!`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use sfauth_test_support::agent::{Agent, ask_for, assert_each_refresh_counted_once, total};
use sfauth_test_support::net::closed_port;
use sfauth_test_support::prelude::*;
use sfauth_test_support::services::{self, PASSWORD, Server};

/// Long enough that the callers' requests would overlap at the server if they were not
/// serialized across the homes.
const LATENCY: Duration = Duration::from_millis(300);

/// Which server a scenario runs on.
#[derive(Clone, Copy)]
enum Kind {
    Postgres,
    Redis,
}

impl Kind {
    fn server(self) -> &'static Server {
        match self {
            Kind::Postgres => services::postgres(),
            Kind::Redis => services::redis(),
        }
    }
}

/// A key no other test of this run uses.
fn new_key() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "org{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// `cmd` on the token under `key` in `server`, the password in the environment.
fn on_store(cmd: TestCommand, server: &Server, key: &str) -> TestCommand {
    cmd.args(["--store", &server.url(), "--store-key", key])
        .env("SFAUTH_STORE_PASSWORD", PASSWORD)
}

/// `sfauth store import` of `token` under `key`.
fn import(server: &Server, key: &str, token: &Value) {
    on_store(sfauth().args(["store", "import", "-"]), server, key)
        .stdin(token.to_string())
        .ok();
}

/// What the store holds under `key`, by `sfauth store export`.
fn export(server: &Server, key: &str) -> Value {
    on_store(sfauth().args(["store", "export"]), server, key)
        .ok()
        .json()
}

/// `sfauth token` on the stored token from `home`, as a worker on its own machine.
fn token_on(home: &Home, org: &Emulator, server: &Server, key: &str) -> TestCommand {
    on_store(home.sfauth().arg("token"), server, key).args(["--client-id", org.client_id()])
}

macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn postgres() {
                super::$scenario(super::Kind::Postgres);
            }

            #[test]
            fn redis() {
                super::$scenario(super::Kind::Redis);
            }
        }
    )*};
}

on_both!(
    sixty_four_processes_in_eight_homes_make_one_refresh_and_print_one_token,
    two_agents_on_two_machines_sharing_the_store_make_one_refresh_at_a_time,
    a_token_file_login_with_a_store_copies_the_token_there,
    ten_thousand_tasks_over_one_session_and_processes_at_once_make_one_refresh,
    a_holder_killed_mid_refresh_is_reported_truthfully_and_its_token_never_resent,
    an_unreachable_store_exits_6_and_sends_nothing,
    a_store_import_round_trips_and_lists_without_secrets,
    a_login_with_a_store_keeps_the_token_there_and_no_password_in_the_config,
    a_key_holding_garbage_is_a_usage_error_and_stays,
    a_wrong_password_is_a_usage_error_that_names_no_secret,
);

fn sixty_four_processes_in_eight_homes_make_one_refresh_and_print_one_token(kind: Kind) {
    const HOMES: usize = 8;
    const PROCESSES: usize = 64;
    let server = kind.server();
    let org = OrgBuilder::new().latency(LATENCY).start();
    let key = new_key();
    let issued = stale(&org.issue_token(USERNAME));
    import(server, &key, &issued);
    // No shared file system between them: each "machine" has its own home.
    let homes: Vec<Home> = (0..HOMES).map(|_| Home::new()).collect();
    let runs = finish_all(
        (0..PROCESSES)
            .map(|i| token_on(&homes[i % HOMES], &org, server, &key).start())
            .collect(),
    );
    let printed = printed_by_all(&runs);
    let stored = export(server, &key);
    let expected = format!("{}\n", text(&stored, "access_token"));
    assert_eq!(printed, BTreeSet::from([expected.as_str()]));
    assert_ne!(
        text(&stored, "refresh_token"),
        text(&issued, "refresh_token")
    );
    assert!(org.refresh_token_is_live(&text(&stored, "refresh_token")));
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 1, "{stats:?}");
    assert_eq!(stats.refused_parallel, 0, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

fn two_agents_on_two_machines_sharing_the_store_make_one_refresh_at_a_time(kind: Kind) {
    let server = kind.server();
    let lifetime = Duration::from_secs(3);
    let org = OrgBuilder::new()
        .with(|config| config.access_token_lifetime = lifetime)
        .start();
    let key = new_key();
    let file = TokenFile::issued_by(&org);
    let homes: Vec<Home> = (0..2).map(|_| Home::new()).collect();
    for home in &homes {
        on_store(home.login_token_file("a", &org, &file.path), server, &key)
            .args(["--session-timeout", &format!("{}s", lifetime.as_secs())])
            .ok();
    }
    let started: Vec<Agent> = homes
        .iter()
        .map(|home| {
            let command = home.sfauth().env("SFAUTH_STORE_PASSWORD", PASSWORD);
            Agent::started(command, &home.agent_socket(), &[])
        })
        .collect();
    let agents: Vec<&Agent> = started.iter().collect();
    let run = Duration::from_secs(15);
    ask_for(&agents, "a", &org, run);
    let stats = org.stats();
    let lifetimes = run.as_secs() / lifetime.as_secs();
    // Each agent renews at 70–85 % of a token's life: alone, two would make about twice
    // as many.
    assert!(
        stats.refreshes_served <= lifetimes * 2,
        "the agents refreshed each on their own: {stats:?}"
    );
    assert_eq!(stats.refused_parallel, 0, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    assert_each_refresh_counted_once(&agents, "a", &org);
    let adopted = total(&agents, "sfauth_agent_adoptions_total", "a");
    assert!(
        adopted > 0,
        "one agent took the other's token: {adopted} adoptions"
    );
    drop(agents);
    for agent in started {
        agent.stop().assert_ok();
    }
    let stored = export(server, &key);
    assert!(org.refresh_token_is_live(&text(&stored, "refresh_token")));
}

fn ten_thousand_tasks_over_one_session_and_processes_at_once_make_one_refresh(kind: Kind) {
    const HOMES: usize = 8;
    const PROCESSES: usize = 64;
    const TASKS: usize = 10_000;
    let server = kind.server();
    // Long enough that the processes start while the first refresher is still waiting on
    // Salesforce, so they meet its lock rather than its result.
    let org = OrgBuilder::new()
        .latency(Duration::from_millis(1500))
        .start();
    let key = new_key();
    let issued = stale(&org.issue_token(USERNAME));
    import(server, &key, &issued);
    let homes: Vec<Home> = (0..HOMES).map(|_| Home::new()).collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let session = library_session(server, &key, &org);
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let session = session.clone();
            runtime.spawn(async move { session.access_token().await })
        })
        .collect();
    let runs = finish_all(
        (0..PROCESSES)
            .map(|i| token_on(&homes[i % HOMES], &org, server, &key).start())
            .collect(),
    );
    let from_tasks: BTreeSet<String> = runtime.block_on(async {
        let mut seen = BTreeSet::new();
        for task in tasks {
            let token = task.await.expect("no task panics");
            seen.insert(token.expect("every task gets a token").expose().to_owned());
        }
        seen
    });
    let printed = printed_by_all(&runs);
    let stored = export(server, &key);
    let access = text(&stored, "access_token");
    assert_eq!(from_tasks, BTreeSet::from([access.clone()]));
    assert_eq!(printed, BTreeSet::from([format!("{access}\n").as_str()]));
    assert!(org.refresh_token_is_live(&text(&stored, "refresh_token")));
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 1, "{stats:?}");
    assert_eq!(stats.refused_parallel, 0, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

/// A library `Session` on the token under `key`, as an app server on one more machine.
fn library_session(server: &Server, key: &str, org: &Emulator) -> sfauth::Session {
    let store = sfauth::StoreUrl::parse(&server.url())
        .unwrap()
        .with_password(sfauth::Secret::from(PASSWORD))
        .open(
            &sfauth::StoreKey::parse(key).unwrap(),
            &sfauth::StoreOptions::default(),
        )
        .unwrap();
    sfauth::Session::builder(store, sfauth::ConnectedApp::new(org.client_id())).build()
}

fn a_holder_killed_mid_refresh_is_reported_truthfully_and_its_token_never_resent(kind: Kind) {
    let server = kind.server();
    let org = OrgBuilder::new().latency(Duration::from_secs(1)).start();
    let key = new_key();
    let issued = stale(&org.issue_token(USERNAME));
    import(server, &key, &issued);
    let lease = ["--store-lease", "2s"];
    // The holder's request gives up after 3 s: the next holder waits at most that long for
    // an answer Salesforce may still be working on.
    let holder = on_store(sfauth().arg("refresh").args(lease), server, &key)
        .args(["--client-id", org.client_id(), "--timeout", "3s"])
        .start();
    sfauth_test_support::wait_until(
        "the holder's refresh to reach the emulator",
        Duration::from_secs(20),
        || org.refreshes_in_flight() > 0,
    );
    holder.kill();
    // Salesforce finishes a refresh whose client went away: the family rotates, and the new
    // refresh token died with the holder.
    sfauth_test_support::wait_until(
        "the emulator to finish the killed holder's refresh",
        Duration::from_secs(20),
        || org.refreshes_in_flight() == 0,
    );
    let started = Instant::now();
    let secret = Home::new();
    let secret_file = secret.dir.path().join("secret");
    std::fs::write(&secret_file, &org.config().client_secret).unwrap();
    let next = on_store(sfauth().arg("token").args(lease), server, &key)
        .args(["--client-id", org.client_id()])
        .arg("--client-secret-file")
        .arg(&secret_file)
        .exits(exit::LOGIN_REQUIRED);
    next.stderr_has("never saved its answer")
        .stderr_has("family is lost");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the next holder waited {:?}",
        started.elapsed()
    );
    let stats = org.stats();
    assert_eq!(
        stats.refreshes_served, 1,
        "the spent token was sent again: {stats:?}"
    );
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    assert_eq!(export(server, &key), issued, "the store changed");
}

fn an_unreachable_store_exits_6_and_sends_nothing(kind: Kind) {
    let org = OrgBuilder::new().start();
    let url = match kind {
        Kind::Postgres => format!(
            "postgres://sfauth@127.0.0.1:{}/postgres?sslmode=disable",
            closed_port()
        ),
        Kind::Redis => format!("redis://127.0.0.1:{}/0", closed_port()),
    };
    let run = sfauth()
        .args(["token", "--store", &url, "--store-key", "prod"])
        .args(["--client-id", org.client_id()])
        .exits(exit::UNAVAILABLE);
    run.stderr_has("cannot reach the token store");
    assert!(
        run.hint().is_some_and(|h| h.contains("nothing was sent")),
        "{run}"
    );
    assert_eq!(org.stats().token_requests, 0);
}

fn a_store_import_round_trips_and_lists_without_secrets(kind: Kind) {
    let server = kind.server();
    let org = OrgBuilder::new().start();
    let key = new_key();
    let issued = org.issue_token(USERNAME);
    on_store(sfauth().args(["store", "init"]), server, &key)
        .ok()
        .stderr_has("is ready");
    import(server, &key, &issued);
    assert_eq!(export(server, &key), issued);
    let listed = on_store(sfauth().args(["store", "list", "--json"]), server, &key).ok();
    listed.never_shows(&text(&issued, "access_token"));
    listed.never_shows(&text(&issued, "refresh_token"));
    let entry = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key.as_str())
        .cloned()
        .expect("the imported key is listed");
    assert!(entry["age_seconds"].as_u64().unwrap() < 600, "{entry}");
    assert!(entry["updated"].as_str().unwrap().ends_with('Z'), "{entry}");
    on_store(sfauth().args(["store", "delete"]), server, &key).ok();
    on_store(sfauth().args(["store", "export"]), server, &key)
        .exits(exit::USAGE)
        .stderr_has("holds no token under the key");
}

fn a_login_with_a_store_keeps_the_token_there_and_no_password_in_the_config(kind: Kind) {
    let server = kind.server();
    let org = OrgBuilder::new().start();
    let home = Home::new();
    let key = new_key();
    let issued = org.issue_token(USERNAME);
    on_store(
        home.sfauth().args([
            "login",
            "access-token",
            "--alias",
            &key,
            "--instance-url",
            &org.url(),
        ]),
        server,
        &key,
    )
    .env("SF_ACCESS_TOKEN", text(&issued, "access_token"))
    .ok();
    let config = String::from_utf8(home.config_bytes()).unwrap();
    assert!(config.contains(&server.url()), "{config}");
    assert!(!config.contains(PASSWORD), "{config}");
    assert!(
        !home.token_file(&key).exists(),
        "the token went to a file too"
    );
    let run = home
        .sfauth()
        .args(["token", "--org", &key])
        .env("SFAUTH_STORE_PASSWORD", PASSWORD)
        .ok();
    assert_eq!(run.printed(), text(&issued, "access_token"));
    // The commands on a named org read the same store.
    let status = home
        .sfauth()
        .args(["status", "--org", &key, "--json"])
        .env("SFAUTH_STORE_PASSWORD", PASSWORD)
        .ok();
    status.never_shows(&text(&issued, "access_token"));
    let status = status.json();
    assert_eq!(status["store"], server.url().as_str());
    assert_eq!(status["store_key"], key.as_str());
    assert_eq!(status["token_file"], Value::Null);
    assert_eq!(
        status["fresh"], true,
        "the token was read from the store: {status}"
    );
}

fn a_token_file_login_with_a_store_copies_the_token_there(kind: Kind) {
    let server = kind.server();
    let org = OrgBuilder::new().start();
    let home = Home::new();
    let key = new_key();
    let file = TokenFile::issued_by(&org);
    let before = file.bytes();
    on_store(home.login_token_file("a", &org, &file.path), server, &key).ok();
    assert_eq!(
        text(&export(server, &key), "access_token"),
        file.field("access_token")
    );
    assert_eq!(file.bytes(), before, "the file is left as it was");
    let run = home
        .sfauth()
        .args(["token", "--org", "a", "--no-agent"])
        .env("SFAUTH_STORE_PASSWORD", PASSWORD)
        .ok();
    assert_eq!(run.printed(), file.field("access_token"));
}

fn a_key_holding_garbage_is_a_usage_error_and_stays(kind: Kind) {
    let server = kind.server();
    let org = OrgBuilder::new().start();
    let key = new_key();
    on_store(sfauth().args(["store", "import", "-"]), server, &key)
        .stdin("{\"access_token\": 1}")
        .exits(exit::USAGE)
        .stderr_has("not a usable token");
    on_store(sfauth().arg("token"), server, &key)
        .args(["--client-id", org.client_id()])
        .exits(exit::USAGE)
        .stderr_has("holds no token under the key");
}

fn a_wrong_password_is_a_usage_error_that_names_no_secret(kind: Kind) {
    let server = kind.server();
    let run = sfauth()
        .args(["store", "list", "--store", &server.url()])
        .env("SFAUTH_STORE_PASSWORD", "wrong-password")
        .exits(exit::USAGE);
    run.stderr_has("refused the login")
        .never_shows("wrong-password");
}

#[test]
fn a_password_in_the_store_flag_is_refused_before_anything_is_read() {
    let run = sfauth()
        .args([
            "token",
            "--store",
            "redis://:hunter2@127.0.0.1:1/0",
            "--client-id",
            "x",
        ])
        .exits(exit::USAGE);
    run.stderr_has("process list").never_shows("hunter2");
}

#[test]
fn a_malformed_or_unknown_store_url_is_a_usage_error() {
    for (url, says) in [
        ("mysql://db/tokens", "not a kind of store"),
        ("postgres://u:secret@[bad/db", "malformed"),
        ("redis:///0", "names no host"),
    ] {
        let run = sfauth()
            .args(["token", "--client-id", "x"])
            .env("SFAUTH_STORE", url)
            .exits(exit::USAGE);
        run.stderr_has(says)
            .stderr_has("(from SFAUTH_STORE)")
            .never_shows("secret");
    }
}

#[test]
fn a_store_key_that_is_not_one_is_a_usage_error() {
    sfauth()
        .args([
            "token",
            "--store",
            "redis://127.0.0.1:1/0",
            "--store-key",
            "prod key",
        ])
        .args(["--client-id", "x"])
        .exits(exit::USAGE)
        .stderr_has("is not a store key");
}

#[test]
fn a_store_url_naming_a_missing_schema_is_a_usage_error_that_says_to_create_it() {
    let server = services::postgres();
    let url = format!("{}&options=-csearch_path%3Dno_such_schema", server.url());
    let run = sfauth()
        .args(["store", "init", "--store", &url])
        .env("SFAUTH_STORE_PASSWORD", PASSWORD)
        .exits(exit::USAGE);
    run.stderr_has("names no schema")
        .stderr_has("CREATE SCHEMA")
        .never_shows(PASSWORD);
}
