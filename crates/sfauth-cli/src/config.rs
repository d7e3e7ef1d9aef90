//! Named orgs: `config.toml` in `$SFAUTH_HOME` (else `$XDG_CONFIG_HOME/sfauth`, else
//! `~/.config/sfauth`), and one seed-format token file per org beside it in `tokens/`.
//!
//! The config never holds a secret: a client secret is named by where it comes from (a file
//! path or an environment variable). Writes are atomic, 0600, under `config.toml.lock`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sfauth::files::{lock_file, lock_path_for, write_private_file};
use sfauth::{Error, ErrorKind, Result};

/// How a config write waits for another one.
const CONFIG_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Where sfauth keeps its files.
#[derive(Debug, Clone)]
pub struct Home(PathBuf);

impl Home {
    /// `$SFAUTH_HOME`, else `$XDG_CONFIG_HOME/sfauth`, else `~/.config/sfauth` (as `gh` does,
    /// on macOS too).
    pub fn locate() -> Result<Home> {
        Home::locate_with_source().map(|(home, _)| home)
    }

    /// [`locate`](Self::locate), and what decided it (for `sfauth config`).
    pub fn locate_with_source() -> Result<(Home, &'static str)> {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(home) = var("SFAUTH_HOME") {
            return Ok((Home(home), "env SFAUTH_HOME"));
        }
        if let Some(xdg) = var("XDG_CONFIG_HOME") {
            return Ok((Home(xdg.join("sfauth")), "env XDG_CONFIG_HOME"));
        }
        match var("HOME") {
            Some(home) => Ok((
                Home(home.join(".config/sfauth")),
                "default (~/.config/sfauth)",
            )),
            None => Err(
                Error::new(ErrorKind::Usage, "cannot tell where to keep sfauth's files")
                    .with_hint("set SFAUTH_HOME to a directory"),
            ),
        }
    }

    /// The token file of an org that sfauth obtained the token for.
    pub fn token_file(&self, alias: &Alias) -> PathBuf {
        self.0
            .join("tokens")
            .join(format!("{}.json", alias.as_str()))
    }

    /// Where sfauth's own token files live.
    pub fn token_dir(&self) -> PathBuf {
        self.0.join("tokens")
    }

    /// Where the locks of stores without one of their own (the keychain) live.
    pub fn lock_dir(&self) -> PathBuf {
        self.0.join("locks")
    }

    /// Whether `path` is one of sfauth's own token files (which logout may delete).
    pub fn owns(&self, path: &Path) -> bool {
        path.starts_with(self.0.join("tokens"))
    }

    /// The home directory itself, as canonical as it can be made (it may not exist yet):
    /// how an agent and a client tell that they serve the same config.
    pub fn identity(&self) -> PathBuf {
        std::fs::canonicalize(&self.0).unwrap_or_else(|_| self.0.clone())
    }

    /// The directory of the agent's socket when there is no `$XDG_RUNTIME_DIR`.
    pub fn run_dir(&self) -> PathBuf {
        self.0.join("run")
    }

    /// The config file.
    pub fn config_file(&self) -> PathBuf {
        self.0.join("config.toml")
    }
}

/// An org's name: letters, digits, `.`, `_`, `-`; at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Alias(String);

impl Alias {
    /// Checks an alias.
    pub fn parse(input: &str) -> Result<Alias> {
        let ok = !input.is_empty()
            && input.len() <= 64
            && input
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && !input.starts_with('.');
        if ok {
            Ok(Alias(input.to_owned()))
        } else {
            Err(Error::new(
                ErrorKind::Usage,
                format!("`{input}` is not a valid org alias"),
            )
            .with_hint("use letters, digits, '.', '_' and '-' (e.g. prod, my-sandbox)"))
        }
    }

    /// The alias.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Alias {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Alias::parse(&value).map_err(|e| e.to_string())
    }
}

impl From<Alias> for String {
    fn from(alias: Alias) -> String {
        alias.0
    }
}

