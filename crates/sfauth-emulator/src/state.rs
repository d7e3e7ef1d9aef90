//! The token book: families of refresh and access tokens, plus the knobs tests turn.
//!
//! A *family* is what one login produces: the chain of refresh tokens created by
//! rotation and every access token issued from them. Salesforce revokes a family as a
//! whole when a rotated-out refresh token is replayed, so the book keeps that link.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;

use crate::config::Config;
use crate::credentials;
use crate::fault::Fault;
use crate::stats::Stats;

/// Everything the request handlers and the [`Emulator`](crate::Emulator) handle share.
pub(crate) struct Shared {
    /// Fixed at start-up (with `site` normalised).
    pub(crate) config: Config,
    /// `http://127.0.0.1:PORT`, used for `instance_url` and identity URLs.
    pub(crate) url: String,
    /// Verifies JWT bearer assertions; from `config.jwt_certificate_pem`.
    pub(crate) jwt_key: Option<DecodingKey>,
    /// Connections accepted and not yet closed: what a client sent before it died may still
    /// be on one of them.
    pub(crate) open_connections: std::sync::atomic::AtomicUsize,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(config: Config, url: String) -> Self {
        let state = State {
            latency: config.latency,
            ..State::default()
        };
        // The PEM was checked when the config was validated, so this cannot fail;
        // if it did, JWT bearer requests would be refused, which is visible enough.
        let jwt_key = config.jwt_decoding_key().ok().flatten();
        Self {
            config,
            url,
            jwt_key,
            open_connections: std::sync::atomic::AtomicUsize::new(0),
            state: Mutex::new(state),
        }
    }

    /// Locks the state. A panic while holding the lock (say, a failed assertion in a test
    /// thread) must not wedge the server, and no invariant spans a panic point, so
    /// poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The identity URL of a user, also used as `sub` and in `id`.
    pub(crate) fn identity_url(&self, user_id: &str) -> String {
        format!("{}/id/{}/{}", self.url, self.config.org_id, user_id)
    }
}

/// Why a refresh token was not honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Never issued, revoked, or its family was revoked.
    Invalid,
    /// Another request with this token is being processed.
    InFlight,
    /// A rotated-out token was replayed; the family has just been revoked.
    Reused,
}

/// Scopes granted to a login that asked for none (and to [`State::login`]).
pub(crate) const DEFAULT_SCOPE: &str = "api refresh_token id";

/// Who logs in by the web-server flow when the request has no `login_hint`, and always
/// by the device flow.
pub(crate) const DEFAULT_USER: &str = "ada@example.com";

/// How long an authorization code can be redeemed.
const CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// How long a device code can be polled.
const DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Tokens produced by a login or a refresh.
#[derive(Debug)]
pub(crate) struct Issued {
    pub(crate) username: String,
    /// The scopes of the family, space-separated.
    pub(crate) scope: String,
    pub(crate) access_token: String,
    /// Present for a login, and for a refresh when rotation is on.
    pub(crate) refresh_token: Option<String>,
}

#[derive(Debug)]
struct RefreshEntry {
    family: u64,
    /// False once rotated out or revoked.
    alive: bool,
    /// Unix seconds, for introspection.
    issued_unix: u64,
}

#[derive(Debug)]
struct Family {
    username: String,
    scope: String,
    revoked: bool,
    access_tokens: Vec<String>,
}

#[derive(Debug)]
struct AccessEntry {
    family: u64,
    issued: Instant,
    /// Unix seconds, for introspection.
    issued_unix: u64,
    /// Set by [`State::expire_access_tokens`] and by revocation.
    dead: bool,
}

/// An authorization code handed out by the authorize endpoint, not yet redeemed.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) redirect_uri: String,
    /// The PKCE `code_challenge` (S256), if the authorize request had one.
    pub(crate) code_challenge: Option<String>,
    pub(crate) scope: String,
    pub(crate) username: String,
    expires: Instant,
}

impl AuthCode {
    pub(crate) fn new(
        redirect_uri: String,
        code_challenge: Option<String>,
        scope: String,
        username: String,
    ) -> Self {
        Self {
            redirect_uri,
            code_challenge,
            scope,
            username,
            expires: Instant::now() + CODE_LIFETIME,
        }
    }
}

/// A device-flow authorization waiting for the emulated user.
#[derive(Debug)]
struct DeviceGrant {
    scope: String,
    polls: u32,
    expires: Instant,
}

