//! Where a token lives, as a URL: a file (the default), PostgreSQL or Redis; and which token
//! in a store that holds many.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;
use crate::store::TokenStore;
use crate::store::file::{DEFAULT_LOCK_TIMEOUT, FileStore};
use crate::store::postman::{PostmanNames, PostmanStore};

/// Which token in a store that holds many: an org's alias, or `default`.
///
/// ```
/// use sfauth::StoreKey;
/// assert_eq!(StoreKey::parse("prod-eu.1")?.as_str(), "prod-eu.1");
/// assert!(StoreKey::parse("prod key").is_err());
/// assert!(StoreKey::parse("").is_err());
/// # Ok::<(), sfauth::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreKey(String);

impl StoreKey {
    /// The key used when no alias or key names one.
    pub const DEFAULT: &'static str = "default";

    /// The longest key accepted, in bytes.
    pub const MAX_LEN: usize = 128;

    /// A key: 1 to 128 letters, digits, `.`, `_`, `-` or `@`.
    pub fn parse(key: &str) -> Result<StoreKey> {
        let valid = !key.is_empty()
            && key.len() <= Self::MAX_LEN
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if valid {
            Ok(StoreKey(key.to_owned()))
        } else {
            let shown: String = key.chars().take(40).collect();
            Err(Error::new(
                ErrorKind::Usage,
                format!("`{shown}` is not a store key"),
            )
            .with_hint(format!(
                "a store key is 1 to {} letters, digits, `.`, `_`, `-` or `@` (an org's alias \
                 is one)",
                Self::MAX_LEN
            )))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for StoreKey {
    fn default() -> Self {
        StoreKey(Self::DEFAULT.to_owned())
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long a store may make its caller wait.
///
/// ```
/// use std::time::Duration;
/// use sfauth::StoreOptions;
/// let options = StoreOptions::default().with_lock_timeout(Duration::from_secs(10));
/// assert_eq!(options.lock_timeout, Duration::from_secs(10));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The longest wait for another holder of the token's lock.
    pub lock_timeout: Duration,
    /// How long a network store keeps a silent holder's lock (a lease, an idle
    /// transaction): a holder that freezes or loses its network lets the others go on
    /// after this. A live holder renews it while its refresh runs.
    pub lease: Duration,
    /// The longest wait to connect to a network store, and for any one of its answers.
    pub connect_timeout: Duration,
    /// Where a store without a lock of its own (the keychain) keeps its lock files; `None`:
    /// `$XDG_RUNTIME_DIR/sfauth`, else `~/.cache/sfauth`.
    pub lock_dir: Option<PathBuf>,
}

impl StoreOptions {
    /// The default lease.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

    /// With the longest wait for the lock.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// With the lease of a silent holder.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// With the longest wait to connect and for an answer.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// With the directory for lock files (beside a front end's config, say).
    pub fn with_lock_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.lock_dir = Some(dir.into());
        self
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            lease: Self::DEFAULT_LEASE,
            connect_timeout: Duration::from_secs(10),
            lock_dir: None,
        }
    }
}

/// One token a store holds, as `store list` shows it: no secret.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The key.
    pub key: String,
    /// When the token was last written.
    pub updated: Option<SystemTime>,
    /// How many times it was written.
    pub version: u64,
    /// Whether a refresh was started and never saved (see [`crate::RefreshMark`]).
    pub interrupted: bool,
}

/// A server store's address with its password set apart, so that the URL can be shown,
/// logged and kept in a config file.
#[derive(Clone)]
pub struct ServerUrl {
    /// The URL without its password.
    url: Url,
    password: Option<Secret<String>>,
}

impl ServerUrl {
    /// The URL without the password: what messages and the config show.
    pub fn redacted(&self) -> &str {
        self.url.as_str()
    }

