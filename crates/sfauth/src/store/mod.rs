//! Token stores: where a token lives between runs, and the lock that makes one refresh at a
//! time across processes.

mod dir_lock;
pub mod file;
#[cfg(feature = "keychain")]
mod keychain;
#[cfg(any(feature = "postgres", feature = "redis"))]
mod keyed;
mod location;
mod mark;
#[cfg(feature = "postgres")]
mod postgres;
mod postman;
mod recorded;
#[cfg(feature = "redis")]
mod redis;
mod sf_cli;
mod sf_crypto;

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;
use crate::token::Token;

pub use file::FileStore;
#[cfg(feature = "keychain")]
pub use keychain::{KEYCHAIN_SERVICE, KeychainStore};
pub use location::{ServerUrl, StoreKey, StoreOptions, StoreUrl, StoredKey};
pub use mark::RefreshMark;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use postman::{PostmanNames, PostmanStore};
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use sf_cli::{SF_CLI_CLIENT_ID, SfCliHome, SfCliOrg, SfCliRenewal, SfCliStore};
pub use sf_crypto::{SfCryptoVersion, SfKey};

/// The connected app a store names beside its token (a Postman environment's `clientId`,
/// the Salesforce CLI's auth file's `clientId`): the app whose refresh token it holds.
///
/// ```
/// let app = sfauth::StoreApp::default();
/// assert!(app.client_id.is_none() && app.site.is_empty());
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct StoreApp {
    /// The login host, if the store names one.
    pub login_url: Option<String>,
    /// The Experience Cloud site prefix, empty if none.
    pub site: String,
    /// The consumer key, if the store names one.
    pub client_id: Option<String>,
    /// The consumer secret, if the store holds one.
    pub client_secret: Option<crate::secret::ClientSecret>,
}

/// Pauses before retrying a failed save on a local store: short, since the refresh is done
/// and the new token waits in memory.
pub(crate) const LOCAL_SAVE_RETRY_PAUSES: &[Duration] =
    &[Duration::from_millis(50), Duration::from_millis(250)];

