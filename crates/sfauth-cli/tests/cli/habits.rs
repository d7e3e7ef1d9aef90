//! The habits of a Salesforce CLI, gh or gcloud user, through the binary: `-o` and
//! `--target-org`, SF_TARGET_ORG, SFDX_AUTH_URL, `--format env`, SFAUTH_JSON's spellings,
//! Lightning URLs, completions, man pages and `--version`.

use sfauth_test_support::prelude::*;
use sfauth_test_support::sf_core::SfCore;

#[test]
fn dash_o_and_target_org_name_the_org_as_org_does() {
    let org = org();
    let (home, file) = Home::with_org("prod", &org);
    let access = file.field("access_token");
    for flag in ["-o", "--target-org", "--org"] {
        let run = home.sfauth().args(["token", flag, "prod"]).ok();
        assert_eq!(run.printed(), access, "{flag}");
    }
    home.sfauth().args(["status", "-o", "prod", "--json"]).ok();
}

#[test]
fn sf_target_org_names_the_org_and_an_unknown_one_is_an_error() {
    let org = org();
    let (home, file) = Home::with_org("prod", &org);
    home.adopt("other", &org, &TokenFile::issued_by(&org).path);
    let run = home
        .sfauth()
        .args(["token"])
        .env("SF_TARGET_ORG", "prod")
        .ok();
    assert_eq!(run.printed(), file.field("access_token"));
    let run = home
        .sfauth()
        .args(["token"])
        .env("SF_TARGET_ORG", "nope")
        .exits(exit::USAGE);
    assert!(run.error().contains("nope"), "{}", run.stderr);
    assert!(run.error().contains("SF_TARGET_ORG"), "{}", run.stderr);
    run.stdout_is_empty();
    // SFAUTH_ORG and --org beat it.
    home.sfauth()
        .args(["token", "--org", "prod"])
        .env("SF_TARGET_ORG", "nope")
        .ok();
}

#[test]
fn sf_target_org_naming_one_of_the_cli_s_orgs_serves_it_from_the_cli_s_file() {
    let org = org();
    let sf = SfCore::new(true);
    sf.log_in(&org, USERNAME, "cli-dev");
    let home = Home::new();
    let run = home
        .sfauth()
        .envs(sf.envs())
        .args(["token"])
        .env("SF_TARGET_ORG", "cli-dev")
        .ok();
    assert_eq!(
        run.printed(),
        sf.read_org(USERNAME)["accessToken"].as_str().unwrap()
    );
}

#[test]
fn login_sfdx_url_reads_sfdx_auth_url_or_sfdx_url_file() {
    let org = org();
    let home = Home::new();
    let url = org.sfdx_url(&org.fresh_refresh_token());
    home.sfauth()
        .args(["login", "sfdx-url", "--alias", "env", "--store", "file"])
        .env("SFDX_AUTH_URL", &url)
        .ok()
        .never_shows(&url);
    let file = home.file("auth-url", &org.sfdx_url(&org.fresh_refresh_token()));
    home.sfauth()
        .args(["login", "sfdx-url", "--alias", "flag", "--store", "file"])
        .arg("--sfdx-url-file")
        .arg(&file)
        .ok();
    assert_eq!(home.org("env")["flow"], "sfdx-url");
    assert_eq!(home.org("flag")["flow"], "sfdx-url");
    let run = home
        .sfauth()
        .args(["login", "sfdx-url", "--alias", "none", "--store", "file"])
        .exits(exit::USAGE);
    assert!(
        run.hint().unwrap().contains("SFDX_AUTH_URL"),
        "{}",
        run.stderr
    );
}

