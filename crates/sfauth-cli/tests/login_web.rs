//! `sfauth login web`, end to end against the emulator, the test playing the browser:
//! through the loopback listener, and by pasting the redirected URL (`--no-browser`).
//! A forged `state`, a denied consent and a reused code each fail with their exit code
//! and leave the stored orgs as they were.

mod common;

use common::exit::{DENIED_BY_POLICY, LOGIN_REQUIRED, PROTOCOL};
use common::*;
use predicates::prelude::*;
use sfauth_emulator::{Config, Consent, Emulator};

/// A redirect URI on a free loopback port, where sfauth's listener will be.
fn loopback_redirect_uri() -> String {
    format!("http://127.0.0.1:{}/OauthRedirect", closed_port())
}

/// An org whose connected app has `redirect_uri` as its callback URL.
fn org_with_callback(redirect_uri: &str, consent: Consent) -> Emulator {
    emulator(Config {
        redirect_uris: vec![redirect_uri.to_owned()],
        consent,
        ..Config::default()
    })
}

/// `sfauth login web` for `alias` at `org`, listening on `redirect_uri`.
fn start_listening(home: &Home, org: &Emulator, alias: &str, redirect_uri: &str) -> Running {
    home.spawn(&[
        "login",
        "web",
        "--alias",
        alias,
        "--client-id",
        &org.config().client_id,
        "--login-url",
        &org.url(),
        "--redirect-uri",
        redirect_uri,
        "--wait",
        "60s",
    ])
}

/// `sfauth login web --no-browser` for `alias` at `org`, with the default redirect URI
/// (nothing listens on it: the redirected URL is pasted).
fn start_pasting(home: &Home, org: &Emulator, alias: &str) -> Running {
    home.spawn(&[
        "login",
        "web",
        "--no-browser",
        "--alias",
        alias,
        "--client-id",
        &org.config().client_id,
        "--login-url",
        &org.url(),
    ])
}

/// A completed `--no-browser` login of `alias`; returns the URL that was pasted.
fn paste_login(home: &Home, org: &Emulator, alias: &str) -> String {
    let mut run = start_pasting(home, org, alias);
    let redirected = authorize(&run.authorize_url());
    run.type_line(&redirected);
    let done = run.finish();
    assert_eq!(done.code, Some(0), "stderr:\n{}", done.stderr);
    redirected
}

