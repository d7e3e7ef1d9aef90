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
//!
//! Every time here comes from a file or a server, so none is trusted to be in range: sums
//! saturate at [`far_future`] instead of overflowing, an `exp` beyond it is not believed (the
//! next source is used), and a token issued in the future (beyond [`ISSUED_AT_SKEW`]) is
//! not fresh.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::token::Token;

/// Salesforce's default session timeout.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(2 * 60 * 60);

/// The token-file key where sfauth records the introspected expiry (Unix seconds).
pub const INTROSPECTED_EXP_KEY: &str = "sfauth_expires_at";

/// How far in the future a token's `issued_at` may lie and the token still count as fresh.
///
/// This machine's clock and Salesforce's differ by seconds when both keep time, so a few
/// minutes of slack covers honest drift. A token "issued" later than that was written by a
/// machine with a wrong clock or edited by hand, or this clock is wrong; either way its age
/// is unknown and handing it out could hand out a dead token, so it is refreshed instead.
/// (A clock more than this far behind Salesforce's makes every new token look like that:
/// each request then refreshes until the clock is fixed.)
pub const ISSUED_AT_SKEW: Duration = Duration::from_secs(5 * 60);

/// The end of year 9999 (UTC), in seconds since 1970.
const END_OF_YEAR_9999: u64 = 253_402_300_799;

/// The latest time expiry arithmetic reaches: the end of year 9999. A sum past it stops
/// there, so no time computed from a file or an answer can overflow or panic.
///
pub(crate) fn far_future() -> SystemTime {
    // Representable on every platform Rust supports; were it not, the epoch makes every
    // saturated expiry stale, which refreshes rather than hands out a dead token.
    UNIX_EPOCH
        .checked_add(Duration::from_secs(END_OF_YEAR_9999))
        .unwrap_or(UNIX_EPOCH)
}

/// `time + duration`, at most [`far_future`]: never overflows.
pub(crate) fn saturating_add(time: SystemTime, duration: Duration) -> SystemTime {
    time.checked_add(duration)
        .map_or(far_future(), |t| t.min(far_future()))
}

/// The time `secs` seconds after 1970, `None` past [`far_future`] (not a real expiry).
pub(crate) fn unix_secs(secs: u64) -> Option<SystemTime> {
    (secs <= END_OF_YEAR_9999).then(|| saturating_add(UNIX_EPOCH, Duration::from_secs(secs)))
}

