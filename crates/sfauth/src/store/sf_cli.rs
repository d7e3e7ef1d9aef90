//! The Salesforce CLI's own orgs, where `sf` keeps them: [`SfCliHome`] reads its auth files
//! (`~/.sfdx/<username>.json`), aliases (`~/.sfdx/alias.json`), default target org
//! (`~/.sf/config.json`, a project's `.sf/config.json`) and encryption key; [`SfCliStore`]
//! uses one auth file itself as a token store, so that `sf` and sfauth share one token.
//!
//! An auth file's `accessToken`, `refreshToken` and `clientSecret` are encrypted with the
//! CLI's key ([`SfKey`]). The key is read where `@salesforce/core` reads it: on Linux from
//! the Secret Service through `secret-tool lookup user local domain sfdx`
//! (`SFDX_SECRET_TOOL_PATH` names another program), on macOS from the login keychain, and
//! from the generic key file `~/.sfdx/key.json` when `SF_USE_GENERIC_UNIX_KEYCHAIN=true` or
//! no keychain program is installed.
//!
//! A save writes the new `accessToken` and a rotated `refreshToken` back, encrypted with
//! that key, keeping every other field; it is atomic, at 0600. It also keeps a field of its
//! own, `sfauth`, with what the CLI does not record (the token's age, its `id`, whether its
//! refresh token rotates) and fingerprints of the tokens it belongs to: when `sf` later
//! refreshes the org, sfauth sees it (see [`recorded`](super::recorded)).
//!
//! Locks are the CLI's own (see [`DirLock`]): a save holds `<file>.lock`, the lock the CLI
//! holds while it writes the file, and a refresh holds `<file>.token-rotation.lock`, the
//! one the CLI's refresh-token-rotation support holds while it refreshes; sfauth processes
//! also queue on `<file>.sfauth.lock`, so that only one of them at a time contends for it.
//!
//! Before that support, `@salesforce/core` writes back the refresh token it sent, not the
//! one a rotating app returned. When the access token changed since sfauth's save but the
//! refresh token did not, the CLI refreshed: the refresh token is checked (introspection)
//! before it is sent again, unless the org is known not to rotate. An org sfauth has never
//! refreshed is taken as the CLI keeps it: the refresh token in its file is the one the
//! CLI itself sends next.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Origin, Result};
use crate::secret::{ClientSecret, Secret};
use crate::store::dir_lock::DirLock;
use crate::store::file::{DEFAULT_LOCK_TIMEOUT, FileStore, ReadError, io_error, read_bounded};
use crate::store::recorded::{self, Provenance};
use crate::store::{RefreshMark, SfKey, StoreApp, StoreLock, TokenStore};
use crate::token::Token;

/// What an auth file is called in messages.
const WHAT: &str = "Salesforce CLI auth file";
/// The field sfauth keeps in an auth file: the token's other fields (see the module docs).
const RECORD: &str = "sfauth";
/// The Salesforce CLI's own connected app, used when an auth file names none.
pub const SF_CLI_CLIENT_ID: &str = "PlatformCLI";
/// The longest wait for the keychain program: a keychain that asks to be unlocked, with
/// nobody to answer, must not hang a refresh.
const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a save waits for the CLI's write lock (the CLI's own retries last about as
/// long).
const WRITE_LOCK_TIMEOUT: Duration = Duration::from_secs(15);

/// A home directory's Salesforce CLI state: `~/.sfdx` and `~/.sf`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join(".sfdx")).unwrap();
/// std::fs::write(dir.path().join(".sfdx/alias.json"), r#"{"orgs": {"dev": "me@acme.com"}}"#).unwrap();
/// std::fs::write(dir.path().join(".sfdx/me@acme.com.json"), r#"{"username": "me@acme.com"}"#).unwrap();
/// let home = sfauth::SfCliHome::at(dir.path());
/// assert_eq!(home.resolve("dev")?, "me@acme.com");
/// assert_eq!(home.orgs()?[0].aliases, ["dev"]);
/// # Ok::<(), sfauth::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SfCliHome {
    home: PathBuf,
    /// The project directory whose `.sf/config.json` names a default org, if any.
    project: Option<PathBuf>,
    /// Whether the key is read from `key.json` whatever the environment says.
    key_file_only: bool,
}

