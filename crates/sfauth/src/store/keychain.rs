//! [`KeychainStore`]: a token kept in the OS keychain (the Secret Service on Linux, the
//! login keychain on macOS), through keyring's API crate and its per-OS stores, as one entry
//! of service `sfauth` per name.
//!
//! The entry holds the whole token (JSON, as a token file would). A save replaces it in one
//! keychain call, so a reader sees the old token or the new one. Refreshes are serialized
//! by a lock file the caller places (beside its config): the keychain has no lock of its
//! own.
//!
//! Every keychain call runs off the async runtime's threads and is bounded in time: a
//! keychain that waits for someone to unlock it, with nobody there, must not hang a
//! refresh. Errors never show the entry's bytes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use keyring_core::{CredentialStore, Entry};

use crate::error::{Error, ErrorKind, Origin, Result};
use crate::store::file::{DEFAULT_LOCK_TIMEOUT, lock_file};
use crate::store::{StoreKey, StoreLock, TokenStore};
use crate::token::Token;

/// The keychain service sfauth's entries are filed under.
pub const KEYCHAIN_SERVICE: &str = "sfauth";

/// The longest wait for one keychain call.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest wait for [`KeychainStore::probe`]: it decides where a login stores, and
/// must not keep a login waiting on a machine without a keychain.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The scratch entry a probe writes and deletes.
const PROBE_ENTRY: &str = "sfauth-probe";

/// A token in the OS keychain (see the module docs).
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{KeychainStore, StoreKey, TokenStore};
/// let store = KeychainStore::new(&StoreKey::parse("prod")?, "/home/me/.config/sfauth/locks");
/// let token = store.load().await?; // the entry `sfauth` / `prod`
/// # let _ = token; Ok(()) }
/// ```
pub struct KeychainStore {
    name: StoreKey,
    lock_path: PathBuf,
    lock_timeout: Duration,
    keychain: Arc<OnceLock<Arc<CredentialStore>>>,
}

impl std::fmt::Debug for KeychainStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeychainStore")
            .field("name", &self.name.as_str())
            .field("lock_path", &self.lock_path)
            .finish_non_exhaustive()
    }
}

impl KeychainStore {
    /// The entry `name`, refreshed under a lock file in `lock_dir`.
    pub fn new(name: &StoreKey, lock_dir: impl AsRef<Path>) -> KeychainStore {
        KeychainStore {
            lock_path: lock_dir
                .as_ref()
                .join(format!("keychain-{}.lock", name.as_str())),
            name: name.clone(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            keychain: Arc::new(OnceLock::new()),
        }
    }

    /// How long `lock()` waits for another process.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The entry's name (its keychain account).
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// Whether a keychain answers here: `Ok` if one can be reached and written (a scratch
    /// entry is written and deleted), else the reason (no session bus, no Secret Service on
    /// it, a locked keychain, a timeout), as the error. Blocks the calling thread for at
    /// most 5 s.
    ///
    /// ```no_run
    /// if let Err(why) = sfauth::KeychainStore::probe() {
    ///     eprintln!("no keychain here: {why}");
    /// }
    /// ```
    pub fn probe() -> Result<()> {
        let (answer, answered) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sfauth-keychain-probe".into())
            .spawn(move || {
                let _ = answer.send(can_write(&OnceLock::new()));
            })
            .map_err(|e| Error::internal(format!("cannot start a thread: {e}")))?;
        match answered.recv_timeout(PROBE_TIMEOUT) {
            Ok(Ok(())) | Ok(Err(keyring_core::Error::NoEntry)) => Ok(()),
            Ok(Err(e)) => {
                let why = match &e {
                    keyring_core::Error::PlatformFailure(reason) => reason.to_string(),
                    keyring_core::Error::NoStorageAccess(reason) => {
                        format!("it is locked: {reason}")
                    }
                    other => variant_name(other).to_owned(),
                };
                Err(keychain_error(&e, "the keychain").with_message(why))
            }
            Err(_) => Err(not_answering(PROBE_TIMEOUT)),
        }
    }

    /// Runs `call` on the entry, off the runtime and bounded in time.
    async fn call<T: Send + 'static>(
        &self,
        call: impl FnOnce(Entry) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<keyring_core::Result<T>> {
        let keychain = Arc::clone(&self.keychain);
        let user = self.name.as_str().to_owned();
        bounded(CALL_TIMEOUT, move || call(entry(&keychain, &user)?)).await
    }
}

/// The entry `user` of sfauth's service, in the platform's keychain (connected once).
fn entry(keychain: &OnceLock<Arc<CredentialStore>>, user: &str) -> keyring_core::Result<Entry> {
    let store = match keychain.get() {
        Some(store) => store,
        None => {
            let store = platform_keychain()?;
            keychain.get_or_init(|| store)
        }
    };
    Entry::new_in_store(store, KEYCHAIN_SERVICE, user)
}

#[cfg(target_os = "linux")]
fn platform_keychain() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn platform_keychain() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn platform_keychain() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(keyring_core::Error::NotSupportedByStore(
        "sfauth's keychain store runs on Linux and macOS".into(),
    ))
}

/// Runs `work` on a thread of its own; an error if it has not ended within `limit`. The
/// thread is detached, not a runtime's blocking task: a keychain call cannot be cancelled,
/// and a runtime waits for its blocking tasks when it shuts down, so one stuck call would
/// keep the process from exiting.
async fn bounded<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("sfauth-keychain".into())
        .spawn(move || {
            let _ = answer.send(work());
        })
        .map_err(|e| Error::internal(format!("cannot start a keychain thread: {e}")))?;
    match tokio::time::timeout(limit, answered).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(Error::internal(
            "a keychain call stopped unexpectedly (a bug in sfauth or the keychain library)",
        )),
        Err(_) => Err(not_answering(limit)),
    }
}

