//! `sfauth help [TOPIC|COMMAND…]`: the commands' help, and two topics of their own: the
//! environment variables sfauth reads (`environment`) and its exit codes (`exit-codes`).

use clap::CommandFactory;
use sfauth::{Error, ErrorKind};

use crate::cli::{Cli, HelpArgs};
use crate::out::outln;

/// Every environment variable sfauth reads or sets, with what it does. A flag's twin is
/// named in that flag's `--help` too.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "SFAUTH_HOME",
        "sfauth's config and token directory (default: $XDG_CONFIG_HOME/sfauth or ~/.config/sfauth)",
    ),
    (
        "SFAUTH_ORG",
        "the org a command works on, when --org is not given",
    ),
    (
        "SF_TARGET_ORG",
        "the Salesforce CLI's: the org, after SFAUTH_ORG (an sfauth alias, else one of the CLI's orgs)",
    ),
    (
        "SFAUTH_TOKEN_FILE",
        "a token file to work on instead of a stored org (--token-file)",
    ),
    (
        "SFAUTH_CLIENT_ID",
        "the connected app's Consumer Key (--client-id)",
    ),
    (
        "SFAUTH_CLIENT_SECRET",
        "the connected app's Consumer Secret itself (never a flag)",
    ),
    (
        "SFAUTH_CLIENT_SECRET_FILE",
        "a file holding the Consumer Secret (--client-secret-file)",
    ),
    ("SFAUTH_LOGIN_URL", "the login host (--login-url)"),
    ("SFAUTH_SITE", "the Experience Cloud site prefix (--site)"),
    (
        "SFAUTH_PASSWORD",
        "the user's password, for the username-password flow",
    ),
    (
        "SF_ACCESS_TOKEN",
        "an access token to adopt (login access-token); set by exec and --format env",
    ),
    (
        "SFDX_AUTH_URL",
        "the SFDX auth URL for login sfdx-url, when no file is given",
    ),
    (
        "SFAUTH_STORE",
        "the token store: file, keychain[:NAME], sf:ALIAS, postman:PATH, postgres://…, redis://… (--store)",
    ),
    (
        "SFAUTH_STORE_KEY",
        "the token's key in a shared store (--store-key)",
    ),
    (
        "SFAUTH_STORE_PASSWORD",
        "the shared store's password itself",
    ),
    (
        "SFAUTH_STORE_PASSWORD_FILE",
        "a file holding the shared store's password (--store-password-file)",
    ),
    (
        "SFAUTH_STORE_LEASE",
        "how long a shared store keeps a silent holder's lock (--store-lease)",
    ),
    (
        "SFAUTH_FORMAT",
        "token's output format: bare, header, json, env (--format)",
    ),
    (
        "SFAUTH_JSON",
        "JSON output for the commands with --json (1, yes, true, on)",
    ),
    (
        "SFAUTH_MAX_AGE",
        "the longest a token is served before it is refreshed (--max-age)",
    ),
    (
        "SFAUTH_TIMEOUT",
        "the longest wait for Salesforce, per request (--timeout)",
    ),
    (
        "SFAUTH_RETRIES",
        "retries of a request that got no answer (--retries)",
    ),
    ("SFAUTH_CA_FILE", "extra CA certificates, PEM (--ca-file)"),
    (
        "SFAUTH_ALLOW_HOST",
        "request: more hosts the token may be sent to, comma-separated (--allow-host)",
    ),
    ("SFAUTH_NO_AGENT", "do not ask a running agent (--no-agent)"),
    ("SFAUTH_AGENT_SOCKET", "the agent's socket (--socket)"),
    (
        "SFAUTH_AGENT_ORGS",
        "agent: the orgs to serve, comma-separated (--org)",
    ),
    (
        "SFAUTH_AGENT_SINKS",
        "agent: files to keep a fresh token in, comma-separated (--sink)",
    ),
    ("SFAUTH_PROXY_LISTEN", "proxy: where to listen (--listen)"),
    (
        "SFAUTH_PROXY_REQUIRE_HEADER",
        "proxy: the header every request must carry (--require-header)",
    ),
    (
        "SFAUTH_LOG",
        "log filter, e.g. debug or sfauth=trace (-v and -q beat it)",
    ),
    (
        "SF_INSTANCE_URL",
        "set by exec and --format env: the org's instance URL",
    ),
    (
        "SF_ORG_INSTANCE_URL",
        "set by exec and --format env: the instance URL, under the Salesforce CLI's name",
    ),
    (
        "SF_API_INSTANCE_URL",
        "set by exec and --format env, when the token names an API instance URL",
    ),
    ("SF_ORG_ALIAS", "set by exec: the org's alias"),
    (
        "SF_USE_GENERIC_UNIX_KEYCHAIN",
        "the Salesforce CLI's: its key is in ~/.sfdx/key.json (sf: stores)",
    ),
    (
        "SFDX_SECRET_TOOL_PATH",
        "the Salesforce CLI's: the program that reads its key from the keychain",
    ),
    (
        "HTTPS_PROXY",
        "a proxy for requests to Salesforce (also https_proxy, NO_PROXY)",
    ),
    ("BROWSER", "the browser login web and open start"),
    ("NO_COLOR", "no colour in logs"),
];

/// The text of `sfauth help environment`.
pub fn environment() -> String {
    let width = ENVIRONMENT
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("Environment variables (a flag beats its variable):\n");
    for (name, meaning) in ENVIRONMENT {
        text.push_str(&format!("  {name:width$}  {meaning}\n"));
    }
    text
}

/// Runs `sfauth help [TOPIC|COMMAND…]`.
pub fn run(args: &HelpArgs) -> anyhow::Result<()> {
    let text = match args.topic.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => Cli::command().render_long_help().to_string(),
        ["environment"] | ["env"] => environment(),
        ["exit-codes"] => format!("{}\n", crate::exit::help()),
        ref path => {
            let mut command = Cli::command();
            command.build();
            let mut found = &command;
            for name in path {
                found = found.find_subcommand(name).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Usage,
                        format!("no help topic or command `{}`", path.join(" ")),
                    )
                    .with_hint(
                        "topics: environment, exit-codes; or a command (sfauth help lists them)",
                    )
                })?;
            }
            found.clone().render_long_help().to_string()
        }
    };
    outln!("{}", text.trim_end())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command's `--help` ends with an example or two.
    #[test]
    fn every_command_has_an_example() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in command.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                let has = sub
                    .get_after_help()
                    .is_some_and(|h| h.to_string().contains("Example"));
                if !has {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "sfauth", &mut missing);
        assert!(missing.is_empty(), "no example: {missing:?}");
    }

    /// Every flag's environment twin, as clap knows it, is in `help environment`.
    #[test]
    fn every_env_twin_of_a_flag_is_documented() {
        fn walk(command: &clap::Command, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                if let Some(env) = arg.get_env().and_then(|e| e.to_str())
                    && !ENVIRONMENT.iter().any(|(name, _)| *name == env)
                {
                    missing.push(env.to_owned());
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), &mut missing);
        assert!(missing.is_empty(), "undocumented: {missing:?}");
    }
}
