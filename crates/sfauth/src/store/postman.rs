//! [`PostmanStore`]: a token kept in an exported Postman environment, in the variables the
//! seeds' Postman item and Salesforce's Postman collection use, so that Postman, Newman and
//! sfauth share one token instead of two copies of one single-use refresh token.
//!
//! The environment is the file Postman exports (`{"name", "values": [{"key", "value",
//! "type", "enabled"}, …], …}`). A save changes only the token's variables, in place (new
//! ones are appended), and keeps every other value, their order and the file's other fields;
//! it is atomic and leaves the file at 0600, under the same lock file as a token file.
//!
//! Besides the seeds' `_accessToken` and `_refreshToken`, a save records `_endpoint` (the
//! instance URL, which the collection's requests are written against) and `_sfauthToken`:
//! the rest of the token response (`issued_at`, `id`, `signature`, `scope`, …; never a
//! secret) and a short fingerprint of the access token it went with. When the access token
//! no longer matches it, something else replaced it: the seeds' own "Refresh Token" script,
//! which keeps the new access token and drops a rotated refresh token. sfauth then takes the
//! access token as of unknown age, and checks the refresh token (introspection) before it
//! sends it: one that was spent is never replayed, and the error says what happened. An
//! environment sfauth has never written is checked the same way before its first refresh,
//! since that script may have run on it already.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::ClientSecret;
use crate::store::file::FileStore;
use crate::store::recorded::{self, Provenance, SECRET_FIELDS};
use crate::store::{RefreshMark, StoreApp, StoreLock, TokenStore};
use crate::token::Token;

/// What the file is called in messages.
const WHAT: &str = "Postman environment";

/// The variable sfauth keeps of its own, beside the seeds': the token's other fields (see
/// [`recorded`]).
const REST: &str = "_sfauthToken";

/// The names of the environment's variables that hold the token and its app. The defaults
/// are the seeds' and the Salesforce collection's.
///
/// ```
/// let names = sfauth::PostmanNames::default();
/// assert_eq!(names.access_token, "_accessToken");
/// assert_eq!(names.login_url, "url");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostmanNames {
    /// The access token: `_accessToken`.
    pub access_token: String,
    /// The refresh token: `_refreshToken`.
    pub refresh_token: String,
    /// The instance URL: `_endpoint`.
    pub instance_url: String,
    /// The login host, `https://login.salesforce.com` or a My Domain: `url`.
    pub login_url: String,
    /// The Experience Cloud site prefix, often empty: `site`.
    pub site: String,
    /// The connected app's consumer key: `clientId`.
    pub client_id: String,
    /// The connected app's consumer secret: `clientSecret`.
    pub client_secret: String,
}

impl Default for PostmanNames {
    fn default() -> Self {
        PostmanNames {
            access_token: "_accessToken".into(),
            refresh_token: "_refreshToken".into(),
            instance_url: "_endpoint".into(),
            login_url: "url".into(),
            site: "site".into(),
            client_id: "clientId".into(),
            client_secret: "clientSecret".into(),
        }
    }
}

impl PostmanNames {
    /// Sets the name of one variable, by the key sfauth knows it as (`access_token`,
    /// `refresh_token`, `instance_url`, `login_url`, `site`, `client_id`, `client_secret`).
    ///
    /// ```
    /// let mut names = sfauth::PostmanNames::default();
    /// names.rename("access_token", "sfToken")?;
    /// assert_eq!(names.access_token, "sfToken");
    /// assert!(names.rename("colour", "x").is_err());
    /// # Ok::<(), sfauth::Error>(())
    /// ```
    pub fn rename(&mut self, key: &str, name: &str) -> Result<()> {
        let slot = match key {
            "access_token" => &mut self.access_token,
            "refresh_token" => &mut self.refresh_token,
            "instance_url" => &mut self.instance_url,
            "login_url" => &mut self.login_url,
            "site" => &mut self.site,
            "client_id" => &mut self.client_id,
            "client_secret" => &mut self.client_secret,
            _ => {
                let shown: String = key.chars().take(40).collect();
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("`{shown}` is not a variable of a Postman store"),
                )
                .with_hint(
                    "name one of access_token, refresh_token, instance_url, login_url, site, \
                     client_id, client_secret (e.g. postman:env.json?access_token=sfToken)",
                ));
            }
        };
        if name.is_empty() || name.len() > 256 {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("the Postman variable name for {key} is empty or too long"),
            ));
        }
        *slot = name.to_owned();
        Ok(())
    }
}

