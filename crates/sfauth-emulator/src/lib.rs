//! A Salesforce-compatible OAuth 2.0 token endpoint for offline tests.
//!
//! The emulator speaks the refresh-token grant the way Salesforce does (form-encoded
//! requests, `invalid_grant` bodies, refresh token rotation with family revocation on
//! replay, refusal of parallel refreshes of one token, signed responses without
//! `expires_in`) and serves the few REST resources a client touches to check its access
//! token. Faults can be queued to exercise a client's error handling.
//!
//! It also logs users in by the other flows, so a client's login code can be tested:
//! the web-server flow with PKCE (an authorize endpoint that answers at once, per
//! [`Config::consent`]), JWT bearer, client credentials, username-password and the device
//! flow; plus token introspection. Each login starts a new token family; refresh tokens
//! from the web-server and device flows work with the refresh grant like any other.
//! Every token-endpoint request, whatever its grant, counts in
//! [`Stats::token_requests`], consumes the next queued [`Fault`], and (when it issues
//! tokens) waits for the configured latency.
//!
//! It listens on `127.0.0.1` only. Routes, relative to [`Emulator::url`]:
//!
//! | Route | Purpose |
//! |---|---|
//! | `POST {site}/services/oauth2/token` | every grant (client credentials in the form or HTTP Basic), see below |
//! | `GET {site}/services/oauth2/authorize` | web-server flow: 302 to the callback with `code` (or `error`) and `state` |
//! | `POST {site}/services/oauth2/introspect` | token introspection, for the authenticated connected app |
//! | `POST`/`GET {site}/services/oauth2/revoke` | revoke a refresh token (and its family) or an access token |
//! | `GET /services/oauth2/userinfo`, `GET {site}/services/oauth2/userinfo` | UserInfo, needs `Authorization: Bearer` |
//! | `GET /services/data/` | API versions, needs `Authorization: Bearer` |
//! | `GET /id/{org_id}/{user_id}` | identity URL, needs `Authorization: Bearer` |
//! | `GET /__emulator/stats` | [`Stats`] as JSON |
//! | `POST /__emulator/faults` | queue faults: one [`Fault`] `SPEC` per line of the body (400 with the reason if one is bad, and then none is queued) |
//!
//! With [`Config::tls`] it serves https instead, with a leaf certificate for `127.0.0.1`
//! and `localhost` (or a broken one, see [`TlsLeaf`]) signed by a CA generated at start-up,
//! whose certificate is [`Emulator::ca_pem`].
//!
//! Every response is gzip-compressed when the request accepts gzip, however small.
//!
//! # Grants
//!
//! | Form | Answer on success | Refused with |
//! |---|---|---|
//! | `grant_type=refresh_token` | new access token, new refresh token if rotating | see [`Config::rotation`], [`Config::require_secret`] |
//! | `grant_type=authorization_code&code&redirect_uri&code_verifier` | tokens, a refresh token if the scope has `refresh_token` or `offline_access`, an `id_token` if it has `openid` | `invalid_grant`/`invalid authorization code` (unknown, used or expired code: codes work once, for 15 minutes), `invalid_grant`/`invalid code verifier` (PKCE verifier missing or wrong), `redirect_uri_mismatch`/`redirect_uri must match configuration` |
//! | `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion` | access token, no `refresh_token`, no `signature` | `invalid_grant`/`invalid assertion`, `invalid_client_id`/`client identifier invalid` (wrong `iss`), `invalid_grant`/`audience is invalid`, `invalid_grant`/`expired JWT`, `invalid_grant`/`expiration too far in the future` (more than 5 minutes ahead) |
//! | `grant_type=client_credentials` (secret required) | access token, no `refresh_token` | `invalid_client`/`invalid client credentials`, `invalid_grant`/`no client credentials user enabled` |
//! | `grant_type=password&username&password` (secret required) | access token, no `refresh_token`, no `scope` | `invalid_grant`/`authentication failure` (flow blocked, or wrong credentials) |
//! | `response_type=device_code` | `device_code`, `user_code`, `verification_uri` (`{url}{site}/setup/connect`), `interval` | |
//! | `grant_type=device&code=<device_code>` | tokens with a refresh token, after [`Config::device_approve_after_polls`] polls | `slow_down`, `authorization_pending`, `access_denied` (with [`Consent::Deny`]), `invalid_grant`/`invalid device code` |
//!
//! Anything else gets `unsupported_grant_type`. A wrong consumer key gets
//! `invalid_client_id`/`client identifier invalid`, a wrong secret (checked whenever one
//! is sent) `invalid_client`/`invalid client credentials`. All refusals are HTTP 400.
//!
//! The authorize endpoint answers 400 with a JSON error body, without redirecting, for an
//! unknown `client_id` (`invalid_client_id`), a missing `redirect_uri`
//! (`redirect_uri_missing`) or one not in [`Config::redirect_uris`]
//! (`redirect_uri_mismatch`). The user is `login_hint`, or `ada@example.com`; the device
//! flow's user is always `ada@example.com`.
//!
//! # Example
//!
//! ```
//! use sfauth_emulator::{Config, Emulator, Fault};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // `start` runs the server on its own runtime, so plain (non-async) tests can use it.
//! let emulator = Emulator::start(Config::default())?;
//! let login = emulator.issue_token("alice@example.com");
//! let refresh_token = login["refresh_token"].as_str().unwrap();
//!
//! // Make the next token request fail like a Salesforce maintenance window.
//! emulator.inject(Fault::Status {
//!     status: 503,
//!     content_type: "text/html".into(),
//!     body: "<html>down for maintenance</html>".into(),
//! });
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let client = reqwest::Client::new();
//! let refresh = || {
//!     client
//!         .post(emulator.token_url())
//!         .form(&[
//!             ("grant_type", "refresh_token"),
//!             ("client_id", emulator.config().client_id.as_str()),
//!             ("refresh_token", refresh_token),
//!         ])
//!         .send()
//! };
//! assert_eq!(runtime.block_on(refresh())?.status(), 503);
//! let answer: serde_json::Value = runtime.block_on(async { refresh().await?.json().await })?;
//! // Rotation is on by default: the answer carries the next refresh token.
//! assert_ne!(answer["refresh_token"], login["refresh_token"]);
//!
//! let stats = emulator.stats();
//! assert_eq!((stats.token_requests, stats.faults_served, stats.refreshes_served), (2, 1, 1));
//! # Ok(())
//! # }
//! ```

