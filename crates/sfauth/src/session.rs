//! [`Session`]: hands out a valid access token, refreshing it at most once at a time.
//!
//! The token flow (DESIGN.md): read the store without a lock; fresh by the expiry policy?
//! done, with no HTTP client built. Stale: take the in-process flight lock, then the store's
//! lock, and read again: if another task or process refreshed meanwhile, adopt its token.
//! Otherwise renew it (the refresh grant by default; see [`Renewal`] for tokens that have no
//! refresh token), merge the answer into the stored token (keeping the refresh token unless a
//! new one came back), save it atomically, and only then hand it out.

use std::sync::{Arc, Mutex, OnceLock};

use backon::BackoffBuilder;

use crate::client::OAuthClient;
use crate::endpoint::{Endpoint, LoginUrl, SitePrefix};
use crate::error::{Error, ErrorKind, Result, Retry};
use crate::expiry::{ExpiryPolicy, INTROSPECTED_EXP_KEY};
use crate::flows;
use crate::flows::jwt::JwtBearer;
use crate::http::{HttpClient, HttpConfig};
use crate::secret::Secret;
use crate::signature::{self, SignatureCheck};
use crate::store::{StoreLock, TokenStore};
use crate::token::Token;

/// What a refresh call did.
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

/// Builds a [`Session`].
#[derive(Debug)]
pub struct SessionBuilder {
    store: Arc<dyn TokenStore>,
    client: OAuthClient,
    login_url: Option<LoginUrl>,
    site: SitePrefix,
    expiry: ExpiryPolicy,
    http: HttpConfig,
    renewal: Renewal,
    introspect: bool,
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
                http: OnceLock::new(),
                flight: tokio::sync::Mutex::new(()),
                current: Mutex::new(None),
            }),
        }
    }
}

/// A token source for one org: cheap to clone, shareable across tasks.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{FileStore, OAuthClient, Session};
/// // An emulated org: a Salesforce-compatible token endpoint on 127.0.0.1.
/// let org = sfauth_emulator::spawn(Default::default()).await.unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("_salesforce.json");
/// std::fs::write(&path, org.issue_token("ada@example.com").to_string()).unwrap();
///
/// let session = Session::builder(
///     FileStore::new(&path),
///     OAuthClient::new(org.config().client_id.clone()),
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
    client: OAuthClient,
    login_url: Option<LoginUrl>,
    site: SitePrefix,
    expiry: ExpiryPolicy,
    http_config: HttpConfig,
    renewal: Renewal,
    introspect: bool,
    /// Built on the first refresh: the fresh path never pays for TLS set-up.
    http: OnceLock<HttpClient>,
    /// One refresh at a time in this process; the store lock does it across processes.
    flight: tokio::sync::Mutex<()>,
    /// The newest token this session has seen.
    current: Mutex<Option<Token>>,
}

