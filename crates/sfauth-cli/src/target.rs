//! From flags to a [`Session`]: which token, which app, which login host.
//!
//! An explicit `--org` wins, then an explicit `--token-file`, then the default org: a flag
//! the user typed beats a default they set long ago.

use std::path::{Path, PathBuf};

use sfauth::{
    Error, ErrorKind, ExpiryPolicy, FileStore, HttpConfig, LoginUrl, OAuthClient, Result, Secret,
    Session, SitePrefix,
};

use crate::cli::TargetArgs;
use crate::config::{Alias, Config, Home, Org, SecretSource};

/// The env var that may hold the client secret (never a flag: flags show in `ps`).
pub const CLIENT_SECRET_ENV: &str = "SFAUTH_CLIENT_SECRET";

/// A session for the token the flags name, and where it lives.
pub struct Target {
    pub session: Session,
    pub token_file: PathBuf,
}

/// Builds the session. Checks every flag before anything touches the network or the file.
pub fn resolve(args: &TargetArgs, expiry: ExpiryPolicy) -> Result<Target> {
    let org = match (&args.org, &args.token_file) {
        (Some(_), Some(_)) => {
            return Err(
                Error::new(ErrorKind::Usage, "both --org and --token-file were given")
                    .with_hint("pass one of them (check SFAUTH_ORG and SFAUTH_TOKEN_FILE too)"),
            );
        }
        (Some(alias), None) => Some(load_org(Some(alias))?),
        (None, Some(_)) => None,
        (None, None) => Some(load_org(None)?),
    };
    let (token_file, stored_client_id, login_url, site, secret_source) = match &org {
        Some((_, org)) => (
            org.token_file.clone(),
            Some(org.client_id.clone()),
            Some(org.login_url.clone()),
            Some(org.site.clone()),
            org.secret.clone(),
        ),
        None => (
            args.token_file.clone().expect("checked above"),
            None,
            None,
            None,
            SecretSource::default(),
        ),
    };
    let client_id = args
        .client_id
        .clone()
        .or(stored_client_id)
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Error::new(ErrorKind::Usage, "no client id given").with_hint(
                "pass --client-id with the connected app's Consumer Key (or set SFAUTH_CLIENT_ID)",
            )
        })?;
    let mut client = OAuthClient::new(client_id);
    let secret = match &args.client_secret_file {
        Some(path) => Some(read_secret_file(path)?),
        None => match env_secret(CLIENT_SECRET_ENV)? {
            Some(secret) => Some(secret),
            None => stored_secret(&secret_source)?,
        },
    };
    if let Some(secret) = secret {
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
    if let Some(url) = args.login_url.as_ref().or(login_url.as_ref()) {
        builder = builder.login_url(LoginUrl::parse(url)?);
    }
    if let Some(site) = args.site.as_ref().or(site.as_ref()) {
        builder = builder.site(SitePrefix::parse(site)?);
    }
    Ok(Target {
        session: builder.build(),
        token_file,
    })
}

/// The named org, or the default one.
pub fn load_org(alias: Option<&String>) -> Result<(Alias, Org)> {
    let home = Home::locate()?;
    let config = Config::load(&home)?;
    let alias = match alias {
        Some(a) => Alias::parse(a)?,
        None => config.default_org.clone().ok_or_else(|| {
            Error::new(ErrorKind::Usage, "no org or token file given").with_hint(
                "pass --org ALIAS or --token-file PATH, or log in with --set-default \
                 (sfauth orgs lists the stored orgs)",
            )
        })?,
    };
    let org = config.org(&alias)?.clone();
    Ok((alias, org))
}

/// The secret the org's config points at, if any.
pub fn stored_secret(source: &SecretSource) -> Result<Option<Secret<String>>> {
    if let Some(path) = &source.client_secret_file {
        return read_secret_file(path).map(Some);
    }
    match &source.client_secret_env {
        Some(var) => env_secret(var)?.map(Some).ok_or_else(|| {
            Error::new(
                ErrorKind::Usage,
                format!("the org's client secret variable {var} is not set"),
            )
            .with_hint(format!(
                "export {var} with the connected app's Consumer Secret"
            ))
        }),
        None => Ok(None),
    }
}

/// The secret in an env var, trimmed; `None` when unset.
pub fn env_secret(var: &str) -> Result<Option<Secret<String>>> {
    match std::env::var(var) {
        Ok(value) => non_empty(Secret::new(value), &format!("the variable {var}")).map(Some),
        Err(_) => Ok(None),
    }
}

/// A secret read from a file, trimmed.
pub fn read_secret_file(path: &Path) -> Result<Secret<String>> {
    let raw = Secret::new(std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot read the client secret file {}: {e}", path.display()),
        )
        .with_hint("the file should hold the connected app's Consumer Secret and nothing else")
    })?);
    non_empty(raw, &format!("the file {}", path.display()))
}

fn non_empty(raw: Secret<String>, place: &str) -> Result<Secret<String>> {
    let trimmed = raw.expose().trim();
    if trimmed.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("the client secret in {place} is empty"),
        )
        .with_hint("put the Consumer Secret there, or leave it unset"));
    }
    Ok(Secret::from(trimmed))
}
