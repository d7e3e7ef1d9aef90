//! `sfauth token`: the fresh path makes no request, a stale token is refreshed once, and
//! the three output formats.

use std::time::Duration;

use sfauth_test_support::prelude::*;

#[test]
fn token_on_a_fresh_token_prints_it_without_any_request() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let before = file.bytes();

    let run = token(&org, &file.path).ok();

    assert_eq!(run.stdout, format!("{}\n", file.field("access_token")));
    assert_eq!(
        org.stats().token_requests,
        0,
        "the fresh path made a request"
    );
    assert_eq!(file.bytes(), before, "the fresh path rewrote the file");
}

#[test]
fn token_format_header_prints_an_authorization_header() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    let run = token(&org, &file.path).args(["--format", "header"]).ok();

    assert_eq!(
        run.stdout,
        format!("Authorization: Bearer {}\n", file.field("access_token"))
    );
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn token_format_json_prints_the_token_and_its_estimated_expiry() {
    let org = org();
    let file = TokenFile::issued_by(&org);

    let run = token(&org, &file.path).args(["--format", "json"]).ok();

    assert!(run.stdout.ends_with('\n'));
    let printed = run.json();
    assert_eq!(
        keys(&printed),
        [
            "schema_version",
            "access_token",
            "instance_url",
            "issued_at",
            "expires_at",
            "expires_in",
            "expiry_source"
        ]
    );
    assert_eq!(printed["schema_version"], 1);
    assert_eq!(printed["access_token"], file.field("access_token").as_str());
    assert_eq!(printed["instance_url"], org.url());
    let issued_at = file.field("issued_at");
    assert_eq!(printed["issued_at"], issued_at_rfc3339(&issued_at));
    let issued_secs = issued_at.parse::<u64>().unwrap() / 1000;
    // Salesforce's default session timeout: 2 h after issue, in RFC 3339.
    assert_eq!(rfc3339_secs(&printed["expires_at"]), issued_secs + 7200);
    let expires_in = printed["expires_in"]
        .as_u64()
        .expect("expires_in is a number");
    assert!(expires_in > 0 && expires_in <= 7200, "{expires_in}");
    assert_eq!(org.stats().token_requests, 0);
}

#[test]
fn token_on_a_stale_token_refreshes_once_and_prints_the_saved_token() {
    let org = org();
    let issued = org.issue_token(USERNAME);
    let file = TokenFile::new(&stale(&issued));

    let run = token(&org, &file.path).ok();

    let stored = file.json();
    assert_eq!(run.stdout, format!("{}\n", text(&stored, "access_token")));
    assert_ne!(text(&stored, "access_token"), text(&issued, "access_token"));
    assert_ne!(
        text(&stored, "refresh_token"),
        text(&issued, "refresh_token"),
        "the rotated refresh token was not stored"
    );
    assert_eq!(mode(&file.path), 0o600);
    let stats = org.stats();
    assert_eq!((stats.token_requests, stats.refreshes_served), (1, 1));
}

#[test]
fn token_older_than_max_age_is_refreshed() {
    let org = org();
    let file = TokenFile::new(&aged(&org.issue_token(USERNAME), Duration::from_secs(3600)));

    let run = token(&org, &file.path).args(["--max-age", "30m"]).ok();

    assert_eq!(org.stats().refreshes_served, 1);
    assert_eq!(run.stdout, format!("{}\n", file.field("access_token")));
}

#[test]
fn token_younger_than_max_age_is_served_as_is() {
    let org = org();
    let issued = aged(&org.issue_token(USERNAME), Duration::from_secs(3600));
    let file = TokenFile::new(&issued);

    let run = token(&org, &file.path).ok();

    assert_eq!(org.stats().token_requests, 0);
    assert_eq!(run.stdout, format!("{}\n", text(&issued, "access_token")));
}
