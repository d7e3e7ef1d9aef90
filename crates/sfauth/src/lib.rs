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
//! use sfauth::{FileStore, ConnectedApp, RefreshAction, Session};
//! # let org = sfauth_emulator::spawn(Default::default()).await.unwrap();
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("_salesforce.json");
//! # std::fs::write(&path, org.issue_token("ada@example.com").to_string()).unwrap();
//! # let client_id = org.config().client_id.clone();
//! let session = Session::builder(FileStore::new(&path), ConnectedApp::new(client_id)).build();
//! let outcome = session.refresh().await?;
//! if let RefreshAction::Refreshed { rotated, .. } = outcome.action {
//!     // With rotation on, the new refresh token is already in the file.
//!     assert!(rotated);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Log in
//!
//! An [`AppClient`] is one connected app at one login endpoint; each login flow is one of
//! its methods and ends in a [`Granted`] token (signature checked) to store. The web-server
//! login with PKCE, with the browser coming back to a [`RedirectListener`] on localhost:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
//! use std::time::Duration;
//! use sfauth::{AppClient, AuthorizeOptions, ConnectedApp, Endpoint, HttpConfig, LoginUrl,
//!              RedirectListener, SitePrefix};
//! # let listener = RedirectListener::bind("http://127.0.0.1:0/OauthRedirect").await?;
//! # let redirect_uri = format!("http://127.0.0.1:{}/OauthRedirect", listener.local_port());
//! # let org = sfauth_emulator::spawn(sfauth_emulator::Config {
//! #     redirect_uris: vec![redirect_uri.clone()], ..Default::default() }).await.unwrap();
//! # let login_url = org.url();
//! # let client_id = org.config().client_id.clone();
//! let endpoint = Endpoint::new(LoginUrl::parse(&login_url)?, SitePrefix::default());
//! let client = AppClient::new(ConnectedApp::new(client_id), endpoint, &HttpConfig::default())?;
//! let options = AuthorizeOptions::default().with_redirect_uri(redirect_uri);
//! // let listener = RedirectListener::bind(&options.redirect_uri).await?;
//! let login = client.authorize(&options)?;
//! // Open login.authorize_url() in a browser; here a test client plays the browser.
//! # let url = login.authorize_url().to_owned();
//! # tokio::spawn(async move {
//! #     let browser = reqwest::Client::builder().no_proxy().build().unwrap();
//! #     browser.get(url).send().await.unwrap();
//! # });
//! let code = listener.wait(&login, Duration::from_secs(300)).await?;
//! let granted = client.exchange_code(&login, &code).await?;
//! assert!(granted.token.refresh_token().is_some());
//! # Ok(()) }
//! ```
//!
//! The others: [`AppClient::jwt_bearer`] (a signed assertion, for servers and CI),
//! [`AppClient::client_credentials`], [`AppClient::password`], [`AppClient::device_start`]
//! (for hosts without a browser), and [`SfdxAuthUrl`] (the Salesforce CLI's `force://`
//! URL). Tokens from JWT, client-credentials and password logins have no refresh token: give
//! the [`Session`] a [`Renewal`] so it logs in again the same way when the token is stale.
//!
//! ## Where things are
//!
//! Every item is at the crate root. [`Token`] (every field, unknown keys kept in order);
//! [`Endpoint`] (login URL + site prefix); [`AppClient`] (one method per grant, plus revoke,
//! introspect and userinfo); [`SfdxAuthUrl`] (`force://` URLs); [`TokenStore`] and
//! [`FileStore`] (where tokens live, and the lock); [`HttpClient`] (timeouts, retries);
//! [`Session`] (expiry + single-flight + renewal) and the [`TokenSource`] trait it
//! implements. [`files`] and [`in_flight`] serve front ends (the CLI's config and signal
//! handling).
//!
//! ## Features
//!
//! `loopback` (on by default): [`RedirectListener`], the small web server on localhost that
//! receives the browser after a web login (it brings in axum). Without it, a web login
//! finishes with a pasted redirect URL ([`PendingLogin::code_from_redirect`]).

mod api;
mod app;
mod auth_url;
mod client;
mod endpoint;
mod error;
mod expiry;
mod flows;
mod forward;
mod http;
pub mod in_flight;
mod secret;
mod session;
mod signature;
mod source;
mod store;
mod token;

pub use api::{Api, ApiRequest};
pub use app::{AppClient, Granted};
pub use auth_url::SfdxAuthUrl;
pub use client::ConnectedApp;
pub use endpoint::{Endpoint, LoginUrl, SitePrefix};
pub use error::{Error, ErrorKind, OAuthError, Origin, Remedy, Result};
pub use expiry::{Expiry, ExpiryPolicy, ExpirySource};
pub use flows::code::{AuthorizeOptions, PendingLogin};
pub use flows::device::DeviceAuthorization;
pub use flows::introspect::Introspection;
pub use flows::jwt::JwtBearer;
#[cfg(feature = "loopback")]
pub use flows::loopback::RedirectListener;
pub use flows::pkce::Pkce;
pub use flows::userinfo::UserInfo;
pub use forward::{ForwardError, ForwardLimits, ForwardOutcome, Forwarded, Forwarder, Upstream};
pub use http::{ApiResponse, HttpClient, HttpConfig, RetryPolicy};
/// The HTTP client crate sfauth sends with, for [`HttpClient::from_reqwest`]: a
/// `reqwest::Client` built from this path is the version sfauth expects.
pub use reqwest;
pub use secret::{
    AccessToken, AuthorizationCode, ClientSecret, IssuedToken, PkceVerifier, RefreshToken, Secret,
};
pub use session::{RefreshAction, RefreshOutcome, Renewal, Session, SessionBuilder, SessionCounts};
pub use signature::SignatureCheck;
pub use source::TokenSource;
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
#[cfg(feature = "redis")]
pub use store::RedisStore;
pub use store::{
    FileStore, PostmanNames, PostmanStore, RefreshMark, SF_CLI_CLIENT_ID, ServerUrl, SfCliHome,
    SfCliOrg, SfCliRenewal, SfCliStore, SfCryptoVersion, SfKey, StoreApp, StoreKey, StoreLock,
    StoreOptions, StoreUrl, StoredKey, TokenStore,
};
#[cfg(feature = "keychain")]
pub use store::{KEYCHAIN_SERVICE, KeychainStore};
pub use token::{InvalidToken, Token};

/// Private files done right, for front ends that keep their own files beside the tokens
/// (a config, a lock): atomic 0600 writes, 0700 directories, and the advisory lock the file
/// store uses.
pub mod files {
    pub use crate::store::file::{
        create_private_dir, lock_file, lock_file_with_notice, lock_path_for, resolve_target,
        write_private_file,
    };
}
