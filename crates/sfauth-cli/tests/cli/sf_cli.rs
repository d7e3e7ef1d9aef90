//! The Salesforce CLI's orgs: `orgs --sf`, `--store sf:ALIAS`, `login sf`, with the real
//! `@salesforce/core` on the other side of the auth file, its key in the generic key file
//! or in a real Secret Service.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use sfauth_test_support::keychain::SecretService;
use sfauth_test_support::prelude::*;
use sfauth_test_support::sf_core::SfCore;

const USER: &str = "ada@example.com";

/// `sfauth` in `home`, sharing `sf`'s files (its `HOME`, its key).
fn with_sf(home: &Home, sf: &SfCore) -> TestCommand {
    home.sfauth().envs(sf.envs())
}

fn logged_in(org: &Emulator) -> SfCore {
    let sf = SfCore::new(true);
    sf.log_in(org, USER, "dev");
    sf
}

#[test]
fn orgs_sf_lists_the_cli_s_orgs_aliases_and_default_without_secrets() {
    let org = org();
    let sf = logged_in(&org);
    std::fs::create_dir_all(sf.home.path().join(".sf")).unwrap();
    std::fs::write(
        sf.home.path().join(".sf/config.json"),
        r#"{"target-org": "dev"}"#,
    )
    .unwrap();
    let home = Home::new();
    let run = with_sf(&home, &sf).args(["orgs", "--sf", "--json"]).ok();
    let rows = run.json();
    assert_eq!(rows[0]["username"], USER);
    assert_eq!(rows[0]["aliases"], serde_json::json!(["dev"]));
    assert_eq!(rows[0]["default"], true);
    assert_eq!(rows[0]["renewal"], "refresh_token");
    assert_eq!(rows[0]["store"], format!("sf:{USER}"));
    let fields = sf.read_org(USER);
    for secret in ["accessToken", "refreshToken", "clientSecret"] {
        run.never_shows(fields[secret].as_str().unwrap());
    }
    let table = with_sf(&home, &sf).args(["orgs", "--sf"]).ok();
    assert!(table.stdout.contains("dev") && table.stdout.contains(USER));
    assert!(table.stderr.contains("sfauth login sf"), "{}", table.stderr);
}

