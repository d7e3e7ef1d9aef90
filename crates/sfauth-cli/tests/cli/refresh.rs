//! `sfauth refresh` against the emulator: the seeds' token file written back right,
//! rotation, the `--json` summary, settings from the environment, site prefixes.

use serde_json::{Map, Value, json};
use sfauth_test_support::net::nowhere_url;
use sfauth_test_support::prelude::*;

#[test]
fn refresh_writes_back_the_seed_file_with_rotated_token_and_unknown_keys_in_order() {
    let org = org();
    let issued = org.issue_token(USERNAME);
    // The seeds' token file, plus keys sfauth does not know: one in the middle, one last.
    let mut seed = Map::new();
    for (key, value) in issued.as_object().unwrap() {
        seed.insert(key.clone(), value.clone());
        if key == "scope" {
            seed.insert("x_custom".into(), json!({"nested": [1, 2]}));
        }
    }
    seed.insert("x_last".into(), json!("kept at the end"));
    let seed = Value::Object(seed);
    let file = TokenFile::new(&seed);
    assert_eq!(
        keys(&seed),
        [
            "access_token",
            "refresh_token",
            "signature",
            "scope",
            "x_custom",
            "instance_url",
            "id",
            "token_type",
            "issued_at",
            "x_last"
        ],
        "the fixture has the seeds' fields"
    );

    let run = refresh(&org, &file.path).ok();

    let stored = file.json();
    assert_ne!(text(&stored, "access_token"), text(&seed, "access_token"));
    let new_refresh = text(&stored, "refresh_token");
    assert_ne!(
        new_refresh,
        text(&seed, "refresh_token"),
        "rotated token lost"
    );
    assert!(!new_refresh.is_empty());
    // sfauth records whether the refresh rotated, as a new key at the end.
    let mut expected = keys(&seed);
    expected.push("sfauth_rotation".into());
    assert_eq!(file.keys(), expected, "keys moved, vanished or appeared");
    assert_eq!(stored["sfauth_rotation"], json!("true"));
    assert_eq!(stored["x_custom"], json!({"nested": [1, 2]}));
    assert_eq!(stored["x_last"], json!("kept at the end"));
    assert_eq!(stored["instance_url"], seed["instance_url"]);
    assert_eq!(stored["id"], seed["id"]);
    assert_eq!(mode(&file.path), 0o600);
    let stats = org.stats();
    assert_eq!((stats.token_requests, stats.refreshes_served), (1, 1));
    // One human line on stderr, nothing on stdout, no secret anywhere.
    run.stdout_is_empty().stderr_has("rotated");
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{run}");
    for secret in [
        text(&seed, "access_token"),
        text(&seed, "refresh_token"),
        text(&stored, "access_token"),
        new_refresh,
    ] {
        run.never_shows(&secret);
    }
}

#[test]
fn second_refresh_uses_the_rotated_token() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let original = file.field("refresh_token");

    refresh(&org, &file.path).ok();
    let after_first = file.field("refresh_token");
    refresh(&org, &file.path).ok();
    let after_second = file.field("refresh_token");

    assert_ne!(after_first, original);
    assert_ne!(after_second, after_first);
    let stats = org.stats();
    assert_eq!(stats.refreshes_served, 2);
    assert_eq!(stats.reuse_detected, 0, "a rotated-out token was replayed");
    assert_eq!(stats.rejected, 0);
}

#[test]
fn refresh_without_rotation_keeps_the_refresh_token_and_says_so() {
    let org = OrgBuilder::new().without_rotation().start();
    let file = TokenFile::issued_by(&org);
    let before = file.json();

    refresh(&org, &file.path).ok().stderr_has("unchanged");

    assert_eq!(file.field("refresh_token"), text(&before, "refresh_token"));
    assert_ne!(file.field("access_token"), text(&before, "access_token"));
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn refresh_json_summary_describes_the_refresh() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let secret = file.secret_file(org.client_secret());

    let run = refresh(&org, &file.path)
        .arg("--client-secret-file")
        .arg(&secret)
        .arg("--json")
        .ok();

    let summary = run.json();
    let stored = file.json();
    let id = text(&stored, "id");
    let user_id = id.rsplit('/').next().unwrap();
    assert_eq!(summary["action"], "refreshed");
    assert_eq!(summary["rotated"], true);
    assert_eq!(summary["signature"], "verified");
    assert_eq!(summary["user_id"], user_id);
    assert_eq!(summary["org_id"], org.config().org_id.as_str());
    assert_eq!(summary["instance_url"], org.url());
    assert_eq!(
        summary["issued_at"],
        issued_at_rfc3339(stored["issued_at"].as_str().unwrap())
    );
    assert_eq!(summary["schema_version"], 1);
    assert_eq!(summary["token_file"], file.path.display().to_string());
    for secret in secrets_of(&org, &stored) {
        run.never_shows(&secret);
    }
}

#[test]
fn client_secret_from_env_verifies_the_signature() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    let summary = refresh(&org, &file.path)
        .env("SFAUTH_CLIENT_SECRET", org.client_secret())
        .arg("--json")
        .ok()
        .json();

    assert_eq!(summary["signature"], "verified");
}

#[test]
fn refresh_without_a_client_secret_reports_the_signature_unchecked() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    let summary = refresh(&org, &file.path).arg("--json").ok().json();

    assert_eq!(summary["signature"], "unchecked");
}

#[test]
fn env_vars_stand_in_for_flags() {
    let org = org();
    // The token's instance_url leads nowhere: only SFAUTH_LOGIN_URL can reach the org.
    let mut issued = org.issue_token(USERNAME);
    issued["instance_url"] = json!(nowhere_url());
    let file = TokenFile::new(&issued);

    sfauth()
        .arg("refresh")
        .env("SFAUTH_TOKEN_FILE", &file.path)
        .env("SFAUTH_CLIENT_ID", org.client_id())
        .env("SFAUTH_LOGIN_URL", org.url())
        .ok();

    assert_eq!(org.stats().refreshes_served, 1);
    assert_ne!(file.field("access_token"), text(&issued, "access_token"));
}

#[test]
fn login_url_flag_overrides_the_token_instance_url() {
    let org = org();
    let mut issued = org.issue_token(USERNAME);
    issued["instance_url"] = json!(nowhere_url());
    let file = TokenFile::new(&issued);

    refresh(&org, &file.path)
        .args(["--login-url", &org.url()])
        .ok();

    assert_eq!(org.stats().refreshes_served, 1);
    assert_eq!(file.field("instance_url"), org.url());
}

#[test]
fn refresh_with_site_prefix_reaches_the_site_token_endpoint() {
    let org = OrgBuilder::new().site("/customers").start();
    let file = TokenFile::issued_by(&org);
    let before = file.json();

    refresh(&org, &file.path)
        .args(["--site", "/customers"])
        .ok();

    assert_eq!(org.stats().refreshes_served, 1);
    assert_ne!(file.field("access_token"), text(&before, "access_token"));
}
