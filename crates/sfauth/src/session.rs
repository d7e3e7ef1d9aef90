//! [`Session`]: hands out a valid access token, refreshing it at most once at a time.
//!
//! The token flow: read the store without a lock; fresh by the expiry policy?
//! done, with no HTTP client built. Stale: take the in-process flight lock, then the store's
//! lock, and read again: if another task or process refreshed meanwhile, adopt its token.
//! Otherwise renew it (the refresh grant by default; see [`Renewal`] for tokens that have no
//! refresh token), merge the answer into the stored token (keeping the refresh token unless a
//! new one came back), save it atomically, and only then hand it out.
//!
//! Two rules protect a rotated refresh token:
//!
//! - **A refresh that was sent runs to its save.** The locked part (store lock, re-read,
//!   renewal, save) runs in a detached task that owns what it needs; the caller only awaits
//!   it. A caller dropped by a timeout, a `select!` or an aborted task stops waiting, not the
//!   refresh. Before anything is sent, the store proves it can save
//!   ([`TokenStore::prepare`]).
//! - **A refresh token that may be spent is not sent again while rotation may be on.** After
//!   each refresh the token records whether Salesforce rotated it ([`Token::ROTATION_KEY`]). Unless
//!   it is known not to rotate, an answer that leaves open whether the refresh was served (a
//!   lost answer, a gateway error, "already being processed") makes the session re-read the
//!   store and adopt what another process saved, or report; never resend.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use backon::BackoffBuilder;

use crate::app::{AppClient, Granted};
use crate::client::ConnectedApp;
use crate::endpoint::{Endpoint, LoginUrl, SitePrefix};
use crate::error::{Error, ErrorKind, Origin, Result, Retry};
use crate::expiry::{ExpiryPolicy, INTROSPECTED_EXP_KEY};
use crate::flows::jwt::JwtBearer;
use crate::http::{HttpClient, HttpConfig};
use crate::in_flight::SendGuard;
use crate::secret::{AccessToken, RefreshToken, Secret};
use crate::signature::SignatureCheck;
use crate::store::{RefreshMark, StoreLock, TokenStore};
use crate::token::{ROTATION_KEY, Token};

/// What a refresh call did.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshAction {
    /// This call refreshed the token with Salesforce.
    Refreshed {
        /// Whether Salesforce rotated the refresh token (and the new one was stored).
        rotated: bool,
        /// What the signature check found.
        signature: SignatureCheck,
    },
    /// Another task or process refreshed while this one waited; its token was adopted.
    Adopted,
}

/// The token after a refresh call, and what the call did.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct RefreshOutcome {
    /// The stored token, now current.
    pub token: Token,
    /// What happened.
    pub action: RefreshAction,
}

/// How a session gets a new access token when the stored one is stale.
///
/// Tokens from the web, device and SFDX-auth-URL logins carry a refresh token; the others
/// do not, and are renewed by logging in again the same way, with no user present.
///
/// ```
/// use sfauth::{Renewal, Secret};
/// let renewal = Renewal::Password {
///     username: "ada@example.com".into(),
///     password: Secret::from("hunter2TOKEN"),
/// };
/// assert!(!format!("{renewal:?}").contains("hunter2"));
/// assert!(matches!(Renewal::default(), Renewal::RefreshToken));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
pub enum Renewal {
    /// The refresh-token grant with the stored refresh token (rotation-safe).
    #[default]
    RefreshToken,
    /// Sign a new JWT bearer assertion.
    JwtBearer(JwtBearer),
    /// Request again with the client credentials (the session's client must have its
    /// secret). Without a configured login URL this goes to the token's `instance_url`,
    /// the My Domain, since the generic login hosts do not serve this grant.
    ClientCredentials,
    /// Log in again with the username and password (+ security token).
    Password {
        /// The Salesforce username.
        username: String,
        /// The password, followed by the security token when one is needed.
        password: Secret<String>,
    },
    /// The store holds an adopted access token only: it cannot be renewed, and a stale one
    /// needs a new login.
    None,
}