#[test]
fn a_token_from_the_cli_s_org_is_refreshed_and_the_cli_reads_the_new_one() {
    let org = org();
    let sf = logged_in(&org);
    let home = Home::new();
    let run = with_sf(&home, &sf)
        .args(["token", "--store", "sf:dev"])
        .ok();
    // The CLI keeps no age: refreshed first, with the app the auth file names.
    assert_eq!(org.stats().refreshes_served, 1);
    let fields = sf.read_org(USER);
    assert_eq!(run.printed(), fields["accessToken"].as_str().unwrap());
    assert!(org.refresh_token_is_live(fields["refreshToken"].as_str().unwrap()));
    run.never_shows(fields["refreshToken"].as_str().unwrap());
    // Served again as it is: its age is recorded now.
    with_sf(&home, &sf)
        .args(["token", "--store", "sf:dev"])
        .ok();
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn login_sf_registers_the_org_and_serves_it_from_the_cli_s_file() {
    let org = org();
    let sf = logged_in(&org);
    let home = Home::new();
    with_sf(&home, &sf)
        .args(["login", "sf", "--alias", "mine", "--from", "dev"])
        .ok();
    assert_eq!(org.stats().token_requests, 0, "nothing asked of Salesforce");
    let token = with_sf(&home, &sf).args(["token", "--org", "mine"]).ok();
    assert_eq!(
        token.printed(),
        sf.read_org(USER)["accessToken"].as_str().unwrap()
    );
    let status = with_sf(&home, &sf)
        .args(["status", "--org", "mine", "--json"])
        .ok();
    let details = status.json();
    assert_eq!(details["store"], format!("sf:{USER}"));
    assert_eq!(details["flow"], "sf");
    assert_eq!(details["client_id"], org.config().client_id.as_str());
    assert_eq!(details["store_key"], Value::Null);
    status.never_shows(token.printed());
    // `orgs --sf` says which sfauth alias uses it.
    let rows = with_sf(&home, &sf)
        .args(["orgs", "--sf", "--json"])
        .ok()
        .json();
    assert_eq!(rows[0]["sfauth_aliases"], serde_json::json!(["mine"]));
}

#[test]
fn a_cli_refresh_that_kept_a_spent_refresh_token_stops_sfauth_before_a_replay() {
    let org = org();
    let sf = logged_in(&org);
    let home = Home::new();
    with_sf(&home, &sf)
        .args(["login", "sf", "--alias", "mine", "--from", USER])
        .ok();
    with_sf(&home, &sf).args(["refresh", "--org", "mine"]).ok();
    // The CLI refreshes with the token sfauth saved, and writes back the one it sent.
    sf.refresh_org(USER);
    let before = org.stats();
    let run = with_sf(&home, &sf)
        .args(["refresh", "--org", "mine"])
        .exits(exit::LOGIN_REQUIRED);
    assert!(run.stderr.contains("Salesforce CLI"), "{}", run.stderr);
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, before.refreshes_served, "not sent");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

#[test]
fn an_unknown_or_corrupt_cli_org_is_a_clear_error_and_nothing_is_written() {
    let org = org();
    let sf = logged_in(&org);
    let home = Home::new();
    let run = with_sf(&home, &sf)
        .args(["token", "--store", "sf:nope"])
        .exits(exit::USAGE);
    assert!(run.error().contains("no org `nope`"), "{}", run.stderr);
    assert!(run.hint().unwrap().contains("orgs --sf"), "{}", run.stderr);
    let path = sf.auth_file(USER);
    std::fs::write(&path, b"{not json").unwrap();
    let run = with_sf(&home, &sf)
        .args(["token", "--store", "sf:dev"])
        .exits(exit::USAGE);
    assert!(
        run.error().contains("Salesforce CLI auth file"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"{not json");
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn login_sf_refuses_another_store() {
    let org = org();
    let sf = logged_in(&org);
    let home = Home::new();
    let run = with_sf(&home, &sf)
        .args([
            "login",
            "sf",
            "--alias",
            "x",
            "--from",
            "dev",
            "--store",
            "file:/tmp/x.json",
        ])
        .exits(exit::USAGE);
    assert!(run.error().contains("--store"), "{}", run.stderr);
    assert!(!home.config_file().exists());
}

#[test]
fn with_the_key_in_the_keychain_both_tools_share_the_org() {
    let keychain = SecretService::start();
    let org = org();
    let sf = SfCore::with_keychain(true, &keychain);
    sf.log_in(&org, USER, "dev");
    assert!(
        keychain
            .lookup(&["user", "local", "domain", "sfdx"])
            .is_some(),
        "the CLI made its key in the keychain"
    );
    assert!(!sf.sfdx_dir().join("key.json").exists());
    let home = Home::new();
    let run = with_sf(&home, &sf)
        .args(["token", "--store", "sf:dev"])
        .ok();
    assert_eq!(
        run.printed(),
        sf.read_org(USER)["accessToken"].as_str().unwrap(),
        "what sfauth wrote, the CLI decrypts with the keychain's key"
    );
}

#[test]
fn a_locked_keychain_is_a_clear_error_not_a_hang() {
    let keychain = SecretService::start();
    let org = org();
    let sf = SfCore::with_keychain(false, &keychain);
    sf.log_in(&org, USER, "dev");
    let before = std::fs::read(sf.auth_file(USER)).unwrap();
    keychain.lock_all();
    let home = Home::new();
    let run = with_sf(&home, &sf)
        .args(["token", "--store", "sf:dev"])
        .fails();
    assert!(run.error().contains("locked"), "{}", run.stderr);
    assert!(run.hint().unwrap().contains("unlock"), "{}", run.stderr);
    assert_eq!(std::fs::read(sf.auth_file(USER)).unwrap(), before);
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn many_processes_on_the_cli_s_org_make_one_refresh() {
    const CALLERS: usize = 32;
    let org = OrgBuilder::new()
        .latency(Duration::from_millis(200))
        .start();
    let sf = logged_in(&org);
    let home = Home::new();
    let runs = finish_all(
        (0..CALLERS)
            .map(|_| {
                with_sf(&home, &sf)
                    .args(["token", "--store", "sf:dev"])
                    .start()
            })
            .collect(),
    );
    let printed = printed_by_all(&runs);
    let expected = format!("{}\n", sf.read_org(USER)["accessToken"].as_str().unwrap());
    assert_eq!(printed, BTreeSet::from([expected.as_str()]));
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 1, "{stats:?}");
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
}

#[test]
fn a_failed_refresh_leaves_the_cli_s_auth_file_byte_for_byte() {
    let org = org();
    let sf = logged_in(&org);
    let before = std::fs::read(sf.auth_file(USER)).unwrap();
    org.inject(Fault::OAuthError {
        status: 400,
        error: "invalid_grant".into(),
        description: "expired access/refresh token".into(),
    });
    let run = with_sf(&Home::new(), &sf)
        .args(["refresh", "--store", "sf:dev"])
        .exits(exit::LOGIN_REQUIRED);
    assert_eq!(std::fs::read(sf.auth_file(USER)).unwrap(), before);
    run.never_shows(sf.read_org(USER)["refreshToken"].as_str().unwrap());
}

#[test]
fn logout_of_a_cli_org_forgets_the_alias_and_leaves_the_cli_s_login_working() {
    let org = org();
    let sf = logged_in(&org);
    let home = Home::new();
    with_sf(&home, &sf)
        .args(["login", "sf", "--alias", "mine", "--from", "dev"])
        .ok();
    let before = std::fs::read(sf.auth_file(USER)).unwrap();
    let run = with_sf(&home, &sf).args(["logout", "--org", "mine"]).ok();
    assert!(run.stderr.contains("sf org logout"), "{}", run.stderr);
    assert_eq!(std::fs::read(sf.auth_file(USER)).unwrap(), before);
    assert!(org.refresh_token_is_live(sf.read_org(USER)["refreshToken"].as_str().unwrap()));
    with_sf(&home, &sf)
        .args(["token", "--org", "mine"])
        .exits(exit::USAGE);
}
