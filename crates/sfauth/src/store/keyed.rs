//! [`KeyedToken`]: one token under a key of a server store (PostgreSQL, Redis), and what
//! every server store says and checks about it alike; [`AbortOnDrop`]: a lock's background
//! task (a keep-alive, a lease renewal) that ends with the lock.

use std::time::Duration;

use crate::error::{Error, ErrorKind, Origin, Remedy, Result};
use crate::store::StoreLock;
use crate::store::file::MAX_TOKEN_FILE_BYTES;
use crate::store::location::StoreKey;
use crate::token::Token;

/// The token under `key` in the store shown as `shown` (its URL without the password).
#[derive(Debug)]
pub(crate) struct KeyedToken {
    /// The store's URL without its password, for messages.
    pub(crate) shown: String,
    /// The key.
    pub(crate) key: StoreKey,
    /// What serves the store, for hints: `the PostgreSQL server`.
    server: &'static str,
}

impl KeyedToken {
    pub(crate) fn new(shown: &str, key: &StoreKey, server: &'static str) -> KeyedToken {
        KeyedToken {
            shown: shown.to_owned(),
            key: key.clone(),
            server,
        }
    }

    /// The key as text.
    pub(crate) fn key(&self) -> &str {
        self.key.as_str()
    }

    /// Where the token lives, for messages (no secret).
    pub(crate) fn describe(&self) -> String {
        format!("the key `{}` in the token store {}", self.key, self.shown)
    }

    /// The token text a store read, checked for size and parsed.
    pub(crate) fn parse(&self, text: &str) -> Result<Token> {
        if text.len() as u64 > MAX_TOKEN_FILE_BYTES {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "the token under the key `{}` in {} is larger than {MAX_TOKEN_FILE_BYTES} bytes",
                    self.key, self.shown
                ),
            )
            .with_hint("import a Salesforce token JSON under this key"));
        }
        Token::from_json(text.as_bytes()).map_err(|problem| {
            Error::new(
                ErrorKind::Usage,
                format!(
                    "the value under the key `{}` in {} is not a usable token: {problem}",
                    self.key, self.shown
                ),
            )
            .with_hint("import a Salesforce token JSON under this key; nothing was changed")
            .with_remedy(Remedy::ImportToken)
        })
    }

    /// No token under the key.
    pub(crate) fn missing(&self) -> Error {
        Error::new(
            ErrorKind::Usage,
            format!(
                "the token store {} holds no token under the key `{}`",
                self.shown, self.key
            ),
        )
        .with_hint("import a token under this key first, or name the key that holds it")
        .with_remedy(Remedy::ImportToken)
    }

    /// A compare-and-set that found another version: a holder whose lock ran out.
    pub(crate) fn moved(&self) -> Error {
        Error::new(
            ErrorKind::Storage,
            format!(
                "the token under the key `{}` in {} was changed by another holder while this \
                 one held the lock (its lease ran out); the newer token was kept, and this \
                 write was not made",
                self.key, self.shown
            ),
        )
        .with_hint(
            "a holder's lease runs out when it is silent for longer than the lease: check the \
             network to the store, and that no client writes the token without sfauth's lock",
        )
    }

    /// Records the version a compare-and-set wrote in `lock`; `None` (the stored version
    /// moved) is [`moved`](Self::moved).
    pub(crate) fn written(&self, lock: &StoreLock, version: Option<u64>) -> Result<()> {
        match version {
            Some(version) => {
                lock.set_version(version);
                Ok(())
            }
            None => Err(self.moved()),
        }
    }

    /// Another holder kept the lock for longer than `waited`.
    pub(crate) fn lock_timed_out(&self, waited: Duration) -> Error {
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "timed out after {}s waiting for the lock on the key `{}` in {}: another holder \
                 is refreshing this token",
                waited.as_secs(),
                self.key,
                self.shown
            ),
        )
        .with_hint("run again once the other holder is done, or allow a longer wait")
        .with_origin(Origin::Storage)
    }

    /// The store cannot be reached; `why` says what happened.
    pub(crate) fn unreachable(&self, why: &str) -> Error {
        Error::new(
            ErrorKind::Unavailable,
            format!("cannot reach the token store {}: {why}", self.shown),
        )
        .with_hint(format!(
            "check that {} is up and reachable from here; nothing was sent to Salesforce and \
             the stored token is unchanged",
            self.server
        ))
        .with_origin(Origin::Storage)
    }

    /// The store refused the user or password; `detail` is the server's word for it.
    pub(crate) fn login_refused(&self, detail: &str) -> Error {
        Error::new(
            ErrorKind::Usage,
            format!("the token store {} refused the login: {detail}", self.shown),
        )
        .with_hint(
            "check the user and password of the store URL (a password is read from the URL, or \
             set apart from it, never from the config)",
        )
    }

    /// Any other failure of the store while `doing` something; `detail` is the server's.
    pub(crate) fn failed(&self, doing: &str, detail: &str) -> Error {
        Error::new(
            ErrorKind::Storage,
            format!("cannot {doing} the token store {}: {detail}", self.shown),
        )
    }
}

/// A lock's background task (a keep-alive, a lease renewal): stopped when the lock goes.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