impl Renewal {
    /// Renews `stored` once with `client`: the refresh grant with its refresh token, or the
    /// login this renewal repeats. This only asks Salesforce; a [`Session`] also locks the
    /// store, adopts another process's renewal and saves the answer before handing it out.
    ///
    /// A refresh that may have reached Salesforce is sent again only when `stored` is known
    /// not to rotate ([`Token::known_not_to_rotate`]).
    pub async fn renew(&self, client: &AppClient, stored: &Token) -> Result<Granted> {
        match self {
            Renewal::RefreshToken => {
                let Some(refresh_token) = stored.refresh_token() else {
                    return Err(no_refresh_token("the token"));
                };
                client
                    .refresh_once(&refresh_token, stored.known_not_to_rotate())
                    .await
            }
            Renewal::JwtBearer(jwt) => client.jwt_bearer(jwt).await,
            Renewal::ClientCredentials => client.client_credentials().await,
            Renewal::Password { username, password } => client.password(username, password).await,
            Renewal::None => Err(not_renewable("the token")),
        }
    }
}

fn no_refresh_token(what: &str) -> Error {
    Error::new(
        ErrorKind::LoginRequired,
        format!("{what} has no refresh_token, so it cannot be refreshed"),
    )
    .with_hint("log in again with a flow that grants the refresh_token scope")
    .with_origin(Origin::Input)
}

fn not_renewable(what: &str) -> Error {
    Error::new(
        ErrorKind::LoginRequired,
        format!("{what} holds only an access token, which sfauth cannot renew"),
    )
    .with_hint(
        "log in again with a flow that can renew it: the web or device login (refresh token), JWT bearer, or client credentials",
    )
    .with_origin(Origin::Input)
}

/// Builds a [`Session`].
#[derive(Debug)]
pub struct SessionBuilder {
    store: Arc<dyn TokenStore>,
    client: ConnectedApp,
    login_url: Option<LoginUrl>,
    site: SitePrefix,
    expiry: ExpiryPolicy,
    http: HttpConfig,
    renewal: Renewal,
    introspect: bool,
    http_client: Option<HttpClient>,
}

impl SessionBuilder {
    /// Refresh at this login URL. Without one, see [`Endpoint::for_token`].
    pub fn login_url(mut self, login_url: LoginUrl) -> Self {
        self.login_url = Some(login_url);
        self
    }

    /// The Experience Cloud site prefix.
    pub fn site(mut self, site: SitePrefix) -> Self {
        self.site = site;
        self
    }

    /// When a token is too old to hand out.
    pub fn expiry(mut self, expiry: ExpiryPolicy) -> Self {
        self.expiry = expiry;
        self
    }

    /// Timeouts, retries, extra CA.
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// Sends through `client` (the caller's own, see [`HttpClient::from_reqwest`]) instead
    /// of building one from the [`http`](Self::http) settings on the first refresh.
    pub fn http_client(mut self, client: HttpClient) -> Self {
        self.http_client = Some(client);
        self
    }

    /// After each renewal, ask the introspection endpoint for the access token's real
    /// expiry (one call per renewal; needs the client secret). Off by default.
    pub fn introspect_expiry(mut self, on: bool) -> Self {
        self.introspect = on;
        self
    }

    /// How to renew a stale token; [`Renewal::RefreshToken`] unless set.
    pub fn renewal(mut self, renewal: Renewal) -> Self {
        self.renewal = renewal;
        self
    }

    /// The session.
    pub fn build(self) -> Session {
        Session {
            inner: Arc::new(Inner {
                store: self.store,
                client: self.client,
                login_url: self.login_url,
                site: self.site,
                expiry: self.expiry,
                http_config: self.http,
                renewal: self.renewal,
                introspect: self.introspect,
                http: self.http_client.map_or_else(OnceLock::new, OnceLock::from),
                flight: Arc::new(tokio::sync::Mutex::new(())),
                current: Mutex::new(None),
                refreshed: AtomicU64::new(0),
                adopted: AtomicU64::new(0),
            }),
        }
    }
}

