//! Token stores: where a token lives between runs, and the lock that makes one refresh at a
//! time across processes.

pub mod file;

use std::any::Any;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::Result;
use crate::token::Token;

pub use file::FileStore;

/// Proof that the store's exclusive lock is held; the lock is released on drop.
///
/// The lock also carries what [`TokenStore::prepare`] set aside for the coming save (a
/// reserved temp file, a lease extension): it lives exactly as long as the lock, so a
/// refresh that fails or is abandoned releases it with the lock.
pub struct StoreLock {
    // Declared first so it drops first: the reservation is cleaned up while the lock is
    // still held, and no other process ever sees a leftover that is being removed.
    reservation: Mutex<Option<Box<dyn Any + Send>>>,
    _guard: Box<dyn Any + Send + Sync>,
}

impl StoreLock {
    /// Wraps whatever keeps a store's lock held (a locked file, a lease).
    pub fn new(guard: impl Any + Send + Sync) -> Self {
        StoreLock {
            reservation: Mutex::new(None),
            _guard: Box::new(guard),
        }
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
        // A panic while the slot was held cannot leave it half-written: take the value.
        self.reservation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
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

    /// Writes the token durably and atomically. The caller holds `lock`.
    async fn save(&self, lock: &StoreLock, token: &Token) -> Result<()>;

    /// Where the token lives, for messages (no secret).
    fn describe(&self) -> String;
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
