//! Logins that import a credential made elsewhere: an SFDX auth URL (`force://...`, from a
//! file or stdin) and an access token (`SF_ACCESS_TOKEN` or stdin).
//!
//! The refusals of a badly shaped URL are pinned word for word in `errors`.

use std::path::Path;

use sfauth_test_support::prelude::*;

// ---- SFDX auth URL -------------------------------------------------------------------

#[test]
fn sfdx_url_login_from_a_file_refreshes_once_and_stores_the_org() {
    let org = org();
    let home = Home::new();
    let refresh_token = org.fresh_refresh_token();
    let file = home.file("auth-url", &org.sfdx_url(&refresh_token));

    home.login_sfdx_url("ci", &file)
        .ok()
        .stderr_has("stored org `ci`");

    assert_eq!(org.stats().refreshes_served, 1);
    let row = home.org("ci");
    assert_eq!(row["flow"], "sfdx-url");
    assert_eq!(row["client_id"], org.client_id());
    assert_eq!(row["instance_url"], org.url());
    let config = String::from_utf8(home.config_bytes()).unwrap();
    assert!(!config.contains(org.client_secret()), "{config}");
    assert!(!config.contains(&refresh_token), "{config}");
    assert_eq!(mode(&home.token_file("ci")), 0o600);

    // The secret that came in the URL is used: the refresh's signature is verified.
    home.sfauth()
        .args(["refresh", "--org", "ci"])
        .ok()
        .stderr_has("signature verified");
    assert_eq!(org.stats().refreshes_served, 2);
}

#[test]
fn sfdx_url_login_merges_its_refresh_as_a_refresh_does_and_records_the_rotation() {
    for rotation in [true, false] {
        let org = OrgBuilder::new().with(|c| c.rotation = rotation).start();
        let home = Home::new();
        let refresh_token = org.fresh_refresh_token();
        let file = home.file("auth-url", &org.sfdx_url(&refresh_token));

        home.login_sfdx_url("ci", &file).ok();

        let stored = home.token("ci");
        assert_eq!(
            text(&stored, "refresh_token") == refresh_token,
            !rotation,
            "rotation {rotation}: {:?}",
            keys(&stored)
        );
        assert_eq!(stored["sfauth_rotation"], rotation.to_string());
        // An org known not to rotate exports without the single-use warning.
        let export = home
            .sfauth()
            .args(["export", "--org", "ci", "--format", "sfdx-url"])
            .ok();
        assert_eq!(
            export.stderr.contains("single-use"),
            rotation,
            "rotation {rotation}: {export}"
        );
    }
}

#[test]
fn sfdx_url_login_reads_the_url_from_stdin() {
    let org = org();
    let home = Home::new();
    let url = org.sfdx_url(&org.fresh_refresh_token());

    home.login_sfdx_url("ci", Path::new("-"))
        .stdin(format!("{url}\n"))
        .ok();

    assert_eq!(org.stats().refreshes_served, 1);
    assert_eq!(home.org("ci")["flow"], "sfdx-url");
}

#[test]
fn sfdx_url_with_a_revoked_refresh_token_is_login_required_and_stores_nothing() {
    let org = org();
    let home = Home::new();
    let refresh_token = org.fresh_refresh_token();
    org.revoke_refresh_token(&refresh_token);
    let file = home.file("auth-url", &org.sfdx_url(&refresh_token));

    home.login_sfdx_url("ci", &file)
        .exits(exit::LOGIN_REQUIRED)
        .stderr_has("invalid_grant")
        .never_shows(&refresh_token);

    home.assert_no_org();
}

// ---- access token --------------------------------------------------------------------

#[test]
fn access_token_login_from_the_environment_serves_that_token() {
    let org = org();
    let home = Home::new();
    let access = org.fresh_access_token();

    home.login_access_token("adopted", &org)
        .env("SF_ACCESS_TOKEN", &access)
        .ok()
        .stderr_has("cannot be renewed")
        .never_shows(&access);

    let row = home.org("adopted");
    assert_eq!(row["flow"], "access-token");
    assert_eq!(row["refresh_token"], "none");
    let run = home.sfauth().args(["token", "--org", "adopted"]).ok();
    assert_eq!(run.printed(), access);
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn access_token_login_reads_the_token_from_stdin() {
    let org = org();
    let home = Home::new();
    let access = org.fresh_access_token();

    home.login_access_token("adopted", &org)
        .env_remove("SF_ACCESS_TOKEN")
        .stdin(format!("{access}\n"))
        .ok();

    assert_eq!(text(&home.token("adopted"), "access_token"), access);
}

#[test]
fn adopted_access_token_when_stale_says_it_cannot_be_renewed() {
    let org = org();
    let home = Home::new();
    let access = org.fresh_access_token();
    home.login_access_token("adopted", &org)
        .env("SF_ACCESS_TOKEN", &access)
        .ok();
    let before = home.saved("adopted");

    home.sfauth()
        .args(["token", "--org", "adopted", "--max-age", "0s"])
        .exits(exit::LOGIN_REQUIRED)
        .stdout_is_empty()
        .stderr_has("cannot renew")
        .stderr_has("hint:")
        .never_shows(&access);

    home.assert_unchanged("adopted", &before);
    assert_eq!(org.stats().token_requests, 0);
}
