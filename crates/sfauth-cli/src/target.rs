//! From flags to a [`Session`]: which token, which app, which login host.
//!
//! An explicit `--org` wins, then an explicit `--token-file`, then the default org: a flag
//! the user typed beats a default they set long ago.

use std::path::{Path, PathBuf};

use sfauth::{
    Error, ErrorKind, ExpiryPolicy, FileStore, HttpConfig, JwtBearer, LoginUrl, OAuthClient,
    Renewal, Result, Secret, Session, SitePrefix, Token,
};

use crate::cli::{HttpArgs, TargetArgs};
use crate::config::{Alias, Config, Flow, Home, Org, SecretSource, TOKEN_FILE_SECRET_KEY};
use crate::out::errln;

/// The env var that may hold the client secret (never a flag: flags show in `ps`).
pub const CLIENT_SECRET_ENV: &str = "SFAUTH_CLIENT_SECRET";

/// The env var the password flow reads the password + security token from, at login and
/// when a password org is renewed.
pub const PASSWORD_ENV: &str = "SFAUTH_PASSWORD";

/// A session for the token the flags name, and where it lives.
pub struct Target {
    pub session: Session,
    pub token_file: PathBuf,
    /// The org's alias, when the token belongs to a named org.
    pub alias: Option<Alias>,
    /// When a token counts as stale.
    pub expiry: ExpiryPolicy,
    /// Timeouts and CA for requests.
    pub http: HttpConfig,
}

/// Builds the session. Checks every flag before anything touches the network or the file.
pub fn resolve(args: &TargetArgs) -> Result<Target> {
    let (org, token_file) = match pick(args)? {
        Picked::TokenFile(path) => (None, path),
        Picked::Org(alias) => {
            let org = load_org(alias.as_ref())?;
            let path = org.1.token_file.clone();
            (Some(org), path)
        }
        Picked::OrgFromEnv(alias) => {
            let org = load_org(Some(&alias)).map_err(|e| {
                let hint = e.hint().map(str::to_owned);
                let e = Error::new(e.kind(), format!("{e} (from {ORG_ENV})"));
                match hint {
                    Some(hint) => e.with_hint(hint),
                    None => e,
                }
            })?;
            let path = org.1.token_file.clone();
            (Some(org), path)
        }
    };
    if let Some((alias, org)) = &org
        && org.revoked
    {
        return Err(Error::new(
            ErrorKind::LoginRequired,
            format!("the token of org `{alias}` was revoked with `sfauth revoke`"),
        )
        .with_hint(format!(
            "log in again to `{alias}` (e.g. sfauth login web --alias {alias}), or forget it with sfauth logout --org {alias} --local-only"
        )));
    }
    let (stored_client_id, login_url, site) = match &org {
        Some((_, org)) => (
            Some(org.client_id.clone()).filter(|id| !id.is_empty()),
            Some(org.login_url.clone()),
            Some(org.site.clone()),
        ),
        None => (None, None, None),
    };
    let expiry = match &org {
        Some((_, org)) => org.expiry(args.max_age),
        None => ExpiryPolicy::new(args.max_age.unwrap_or(sfauth::expiry::DEFAULT_MAX_AGE)),
    };
    let alias = org.as_ref().map(|(alias, _)| alias.clone());
    warn_if_others_can_replace(&token_file);
    if let Some((alias, org)) = &org
        && org.flow == Flow::AccessToken
        && args.client_id.is_none()
    {
        // An adopted access token needs no app until it is stale; then the session says so.
        let http = http_config(&args.http);
        let session = Session::builder(file_store(&token_file, &args.http), OAuthClient::new("-"))
            .expiry(expiry)
            .renewal(Renewal::None)
            .build();
        tracing::debug!(org = %alias, "access-token org");
        return Ok(Target {
            session,
            token_file,
            alias: Some(alias.clone()),
            expiry,
            http,
        });
    }
    // The org's own client id issued its refresh token: an exported default does not replace it.
    let client_id = require_client_id(
        args.client_id
            .clone()
            .or(stored_client_id)
            .or_else(|| env_value(CLIENT_ID_ENV)),
    )?;

    let mut client = OAuthClient::new(client_id.clone());
    let secret = match &args.client_secret_file {
        Some(path) => Some(read_secret_file(path)?),
        None => match (env_secret(CLIENT_SECRET_ENV)?, &org) {
            (Some(secret), _) => Some(secret),
            (None, Some((_, org))) => org_secret(org, None)?,
            (None, None) => None,
        },
    };
    if let Some(secret) = secret {
        client = client.with_secret(secret);
    }
    let http = http_config(&args.http);
    let mut builder = Session::builder(file_store(&token_file, &args.http), client)
        .expiry(expiry)
        .http(http.clone());
    if let Some(url) = args.login_url.as_ref().or(login_url.as_ref()) {
        builder = builder.login_url(LoginUrl::parse(url)?);
    }
    if let Some(site) = args.site.as_ref().or(site.as_ref()) {
        builder = builder.site(SitePrefix::parse(site)?);
    }
    if let Some((_, org)) = &org {
        builder = builder
            .renewal(renewal(org, &client_id_of(org, args), args)?)
            .introspect_expiry(org.introspect);
    }
    Ok(Target {
        session: builder.build(),
        token_file,
        alias,
        expiry,
        http,
    })
}