/// Where an expiry estimate came from.
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// Salesforce's default session timeout: two hours.
    pub const DEFAULT_MAX_AGE: Duration = DEFAULT_MAX_AGE;

    /// The token-file key where sfauth records the introspected expiry (Unix seconds).
    pub const INTROSPECTED_EXP_KEY: &'static str = INTROSPECTED_EXP_KEY;

    /// Tokens older than `max_age` (the session timeout) less the safety margin are stale,
    /// unless the token says better when it expires. Any `max_age` works, up to
    /// [`Duration::MAX`] (sessions that never time out).
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
    /// use sfauth::{ExpiryPolicy, ExpirySource, Token};
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
        if let Some(at) = token
            .get(INTROSPECTED_EXP_KEY)
            .and_then(seconds)
            .and_then(unix_secs)
        {
            return Some(Expiry {
                at,
                source: ExpirySource::Introspection,
            });
        }
        token.issued_at().map(|t| Expiry {
            at: saturating_add(t, self.max_age),
            source: ExpirySource::SessionTimeout,
        })
    }

    /// The estimated expiry time. `None` when nothing is known.
    pub fn expires_at(&self, token: &Token) -> Option<SystemTime> {
        self.expiry(token).map(|e| e.at)
    }

    /// Whether the token can be handed out at `now`. A token of unknown age is stale, and so
    /// is one issued more than [`ISSUED_AT_SKEW`] after `now`.
    pub fn is_fresh_at(&self, token: &Token, now: SystemTime) -> bool {
        if token
            .issued_at()
            .is_some_and(|issued| issued > saturating_add(now, ISSUED_AT_SKEW))
        {
            return false;
        }
        match self.expires_at(token) {
            Some(expiry) => saturating_add(now, self.margin()) < expiry,
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
    claims.get("exp").and_then(seconds).and_then(unix_secs)
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

    fn jwt_token(exp: &str, issued_at_ms: u64) -> Token {
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"sub":"005x"}}"#));
        Token::from_value(serde_json::json!({
            "access_token": format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln"),
            "instance_url": "https://x", "token_format": "jwt",
            "issued_at": issued_at_ms.to_string(),
        }))
        .unwrap()
    }

    #[test]
    fn jwt_exp_at_or_past_2_pow_63_is_not_believed_and_the_session_timeout_decides() {
        let policy = ExpiryPolicy::default();
        for exp in [
            (1u64 << 63).to_string(),
            u64::MAX.to_string(),
            "1e300".to_owned(),
            "-1".to_owned(),
        ] {
            let t = jwt_token(&exp, 1_000_000_000_000);
            let e = policy.expiry(&t).unwrap();
            assert_eq!(e.source, ExpirySource::SessionTimeout, "{exp}");
            assert!(!policy.is_fresh(&t), "{exp}");
        }
    }

    #[test]
    fn introspected_exp_past_2_pow_63_is_not_believed() {
        let policy = ExpiryPolicy::default();
        for exp in [(1u64 << 63).to_string(), u64::MAX.to_string()] {
            let mut t = token_issued_at(now_ms());
            t.set(INTROSPECTED_EXP_KEY, exp.clone());
            assert_eq!(
                policy.expiry(&t).unwrap().source,
                ExpirySource::SessionTimeout,
                "{exp}"
            );
            assert!(policy.is_fresh(&t), "{exp}: issued just now");
        }
    }

    #[test]
    fn issued_at_of_u64_max_milliseconds_is_stale_not_a_panic() {
        let t = token_issued_at(u64::MAX);
        let policy = ExpiryPolicy::new(Duration::MAX);
        assert!(policy.expiry(&t).unwrap().at <= far_future());
        assert!(!policy.is_fresh(&t));
        assert!(!ExpiryPolicy::default().is_fresh(&t));
    }

    #[test]
    fn max_age_of_duration_max_saturates_and_a_new_token_is_fresh() {
        let t = token_issued_at(now_ms());
        for max_age in [Duration::MAX, Duration::from_secs(u64::MAX)] {
            let policy = ExpiryPolicy::new(max_age);
            assert_eq!(policy.expiry(&t).unwrap().at, far_future());
            assert_eq!(policy.margin(), Duration::from_secs(300));
            assert!(policy.is_fresh(&t));
        }
    }

    #[test]
    fn freshness_at_the_far_future_is_an_answer_not_a_panic() {
        let t = token_issued_at(now_ms());
        let policy = ExpiryPolicy::new(Duration::MAX);
        assert!(!policy.is_fresh_at(&t, far_future()));
        assert!(!ExpiryPolicy::default().is_fresh_at(&t, far_future()));
    }

    #[test]
    fn sums_past_the_far_future_stop_there() {
        assert_eq!(saturating_add(UNIX_EPOCH, Duration::MAX), far_future());
        assert_eq!(
            saturating_add(far_future(), Duration::from_secs(1)),
            far_future()
        );
        assert_eq!(unix_secs(u64::MAX), None);
        assert_eq!(unix_secs(1), Some(UNIX_EPOCH + Duration::from_secs(1)));
    }

    #[test]
    fn token_issued_tomorrow_is_not_fresh() {
        let tomorrow = now_ms() + 24 * 3600 * 1000;
        let t = token_issued_at(tomorrow);
        assert!(!ExpiryPolicy::default().is_fresh(&t));
        assert!(!ExpiryPolicy::new(Duration::MAX).is_fresh(&t));
    }

    #[test]
    fn token_issued_a_little_ahead_of_this_clock_is_fresh() {
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
        let policy = ExpiryPolicy::default();
        let ahead = token_issued_at(1_700_000_000_000 + 60_000);
        assert!(policy.is_fresh_at(&ahead, now));
        let beyond = token_issued_at(1_700_000_000_000 + 6 * 60_000);
        assert!(!policy.is_fresh_at(&beyond, now));
    }

    #[test]
    fn jwt_that_is_valid_but_issued_tomorrow_is_not_fresh() {
        let exp = (now_ms() / 1000 + 3 * 24 * 3600).to_string();
        let t = jwt_token(&exp, now_ms() + 24 * 3600 * 1000);
        assert!(!ExpiryPolicy::default().is_fresh(&t));
    }
}
