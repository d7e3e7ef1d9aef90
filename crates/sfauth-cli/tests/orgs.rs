//! Named orgs: `login token-file`, `--org`, the default org, `orgs`, `status`.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{TokenFile, default_emulator, mode, sfauth};
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

/// `sfauth` with its own config home.
fn sfauth_in(home: &Path) -> Command {
    let mut cmd = sfauth();
    cmd.env("SFAUTH_HOME", home);
    cmd
}

fn adopt(home: &Path, alias: &str, client_id: &str, path: &Path, default: bool) {
    let mut cmd = sfauth_in(home);
    cmd.args([
        "login",
        "token-file",
        "--alias",
        alias,
        "--client-id",
        client_id,
    ])
    .arg(path);
    if default {
        cmd.arg("--set-default");
    }
    cmd.assert()
        .success()
        .stderr(predicate::str::contains(format!("org `{alias}`")));
}

/// What a successful run printed on stdout, trimmed.
fn printed(cmd: &mut Command) -> String {
    let output = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(output).unwrap().trim().to_owned()
}

fn home() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("sfauth-home");
    (dir, home)
}

#[test]
fn adopted_token_file_is_refreshed_in_place_by_alias() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &file.path, false);
    let before = file.field("refresh_token");
    sfauth_in(&home)
        .args(["refresh", "--org", "dev"])
        .assert()
        .success();
    assert_ne!(
        file.field("refresh_token"),
        before,
        "the adopted file was not updated in place"
    );
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn first_org_becomes_the_default_and_needs_no_flag() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &file.path, false);
    let out = printed(sfauth_in(&home).arg("token"));
    assert_eq!(out, file.field("access_token"));
}

#[test]
fn set_default_moves_the_default() {
    let org = default_emulator();
    let a = TokenFile::issued_by(&org);
    let b = TokenFile::new(&org.issue_token("bob@example.com"));
    let (_d, home) = home();
    adopt(&home, "a", &org.config().client_id, &a.path, false);
    adopt(&home, "b", &org.config().client_id, &b.path, true);
    let out = printed(sfauth_in(&home).arg("token"));
    assert_eq!(out, b.field("access_token"));
}

#[test]
fn explicit_token_file_beats_the_default_org() {
    let org = default_emulator();
    let stored = TokenFile::issued_by(&org);
    let other = TokenFile::new(&org.issue_token("bob@example.com"));
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &stored.path, true);
    let out = printed(
        sfauth_in(&home)
            .arg("token")
            .arg("--token-file")
            .arg(&other.path)
            .args(["--client-id", &org.config().client_id]),
    );
    assert_eq!(out, other.field("access_token"));
}

#[test]
fn org_and_token_file_together_are_a_usage_error() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &file.path, false);
    sfauth_in(&home)
        .args(["token", "--org", "dev", "--token-file"])
        .arg(&file.path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("both --org and --token-file"));
}

#[test]
fn a_token_file_flag_beats_an_exported_sfauth_org() {
    let org = default_emulator();
    let stored = TokenFile::issued_by(&org);
    let other = TokenFile::new(&org.issue_token("bob@example.com"));
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &stored.path, true);

    let out = printed(
        sfauth_in(&home)
            .env("SFAUTH_ORG", "dev")
            .arg("token")
            .arg("--token-file")
            .arg(&other.path)
            .args(["--client-id", &org.config().client_id]),
    );

    assert_eq!(out, other.field("access_token"));
}

#[test]
fn an_org_flag_beats_an_exported_sfauth_token_file() {
    let org = default_emulator();
    let stored = TokenFile::issued_by(&org);
    let other = TokenFile::new(&org.issue_token("bob@example.com"));
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &stored.path, false);

    let out = printed(
        sfauth_in(&home)
            .env("SFAUTH_TOKEN_FILE", &other.path)
            .args(["token", "--org", "dev"]),
    );

    assert_eq!(out, stored.field("access_token"));
}

#[test]
fn exported_sfauth_org_and_sfauth_token_file_together_are_a_usage_error() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &file.path, false);
    sfauth_in(&home)
        .env("SFAUTH_ORG", "dev")
        .env("SFAUTH_TOKEN_FILE", &file.path)
        .arg("token")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "both SFAUTH_ORG and SFAUTH_TOKEN_FILE are set",
        ));
}

#[test]
fn an_unknown_org_from_sfauth_org_says_where_the_name_came_from() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &file.path, false);
    sfauth_in(&home)
        .env("SFAUTH_ORG", "prod")
        .arg("token")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no org named `prod` (from SFAUTH_ORG)",
        ))
        .stderr(predicate::str::contains("known orgs: dev"));
}

