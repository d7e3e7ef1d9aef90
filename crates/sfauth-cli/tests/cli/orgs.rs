//! Named orgs: `login token-file`, `--org`, the default org, `orgs`, `status`, and which of
//! a flag, an exported variable and the config wins.
//!
//! Each refusal's exact wording is pinned in `errors`.

use sfauth_test_support::prelude::*;

/// A home with `org`'s token file for [`USERNAME`] adopted as `dev`, the default org.
fn home_with_dev(org: &Emulator) -> (Home, TokenFile) {
    let home = Home::new();
    let file = TokenFile::issued_by(org);
    home.adopt("dev", org, &file.path);
    (home, file)
}

/// Two logins: ada's adopted as `dev`, the default org, and bob's in a token file of its
/// own. Which access token a run prints says which source won.
struct TwoLogins {
    org: Emulator,
    home: Home,
    dev: TokenFile,
    bob: TokenFile,
}

impl TwoLogins {
    fn new() -> TwoLogins {
        let org = org();
        let (home, dev) = home_with_dev(&org);
        let bob = TokenFile::new(&org.issue_token("bob@example.com"));
        TwoLogins {
            org,
            home,
            dev,
            bob,
        }
    }

    /// `sfauth token` in the home, with no source given.
    fn token(&self) -> TestCommand {
        self.home.sfauth().arg("token")
    }

    /// `sfauth token --token-file BOB --client-id ID` in the home.
    fn token_of_bobs_file(&self) -> TestCommand {
        self.token()
            .arg("--token-file")
            .arg(&self.bob.path)
            .args(["--client-id", self.org.client_id()])
    }

    /// Panics unless `cmd` succeeds printing the access token of `winner`.
    fn assert_serves(&self, cmd: TestCommand, winner: &TokenFile) {
        assert_eq!(cmd.ok().printed(), winner.field("access_token"));
    }
}

