//! Every failure class with its exit code (the README's exit-code table), one table row per
//! failure: the set-up, the command line, the exit code, and the exact `error:` and `hint:`
//! lines. Each row also holds the whole failure contract: nothing on stdout, no secret on
//! either stream, the token file byte for byte and the config home as they were, no file
//! left behind, and how many token requests the server saw.
//!
//! After the table: failures whose output is more than two lines (`--json`), and the
//! transient failures that must end in success.

use std::path::Path;

use sfauth_test_support::fixtures;
use sfauth_test_support::net::nowhere_url;
use sfauth_test_support::prelude::*;

/// The client secret the wrong-secret rows send.
const WRONG_SECRET: &str = "wrong-secret-7Hq2Zk";

/// What every row starts from: an org (the emulator's defaults unless the row says), a
/// fresh login of [`USERNAME`] in a token file, files holding the right and a wrong client
/// secret beside it, and an empty config home.
struct Scene {
    org: Emulator,
    file: TokenFile,
    home: Home,
    nowhere: String,
}

impl Scene {
    fn new(org: Emulator) -> Scene {
        let file = TokenFile::issued_by(&org);
        file.beside("client_secret", org.client_secret());
        file.beside("wrong_secret", WRONG_SECRET);
        Scene {
            org,
            file,
            home: Home::new(),
            nowhere: nowhere_url(),
        }
    }

    /// The home stores the token file as `dev`, its default org.
    fn adopt_dev(&self) {
        self.home.adopt("dev", &self.org, &self.file.path);
    }

    /// `text` with the scene's placeholders filled in: `{file}`, `{dir}`, `{org}`,
    /// `{client_id}`, `{nowhere}`, `{home}`, `{fixtures}`.
    fn fill(&self, text: &str) -> String {
        text.replace("{file}", &self.file.path.display().to_string())
            .replace("{dir}", &self.file.dir.path().display().to_string())
            .replace("{org}", &self.org.url())
            .replace("{client_id}", self.org.client_id())
            .replace("{nowhere}", &self.nowhere)
            .replace("{home}", &self.home.path.display().to_string())
            .replace("{fixtures}", &fixtures::dir().display().to_string())
    }
}

/// One row of the table.
struct Case {
    /// The scene's org.
    org: fn() -> Emulator,
    /// What the scene holds before the run, beyond a fresh token file.
    setup: fn(&Scene),
    /// The command line, with the scene's placeholders.
    args: &'static [&'static str],
    /// Environment variables of the run, with the scene's placeholders in the values.
    env: &'static [(&'static str, &'static str)],
    /// The exit code.
    code: i32,
    /// The `error:` line, without `error: `, with the scene's placeholders.
    error: &'static str,
    /// The `hint:` line, without `hint: `, with the scene's placeholders; `None` where
    /// there is none today (each such row says why: the README promises one for every
    /// failure).
    hint: Option<&'static str>,
    /// Token requests the server saw.
    requests: u64,
    /// Secrets of the set-up, beyond the token file's and the client secrets.
    secrets: &'static [&'static str],
}

impl Case {
    /// What a row leaves out: no set-up, no environment, no request, no extra secret.
    const DEFAULT: Case = Case {
        org,
        setup: |_| {},
        args: &[],
        env: &[],
        code: 0,
        error: "",
        hint: None,
        requests: 0,
        secrets: &[],
    };