/// One org the Salesforce CLI holds, as `sfauth orgs --sf` lists it: no secret.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfCliOrg {
    /// The username the auth file is named for.
    pub username: String,
    /// The CLI's aliases for it.
    pub aliases: Vec<String>,
    /// Whether it is the CLI's default target org.
    pub is_default: bool,
    /// The org's id.
    pub org_id: Option<String>,
    /// The instance URL.
    pub instance_url: Option<String>,
    /// The login host.
    pub login_url: Option<String>,
    /// The connected app's consumer key.
    pub client_id: Option<String>,
    /// How the CLI renews it.
    pub renewal: SfCliRenewal,
    /// For a scratch org, when it expires (`YYYY-MM-DD`).
    pub expiration_date: Option<String>,
}

/// How the Salesforce CLI renews an org's access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SfCliRenewal {
    /// With its refresh token: sfauth can share it.
    RefreshToken,
    /// With a JWT signed by a private key the file names.
    Jwt,
    /// It cannot: an access token alone.
    None,
}

impl SfCliRenewal {
    /// A short name for listings.
    pub fn as_str(self) -> &'static str {
        match self {
            SfCliRenewal::RefreshToken => "refresh_token",
            SfCliRenewal::Jwt => "jwt",
            SfCliRenewal::None => "access_token",
        }
    }
}

impl SfCliHome {
    /// The CLI's state under `home` (the directory holding `.sfdx`).
    pub fn at(home: impl Into<PathBuf>) -> SfCliHome {
        SfCliHome {
            home: home.into(),
            project: None,
            key_file_only: false,
        }
    }