mod authorize;
mod client_auth;
mod config;
mod connection;
mod credentials;
mod denial;
mod fault;
mod faulty;
mod form;
mod grants;
mod introspect;
mod jwt;
mod reply;
mod rest;
mod revoke;
mod server;
mod state;
mod stats;
mod tls;
mod token_endpoint;
mod token_response;
mod twist;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::oneshot;

pub use crate::config::{Config, Consent};
pub use crate::fault::{DEFAULT_GZIP_BOMB_BYTES, Fault, ParseFaultError};
pub use crate::rest::query_row;
pub use crate::state::RestRequest;
pub use crate::stats::Stats;
pub use crate::tls::TlsLeaf;

use crate::state::Shared;
use crate::token_response::Shape;
use crate::twist::Twist;

/// Starts an emulator on a random port of `127.0.0.1`, served by the current tokio
/// runtime. Same as [`spawn_on`] with port 0.
///
/// # Errors
///
/// Fails if the port cannot be bound, or if `config.site` is not a plain path prefix
/// ([`io::ErrorKind::InvalidInput`]).
///
/// # Panics
///
/// Panics outside a tokio runtime.
pub async fn spawn(config: Config) -> io::Result<Emulator> {
    spawn_on(config, 0).await
}

/// Starts an emulator on `127.0.0.1:port` (0 picks a free port), served by the current
/// tokio runtime until the returned [`Emulator`] is dropped.
///
/// # Errors
///
/// Fails if the port cannot be bound, or if `config.site` is not a plain path prefix
/// ([`io::ErrorKind::InvalidInput`]).
///
/// # Panics
///
/// Panics outside a tokio runtime.
pub async fn spawn_on(config: Config, port: u16) -> io::Result<Emulator> {
    let config = validated(config)?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    Emulator::launch(config, listener, &Handle::current(), None)
}

fn validated(config: Config) -> io::Result<Config> {
    config
        .normalized()
        .map_err(|message| io::Error::new(io::ErrorKind::InvalidInput, message))
}

