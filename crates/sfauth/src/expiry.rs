//! [`ExpiryPolicy`]: when a stored access token is too old to hand out.
//!
//! Salesforce sends no `expires_in`. The expiry comes from the best source available:
//! 1. the `exp` claim when the access token is a JWT (`token_format: "jwt"`);
//! 2. the introspection endpoint's `exp`, recorded in the token file at refresh time under
//!    [`INTROSPECTED_EXP_KEY`] (one call per refresh, when the org is set to use it);
//! 3. otherwise `issued_at` plus the session timeout (2 hours by default, set per connected
//!    app, profile or org). This is conservative: use only extends a session.
//!
//! A margin is kept before the expiry, so a token handed out does not die in the caller's
//! hands.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::token::Token;

/// Salesforce's default session timeout.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(2 * 60 * 60);

/// The token-file key where sfauth records the introspected expiry (Unix seconds).
pub const INTROSPECTED_EXP_KEY: &str = "sfauth_expires_at";

/// Where an expiry estimate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpirySource {
    /// The `exp` claim of a JWT access token.
    JwtExp,
    /// The introspection endpoint's `exp`, recorded at the last refresh.
    Introspection,
    /// `issued_at` plus the session timeout.
    SessionTimeout,
}

impl ExpirySource {
    /// A stable name, as in `status --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpirySource::JwtExp => "jwt_exp",
            ExpirySource::Introspection => "introspection",
            ExpirySource::SessionTimeout => "session_timeout",
        }
    }
}

/// When a token expires, and how sfauth knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    /// The expiry time.
    pub at: SystemTime,
    /// Where it came from.
    pub source: ExpirySource,
}

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
    /// Tokens older than `max_age` (the session timeout) less the safety margin are stale,
    /// unless the token says better when it expires.
    pub fn new(max_age: Duration) -> Self {
        ExpiryPolicy { max_age }
    }

    /// The session timeout assumed.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The safety margin: a tenth of `max_age`, at most five minutes.
    pub fn margin(&self) -> Duration {
        (self.max_age / 10).min(Duration::from_secs(300))
    }

    /// The expiry from the best source the token offers. `None` when nothing is known
    /// (no JWT, no introspected expiry, no `issued_at`).
    ///
    /// ```
    /// use sfauth::{ExpiryPolicy, Token, expiry::ExpirySource};
    /// let token = Token::from_json(br#"{"access_token":"00D!x","instance_url":"https://x",
    ///     "issued_at":"1700000000000"}"#).unwrap();
    /// let expiry = ExpiryPolicy::default().expiry(&token).unwrap();
    /// assert_eq!(expiry.source, ExpirySource::SessionTimeout);
    /// ```
    pub fn expiry(&self, token: &Token) -> Option<Expiry> {
        if let Some(at) = jwt_exp(token) {
            return Some(Expiry {
                at,
                source: ExpirySource::JwtExp,
            });
        }
        if let Some(secs) = token.get(INTROSPECTED_EXP_KEY).and_then(seconds) {
            return Some(Expiry {
                at: UNIX_EPOCH + Duration::from_secs(secs),
                source: ExpirySource::Introspection,
            });
        }
        token.issued_at().map(|t| Expiry {
            at: t + self.max_age,
            source: ExpirySource::SessionTimeout,
        })
    }

    /// The estimated expiry time. `None` when nothing is known.
    pub fn expires_at(&self, token: &Token) -> Option<SystemTime> {
        self.expiry(token).map(|e| e.at)
    }

    /// Whether the token can be handed out at `now`. A token of unknown age is stale.
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

fn seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The `exp` claim of a JWT access token, read without verifying the signature: it only
/// decides when to refresh, and Salesforce is the judge of the token.
fn jwt_exp(token: &Token) -> Option<SystemTime> {
    let access = token.access_token();
    let text = access.expose();
    let looks_like_jwt = token.token_format() == Some("jwt") || text.starts_with("eyJ");
    if !looks_like_jwt {
        return None;
    }
    let mut parts = text.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims
        .get("exp")
        .and_then(seconds)
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_issued_at(ms: u64) -> Token {
        Token::from_json(
            format!(r#"{{"access_token":"a","instance_url":"https://x","issued_at":"{ms}"}}"#)
                .as_bytes(),
        )
        .unwrap()
    }

    fn now_ms() -> u64 {
        u64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
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
        assert!(!ExpiryPolicy::new(Duration::ZERO).is_fresh(&token_issued_at(now_ms())));
    }

    #[test]
    fn token_without_issued_at_is_stale() {
        let t = Token::from_json(br#"{"access_token":"a","instance_url":"https://x"}"#).unwrap();
        assert!(!ExpiryPolicy::default().is_fresh(&t));
        assert_eq!(ExpiryPolicy::default().expiry(&t), None);
    }

    #[test]
    fn jwt_access_token_expires_at_its_exp_claim() {
        let exp = now_ms() / 1000 + 600;
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"sub":"005x"}}"#));
        let jwt = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln");
        let t = Token::from_value(serde_json::json!({
            "access_token": jwt, "instance_url": "https://x", "token_format": "jwt",
            // issued long ago: the session-timeout estimate alone would call it stale
            "issued_at": "1000000000000",
        }))
        .unwrap();
        let e = ExpiryPolicy::default().expiry(&t).unwrap();
        assert_eq!(e.source, ExpirySource::JwtExp);
        assert_eq!(e.at, UNIX_EPOCH + Duration::from_secs(exp));
        assert!(ExpiryPolicy::default().is_fresh(&t));
    }

    #[test]
    fn introspected_expiry_beats_the_session_timeout() {
        let mut t = token_issued_at(now_ms());
        t.set(INTROSPECTED_EXP_KEY, (now_ms() / 1000 + 60).to_string());
        let policy = ExpiryPolicy::default();
        assert_eq!(
            policy.expiry(&t).unwrap().source,
            ExpirySource::Introspection
        );
        // 60 s left is inside the 5 min margin: stale, although issued just now.
        assert!(!policy.is_fresh(&t));
    }

    #[test]
    fn opaque_token_with_dots_is_not_taken_for_a_jwt() {
        let t = Token::from_json(
            br#"{"access_token":"00D.x.y","instance_url":"https://x","issued_at":"1"}"#,
        )
        .unwrap();
        assert_eq!(
            ExpiryPolicy::default().expiry(&t).unwrap().source,
            ExpirySource::SessionTimeout
        );
    }
}