/// A token kept in an exported Postman environment (see the module docs).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{PostmanStore, TokenStore};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("env.json");
/// std::fs::write(&path, r#"{"name": "dev", "values": [
///   {"key": "url", "value": "https://login.salesforce.com", "enabled": true},
///   {"key": "clientId", "value": "3MVG9", "enabled": true},
///   {"key": "_accessToken", "value": "00D!AQ", "enabled": true},
///   {"key": "_refreshToken", "value": "5Aep", "enabled": true},
///   {"key": "_endpoint", "value": "https://acme.my.salesforce.com", "enabled": true}]}"#).unwrap();
/// let store = PostmanStore::new(&path);
/// let token = store.load().await?;
/// assert_eq!(token.instance_url(), "https://acme.my.salesforce.com");
/// assert_eq!(store.app()?.client_id.as_deref(), Some("3MVG9"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PostmanStore {
    file: FileStore,
    names: PostmanNames,
}

impl PostmanStore {
    /// The environment exported to `path`, with the default variable names.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        PostmanStore {
            file: FileStore::new(path),
            names: PostmanNames::default(),
        }
    }

    /// With these variable names.
    pub fn with_names(mut self, names: PostmanNames) -> Self {
        self.names = names;
        self
    }

    /// How long `lock()` waits for another process.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.file = self.file.with_lock_timeout(timeout);
        self
    }

    /// The environment file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The connected app the environment names (`url`, `site`, `clientId`, `clientSecret`).
    pub fn app(&self) -> Result<StoreApp> {
        let env = self.read()?;
        let get = |name: &str| env.get(name).filter(|v| !v.is_empty()).map(str::to_owned);
        Ok(StoreApp {
            login_url: get(&self.names.login_url),
            site: get(&self.names.site).unwrap_or_default(),
            client_id: get(&self.names.client_id),
            client_secret: get(&self.names.client_secret).map(ClientSecret::from),
        })
    }

    fn read(&self) -> Result<Environment> {
        let bytes = self.file.read_private(WHAT)?;
        Environment::parse(&bytes).map_err(|problem| {
            Error::new(
                ErrorKind::Usage,
                format!("{WHAT} {} {problem}", self.path().display()),
            )
            .with_hint(
                "export the environment from Postman (Environments → … → Export) and point \
                 sfauth at that file",
            )
        })
    }

    /// A mark for the refresh another tool may have made: when the access token is not the
    /// one sfauth saved last, or sfauth never saved here (the seeds' own request may have
    /// spent the refresh token already). `None` when it is sfauth's own, or there is no
    /// refresh token to spend.
    fn replaced_since_saved(&self) -> Option<RefreshMark> {
        let env = self.read().ok()?;
        let refresh = env
            .get(&self.names.refresh_token)
            .filter(|v| !v.is_empty())?;
        let access = env.get(&self.names.access_token).unwrap_or_default();
        let holder = match env.recorded(access, Some(refresh)).1 {
            Provenance::Ours | Provenance::ReplacedWithRefresh => return None,
            Provenance::Replaced => format!(
                "another tool that replaced {} (such as the collection's Refresh Token request)",
                self.names.access_token
            ),
            Provenance::NeverSaved => format!(
                "whatever set {} here before sfauth ever refreshed it (such as the \
                 collection's Refresh Token request)",
                self.names.access_token
            ),
        };
        recorded::replaced_mark(self.path(), &holder)
    }

    fn unusable(&self, problem: &str) -> Error {
        Error::new(
            ErrorKind::Usage,
            format!("{WHAT} {} {problem}", self.path().display()),
        )
    }
}

