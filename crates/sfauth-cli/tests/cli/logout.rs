//! Ending and moving a login: `sfauth revoke`, `sfauth logout` and `sfauth export`.
//! A revoke the server refuses, or one that cannot reach it, changes nothing stored.

use std::path::Path;

use sfauth_test_support::net::shut_down;
use sfauth_test_support::prelude::*;

/// Adopts a token file for `alias` whose refresh token the server never issued: every
/// revoke of it is refused with `invalid_token`.
fn org_with_an_unknown_refresh_token(home: &Home, org: &Emulator, alias: &str) -> TokenFile {
    let mut token = org.issue_token(USERNAME);
    token["refresh_token"] = "5Aep861NeverIssued.by.this.org==".into();
    let file = TokenFile::new(&token);
    home.adopt(alias, org, &file.path);
    file
}

/// A home with `ci` stored by `login sfdx-url` at `org`.
fn home_with_ci(org: &Emulator) -> Home {
    let home = Home::new();
    home.store_sfdx_org(org, "ci");
    home
}

fn run(home: &Home, args: &[&str]) -> TestCommand {
    home.sfauth().args(args)
}

/// Panics unless `home` lists no org and `token_file` is gone.
fn assert_forgotten(home: &Home, token_file: &Path) {
    assert!(home.orgs().is_empty(), "{:?}", home.orgs());
    assert!(!token_file.exists(), "the token file is still there");
}

// ---- revoke --------------------------------------------------------------------------

#[test]
fn revoke_kills_the_refresh_token_so_the_next_refresh_needs_a_login() {
    let org = org();
    let home = home_with_ci(&org);

    run(&home, &["revoke", "--org", "ci"])
        .ok()
        .stderr_has("revoked the refresh token");

    assert_eq!(org.stats().revocations, 1);
    assert_eq!(home.aliases(), ["ci"], "revoke must not forget the org");
    run(&home, &["refresh", "--org", "ci"]).exits(exit::LOGIN_REQUIRED);
}

#[test]
fn revoke_the_server_refuses_fails_and_leaves_the_org_unchanged() {
    let org = org();
    let home = home_with_ci(&org);
    run(&home, &["revoke", "--org", "ci"]).ok();
    let before = home.saved("ci");
    let refresh_token = text(&home.token("ci"), "refresh_token");

    run(&home, &["revoke", "--org", "ci"])
        .exits(exit::LOGIN_REQUIRED)
        .stdout_is_empty()
        .stderr_has("invalid_token")
        .stderr_has("already invalid")
        .stderr_has("hint:")
        .never_shows(&refresh_token);

    assert_eq!(org.stats().revocations, 1);
    home.assert_unchanged("ci", &before);
}

#[test]
fn revoke_of_a_token_the_server_does_not_know_fails_and_leaves_the_org_unchanged() {
    let org = org();
    let home = Home::new();
    let file = org_with_an_unknown_refresh_token(&home, &org, "dev");
    let config = home.config_bytes();
    let token = file.bytes();

    run(&home, &["revoke", "--org", "dev"])
        .exits(exit::LOGIN_REQUIRED)
        .stdout_is_empty()
        .stderr_has("invalid_token")
        .stderr_has("already invalid")
        .stderr_lacks("NeverIssued");

    assert_eq!(org.stats().revocations, 0);
    assert!(home.config_bytes() == config, "config.toml changed");
    assert!(file.bytes() == token, "the token file changed");
}

#[test]
fn revoke_of_the_access_token_only_keeps_the_refresh_token_working() {
    let org = org();
    let home = home_with_ci(&org);

    run(&home, &["revoke", "--org", "ci", "--access-token-only"])
        .ok()
        .stderr_has("revoked the access token");

    assert_eq!(org.stats().revocations, 1);
    run(&home, &["refresh", "--org", "ci"]).ok();
}

#[test]
fn after_revoking_the_access_token_only_token_prints_a_renewed_one() {
    let org = org();
    let home = home_with_ci(&org);
    let revoked = text(&home.token("ci"), "access_token");
    let refreshes_at_login = org.stats().refreshes_served;
    run(&home, &["revoke", "--org", "ci", "--access-token-only"])
        .ok()
        .stderr_has("renewed");

    let printed = run(&home, &["token", "--org", "ci"])
        .ok()
        .printed()
        .to_owned();

    assert_ne!(printed, revoked, "the revoked access token was handed out");
    assert_eq!(printed, text(&home.token("ci"), "access_token"));
    // One renewal, by the revoke; `token` then serves it without another.
    assert_eq!(org.stats().refreshes_served, refreshes_at_login + 1);
}