/// A token source for one org: cheap to clone, shareable across tasks.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{FileStore, ConnectedApp, Session};
/// // An emulated org: a Salesforce-compatible token endpoint on 127.0.0.1.
/// let org = sfauth_emulator::spawn(Default::default()).await.unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("_salesforce.json");
/// std::fs::write(&path, org.issue_token("ada@example.com").to_string()).unwrap();
///
/// let session = Session::builder(
///     FileStore::new(&path),
///     ConnectedApp::new(org.config().client_id.clone()),
/// )
/// .build();
/// let outcome = session.refresh().await?;      // refresh now, and save
/// let token = session.access_token().await?;   // fresh: served from memory
/// assert_eq!(token, outcome.token.access_token());
/// assert_eq!(org.stats().refreshes_served, 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Session {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn TokenStore>,
    client: ConnectedApp,
    login_url: Option<LoginUrl>,
    site: SitePrefix,
    expiry: ExpiryPolicy,
    http_config: HttpConfig,
    renewal: Renewal,
    introspect: bool,
    /// Built on the first refresh: the fresh path never pays for TLS set-up.
    http: OnceLock<HttpClient>,
    /// One refresh at a time in this process; the store lock does it across processes.
    /// Shared so the detached refresh task can own its guard.
    flight: Arc<tokio::sync::Mutex<()>>,
    /// The newest token this session has seen.
    current: Mutex<Option<Token>>,
    /// What its refreshes did, for [`Session::counts`].
    refreshed: AtomicU64,
    adopted: AtomicU64,
}

/// What a session's refreshes have done since it was built: for a long-lived program's
/// metrics. A refresh whose caller went away still counts once it is saved.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// # use sfauth::{FileStore, ConnectedApp, Session};
/// # let org = sfauth_emulator::spawn(Default::default()).await.unwrap();
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("_salesforce.json");
/// # std::fs::write(&path, org.issue_token("ada@example.com").to_string()).unwrap();
/// # let session = Session::builder(FileStore::new(&path), ConnectedApp::new(org.config().client_id.clone())).build();
/// session.refresh().await?;
/// assert_eq!(session.counts().refreshed, 1);
/// assert_eq!(session.counts().adopted, 0);
/// # Ok(()) }
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCounts {
    /// Refreshes this session sent to Salesforce and saved.
    pub refreshed: u64,
    /// Refreshes it did not send because another task or process had just made one: it
    /// adopted that token.
    pub adopted: u64,
}

impl Session {
    /// Starts building a session over `store` for the connected app `client`.
    pub fn builder(store: impl TokenStore + 'static, client: ConnectedApp) -> SessionBuilder {
        SessionBuilder {
            store: Arc::new(store),
            client,
            login_url: None,
            site: SitePrefix::default(),
            expiry: ExpiryPolicy::default(),
            http: HttpConfig::default(),
            renewal: Renewal::default(),
            introspect: false,
            http_client: None,
        }
    }

    /// The expiry policy in force.
    pub fn expiry(&self) -> ExpiryPolicy {
        self.inner.expiry
    }

    /// The store, for messages.
    pub fn store(&self) -> &dyn TokenStore {
        self.inner.store.as_ref()
    }

    /// The endpoint a refresh of `token` goes to.
    pub fn endpoint_for(&self, token: &Token) -> Result<Endpoint> {
        match &self.inner.login_url {
            Some(login) => Ok(Endpoint::new(login.clone(), self.inner.site.clone())),
            None => Endpoint::for_token(token, self.inner.site.clone()),
        }
    }

