//! `sfauth login web`, end to end against the emulator, a scripted browser playing the
//! user: through the loopback listener, and by pasting the redirected URL
//! (`--no-browser`). A forged `state`, a denied consent and a reused code each fail with
//! their exit code and leave the stored orgs as they were.

use sfauth_test_support::net::closed_port;
use sfauth_test_support::prelude::*;

/// A redirect URI on a free loopback port, where sfauth's listener will be.
fn loopback_redirect_uri() -> String {
    format!("http://127.0.0.1:{}/OauthRedirect", closed_port())
}

/// An org whose connected app has `redirect_uri` as its callback URL.
fn org_with_callback(redirect_uri: &str, consent: Consent) -> Emulator {
    OrgBuilder::new()
        .callback(redirect_uri)
        .consent(consent)
        .start()
}

/// `sfauth login web` for `dev` at `org`, listening on `redirect_uri` for `wait`.
fn web_login(home: &Home, org: &Emulator, redirect_uri: &str, wait: &str) -> TestCommand {
    home.sfauth()
        .args(["login", "web", "--alias", "dev"])
        .args(["--client-id", org.client_id(), "--login-url", &org.url()])
        .args(["--redirect-uri", redirect_uri, "--wait", wait])
}

/// `sfauth login web --no-browser` for `dev` at `org`, with the default redirect URI
/// (nothing listens on it: the redirected URL is pasted), started.
fn start_pasting(home: &Home, org: &Emulator) -> Running {
    home.start(&[
        "login",
        "web",
        "--no-browser",
        "--alias",
        "dev",
        "--client-id",
        org.client_id(),
        "--login-url",
        &org.url(),
    ])
}

#[test]
fn web_login_through_the_loopback_listener_stores_a_refreshable_org() {
    let redirect_uri = loopback_redirect_uri();
    let org = org_with_callback(&redirect_uri, Consent::Approve);
    let home = Home::new();
    let browser = Browser::new();
    let mut run = web_login(&home, &org, &redirect_uri, "60s").start();

    let authorize_url = run.authorize_url();
    assert!(
        authorize_url.starts_with(&org.authorize_url()),
        "{authorize_url}"
    );
    let redirected = browser.authorize(&authorize_url);
    assert!(redirected.starts_with(&redirect_uri), "{redirected}");
    let page = browser.get(&redirected);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("Login received"), "{}", page.body);

    run.finish().assert_ok().stderr_has("stored org `dev`");
    let row = home.org("dev");
    assert_eq!(row["flow"], "web");
    assert_eq!(row["instance_url"], org.url());
    assert_eq!(row["refresh_token"], "[redacted]");
    assert_eq!(org.stats().codes_exchanged, 1);
    home.sfauth().args(["refresh", "--org", "dev"]).ok();
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn web_login_without_browser_takes_the_pasted_redirect_url() {
    let org = org();
    let home = Home::new();
    let mut run = start_pasting(&home, &org);

    let redirected = Browser::new().authorize(&run.authorize_url());
    run.type_line(&redirected);

    run.finish().assert_ok().stderr_has("paste");
    assert_eq!(home.org("dev")["flow"], "web");
    assert_eq!(org.stats().codes_exchanged, 1);
    home.sfauth().args(["refresh", "--org", "dev"]).ok();
    assert_eq!(org.stats().refreshes_served, 1);
}

#[test]
fn web_login_with_a_forged_state_is_refused_and_stores_nothing() {
    let org = org();
    let home = Home::new();
    let mut run = start_pasting(&home, &org);

    let redirected = Browser::new().authorize(&run.authorize_url());
    let code = query_param(&redirected, "code").expect("a code");
    run.type_line(&with_query_param(&redirected, "state", "forged-state"));

    run.finish()
        .assert_code(exit::PROTOCOL)
        .stderr_has("`state`")
        .stderr_has("hint:")
        .stdout_is_empty()
        .never_shows(&code);
    assert_eq!(org.stats().codes_exchanged, 0, "the code was used");
    home.assert_no_org();
}

#[test]
fn web_login_denied_at_consent_exits_5_and_stores_nothing() {
    let redirect_uri = loopback_redirect_uri();
    let org = org_with_callback(&redirect_uri, Consent::Deny);
    let home = Home::new();
    let browser = Browser::new();
    let mut run = web_login(&home, &org, &redirect_uri, "60s").start();

    let redirected = browser.authorize(&run.authorize_url());
    assert_eq!(
        query_param(&redirected, "error").as_deref(),
        Some("access_denied")
    );
    let page = browser.get(&redirected);
    assert_eq!(page.status, 403, "{page:?}");
    assert!(page.body.contains("denied"), "{}", page.body);

    run.finish()
        .assert_code(exit::DENIED_BY_POLICY)
        .stderr_has("the login was denied")
        .stderr_has("hint:");
    home.assert_no_org();
}

#[test]
fn web_login_with_a_reused_code_fails_and_leaves_the_stored_org_unchanged() {
    let org = org();
    let home = Home::new();
    let mut first = start_pasting(&home, &org);
    let first_redirect = Browser::new().authorize(&first.authorize_url());
    first.type_line(&first_redirect);
    first.finish().assert_ok();
    let before = home.saved("dev");

    // A second login of the same alias, fed the first login's (used) code under the second
    // login's own state, so only the code is wrong.
    let mut run = start_pasting(&home, &org);
    let state = query_param(&run.authorize_url(), "state").expect("a state");
    run.type_line(&with_query_param(&first_redirect, "state", &state));

    run.finish()
        .assert_code(exit::LOGIN_REQUIRED)
        .stderr_has("invalid_grant")
        .stderr_has("already used");
    assert_eq!(org.stats().codes_exchanged, 1);
    home.assert_unchanged("dev", &before);
}

#[test]
fn web_login_that_no_browser_finishes_gives_up_with_login_required() {
    let redirect_uri = loopback_redirect_uri();
    let org = org_with_callback(&redirect_uri, Consent::Approve);
    let home = Home::new();

    web_login(&home, &org, &redirect_uri, "1s")
        .exits(exit::LOGIN_REQUIRED)
        .stderr_has("no browser login arrived");

    assert_eq!(org.stats().authorizations, 0);
    home.assert_no_org();
}

#[test]
fn a_headless_web_login_says_at_once_that_no_browser_opened() {
    let redirect = loopback_redirect_uri();
    let org = org_with_callback(&redirect, Consent::Approve);
    let home = Home::new();
    let run = web_login(&home, &org, &redirect, "1s")
        .env("BROWSER", home.dir.path().join("no-such-browser"))
        .env("PATH", "/nonexistent")
        .fails();
    assert!(
        run.stderr.contains("no browser opened here"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--no-browser"), "{}", run.stderr);
}