#[async_trait]
impl TokenStore for PostmanStore {
    async fn load(&self) -> Result<Token> {
        let env = self.read()?;
        let names = &self.names;
        let access = env.get(&names.access_token).filter(|v| !v.is_empty());
        let Some(access) = access else {
            return Err(self
                .unusable(&format!("has no {} value", names.access_token))
                .with_hint(
                    "run the collection's authorization request once in Postman, or log in \
                     with sfauth into this store (e.g. sfauth login web --store postman:FILE)",
                ));
        };
        let refresh = env.get(&names.refresh_token).filter(|v| !v.is_empty());
        let (mut value, provenance) = env.recorded(access, refresh);
        // The collection's variable first; before any refresh, the login host stands in (a
        // token of unknown age is refreshed before it is used, and the answer names the
        // instance).
        let recorded = value
            .get("instance_url")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let instance = env
            .get(&names.instance_url)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .or(recorded)
            .or_else(|| {
                env.get(&names.login_url)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            });
        let Some(instance) = instance else {
            return Err(self
                .unusable(&format!(
                    "has neither {} nor {} set",
                    names.instance_url, names.login_url
                ))
                .with_hint(format!(
                    "set {} to the org's instance URL (the token response's instance_url)",
                    names.instance_url
                )));
        };
        if matches!(
            provenance,
            Provenance::Replaced | Provenance::ReplacedWithRefresh
        ) {
            // Its age is not the one recorded. The lock says what this means for the
            // refresh token (see `lock`).
            tracing::debug!(
                environment = %self.path().display(),
                "the access token was replaced by another tool since sfauth saved it"
            );
            value.remove("issued_at");
        }
        for field in SECRET_FIELDS {
            value.remove(field);
        }
        value.insert("access_token".into(), access.into());
        value.insert("instance_url".into(), instance.into());
        if let Some(refresh) = refresh {
            value.insert("refresh_token".into(), refresh.into());
        }
        Token::from_value(Value::Object(value))
            .map_err(|problem| self.unusable(&format!("does not hold a usable token: {problem}")))
    }

    /// Takes the lock beside the file. An access token another tool put in since sfauth's
    /// last save comes with a refresh of theirs that may have rotated the refresh token and
    /// kept the new one to itself: the lock then carries a mark, so that the refresh token
    /// is checked (introspection) before it is sent again, never blindly replayed.
    async fn lock(&self) -> Result<StoreLock> {
        let lock = self.file.lock().await?;
        Ok(match self.replaced_since_saved() {
            Some(mark) => lock.with_interrupted(mark),
            None => lock,
        })
    }

    async fn prepare(&self, lock: &StoreLock) -> Result<()> {
        self.file.prepare(lock).await
    }

    /// Writes the token's variables into the environment as it is now on disk.
    async fn save(&self, lock: &StoreLock, token: &Token) -> Result<()> {
        let mut env = self.read()?;
        let names = &self.names;
        let access = token.access_token();
        env.set(&names.access_token, access.expose(), true);
        if let Some(refresh) = token.refresh_token() {
            env.set(&names.refresh_token, refresh.expose(), true);
        }
        env.set(&names.instance_url, token.instance_url(), false);
        env.set(REST, &recorded::record(token), false);
        self.file.write_locked(lock, env.to_bytes()?).await
    }

    /// Empties the token's variables; the environment and its other values stay.
    async fn delete(&self, lock: &StoreLock) -> Result<()> {
        let mut env = self.read()?;
        for name in [&self.names.access_token, &self.names.refresh_token] {
            env.set(name, "", true);
        }
        env.remove(REST);
        self.file.write_locked(lock, env.to_bytes()?).await
    }

