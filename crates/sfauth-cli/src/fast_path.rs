//! `sfauth token` and `sfauth header` answered by a running agent before the rest of
//! sfauth starts: no argument parser, no logging, no async runtime, one blocking request
//! on the agent's socket. Scripts call `sfauth token` before every API request, and a
//! fresh token from the agent otherwise costs more in start-up than in the asking.
//!
//! It takes only the plainest command lines (`token [--org ALIAS] [--format bare|header|json]`,
//! `header [--org ALIAS]`) with no setting in the environment that changes the org. Anything
//! else, and any answer short of a token, is `None`: `main` then goes the whole way, which
//! asks the agent too and explains whatever is wrong. So this path adds no behaviour of its
//! own, and everything it cannot decide it leaves to that one.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::agent::client::AgentClient;
use crate::cli::TokenFormat;
use crate::config::{Alias, Config, Home};
use crate::org::warn_if_others_can_replace;

/// The `SFAUTH_*` variables that leave the org as the config describes it. Any other one
/// (a store, an app, `--no-agent`, a log filter) takes the whole way.
const NEUTRAL_ENV: [&str; 4] = [
    "SFAUTH_HOME",
    "SFAUTH_ORG",
    "SFAUTH_AGENT_SOCKET",
    "SFAUTH_FORMAT",
];

/// What a plain `token` or `header` command line asks for.
#[derive(Debug, PartialEq, Eq)]
struct Asked {
    org: Option<String>,
    format: TokenFormat,
}

/// Prints the token the agent serves and returns the exit code, or `None` to go the whole
/// way.
pub fn serve() -> Option<ExitCode> {
    let asked = asked(std::env::args_os().skip(1))?;
    if std::env::vars_os().any(|(name, value)| {
        let name = name.to_string_lossy();
        name.starts_with("SFAUTH_") && !value.is_empty() && !NEUTRAL_ENV.contains(&&*name)
    }) {
        return None;
    }
    // The Salesforce CLI's default org may be one of its own: the whole way decides.
    if asked.org.is_none()
        && std::env::var_os(crate::org::SF_TARGET_ORG_ENV).is_some_and(|v| !v.is_empty())
    {
        return None;
    }
    let home = Home::locate().ok()?;
    let config = Config::load(&home).ok()?;
    let alias = match asked.org {
        Some(alias) => Alias::parse(&alias).ok()?,
        None => match std::env::var("SFAUTH_ORG").ok().filter(|a| !a.is_empty()) {
            Some(alias) => Alias::parse(&alias).ok()?,
            None => config.default_org.clone()?,
        },
    };
    let org = config.org(&alias).ok()?;
    if org.revoked {
        return None;
    }
    let token = AgentClient::for_alias(alias.as_str())?.token_blocking()?;
    if org.store.is_none() {
        warn_if_others_can_replace(&org.token_file);
    }
    let text = crate::commands::token::render(&token, asked.format, org.expiry(None));
    Some(match crate::out::stdout_bytes(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => crate::exit::report(&e, asked.format == TokenFormat::Json),
    })
}

/// The command line after the program's name, if it is a plain `token` or `header`.
fn asked(mut args: impl Iterator<Item = OsString>) -> Option<Asked> {
    let command = args.next()?;
    let header = match command.to_str()? {
        "token" => false,
        "header" => true,
        _ => return None,
    };
    let mut org = None;
    let mut format = None;
    while let Some(arg) = args.next() {
        let arg = arg.into_string().ok()?;
        let (name, value) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (arg, args.next()?.into_string().ok()?),
        };
        let slot = match name.as_str() {
            "--org" | "-o" | "--target-org" => &mut org,
            "--format" if !header => &mut format,
            _ => return None,
        };
        // Given twice is clap's to report.
        if slot.replace(value).is_some() {
            return None;
        }
    }
    let format = match (
        header,
        format.or_else(|| std::env::var("SFAUTH_FORMAT").ok()),
    ) {
        (true, _) => TokenFormat::Header,
        (false, None) => TokenFormat::Bare,
        (false, Some(format)) => match format.as_str() {
            "bare" => TokenFormat::Bare,
            "header" => TokenFormat::Header,
            "json" => TokenFormat::Json,
            "env" => TokenFormat::Env,
            _ => return None,
        },
    };
    Some(Asked { org, format })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Option<Asked> {
        asked(line.split_whitespace().map(OsString::from))
    }

    #[test]
    fn plain_token_and_header_command_lines_are_taken() {
        assert_eq!(
            parse("token"),
            Some(Asked {
                org: None,
                format: TokenFormat::Bare
            })
        );
        assert_eq!(
            parse("token --org prod --format json"),
            Some(Asked {
                org: Some("prod".into()),
                format: TokenFormat::Json
            })
        );
        assert_eq!(
            parse("header --org=qa"),
            Some(Asked {
                org: Some("qa".into()),
                format: TokenFormat::Header
            })
        );
    }

    #[test]
    fn anything_else_goes_the_whole_way() {
        for line in [
            "",
            "refresh --org prod",
            "token --no-agent",
            "token --org",
            "token --org a --org b",
            "token --format yaml",
            "token --token-file t.json",
            "token --help",
            "header --format bare",
            "token --org prod extra",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }
}