    fn check(&self) {
        let scene = Scene::new((self.org)());
        (self.setup)(&scene);
        let mut before = Snapshot::of(&scene.file, &scene.org).and_secret(WRONG_SECRET);
        for secret in self.secrets {
            before = before.and_secret(secret);
        }
        let home = tree(&scene.home.path);
        let files = names_in(scene.file.dir.path());
        let mut cmd = scene
            .home
            .sfauth()
            .args(self.args.iter().map(|arg| scene.fill(arg)));
        for (key, value) in self.env {
            cmd = cmd.env(key, scene.fill(value));
        }

        let run = cmd.run();

        // The failure contract, with the exact lines in place of "has an `error:` and a
        // `hint:` line".
        run.assert_code(self.code).stdout_is_empty();
        assert_eq!(run.error(), scene.fill(self.error), "the error line: {run}");
        let hint = self.hint.map(|hint| scene.fill(hint));
        assert_eq!(run.hint(), hint.as_deref(), "the hint line: {run}");
        before.assert_unchanged();
        before.never_shown_by(&run);
        assert!(
            tree(&scene.home.path) == home,
            "the config home changed: {run}"
        );
        assert_eq!(
            names_in(scene.file.dir.path()),
            files,
            "a file was left behind"
        );
        let stats = scene.org.stats();
        assert_eq!(
            stats.token_requests, self.requests,
            "token requests: {stats:?}"
        );
        assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    }
}

/// The names in `dir` but lock files (a run takes the lock before it knows it will fail),
/// sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the token file's directory")
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".lock"))
        .collect();
    names.sort();
    names
}

/// Every file under `dir` but lock files, with its bytes, in order; empty if there is no
/// `dir`.
fn tree(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(tree(&path));
        } else if !path.to_string_lossy().ends_with(".lock") {
            let bytes = std::fs::read(&path).expect("read a file of the home");
            files.push((path, bytes));
        }
    }
    files.sort();
    files
}