#[test]
fn token_format_env_evaluates_to_the_variables_exec_sets() {
    let org = org();
    let (home, file) = Home::with_org("prod", &org);
    let script = r#"eval "$("$SFAUTH" token --org prod --format env)"; printf '%s|%s|%s' "$SF_ACCESS_TOKEN" "$SF_INSTANCE_URL" "$SF_ORG_INSTANCE_URL""#;
    let evaluated = TestCommand::new("sh")
        .args(["-c", script])
        .env("SFAUTH", sfauth_test_support::command::sfauth_bin())
        .env("SFAUTH_HOME", &home.path)
        .ok();
    let instance = file.field("instance_url");
    assert_eq!(
        evaluated.stdout,
        format!("{}|{instance}|{instance}", file.field("access_token"))
    );
    let exec = home
        .sfauth()
        .args(["exec", "--org", "prod", "--", "sh", "-c"])
        .arg(r#"printf '%s|%s|%s' "$SF_ORG_INSTANCE_URL" "$SF_ORG_ALIAS" "${SF_API_INSTANCE_URL-unset}""#)
        .ok();
    let api = file
        .json()
        .get("api_instance_url")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unset".to_owned());
    assert_eq!(exec.stdout, format!("{instance}|prod|{api}"));
}

#[test]
fn sfauth_json_takes_1_yes_and_true() {
    let org = org();
    let (home, _file) = Home::with_org("prod", &org);
    for value in ["1", "yes", "true", "on", "TRUE"] {
        let run = home.sfauth().arg("orgs").env("SFAUTH_JSON", value).ok();
        assert_eq!(run.json()[0]["alias"], "prod", "SFAUTH_JSON={value}");
    }
    let run = home.sfauth().arg("orgs").env("SFAUTH_JSON", "0").ok();
    assert!(run.stdout.contains("ALIAS"), "a table: {}", run.stdout);
}

#[test]
fn a_lightning_domain_login_url_is_refused_naming_the_my_domain() {
    let home = Home::new();
    let run = home
        .sfauth()
        .args(["login", "web", "--alias", "x", "--store", "file"])
        .args([
            "--client-id",
            "3MVG9x",
            "--login-url",
            "https://acme.lightning.force.com",
        ])
        .exits(exit::USAGE);
    assert!(run.error().contains("Lightning"), "{}", run.stderr);
    assert!(
        run.hint()
            .unwrap()
            .contains("https://acme.my.salesforce.com"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_bash_completion_script_loads_and_completes_subcommands() {
    let script = sfauth().args(["completions", "bash"]).ok().stdout;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sfauth.bash");
    std::fs::write(&path, script).unwrap();
    let check = format!(
        r#"source {}; complete -p sfauth && COMP_WORDS=(sfauth lo); COMP_CWORD=1; _sfauth sfauth lo sfauth; printf '%s\n' "${{COMPREPLY[@]}}""#,
        path.display()
    );
    let run = TestCommand::new("bash").args(["-c", &check]).ok();
    assert!(run.stdout.contains("complete"), "{}", run.stdout);
    assert!(run.stdout.contains("login"), "{}", run.stdout);
    assert!(run.stdout.contains("logout"), "{}", run.stdout);
    for shell in ["zsh", "fish", "powershell"] {
        let run = sfauth().args(["completions", shell]).ok();
        assert!(run.stdout.contains("sfauth"), "{shell}");
    }
}

#[test]
fn the_man_pages_render_with_man() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("sfauth.1");
    std::fs::write(&page, sfauth().arg("man").ok().stdout).unwrap();
    let run = TestCommand::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .ok();
    assert!(run.stdout.contains("NAME"), "{}", run.stdout);
    assert!(run.stdout.contains("token"), "{}", run.stdout);
    let pages = dir.path().join("man1");
    sfauth().arg("man").arg("--dir").arg(&pages).ok();
    let token_page = pages.join("sfauth-token.1");
    let run = TestCommand::new("man")
        .arg("-l")
        .arg(&token_page)
        .env("MANPAGER", "cat")
        .ok();
    assert!(run.stdout.contains("--format"), "{}", run.stdout);
    assert!(pages.join("sfauth-login-web.1").exists());
}

#[test]
fn version_names_the_commit() {
    let run = sfauth().arg("--version").ok();
    let text = run.stdout.trim();
    let (version, commit) = text
        .strip_prefix("sfauth ")
        .and_then(|rest| rest.split_once(" ("))
        .unwrap_or_else(|| panic!("not `sfauth VERSION (COMMIT)`: {text}"));
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let commit = commit.trim_end_matches(')').trim_end_matches("-dirty");
    assert!(
        commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "a commit: {text}"
    );
}

#[test]
fn default_shows_sets_and_unsets_the_default_org() {
    let org = org();
    let (home, _) = Home::with_org("prod", &org);
    home.adopt("dev", &org, &TokenFile::issued_by(&org).path);
    assert_eq!(home.sfauth().arg("default").ok().printed(), "prod");
    home.sfauth().args(["default", "dev"]).ok();
    assert_eq!(home.sfauth().arg("default").ok().printed(), "dev");
    let run = home.sfauth().args(["default", "nope"]).exits(exit::USAGE);
    assert!(run.hint().unwrap().contains("known orgs"), "{}", run.stderr);
    home.sfauth().args(["default", "--unset"]).ok();
    let json = home.sfauth().args(["default", "--json"]).ok().json();
    assert_eq!(json["default_org"], serde_json::Value::Null);
}

#[test]
fn alias_rename_keeps_the_token_and_the_default_and_unset_leaves_the_token() {
    let org = org();
    let (home, file) = Home::with_org("prod", &org);
    home.sfauth()
        .args(["alias", "rename", "prod", "prod-eu"])
        .ok();
    let run = home.sfauth().args(["token", "--org", "prod-eu"]).ok();
    assert_eq!(run.printed(), file.field("access_token"));
    assert_eq!(home.sfauth().arg("default").ok().printed(), "prod-eu");
    home.sfauth()
        .args(["token", "--org", "prod"])
        .exits(exit::USAGE);
    let run = home.sfauth().args(["alias", "unset", "prod-eu"]).ok();
    assert!(run.stderr.contains("unrevoked"), "{}", run.stderr);
    assert!(file.path.exists(), "the token is left where it was");
    assert!(org.refresh_token_is_live(&file.field("refresh_token")));
}

#[test]
fn logout_of_an_unnamed_default_org_without_a_terminal_is_refused() {
    let org = org();
    let (home, file) = Home::with_org("prod", &org);
    let run = home.sfauth().arg("logout").exits(exit::USAGE);
    assert!(run.error().contains("default org `prod`"), "{}", run.stderr);
    assert!(run.hint().unwrap().contains("--org prod"), "{}", run.stderr);
    assert!(org.refresh_token_is_live(&file.field("refresh_token")));
    assert_eq!(org.stats().token_requests, 0);
    home.sfauth().args(["logout", "--yes"]).ok();
    assert!(!org.refresh_token_is_live(&file.field("refresh_token")));
}

/// `sfauth ARGS` on a terminal (`script` gives it a pty), `answer` typed in.
fn on_a_terminal(home: &Home, args: &str, answer: &str) -> TestCommand {
    TestCommand::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} {args}",
            sfauth_test_support::command::sfauth_bin().display()
        ))
        .arg("/dev/null")
        .env("SFAUTH_HOME", &home.path)
        .stdin(format!("{answer}\n"))
}

