//! [`ExpiryPolicy`]: when a stored access token is too old to hand out.
//!
//! Salesforce sends no `expires_in`: an access token lives for the session timeout (2 hours
//! by default, set per connected app, profile or org), measured from its last use. sfauth
//! treats a token as fresh while `issued_at + max_age - margin` lies ahead, which is
//! conservative: use only extends a session.

use std::time::{Duration, SystemTime};

use crate::token::Token;

/// Salesforce's default session timeout.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(2 * 60 * 60);

/// When a token counts as fresh.
///
/// ```
/// use std::time::Duration;
/// use sfauth::ExpiryPolicy;
/// let policy = ExpiryPolicy::new(Duration::from_secs(3600));
/// assert_eq!(policy.margin(), Duration::from_secs(300));
/// assert_eq!(ExpiryPolicy::new(Duration::from_secs(600)).margin(), Duration::from_secs(60));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiryPolicy {
    max_age: Duration,
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        ExpiryPolicy::new(DEFAULT_MAX_AGE)
    }
}

impl ExpiryPolicy {
    /// Tokens older than `max_age` less the safety margin are stale.
    pub fn new(max_age: Duration) -> Self {
        ExpiryPolicy { max_age }
    }

    /// The session timeout assumed.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The safety margin: a tenth of `max_age`, at most five minutes, so a token handed
    /// out does not die in the caller's hands.
    pub fn margin(&self) -> Duration {
        (self.max_age / 10).min(Duration::from_secs(300))
    }

    /// The estimated expiry: `issued_at + max_age`. `None` without `issued_at`.
    pub fn expires_at(&self, token: &Token) -> Option<SystemTime> {
        token.issued_at().map(|t| t + self.max_age)
    }

    /// Whether the token can be handed out at `now`. A token without `issued_at` has an
    /// unknown age and is stale.
    pub fn is_fresh_at(&self, token: &Token, now: SystemTime) -> bool {
        match self.expires_at(token) {
            Some(expiry) => now + self.margin() < expiry,
            None => false,
        }
    }

    /// Whether the token can be handed out now.
    pub fn is_fresh(&self, token: &Token) -> bool {
        self.is_fresh_at(token, SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn token_issued_at(ms: u64) -> Token {
        Token::from_json(
            format!(r#"{{"access_token":"a","instance_url":"https://x","issued_at":"{ms}"}}"#)
                .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn token_is_fresh_until_the_margin_before_max_age() {
        let policy = ExpiryPolicy::default();
        let t = token_issued_at(1_000_000_000_000);
        let issued = UNIX_EPOCH + Duration::from_millis(1_000_000_000_000);
        assert!(policy.is_fresh_at(&t, issued + Duration::from_secs(60)));
        assert!(policy.is_fresh_at(&t, issued + Duration::from_secs(7200 - 301)));
        assert!(!policy.is_fresh_at(&t, issued + Duration::from_secs(7200 - 299)));
    }

    #[test]
    fn zero_max_age_is_always_stale() {
        let t = token_issued_at(
            u64::try_from(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis(),
            )
            .unwrap(),
        );
        assert!(!ExpiryPolicy::new(Duration::ZERO).is_fresh(&t));
    }

    #[test]
    fn token_without_issued_at_is_stale() {
        let t = Token::from_json(br#"{"access_token":"a","instance_url":"https://x"}"#).unwrap();
        assert!(!ExpiryPolicy::default().is_fresh(&t));
    }
}
