//! `--sink ALIAS=PATH[:FORMAT]`: the org's current token written to a file (0600, atomic
//! rename) at start and after every refresh, for programs that read a file.

use std::path::PathBuf;

use sfauth::{Error, ErrorKind, ExpiryPolicy, Result, Token};

use crate::cli::TokenFormat;
use crate::commands::token::render;
use crate::config::Alias;

/// What a sink file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkFormat {
    /// The access token and a newline.
    Bare,
    /// `Authorization: Bearer …`.
    Header,
    /// `SF_ACCESS_TOKEN=…` and `SF_INSTANCE_URL=…` lines, for `set -a; . FILE` or systemd's
    /// `EnvironmentFile=`.
    Env,
    /// The JSON of `sfauth token --format json`.
    Json,
}

/// One sink.
#[derive(Debug, Clone)]
pub struct Sink {
    pub alias: Alias,
    pub path: PathBuf,
    pub format: SinkFormat,
}

impl Sink {
    /// Parses `ALIAS=PATH[:bare|header|env|json]`.
    pub fn parse(text: &str) -> Result<Sink> {
        let usage = || {
            Error::new(
                ErrorKind::Usage,
                format!("`{text}` is not a sink (--sink ALIAS=PATH[:bare|header|env|json])"),
            )
            .with_hint("for example --sink prod=/run/user/1000/sf-prod.token:header")
        };
        let (alias, rest) = text.split_once('=').ok_or_else(usage)?;
        let alias = Alias::parse(alias)?;
        let (path, format) = match rest.rsplit_once(':') {
            Some((path, "bare")) => (path, SinkFormat::Bare),
            Some((path, "header")) => (path, SinkFormat::Header),
            Some((path, "env")) => (path, SinkFormat::Env),
            Some((path, "json")) => (path, SinkFormat::Json),
            _ => (rest, SinkFormat::Bare),
        };
        if path.is_empty() {
            return Err(usage());
        }
        Ok(Sink {
            alias,
            path: PathBuf::from(path),
            format,
        })
    }

    /// Writes `token` (atomically, 0600).
    pub fn write(&self, token: &Token, expiry: ExpiryPolicy) -> Result<()> {
        let text = match self.format {
            SinkFormat::Bare => render(token, TokenFormat::Bare, expiry),
            SinkFormat::Header => render(token, TokenFormat::Header, expiry),
            SinkFormat::Json => render(token, TokenFormat::Json, expiry),
            SinkFormat::Env => zeroize::Zeroizing::new(format!(
                "SF_ACCESS_TOKEN={}\nSF_INSTANCE_URL={}\nSF_ORG_ALIAS={}\n",
                token.access_token().expose(),
                token.instance_url(),
                self.alias.as_str()
            )),
        };
        sfauth::files::write_private_file(&self.path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_names_an_org_a_path_and_a_format() {
        let sink = Sink::parse("prod=/tmp/x.token:header").unwrap();
        assert_eq!(sink.alias.as_str(), "prod");
        assert_eq!(sink.path, PathBuf::from("/tmp/x.token"));
        assert_eq!(sink.format, SinkFormat::Header);
        let bare = Sink::parse("prod=/tmp/x:y.token").unwrap();
        assert_eq!(bare.path, PathBuf::from("/tmp/x:y.token"));
        assert_eq!(bare.format, SinkFormat::Bare);
    }

    #[test]
    fn a_sink_without_an_org_or_a_path_is_a_usage_error() {
        for bad in ["/tmp/x", "prod=", "prod=:json", "no such=/tmp/x"] {
            let e = Sink::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{bad}: {e}");
        }
    }
}