    /// The CLI's state under the current user's home (`$HOME`).
    pub fn of_user() -> Result<SfCliHome> {
        match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => Ok(SfCliHome::at(home)),
            None => Err(Error::new(
                ErrorKind::Usage,
                "HOME is not set, so the Salesforce CLI's files (~/.sfdx) cannot be found",
            )
            .with_hint("set HOME to the home directory the Salesforce CLI runs in")),
        }
    }

    /// With the project in `dir` or the nearest directory above it that holds an
    /// `sfdx-project.json`: its `.sf/config.json` can name the default org.
    pub fn with_project_from(mut self, dir: &Path) -> SfCliHome {
        self.project = dir
            .ancestors()
            .find(|d| d.join("sfdx-project.json").is_file())
            .map(Path::to_path_buf);
        self
    }

    /// Reads the key from the generic key file `~/.sfdx/key.json`, as the CLI does with
    /// `SF_USE_GENERIC_UNIX_KEYCHAIN=true`, whatever the environment says.
    pub fn with_key_file(mut self) -> SfCliHome {
        self.key_file_only = true;
        self
    }

    /// `~/.sfdx`.
    pub fn sfdx_dir(&self) -> PathBuf {
        self.home.join(".sfdx")
    }

    /// The auth file of `username`.
    pub fn auth_file(&self, username: &str) -> PathBuf {
        self.sfdx_dir().join(format!("{username}.json"))
    }

    /// The CLI's aliases: alias → username.
    pub fn aliases(&self) -> Result<BTreeMap<String, String>> {
        let path = self.sfdx_dir().join("alias.json");
        let Some(doc) = read_json(&path, "Salesforce CLI alias file")? else {
            return Ok(BTreeMap::new());
        };
        Ok(doc
            .get("orgs")
            .and_then(Value::as_object)
            .map(|orgs| {
                orgs.iter()
                    .filter_map(|(alias, user)| Some((alias.clone(), user.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The CLI's default target org (an alias or a username), as its config sets it: the
    /// project's `.sf/config.json`, else the global `~/.sf/config.json`, else the older
    /// `~/.sfdx/sfdx-config.json`.
    pub fn default_org(&self) -> Result<Option<String>> {
        let mut configs = Vec::new();
        if let Some(project) = &self.project {
            configs.push((project.join(".sf/config.json"), "target-org"));
            configs.push((project.join(".sfdx/sfdx-config.json"), "defaultusername"));
        }
        configs.push((self.home.join(".sf/config.json"), "target-org"));
        configs.push((self.sfdx_dir().join("sfdx-config.json"), "defaultusername"));
        for (path, key) in configs {
            if let Some(doc) = read_json(&path, "Salesforce CLI config file")?
                && let Some(org) = doc.get(key).and_then(Value::as_str)
                && !org.is_empty()
            {
                return Ok(Some(org.to_owned()));
            }
        }
        Ok(None)
    }

    /// The username `name` (an alias or a username) stands for, if the CLI holds its auth
    /// file.
    pub fn resolve(&self, name: &str) -> Result<String> {
        let username = self
            .aliases()?
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned());
        if !plausible_username(&username) {
            return Err(self.not_found(name));
        }
        if self.auth_file(&username).is_file() {
            Ok(username)
        } else {
            Err(self.not_found(name))
        }
    }

    fn not_found(&self, name: &str) -> Error {
        let shown: String = name.chars().take(80).collect();
        Error::new(
            ErrorKind::Usage,
            format!(
                "the Salesforce CLI holds no org `{shown}` (no alias or auth file of that name \
                 in {})",
                self.sfdx_dir().display()
            ),
        )
        .with_hint(
            "list the CLI's orgs with `sfauth orgs --sf` (or `sf org list`), or log in with \
             `sf org login web --alias NAME`",
        )
    }

    /// The orgs the CLI holds, by username.
    pub fn orgs(&self) -> Result<Vec<SfCliOrg>> {
        let names = Names::of(self)?;
        let dir = self.sfdx_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&dir, "list", &e)),
        };
        let mut orgs = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(username) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if !plausible_username(username) {
                continue;
            }
            // A file that is not an auth file is left out, not an error: the directory is
            // the CLI's, and holds other things.
            let Ok(Some(doc)) = read_json(&entry.path(), WHAT) else {
                continue;
            };
            orgs.push(names.describe(username, &doc));
        }
        orgs.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(orgs)
    }

    /// The org `name` (an alias or a username) stands for, as [`orgs`](Self::orgs) lists it,
    /// reading its auth file alone.
    pub fn org(&self, name: &str) -> Result<SfCliOrg> {
        let username = self.resolve(name)?;
        let doc =
            read_json(&self.auth_file(&username), WHAT)?.ok_or_else(|| self.not_found(name))?;
        Ok(Names::of(self)?.describe(&username, &doc))
    }

    /// The CLI's encryption key, from where the CLI keeps it (see the module docs). This
    /// may run the keychain program, and wait for it up to 20 s.
    pub fn key(&self) -> Result<SfKey> {
        match keychain_program().filter(|_| !self.key_file_only) {
            Some(program) => self.key_from_keychain(program),
            None => self.key_from_file(),
        }
    }

    fn key_from_file(&self) -> Result<SfKey> {
        let path = self.sfdx_dir().join("key.json");
        let doc = read_json(&path, "Salesforce CLI key file")?.ok_or_else(|| {
            Error::new(
                ErrorKind::Usage,
                format!(
                    "the Salesforce CLI's key file {} does not exist",
                    path.display()
                ),
            )
            .with_hint(
                "log in to an org with the Salesforce CLI first (it makes its key then); if \
                 it keeps its key in the OS keychain, unset SF_USE_GENERIC_UNIX_KEYCHAIN",
            )
        })?;
        let key = doc
            .get("key")
            .and_then(Value::as_str)
            .filter(|_| doc.get("service").and_then(Value::as_str) == Some("sfdx"))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Usage,
                    format!(
                        "{} is not the Salesforce CLI's key file (no `key` for service `sfdx`)",
                        path.display()
                    ),
                )
            })?;
        SfKey::parse(key).map_err(|e| {
            let message = format!("{e} (in {})", path.display());
            e.with_message(message)
        })
    }

    fn key_from_keychain(&self, program: KeychainProgram) -> Result<SfKey> {
        let shown = format!("{} {}", program.path.display(), program.args.join(" "));
        let output = match run_bounded(&program, KEYCHAIN_TIMEOUT) {
            Ok(Some(output)) => output,
            Ok(None) => {
                return Err(Error::new(
                    ErrorKind::Storage,
                    format!(
                        "the keychain did not give the Salesforce CLI's key within {} s (`{shown}`): \
                         it is probably locked",
                        KEYCHAIN_TIMEOUT.as_secs()
                    ),
                )
                .with_hint(
                    "unlock the keychain (log in to the desktop, or `gnome-keyring-daemon \
                     --unlock`) and run again",
                )
                .with_origin(Origin::Storage));
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Storage,
                    format!("cannot run `{shown}` to read the Salesforce CLI's key: {e}"),
                )
                .with_origin(Origin::Storage));
            }
        };
        let stdout = Zeroizing::new(output.stdout);
        if !output.status.success() {
            let why: String = String::from_utf8_lossy(&output.stderr)
                .chars()
                .take(200)
                .collect();
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "the keychain gave no Salesforce CLI key (service sfdx, account local): it is \
                     locked, or the CLI keeps no key there (`{shown}` failed: {}{})",
                    output.status,
                    if why.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", why.trim())
                    }
                ),
            )
            .with_hint(
                "unlock the keychain (log in to the desktop, or `gnome-keyring-daemon --unlock`); \
                 if it is unlocked, log in to an org with the Salesforce CLI first, in the same \
                 session; where the CLI keeps its key in ~/.sfdx/key.json, set \
                 SF_USE_GENERIC_UNIX_KEYCHAIN=true",
            ));
        }
        let text = std::str::from_utf8(&stdout).map_err(|_| {
            Error::new(
                ErrorKind::Usage,
                "the Salesforce CLI's key in the keychain is not text",
            )
        })?;
        SfKey::parse(text).map_err(|e| {
            let message = format!("{e} (in the keychain)");
            e.with_message(message)
        })
    }

    /// The store of the org `name` (an alias or a username).
    pub fn store(&self, name: &str) -> Result<SfCliStore> {
        let username = self.resolve(name)?;
        Ok(SfCliStore {
            file: FileStore::new(self.auth_file(&username)).with_lock_suffix(".sfauth.lock"),
            home: self.clone(),
            username,
            key: std::sync::OnceLock::new(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        })
    }
}