/// The answer to one device-flow poll, before consent is applied.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DevicePoll {
    /// Unknown, expired or already finished device code.
    Unknown,
    /// The client should poll less often.
    SlowDown,
    /// The user has not decided yet.
    Pending,
    /// The user has decided; the device code is used up. Carries the requested scope.
    Decided { scope: String },
}

/// Whether a token is an access or a refresh token, as introspection reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Access,
    Refresh,
}

/// What introspection tells about a live token.
#[derive(Debug)]
pub(crate) struct Introspected {
    pub(crate) username: String,
    pub(crate) scope: String,
    pub(crate) kind: TokenKind,
    pub(crate) issued_unix: u64,
}

/// All mutable state, behind the one mutex in [`Shared`]. Never held across an await.
#[derive(Debug, Default)]
pub(crate) struct State {
    codes: HashMap<String, AuthCode>,
    devices: HashMap<String, DeviceGrant>,
    refresh_tokens: HashMap<String, RefreshEntry>,
    families: HashMap<u64, Family>,
    access_tokens: HashMap<String, AccessEntry>,
    in_flight: HashSet<String>,
    next_family: u64,
    pub(crate) faults: VecDeque<Fault>,
    /// Answers queued for the next REST resource requests: (status, body).
    pub(crate) rest_faults: VecDeque<(u16, String)>,
    /// The last REST resource request: (method, path, body).
    pub(crate) last_rest_request: Option<RestRequest>,
    pub(crate) latency: Duration,
    pub(crate) stats: Stats,
    /// Frontdoor one-time passwords not used yet, with the path each opens.
    pub(crate) frontdoor: HashMap<String, String>,
}