// ---- logout --------------------------------------------------------------------------

#[test]
fn logout_revokes_then_forgets_the_org_and_deletes_its_token_file() {
    let org = org();
    let home = home_with_ci(&org);

    run(&home, &["logout", "--org", "ci"])
        .ok()
        .stderr_has("revoked")
        .stderr_has("logged out of `ci`");

    assert_eq!(org.stats().revocations, 1);
    assert_forgotten(&home, &home.token_file("ci"));
    // The default org went with it.
    run(&home, &["token"])
        .exits(exit::USAGE)
        .stderr_has("no org or token file given");
}

#[test]
fn logout_of_a_token_already_dead_at_salesforce_still_forgets_it() {
    let org = org();
    let home = home_with_ci(&org);
    org.revoke_refresh_token(&text(&home.token("ci"), "refresh_token"));

    run(&home, &["logout", "--org", "ci"])
        .ok()
        .stderr_has("already invalid");

    assert_forgotten(&home, &home.token_file("ci"));
}

#[test]
fn logout_of_a_token_the_server_does_not_know_still_forgets_it() {
    let org = org();
    let home = Home::new();
    let _file = org_with_an_unknown_refresh_token(&home, &org, "dev");

    run(&home, &["logout", "--org", "dev"])
        .ok()
        .stderr_has("already invalid")
        .stderr_has("logged out of `dev`");

    assert!(home.orgs().is_empty());
}

#[test]
fn logout_when_salesforce_cannot_be_reached_keeps_the_org_and_its_token() {
    let org = org();
    let home = home_with_ci(&org);
    let before = home.saved("ci");
    shut_down(org);

    run(&home, &["logout", "--org", "ci"])
        .exits(exit::UNAVAILABLE)
        .stderr_has("cannot revoke the token of `ci`")
        .stderr_has("nothing was deleted")
        .stderr_has("--local-only");

    home.assert_unchanged("ci", &before);
}

#[test]
fn logout_local_only_forgets_an_org_that_cannot_be_reached() {
    let org = org();
    let home = home_with_ci(&org);
    shut_down(org);

    run(&home, &["logout", "--org", "ci", "--local-only"])
        .ok()
        .stderr_has("logged out of `ci`");

    assert_forgotten(&home, &home.token_file("ci"));
}

#[test]
fn logout_of_an_adopted_token_file_leaves_the_file_in_place() {
    let org = org();
    let home = Home::new();
    let file = TokenFile::issued_by(&org);
    home.adopt("dev", &org, &file.path);
    let before = file.bytes();

    run(&home, &["logout", "--org", "dev"])
        .ok()
        .stderr_has("left in place");

    assert_eq!(org.stats().revocations, 1);
    assert!(home.orgs().is_empty());
    assert!(file.bytes() == before, "the adopted file changed");
}

// ---- export --------------------------------------------------------------------------

#[test]
fn exported_sfdx_url_logs_in_under_another_alias() {
    let org = org();
    let home = Home::new();
    home.store_sfdx_org(&org, "a");

    let url = run(&home, &["export", "--org", "a", "--format", "sfdx-url"])
        .ok()
        .printed()
        .to_owned();

    assert!(url.starts_with("force://"), "{url}");
    assert!(
        url.contains(&text(&home.token("a"), "refresh_token")),
        "the URL does not hold the current refresh token"
    );
    assert!(url.ends_with(&format!("@{}", org.url())), "{url}");
    home.login_sfdx_url("b", Path::new("-"))
        .stdin(format!("{url}\n"))
        .ok();
    assert_eq!(home.aliases(), ["a", "b"]);
    assert_eq!(org.stats().refreshes_served, 2);
    run(&home, &["refresh", "--org", "b"]).ok();
}

#[test]
fn export_of_an_org_without_a_refresh_token_is_a_usage_error() {
    let org = org();
    let home = Home::new();
    home.login_access_token("adopted", &org).ok();

    run(
        &home,
        &["export", "--org", "adopted", "--format", "sfdx-url"],
    )
    .exits(exit::USAGE)
    .stdout_is_empty()
    .stderr_has("no refresh token to export");
}