/// Pauses before retrying a failed save on a network store: a failover or a restart takes
/// seconds, and the new token (with rotation, the only valid refresh token) waits in memory.
pub(crate) const NETWORK_SAVE_RETRY_PAUSES: &[Duration] = &[
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// Proof that the store's exclusive lock is held; the lock is released on drop.
///
/// The lock carries the store's own guard (a locked file, a database transaction, a lease
/// with its owner value), which [`save`](TokenStore::save) can reach again with
/// [`guard`](Self::guard) to check it still holds; the version of the token it read under
/// the lock, so that a save can refuse to overwrite a newer one (a compare-and-set); and
/// what [`TokenStore::prepare`] set aside for the coming save (a reserved temp file, a lease
/// extension). All of it lives exactly as long as the lock, so a refresh that fails or is
/// abandoned releases it with the lock.
///
/// ```
/// use sfauth::StoreLock;
/// // A store whose lock is a lease, and whose token row is at version 41.
/// struct Lease { owner: u128 }
/// let lock = StoreLock::new(Lease { owner: 7 }).with_version(41);
/// assert_eq!(lock.guard::<Lease>().map(|l| l.owner), Some(7));
/// assert_eq!(lock.version(), Some(41));
/// lock.set_version(42); // after a save wrote version 42
/// assert_eq!(lock.version(), Some(42));
/// ```
pub struct StoreLock {
    // Declared first so it drops first: the reservation is cleaned up while the lock is
    // still held, and no other process ever sees a leftover that is being removed.
    reservation: Mutex<Option<Box<dyn Any + Send>>>,
    version: Mutex<Option<u64>>,
    interrupted: Option<RefreshMark>,
    guard: Box<dyn Any + Send + Sync>,
}

impl StoreLock {
    /// Wraps whatever keeps a store's lock held (a locked file, a lease).
    pub fn new(guard: impl Any + Send + Sync) -> Self {
        StoreLock {
            reservation: Mutex::new(None),
            version: Mutex::new(None),
            interrupted: None,
            guard: Box::new(guard),
        }
    }

    /// With the mark of a refresh that an earlier holder of this lock started and never
    /// saved (see [`TokenStore::mark_refreshing`]).
    pub fn with_interrupted(mut self, mark: RefreshMark) -> Self {
        self.interrupted = Some(mark);
        self
    }

    /// The refresh an earlier holder started and never saved, as the store found it when
    /// this lock was taken: the stored refresh token may have been spent by it.
    pub fn interrupted(&self) -> Option<&RefreshMark> {
        self.interrupted.as_ref()
    }

    /// Takes the store's own guard back, if it is a `T`: for a store's
    /// [`release`](TokenStore::release).
    pub fn into_guard<T: Any>(self) -> Option<T> {
        let StoreLock {
            reservation, guard, ..
        } = self;
        drop(reservation);
        let guard: Box<dyn Any> = guard;
        guard.downcast::<T>().ok().map(|g| *g)
    }

    /// With the version of the stored token as read under this lock.
    pub fn with_version(self, version: u64) -> Self {
        self.set_version(version);
        self
    }

    /// The store's own guard, if it is a `T`: for a save that checks its lease or
    /// transaction is still the one it took.
    pub fn guard<T: Any>(&self) -> Option<&T> {
        self.guard.downcast_ref::<T>()
    }

    /// The version of the stored token this lock last read or wrote, if the store keeps
    /// versions.
    pub fn version(&self) -> Option<u64> {
        *lock_ignoring_poison(&self.version)
    }

    /// Records the version a save under this lock wrote, so the next save checks against it.
    pub fn set_version(&self, version: u64) {
        *lock_ignoring_poison(&self.version) = Some(version);
    }

    /// Keeps `reservation` (what a store's `prepare` set aside) until the next
    /// [`take_reservation`](Self::take_reservation) or until the lock is dropped. Replaces
    /// an earlier one.
    pub fn set_reservation(&self, reservation: impl Any + Send) {
        *self.slot() = Some(Box::new(reservation));
    }

    /// Takes the reservation back, if one of type `T` is held.
    pub fn take_reservation<T: Any>(&self) -> Option<T> {
        let mut slot = self.slot();
        match slot.take()?.downcast::<T>() {
            Ok(reservation) => Some(*reservation),
            Err(other) => {
                *slot = Some(other);
                None
            }
        }
    }

    /// Whether a reservation is held.
    pub fn has_reservation(&self) -> bool {
        self.slot().is_some()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Box<dyn Any + Send>>> {
        lock_ignoring_poison(&self.reservation)
    }
}

/// A panic while one of the lock's slots was held cannot leave it half-written: take the
/// value.
pub(crate) fn lock_ignoring_poison<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreLock")
    }
}