/// One `#[test]` per row, named for the behaviour it pins; fields a row leaves out are
/// [`Case::DEFAULT`]'s.
macro_rules! failures {
    ($($(#[$doc:meta])* $name:ident { $($field:ident: $value:expr),* $(,)? })*) => {
        $(
            $(#[$doc])*
            #[test]
            fn $name() {
                Case { $($field: $value,)* ..Case::DEFAULT }.check();
            }
        )*
    };
}

/// The hint of every answer that leaves open whether the refresh happened.
const MAY_HAVE_REACHED: &str = "the refresh may have reached Salesforce without its answer coming \
     back; sfauth did not send it again, because with refresh-token rotation a second use of a \
     spent refresh token revokes it. Run again later; if Salesforce then says the login is \
     required, log in again";

/// The error of a connection that ended after the request went out.
const CLOSED_MID_REQUEST: &str = "the connection to 127.0.0.1 failed mid-request (error sending \
     request for url ({org}/services/oauth2/token): client error (SendRequest): connection closed \
     before message completed); the refresh was not sent again";

/// The error of a 503 that outlasted the retries.
const UNAVAILABLE_503: &str = "127.0.0.1 is unavailable (HTTP 503): \
     <html><head><title>503</title></head><body><h1>503</h1></body></html>";

/// The hint of a server that is unavailable.
const TRY_AGAIN_LATER: &str = "try again later; Salesforce may be down for maintenance";

/// Salesforce's refusal of a refresh token it no longer knows.
const EXPIRED_GRANT: &str =
    "Salesforce refused the refresh: invalid_grant: expired access/refresh token";

/// The hint for a refresh token that is gone.
const LOG_IN_AGAIN: &str =
    "the refresh token is expired, revoked or was rotated out; log in again to get a new one";

/// Salesforce's refusal of a client secret.
const INVALID_CLIENT: &str =
    "Salesforce refused the refresh: invalid_client: invalid client credentials";

/// The hint for a refused client secret: it names the flag that gives one.
const CHECK_THE_SECRET: &str = "check the client secret: Salesforce checks it whenever one is \
     sent, and an app that requires it refuses a request without it: pass --client-secret-file \
     PATH or set SFAUTH_CLIENT_SECRET";

/// The hint for a token file that is not there: it names the flags that give one.
const GIVE_A_TOKEN_FILE: &str = "give the path of a Salesforce token JSON file: pass it with \
     --token-file (or SFAUTH_TOKEN_FILE), or name a stored org with --org";

/// The hint for a file that is not a token.
const NOT_A_TOKEN: &str = "the file must hold a JSON object like Salesforce's token response, \
     with at least access_token and instance_url (and refresh_token to refresh)";

/// The hint for a badly shaped SFDX auth URL.
const SFDX_URL_SHAPE: &str = "it looks like \
     force://<clientId>:<clientSecret>:<refreshToken>@<instance>; `sf org display --verbose \
     --json` prints it as sfdxAuthUrl";

/// `refresh` of the scene's token file with the org's client id.
const REFRESH: &[&str] = &[
    "refresh",
    "--token-file",
    "{file}",
    "--client-id",
    "{client_id}",
];

failures! {
    // ---- the server refuses ----------------------------------------------------------

    a_wrong_client_id_is_client_rejected {
        args: &["refresh", "--token-file", "{file}", "--client-id", "not-the-consumer-key"],
        code: exit::CLIENT_REJECTED,
        error: "Salesforce refused the refresh: invalid_client_id: client identifier invalid",
        hint: Some("check the client id (the connected app's Consumer Key) and that the login \
                    URL belongs to the org (sandboxes use https://test.salesforce.com or their \
                    My Domain)"),
        requests: 1,
    }

    a_wrong_client_secret_is_client_rejected {
        args: &["refresh", "--token-file", "{file}", "--client-id", "{client_id}",
                "--client-secret-file", "{dir}/wrong_secret"],
        code: exit::CLIENT_REJECTED,
        error: INVALID_CLIENT,
        hint: Some(CHECK_THE_SECRET),
        requests: 1,
    }

    a_rejected_client_secret_hint_names_the_secret_file_flag {
        setup: |s| s.org.inject_specs(&["oauth:400:invalid_client:invalid client credentials"]),
        args: REFRESH,
        code: exit::CLIENT_REJECTED,
        error: INVALID_CLIENT,
        hint: Some(CHECK_THE_SECRET),
        requests: 1,
    }

    a_revoked_refresh_token_is_login_required {
        setup: |s| s.org.revoke_refresh_token(&s.file.field("refresh_token")),
        args: REFRESH,
        code: exit::LOGIN_REQUIRED,
        error: EXPIRED_GRANT,
        hint: Some(LOG_IN_AGAIN),
        requests: 1,
    }

    token_on_a_stale_token_with_a_revoked_refresh_token_is_login_required {
        setup: |s| {
            s.file.make_stale();
            s.org.revoke_refresh_token(&s.file.field("refresh_token"));
        },
        args: &["token", "--token-file", "{file}", "--client-id", "{client_id}"],
        code: exit::LOGIN_REQUIRED,
        error: EXPIRED_GRANT,
        hint: Some(LOG_IN_AGAIN),
        requests: 1,
    }

    an_ip_restriction_is_denied_by_policy_and_not_retried {
        setup: |s| {
            s.org.inject_specs(&["oauth:400:invalid_grant:IP restricted or invalid login hours"]);
        },
        args: REFRESH,
        code: exit::DENIED_BY_POLICY,
        error: "Salesforce refused the refresh: invalid_grant: IP restricted or invalid login \
                hours",
        hint: Some("the user's profile limits the IP ranges or hours it may log in from; ask the \
                    Salesforce admin, or relax IP restrictions on the connected app"),
        requests: 1,
    }

    an_inactive_user_is_denied_by_policy {
        setup: |s| s.org.inject_specs(&["oauth:400:inactive_user:user is inactive"]),
        args: REFRESH,
        code: exit::DENIED_BY_POLICY,
        error: "Salesforce refused the refresh: inactive_user: user is inactive",
        hint: Some("the org's policy refuses this login (inactive user or org, blocked app, or \
                    no access to the app); ask the Salesforce admin"),
        requests: 1,
    }

    // ---- the server misbehaves or cannot be reached ----------------------------------

    a_persistent_503_is_unavailable_after_three_retries {
        // More faults than the retry budget: a client that retried without bound would
        // consume them all.
        setup: |s| s.org.inject_specs(&["status:503"; 6]),
        args: REFRESH,
        code: exit::UNAVAILABLE,
        error: UNAVAILABLE_503,
        hint: Some(TRY_AGAIN_LATER),
        requests: 4,
    }

    the_retries_flag_bounds_the_retries_of_a_503 {
        // No retry at all, where the default is three.
        setup: |s| s.org.inject_specs(&["status:503"; 6]),
        args: &["refresh", "--token-file", "{file}", "--client-id", "{client_id}",
                "--retries", "0"],
        code: exit::UNAVAILABLE,
        error: UNAVAILABLE_503,
        hint: Some(TRY_AGAIN_LATER),
        requests: 1,
    }

    sfauth_retries_bounds_the_retries_of_a_503 {
        // One retry, where the default is three.
        setup: |s| s.org.inject_specs(&["status:503"; 6]),
        args: REFRESH,
        env: &[("SFAUTH_RETRIES", "1")],
        code: exit::UNAVAILABLE,
        error: UNAVAILABLE_503,
        hint: Some(TRY_AGAIN_LATER),
        requests: 2,
    }

    an_unreachable_server_is_unavailable {
        args: &["refresh", "--token-file", "{file}", "--client-id", "{client_id}",
                "--login-url", "{nowhere}"],
        code: exit::UNAVAILABLE,
        error: "cannot connect to 127.0.0.1 (error sending request for url \
                ({nowhere}/services/oauth2/token): client error (Connect): tcp connect error: \
                Connection refused (os error 111))",
        hint: Some("check the network, any proxy settings (HTTPS_PROXY) and the login URL"),
    }

    an_html_page_instead_of_json_is_a_protocol_error {
        setup: |s| s.org.inject(Fault::html(
            200,
            "<!DOCTYPE html><html><body>Login | Salesforce</body></html>",
        )),
        args: REFRESH,
        code: exit::PROTOCOL,
        error: "the refresh got an HTML page (HTTP 200) instead of a JSON token answer",
        hint: Some("the login URL or site prefix probably points at a web page, not the OAuth \
                    endpoint; use https://login.salesforce.com, https://test.salesforce.com or \
                    your My Domain"),
        requests: 1,
    }

    a_signature_mismatch_is_a_protocol_error {
        setup: |s| s.org.inject(Fault::BadSignature),
        args: &["refresh", "--token-file", "{file}", "--client-id", "{client_id}",
                "--client-secret-file", "{dir}/client_secret"],
        code: exit::PROTOCOL,
        error: "the token response's signature does not match: it was not signed with this \
                client secret",
        hint: Some("check that the client secret belongs to this connected app (a secret that \
                    was rotated in Salesforce must be updated here); nothing was saved"),
        requests: 1,
    }

    // ---- ambiguous answers: reported, never replayed ---------------------------------

    a_connection_closed_after_sending_is_unavailable_and_not_replayed {
        setup: |s| s.org.inject(Fault::CloseConnection),
        args: REFRESH,
        code: exit::UNAVAILABLE,
        error: CLOSED_MID_REQUEST,
        hint: Some(MAY_HAVE_REACHED),
        requests: 1,
    }

    a_lost_response_is_unavailable_and_not_replayed {
        // The server refreshed (and rotated) but the answer never arrived. Replaying the
        // old refresh token would revoke the whole family.
        setup: |s| s.org.inject(Fault::LoseResponse),
        args: REFRESH,
        code: exit::UNAVAILABLE,
        error: CLOSED_MID_REQUEST,
        hint: Some(MAY_HAVE_REACHED),
        requests: 1,
    }

    a_timeout_is_unavailable_and_not_replayed {
        // Far longer than --timeout: the run gives up long before the server would answer.
        setup: |s| s.org.inject_specs(&["delay:60000"]),
        args: &["refresh", "--token-file", "{file}", "--client-id", "{client_id}",
                "--timeout", "1s"],
        code: exit::UNAVAILABLE,
        error: "127.0.0.1 did not answer in time (error sending request for url \
                ({org}/services/oauth2/token): operation timed out); the refresh was not sent \
                again",
        hint: Some(MAY_HAVE_REACHED),
        requests: 1,
    }

    already_being_processed_is_not_resent_while_rotation_may_be_on {
        // Resending could be reuse: the other refresher may have spent the token already.
        setup: |s| s.org.inject(Fault::already_being_processed()),
        args: REFRESH,
        code: exit::UNAVAILABLE,
        error: "Salesforce refused the refresh: invalid_grant: token request is already being \
                processed; no process sharing this token store saved a new token while sfauth \
                waited, and the refresh was not sent again",
        hint: Some("a client outside sfauth's lock is using the same refresh token: another \
                    tool, or sfauth on another machine with its own copy of the token file. With \
                    refresh-token rotation, two clients sharing one refresh token revoke each \
                    other; let that one finish, or give each client its own login"),
        requests: 1,
    }

    a_site_token_refreshed_without_its_site_prefix_fails {
        org: || OrgBuilder::new().site("/customers").start(),
        args: REFRESH,
        code: exit::PROTOCOL,
        error: "the refresh failed with HTTP 404 and a body that is not an OAuth error",
        hint: Some("check the login URL and site prefix: the request may not have reached \
                    Salesforce's OAuth endpoint"),
    }

    // ---- the token file --------------------------------------------------------------

    token_on_a_missing_token_file_is_a_usage_error_naming_the_path {
        args: &["token", "--token-file", "{dir}/missing.json", "--client-id", "{client_id}"],
        code: exit::USAGE,
        error: "token file {dir}/missing.json does not exist",
        hint: Some(GIVE_A_TOKEN_FILE),
    }

    refresh_of_a_missing_token_file_is_a_usage_error_naming_the_path {
        args: &["refresh", "--token-file", "{dir}/missing.json", "--client-id", "{client_id}"],
        code: exit::USAGE,
        error: "token file {dir}/missing.json does not exist",
        hint: Some(GIVE_A_TOKEN_FILE),
    }

    a_corrupt_token_file_is_a_usage_error {
        setup: |s| s.file.write_raw(b"{\"access_token\": \"00D!AQ.trunc"),
        args: REFRESH,
        code: exit::USAGE,
        error: "token file {file} is not a usable token: not valid JSON (EOF while parsing a \
                string at line 1 column 30)",
        hint: Some(NOT_A_TOKEN),
    }

    a_token_file_without_an_access_token_is_a_usage_error {
        setup: |s| s.file.write(&without(&s.file.json(), "access_token")),
        args: REFRESH,
        code: exit::USAGE,
        error: "token file {file} is not a usable token: `access_token` is missing",
        hint: Some(NOT_A_TOKEN),
    }

    a_token_file_without_a_refresh_token_is_login_required {
        setup: |s| s.file.write(&without(&s.file.json(), "refresh_token")),
        args: REFRESH,
        code: exit::LOGIN_REQUIRED,
        error: "token file {file} has no refresh_token, so it cannot be refreshed",
        hint: Some("log in again with a flow that grants the refresh_token scope"),
    }

    // ---- flags and settings ----------------------------------------------------------

    a_missing_client_id_is_a_usage_error {
        args: &["refresh", "--token-file", "{file}"],
        code: exit::USAGE,
        error: "no client id given",
        hint: Some("pass --client-id with the connected app's Consumer Key (or set \
                    SFAUTH_CLIENT_ID); to create the app, see \"Creating the app sfauth logs in \
                    with\" in the README"),
    }

    a_client_secret_flag_is_not_offered {
        // No `hint:` line: clap's own `tip:` names --client-secret-file instead.
        args: &["refresh", "--token-file", "{file}", "--client-id", "{client_id}",
                "--client-secret", "s3cr3t-on-the-command-line"],
        code: exit::USAGE,
        error: "unexpected argument '--client-secret' found",
        hint: None,
        secrets: &["s3cr3t-on-the-command-line"],
    }

    an_http_login_url_to_a_remote_host_is_a_usage_error {
        args: &["refresh", "--token-file", "{file}", "--client-id", "{client_id}",
                "--login-url", "http://login.salesforce.com"],
        code: exit::USAGE,
        error: "login URL `http://login.salesforce.com` uses http:// for a host that is not \
                loopback",
        hint: Some("use https://login.salesforce.com: plain http is allowed only for 127.0.0.1, \
                    ::1 and localhost"),
    }

    an_unknown_subcommand_is_a_usage_error {
        // No `hint:` line: clap reports it, with its own `tip:` or usage line.
        args: &["refersh", "--token-file", "{file}"],
        code: exit::USAGE,
        error: "unrecognized subcommand 'refersh'",
        hint: None,
    }

    an_unknown_output_format_is_a_usage_error {
        // No `hint:` line: clap reports it, with its own `tip:` or usage line.
        args: &["token", "--token-file", "{file}", "--client-id", "{client_id}",
                "--format", "yaml"],
        code: exit::USAGE,
        error: "invalid value 'yaml' for '--format <FORMAT>'",
        hint: None,
    }

    a_max_age_that_overflows_is_a_usage_error {
        // No `hint:` line: clap reports it, with its own `tip:` or usage line.
        args: &["token", "--token-file", "{file}", "--client-id", "{client_id}",
                "--max-age", "307445734561825860m"],
        code: exit::USAGE,
        error: "invalid value '307445734561825860m' for '--max-age <DURATION>': \
                `307445734561825860m` is too long; the most is 36500d (100 years)",
        hint: None,
    }

    a_timeout_that_overflows_is_a_usage_error {
        // No `hint:` line: clap reports it, with its own `tip:` or usage line.
        args: &["token", "--token-file", "{file}", "--client-id", "{client_id}",
                "--timeout", "99999999999999999999s"],
        code: exit::USAGE,
        error: "invalid value '99999999999999999999s' for '--timeout <DURATION>': \
                `99999999999999999999s` is too long; the most is 36500d (100 years)",
        hint: None,
    }

    a_site_given_as_a_url_is_a_usage_error {
        args: &["refresh", "--token-file", "{file}", "--client-id", "{client_id}",
                "--site", "https://acme.my.site.com/customers"],
        code: exit::USAGE,
        error: "site prefix `https://acme.my.site.com/customers` is not a URL path",
        hint: Some("give the site's path prefix only, for example /customers: pass it with \
                    --site"),
    }

    // ---- stored orgs -----------------------------------------------------------------

    an_unknown_org_is_a_usage_error_listing_the_known_ones {
        setup: Scene::adopt_dev,
        args: &["token", "--org", "prod"],
        code: exit::USAGE,
        error: "no org named `prod`",
        hint: Some("known orgs: dev"),
    }

    an_unknown_org_from_sfauth_org_says_where_the_name_came_from {
        setup: Scene::adopt_dev,
        args: &["token"],
        env: &[("SFAUTH_ORG", "prod")],
        code: exit::USAGE,
        error: "no org named `prod` (from SFAUTH_ORG)",
        hint: Some("known orgs: dev"),
    }

    no_org_and_no_token_file_says_how_to_fix_it {
        args: &["token"],
        code: exit::USAGE,
        error: "no org or token file given",
        hint: Some("pass --org ALIAS or --token-file PATH, or log in with --set-default (sfauth \
                    orgs lists the stored orgs)"),
    }

    org_and_token_file_together_are_a_usage_error {
        setup: Scene::adopt_dev,
        args: &["token", "--org", "dev", "--token-file", "{file}"],
        code: exit::USAGE,
        error: "both --org and --token-file were given",
        hint: Some("pass one of them"),
    }

    exported_sfauth_org_and_sfauth_token_file_together_are_a_usage_error {
        setup: Scene::adopt_dev,
        args: &["token"],
        env: &[("SFAUTH_ORG", "dev"), ("SFAUTH_TOKEN_FILE", "{file}")],
        code: exit::USAGE,
        error: "both SFAUTH_ORG and SFAUTH_TOKEN_FILE are set",
        hint: Some("unset one of them, or pass --org or --token-file, which beats both"),
    }

    // ---- logins ----------------------------------------------------------------------

    a_login_with_a_bad_alias_changes_nothing {
        args: &["login", "token-file", "--alias", "../evil", "--client-id", "x", "{file}"],
        code: exit::USAGE,
        error: "`../evil` is not a valid org alias",
        hint: Some("use letters, digits, '.', '_' and '-' (e.g. prod, my-sandbox)"),
    }

    adopting_a_corrupt_token_file_is_refused {
        setup: |s| s.file.write_raw(b"not json"),
        args: &["login", "token-file", "--alias", "dev", "--client-id", "x", "{file}"],
        code: exit::USAGE,
        error: "token file {file} is not a usable token: not valid JSON (expected ident at line \
                1 column 2)",
        hint: Some(NOT_A_TOKEN),
    }

    an_sfdx_url_without_an_at_sign_is_a_usage_error_naming_it {
        setup: |s| {
            s.file.beside("auth-url", "force://3MVG9id:S3CR3Tvalue:5Aep861TOKEN.value==");
        },
        args: &["login", "sfdx-url", "--alias", "ci", "{dir}/auth-url"],
        code: exit::USAGE,
        error: "the SFDX auth URL has no `@` before the instance host",
        hint: Some(SFDX_URL_SHAPE),
        secrets: &["S3CR3Tvalue", "5Aep861TOKEN"],
    }

    an_sfdx_url_without_a_refresh_token_is_a_usage_error_naming_it {
        setup: |s| {
            s.file.beside("auth-url", "force://3MVG9id:S3CR3Tvalue:@acme.my.salesforce.com");
        },
        args: &["login", "sfdx-url", "--alias", "ci", "{dir}/auth-url"],
        code: exit::USAGE,
        error: "the SFDX auth URL has an empty refresh token (between the second `:` and the \
                `@`)",
        hint: Some(SFDX_URL_SHAPE),
        secrets: &["S3CR3Tvalue"],
    }

    an_sfdx_url_without_the_force_scheme_is_a_usage_error_naming_it {
        setup: |s| {
            s.file.beside(
                "auth-url",
                "https://3MVG9id:S3CR3Tvalue:5Aep861TOKEN.value==@acme.my.salesforce.com",
            );
        },
        args: &["login", "sfdx-url", "--alias", "ci", "{dir}/auth-url"],
        code: exit::USAGE,
        error: "the SFDX auth URL does not start with force://",
        hint: Some(SFDX_URL_SHAPE),
        secrets: &["S3CR3Tvalue", "5Aep861TOKEN"],
    }

    an_sfdx_url_file_that_is_missing_is_a_usage_error {
        // No `hint:` line yet: the CLI reads the file itself and says only what failed.
        args: &["login", "sfdx-url", "--alias", "ci", "{dir}/no-such-file"],
        code: exit::USAGE,
        error: "cannot read {dir}/no-such-file: No such file or directory (os error 2)",
        hint: None,
    }

    a_jwt_signed_with_a_key_the_app_does_not_trust_is_client_rejected {
        org: || OrgBuilder::new().trusting_the_jwt_key().start(),
        args: &["login", "jwt", "--alias", "ci", "--client-id", "{client_id}",
                "--login-url", "{org}", "--username", "ada@example.com",
                "--key-file", "{fixtures}/jwt_test_other_key.pem"],
        code: exit::CLIENT_REJECTED,
        error: "Salesforce refused the JWT bearer login: invalid_grant: invalid assertion",
        hint: Some("check that the private key matches the certificate uploaded to the connected \
                   app, that the username exists in this org, and the audience (sandboxes use \
                   https://test.salesforce.com)"),
        requests: 1,
        secrets: &["BEGIN"],
    }

    a_password_login_where_the_org_blocks_the_flow_is_login_required {
        args: &["login", "password", "--alias", "old", "--client-id", "{client_id}",
                "--login-url", "{org}", "--username", "ada@example.com",
                "--client-secret-file", "{dir}/client_secret"],
        env: &[("SFAUTH_PASSWORD", "hunter2-pw+SECTOKEN123")],
        code: exit::LOGIN_REQUIRED,
        error: "Salesforce refused the password login: invalid_grant: authentication failure",
        hint: Some("check the username and the password followed by the security token; the \
                   username-password flow may also be blocked in this org (it is by default \
                   since Summer '23): use the web, JWT or client credentials login instead"),
        requests: 1,
        secrets: &["hunter2-pw+SECTOKEN123"],
    }

    client_credentials_at_the_generic_login_host_is_refused_before_any_request {
        // Were a request made anyway, it would go to this closed port, not the internet.
        args: &["login", "client-credentials", "--alias", "int", "--client-id", "3MVG9example",
                "--login-url", "https://login.salesforce.com",
                "--client-secret-file", "{dir}/client_secret"],
        env: &[("HTTPS_PROXY", "{nowhere}"), ("https_proxy", "{nowhere}")],
        code: exit::USAGE,
        error: "the client credentials flow is not served at login.salesforce.com: it needs the \
                org's My Domain",
        hint: Some("pass the My Domain as the login URL: https://MyDomainName.my.salesforce.com, \
                   or https://MyDomainName--SandboxName.sandbox.my.salesforce.com for a sandbox \
                   (Setup > My Domain shows it)"),
    }

    client_credentials_without_a_secret_is_a_usage_error {
        args: &["login", "client-credentials", "--alias", "int", "--client-id", "{client_id}",
                "--login-url", "{org}"],
        code: exit::USAGE,
        error: "the client credentials login needs the connected app's client secret",
        hint: Some("give the connected app's Consumer Secret: pass --client-secret-file PATH or \
                    set SFAUTH_CLIENT_SECRET"),
    }
}

// ---- failures with more to say than two lines --------------------------------------------

#[test]
fn refresh_json_failure_puts_the_error_object_on_stdout() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let before = Snapshot::of(&file, &org);
    org.revoke_refresh_token(&file.field("refresh_token"));

    let run = refresh(&org, &file.path)
        .arg("--json")
        .exits(exit::LOGIN_REQUIRED);

    let error = &run.json()["error"];
    assert_eq!(error["kind"], "login_required");
    assert_eq!(error["exit_code"], exit::LOGIN_REQUIRED);
    assert_eq!(error["message"], run.error());
    assert_eq!(error["hint"], run.hint().expect("a hint"));
    before.assert_unchanged();
    before.never_shown_by(&run);
}

// ---- transient failures that end in success -------------------------------------------

#[test]
fn one_503_then_success_refreshes() {
    let org = org();
    let file = TokenFile::issued_by(&org);
    let old = file.json();
    org.inject_specs(&["status:503"]);

    refresh(&org, &file.path).ok();

    let stats = org.stats();
    assert_eq!((stats.token_requests, stats.refreshes_served), (2, 1));
    assert_ne!(file.field("access_token"), text(&old, "access_token"));
    assert_ne!(file.field("refresh_token"), text(&old, "refresh_token"));
}

#[test]
fn already_being_processed_is_waited_out_for_a_token_that_does_not_rotate() {
    let org = OrgBuilder::new().without_rotation().start();
    let file = TokenFile::issued_by(&org);
    let mut token = file.json();
    token["sfauth_rotation"] = "false".into();
    file.write(&token);
    let old = file.field("access_token");
    org.inject(Fault::already_being_processed());

    refresh(&org, &file.path).ok();

    let stats = org.stats();
    assert_eq!((stats.token_requests, stats.refreshes_served), (2, 1));
    assert_ne!(file.field("access_token"), old);
}