/// A browser for `BROWSER` that writes the URL it is given into a file: (the script, the
/// file).
fn recording_browser(home: &Home) -> (std::path::PathBuf, std::path::PathBuf) {
    let opened = home.dir.path().join("opened");
    let browser = home.file(
        "browser.sh",
        &format!("#!/bin/sh\nprintf '%s' \"$1\" > {}\n", opened.display()),
    );
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    (browser, opened)
}

/// The URL the recording browser was given, once it has run (it is started, not waited
/// for), that `done` accepts.
fn url_opened(opened: &std::path::Path, done: impl Fn(&str) -> bool) -> String {
    sfauth_test_support::wait_until(
        "the browser to run",
        std::time::Duration::from_secs(10),
        || std::fs::read_to_string(opened).is_ok_and(|url| done(&url)),
    );
    std::fs::read_to_string(opened).unwrap()
}

#[test]
fn logout_on_a_terminal_names_the_org_and_asks_first() {
    let org = org();
    let (home, file) = Home::with_org("prod", &org);
    let run = on_a_terminal(&home, "logout", "n").run();
    assert!(
        run.stdout.contains("Log out of `prod`") && run.stdout.contains("[y/N]"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("cancelled"), "{}", run.stdout);
    assert!(org.refresh_token_is_live(&file.field("refresh_token")));
    let run = on_a_terminal(&home, "logout", "y").run();
    assert!(
        run.stdout.contains("logged out of `prod`"),
        "{}",
        run.stdout
    );
    assert!(!org.refresh_token_is_live(&file.field("refresh_token")));
}

#[test]
fn dash_v_logs_more_without_colour_off_a_terminal_and_dash_q_logs_less() {
    let org = org();
    let (home, _file) = Home::with_org("prod", &org);
    let run = home.sfauth().args(["-vv", "refresh", "--org", "prod"]).ok();
    assert!(run.stderr.contains("DEBUG"), "{}", run.stderr);
    assert!(
        !run.stderr.contains('\u{1b}'),
        "no ANSI codes: {:?}",
        run.stderr
    );
    let run = home
        .sfauth()
        .args(["refresh", "--org", "prod", "-q"])
        .env("SFAUTH_LOG", "debug")
        .ok();
    assert!(!run.stderr.contains("DEBUG"), "{}", run.stderr);
    home.sfauth().args(["-v", "-q", "orgs"]).exits(exit::USAGE);
}

/// `curl`'s status and redirect for `url`, not following it.
fn visit(url: &str) -> String {
    TestCommand::new("curl")
        .args(["-s", "--noproxy", "*", "-o", "/dev/null"])
        .args(["-w", "%{http_code} %{redirect_url}", url])
        .ok()
        .stdout
}

#[test]
fn open_url_only_prints_a_single_use_frontdoor_url_for_the_path() {
    let org = org();
    let (home, file) = Home::with_org("prod", &org);
    let run = home
        .sfauth()
        .args([
            "open",
            "-o",
            "prod",
            "--url-only",
            "--path",
            "/lightning/setup/SetupOneHome/home",
        ])
        .ok();
    let url = run.printed().to_owned();
    assert!(
        url.starts_with(&format!("{}/secur/frontdoor.jsp?otp=", org.url())),
        "{url}"
    );
    run.never_shows(&file.field("access_token"));
    assert_eq!(
        visit(&url),
        format!("302 {}/lightning/setup/SetupOneHome/home", org.url())
    );
    assert!(visit(&url).starts_with("400"), "used once only");
    let stats = org.stats();
    assert_eq!(
        (
            stats.frontdoor_urls,
            stats.frontdoor_logins,
            stats.frontdoor_refused
        ),
        (1, 1, 1)
    );
}

#[test]
fn open_hands_the_url_to_the_browser_and_says_so_when_none_opens() {
    let org = org();
    let (home, _file) = Home::with_org("prod", &org);
    let (browser, opened) = recording_browser(&home);
    let run = home
        .sfauth()
        .args(["open", "--org", "prod"])
        .env("BROWSER", &browser)
        .ok();
    run.stdout_is_empty();
    assert!(run.stderr.contains("opened `prod`"), "{}", run.stderr);
    let url = url_opened(&opened, |url| !url.is_empty());
    assert!(visit(&url).starts_with("302"), "{url}");
    let run = home
        .sfauth()
        .args(["open", "--org", "prod"])
        .env("BROWSER", home.dir.path().join("no-such-browser"))
        .env("PATH", "/nonexistent")
        .exits(exit::USAGE);
    assert!(run.error().contains("no browser opened"), "{}", run.stderr);
    assert!(run.hint().unwrap().contains("--url-only"), "{}", run.stderr);
}

#[test]
fn config_shows_each_setting_and_where_it_came_from_without_secrets() {
    let org = org();
    let (home, file) = Home::with_org("prod", &org);
    let run = home
        .sfauth()
        .args(["config", "--json"])
        .env("SFAUTH_TIMEOUT", "10s")
        .ok();
    let json = run.json();
    assert_eq!(json["schema_version"], 1);
    let settings = &json["settings"];
    assert_eq!(settings["timeout"]["value"], "10s");
    assert_eq!(settings["timeout"]["source"], "env SFAUTH_TIMEOUT");
    assert_eq!(settings["retries"]["source"], "default");
    assert_eq!(settings["home"]["source"], "env SFAUTH_HOME");
    assert_eq!(settings["default_org"]["value"], "prod");
    assert_eq!(settings["org"]["value"], "prod");
    assert_eq!(settings["org.client_id"]["value"], org.client_id());
    assert_eq!(settings["org.client_id"]["source"], "the org's config");
    run.never_shows(&file.field("access_token"))
        .never_shows(&file.field("refresh_token"))
        .never_shows(org.client_secret());
    let table = home.sfauth().args(["config", "-o", "prod"]).ok();
    assert!(table.stdout.contains("SETTING") && table.stdout.contains("org.login_url"));
}

#[test]
fn help_has_topics_for_the_environment_and_exit_codes() {
    let env = sfauth().args(["help", "environment"]).ok();
    for var in [
        "SFAUTH_HOME",
        "SFAUTH_ORG",
        "SF_TARGET_ORG",
        "SFAUTH_STORE",
        "SFDX_AUTH_URL",
    ] {
        assert!(env.stdout.contains(var), "{var}");
    }
    let codes = sfauth().args(["help", "exit-codes"]).ok();
    assert!(
        codes.stdout.contains("3  login required"),
        "{}",
        codes.stdout
    );
    let web = sfauth().args(["help", "login", "web"]).ok();
    assert!(
        web.stdout.contains("Usage: sfauth login web"),
        "{}",
        web.stdout
    );
    sfauth().args(["help", "nope"]).exits(exit::USAGE);
}

/// Every `…_at` field of `value`, at any depth.
fn times_in(value: &serde_json::Value, found: &mut Vec<(String, serde_json::Value)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                if key.ends_with("_at") && !inner.is_null() {
                    found.push((key.clone(), inner.clone()));
                }
                times_in(inner, found);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| times_in(i, found)),
        _ => {}
    }
}