/// What names the CLI gives its orgs: aliases, and the default target org's username.
struct Names {
    aliases: BTreeMap<String, String>,
    default_user: Option<String>,
}

impl Names {
    fn of(home: &SfCliHome) -> Result<Names> {
        let aliases = home.aliases()?;
        let default_user = home
            .default_org()?
            .map(|d| aliases.get(&d).cloned().unwrap_or(d));
        Ok(Names {
            aliases,
            default_user,
        })
    }

    /// `username`'s org, from its auth file `doc`: no secret is read.
    fn describe(&self, username: &str, doc: &Map<String, Value>) -> SfCliOrg {
        let text = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_owned);
        let renewal = if doc.get("refreshToken").is_some_and(|v| v.is_string()) {
            SfCliRenewal::RefreshToken
        } else if doc.get("privateKey").is_some_and(|v| v.is_string()) {
            SfCliRenewal::Jwt
        } else {
            SfCliRenewal::None
        };
        SfCliOrg {
            username: username.to_owned(),
            aliases: self
                .aliases
                .iter()
                .filter(|(_, user)| user.as_str() == username)
                .map(|(alias, _)| alias.clone())
                .collect(),
            is_default: self.default_user.as_deref() == Some(username),
            org_id: text("orgId"),
            instance_url: text("instanceUrl"),
            login_url: text("loginUrl"),
            client_id: text("clientId"),
            renewal,
            expiration_date: text("expirationDate"),
        }
    }
}

/// A program that prints the CLI's key, with its arguments.
struct KeychainProgram {
    path: PathBuf,
    args: &'static [&'static str],
}

/// Runs `program` to its end, or kills it after `timeout` (`Ok(None)`). What it prints is
/// small (a key, an error line), so it is read once it has ended.
fn run_bounded(
    program: &KeychainProgram,
    timeout: Duration,
) -> std::io::Result<Option<std::process::Output>> {
    let mut child = std::process::Command::new(&program.path)
        .args(program.args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let started = Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            return child.wait_with_output().map(Some);
        }
        if started.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The keychain program the CLI would use, or `None` where it uses its key file.
fn keychain_program() -> Option<KeychainProgram> {
    let generic = [
        "SF_USE_GENERIC_UNIX_KEYCHAIN",
        "SFDX_USE_GENERIC_UNIX_KEYCHAIN",
    ]
    .iter()
    .any(|name| {
        std::env::var(name).is_ok_and(|v| v.eq_ignore_ascii_case("true") || v.trim() == "1")
    });
    if generic {
        return None;
    }
    let program = if cfg!(target_os = "macos") {
        KeychainProgram {
            path: PathBuf::from("/usr/bin/security"),
            args: &["find-generic-password", "-a", "local", "-s", "sfdx", "-w"],
        }
    } else {
        KeychainProgram {
            path: std::env::var_os("SFDX_SECRET_TOOL_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/usr/bin/secret-tool")),
            args: &["lookup", "user", "local", "domain", "sfdx"],
        }
    };
    // As the CLI does: no program, no keychain; the key file then.
    is_executable(&program.path).then_some(program)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A username the CLI would name a file for: `user@domain`, no path separators.
fn plausible_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.contains('@')
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
}