#[test]
fn adopted_token_file_is_refreshed_in_place_by_alias() {
    let org = org();
    let (home, file) = home_with_dev(&org);
    let before = file.field("refresh_token");

    home.sfauth().args(["refresh", "--org", "dev"]).ok();

    assert_ne!(
        file.field("refresh_token"),
        before,
        "the adopted file was not updated in place"
    );
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn first_org_becomes_the_default_and_needs_no_flag() {
    let two = TwoLogins::new();

    two.assert_serves(two.token(), &two.dev);
}

#[test]
fn set_default_moves_the_default() {
    let two = TwoLogins::new();

    two.home
        .login_token_file("bob", &two.org, &two.bob.path)
        .arg("--set-default")
        .ok();

    two.assert_serves(two.token(), &two.bob);
}

#[test]
fn explicit_token_file_beats_the_default_org() {
    let two = TwoLogins::new();

    two.assert_serves(two.token_of_bobs_file(), &two.bob);
}

#[test]
fn a_token_file_flag_beats_an_exported_sfauth_org() {
    let two = TwoLogins::new();

    two.assert_serves(two.token_of_bobs_file().env("SFAUTH_ORG", "dev"), &two.bob);
}

#[test]
fn an_org_flag_beats_an_exported_sfauth_token_file() {
    let two = TwoLogins::new();

    let cmd = two
        .token()
        .args(["--org", "dev"])
        .env("SFAUTH_TOKEN_FILE", &two.bob.path);

    two.assert_serves(cmd, &two.dev);
}

#[test]
fn every_command_that_names_an_org_says_an_unknown_one_came_from_sfauth_org() {
    let org = org();
    let (home, _dev) = home_with_dev(&org);

    for args in [
        &["refresh"][..],
        &["status"],
        &["revoke"],
        &["logout"],
        &["export", "--format", "sfdx-url"],
    ] {
        let run = home
            .sfauth()
            .env("SFAUTH_ORG", "prod")
            .args(args)
            .exits(exit::USAGE);
        assert_eq!(
            run.error(),
            "no org named `prod` (from SFAUTH_ORG)",
            "{run}"
        );
        assert_eq!(run.hint(), Some("known orgs: dev"), "{run}");
    }
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn a_login_url_from_the_environment_that_is_refused_says_where_it_came_from() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let before = file.bytes();
    let home = Home::new();
    let secret_file = home.secret_file(&org);
    let (file_path, secret_path) = (file.path.to_str().unwrap(), secret_file.to_str().unwrap());

    for args in [
        &["refresh", "--token-file", file_path][..],
        &[
            "login",
            "client-credentials",
            "--alias",
            "int",
            "--client-secret-file",
            secret_path,
        ],
    ] {
        let run = home
            .sfauth()
            .env("SFAUTH_LOGIN_URL", "http://example.com")
            .env("SFAUTH_CLIENT_ID", org.client_id())
            .args(args)
            .exits(exit::USAGE);
        assert_eq!(
            run.error(),
            "login URL `http://example.com` uses http:// for a host that is not loopback \
             (from SFAUTH_LOGIN_URL)",
            "{run}"
        );
        assert_eq!(
            run.hint(),
            Some(
                "use https://example.com: plain http is allowed only for 127.0.0.1, ::1 and \
                 localhost"
            ),
            "{run}"
        );
    }
    assert!(file.bytes() == before);
    home.assert_no_org();
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn an_exported_client_id_does_not_replace_a_named_orgs_own() {
    let org = org();
    let (home, file) = home_with_dev(&org);
    file.make_stale();
    let old = file.field("access_token");

    home.sfauth()
        .env("SFAUTH_CLIENT_ID", "some-other-app")
        .args(["token", "--org", "dev"])
        .ok();

    assert_ne!(
        file.field("access_token"),
        old,
        "refreshed with the org's app"
    );
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn an_exported_client_id_serves_a_token_file() {
    let org = org();
    let file = TokenFile::stale_from(&org);
    let old = file.field("access_token");

    sfauth()
        .env("SFAUTH_CLIENT_ID", org.client_id())
        .arg("token")
        .arg("--token-file")
        .arg(&file.path)
        .ok();

    assert_ne!(file.field("access_token"), old);
}

#[test]
fn config_is_private_and_holds_no_secret() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let home = Home::new();
    let secret_file = home.secret_file(&org);

    home.login_token_file("dev", &org, &file.path)
        .arg("--client-secret-file")
        .arg(&secret_file)
        .ok();

    assert_eq!(mode(&home.config_file()), 0o600);
    assert_eq!(mode(&home.path), 0o700);
    let config = String::from_utf8(home.config_bytes()).unwrap();
    assert!(!config.contains(org.client_secret()), "{config}");
    assert!(
        config.contains(&secret_file.display().to_string()),
        "{config}"
    );
    // The stored secret source is used: the signature gets verified.
    home.sfauth()
        .args(["refresh", "--org", "dev"])
        .ok()
        .stderr_has("signature verified");
}

#[test]
fn orgs_lists_each_org_with_the_default_marked() {
    let org = org();
    let home = Home::new();
    let alpha = TokenFile::issued_by(&org);
    let beta = TokenFile::new(&org.issue_token("bob@example.com"));
    home.adopt("alpha", &org, &alpha.path);
    home.adopt("beta", &org, &beta.path);

    let rows = home.orgs();

    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["alias"], "alpha");
    assert_eq!(
        rows[0]["username"], USERNAME,
        "the username comes from UserInfo"
    );
    assert_eq!(rows[1]["username"], "bob@example.com");
    assert_eq!(rows[0]["default"], true);
    assert_eq!(rows[1]["default"], false);
    assert_eq!(rows[1]["flow"], "token-file");
    let table = home.sfauth().arg("orgs").ok().stdout;
    assert!(table.starts_with("ALIAS"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("alpha") && l.ends_with('*')),
        "{table}"
    );
}

#[test]
fn status_redacts_every_token() {
    let org = org();
    let (home, file) = home_with_dev(&org);

    for args in [
        &["status"][..],
        &["status", "--json"][..],
        &["orgs", "--json"][..],
    ] {
        let run = home.sfauth().args(args).ok();
        run.never_shows(&file.field("access_token"))
            .never_shows(&file.field("refresh_token"));
    }

    let status = home.sfauth().args(["status", "--json"]).ok().json();
    assert_eq!(status["access_token"], "[redacted]");
    assert_eq!(status["instance_url"], org.url());
    assert_eq!(status["fresh"], true);
}
