//! `--store postman:FILE`: the token commands on an exported Postman environment, its app
//! taken from the environment itself, every other value kept, one refresh for many callers.

use std::collections::BTreeSet;
use std::time::Duration;

use sfauth_test_support::lock::HeldLock;
use sfauth_test_support::postman::{
    Environment, newman, newman_args, newman_path, seeds_collection, without_proxies,
};
use sfauth_test_support::prelude::*;

/// `sfauth ARGS --store postman:FILE`, in a home of its own.
fn on_env(env: &Environment, args: &[&str]) -> TestCommand {
    sfauth().args(args).args(["--store", &env.store()])
}

#[test]
fn a_token_from_an_environment_is_refreshed_once_with_its_own_app_and_written_back() {
    let org = org();
    let env = Environment::seeds(&org);
    let before = env.keys();
    let run = on_env(&env, &["token"]).ok();
    // No recorded age (the collection's own login records none): refreshed first.
    assert_eq!(org.stats().refreshes_served, 1);
    let access = env.var("_accessToken").unwrap();
    assert_eq!(run.printed(), access);
    assert_eq!(env.var("_endpoint"), Some(org.url()));
    assert_eq!(env.var("myOwn").as_deref(), Some("untouched"));
    assert_eq!(&env.keys()[..before.len()], &before[..]);
    assert_eq!(env.mode(), 0o600);
    run.never_shows(&env.var("_refreshToken").unwrap());
    // Its age is known now: served as it is.
    assert_eq!(on_env(&env, &["token"]).ok().printed(), access);
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn refresh_writes_a_rotated_refresh_token_back_into_the_environment() {
    let org = org();
    let env = Environment::seeds(&org);
    let first = env.var("_refreshToken").unwrap();
    on_env(&env, &["refresh"]).ok();
    let second = env.var("_refreshToken").unwrap();
    assert_ne!(second, first);
    assert!(org.refresh_token_is_live(&second));
    assert!(
        !org.refresh_token_is_live(&first),
        "the rotated-out one is spent"
    );
    on_env(&env, &["refresh"]).ok();
    assert_ne!(env.var("_refreshToken").unwrap(), second);
    assert_eq!(org.stats().reuse_detected, 0);
}

#[test]
fn many_processes_on_one_environment_make_one_refresh() {
    const CALLERS: usize = 32;
    let org = OrgBuilder::new()
        .latency(Duration::from_millis(200))
        .start();
    let env = Environment::seeds(&org);
    let runs = finish_all(
        (0..CALLERS)
            .map(|_| on_env(&env, &["token"]).start())
            .collect(),
    );
    let printed = printed_by_all(&runs);
    let expected = format!("{}\n", env.var("_accessToken").unwrap());
    assert_eq!(printed, BTreeSet::from([expected.as_str()]));
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 1, "{stats:?}");
    assert_eq!(stats.refused_parallel, 0, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

#[test]
fn a_failed_refresh_leaves_the_environment_byte_for_byte() {
    let org = org();
    let env = Environment::seeds(&org);
    org.revoke_refresh_token(&env.var("_refreshToken").unwrap());
    let before = env.bytes();
    on_env(&env, &["token"])
        .exits(exit::LOGIN_REQUIRED)
        .never_shows(&env.var("_accessToken").unwrap());
    assert_eq!(env.bytes(), before);
}

#[test]
fn a_file_that_is_no_environment_is_a_usage_error_and_stays() {
    let org = org();
    let env = Environment::seeds(&org);
    std::fs::write(
        &env.path,
        br#"{"info": {"name": "a collection"}, "item": []}"#,
    )
    .unwrap();
    let before = env.bytes();
    on_env(&env, &["token"])
        .exits(exit::USAGE)
        .stderr_has("is not an exported Postman environment")
        .stderr_has("hint:");
    assert_eq!(env.bytes(), before);
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn a_flag_beats_the_environments_own_app() {
    let org = org();
    let env = Environment::seeds(&org);
    on_env(&env, &["token", "--client-id", "someone-else"]).exits(exit::CLIENT_REJECTED);
    assert_eq!(org.stats().refreshes_served, 0);
}

#[test]
fn newman_calls_the_org_on_the_token_sfauth_exec_put_in_the_environment() {
    let org = org();
    let env = Environment::seeds(&org);
    // Before: the collection has no `_endpoint` to call (its own login never sets one).
    newman(&seeds_collection(), &env)
        .args(["--folder", "Limits"])
        .exits(1);
    let run = without_proxies(
        sfauth()
            .args(["exec", "--store", &env.store(), "--"])
            .arg(newman_path())
            .args(newman_args(&seeds_collection(), &env))
            .args(["--folder", "Limits"]),
    )
    .ok();
    run.stdout_has("the org answers with its limits");
    assert_eq!(org.stats().refreshes_served, 1);
    let seen = org.last_rest_request().unwrap();
    assert_eq!(seen.path, "/services/data/v62.0/limits");
    assert_eq!(org.stats().rest_unauthorized, 0);
}

#[test]
fn after_the_seeds_refresh_item_ran_sfauth_checks_the_refresh_token_and_does_not_replay_it() {
    let org = org();
    let env = Environment::seeds(&org);
    on_env(&env, &["token"]).ok();
    // The seeds' own "Refresh Token" item, through newman, its environment written back:
    // it keeps the new access token and drops the rotated refresh token.
    let export = env.path.display().to_string();
    newman(&seeds_collection(), &env)
        .args(["--folder", "Refresh Token", "--export-environment", &export])
        .ok();
    assert_eq!(org.stats().refreshes_served, 2);
    let stale = env.var("_refreshToken").unwrap();
    assert!(
        !org.refresh_token_is_live(&stale),
        "rotated out by newman's refresh"
    );
    let run = on_env(&env, &["refresh"]).exits(exit::LOGIN_REQUIRED);
    run.stderr_has("another tool that replaced _accessToken");
    let stats = org.stats();
    // One check before sfauth's first refresh of this environment, one now.
    assert_eq!(
        stats.introspections, 2,
        "checked with the environment's secret: {stats:?}"
    );
    assert_eq!(stats.refreshes_served, 2, "not sent again: {stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

#[test]
fn when_the_seeds_refresh_item_ran_before_sfauth_ever_did_its_spent_token_is_not_replayed() {
    let org = org();
    let env = Environment::seeds(&org);
    let export = env.path.display().to_string();
    newman(&seeds_collection(), &env)
        .args(["--folder", "Refresh Token", "--export-environment", &export])
        .ok();
    assert_eq!(org.stats().refreshes_served, 1);
    on_env(&env, &["token"])
        .exits(exit::LOGIN_REQUIRED)
        .stderr_has("before sfauth ever refreshed it");
    let stats = org.stats();
    assert_eq!(stats.introspections, 1, "{stats:?}");
    assert_eq!(stats.refreshes_served, 1, "not sent again: {stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

#[test]
fn an_environment_without_its_client_secret_is_not_refreshed_blindly() {
    let org = org();
    let env = Environment::seeds(&org);
    env.set("clientSecret", "");
    on_env(&env, &["token"])
        .exits(exit::LOGIN_REQUIRED)
        .stderr_has("client secret");
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn an_environment_locked_by_another_refresh_times_out_and_stays() {
    let org = org();
    let env = Environment::seeds(&org);
    let before = env.bytes();
    let _held = HeldLock::of_token_file(&env.path);
    on_env(&env, &["token", "--timeout", "2s"])
        .exits(exit::UNAVAILABLE)
        .stderr_has(".lock");
    assert_eq!(env.bytes(), before);
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn an_org_logged_in_to_an_environment_is_served_from_it_and_status_says_so() {
    let org = org();
    let env = Environment::seeds(&org);
    let home = Home::new();
    let file = TokenFile::issued_by(&org);
    home.login_token_file("dev", &org, &file.path)
        .args(["--store", &env.store()])
        .ok();
    assert_eq!(env.var("_accessToken"), Some(file.field("access_token")));
    let token = home.sfauth().args(["token", "--org", "dev"]).ok();
    assert_eq!(token.printed(), file.field("access_token"));
    let status = home
        .sfauth()
        .args(["status", "--org", "dev", "--json"])
        .ok();
    status.never_shows(&file.field("access_token"));
    status.never_shows(&file.field("refresh_token"));
    let status = status.json();
    assert_eq!(status["store"], env.store().as_str());
    assert_eq!(status["store_key"], serde_json::Value::Null);
    assert_eq!(status["token_file"], serde_json::Value::Null);
}