#[test]
fn every_command_s_json_parses_with_jq_and_its_times_are_rfc_3339() {
    let org = org();
    let (home, _file) = Home::with_org("prod", &org);
    let commands: &[&[&str]] = &[
        &["token", "--org", "prod", "--format", "json"],
        &["refresh", "--org", "prod", "--json"],
        &["status", "--org", "prod", "--json"],
        &["status", "--org", "prod", "--format", "sf"],
        &["orgs", "--json"],
        &["config", "--json"],
        &["default", "--json"],
        &["open", "--org", "prod", "--json"],
        &["request", "--org", "prod", "--json", "/services/data/"],
        &["alias", "rename", "prod", "prod-eu", "--json"],
        &["alias", "rename", "prod-eu", "prod", "--json"],
    ];
    let mut times = Vec::new();
    for args in commands {
        let run = home.sfauth().args(*args).ok();
        let checked = TestCommand::new("jq")
            .args(["-e", "."])
            .stdin(run.stdout.clone())
            .run();
        assert_eq!(checked.code, Some(0), "jq refused {args:?}: {}", run.stdout);
        times_in(&run.json(), &mut times);
    }
    assert!(times.len() >= 4, "times were printed: {times:?}");
    for (key, value) in times {
        rfc3339_secs(&value);
        assert!(!key.is_empty());
    }
    let status = home
        .sfauth()
        .args(["status", "--org", "prod", "--json"])
        .ok()
        .json();
    assert!(status["expires_in"].as_u64().is_some(), "{status}");
    assert_eq!(status["schema_version"], 1);
    let sf = home
        .sfauth()
        .args(["status", "--org", "prod", "--format", "sf"])
        .ok()
        .json();
    assert_eq!(sf["status"], 0);
    assert_eq!(sf["result"]["alias"], "prod");
    assert_eq!(sf["result"]["instanceUrl"], org.url());
    assert!(
        sf["result"]["accessToken"]
            .as_str()
            .unwrap()
            .starts_with("[REDACTED]")
    );
}