/// A non-empty client id, or a usage error saying how to give one.
pub fn require_client_id(client_id: Option<String>) -> Result<String> {
    client_id
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Error::new(ErrorKind::Usage, "no client id given").with_hint(
                "pass --client-id with the connected app's Consumer Key (or set SFAUTH_CLIENT_ID)",
            )
        })
}

/// The HTTP settings of the flags (`--timeout`, `--ca-file` and their env vars), for
/// every command that talks to Salesforce.
pub fn http_config(args: &HttpArgs) -> HttpConfig {
    HttpConfig {
        timeout: args.timeout,
        connect_timeout: args.timeout.min(HttpConfig::default().connect_timeout),
        ca_file: args.ca_file.clone(),
        ..HttpConfig::default()
    }
}

/// The file store for `path`: a stuck lock is waited for at most `--timeout`, and on a
/// terminal the wait is announced once, after a second.
pub fn file_store(path: &Path, http: &HttpArgs) -> FileStore {
    use std::io::IsTerminal;
    let store = FileStore::new(path).with_lock_timeout(http.timeout);
    if std::io::stderr().is_terminal() {
        store.with_wait_notice(|lock| {
            errln!(
                "waiting for another sfauth that is refreshing this token (lock {})…",
                lock.display()
            );
        })
    } else {
        store
    }
}

/// Warns once when the token file's directory is world-writable without the sticky bit:
/// anyone on the machine can then replace the file (rename over it) with a token of theirs,
/// or delete it.
pub fn warn_if_others_can_replace(token_file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let dir = match token_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    let mode = meta.permissions().mode();
    if mode & 0o002 != 0 && mode & 0o1000 == 0 {
        errln!(
            "warning: {} is in {}, which anyone on this machine can write to (mode {:o}, no sticky bit): they can replace or delete the token file; move it to a private directory (e.g. chmod 700 {})",
            token_file.display(),
            dir.display(),
            mode & 0o7777,
            dir.display()
        );
    }
}

/// The env var naming the org when no flag does.
const ORG_ENV: &str = "SFAUTH_ORG";
/// The env var naming the token file when no flag does.
const TOKEN_FILE_ENV: &str = "SFAUTH_TOKEN_FILE";
/// The env var with the client id for token files and orgs that stored none.
const CLIENT_ID_ENV: &str = "SFAUTH_CLIENT_ID";

/// Which token the flags, else the environment, name.
enum Picked {
    /// `--org`, or the default org when nothing names one.
    Org(Option<String>),
    /// SFAUTH_ORG, so that errors can say where the alias came from.
    OrgFromEnv(String),
    /// `--token-file` or SFAUTH_TOKEN_FILE.
    TokenFile(PathBuf),
}

