//! One org in the agent: its session, the token it serves, the refresh ahead of expiry,
//! and what went wrong last.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sfauth::{AccessToken, Error, ErrorKind, ExpiryPolicy, Session, Token};
use tokio::sync::Notify;

use crate::config::{Alias, Org};

/// The shortest and longest pause after a failed refresh (doubling, with jitter).
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// A token is refreshed at this share of its fresh life, plus up to [`JITTER_SHARE`]: early
/// enough that a caller never meets a stale one, late enough not to refresh for nothing,
/// and spread so that orgs (and agents) do not refresh in step.
const REFRESH_SHARE: f64 = 0.70;
const JITTER_SHARE: f64 = 0.15;

/// What the agent knows of one org.
pub struct OrgAgent {
    pub alias: Alias,
    /// The config's record it was built from: a reload that finds another rebuilds it.
    pub record: Org,
    session: Session,
    expiry: ExpiryPolicy,
    state: Mutex<OrgState>,
    /// Wakes the refresh loop (after an invalidate, or to stop).
    wake: Notify,
}

#[derive(Default)]
struct OrgState {
    /// The session's refresh count when `last_refresh` was last set.
    refreshes_seen: u64,
    failures: BTreeMap<&'static str, u64>,
    consecutive_failures: u32,
    last_refresh: Option<SystemTime>,
    last_error: Option<LastError>,
    /// No renewal is possible until someone logs in again (the refresh token is dead).
    exhausted: bool,
    /// An access token a client reported rejected that could not be renewed: never
    /// served again.
    rejected: Option<AccessToken>,
    /// After a failure, callers of a stale token get the error at once until then, instead
    /// of each trying again.
    cooling_until: Option<SystemTime>,
    stopping: bool,
}

/// The last failure, for `/v1/health` and `sfauth status`: no secret in it.
#[derive(Clone)]
pub struct LastError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
    pub at: SystemTime,
}

/// What `/v1/health` and `/metrics` say of an org.
pub struct Health {
    /// Refreshes this agent sent and saved (ahead of expiry, or for a client).
    pub refreshes: u64,
    /// Refreshes it did not send because another agent or process had just made one.
    pub adopted: u64,
    pub failures: BTreeMap<&'static str, u64>,
    pub last_refresh: Option<SystemTime>,
    pub last_error: Option<LastError>,
    pub exhausted: bool,
    pub token: Option<Token>,
    pub expires_at: Option<SystemTime>,
    pub fresh: bool,
}

impl OrgAgent {
    pub fn new(alias: Alias, record: Org, session: Session, expiry: ExpiryPolicy) -> Arc<OrgAgent> {
        Arc::new(OrgAgent {
            alias,
            record,
            session,
            expiry,
            state: Mutex::new(OrgState::default()),
            wake: Notify::new(),
        })
    }

    pub fn expiry(&self) -> ExpiryPolicy {
        self.expiry
    }

    fn state(&self) -> std::sync::MutexGuard<'_, OrgState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh token: the one in hand, or (when it is stale and no failure is cooling
    /// down) the session's, renewed once however many callers ask.
    pub async fn token(&self) -> sfauth::Result<Token> {
        if self.state().exhausted
            && let Some(dead) = self.new_login_since().await
        {
            // Someone logged in again: adopt the store's token (no refresh is sent: the
            // stored token is not the one rejected) and renew as usual from there.
            let adopted = self.session.invalidate(&dead).await;
            self.record(adopted.as_ref().map(|_| ()));
            self.wake.notify_one();
            return adopted;
        }
        if let Ok(token) = self.session.current().await
            && self.expiry.is_fresh(&token)
        {
            if self.state().rejected.as_ref() == Some(&token.access_token()) {
                self.refuse_while_cooling()?;
            }
            return Ok(token);
        }
        self.refuse_while_cooling()?;
        let renewed = self.session.token().await;
        self.record(renewed.as_ref().map(|_| ()));
        renewed
    }

    /// The API rejected `rejected`: renew if it is still the current token.
    pub async fn invalidate(&self, rejected: &AccessToken) -> sfauth::Result<Token> {
        let renewed = self.session.invalidate(rejected).await;
        self.record(renewed.as_ref().map(|_| ()));
        if renewed.is_err() {
            self.state().rejected = Some(rejected.clone());
        }
        self.wake.notify_one();
        renewed
    }

    /// The access token in hand, when the store now holds another token (a new login
    /// after this org needed one).
    async fn new_login_since(&self) -> Option<AccessToken> {
        let held = self.session.current().await.ok()?;
        let stored = self.session.store().load().await.ok()?;
        (stored.access_token() != held.access_token()).then(|| held.access_token())
    }