#[test]
fn web_login_through_the_loopback_listener_stores_a_refreshable_org() {
    let redirect_uri = loopback_redirect_uri();
    let org = org_with_callback(&redirect_uri, Consent::Approve);
    let home = Home::new();
    let mut run = start_listening(&home, &org, "dev", &redirect_uri);

    let authorize_url = run.authorize_url();
    assert!(
        authorize_url.starts_with(&org.authorize_url()),
        "{authorize_url}"
    );
    let redirected = authorize(&authorize_url);
    assert!(redirected.starts_with(&redirect_uri), "{redirected}");
    let page = http_get(&redirected);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("Login received"), "{}", page.body);

    let done = run.finish();
    assert_eq!(done.code, Some(0), "stderr:\n{}", done.stderr);
    assert!(done.stderr.contains("stored org `dev`"), "{}", done.stderr);
    let row = home.org("dev");
    assert_eq!(row["flow"], "web");
    assert_eq!(row["instance_url"], org.url());
    assert_eq!(row["refresh_token"], "[redacted]");
    assert_eq!(org.stats().codes_exchanged, 1);

    home.sfauth()
        .args(["refresh", "--org", "dev"])
        .assert()
        .success();
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn web_login_without_browser_takes_the_pasted_redirect_url() {
    let org = default_emulator();
    let home = Home::new();
    let mut run = start_pasting(&home, &org, "dev");
    let authorize_url = run.authorize_url();
    let redirected = authorize(&authorize_url);
    run.type_line(&redirected);
    let done = run.finish();
    assert_eq!(done.code, Some(0), "stderr:\n{}", done.stderr);
    assert!(done.stderr.contains("paste"), "{}", done.stderr);
    assert_eq!(home.org("dev")["flow"], "web");
    assert_eq!(org.stats().codes_exchanged, 1);
    home.sfauth()
        .args(["refresh", "--org", "dev"])
        .assert()
        .success();
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn web_login_with_a_forged_state_is_refused_and_stores_nothing() {
    let org = default_emulator();
    let home = Home::new();
    let mut run = start_pasting(&home, &org, "dev");
    let redirected = authorize(&run.authorize_url());
    let code = query_param(&redirected, "code").expect("a code");
    run.type_line(&with_query_param(&redirected, "state", "forged-state"));
    let done = run.finish();
    assert_eq!(done.code, Some(PROTOCOL), "stderr:\n{}", done.stderr);
    assert!(done.stderr.contains("`state`"), "{}", done.stderr);
    assert!(done.stderr.contains("hint:"), "{}", done.stderr);
    assert!(
        !done.stderr.contains(&code),
        "the code leaked: {}",
        done.stderr
    );
    assert!(done.stdout.is_empty(), "{}", done.stdout);
    assert_eq!(org.stats().codes_exchanged, 0, "the code was used");
    home.assert_no_org();
}

#[test]
fn web_login_denied_at_consent_exits_5_and_stores_nothing() {
    let redirect_uri = loopback_redirect_uri();
    let org = org_with_callback(&redirect_uri, Consent::Deny);
    let home = Home::new();
    let mut run = start_listening(&home, &org, "dev", &redirect_uri);
    let redirected = authorize(&run.authorize_url());
    assert_eq!(
        query_param(&redirected, "error").as_deref(),
        Some("access_denied")
    );
    let page = http_get(&redirected);
    assert_eq!(page.status, 403, "{page:?}");
    assert!(page.body.contains("denied"), "{}", page.body);

    let done = run.finish();
    assert_eq!(
        done.code,
        Some(DENIED_BY_POLICY),
        "stderr:\n{}",
        done.stderr
    );
    assert!(
        done.stderr.contains("the login was denied"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("hint:"), "{}", done.stderr);
    home.assert_no_org();
}

#[test]
fn web_login_with_a_reused_code_fails_and_leaves_the_stored_org_unchanged() {
    let org = default_emulator();
    let home = Home::new();
    let first = paste_login(&home, &org, "dev");
    let config_before = home.config_bytes();
    let token_before = std::fs::read(home.token_file("dev")).unwrap();

    // A second login of the same alias, fed the first login's (used) code under the second
    // login's own state, so only the code is wrong.
    let mut run = start_pasting(&home, &org, "dev");
    let state = query_param(&run.authorize_url(), "state").expect("a state");
    run.type_line(&with_query_param(&first, "state", &state));
    let done = run.finish();
    assert_eq!(done.code, Some(LOGIN_REQUIRED), "stderr:\n{}", done.stderr);
    assert!(done.stderr.contains("invalid_grant"), "{}", done.stderr);
    assert!(done.stderr.contains("already used"), "{}", done.stderr);

    assert_eq!(org.stats().codes_exchanged, 1);
    assert!(
        home.config_bytes() == config_before,
        "config.toml changed:\n{}",
        utf8(&home.config_bytes())
    );
    assert!(
        std::fs::read(home.token_file("dev")).unwrap() == token_before,
        "the stored token changed"
    );
}

#[test]
fn web_login_that_no_browser_finishes_gives_up_with_login_required() {
    let redirect_uri = loopback_redirect_uri();
    let org = org_with_callback(&redirect_uri, Consent::Approve);
    let home = Home::new();
    home.sfauth()
        .env("BROWSER", "true")
        .args([
            "login",
            "web",
            "--alias",
            "dev",
            "--client-id",
            &org.config().client_id,
            "--login-url",
            &org.url(),
            "--redirect-uri",
            &redirect_uri,
            "--wait",
            "1s",
        ])
        .assert()
        .code(LOGIN_REQUIRED)
        .stderr(predicate::str::contains("no browser login arrived"));
    assert_eq!(org.stats().authorizations, 0);
    home.assert_no_org();
}
