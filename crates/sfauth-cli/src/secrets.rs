//! Every secret the CLI reads, in one place: the client secret (a file, an environment
//! variable, or the org's own token file), the JWT private key, the password, an access
//! token, and text piped on stdin (a redirected URL, an SFDX auth URL).
//!
//! Each comes back as a [`Secret`] or the library's type for its role ([`ClientSecret`],
//! [`AccessToken`]), so it cannot be printed by accident or passed as another; none is ever a flag
//! value (flags show in `ps`), and no error message holds one. Not here: where a stored org
//! says its secret lives (`config.rs`), or which source wins (`org/`).

use std::io::{BufRead, Read};
use std::path::Path;

use sfauth::{AccessToken, ClientSecret, Error, ErrorKind, Result, Secret, Token};

use crate::config::{Org, SecretSource, TOKEN_FILE_SECRET_KEY};

/// The env var that may hold the client secret itself.
pub const CLIENT_SECRET_ENV: &str = "SFAUTH_CLIENT_SECRET";

/// The env var the password flow reads the password + security token from, at login and
/// when a password org is renewed.
pub const PASSWORD_ENV: &str = "SFAUTH_PASSWORD";

/// The env var that may hold a shared store's password.
pub const STORE_PASSWORD_ENV: &str = "SFAUTH_STORE_PASSWORD";

/// A shared store's password, from a file (trimmed), else SFAUTH_STORE_PASSWORD; `None`
/// when neither gives one.
pub fn store_password(file: Option<&Path>) -> Result<Option<Secret<String>>> {
    match file {
        Some(path) => secret_file(path, "store password", "the store's password").map(Some),
        None => env(STORE_PASSWORD_ENV),
    }
}

/// The secret in the file at `path`, trimmed and not empty; `what` names the file in
/// errors, and `holds` what it should hold.
fn secret_file(path: &Path, what: &str, holds: &str) -> Result<Secret<String>> {
    let raw = Secret::new(std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot read the {what} file {}: {e}", path.display()),
        )
        .with_hint(format!("the file should hold {holds} and nothing else"))
    })?);
    non_empty(raw, &format!("the file {}", path.display()))
}

/// The env var `login access-token` reads the token from, as `sf` does.
pub const ACCESS_TOKEN_ENV: &str = "SF_ACCESS_TOKEN";

/// A client secret read from a file, trimmed.
pub fn client_secret_file(path: &Path) -> Result<ClientSecret> {
    secret_file(path, "client secret", "the connected app's Consumer Secret").map(client_secret)
}

/// The client secret in SFAUTH_CLIENT_SECRET, trimmed; `None` when unset.
pub fn client_secret_env() -> Result<Option<ClientSecret>> {
    Ok(env(CLIENT_SECRET_ENV)?.map(client_secret))
}

/// A secret read for the client secret's role.
fn client_secret(raw: Secret<String>) -> ClientSecret {
    ClientSecret::new(raw.expose())
}

/// The secret in an env var, trimmed; `None` when unset.
pub fn env(var: &str) -> Result<Option<Secret<String>>> {
    match std::env::var(var) {
        Ok(value) => non_empty(Secret::new(value), &format!("the variable {var}")).map(Some),
        Err(_) => Ok(None),
    }
}