/// A place that holds one token.
///
/// The refresh protocol is: `lock()` (which also finishes whatever a crashed save left
/// behind), `load()` again (another process may have refreshed meanwhile), `prepare()` (prove
/// the save can succeed, before anything is sent), refresh, `save()`, drop the lock. `load()`
/// alone takes no lock: a save must be atomic, so a reader sees the old token or the new
/// one, never a mix.
///
/// Errors: a store that cannot be read or written (a full disk, a read-only directory, a
/// store that is down) is [`ErrorKind::Storage`](crate::ErrorKind::Storage); content that is
/// not a token is [`ErrorKind::Usage`](crate::ErrorKind::Usage).
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// Reads the token.
    async fn load(&self) -> Result<Token>;

    /// Takes the exclusive lock that serializes refreshes of this token, waiting for it.
    async fn lock(&self) -> Result<StoreLock>;

    /// Makes sure the next [`save`](Self::save) under `lock` can succeed, before a refresh
    /// is sent: with refresh-token rotation, a refresh whose answer cannot be stored loses
    /// the only valid refresh token. What is set aside is kept in `lock` (see
    /// [`StoreLock::set_reservation`]) and released with it. The default does nothing.
    async fn prepare(&self, lock: &StoreLock) -> Result<()> {
        let _ = lock;
        Ok(())
    }

    /// Records durably, before a refresh that can rotate the stored refresh token is sent,
    /// that `mark`'s holder is sending it; the next [`save`](Self::save) clears the mark.
    /// A later [`lock`](Self::lock) that finds a mark no save cleared reports it
    /// ([`StoreLock::interrupted`]): the holder stopped between sending and saving, and the
    /// stored refresh token may be spent. Stores shared by many machines keep marks; the
    /// default keeps none.
    async fn mark_refreshing(&self, lock: &StoreLock, mark: &RefreshMark) -> Result<()> {
        let _ = (lock, mark);
        Ok(())
    }

    /// Removes the mark of a refresh that was answered without a new token (an error from
    /// Salesforce, or never sent): the stored refresh token is as it was. The default keeps
    /// no marks.
    async fn clear_mark(&self, lock: &StoreLock) -> Result<()> {
        let _ = lock;
        Ok(())
    }

    /// Writes the token durably and atomically. The caller holds `lock`.
    ///
    /// A store whose lock can run out (a lease) checks it still holds; a store that keeps
    /// versions writes only over the version in `lock` and records the new one there
    /// ([`StoreLock::set_version`]). Either check failing is
    /// [`ErrorKind::Storage`](crate::ErrorKind::Storage), and nothing is written: a holder
    /// that lost its lock must never overwrite a newer token.
    async fn save(&self, lock: &StoreLock, token: &Token) -> Result<()>;

    /// Removes the token from the store, under `lock`. A store that cannot delete says so
    /// with a [`Usage`](crate::ErrorKind::Usage) error; that is the default.
    async fn delete(&self, lock: &StoreLock) -> Result<()> {
        let _ = lock;
        Err(crate::Error::new(
            crate::ErrorKind::Usage,
            format!("{} cannot delete its token", self.describe()),
        ))
    }

    /// Releases `lock` now, for a store whose lock outlives a plain drop (a lease a server
    /// keeps until it runs out). The default drops it.
    async fn release(&self, lock: StoreLock) -> Result<()> {
        drop(lock);
        Ok(())
    }

    /// The pauses between tries of a save that failed after a refresh: a network store
    /// waits out a failover longer than a local file waits for a full disk.
    fn save_retry_pauses(&self) -> &'static [Duration] {
        LOCAL_SAVE_RETRY_PAUSES
    }

    /// Where the token lives, for messages (no secret).
    fn describe(&self) -> String;
}

/// A shared store is a store: a program can pick one at run time (see [`StoreUrl::open`])
/// and hand it to a [`Session`](crate::Session).
#[async_trait]
impl<S: TokenStore + ?Sized> TokenStore for Arc<S> {
    async fn load(&self) -> Result<Token> {
        (**self).load().await
    }

    async fn lock(&self) -> Result<StoreLock> {
        (**self).lock().await
    }

    async fn prepare(&self, lock: &StoreLock) -> Result<()> {
        (**self).prepare(lock).await
    }

    async fn mark_refreshing(&self, lock: &StoreLock, mark: &RefreshMark) -> Result<()> {
        (**self).mark_refreshing(lock, mark).await
    }

    async fn clear_mark(&self, lock: &StoreLock) -> Result<()> {
        (**self).clear_mark(lock).await
    }

    async fn save(&self, lock: &StoreLock, token: &Token) -> Result<()> {
        (**self).save(lock, token).await
    }

    async fn delete(&self, lock: &StoreLock) -> Result<()> {
        (**self).delete(lock).await
    }

    async fn release(&self, lock: StoreLock) -> Result<()> {
        (**self).release(lock).await
    }

    fn save_retry_pauses(&self) -> &'static [Duration] {
        (**self).save_retry_pauses()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Removed(std::sync::Arc<std::sync::atomic::AtomicBool>);

    impl Drop for Removed {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn a_lock_without_a_version_has_none_until_a_save_records_one() {
        let lock = StoreLock::new(());
        assert_eq!(lock.version(), None);
        assert!(lock.guard::<()>().is_some());
        assert!(lock.guard::<u8>().is_none());
        lock.set_version(3);
        assert_eq!(lock.version(), Some(3));
    }

    #[test]
    fn a_reservation_of_another_type_stays_in_the_lock() {
        let lock = StoreLock::new(());
        lock.set_reservation(7u32);
        assert_eq!(lock.take_reservation::<String>(), None);
        assert!(lock.has_reservation());
        assert_eq!(lock.take_reservation::<u32>(), Some(7));
        assert!(!lock.has_reservation());
    }

    #[test]
    fn dropping_the_lock_releases_its_reservation() {
        let removed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let lock = StoreLock::new(());
        lock.set_reservation(Removed(std::sync::Arc::clone(&removed)));
        drop(lock);
        assert!(removed.load(std::sync::atomic::Ordering::SeqCst));
    }
}