    /// The stored token as it is, fresh or not, without refreshing.
    pub async fn current(&self) -> Result<Token> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let token = self.inner.store.load().await?;
        self.remember(&token);
        Ok(token)
    }

    /// A token whose access token is fresh by the expiry policy, refreshed (once, however
    /// many callers ask) if needed.
    ///
    /// Cancel-safe: dropping the future (a timeout, a `select!`, an aborted task) does not
    /// stop a refresh that has started; it still saves its answer, and the next call uses it.
    pub async fn token(&self) -> Result<Token> {
        let seen = self.current().await?;
        if self.inner.expiry.is_fresh(&seen) {
            return Ok(seen);
        }
        Ok(self.refresh_from(&seen, false).await?.token)
    }

    /// A fresh access token. See [`token`](Session::token); cancel-safe likewise.
    pub async fn access_token(&self) -> Result<AccessToken> {
        Ok(self.token().await?.access_token())
    }

    /// Refreshes now. Callers that started together make one refresh: those that waited
    /// for it adopt its token (the outcome says [`RefreshAction::Adopted`]).
    ///
    /// Cancel-safe: once the refresh has started, dropping the future does not stop it; it
    /// runs to its save in a task of its own.
    pub async fn refresh(&self) -> Result<RefreshOutcome> {
        let seen = self.current().await?;
        self.refresh_from(&seen, true).await
    }

    /// Call after the API rejected `rejected` with 401 `INVALID_SESSION_ID`: refreshes if that
    /// token is still the current one, and returns the current token either way. A burst of
    /// 401s for one token makes one refresh; a 401 for a token already replaced makes none.
    /// Cancel-safe, as [`refresh`](Session::refresh) is.
    pub async fn invalidate(&self, rejected: &AccessToken) -> Result<Token> {
        let current = self.current().await?;
        if current.access_token() != *rejected {
            return Ok(current);
        }
        Ok(self.refresh_from(&current, true).await?.token)
    }

    fn cached(&self) -> Option<Token> {
        self.inner
            .current
            .lock()
            .expect("token cache poisoned")
            .clone()
    }

    fn remember(&self, token: &Token) {
        *self.inner.current.lock().expect("token cache poisoned") = Some(token.clone());
    }

    /// What this session's refreshes have done so far.
    pub fn counts(&self) -> SessionCounts {
        SessionCounts {
            refreshed: self.inner.refreshed.load(Ordering::Relaxed),
            adopted: self.inner.adopted.load(Ordering::Relaxed),
        }
    }

    fn adopt(&self, token: Token) -> RefreshOutcome {
        self.inner.adopted.fetch_add(1, Ordering::Relaxed);
        self.remember(&token);
        RefreshOutcome {
            token,
            action: RefreshAction::Adopted,
        }
    }

    /// Whether `candidate` replaces `seen`: another access token, and with `force` any
    /// newer one, otherwise only a fresh one.
    fn replaces(&self, candidate: &Token, seen: &Token, force: bool) -> bool {
        candidate.access_token() != seen.access_token()
            && (force || self.inner.expiry.is_fresh(candidate))
    }

    /// Refreshes `seen` unless someone else already replaced it.
    ///
    /// The caller waits for the flight lock in its own future (dropping it then changes
    /// nothing); from there on, the work runs in a detached task that owns the flight guard,
    /// so a second caller still waits for it and a dropped caller cannot stop it between
    /// send and save.
    async fn refresh_from(&self, seen: &Token, force: bool) -> Result<RefreshOutcome> {
        let flight = Arc::clone(&self.inner.flight).lock_owned().await;
        if let Some(current) = self.cached().filter(|t| self.replaces(t, seen, force)) {
            return Ok(self.adopt(current));
        }
        let session = self.clone();
        let seen = seen.clone();
        let task = tokio::spawn(async move {
            let _flight = flight;
            let outcome = session.refresh_detached(&seen, force).await;
            if let Ok(RefreshOutcome {
                action: RefreshAction::Refreshed { .. },
                ..
            }) = &outcome
            {
                session.inner.refreshed.fetch_add(1, Ordering::Relaxed);
            }
            outcome
        });
        // A panic's payload may hold anything, so it is not shown.
        task.await.map_err(|_| {
            Error::internal("the refresh task stopped unexpectedly (a bug in sfauth)")
        })?
    }

    /// The locked part of a refresh, run in its own task by [`refresh_from`]. The lock is
    /// released explicitly once done: a lease on a server would otherwise outlive it.
    async fn refresh_detached(&self, seen: &Token, force: bool) -> Result<RefreshOutcome> {
        let store = &self.inner.store;
        let lock = store.lock().await?;
        let outcome = self.refresh_under(&lock, seen, force).await;
        if let Err(e) = store.release(lock).await {
            tracing::debug!(error = %e, "releasing the store's lock failed; it runs out on its own");
        }
        outcome
    }

    async fn refresh_under(
        &self,
        lock: &StoreLock,
        seen: &Token,
        force: bool,
    ) -> Result<RefreshOutcome> {
        let stored = self.inner.store.load().await?;
        if self.replaces(&stored, seen, force) {
            tracing::debug!("adopting a token another process refreshed");
            return Ok(self.adopt(stored));
        }
        if let Some(mark) = lock.interrupted() {
            self.check_interrupted(mark, &stored).await?;
        }
        self.refresh_locked(lock, stored).await
    }

    /// An earlier holder sent a refresh of `stored` and never saved its answer. With
    /// rotation, Salesforce may have spent the stored refresh token for it: sending it again
    /// would be a reuse, which revokes the whole family. Go on only if introspection says
    /// the refresh token is still live; wait first until the marked request has surely ended.
    async fn check_interrupted(&self, mark: &RefreshMark, stored: &Token) -> Result<()> {
        let store = self.inner.store.describe();
        let (Renewal::RefreshToken, Some(refresh_token)) =
            (&self.inner.renewal, stored.refresh_token())
        else {
            return Ok(());
        };
        if stored.known_not_to_rotate() {
            return Ok(());
        }
        let left = mark.time_left();
        if !left.is_zero() {
            tracing::info!(
                holder = mark.holder(),
                ?left,
                "waiting for an interrupted refresh to end at Salesforce"
            );
            tokio::time::sleep(left).await;
        }
        let started = httpdate::fmt_http_date(mark.started());
        if self.inner.client.client_secret().is_none() {
            return Err(Error::new(
                ErrorKind::LoginRequired,
                format!(
                    "a refresh of {store} sent by {} at {started} never saved its answer \
                     (that process stopped, or kept the answer to itself), so the stored \
                     refresh token may be spent; without the client secret sfauth cannot ask \
                     Salesforce whether it is, and it was not sent again",
                    mark.holder()
                ),
            )
            .with_hint(
                "give the connected app's client secret, so that sfauth can check the refresh \
                 token by introspection; or log in again, or import a new token into the \
                 store",
            )
            .with_remedy(crate::error::Remedy::ClientSecret)
            .with_origin(Origin::Storage));
        }
        let client = self.client_for(self.endpoint_for(stored)?)?;
        let answer = client.introspect(&refresh_token).await.map_err(|e| {
            let message = format!(
                "{e}; sfauth asked because a refresh of {store} sent by {} at {started} never \
                 saved its answer, and the refresh token was not sent again",
                mark.holder()
            );
            e.with_message(message)
        })?;
        if answer.active {
            tracing::info!(
                holder = mark.holder(),
                "an interrupted refresh did not spend the refresh token; refreshing"
            );
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::LoginRequired,
            format!(
                "a refresh of {store} sent by {} at {started} never saved its answer \
                 (Salesforce rotated the refresh token, and the new one never reached this \
                 store), and Salesforce says the stored refresh token is no longer valid: the \
                 token family is lost",
                mark.holder()
            ),
        )
        .with_hint(
            "log in again (or import a new token into the store); the stored token was left as \
             it was, and the spent refresh token was not sent again",
        ))
    }

    /// The app client for `endpoint`, over the session's one HTTP client (built on first
    /// use: the fresh path never pays for TLS set-up).
    fn client_for(&self, endpoint: Endpoint) -> Result<AppClient> {
        let http = match self.inner.http.get() {
            Some(http) => http,
            None => {
                let http = HttpClient::new(&self.inner.http_config, endpoint.login_url())?;
                self.inner.http.get_or_init(|| http)
            }
        };
        Ok(AppClient::with_http(
            self.inner.client.clone(),
            endpoint,
            http.clone(),
        ))
    }

    /// How this session renews a stale token.
    pub fn renewal(&self) -> &Renewal {
        &self.inner.renewal
    }

    async fn refresh_locked(&self, lock: &StoreLock, stored: Token) -> Result<RefreshOutcome> {
        let store = &self.inner.store;
        let refresh_token = match &self.inner.renewal {
            Renewal::RefreshToken => match stored.refresh_token() {
                Some(token) => Some(token),
                None => return Err(no_refresh_token(&store.describe())),
            },
            Renewal::None => return Err(not_renewable(&store.describe())),
            _ => None,
        };
        // Before anything is sent: a renewal whose answer cannot be stored would lose it
        // (with rotation, the only valid refresh token).
        store.prepare(lock).await?;
        // From here until the answer is saved, stopping could lose a rotated token.
        let sending = SendGuard::begin();
        match (&self.inner.renewal, refresh_token) {
            (Renewal::RefreshToken, Some(refresh_token)) => {
                self.refresh_with_token(lock, stored, &refresh_token, sending)
                    .await
            }
            (renewal, _) => self.log_in_again(lock, stored, renewal, sending).await,
        }
    }

    /// Renews a token that has no refresh token by running its grant again, and merges the
    /// answer into the stored token.
    async fn log_in_again(
        &self,
        lock: &StoreLock,
        stored: Token,
        renewal: &Renewal,
        sending: SendGuard,
    ) -> Result<RefreshOutcome> {
        let endpoint = match (renewal, &self.inner.login_url) {
            (Renewal::ClientCredentials, None) => {
                let login = LoginUrl::parse(stored.instance_url()).map_err(|e| {
                    Error::new(
                        ErrorKind::Usage,
                        format!("cannot renew at the token's instance_url: {e}"),
                    )
                    .with_hint("set the login URL to the org's My Domain")
                })?;
                Endpoint::new(login, self.inner.site.clone())
            }
            _ => self.endpoint_for(&stored)?,
        };
        let client = self.client_for(endpoint)?;
        let granted = renewal.renew(&client, &stored).await?;
        self.finish(lock, stored, granted, sending, false).await
    }

    /// Merges a renewal answer into the stored token and saves it; then, when the session
    /// is set to, asks the introspection endpoint for the real expiry and records it.
    /// `record_rotation` notes in the token whether the refresh token rotated (refresh
    /// grant only).
    async fn finish(
        &self,
        lock: &StoreLock,
        stored: Token,
        granted: Granted,
        sending: SendGuard,
        record_rotation: bool,
    ) -> Result<RefreshOutcome> {
        let store = &self.inner.store;
        let mut merged = stored;
        let rotated = merged.merge_refresh(&granted.token);
        // The recorded expiry belonged to the old access token.
        merged.remove(INTROSPECTED_EXP_KEY);
        if record_rotation {
            merged.set(ROTATION_KEY, if rotated { "true" } else { "false" });
        }
        // Invariant 1: the (possibly rotated) refresh token is on disk before the new access
        // token is used for anything, introspection included.
        self.save_with_retries(lock, &merged)
            .await
            .map_err(|e| save_failed(e, rotated))?;
        drop(sending);
        if self.inner.introspect
            && let Some(exp) = self.introspected_exp(&merged).await
        {
            merged.set(INTROSPECTED_EXP_KEY, exp.to_string());
            // The token is already safe on disk; losing this second write loses only the
            // better expiry estimate.
            if let Err(e) = store.save(lock, &merged).await {
                tracing::warn!(error = %e, "could not record the introspected expiry");
                merged.remove(INTROSPECTED_EXP_KEY);
            }
        }
        self.remember(&merged);
        Ok(RefreshOutcome {
            token: merged,
            action: RefreshAction::Refreshed {
                rotated,
                signature: granted.signature,
            },
        })
    }

    /// The access token's `exp` from the introspection endpoint, or `None` (with a log line)
    /// when it cannot be had: the expiry then falls back to the session timeout.
    async fn introspected_exp(&self, token: &Token) -> Option<u64> {
        self.inner.client.client_secret()?;
        let endpoint = self.endpoint_for(token).ok()?;
        let client = self.client_for(endpoint).ok()?;
        match client.introspect(&token.access_token()).await {
            Ok(answer) if answer.active => answer.exp,
            Ok(_) => {
                tracing::warn!("introspection says the new access token is not active");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "introspection failed; using the session timeout");
                None
            }
        }
    }

    /// Saves `token`, trying again a couple of times after short pauses: the refresh is
    /// done, and a passing fault (a full disk being cleaned, a busy store) should not lose it.
    async fn save_with_retries(&self, lock: &StoreLock, token: &Token) -> Result<()> {
        let mut pauses = self.inner.store.save_retry_pauses().iter().copied();
        loop {
            match self.inner.store.save(lock, token).await {
                Ok(()) => return Ok(()),
                Err(e) => match pauses.next() {
                    Some(pause) => {
                        tracing::warn!(error = %e, ?pause, "saving the refreshed token failed; retrying");
                        tokio::time::sleep(pause).await;
                    }
                    None => return Err(e),
                },
            }
        }
    }

    /// The stored token, if another process replaced `stored` meanwhile.
    async fn replaced_in_store(&self, stored: &Token) -> Option<Token> {
        match self.inner.store.load().await {
            Ok(again) if again.access_token() != stored.access_token() => Some(again),
            _ => None,
        }
    }

    async fn refresh_with_token(
        &self,
        lock: &StoreLock,
        stored: Token,
        refresh_token: &RefreshToken,
        sending: SendGuard,
    ) -> Result<RefreshOutcome> {
        let endpoint = self.endpoint_for(&stored)?;
        let client = self.client_for(endpoint)?;
        // Only a token known not to rotate may be sent again after an answer that leaves
        // open whether it was served: with rotation, a second use of a spent refresh token
        // revokes the whole token family.
        let resend = stored.known_not_to_rotate();
        if !resend {
            // Durable before anything is sent: if this process dies before it saves, the
            // next holder knows the refresh token may be spent.
            self.inner
                .store
                .mark_refreshing(lock, &RefreshMark::now(self.request_time()))
                .await?;
        }
        let outcome = self
            .send_refresh(lock, stored, &client, refresh_token, resend, sending)
            .await;
        if let Err(e) = &outcome
            && !resend
            && !e.is_ambiguous()
        {
            // An answer came (or nothing left): the stored refresh token is as it was.
            if let Err(clear) = self.inner.store.clear_mark(lock).await {
                tracing::warn!(error = %clear, "could not clear the refresh mark");
            }
        }
        outcome
    }

    /// The longest the one try of a refresh that may reach Salesforce can take: a try is
    /// sent again only when the answer proves it was not processed (see
    /// [`Renewal::renew`]), so no later try can rotate the token.
    fn request_time(&self) -> Duration {
        let http = &self.inner.http_config;
        http.timeout.saturating_add(http.connect_timeout)
    }

    async fn send_refresh(
        &self,
        lock: &StoreLock,
        stored: Token,
        client: &AppClient,
        refresh_token: &RefreshToken,
        resend: bool,
        sending: SendGuard,
    ) -> Result<RefreshOutcome> {
        let mut waits = self.inner.http_config.retry.backoff().build();
        loop {
            match client.refresh_once(refresh_token, resend).await {
                Ok(granted) => return self.finish(lock, stored, granted, sending, true).await,
                Err(e) if e.retry == Retry::InFlightElsewhere => {
                    // Another client holds this refresh token at Salesforce right now. If it
                    // shares this store it will save its result: wait, re-read, adopt.
                    let Some(wait) = waits.next() else {
                        return Err(if resend { e } else { in_flight_elsewhere(e) });
                    };
                    tracing::debug!(?wait, "token request already being processed; waiting");
                    tokio::time::sleep(wait).await;
                    if let Some(again) = self.replaced_in_store(&stored).await {
                        return Ok(self.adopt(again));
                    }
                    if !resend {
                        // Not sent again: keep waiting for a saved result, then report.
                        for wait in waits.by_ref() {
                            tokio::time::sleep(wait).await;
                            if let Some(again) = self.replaced_in_store(&stored).await {
                                return Ok(self.adopt(again));
                            }
                        }
                        return Err(in_flight_elsewhere(e));
                    }
                }
                Err(e) if e.is_ambiguous() => {
                    // The refresh may have been served. Only adopt what is stored, else
                    // report.
                    if let Some(again) = self.replaced_in_store(&stored).await {
                        return Ok(self.adopt(again));
                    }
                    return Err(unanswered(e, resend));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// "Already being processed" while this process held the store's lock throughout: the
/// other refresh comes from a client that does not take sfauth's lock.
fn in_flight_elsewhere(e: Error) -> Error {
    let message = format!(
        "{e}; no process sharing this token store saved a new token while sfauth waited, \
         and the refresh was not sent again"
    );
    e.with_message(message).with_hint(
        "a client outside sfauth's lock is using the same refresh token: another tool, or \
         sfauth on another machine with its own copy of the token file. With refresh-token \
         rotation, two clients sharing one refresh token revoke each other; let that one \
         finish, or give each client its own login",
    )
}

/// An answer that leaves open whether Salesforce served the refresh, after the store was
/// re-read and held nothing newer.
fn unanswered(e: Error, resent: bool) -> Error {
    if resent {
        return e;
    }
    let message = format!("{e}; the refresh was not sent again");
    e.with_message(message).with_hint(
        "the refresh may have reached Salesforce without its answer coming back; sfauth did \
         not send it again, because with refresh-token rotation a second use of a spent \
         refresh token revokes it. Run again later; if Salesforce then says the login is \
         required, log in again",
    )
}

fn save_failed(e: Error, rotated: bool) -> Error {
    let (message, hint) = if rotated {
        (
            "the token was refreshed and Salesforce rotated the refresh token, but the new one \
             could not be saved, so it is lost",
            "the stored refresh token is now spent: fix what the cause below says (a full disk, \
             permissions, a store that is down), then log in again",
        )
    } else {
        (
            "the token was refreshed but could not be saved; the stored token is unchanged \
             and still usable",
            "fix what the cause below says (a full disk, permissions, a store that is down), \
             then run again",
        )
    };
    Error::new(ErrorKind::Storage, message)
        .with_hint(hint)
        .with_source(e)
}