    /// The URL, without the password.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The password, from the URL or set with [`StoreUrl::with_password`].
    pub(crate) fn password(&self) -> Option<&Secret<String>> {
        self.password.as_ref()
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerUrl")
            .field("url", &self.url.as_str())
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Where tokens live: a file, PostgreSQL, Redis, a Postman environment or the Salesforce
/// CLI's auth file.
///
/// A bare path or `file:PATH` is a token file (the seeds' JSON format); `postgres://…` or
/// `postgresql://…` a PostgreSQL database; `redis://…` or `rediss://…` (TLS) a Redis server.
/// The server stores hold many tokens, one per [`StoreKey`]. A password in the URL is kept
/// apart from it: [`Display`](fmt::Display) never shows it.
///
/// ```
/// use sfauth::StoreUrl;
/// let url = StoreUrl::parse("postgres://sfauth:s3cret@db.internal:5432/tokens")?;
/// assert!(url.is_shared());
/// assert_eq!(url.to_string(), "postgres://sfauth@db.internal:5432/tokens");
/// assert!(!format!("{url:?}").contains("s3cret"));
/// assert!(matches!(StoreUrl::parse("file:/var/lib/app/token.json")?, StoreUrl::File(_)));
/// assert!(StoreUrl::parse("mysql://db/tokens").is_err());
/// # Ok::<(), sfauth::Error>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum StoreUrl {
    /// A token file.
    File(PathBuf),
    /// A PostgreSQL database: a table of tokens, refreshed under an advisory lock.
    Postgres(ServerUrl),
    /// A Redis server: a hash per token, refreshed under a lease.
    Redis(ServerUrl),
    /// An exported Postman environment (`postman:PATH`, variable names overridable as
    /// `postman:PATH?access_token=NAME&…`): see [`PostmanStore`](crate::PostmanStore).
    Postman(PathBuf, PostmanNames),
    /// One of the Salesforce CLI's orgs, by alias or username (`sf:NAME`): its auth file in
    /// the user's `~/.sfdx` (see [`SfCliStore`](crate::SfCliStore)).
    SfCli(String),
    /// The OS keychain (`keychain:NAME`, or `keychain:` for the entry the store key names):
    /// see `KeychainStore` (feature `keychain`).
    Keychain(Option<StoreKey>),
}

impl StoreUrl {
    /// Parses a store URL. A malformed one is a usage error that shows it without its
    /// password.
    pub fn parse(text: &str) -> Result<StoreUrl> {
        let text = text.trim();
        if text.is_empty() {
            return Err(
                Error::new(ErrorKind::Usage, "the store URL is empty").with_hint(STORE_FORMS)
            );
        }
        if let Some(rest) = text.strip_prefix("postman:") {
            return parse_postman(rest);
        }
        if let Some(name) = text.strip_prefix("keychain:") {
            return Ok(StoreUrl::Keychain(match name {
                "" => None,
                name => Some(StoreKey::parse(name)?),
            }));
        }
        if let Some(name) = text.strip_prefix("sf:") {
            if name.is_empty() || name.len() > 255 || name.contains(['/', '\\']) {
                return Err(Error::new(
                    ErrorKind::Usage,
                    "the store URL `sf:` names no Salesforce CLI org",
                )
                .with_hint("give the CLI's alias or username: sf:ALIAS (see sfauth orgs --sf)"));
            }
            return Ok(StoreUrl::SfCli(name.to_owned()));
        }
        if let Some(path) = text.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(
                    Error::new(ErrorKind::Usage, "the store URL `file:` names no file")
                        .with_hint(STORE_FORMS),
                );
            }
            return Ok(StoreUrl::File(PathBuf::from(path)));
        }
        let Some((scheme, _)) = text.split_once("://") else {
            // Not a URL: a path, as the token-file store has always taken.
            return Ok(StoreUrl::File(PathBuf::from(text)));
        };
        let scheme = scheme.to_ascii_lowercase();
        let kind = match scheme.as_str() {
            "postgres" | "postgresql" => StoreUrl::Postgres,
            "redis" | "rediss" => StoreUrl::Redis,
            _ => {
                let shown: String = scheme.chars().take(20).collect();
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("`{shown}://` is not a kind of store sfauth knows"),
                )
                .with_hint(STORE_FORMS));
            }
        };
        let mut url = Url::parse(text).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!(
                    "the store URL `{}` is malformed: {e}",
                    redact_unparsed(text)
                ),
            )
            .with_hint(STORE_FORMS)
        })?;
        let password = match url.password() {
            Some(encoded) => {
                let decoded = percent_encoding::percent_decode_str(encoded)
                    .decode_utf8()
                    .map_err(|_| {
                        Error::new(
                            ErrorKind::Usage,
                            "the password in the store URL is not UTF-8 once decoded",
                        )
                        .with_hint("percent-encode the password's bytes as UTF-8")
                    })?
                    .into_owned();
                Some(Secret::from(decoded))
            }
            None => None,
        };
        // Cannot fail: the URL has a host, since it has a password.
        let _ = url.set_password(None);
        if matches!(scheme.as_str(), "redis" | "rediss") && url.host_str().is_none_or(str::is_empty)
        {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("the store URL `{url}` names no host"),
            )
            .with_hint("give the Redis server's host, e.g. redis://127.0.0.1:6379/0"));
        }
        Ok(kind(ServerUrl { url, password }))
    }

    /// Sets the password to use, in place of any in the URL (for one read from a file or
    /// an environment variable). A token file has none: unchanged.
    pub fn with_password(mut self, password: Secret<String>) -> Self {
        if let StoreUrl::Postgres(server) | StoreUrl::Redis(server) = &mut self {
            server.password = Some(password);
        }
        self
    }

    /// Whether the URL itself carried a password, or one was set.
    pub fn has_password(&self) -> bool {
        match self {
            StoreUrl::File(_)
            | StoreUrl::Postman(..)
            | StoreUrl::SfCli(_)
            | StoreUrl::Keychain(_) => false,
            StoreUrl::Postgres(server) | StoreUrl::Redis(server) => server.password.is_some(),
        }
    }

    /// Whether many machines can share the store (a server, not a file).
    pub fn is_shared(&self) -> bool {
        !matches!(
            self,
            StoreUrl::File(_) | StoreUrl::Postman(..) | StoreUrl::SfCli(_) | StoreUrl::Keychain(_)
        )
    }

    /// The store holding `key` (a token file holds one token: `key` is not used).
    /// Connects on first use, not here.
    pub fn open(&self, key: &StoreKey, options: &StoreOptions) -> Result<Arc<dyn TokenStore>> {
        match self {
            StoreUrl::File(path) => Ok(Arc::new(
                FileStore::new(path).with_lock_timeout(options.lock_timeout),
            )),
            StoreUrl::Postman(path, names) => Ok(Arc::new(
                PostmanStore::new(path)
                    .with_names(names.clone())
                    .with_lock_timeout(options.lock_timeout),
            )),
            StoreUrl::SfCli(name) => Ok(Arc::new(
                crate::store::SfCliHome::of_user()?
                    .store(name)?
                    .with_lock_timeout(options.lock_timeout),
            )),
            #[cfg(feature = "keychain")]
            StoreUrl::Keychain(name) => Ok(Arc::new(
                crate::store::KeychainStore::new(
                    name.as_ref().unwrap_or(key),
                    options.lock_dir.clone().unwrap_or_else(default_lock_dir),
                )
                .with_lock_timeout(options.lock_timeout),
            )),
            #[cfg(feature = "postgres")]
            StoreUrl::Postgres(server) => Ok(Arc::new(crate::store::PostgresStore::new(
                server, key, options,
            )?)),
            #[cfg(feature = "redis")]
            StoreUrl::Redis(server) => Ok(Arc::new(crate::store::RedisStore::new(
                server, key, options,
            )?)),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = (key, options);
                Err(self.not_built())
            }
        }
    }

    /// Creates what the store needs (PostgreSQL: its table), if it is not there yet; a
    /// Redis store needs nothing. Says what was found that puts tokens at risk (a Redis
    /// server that can lose its last writes), if anything.
    pub async fn init(&self, options: &StoreOptions) -> Result<Option<String>> {
        match self {
            StoreUrl::File(_)
            | StoreUrl::Postman(..)
            | StoreUrl::SfCli(_)
            | StoreUrl::Keychain(_) => Ok(None),
            #[cfg(feature = "postgres")]
            StoreUrl::Postgres(server) => {
                let store =
                    crate::store::PostgresStore::new(server, &StoreKey::default(), options)?;
                store.init().await.map(|()| None)
            }
            #[cfg(feature = "redis")]
            StoreUrl::Redis(server) => {
                let store = crate::store::RedisStore::new(server, &StoreKey::default(), options)?;
                store.durability_warning().await
            }
            #[allow(unreachable_patterns)]
            _ => Err(self.not_built()),
        }
    }

    /// The tokens a server store holds, by key; a token file is not listed.
    pub async fn keys(&self, options: &StoreOptions) -> Result<Vec<StoredKey>> {
        match self {
            StoreUrl::File(path) => Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "{} is a token file, which holds one token and no keys",
                    path.display()
                ),
            )
            .with_hint("list the keys of a PostgreSQL or Redis store")),
            StoreUrl::Postman(path, _) => Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "{} is a Postman environment, which holds one token and no keys",
                    path.display()
                ),
            )
            .with_hint("list the keys of a PostgreSQL or Redis store")),
            StoreUrl::SfCli(name) => Err(Error::new(
                ErrorKind::Usage,
                format!("sf:{name} is one Salesforce CLI org, which holds one token and no keys"),
            )
            .with_hint("list the Salesforce CLI's orgs with sfauth orgs --sf")),
            StoreUrl::Keychain(_) => Err(Error::new(
                ErrorKind::Usage,
                "the keychain's entries are not listed (listing them could ask to unlock it)",
            )
            .with_hint("each org's store is shown by sfauth status --org ALIAS")),
            #[cfg(feature = "postgres")]
            StoreUrl::Postgres(server) => {
                crate::store::PostgresStore::new(server, &StoreKey::default(), options)?
                    .keys()
                    .await
            }
            #[cfg(feature = "redis")]
            StoreUrl::Redis(server) => {
                crate::store::RedisStore::new(server, &StoreKey::default(), options)?
                    .keys()
                    .await
            }
            #[allow(unreachable_patterns)]
            _ => Err(self.not_built()),
        }
    }

    #[allow(dead_code)]
    fn not_built(&self) -> Error {
        Error::new(
            ErrorKind::Usage,
            format!("this sfauth was built without the store for {self}"),
        )
        .with_hint(
            "build sfauth with its `postgres` and `redis` features (on by default) and, for \
             keychain:, its `keychain` feature",
        )
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::File(path) => write!(f, "file:{}", path.display()),
            StoreUrl::Postman(path, _) => write!(f, "postman:{}", path.display()),
            StoreUrl::SfCli(name) => write!(f, "sf:{name}"),
            StoreUrl::Keychain(None) => f.write_str("keychain:"),
            StoreUrl::Keychain(Some(name)) => write!(f, "keychain:{name}"),
            StoreUrl::Postgres(server) | StoreUrl::Redis(server) => f.write_str(server.redacted()),
        }
    }
}

