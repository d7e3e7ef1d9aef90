//! Token stores: where a token lives between runs, and the lock that makes one refresh at a
//! time across processes.

pub mod file;

use std::any::Any;
use std::fmt;

use async_trait::async_trait;

use crate::error::Result;
use crate::token::Token;

pub use file::FileStore;

/// Proof that the store's exclusive lock is held; the lock is released on drop.
pub struct StoreLock {
    _guard: Box<dyn Any + Send + Sync>,
}

impl StoreLock {
    /// Wraps whatever keeps a store's lock held (a locked file, a lease).
    pub fn new(guard: impl Any + Send + Sync) -> Self {
        StoreLock {
            _guard: Box::new(guard),
        }
    }
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreLock")
    }
}

/// A place that holds one token.
///
/// The refresh protocol is: `lock()`, `load()` again (another process may have refreshed
/// meanwhile), refresh, `save()`, drop the lock. `load()` alone takes no lock: a save must be
/// atomic, so a reader sees the old token or the new one, never a mix.
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// Reads the token.
    async fn load(&self) -> Result<Token>;

    /// Takes the exclusive lock that serializes refreshes of this token, waiting for it.
    async fn lock(&self) -> Result<StoreLock>;

    /// Writes the token durably and atomically. The caller holds `lock`.
    async fn save(&self, lock: &StoreLock, token: &Token) -> Result<()>;

    /// Where the token lives, for messages (no secret).
    fn describe(&self) -> String;
}