/// Flag beats environment beats the default org; two flags, or two variables, that name
/// different tokens are a usage error.
fn pick(args: &TargetArgs) -> Result<Picked> {
    match (&args.org, &args.token_file) {
        (Some(_), Some(_)) => Err(Error::new(
            ErrorKind::Usage,
            "both --org and --token-file were given",
        )
        .with_hint("pass one of them")),
        (Some(alias), None) => Ok(Picked::Org(Some(alias.clone()))),
        (None, Some(path)) => Ok(Picked::TokenFile(path.clone())),
        (None, None) => match (env_value(ORG_ENV), env_value(TOKEN_FILE_ENV)) {
            (Some(_), Some(_)) => Err(Error::new(
                ErrorKind::Usage,
                format!("both {ORG_ENV} and {TOKEN_FILE_ENV} are set"),
            )
            .with_hint("unset one of them, or pass --org or --token-file, which beats both")),
            (Some(alias), None) => Ok(Picked::OrgFromEnv(alias)),
            (None, Some(path)) => Ok(Picked::TokenFile(PathBuf::from(path))),
            (None, None) => Ok(Picked::Org(None)),
        },
    }
}

/// A non-empty environment value.
fn env_value(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|value| !value.is_empty())
}

/// The named org, or the default one.
pub fn load_org(alias: Option<&String>) -> Result<(Alias, Org)> {
    let config = Config::load(&Home::locate()?)?;
    let (alias, org) = config.select(alias)?;
    Ok((alias, org.clone()))
}

fn client_id_of(org: &Org, args: &TargetArgs) -> String {
    args.client_id
        .clone()
        .unwrap_or_else(|| org.client_id.clone())
}

/// How an org's token is renewed when stale: by its refresh token, or by running its flow
/// again where the flow gives no refresh token.
fn renewal(org: &Org, client_id: &str, args: &TargetArgs) -> Result<Renewal> {
    Ok(match org.flow {
        Flow::Jwt => {
            let key_file = org.key_file.as_ref().ok_or_else(|| {
                Error::new(
                    ErrorKind::Usage,
                    "this JWT org has no key file in the config",
                )
                .with_hint("log in again with sfauth login jwt --key-file PATH")
            })?;
            let username = org.username.clone().unwrap_or_default();
            let login = LoginUrl::parse(args.login_url.as_deref().unwrap_or(&org.login_url))?;
            let bearer = jwt_bearer(
                &OAuthClient::new(client_id),
                &username,
                key_file,
                org.audience.as_deref(),
                &login,
            )?;
            Renewal::JwtBearer(bearer)
        }
        Flow::ClientCredentials => Renewal::ClientCredentials,
        Flow::Password => match (env_secret(PASSWORD_ENV)?, &org.username) {
            (Some(password), Some(username)) => Renewal::Password {
                username: username.clone(),
                password,
            },
            _ => Renewal::None,
        },
        Flow::AccessToken => Renewal::None,
        Flow::Web | Flow::Device | Flow::SfdxUrl | Flow::TokenFile => Renewal::RefreshToken,
    })
}

/// The org's client secret: the file or env var its config names, or the one kept in its
/// token file (from an SFDX auth URL). `token` saves a second read when the caller has it.
pub fn org_secret(org: &Org, token: Option<&Token>) -> Result<Option<Secret<String>>> {
    if org.secret.client_secret_in_token_file {
        let loaded;
        let token = match token {
            Some(t) => t,
            None => {
                let bytes =
                    zeroize::Zeroizing::new(std::fs::read(&org.token_file).map_err(|e| {
                        Error::new(
                            ErrorKind::Usage,
                            format!("cannot read {}: {e}", org.token_file.display()),
                        )
                    })?);
                loaded = Token::from_json(&bytes).map_err(|e| {
                    Error::new(
                        ErrorKind::Usage,
                        format!("token file {} is not usable: {e}", org.token_file.display()),
                    )
                })?;
                &loaded
            }
        };
        return Ok(token
            .get(TOKEN_FILE_SECRET_KEY)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(Secret::from));
    }
    stored_secret(&org.secret)
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

/// The JWT bearer settings of an org.
pub fn jwt_bearer(
    client: &OAuthClient,
    username: &str,
    key_file: &Path,
    audience: Option<&str>,
    login: &LoginUrl,
) -> sfauth::Result<JwtBearer> {
    let key_pem = Secret::new(std::fs::read_to_string(key_file).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot read the key file {}: {e}", key_file.display()),
        )
        .with_hint(
            "pass --key-file with the RSA private key (PEM) of the connected app's certificate",
        )
    })?);
    Ok(JwtBearer {
        client_id: client.client_id().to_owned(),
        username: username.to_owned(),
        audience: audience.map_or_else(|| JwtBearer::audience_for(login), str::to_owned),
        key_pem,
    })
}