/// The client secret a login names (a file, or a variable by name), if any.
pub fn named(source: &SecretSource) -> Result<Option<ClientSecret>> {
    if let Some(path) = &source.client_secret_file {
        return client_secret_file(path).map(Some);
    }
    match &source.client_secret_env {
        Some(var) => env(var)?.map(|s| Some(client_secret(s))).ok_or_else(|| {
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

/// A stored org's client secret: the file or env var its config names, or the one kept in
/// its token file (from an SFDX auth URL). `token` saves a second read when the caller has it.
pub fn of_org(org: &Org, token: Option<&Token>) -> Result<Option<ClientSecret>> {
    if !org.secret.client_secret_in_token_file {
        return named(&org.secret);
    }
    let loaded;
    let token = match token {
        Some(t) => t,
        None => {
            let bytes = zeroize::Zeroizing::new(std::fs::read(&org.token_file).map_err(|e| {
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
    Ok(token
        .get(TOKEN_FILE_SECRET_KEY)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(ClientSecret::from))
}

/// The JWT bearer flow's RSA private key (PEM).
pub fn private_key(path: &Path) -> Result<Secret<String>> {
    std::fs::read_to_string(path).map(Secret::new).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot read the key file {}: {e}", path.display()),
        )
        .with_hint(
            "pass --key-file with the RSA private key (PEM) of the connected app's certificate",
        )
    })
}

/// The password + security token: SFAUTH_PASSWORD, else a line on stdin.
pub fn password() -> Result<Secret<String>> {
    match env(PASSWORD_ENV)? {
        Some(password) => Ok(password),
        None => stdin_line("password + security token"),
    }
}

/// An access token to adopt: SF_ACCESS_TOKEN, else a line on stdin.
pub fn access_token() -> Result<AccessToken> {
    let raw = match env(ACCESS_TOKEN_ENV)? {
        Some(token) => token,
        None => stdin_line("access token")?,
    };
    Ok(AccessToken::new(raw.expose()))
}

/// The most `text` reads: far more than any token, URL or key.
const MAX_TEXT_BYTES: u64 = 1024 * 1024;

/// The whole of `file`, or of stdin for `-`, naming `what` in errors; at most 1 MiB.
pub fn text(file: &Path, what: &str) -> Result<Secret<String>> {
    let (reader, place): (Box<dyn Read>, String) = if file == Path::new("-") {
        (Box::new(std::io::stdin()), "stdin".to_owned())
    } else {
        let opened = std::fs::File::open(file).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("cannot read {}: {e}", file.display()),
            )
        })?;
        (Box::new(opened), file.display().to_string())
    };
    let mut buffer = zeroize::Zeroizing::new(String::new());
    let read = reader.take(MAX_TEXT_BYTES + 1).read_to_string(&mut buffer);
    let text = Secret::new(std::mem::take(&mut *buffer));
    read.map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("cannot read the {what} from {place}: {e}"),
        )
    })?;
    if text.expose().len() as u64 > MAX_TEXT_BYTES {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("the {what} in {place} is larger than 1 MiB"),
        )
        .with_hint(format!("give the {what} alone")));
    }
    Ok(text)
}

/// A token JSON (the seeds' format) from `file`, or stdin for `-`.
pub fn token_json(file: &Path) -> Result<Token> {
    let text = text(file, "token JSON")?;
    Token::from_json(text.expose().as_bytes()).map_err(|problem| {
        Error::new(
            ErrorKind::Usage,
            format!(
                "{} is not a usable token: {problem}",
                if file == Path::new("-") {
                    "stdin".to_owned()
                } else {
                    file.display().to_string()
                }
            ),
        )
        .with_hint(
            "give a JSON object like Salesforce's token response, with at least access_token and \
             instance_url (and refresh_token to refresh), as sfauth's token files hold",
        )
    })
}

/// One line from stdin, trimmed, as a secret (it may be a password or a URL with a code).
pub fn stdin_line(what: &str) -> Result<Secret<String>> {
    let mut buffer = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut buffer)
        .map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("cannot read the {what} from stdin: {e}"),
            )
        })?;
    let trimmed = buffer.trim();
    if trimmed.is_empty() {
        return Err(Error::new(ErrorKind::Usage, format!("no {what} on stdin"))
            .with_hint(format!("pipe the {what} in, or type it and press Enter")));
    }
    Ok(Secret::from(trimmed))
}

fn non_empty(raw: Secret<String>, place: &str) -> Result<Secret<String>> {
    let trimmed = raw.expose().trim();
    if trimmed.is_empty() {
        return Err(
            Error::new(ErrorKind::Usage, format!("the secret in {place} is empty"))
                .with_hint("put the secret there, or leave it unset"),
        );
    }
    Ok(Secret::from(trimmed))
}