impl std::fmt::Display for Alias {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an org's token was obtained, and so how it is renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// Authorization code + PKCE in a browser.
    Web,
    /// JWT bearer: renewed by signing a new assertion.
    Jwt,
    /// Client credentials: renewed by asking again.
    ClientCredentials,
    /// Username + password: no refresh token.
    Password,
    /// Device flow.
    Device,
    /// An SFDX auth URL (`force://...`).
    SfdxUrl,
    /// An adopted access token: cannot be renewed.
    AccessToken,
    /// An adopted token file, used in place.
    TokenFile,
    /// One of the Salesforce CLI's orgs, used in its auth file.
    Sf,
}

impl Flow {
    /// The name used on the command line and in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Web => "web",
            Flow::Jwt => "jwt",
            Flow::ClientCredentials => "client-credentials",
            Flow::Password => "password",
            Flow::Device => "device",
            Flow::SfdxUrl => "sfdx-url",
            Flow::AccessToken => "access-token",
            Flow::TokenFile => "token-file",
            Flow::Sf => "sf",
        }
    }
}

/// Where an org's client secret comes from. Never the secret itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretSource {
    /// A file holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// An environment variable holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// The secret came inside an SFDX auth URL and is kept in the token file (0600), under
    /// [`TOKEN_FILE_SECRET_KEY`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_secret_in_token_file: bool,
}

/// The token-file key that holds a client secret that arrived in an SFDX auth URL.
pub const TOKEN_FILE_SECRET_KEY: &str = "sfauth_client_secret";

/// One org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    /// The login flow that obtained the token.
    pub flow: Flow,
    /// Where tokens are requested.
    pub login_url: String,
    /// The Experience Cloud site prefix, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub site: String,
    /// The connected app's Consumer Key.
    pub client_id: String,
    /// Where the client secret comes from.
    #[serde(flatten)]
    pub secret: SecretSource,
    /// The token file.
    pub token_file: PathBuf,
    /// A shared store holding the token instead of the file (its URL, never a password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// The token's key in the shared store, when not the alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_key: Option<String>,
    /// The user, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// JWT flow: the private key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// JWT flow: the `aud` claim, when not the login URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The session timeout in seconds, when not the 2 h default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_timeout_secs: Option<u64>,
    /// Record the introspected expiry after each refresh.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub introspect: bool,
    /// `sfauth revoke` revoked the token at Salesforce: the access token still in the file
    /// would be refused, so it is not served. A new login replaces the entry and clears it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
}

impl Org {
    /// An org with the required fields; every optional setting empty or off.
    pub fn new(flow: Flow, login_url: String, client_id: String, token_file: PathBuf) -> Org {
        Org {
            flow,
            login_url,
            site: String::new(),
            client_id,
            secret: SecretSource::default(),
            token_file,
            store: None,
            store_key: None,
            username: None,
            key_file: None,
            audience: None,
            session_timeout_secs: None,
            introspect: false,
            revoked: false,
        }
    }

    /// Where this org's token lives, as one string to compare: two orgs with the same place
    /// share one token (`alias` is this org's, which a keyed store uses as its key).
    pub fn place(&self, alias: &Alias) -> String {
        let key = self.store_key.as_deref().unwrap_or(alias.as_str());
        match self.store.as_deref().map(sfauth::StoreUrl::parse) {
            None => format!("file:{}", self.token_file.display()),
            Some(Ok(sfauth::StoreUrl::Keychain(Some(name)))) => format!("keychain:{name}"),
            Some(Ok(url)) if url.is_shared() => format!("{url}#{key}"),
            Some(Ok(url)) => url.to_string(),
            Some(Err(_)) => format!("{}#{key}", self.store.as_deref().unwrap_or_default()),
        }
    }

    /// The org's expiry policy, unless `max_age` overrides its session timeout.
    pub fn expiry(&self, max_age: Option<std::time::Duration>) -> sfauth::ExpiryPolicy {
        let timeout = self
            .session_timeout_secs
            .map(std::time::Duration::from_secs);
        sfauth::ExpiryPolicy::new(
            max_age
                .or(timeout)
                .unwrap_or(sfauth::ExpiryPolicy::DEFAULT_MAX_AGE),
        )
    }
}

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The org used when no `--org` or `--token-file` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_org: Option<Alias>,
    /// The orgs, by alias.
    #[serde(default)]
    pub orgs: BTreeMap<Alias, Org>,
}