const STORE_FORMS: &str = "give a path or file:PATH (a token file), postgres://USER@HOST:PORT/DB \
                           (PostgreSQL), redis://HOST:PORT/DB, rediss://… for TLS (Redis), \
                           postman:PATH (an exported Postman environment), sf:ALIAS (an org \
                           of the Salesforce CLI), or keychain:NAME (the OS keychain)";

/// The lock directory when the caller names none: the user's runtime directory, else their
/// cache, each private to them.
#[cfg(feature = "keychain")]
fn default_lock_dir() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    match (var("XDG_RUNTIME_DIR"), var("HOME")) {
        (Some(run), _) => run.join("sfauth"),
        (None, Some(home)) => home.join(".cache").join("sfauth"),
        (None, None) => std::env::temp_dir().join("sfauth"),
    }
}

/// `PATH[?KEY=NAME&…]` of a `postman:` store URL.
fn parse_postman(rest: &str) -> Result<StoreUrl> {
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(
            Error::new(ErrorKind::Usage, "the store URL `postman:` names no file")
                .with_hint("give the exported environment's path: postman:PATH"),
        );
    }
    let mut names = PostmanNames::default();
    for (key, name) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        names.rename(&key, &name)?;
    }
    Ok(StoreUrl::Postman(PathBuf::from(path), names))
}