/// The JSON object in `path`, bounded; `None` if there is no such file.
fn read_json(path: &Path, what: &str) -> Result<Option<Map<String, Value>>> {
    let bytes = match read_bounded(path) {
        Ok(bytes) => bytes,
        Err(ReadError::Missing) => return Ok(None),
        Err(ReadError::Unusable(problem)) => {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("{what} {} {problem}", path.display()),
            ));
        }
        Err(ReadError::Io(e)) => return Err(io_error(path, &format!("read {what}"), &e)),
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(doc)) => Ok(Some(doc)),
        Ok(_) => Err(Error::new(
            ErrorKind::Usage,
            format!("{what} {} is not a JSON object", path.display()),
        )),
        Err(e) => Err(Error::new(
            ErrorKind::Usage,
            format!("{what} {} is not JSON ({e})", path.display()),
        )
        .with_hint("the Salesforce CLI wrote it; repair it or log in again with `sf org login`")),
    }
}

/// A token kept in one of the Salesforce CLI's auth files (see the module docs).
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{SfCliHome, TokenStore};
/// let store = SfCliHome::of_user()?.store("my-dev-org")?; // an alias or a username
/// let token = store.load().await?; // decrypted with the CLI's key
/// println!("{}", token.instance_url());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SfCliStore {
    home: SfCliHome,
    username: String,
    file: FileStore,
    key: std::sync::OnceLock<SfKey>,
    lock_timeout: Duration,
}

/// What holds an [`SfCliStore`]'s lock: sfauth's own queue, then the CLI's refresh lock.
struct Held {
    // Declared first, so released first: the CLI's lock, then the queue.
    _rotation: DirLock,
    _queue: StoreLock,
}

/// An auth file's fields, as read.
struct AuthFile {
    doc: Map<String, Value>,
}

impl AuthFile {
    fn text(&self, key: &str) -> Option<&str> {
        self.doc
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    }
}