impl Config {
    /// Reads the config; a missing file is an empty config.
    pub fn load(home: &Home) -> Result<Config> {
        let path = home.config_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
        };
        toml::from_str(&text).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("config file {} is invalid: {}", path.display(), e.message()),
            )
            .with_hint("fix the file by hand, or move it away and log in again")
        })
    }

    /// Reads the config, lets `change` edit it, and writes it back atomically, all under the
    /// config lock, so two logins at once cannot lose each other's org.
    pub async fn update<T>(
        home: &Home,
        change: impl FnOnce(&mut Config) -> Result<T>,
    ) -> Result<T> {
        let path = home.config_file();
        let _lock = lock_file(&lock_path_for(&path), CONFIG_LOCK_TIMEOUT).await?;
        let mut config = Config::load(home)?;
        let out = change(&mut config)?;
        let text = toml::to_string_pretty(&config).map_err(|e| {
            Error::new(ErrorKind::Internal, format!("cannot write the config: {e}"))
        })?;
        write_private_file(&path, text.as_bytes())?;
        Ok(out)
    }

    /// The org named `alias`, else the default org, or a usage error saying how to name one.
    pub fn select(&self, alias: Option<&String>) -> Result<(Alias, &Org)> {
        let alias = match alias {
            Some(a) => Alias::parse(a)?,
            None => self.default_org.clone().ok_or_else(|| {
                Error::new(ErrorKind::Usage, "no org or token file given").with_hint(
                    "pass --org ALIAS or --token-file PATH, or log in with --set-default \
                     (sfauth orgs lists the stored orgs)",
                )
            })?,
        };
        let org = self.org(&alias)?;
        Ok((alias, org))
    }

    /// The org named `alias`, or a usage error listing what exists.
    pub fn org(&self, alias: &Alias) -> Result<&Org> {
        self.orgs.get(alias).ok_or_else(|| {
            let known: Vec<_> = self.orgs.keys().map(Alias::as_str).collect();
            let hint = if known.is_empty() {
                "log in first: sfauth login web --alias NAME".to_owned()
            } else {
                format!("known orgs: {}", known.join(", "))
            };
            Error::new(ErrorKind::Usage, format!("no org named `{alias}`")).with_hint(hint)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Org {
        Org {
            flow: Flow::Web,
            login_url: "https://login.salesforce.com".into(),
            site: String::new(),
            client_id: "3MVG9".into(),
            secret: SecretSource {
                client_secret_env: Some("PROD_SECRET".into()),
                ..Default::default()
            },
            token_file: "/tmp/t.json".into(),
            store: Some("postgres://sfauth@db.internal/tokens".into()),
            store_key: None,
            username: Some("ada@example.com".into()),
            key_file: None,
            audience: None,
            session_timeout_secs: None,
            introspect: false,
            revoked: false,
        }
    }

    #[tokio::test]
    async fn config_round_trips_through_toml_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = Home(dir.path().join("home"));
        let alias = Alias::parse("prod").unwrap();
        Config::update(&home, |c| {
            c.orgs.insert(alias.clone(), sample());
            c.default_org = Some(alias.clone());
            Ok(())
        })
        .await
        .unwrap();
        let loaded = Config::load(&home).unwrap();
        assert_eq!(loaded.org(&alias).unwrap(), &sample());
        assert_eq!(loaded.default_org, Some(alias));
        let mode = std::fs::metadata(home.config_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn aliases_are_checked() {
        assert!(Alias::parse("my-sandbox.2").is_ok());
        for bad in ["", "a b", "../x", ".hidden", "x/y"] {
            assert!(Alias::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_org_lists_the_known_ones() {
        let mut c = Config::default();
        c.orgs.insert(Alias::parse("prod").unwrap(), sample());
        let e = c.org(&Alias::parse("dev").unwrap()).unwrap_err();
        assert!(e.hint().unwrap().contains("prod"));
    }
}
