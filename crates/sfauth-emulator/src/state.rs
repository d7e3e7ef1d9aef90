//! The token book: families of refresh and access tokens, plus the knobs tests turn.
//!
//! A *family* is what one login produces: the chain of refresh tokens created by
//! rotation and every access token issued from them. Salesforce revokes a family as a
//! whole when a rotated-out refresh token is replayed, so the book keeps that link.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

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
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(config: Config, url: String) -> Self {
        let state = State {
            latency: config.latency,
            ..State::default()
        };
        Self {
            config,
            url,
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

/// Tokens produced by a login or a refresh.
#[derive(Debug)]
pub(crate) struct Issued {
    pub(crate) username: String,
    pub(crate) access_token: String,
    /// Present for a login, and for a refresh when rotation is on.
    pub(crate) refresh_token: Option<String>,
}

#[derive(Debug)]
struct RefreshEntry {
    family: u64,
    /// False once rotated out or revoked.
    alive: bool,
}

#[derive(Debug)]
struct Family {
    username: String,
    revoked: bool,
    access_tokens: Vec<String>,
}

#[derive(Debug)]
struct AccessEntry {
    family: u64,
    issued: Instant,
    /// Set by [`State::expire_access_tokens`] and by revocation.
    dead: bool,
}

/// All mutable state, behind the one mutex in [`Shared`]. Never held across an await.
#[derive(Debug, Default)]
pub(crate) struct State {
    refresh_tokens: HashMap<String, RefreshEntry>,
    families: HashMap<u64, Family>,
    access_tokens: HashMap<String, AccessEntry>,
    in_flight: HashSet<String>,
    next_family: u64,
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) latency: Duration,
    pub(crate) stats: Stats,
}

impl State {
    /// Starts a new family for `username`, as a completed web login would.
    pub(crate) fn login(&mut self, username: &str, org_id: &str) -> Issued {
        let family = self.next_family;
        self.next_family += 1;
        self.families.insert(
            family,
            Family {
                username: username.to_owned(),
                revoked: false,
                access_tokens: Vec::new(),
            },
        );
        let refresh_token = self.new_refresh_token(family);
        let access_token = self.new_access_token(family, org_id);
        Issued {
            username: username.to_owned(),
            access_token,
            refresh_token: Some(refresh_token),
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
        Ok(Issued {
            username: self.families[&family].username.clone(),
            access_token,
            refresh_token: new_refresh,
        })
    }

    /// Clears the in-flight mark of a refresh that was abandoned midway (its request
    /// future was dropped), so the token stays usable.
    pub(crate) fn abandon_refresh(&mut self, refresh_token: &str) {
        self.in_flight.remove(refresh_token);
    }

    /// Revokes the family of a refresh token (dead or alive). Returns whether the token
    /// was known.
    pub(crate) fn revoke_refresh_token(&mut self, refresh_token: &str) -> bool {
        match self.refresh_tokens.get(refresh_token) {
            Some(entry) => {
                let family = entry.family;
                self.revoke_family(family);
                true
            }
            None => false,
        }
    }

    /// Invalidates one access token. Returns whether it was known.
    pub(crate) fn revoke_access_token(&mut self, access_token: &str) -> bool {
        match self.access_tokens.get_mut(access_token) {
            Some(entry) => {
                entry.dead = true;
                true
            }
            None => false,
        }
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
}