/// A REST resource request as the emulator received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestRequest {
    /// The HTTP method.
    pub method: String,
    /// The path and query.
    pub path: String,
    /// The headers, names in lower case, in the order received; `authorization` is left
    /// out (the emulator keeps no bearer token it was shown).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl State {
    /// Starts a new family for `username`, as a completed web login would.
    pub(crate) fn login(&mut self, username: &str, org_id: &str) -> Issued {
        self.start_family(username, DEFAULT_SCOPE, true, org_id)
    }

    /// Starts a new family for `username` with these scopes: an access token, plus a
    /// refresh token if `with_refresh`.
    pub(crate) fn start_family(
        &mut self,
        username: &str,
        scope: &str,
        with_refresh: bool,
        org_id: &str,
    ) -> Issued {
        let family = self.next_family;
        self.next_family += 1;
        self.families.insert(
            family,
            Family {
                username: username.to_owned(),
                scope: scope.to_owned(),
                revoked: false,
                access_tokens: Vec::new(),
            },
        );
        let refresh_token = with_refresh.then(|| self.new_refresh_token(family));
        let access_token = self.new_access_token(family, org_id);
        Issued {
            username: username.to_owned(),
            scope: scope.to_owned(),
            access_token,
            refresh_token,
        }
    }

    /// Remembers an authorization code until it is redeemed or expires.
    pub(crate) fn store_code(&mut self, code: String, grant: AuthCode) {
        let now = Instant::now();
        self.codes.retain(|_, stored| stored.expires > now);
        self.codes.insert(code, grant);
    }

    /// Redeems an authorization code: it is gone afterwards, whatever happens next, so
    /// a code works at most once. `None` if unknown, used or expired.
    pub(crate) fn take_code(&mut self, code: &str) -> Option<AuthCode> {
        self.codes
            .remove(code)
            .filter(|grant| grant.expires > Instant::now())
    }

    /// Makes every outstanding authorization and device code unusable.
    pub(crate) fn expire_codes(&mut self) {
        self.codes.clear();
        self.devices.clear();
    }

    /// Remembers a device code until it is decided or expires.
    pub(crate) fn store_device_code(&mut self, device_code: String, scope: &str) {
        let now = Instant::now();
        self.devices.retain(|_, grant| grant.expires > now);
        self.devices.insert(
            device_code,
            DeviceGrant {
                scope: scope.to_owned(),
                polls: 0,
                expires: now + DEVICE_CODE_LIFETIME,
            },
        );
    }

    /// Counts one poll of a device code and says how to answer it: the first
    /// `slow_down` polls get [`DevicePoll::SlowDown`], polls up to `decide_after` get
    /// [`DevicePoll::Pending`], the next one [`DevicePoll::Decided`].
    pub(crate) fn poll_device(
        &mut self,
        device_code: &str,
        slow_down: u32,
        decide_after: u32,
    ) -> DevicePoll {
        let Some(grant) = self.devices.get_mut(device_code) else {
            return DevicePoll::Unknown;
        };
        if grant.expires <= Instant::now() {
            self.devices.remove(device_code);
            return DevicePoll::Unknown;
        }
        grant.polls = grant.polls.saturating_add(1);
        if grant.polls <= slow_down {
            DevicePoll::SlowDown
        } else if grant.polls <= decide_after.max(slow_down) {
            DevicePoll::Pending
        } else {
            let scope = std::mem::take(&mut grant.scope);
            self.devices.remove(device_code);
            DevicePoll::Decided { scope }
        }
    }

    /// First half of a refresh: checks the token and marks it in flight.
    ///
    /// Replaying a rotated-out token revokes its family here, at once, as Salesforce does.
    pub(crate) fn begin_refresh(&mut self, refresh_token: &str) -> Result<(), Refusal> {
        let Some(entry) = self.refresh_tokens.get(refresh_token) else {
            return Err(Refusal::Invalid);
        };
        let family = entry.family;
        let alive = entry.alive;
        if self.family_revoked(family) {
            return Err(Refusal::Invalid);
        }
        if !alive {
            self.revoke_family(family);
            return Err(Refusal::Reused);
        }
        if !self.in_flight.insert(refresh_token.to_owned()) {
            return Err(Refusal::InFlight);
        }
        Ok(())
    }

    /// Second half of a refresh: clears the in-flight mark and, if the token is still
    /// good (it may have been revoked meanwhile), issues new tokens.
    pub(crate) fn finish_refresh(
        &mut self,
        refresh_token: &str,
        rotation: bool,
        org_id: &str,
    ) -> Result<Issued, Refusal> {
        self.in_flight.remove(refresh_token);
        let family = match self.refresh_tokens.get(refresh_token) {
            Some(entry) if entry.alive => entry.family,
            _ => return Err(Refusal::Invalid),
        };
        if self.family_revoked(family) {
            return Err(Refusal::Invalid);
        }
        let new_refresh = if rotation {
            if let Some(old) = self.refresh_tokens.get_mut(refresh_token) {
                old.alive = false;
            }
            Some(self.new_refresh_token(family))
        } else {
            None
        };
        let access_token = self.new_access_token(family, org_id);
        let fam = &self.families[&family];
        Ok(Issued {
            username: fam.username.clone(),
            scope: fam.scope.clone(),
            access_token,
            refresh_token: new_refresh,
        })
    }

    /// Clears the in-flight mark of a refresh that was abandoned midway (its future was
    /// dropped, as at shutdown), so the token stays usable.
    pub(crate) fn abandon_refresh(&mut self, refresh_token: &str) {
        self.in_flight.remove(refresh_token);
    }

    /// Revokes the family of a refresh token (dead or alive). Returns whether the token was
    /// live, so a second revocation is answered `invalid_token` as Salesforce does.
    pub(crate) fn revoke_refresh_token(&mut self, refresh_token: &str) -> bool {
        let Some(entry) = self.refresh_tokens.get(refresh_token) else {
            return false;
        };
        let family = entry.family;
        // A token that is already dead (rotated out, or its family revoked) is no longer a
        // valid token: Salesforce answers `invalid_token` for it.
        let live = entry.alive && self.families.get(&family).is_some_and(|f| !f.revoked);
        self.revoke_family(family);
        live
    }

    /// Whether a refresh with this token would be honoured: it was issued, has not been
    /// rotated out or revoked, and its family stands. A token in flight counts as live.
    pub(crate) fn refresh_token_is_live(&self, refresh_token: &str) -> bool {
        self.refresh_tokens
            .get(refresh_token)
            .is_some_and(|entry| entry.alive && !self.family_revoked(entry.family))
    }

    /// Refreshes received and not yet answered.
    pub(crate) fn refreshes_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Invalidates one access token. Returns whether it was a live token.
    pub(crate) fn revoke_access_token(&mut self, access_token: &str) -> bool {
        let Some(entry) = self.access_tokens.get_mut(access_token) else {
            return false;
        };
        let was_live = !entry.dead;
        entry.dead = true;
        let family_live = self.families.get(&entry.family).is_some_and(|f| !f.revoked);
        was_live && family_live
    }

    /// Makes every access token issued so far unusable, as if their sessions timed out.
    pub(crate) fn expire_access_tokens(&mut self) {
        for entry in self.access_tokens.values_mut() {
            entry.dead = true;
        }
    }

    /// The username behind a usable access token, or `None` if it is unknown, expired,
    /// revoked or older than `lifetime`.
    pub(crate) fn access_token_user(&self, access_token: &str, lifetime: Duration) -> Option<&str> {
        let entry = self.access_tokens.get(access_token)?;
        let family = self.families.get(&entry.family)?;
        let usable = !entry.dead && !family.revoked && entry.issued.elapsed() < lifetime;
        usable.then_some(family.username.as_str())
    }

    /// What introspection reports about a token: `None` unless it is a usable access
    /// token (see [`State::access_token_user`]) or a live refresh token.
    pub(crate) fn introspect(&self, token: &str, lifetime: Duration) -> Option<Introspected> {
        let (family, kind, issued_unix) = if let Some(entry) = self.access_tokens.get(token) {
            if entry.dead || entry.issued.elapsed() >= lifetime {
                return None;
            }
            (entry.family, TokenKind::Access, entry.issued_unix)
        } else {
            let entry = self.refresh_tokens.get(token).filter(|e| e.alive)?;
            (entry.family, TokenKind::Refresh, entry.issued_unix)
        };
        let family = self.families.get(&family).filter(|f| !f.revoked)?;
        Some(Introspected {
            username: family.username.clone(),
            scope: family.scope.clone(),
            kind,
            issued_unix,
        })
    }

    /// The first username that has logged in and matches `predicate`.
    pub(crate) fn find_username(&self, predicate: impl Fn(&str) -> bool) -> Option<String> {
        self.families
            .values()
            .find(|family| predicate(&family.username))
            .map(|family| family.username.clone())
    }

    fn family_revoked(&self, family: u64) -> bool {
        self.families.get(&family).is_none_or(|f| f.revoked)
    }

    /// Kills the family: all its refresh tokens and all its access tokens.
    fn revoke_family(&mut self, family: u64) {
        let Some(fam) = self.families.get_mut(&family) else {
            return;
        };
        fam.revoked = true;
        for token in &fam.access_tokens {
            if let Some(entry) = self.access_tokens.get_mut(token) {
                entry.dead = true;
            }
        }
        for entry in self.refresh_tokens.values_mut() {
            if entry.family == family {
                entry.alive = false;
            }
        }
    }

    fn new_refresh_token(&mut self, family: u64) -> String {
        let token = credentials::refresh_token();
        self.refresh_tokens.insert(
            token.clone(),
            RefreshEntry {
                family,
                alive: true,
                issued_unix: credentials::unix_now(),
            },
        );
        token
    }

    fn new_access_token(&mut self, family: u64, org_id: &str) -> String {
        let token = credentials::access_token(org_id);
        self.access_tokens.insert(
            token.clone(),
            AccessEntry {
                family,
                issued: Instant::now(),
                issued_unix: credentials::unix_now(),
                dead: false,
            },
        );
        if let Some(fam) = self.families.get_mut(&family) {
            fam.access_tokens.push(token.clone());
        }
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "00D000000000001EAA";
    const LONG: Duration = Duration::from_secs(3600);

    fn refresh(state: &mut State, token: &str, rotation: bool) -> Result<Issued, Refusal> {
        state.begin_refresh(token)?;
        state.finish_refresh(token, rotation, ORG)
    }

    #[test]
    fn rotation_kills_the_used_refresh_token_but_not_the_family() {
        let mut state = State::default();
        let login = state.login("alice", ORG);
        let first = login.refresh_token.unwrap();
        let second = refresh(&mut state, &first, true).unwrap();
        let second_rt = second.refresh_token.unwrap();
        assert_ne!(first, second_rt);
        assert!(refresh(&mut state, &second_rt, true).is_ok());
    }

    #[test]
    fn replaying_a_rotated_token_revokes_the_family_and_its_access_tokens() {
        let mut state = State::default();
        let login = state.login("alice", ORG);
        let first = login.refresh_token.unwrap();
        let second = refresh(&mut state, &first, true).unwrap();
        assert_eq!(state.begin_refresh(&first), Err(Refusal::Reused));
        assert_eq!(
            state.begin_refresh(second.refresh_token.as_deref().unwrap()),
            Err(Refusal::Invalid)
        );
        assert!(
            state
                .access_token_user(&second.access_token, LONG)
                .is_none()
        );
        assert!(state.access_token_user(&login.access_token, LONG).is_none());
    }

    #[test]
    fn a_refresh_token_is_live_until_rotated_out() {
        let mut state = State::default();
        let first = state.login("alice", ORG).refresh_token.unwrap();
        assert!(state.refresh_token_is_live(&first));
        let second = refresh(&mut state, &first, true).unwrap();
        assert!(!state.refresh_token_is_live(&first));
        assert!(state.refresh_token_is_live(second.refresh_token.as_deref().unwrap()));
        assert!(!state.refresh_token_is_live("never-issued"));
    }

    #[test]
    fn without_rotation_the_refresh_token_stays_usable() {
        let mut state = State::default();
        let token = state.login("alice", ORG).refresh_token.unwrap();
        let issued = refresh(&mut state, &token, false).unwrap();
        assert!(issued.refresh_token.is_none());
        assert!(refresh(&mut state, &token, false).is_ok());
    }

    #[test]
    fn a_token_in_flight_is_refused_until_the_first_request_ends() {
        let mut state = State::default();
        let token = state.login("alice", ORG).refresh_token.unwrap();
        state.begin_refresh(&token).unwrap();
        assert_eq!(state.begin_refresh(&token), Err(Refusal::InFlight));
        state.abandon_refresh(&token);
        assert!(state.begin_refresh(&token).is_ok());
    }

    #[test]
    fn revocation_during_processing_fails_the_refresh() {
        let mut state = State::default();
        let token = state.login("alice", ORG).refresh_token.unwrap();
        state.begin_refresh(&token).unwrap();
        assert!(state.revoke_refresh_token(&token));
        assert!(matches!(
            state.finish_refresh(&token, true, ORG),
            Err(Refusal::Invalid)
        ));
    }

    #[test]
    fn access_tokens_die_after_their_lifetime() {
        let mut state = State::default();
        let access = state.login("alice", ORG).access_token;
        assert_eq!(state.access_token_user(&access, LONG), Some("alice"));
        assert_eq!(state.access_token_user(&access, Duration::ZERO), None);
    }

    #[test]
    fn a_family_without_refresh_token_has_only_an_access_token() {
        let mut state = State::default();
        let issued = state.start_family("svc", "api", false, ORG);
        assert!(issued.refresh_token.is_none());
        assert_eq!(issued.scope, "api");
        assert_eq!(
            state.access_token_user(&issued.access_token, LONG),
            Some("svc")
        );
    }

    #[test]
    fn codes_work_once() {
        let mut state = State::default();
        let code = AuthCode::new("http://cb".into(), None, "api".into(), "ada".into());
        state.store_code("c".into(), code);
        assert!(state.take_code("c").is_some());
        assert!(state.take_code("c").is_none());
    }

    #[test]
    fn device_polls_slow_down_then_pend_then_decide() {
        let mut state = State::default();
        state.store_device_code("d".into(), "api");
        assert_eq!(state.poll_device("d", 1, 2), DevicePoll::SlowDown);
        assert_eq!(state.poll_device("d", 1, 2), DevicePoll::Pending);
        assert_eq!(
            state.poll_device("d", 1, 2),
            DevicePoll::Decided {
                scope: "api".into()
            }
        );
        assert_eq!(state.poll_device("d", 1, 2), DevicePoll::Unknown);
    }

    #[test]
    fn more_slow_downs_than_pending_polls_delay_the_decision() {
        let mut state = State::default();
        state.store_device_code("d".into(), "api");
        for _ in 0..3 {
            assert_eq!(state.poll_device("d", 3, 1), DevicePoll::SlowDown);
        }
        assert!(matches!(
            state.poll_device("d", 3, 1),
            DevicePoll::Decided { .. }
        ));
    }

    #[test]
    fn introspection_sees_live_tokens_only() {
        let mut state = State::default();
        let login = state.login("alice", ORG);
        let refresh_token = login.refresh_token.unwrap();
        let access = state.introspect(&login.access_token, LONG).unwrap();
        assert_eq!(access.kind, TokenKind::Access);
        assert_eq!(access.username, "alice");
        let refresh = state.introspect(&refresh_token, LONG).unwrap();
        assert_eq!(refresh.kind, TokenKind::Refresh);
        assert!(state.introspect("nope", LONG).is_none());
        state.revoke_refresh_token(&refresh_token);
        assert!(state.introspect(&refresh_token, LONG).is_none());
        assert!(state.introspect(&login.access_token, LONG).is_none());
    }
}