    fn describe(&self) -> String {
        format!("{WHAT} {}", self.path().display())
    }
}

/// An exported environment: the document, and its `values` apart for editing (written back
/// in their place).
struct Environment {
    doc: Map<String, Value>,
    values: Vec<Value>,
}

impl Environment {
    fn parse(bytes: &[u8]) -> std::result::Result<Environment, String> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("is not JSON ({e})"))?;
        let Value::Object(doc) = value else {
            return Err("is not a JSON object".into());
        };
        let Some(Value::Array(values)) = doc.get("values").cloned() else {
            return Err("is not an exported Postman environment (no `values` list)".into());
        };
        if values
            .iter()
            .any(|v| v.get("key").and_then(Value::as_str).is_none())
        {
            return Err("has a value without a `key`".into());
        }
        Ok(Environment { doc, values })
    }

    /// The value of the first enabled variable `key`.
    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .filter(|v| v.get("enabled").and_then(Value::as_bool) != Some(false))
            .find(|v| v["key"].as_str() == Some(key))
            .and_then(|v| v.get("value"))
            .and_then(Value::as_str)
    }

    /// The token fields sfauth recorded with its last save, and who put `access` (with
    /// `refresh`) here.
    fn recorded(&self, access: &str, refresh: Option<&str>) -> (Map<String, Value>, Provenance) {
        recorded::recall(self.get(REST), access, refresh)
    }

    /// Sets `key` to `value` where it is, or appends it (a `secret` one when `secret`).
    fn set(&mut self, key: &str, value: &str, secret: bool) {
        match self
            .values
            .iter_mut()
            .find_map(|v| v.as_object_mut().filter(|v| v["key"].as_str() == Some(key)))
        {
            Some(entry) => {
                entry.insert("value".into(), value.into());
                entry.insert("enabled".into(), true.into());
            }
            None => self.values.push(serde_json::json!({
                "key": key,
                "value": value,
                "type": if secret { "secret" } else { "default" },
                "enabled": true,
            })),
        }
    }

    fn remove(&mut self, key: &str) {
        self.values.retain(|v| v["key"].as_str() != Some(key));
    }

    /// The document as it is written back. Serializing JSON values cannot fail, but if it
    /// did, nothing would be written rather than an empty file.
    fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut doc = self.doc.clone();
        // An existing key keeps its place in the map.
        doc.insert("values".into(), Value::Array(self.values.clone()));
        let mut bytes = serde_json::to_vec_pretty(&Value::Object(doc))
            .map(Zeroizing::new)
            .map_err(|e| Error::internal(format!("cannot write the environment's JSON: {e}")))?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_without_values_is_not_an_environment() {
        assert!(Environment::parse(br#"{"info": {}, "item": []}"#).is_err());
        assert!(Environment::parse(b"not json").is_err());
        assert!(Environment::parse(br#"{"values": [{"value": "x"}]}"#).is_err());
    }

    #[test]
    fn set_keeps_the_order_and_appends_what_is_new() {
        let mut env = Environment::parse(
            br#"{"name":"e","values":[{"key":"a","value":"1"},{"key":"b","value":"2"}],"x":1}"#,
        )
        .unwrap();
        env.set("a", "one", false);
        env.set("c", "3", true);
        let written: Value = serde_json::from_slice(&env.to_bytes().unwrap()).unwrap();
        let keys: Vec<&str> = written["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(env.get("a"), Some("one"));
        assert_eq!(written["values"][2]["type"], "secret");
        let fields: Vec<&String> = written.as_object().unwrap().keys().collect();
        assert_eq!(
            fields,
            ["name", "values", "x"],
            "the fields keep their order"
        );
    }

    #[test]
    fn a_disabled_variable_is_not_read() {
        let env = Environment::parse(
            br#"{"values":[{"key":"a","value":"off","enabled":false},{"key":"a","value":"on"}]}"#,
        )
        .unwrap();
        assert_eq!(env.get("a"), Some("on"));
    }
}
