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
//! ## Log in
//!
//! Every login flow is a module of [`flows`] and ends in a [`Token`] to store. The web-server
//! login with PKCE, with the browser coming back to a [`RedirectListener`] on localhost:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
//! use std::time::Duration;
//! use sfauth::flows::code;
//! use sfauth::{AuthorizeOptions, Endpoint, HttpClient, HttpConfig, LoginUrl, OAuthClient,
//!              RedirectListener, SitePrefix};
//! # let listener = RedirectListener::bind("http://127.0.0.1:0/OauthRedirect").await?;
//! # let redirect_uri = format!("http://127.0.0.1:{}/OauthRedirect", listener.local_port());
//! # let org = sfauth_emulator::spawn(sfauth_emulator::Config {
//! #     redirect_uris: vec![redirect_uri.clone()], ..Default::default() }).await.unwrap();
//! # let login_url = org.url();
//! # let client_id = org.config().client_id.clone();
//! let endpoint = Endpoint::new(LoginUrl::parse(&login_url)?, SitePrefix::default());
//! let client = OAuthClient::new(client_id);
//! let options = AuthorizeOptions { redirect_uri, ..AuthorizeOptions::default() };
//! // let listener = RedirectListener::bind(&options.redirect_uri).await?;
//! let login = code::begin(&endpoint, &client, &options)?;
//! // Open login.authorize_url() in a browser; here a test client plays the browser.
//! # let url = login.authorize_url().to_owned();
//! # tokio::spawn(async move {
//! #     let browser = reqwest::Client::builder().no_proxy().build().unwrap();
//! #     browser.get(url).send().await.unwrap();
//! # });
//! let code = listener.wait(&login, Duration::from_secs(300)).await?;
//! let http = HttpClient::new(&HttpConfig::default(), endpoint.login_url())?;
//! let token = login.exchange(&http, &endpoint, &client, &code).await?;
//! assert!(token.refresh_token().is_some());
//! # Ok(()) }
//! ```
//!
//! The others: [`flows::jwt`] (a signed assertion, for servers and CI),
//! [`flows::client_credentials`], [`flows::password`], [`flows::device`] (for hosts without
//! a browser), and [`SfdxAuthUrl`] (the Salesforce CLI's `force://` URL). Tokens from JWT,
//! client-credentials and password logins have no refresh token: give the [`Session`] a
//! [`Renewal`] so it logs in again the same way when the token is stale.
//!
//! ## Modules
//!
//! [`token`] (every field, unknown keys kept in order), [`endpoint`] (login URL + site
//! prefix), [`flows`] (one module per grant, plus revoke and introspect), [`auth_url`]
//! (`force://` URLs), [`store`] (where tokens live, and the lock), [`signature`], [`http`]
//! (timeouts, retries), [`session`] (expiry + single-flight + renewal).

pub mod api;
pub mod auth_url;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod expiry;
pub mod flows;
pub mod http;
pub mod in_flight;
pub mod secret;
pub mod session;
pub mod signature;
pub mod store;
pub mod token;

pub use api::{Api, ApiRequest};
pub use auth_url::SfdxAuthUrl;
pub use client::OAuthClient;
pub use endpoint::{Endpoint, LoginUrl, SitePrefix};
pub use error::{Error, ErrorKind, OAuthError, Remedy, Result};
pub use expiry::ExpiryPolicy;
pub use flows::code::{AuthorizeOptions, DEFAULT_REDIRECT_URI, PendingLogin};
pub use flows::device::DeviceAuthorization;
pub use flows::introspect::Introspection;
pub use flows::jwt::JwtBearer;
pub use flows::loopback::RedirectListener;
pub use flows::pkce::Pkce;
pub use http::{ApiResponse, HttpClient, HttpConfig, RetryPolicy};
pub use secret::Secret;
pub use session::{RefreshAction, RefreshOutcome, Renewal, Session, SessionBuilder};
pub use signature::SignatureCheck;
pub use store::{FileStore, StoreLock, TokenStore};
pub use token::Token;