/// A running emulator. Dropping it (or calling [`Emulator::shutdown`]) stops serving.
///
/// The methods are the test's side door: they change state directly, without HTTP.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// Dropping this tells the accept loop to stop and abort open connections.
    _shutdown: oneshot::Sender<()>,
    /// The private runtime of an emulator made by [`Emulator::start`].
    runtime: Option<Runtime>,
    /// The CA certificate of an https emulator.
    ca_pem: Option<String>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("url", &self.shared.url)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Starts an emulator on a random port of `127.0.0.1`, served by a private
    /// multi-thread tokio runtime, for tests that are not async. Same as
    /// [`Emulator::start_on`] with port 0.
    ///
    /// Works inside an async context too; the runtime is shut down when the emulator
    /// is dropped.
    ///
    /// # Errors
    ///
    /// Fails if the port cannot be bound, the runtime cannot be built, or `config.site` is
    /// not a plain path prefix ([`io::ErrorKind::InvalidInput`]).
    pub fn start(config: Config) -> io::Result<Emulator> {
        Self::start_on(config, 0)
    }

    /// Like [`Emulator::start`], on `127.0.0.1:port` (0 picks a free port).
    ///
    /// # Errors
    ///
    /// As for [`Emulator::start`].
    pub fn start_on(config: Config, port: u16) -> io::Result<Emulator> {
        let config = validated(config)?;
        // Bind synchronously so errors surface here, then hand the socket to the runtime.
        // `Runtime::enter` (unlike `block_on`) is allowed inside another runtime.
        let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        std_listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sfauth-emulator")
            .enable_all()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let handle = runtime.handle().clone();
        Self::launch(config, listener, &handle, Some(runtime))
    }

    fn launch(
        config: Config,
        listener: TcpListener,
        handle: &Handle,
        runtime: Option<Runtime>,
    ) -> io::Result<Emulator> {
        let addr = listener.local_addr()?;
        let tls = config.tls.map(tls::generate).transpose()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{addr}");
        let shared = Arc::new(Shared::new(config, url));
        let (shutdown, shutdown_rx) = oneshot::channel();
        let router = server::router(Arc::clone(&shared));
        let (ca_pem, acceptor) = tls.map(|tls| (tls.ca_pem, tls.acceptor)).unzip();
        handle.spawn(server::serve(
            listener,
            Arc::clone(&shared),
            router,
            acceptor,
            shutdown_rx,
        ));
        tracing::debug!(url = %shared.url, "emulator listening");
        Ok(Emulator {
            shared,
            addr,
            _shutdown: shutdown,
            runtime,
            ca_pem,
        })
    }

    /// The base URL, `http://127.0.0.1:PORT` (`https://` with [`Config::tls`]): no
    /// trailing slash, no site prefix. It is also the `instance_url` of every token.
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    /// The PEM certificate of the CA that signed the https leaf, for a client to trust;
    /// `None` when serving plain http. A fresh CA is generated for every emulator.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The socket address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token endpoint: `{url}{site}/services/oauth2/token`.
    pub fn token_url(&self) -> String {
        format!(
            "{}{}/services/oauth2/token",
            self.shared.url, self.shared.config.site
        )
    }

    /// The authorize endpoint: `{url}{site}/services/oauth2/authorize`.
    pub fn authorize_url(&self) -> String {
        format!(
            "{}{}/services/oauth2/authorize",
            self.shared.url, self.shared.config.site
        )
    }

    /// The introspection endpoint: `{url}{site}/services/oauth2/introspect`.
    pub fn introspect_url(&self) -> String {
        format!(
            "{}{}/services/oauth2/introspect",
            self.shared.url, self.shared.config.site
        )
    }

    /// The revocation endpoint: `{url}{site}/services/oauth2/revoke`.
    pub fn revoke_url(&self) -> String {
        format!(
            "{}{}/services/oauth2/revoke",
            self.shared.url, self.shared.config.site
        )
    }

    /// The configuration in force (with `site` normalised: empty or `/prefix`).
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// A snapshot of the counters. To check how often the emulator was hit, name the
    /// counters that matter to [`assert_hits!`]:
    /// `assert_hits!(emulator, token_requests: 1, refreshes_served: 0)`.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats
    }

    /// Logs `username` in, as a completed web-server flow would, and returns the token
    /// response Salesforce would give: `access_token`, `refresh_token`, `signature`,
    /// `scope`, `instance_url`, `id`, `token_type`, `issued_at`.
    ///
    /// Each call starts a new token family. A username always maps to the same
    /// 18-character user id (`005...`), in every run.
    pub fn issue_token(&self, username: &str) -> serde_json::Value {
        let issued = self
            .shared
            .lock()
            .login(username, &self.shared.config.org_id);
        token_response::token_response(&self.shared, &issued, Shape::FULL, Twist::default())
    }

    /// Queues a fault; each token request consumes the oldest queued fault.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push_back(fault);
    }

    /// Queues a raw answer for the next REST resource request (`/services/data/...`), served
    /// whatever its token: e.g. 401 "This session is not valid for use with the REST API".
    pub fn inject_rest(&self, status: u16, body: &str) {
        self.shared
            .lock()
            .rest_faults
            .push_back((status, body.to_owned()));
    }

    /// The last REST resource request the emulator received.
    pub fn last_rest_request(&self) -> Option<RestRequest> {
        self.shared.lock().last_rest_request.clone()
    }

    /// Changes the processing time of subsequent refreshes.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Makes every access token issued so far invalid: the REST endpoints answer 401
    /// `INVALID_SESSION_ID` until the client refreshes. Refresh tokens are untouched.
    pub fn expire_access_tokens(&self) {
        self.shared.lock().expire_access_tokens();
    }

    /// Makes every outstanding authorization code and device code unusable, as if they
    /// had expired: redeeming or polling one gets `invalid_grant`.
    pub fn expire_authorization_codes(&self) {
        self.shared.lock().expire_codes();
    }

    /// Revokes the family of `refresh_token` (all its refresh and access tokens), as an
    /// admin or a password change would. Unknown tokens are ignored.
    pub fn revoke_refresh_token(&self, refresh_token: &str) {
        self.shared.lock().revoke_refresh_token(refresh_token);
    }

    /// Whether a refresh with `refresh_token` would be honoured now: the emulator issued
    /// it, it has not been rotated out, and its family has not been revoked (by a replay,
    /// a revocation request or [`Emulator::revoke_refresh_token`]). Lets a test tell, after
    /// killing a client mid-refresh, which token survived, without spending it.
    ///
    /// A token whose refresh is in progress counts as live. Asking changes nothing.
    ///
    /// ```
    /// use sfauth_emulator::{Config, Emulator};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let emulator = Emulator::start(Config::default())?;
    /// let login = emulator.issue_token("alice@example.com");
    /// let refresh_token = login["refresh_token"].as_str().unwrap();
    /// assert!(emulator.refresh_token_is_live(refresh_token));
    /// assert!(!emulator.refresh_token_is_live("5Aep861never.issued"));
    ///
    /// emulator.revoke_refresh_token(refresh_token);
    /// assert!(!emulator.refresh_token_is_live(refresh_token));
    /// # Ok(())
    /// # }
    /// ```
    pub fn refresh_token_is_live(&self, refresh_token: &str) -> bool {
        self.shared.lock().refresh_token_is_live(refresh_token)
    }

    /// Whether the REST endpoints accept `access_token` now: issued here, not revoked, and
    /// younger than [`Config::access_token_lifetime`].
    ///
    /// ```
    /// use sfauth_emulator::{Config, Emulator};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let emulator = Emulator::start(Config::default())?;
    /// let login = emulator.issue_token("alice@example.com");
    /// assert!(emulator.access_token_is_live(login["access_token"].as_str().unwrap()));
    /// assert!(!emulator.access_token_is_live("00Dnever!issued"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn access_token_is_live(&self, access_token: &str) -> bool {
        let lifetime = self.shared.config.access_token_lifetime;
        self.shared
            .lock()
            .access_token_user(access_token, lifetime)
            .is_some()
    }

    /// How many refreshes the emulator has received and not yet answered (each waits out
    /// [`Config::latency`] before it rotates). A refresh whose client went away still counts
    /// until it has been processed, so a test that kills a client waits for zero before it
    /// asks which token survived.
    ///
    /// ```
    /// use sfauth_emulator::{Config, Emulator};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let emulator = Emulator::start(Config::default())?;
    /// assert_eq!(emulator.refreshes_in_flight(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn refreshes_in_flight(&self) -> usize {
        self.shared.lock().refreshes_in_flight()
    }

    /// No connection is open and no refresh is in flight: everything any client sent has
    /// been processed. A connection a killed client left behind stays open until the
    /// emulator has read it to its end, so waiting for this (after the kill) is how a test
    /// knows the server has done all it will do.
    ///
    /// ```
    /// use sfauth_emulator::{Config, Emulator};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let emulator = Emulator::start(Config::default())?;
    /// assert!(emulator.is_idle());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_idle(&self) -> bool {
        self.shared
            .open_connections
            .load(std::sync::atomic::Ordering::SeqCst)
            == 0
            && self.refreshes_in_flight() == 0
    }

    /// Stops serving; same as dropping the emulator.
    ///
    /// With [`spawn`], the listener closes the next time the runtime polls the server
    /// task; with [`Emulator::start`], its runtime is shut down at once.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // `_shutdown` is dropped after this, which stops the accept loop of a `spawn`ed
        // emulator. A private runtime is torn down without blocking, because the drop
        // may happen inside an async test where blocking is not allowed.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