/// A URL that did not parse, with anything between `://` and the last `@` (where a password
/// would be) hidden.
fn redact_unparsed(text: &str) -> String {
    let shown: String = match (text.find("://"), text.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            format!("{}://…@{}", &text[..start], &text[at + 1..])
        }
        _ => text.to_owned(),
    };
    shown.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postman_url_names_the_environment_and_any_renamed_variables() {
        let StoreUrl::Postman(path, names) =
            StoreUrl::parse("postman:envs/dev.json?access_token=sfToken&instance_url=base")
                .unwrap()
        else {
            panic!("not a Postman store")
        };
        assert_eq!(path, std::path::Path::new("envs/dev.json"));
        assert_eq!(names.access_token, "sfToken");
        assert_eq!(names.instance_url, "base");
        assert_eq!(names.refresh_token, "_refreshToken");
        assert!(StoreUrl::parse("postman:").is_err());
        assert!(StoreUrl::parse("postman:e.json?colour=red").is_err());
        assert!(!StoreUrl::parse("postman:e.json").unwrap().is_shared());
        assert_eq!(
            StoreUrl::parse("postman:e.json").unwrap().to_string(),
            "postman:e.json"
        );
    }

    #[test]
    fn a_bare_path_is_a_token_file() {
        assert!(
            matches!(StoreUrl::parse("/tmp/t.json").unwrap(), StoreUrl::File(p) if p == std::path::Path::new("/tmp/t.json"))
        );
        assert!(
            matches!(StoreUrl::parse("file:rel/t.json").unwrap(), StoreUrl::File(p) if p == std::path::Path::new("rel/t.json"))
        );
    }

    #[test]
    fn a_percent_encoded_password_is_decoded_and_never_shown() {
        let url = StoreUrl::parse("redis://:p%40ss%3Aw@127.0.0.1:6379/2").unwrap();
        let StoreUrl::Redis(server) = &url else {
            panic!("not redis: {url:?}")
        };
        assert_eq!(server.password().unwrap().expose(), "p@ss:w");
        assert_eq!(url.to_string(), "redis://127.0.0.1:6379/2");
    }

    #[test]
    fn a_malformed_url_is_shown_without_what_may_be_its_password() {
        let e = StoreUrl::parse("postgres://u:hunter2@[bad/db").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("malformed"), "{e}");
    }

    #[test]
    fn an_unknown_scheme_names_the_forms_sfauth_knows() {
        let e = StoreUrl::parse("mysql://db/x").unwrap_err();
        assert!(e.to_string().contains("mysql://"), "{e}");
        assert!(e.hint().unwrap().contains("postgres://"));
    }

    #[test]
    fn a_redis_url_without_a_host_is_refused() {
        assert!(StoreUrl::parse("redis:///0").is_err());
    }

    #[test]
    fn a_password_set_apart_replaces_the_urls() {
        let url = StoreUrl::parse("postgres://u@h/db")
            .unwrap()
            .with_password(Secret::from("from-env".to_owned()));
        assert!(url.has_password());
        assert_eq!(url.to_string(), "postgres://u@h/db");
    }
}
