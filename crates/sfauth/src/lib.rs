//! # sfauth: Salesforce OAuth 2.0 tokens, refreshed and stored safely
//!
//! sfauth does what Salesforce's own samples do: load a JSON token file, POST the refresh
//! grant to `{login host}{site}/services/oauth2/token`, write the new token back. It does it
//! so that nothing is lost or broken:
//!
//! - **Rotation-safe.** When Salesforce rotates the refresh token, the new one is stored,
//!   atomically, before the new access token is handed out. Replaying a rotated-out token
//!   makes Salesforce revoke the whole token family; sfauth never does.
//! - **One refresh at a time**, across tasks ([`Session`]) and processes (the store's lock).
//!   A caller that waited adopts the token the other one stored.
//! - **Verified.** The response's `signature` is checked whenever the client secret is known.
//! - **Honest errors.** Every [`Error`] has an [`ErrorKind`], a message and a hint, and a
//!   failed refresh leaves the stored token byte-for-byte as it was.
//! - **No leaks.** Tokens and secrets are [`Secret`]s; `Debug` never shows them.
//!
//! ## Refresh a token file (the seeds' job)
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
//! use sfauth::{FileStore, OAuthClient, RefreshAction, Session};
//! # let org = sfauth_emulator::spawn(Default::default()).await.unwrap();
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("_salesforce.json");
//! # std::fs::write(&path, org.issue_token("ada@example.com").to_string()).unwrap();
//! # let client_id = org.config().client_id.clone();
//! let session = Session::builder(FileStore::new(&path), OAuthClient::new(client_id)).build();
//! let outcome = session.refresh().await?;
//! if let RefreshAction::Refreshed { rotated, .. } = outcome.action {
//!     // With rotation on, the new refresh token is already in the file.
//!     assert!(rotated);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Modules
//!
//! [`token`] (every field, unknown keys kept in order), [`endpoint`] (login URL + site
//! prefix), [`flows`] (one module per grant), [`store`] (where tokens live, and the lock),
//! [`signature`], [`http`] (timeouts, retries), [`session`] (expiry + single-flight).

pub mod client;
pub mod endpoint;
pub mod error;
pub mod expiry;
pub mod flows;
pub mod http;
pub mod secret;
pub mod session;
pub mod signature;
pub mod store;
pub mod token;

pub use client::OAuthClient;
pub use endpoint::{Endpoint, LoginUrl, SitePrefix};
pub use error::{Error, ErrorKind, OAuthError, Result};
pub use expiry::ExpiryPolicy;
pub use http::{HttpConfig, RetryPolicy};
pub use secret::Secret;
pub use session::{RefreshAction, RefreshOutcome, Session, SessionBuilder};
pub use signature::SignatureCheck;
pub use store::{FileStore, StoreLock, TokenStore};
pub use token::Token;