impl Session {
    /// Starts building a session over `store` for the connected app `client`.
    pub fn builder(store: impl TokenStore + 'static, client: OAuthClient) -> SessionBuilder {
        SessionBuilder {
            store: Arc::new(store),
            client,
            login_url: None,
            site: SitePrefix::default(),
            expiry: ExpiryPolicy::default(),
            http: HttpConfig::default(),
            renewal: Renewal::default(),
            introspect: false,
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
    pub async fn token(&self) -> Result<Token> {
        let seen = self.current().await?;
        if self.inner.expiry.is_fresh(&seen) {
            return Ok(seen);
        }
        Ok(self.refresh_from(&seen, false).await?.token)
    }

    /// A fresh access token. See [`token`](Session::token).
    pub async fn access_token(&self) -> Result<Secret<String>> {
        Ok(self.token().await?.access_token())
    }

    /// Refreshes now. Callers that started together make one refresh: those that waited
    /// for it adopt its token (the outcome says [`RefreshAction::Adopted`]).
    pub async fn refresh(&self) -> Result<RefreshOutcome> {
        let seen = self.current().await?;
        self.refresh_from(&seen, true).await
    }

    /// Call after the API rejected `rejected` with 401 `INVALID_SESSION_ID`: refreshes if that
    /// token is still the current one, and returns the current token either way. A burst of
    /// 401s for one token makes one refresh; a 401 for a token already replaced makes none.
    pub async fn invalidate(&self, rejected: &Secret<String>) -> Result<Token> {
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

    fn adopt(&self, token: Token) -> RefreshOutcome {
        self.remember(&token);
        RefreshOutcome {
            token,
            action: RefreshAction::Adopted,
        }
    }

    /// Refreshes `seen` unless someone else already replaced it. `force` adopts any newer
    /// token; otherwise only a fresh one.
    async fn refresh_from(&self, seen: &Token, force: bool) -> Result<RefreshOutcome> {
        let replaced = |t: &Token| {
            t.access_token() != seen.access_token() && (force || self.inner.expiry.is_fresh(t))
        };
        let _flight = self.inner.flight.lock().await;
        if let Some(current) = self.cached().filter(|t| replaced(t)) {
            return Ok(self.adopt(current));
        }
        let lock = self.inner.store.lock().await?;
        let stored = self.inner.store.load().await?;
        if replaced(&stored) {
            tracing::debug!("adopting a token another process refreshed");
            return Ok(self.adopt(stored));
        }
        self.refresh_locked(&lock, stored).await
    }

    fn http(&self, endpoint: &Endpoint) -> Result<&HttpClient> {
        if let Some(client) = self.inner.http.get() {
            return Ok(client);
        }
        let client = HttpClient::new(&self.inner.http_config, endpoint.login_url())?;
        Ok(self.inner.http.get_or_init(|| client))
    }

    /// How this session renews a stale token.
    pub fn renewal(&self) -> &Renewal {
        &self.inner.renewal
    }

    async fn refresh_locked(&self, lock: &StoreLock, stored: Token) -> Result<RefreshOutcome> {
        // From here until the answer is saved, stopping could lose a rotated token.
        let _sending = crate::in_flight::SendGuard::begin();
        match &self.inner.renewal {
            Renewal::RefreshToken => self.refresh_with_token(lock, stored).await,
            Renewal::None => Err(Error::new(
                ErrorKind::LoginRequired,
                format!(
                    "{} holds only an access token, which sfauth cannot renew",
                    self.inner.store.describe()
                ),
            )
            .with_hint(
                "log in again with a flow that can renew it: the web or device login (refresh token), JWT bearer, or client credentials",
            )),
            renewal => self.log_in_again(lock, stored, renewal).await,
        }
    }

    /// Renews a token that has no refresh token by running its grant again, and merges the
    /// answer into the stored token.
    async fn log_in_again(
        &self,
        lock: &StoreLock,
        stored: Token,
        renewal: &Renewal,
    ) -> Result<RefreshOutcome> {
        let client = &self.inner.client;
        let endpoint = match (renewal, &self.inner.login_url) {
            (Renewal::ClientCredentials, None) => {
                let login = LoginUrl::parse(stored.instance_url()).map_err(|e| {
                    Error::new(
                        ErrorKind::Usage,
                        format!("cannot renew at the token's instance_url: {e}"),
                    )
                    .with_hint("pass --login-url with the org's My Domain")
                })?;
                Endpoint::new(login, self.inner.site.clone())
            }
            _ => self.endpoint_for(&stored)?,
        };
        let http = self.http(&endpoint)?;
        let response = match renewal {
            Renewal::JwtBearer(jwt) => flows::jwt::request(http, &endpoint, jwt).await?,
            Renewal::ClientCredentials => {
                flows::client_credentials::request(http, &endpoint, client).await?
            }
            Renewal::Password { username, password } => {
                flows::password::request(http, &endpoint, client, username, password).await?
            }
            Renewal::RefreshToken | Renewal::None => {
                return Err(Error::internal("log_in_again called for a refresh renewal"));
            }
        };
        let signature = signature::check(&response, client.client_secret())?;
        self.finish(lock, stored, &response, signature).await
    }

    /// Merges a renewal answer into the stored token and saves it; then, when the session
    /// is set to, asks the introspection endpoint for the real expiry and records it.
    async fn finish(
        &self,
        lock: &StoreLock,
        stored: Token,
        response: &Token,
        signature: SignatureCheck,
    ) -> Result<RefreshOutcome> {
        let store = &self.inner.store;
        let mut merged = stored;
        let rotated = merged.merge_refresh(response);
        // The recorded expiry belonged to the old access token.
        merged.remove(INTROSPECTED_EXP_KEY);
        // Invariant 1: the (possibly rotated) refresh token is on disk before the new access
        // token is used for anything, introspection included.
        store
            .save(lock, &merged)
            .await
            .map_err(|e| save_failed(e, rotated))?;
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
            action: RefreshAction::Refreshed { rotated, signature },
        })
    }

    /// The access token's `exp` from the introspection endpoint, or `None` (with a log line)
    /// when it cannot be had: the expiry then falls back to the session timeout.
    async fn introspected_exp(&self, token: &Token) -> Option<u64> {
        let client = &self.inner.client;
        client.client_secret()?;
        let endpoint = self.endpoint_for(token).ok()?;
        let http = self.http(&endpoint).ok()?;
        match flows::introspect::introspect(
            http,
            &endpoint,
            client,
            &token.access_token(),
            "access_token",
        )
        .await
        {
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

    async fn refresh_with_token(&self, lock: &StoreLock, stored: Token) -> Result<RefreshOutcome> {
        let store = &self.inner.store;
        let Some(refresh_token) = stored.refresh_token() else {
            return Err(Error::new(
                ErrorKind::LoginRequired,
                format!(
                    "{} has no refresh_token, so it cannot be refreshed",
                    store.describe()
                ),
            )
            .with_hint("log in again with a flow that grants the refresh_token scope"));
        };
        let endpoint = self.endpoint_for(&stored)?;
        let http = self.http(&endpoint)?;
        let mut waits = self.inner.http_config.retry.backoff().build();
        loop {
            match flows::refresh::refresh(http, &endpoint, &self.inner.client, &refresh_token).await
            {
                Ok(refreshed) => {
                    return self
                        .finish(lock, stored, &refreshed.response, refreshed.signature)
                        .await;
                }
                Err(e) if e.retry == Retry::InFlightElsewhere => {
                    // Another client holds this refresh token at Salesforce right now. If it
                    // shares this store it will save its result: wait, re-read, adopt.
                    let Some(wait) = waits.next() else {
                        return Err(e);
                    };
                    tracing::debug!(?wait, "token request already being processed; waiting");
                    tokio::time::sleep(wait).await;
                    let again = store.load().await?;
                    if again.access_token() != stored.access_token() {
                        return Ok(self.adopt(again));
                    }
                }
                Err(e) if e.is_ambiguous() => {
                    // The refresh may have been served; replaying it could revoke the token
                    // family. Only adopt what is stored, else report.
                    if let Ok(again) = store.load().await
                        && again.access_token() != stored.access_token()
                    {
                        return Ok(self.adopt(again));
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn save_failed(e: Error, rotated: bool) -> Error {
    let hint = if rotated {
        "Salesforce rotated the refresh token and the new one could not be stored, so the \
         stored one is now spent: free the disk or fix the permissions, then log in again"
    } else {
        "the stored token is unchanged and still usable; fix the file's directory or \
         permissions and run again"
    };
    Error::new(
        e.kind(),
        format!("the token was refreshed but could not be saved: {e}"),
    )
    .with_hint(hint)
    .with_source(e)
}