/// The keychain did not answer within `limit`.
fn not_answering(limit: Duration) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!(
            "the keychain did not answer within {} s: it is probably locked and waiting for a \
             password nobody can type here",
            limit.as_secs()
        ),
    )
    .with_hint(
        "unlock the keychain (log in to the desktop session, or `gnome-keyring-daemon \
         --unlock`), or keep this org's token in a file (--store file)",
    )
    .with_origin(Origin::Storage)
}

/// Writes and deletes a scratch entry: a keychain that can be searched while locked only
/// refuses (or prompts) when something is written, and a refresh whose answer cannot be
/// written loses it.
fn can_write(keychain: &OnceLock<Arc<CredentialStore>>) -> keyring_core::Result<()> {
    let scratch = entry(keychain, PROBE_ENTRY)?;
    scratch.set_secret(b"sfauth checks that it can write here")?;
    match scratch.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(e),
    }
}

/// What a keychain error means, for `what` (never with the entry's bytes).
fn keychain_error(e: &keyring_core::Error, what: &str) -> Error {
    use keyring_core::Error as K;
    let storage = |message: String, hint: &str| {
        Error::new(ErrorKind::Storage, message)
            .with_hint(hint)
            .with_origin(Origin::Storage)
    };
    match e {
        K::NoStorageAccess(reason) => storage(
            format!("{what} is locked or refused access ({reason})"),
            "unlock the keychain (log in to the desktop session, or `gnome-keyring-daemon \
             --unlock`) and run again",
        ),
        K::PlatformFailure(reason) => storage(
            format!("no keychain answers for {what} ({reason})"),
            "run sfauth in a desktop session with a keychain (gnome-keyring, KeePassXC, \
             macOS's login keychain), or keep the token in a file (--store file)",
        ),
        K::BadEncoding(_) | K::BadDataFormat(..) => Error::new(
            ErrorKind::Usage,
            format!("{what} holds something that is not an sfauth token"),
        )
        .with_hint("log in again into this keychain entry, or delete it"),
        K::Ambiguous(_) => Error::new(
            ErrorKind::Usage,
            format!("{what} matches more than one keychain entry"),
        )
        .with_hint(format!(
            "delete the extra entries of service `{KEYCHAIN_SERVICE}` in the keychain (e.g. \
             with seahorse), then log in again"
        )),
        K::NoEntry => Error::new(
            ErrorKind::Usage,
            format!("the keychain holds no token for {what}"),
        ),
        other => storage(
            format!("the keychain refused {what}: {}", variant_name(other)),
            "keep the token in a file instead (--store file)",
        ),
    }
}

/// The kind of a keychain error, without what it carries.
fn variant_name(e: &keyring_core::Error) -> &'static str {
    use keyring_core::Error as K;
    match e {
        K::TooLong(..) => "an attribute is too long",
        K::Invalid(..) => "an invalid parameter",
        K::BadStoreFormat(_) => "the keychain's own format is damaged",
        K::NotSupportedByStore(_) => "not supported by this keychain",
        _ => "an unexpected error",
    }
}

#[async_trait]
impl TokenStore for KeychainStore {
    async fn load(&self) -> Result<Token> {
        let what = self.describe();
        match self.call(|entry| entry.get_secret()).await? {
            Ok(bytes) => {
                let bytes = zeroize::Zeroizing::new(bytes);
                Token::from_json(&bytes).map_err(|_| {
                    Error::new(
                        ErrorKind::Usage,
                        format!("{what} does not hold a usable token"),
                    )
                    .with_hint("log in again into this keychain entry")
                })
            }
            Err(keyring_core::Error::NoEntry) => Err(Error::new(
                ErrorKind::Usage,
                format!("the keychain holds no token for {what}"),
            )
            .with_hint(format!(
                "log in to store one there: sfauth login web --alias {} --store keychain:",
                self.name()
            ))),
            Err(e) => Err(keychain_error(&e, &what)),
        }
    }

    async fn lock(&self) -> Result<StoreLock> {
        lock_file(&self.lock_path, self.lock_timeout).await
    }

    /// Reads the entry, or (when there is none yet) writes a scratch one: a keychain that
    /// is locked or gone fails here, before a refresh is sent.
    async fn prepare(&self, lock: &StoreLock) -> Result<()> {
        let _ = lock;
        let keychain = Arc::clone(&self.keychain);
        let checked = self
            .call(move |entry| match entry.get_secret() {
                Err(keyring_core::Error::NoEntry) => can_write(&keychain),
                other => other.map(drop),
            })
            .await?;
        match checked {
            Ok(()) => Ok(()),
            Err(e) => {
                let error = keychain_error(&e, &self.describe());
                let message =
                    format!("{error}; nothing was sent, and the stored token is unchanged");
                Err(error.with_message(message))
            }
        }
    }

    async fn save(&self, lock: &StoreLock, token: &Token) -> Result<()> {
        let _ = lock;
        let json = token.to_json_pretty();
        let bytes = zeroize::Zeroizing::new(json.as_bytes().to_vec());
        match self.call(move |entry| entry.set_secret(&bytes)).await? {
            Ok(()) => Ok(()),
            Err(e) => Err(keychain_error(&e, &self.describe())),
        }
    }

    async fn delete(&self, lock: &StoreLock) -> Result<()> {
        let _ = lock;
        match self.call(|entry| entry.delete_credential()).await? {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(&e, &self.describe())),
        }
    }

    fn describe(&self) -> String {
        format!("keychain entry {KEYCHAIN_SERVICE}/{}", self.name.as_str())
    }
}
