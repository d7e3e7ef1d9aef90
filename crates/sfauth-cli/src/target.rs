//! From flags to a [`Session`]: which token, which app, which login host.

use std::path::{Path, PathBuf};

use sfauth::{
    Error, ErrorKind, ExpiryPolicy, FileStore, HttpConfig, LoginUrl, OAuthClient, Result, Secret,
    Session, SitePrefix,
};

use crate::cli::TargetArgs;

/// The env var that may hold the client secret (never a flag: flags show in `ps`).
pub const CLIENT_SECRET_ENV: &str = "SFAUTH_CLIENT_SECRET";

/// A session for the token the flags name, and where it lives.
pub struct Target {
    pub session: Session,
    pub token_file: PathBuf,
}

/// Builds the session. Checks every flag before anything touches the network or the file.
pub fn resolve(args: &TargetArgs, expiry: ExpiryPolicy) -> Result<Target> {
    let token_file = args.token_file.clone().ok_or_else(|| {
        Error::new(ErrorKind::Usage, "no token file given")
            .with_hint("pass --token-file PATH (or set SFAUTH_TOKEN_FILE)")
    })?;
    let client_id = args
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Error::new(ErrorKind::Usage, "no client id given").with_hint(
                "pass --client-id with the connected app's Consumer Key (or set SFAUTH_CLIENT_ID)",
            )
        })?;
    let mut client = OAuthClient::new(client_id);
    if let Some(secret) = client_secret(args.client_secret_file.as_deref())? {
        client = client.with_secret(secret);
    }
    let http = HttpConfig {
        timeout: args.timeout,
        connect_timeout: args.timeout.min(HttpConfig::default().connect_timeout),
        ca_file: args.ca_file.clone(),
        ..HttpConfig::default()
    };
    let mut builder = Session::builder(FileStore::new(&token_file), client)
        .expiry(expiry)
        .http(http);
    if let Some(url) = &args.login_url {
        builder = builder.login_url(LoginUrl::parse(url)?);
    }
    if let Some(site) = &args.site {
        builder = builder.site(SitePrefix::parse(site)?);
    }
    Ok(Target {
        session: builder.build(),
        token_file,
    })
}

/// The client secret from `--client-secret-file`, else `SFAUTH_CLIENT_SECRET`, else none.
fn client_secret(file: Option<&Path>) -> Result<Option<Secret<String>>> {
    let raw = match file {
        Some(path) => Secret::new(std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("cannot read the client secret file {}: {e}", path.display()),
            )
            .with_hint("the file should hold the connected app's Consumer Secret and nothing else")
        })?),
        None => match std::env::var(CLIENT_SECRET_ENV) {
            Ok(value) => Secret::new(value),
            Err(_) => return Ok(None),
        },
    };
    let trimmed = raw.expose().trim();
    if trimmed.is_empty() {
        return Err(
            Error::new(ErrorKind::Usage, "the client secret is empty").with_hint(
                "put the Consumer Secret in the file or SFAUTH_CLIENT_SECRET, or leave both unset",
            ),
        );
    }
    Ok(Some(Secret::from(trimmed)))
}