#[test]
fn a_slow_refresh_is_announced_on_a_terminal_and_nowhere_else() {
    let org = OrgBuilder::new()
        .latency(std::time::Duration::from_secs(4))
        .start();
    let (home, _file) = Home::with_org("prod", &org);
    let run = on_a_terminal(&home, "refresh --org prod", "").run();
    assert!(run.stdout.contains("still working"), "{}", run.stdout);
    let run = home.sfauth().args(["refresh", "--org", "prod"]).ok();
    run.stderr_lacks("still working");
}

#[test]
fn a_device_login_on_a_terminal_says_how_long_it_waits_and_offers_the_browser() {
    let org = OrgBuilder::new().device_polls(0, 2).start();
    let home = Home::new();
    let (browser, opened) = recording_browser(&home);
    let command = format!(
        "login device --alias tv --store file --client-id {} --login-url {} --wait 100s",
        org.client_id(),
        org.url()
    );
    let run = on_a_terminal(&home, &command, "")
        .env("BROWSER", &browser)
        .run();
    assert!(run.stdout.contains("up to 1m"), "{}", run.stdout);
    assert!(run.stdout.contains("Press Enter"), "{}", run.stdout);
    url_opened(&opened, |url| url.ends_with("/setup/connect"));
    // Without a terminal: the code, and nothing more.
    let plain = home
        .sfauth()
        .args(["login", "device", "--alias", "tv2", "--store", "file"])
        .args([
            "--client-id",
            org.client_id(),
            "--login-url",
            &org.url(),
            "--wait",
            "100s",
        ])
        .ok();
    plain.stderr_lacks("Press Enter");
}