impl SfCliStore {
    /// How long `lock()` waits for another refresher.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.file = self.file.with_lock_timeout(timeout);
        self.lock_timeout = timeout;
        self
    }

    /// The username the auth file is for.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The auth file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The connected app the auth file names (`loginUrl`, `clientId`, `clientSecret`); the
    /// CLI's own app, `PlatformCLI`, when it names none.
    pub fn app(&self) -> Result<StoreApp> {
        let file = self.read()?;
        let client_secret = match file.text("clientSecret") {
            Some(sealed) => {
                let secret = self.decrypt(sealed, "clientSecret")?;
                (!secret.expose().is_empty()).then(|| ClientSecret::from(secret.expose()))
            }
            None => None,
        };
        Ok(StoreApp {
            login_url: file.text("loginUrl").map(str::to_owned),
            site: String::new(),
            client_id: Some(file.text("clientId").unwrap_or(SF_CLI_CLIENT_ID).to_owned()),
            client_secret,
        })
    }

    fn read(&self) -> Result<AuthFile> {
        let bytes = self.file.read_private(WHAT)?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(doc)) => Ok(AuthFile { doc }),
            _ => Err(self
                .unusable("is not a JSON object")
                .with_hint("log in to the org again with the Salesforce CLI (sf org login …)")),
        }
    }

    /// The file as it is once the CLI is not writing it: the CLI rewrites it in place
    /// under `<file>.lock`, so a read while that lock is held may see half a file. Waits
    /// for the lock (as the CLI's own readers do), then reads; a file that does not parse
    /// while the lock is back is read once more after it.
    async fn read_current(&self) -> Result<AuthFile> {
        let lock = self.cli_lock(".lock");
        self.wait_for_writer(&lock).await;
        match self.read() {
            Ok(file) => Ok(file),
            Err(e) if lock.exists() => {
                tracing::debug!(error = %e, "the auth file changed while read; reading again");
                self.wait_for_writer(&lock).await;
                self.read()
            }
            Err(e) => Err(e),
        }
    }

    /// Waits while the CLI's write lock is held, at most until it would count as stale.
    async fn wait_for_writer(&self, lock: &Path) {
        let started = Instant::now();
        let limit = super::dir_lock::STALE_AFTER + Duration::from_secs(1);
        while lock.exists() && started.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The CLI's key, read once.
    fn sf_key(&self) -> Result<&SfKey> {
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let key = self.home.key()?;
        Ok(self.key.get_or_init(|| key))
    }

    /// The CLI's key, read once, off the async runtime's threads: the keychain program may
    /// take seconds.
    async fn sf_key_async(&self) -> Result<&SfKey> {
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let home = self.home.clone();
        let key = tokio::task::spawn_blocking(move || home.key())
            .await
            .map_err(|_| {
                Error::internal("the key task stopped unexpectedly (a bug in sfauth)")
            })??;
        Ok(self.key.get_or_init(|| key))
    }

    fn decrypt(&self, sealed: &str, field: &str) -> Result<Secret<String>> {
        self.decrypt_with(self.sf_key()?, sealed, field)
    }

    fn decrypt_with(&self, key: &SfKey, sealed: &str, field: &str) -> Result<Secret<String>> {
        key.decrypt(sealed).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!(
                    "{WHAT} {}: its {field} cannot be decrypted with the Salesforce CLI's key \
                     ({e})",
                    self.path().display()
                ),
            )
            .with_hint(
                "the CLI's key changed since it wrote the file (another keychain, or \
                 SF_USE_GENERIC_UNIX_KEYCHAIN set differently): log in to the org again with \
                 `sf org login`",
            )
        })
    }

    fn unusable(&self, problem: &str) -> Error {
        Error::new(
            ErrorKind::Usage,
            format!("{WHAT} {} {problem}", self.path().display()),
        )
    }

    /// The CLI's lock beside the auth file, `<file><suffix>`.
    fn cli_lock(&self, suffix: &str) -> PathBuf {
        let mut name = self.path().as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    /// Reads the file under the CLI's write lock, lets `change` edit it, and writes it
    /// back atomically.
    async fn rewrite(
        &self,
        lock: &StoreLock,
        change: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<()> {
        let _writing = DirLock::acquire(
            self.cli_lock(".lock"),
            WRITE_LOCK_TIMEOUT,
            "the Salesforce CLI (writing the auth file)",
        )
        .await?;
        let mut file = self.read().map_err(|e| {
            if self.path().exists() {
                e
            } else {
                Error::new(
                    ErrorKind::Storage,
                    format!(
                        "{WHAT} {} was removed (sf org logout?) while sfauth held its token",
                        self.path().display()
                    ),
                )
                .with_hint("log in to the org again")
                .with_origin(Origin::Storage)
            }
        })?;
        change(&mut file.doc);
        let mut bytes = serde_json::to_vec_pretty(&Value::Object(file.doc))
            .map(Zeroizing::new)
            .map_err(|e| Error::internal(format!("cannot write the auth file's JSON: {e}")))?;
        bytes.push(b'\n');
        self.file.write_locked(lock, bytes).await
    }
}

#[async_trait]
impl TokenStore for SfCliStore {
    async fn load(&self) -> Result<Token> {
        let file = self.read_current().await?;
        let Some(sealed) = file.text("accessToken") else {
            return Err(self.unusable("has no accessToken").with_hint(
                "log in to the org with the Salesforce CLI (sf org login web), or into this \
                 store with sfauth",
            ));
        };
        let key = self.sf_key_async().await?;
        let access = self.decrypt_with(key, sealed, "accessToken")?;
        let refresh = match file.text("refreshToken") {
            Some(sealed) => Some(self.decrypt_with(key, sealed, "refreshToken")?),
            None => None,
        };
        let (mut value, provenance) = recorded::recall(
            file.text(RECORD),
            access.expose(),
            refresh.as_ref().map(Secret::expose),
        );
        if provenance != Provenance::Ours {
            // The CLI keeps no age: a token it put here is of unknown age.
            value.remove("issued_at");
        }
        for field in recorded::SECRET_FIELDS {
            value.remove(field);
        }
        let Some(instance) = file.text("instanceUrl").or(file.text("loginUrl")) else {
            return Err(self.unusable("has no instanceUrl"));
        };
        value.insert("instance_url".into(), instance.into());
        value.insert("access_token".into(), access.expose().into());
        if let Some(refresh) = &refresh {
            value.insert("refresh_token".into(), refresh.expose().into());
        }
        Token::from_value(Value::Object(value))
            .map_err(|problem| self.unusable(&format!("does not hold a usable token: {problem}")))
    }

    /// Queues behind other sfauth processes, then takes the CLI's refresh lock. An access
    /// token the CLI replaced since sfauth's save, keeping the refresh token sfauth saved,
    /// comes with a mark: the CLI may have spent that refresh token (see the module docs).
    async fn lock(&self) -> Result<StoreLock> {
        let started = Instant::now();
        let queue = self.file.lock().await?;
        let rotation = DirLock::acquire(
            self.cli_lock(".token-rotation.lock"),
            self.lock_timeout.saturating_sub(started.elapsed()),
            "the Salesforce CLI (refreshing the org)",
        )
        .await?;
        let mark = self.replaced_by_cli().await?;
        let lock = StoreLock::new(Held {
            _rotation: rotation,
            _queue: queue,
        });
        Ok(match mark {
            Some(mark) => lock.with_interrupted(mark),
            None => lock,
        })
    }

    async fn prepare(&self, lock: &StoreLock) -> Result<()> {
        self.file.prepare(lock).await
    }

    /// Writes the token back into the auth file as it is now, encrypted with the CLI's key.
    async fn save(&self, lock: &StoreLock, token: &Token) -> Result<()> {
        let key = self.sf_key_async().await?;
        let access = key.encrypt(token.access_token().expose())?;
        let refresh = match token.refresh_token() {
            Some(refresh) => Some(key.encrypt(refresh.expose())?),
            None => None,
        };
        let instance = token.instance_url().to_owned();
        let record = recorded::record(token);
        let username = self.username.clone();
        self.rewrite(lock, move |doc| {
            doc.insert("accessToken".into(), access.into());
            if let Some(refresh) = refresh {
                doc.insert("refreshToken".into(), refresh.into());
            }
            doc.insert("instanceUrl".into(), instance.into());
            doc.entry("username").or_insert(username.into());
            doc.insert(RECORD.into(), record.into());
        })
        .await
    }

    /// Takes the token out of the auth file (the CLI's other fields stay).
    async fn delete(&self, lock: &StoreLock) -> Result<()> {
        self.rewrite(lock, |doc| {
            for field in ["accessToken", "refreshToken", RECORD] {
                doc.remove(field);
            }
        })
        .await
    }

    fn describe(&self) -> String {
        format!("{WHAT} {}", self.path().display())
    }
}

impl SfCliStore {
    /// The mark for a refresh token the CLI may have spent (see [`lock`](Self::lock)). A
    /// file that cannot be read or decrypted is an error, not "no mark": that would let a
    /// spent refresh token through.
    async fn replaced_by_cli(&self) -> Result<Option<RefreshMark>> {
        let file = self.read_current().await?;
        let (Some(access), Some(refresh)) = (file.text("accessToken"), file.text("refreshToken"))
        else {
            // No refresh token to spend, or no token at all (which load reports).
            return Ok(None);
        };
        let key = self.sf_key_async().await?;
        let access = self.decrypt_with(key, access, "accessToken")?;
        let refresh = self.decrypt_with(key, refresh, "refreshToken")?;
        let provenance =
            recorded::recall(file.text(RECORD), access.expose(), Some(refresh.expose())).1;
        if provenance != Provenance::Replaced {
            return Ok(None);
        }
        recorded::replaced_mark(
            self.path(),
            "the Salesforce CLI, which refreshed this org and kept the refresh token it had sent \
             (@salesforce/core drops a rotated one)",
        )
        .map(Some)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Storage,
                format!("{WHAT} {} cannot be dated", self.path().display()),
            )
            .with_origin(Origin::Storage)
        })
    }
}