#[test]
fn every_command_that_names_an_org_says_an_unknown_one_came_from_sfauth_org() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &file.path, false);
    for args in [
        &["refresh"][..],
        &["status"],
        &["revoke"],
        &["logout"],
        &["export", "--format", "sfdx-url"],
    ] {
        sfauth_in(&home)
            .env("SFAUTH_ORG", "prod")
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "no org named `prod` (from SFAUTH_ORG)",
            ))
            .stderr(predicate::str::contains("known orgs: dev"));
    }
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn a_login_url_from_the_environment_that_is_refused_says_where_it_came_from() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let before = file.bytes();
    for args in [
        &["refresh", "--token-file", file.path.to_str().unwrap()][..],
        &["login", "client-credentials", "--alias", "int"],
    ] {
        sfauth()
            .env("SFAUTH_LOGIN_URL", "http://example.com")
            .env("SFAUTH_CLIENT_ID", &org.config().client_id)
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("(from SFAUTH_LOGIN_URL)"))
            .stderr(predicate::str::contains("hint:"));
    }
    assert!(file.bytes() == before);
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn an_exported_client_id_does_not_replace_a_named_orgs_own() {
    let org = default_emulator();
    let file = TokenFile::new(&common::stale(&org.issue_token("ada@example.com")));
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &file.path, true);
    let old = file.field("access_token");

    sfauth_in(&home)
        .env("SFAUTH_CLIENT_ID", "some-other-app")
        .args(["token", "--org", "dev"])
        .assert()
        .success();

    assert_ne!(
        file.field("access_token"),
        old,
        "refreshed with the org's app"
    );
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn an_exported_client_id_serves_a_token_file() {
    let org = default_emulator();
    let file = TokenFile::new(&common::stale(&org.issue_token("ada@example.com")));
    let old = file.field("access_token");

    sfauth()
        .env("SFAUTH_CLIENT_ID", &org.config().client_id)
        .arg("token")
        .arg("--token-file")
        .arg(&file.path)
        .assert()
        .success();

    assert_ne!(file.field("access_token"), old);
}

#[test]
fn unknown_org_is_a_usage_error_listing_the_known_ones() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &file.path, false);
    sfauth_in(&home)
        .args(["token", "--org", "prod"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no org named `prod`"))
        .stderr(predicate::str::contains("known orgs: dev"));
}

#[test]
fn no_org_and_no_token_file_says_how_to_fix_it() {
    let (_d, home) = home();
    sfauth_in(&home)
        .arg("token")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no org or token file given"))
        .stderr(predicate::str::contains("hint:"));
}

#[test]
fn config_is_private_and_holds_no_secret() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let (d, home) = home();
    let secret_file = d.path().join("secret");
    std::fs::write(&secret_file, format!("{}\n", org.config().client_secret)).unwrap();
    sfauth_in(&home)
        .args([
            "login",
            "token-file",
            "--alias",
            "dev",
            "--client-id",
            &org.config().client_id,
        ])
        .arg("--client-secret-file")
        .arg(&secret_file)
        .arg(&file.path)
        .assert()
        .success();
    let config = home.join("config.toml");
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(&home), 0o700);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(!text.contains(&org.config().client_secret));
    assert!(text.contains(&secret_file.display().to_string()));
    // The stored secret source is used: the signature gets verified.
    sfauth_in(&home)
        .args(["refresh", "--org", "dev"])
        .assert()
        .success()
        .stderr(predicate::str::contains("signature verified"));
}

#[test]
fn orgs_lists_each_org_with_the_default_marked() {
    let org = default_emulator();
    let a = TokenFile::issued_by(&org);
    let b = TokenFile::new(&org.issue_token("bob@example.com"));
    let (_d, home) = home();
    adopt(&home, "alpha", &org.config().client_id, &a.path, false);
    adopt(&home, "beta", &org.config().client_id, &b.path, false);
    let out = sfauth_in(&home)
        .args(["orgs", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows: Value = serde_json::from_slice(&out).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["alias"], "alpha");
    assert_eq!(
        rows[0]["username"], "ada@example.com",
        "the username comes from UserInfo"
    );
    assert_eq!(rows[1]["username"], "bob@example.com");
    assert_eq!(rows[0]["default"], true);
    assert_eq!(rows[1]["default"], false);
    assert_eq!(rows[1]["flow"], "token-file");
    let table = sfauth_in(&home)
        .arg("orgs")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(table.starts_with("ALIAS"));
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("alpha") && l.ends_with('*'))
    );
}

#[test]
fn status_redacts_every_token() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let (_d, home) = home();
    adopt(&home, "dev", &org.config().client_id, &file.path, false);
    for args in [
        &["status"][..],
        &["status", "--json"][..],
        &["orgs", "--json"][..],
    ] {
        let out = sfauth_in(&home)
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains(&file.field("access_token")),
            "{args:?} leaked the access token"
        );
        assert!(
            !all.contains(&file.field("refresh_token")),
            "{args:?} leaked the refresh token"
        );
    }
    let out = sfauth_in(&home)
        .args(["status", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let status: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(status["access_token"], "[redacted]");
    assert_eq!(status["instance_url"], org.url());
    assert_eq!(status["fresh"], true);
}

#[test]
fn login_with_a_bad_alias_changes_nothing() {
    let org = default_emulator();
    let file = TokenFile::issued_by(&org);
    let (_d, home) = home();
    sfauth_in(&home)
        .args([
            "login",
            "token-file",
            "--alias",
            "../evil",
            "--client-id",
            "x",
        ])
        .arg(&file.path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a valid org alias"));
    assert!(!home.join("config.toml").exists());
}

#[test]
fn adopting_a_corrupt_token_file_is_refused() {
    let (d, home) = home();
    let path = d.path().join("t.json");
    std::fs::write(&path, "not json").unwrap();
    sfauth_in(&home)
        .args(["login", "token-file", "--alias", "dev", "--client-id", "x"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a usable token"));
    assert!(!home.join("config.toml").exists());
}