#[test]
fn login_revoke_and_logout_say_what_they_did_in_json() {
    let org = org();
    let home = Home::new();
    let file = TokenFile::issued_by(&org);
    let login = home
        .login_token_file("prod", &org, &file.path)
        .arg("--json")
        .ok();
    let stored = login.json();
    assert_eq!(stored["schema_version"], 1);
    assert_eq!(stored["action"], "stored");
    assert_eq!(stored["alias"], "prod");
    assert_eq!(stored["flow"], "token-file");
    rfc3339_secs(&stored["issued_at"]);
    login.never_shows(&file.field("access_token"));
    let revoke = home
        .sfauth()
        .args(["revoke", "--org", "prod", "--access-token-only", "--json"])
        .ok()
        .json();
    assert_eq!(revoke["action"], "revoked_and_renewed");
    let logout = home
        .sfauth()
        .args(["logout", "--org", "prod", "--json"])
        .ok()
        .json();
    assert_eq!(logout["action"], "logged_out");
    assert!(
        logout["revoked"]
            .as_str()
            .unwrap()
            .contains("refresh token"),
        "{logout}"
    );
}

#[test]
fn a_login_under_a_renamed_alias_gets_a_place_of_its_own() {
    let org = org();
    let home = Home::new();
    home.store_sfdx_org(&org, "prod");
    let before = std::fs::read(home.token_file("prod")).unwrap();
    home.sfauth()
        .args(["alias", "rename", "prod", "prod-eu"])
        .ok();
    assert_eq!(
        std::fs::read(home.token_file("prod-eu")).unwrap(),
        before,
        "the file moved"
    );
    home.store_sfdx_org(&org, "prod");
    assert_eq!(std::fs::read(home.token_file("prod-eu")).unwrap(), before);
    let renamed: serde_json::Value = serde_json::from_slice(&before).unwrap();
    assert!(org.refresh_token_is_live(renamed["refresh_token"].as_str().unwrap()));
    home.sfauth().args(["token", "--org", "prod-eu"]).ok();
    home.sfauth().args(["token", "--org", "prod"]).ok();
}

#[test]
fn ambient_settings_do_not_change_what_was_not_asked_for() {
    let org = org();
    let (home, file) = Home::with_org("prod", &org);
    // SFAUTH_JSON leaves request's body and open's browser alone.
    let body = home
        .sfauth()
        .args(["request", "--org", "prod", "/services/data/"])
        .env("SFAUTH_JSON", "1")
        .ok();
    assert!(body.json().is_array(), "the body itself: {}", body.stdout);
    home.sfauth()
        .args(["open", "--org", "prod"])
        .env("SFAUTH_JSON", "1")
        .ok()
        .stdout_is_empty();
    // SF_TARGET_ORG names no token when a store alone does.
    let run = home
        .sfauth()
        .args(["token", "--client-id", org.client_id()])
        .env("SFAUTH_STORE", &file.path)
        .env("SF_TARGET_ORG", "someone-elses-org")
        .ok();
    assert_eq!(run.printed(), file.field("access_token"));
    // Nor does it count as naming the org a logout may act on without asking.
    home.sfauth()
        .args(["logout"])
        .env("SF_TARGET_ORG", "prod")
        .exits(exit::USAGE);
    // config shows a store URL without its password.
    let config = home
        .sfauth()
        .args(["config", "--json"])
        .env(
            "SFAUTH_STORE",
            "postgres://sfauth:hunter2@db.internal/tokens",
        )
        .ok();
    config.never_shows("hunter2");
    assert_eq!(
        config.json()["settings"]["login_store"]["value"],
        "postgres://sfauth@db.internal/tokens"
    );
}