    fn refuse_while_cooling(&self) -> sfauth::Result<()> {
        let state = self.state();
        let cooling = state
            .cooling_until
            .is_some_and(|until| SystemTime::now() < until);
        if (state.exhausted || cooling)
            && let Some(last) = &state.last_error
        {
            let mut error = Error::new(last.kind, last.message.clone());
            if let Some(hint) = &last.hint {
                error = error.with_hint(hint.clone());
            }
            return Err(error);
        }
        Ok(())
    }

    fn record(&self, outcome: Result<(), &Error>) {
        let mut state = self.state();
        match outcome {
            Ok(()) => {
                let refreshed = self.session.counts().refreshed;
                if refreshed != state.refreshes_seen {
                    state.refreshes_seen = refreshed;
                    state.last_refresh = Some(SystemTime::now());
                }
                state.rejected = None;
                state.consecutive_failures = 0;
                state.cooling_until = None;
                state.exhausted = false;
            }
            Err(e) => {
                let kind = e.kind();
                *state.failures.entry(kind.as_str()).or_default() += 1;
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                state.exhausted = e.kind() == ErrorKind::LoginRequired;
                state.cooling_until = Some(SystemTime::now() + backoff(state.consecutive_failures));
                state.last_error = Some(LastError {
                    kind,
                    message: e.to_string(),
                    hint: e.hint().map(str::to_owned),
                    at: SystemTime::now(),
                });
                tracing::warn!(org = %self.alias.as_str(), error = %e, "refresh failed");
            }
        }
    }

    /// What health and metrics report.
    pub async fn health(&self) -> Health {
        let token = self.session.current().await.ok();
        let state = self.state();
        let counts = self.session.counts();
        Health {
            refreshes: counts.refreshed,
            adopted: counts.adopted,
            failures: state.failures.clone(),
            last_refresh: state.last_refresh,
            last_error: state.last_error.clone(),
            exhausted: state.exhausted,
            expires_at: token.as_ref().and_then(|t| self.expiry.expires_at(t)),
            fresh: token.as_ref().is_some_and(|t| self.expiry.is_fresh(t)),
            token,
        }
    }

    /// Reads the org's token from its store into the session, so that it is served from
    /// memory from now on; a token that cannot be read is this org's last error.
    pub async fn read_token(&self) {
        if let Err(e) = self.session.current().await {
            self.record(Err(&e));
        }
    }

    /// Stops the refresh loop at its next turn.
    pub fn stop(&self) {
        self.state().stopping = true;
        self.wake.notify_one();
    }

    /// Refreshes ahead of expiry until stopped; `on_token` sees every token it ends up with
    /// (the sinks). A refresh runs in the session's own task, so stopping never cuts one
    /// short.
    pub async fn run(self: Arc<Self>, on_token: impl Fn(&OrgAgent, &Token)) {
        let mut last_written: Option<AccessToken> = None;
        loop {
            if self.state().stopping {
                return;
            }
            let current = self.session.current().await;
            let wait = match &current {
                Ok(token) => {
                    if last_written.as_ref() != Some(&token.access_token()) {
                        on_token(&self, token);
                        last_written = Some(token.access_token());
                    }
                    self.until_refresh(token)
                }
                Err(e) => {
                    self.record(Err(e));
                    backoff(self.state().consecutive_failures)
                }
            };
            let wait = match self.state().cooling_until {
                Some(until) => {
                    wait.max(until.duration_since(SystemTime::now()).unwrap_or_default())
                }
                None => wait,
            };
            if self.state().exhausted {
                // Nothing to do until a login: wait to be woken (an invalidate, SIGHUP).
                self.wake.notified().await;
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => continue,
            }
            if self.state().stopping {
                return;
            }
            let Ok(token) = current else { continue };
            // Renew only if the token is still the one seen: another agent or sfauth
            // process may have done it meanwhile (then this adopts theirs).
            let renewed = self.session.invalidate(&token.access_token()).await;
            self.record(renewed.as_ref().map(|_| ()));
        }
    }

    /// How long until `token` should be renewed.
    fn until_refresh(&self, token: &Token) -> Duration {
        let now = SystemTime::now();
        let Some(expires) = self.expiry.expires_at(token) else {
            return Duration::ZERO;
        };
        let stale_at = expires.checked_sub(self.expiry.margin()).unwrap_or(expires);
        let start = token.issued_at().filter(|t| *t <= now).unwrap_or(now);
        let life = stale_at.duration_since(start).unwrap_or_default();
        let share = REFRESH_SHARE + JITTER_SHARE * unit_random();
        let at = start + life.mul_f64(share);
        at.duration_since(now).unwrap_or_default()
    }
}

/// The pause after `failures` failures in a row: doubling from a second to five minutes,
/// less up to a fifth at random.
fn backoff(failures: u32) -> Duration {
    let base = BACKOFF_MIN
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_MAX);
    base.mul_f64(1.0 - 0.2 * unit_random())
}

/// A number in [0, 1).
fn unit_random() -> f64 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}
