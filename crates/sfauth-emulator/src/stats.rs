//! Counters that let tests assert what the token endpoint saw.

use serde::Serialize;

/// What the emulator's endpoints have seen so far; read it with
/// [`Emulator::stats`](crate::Emulator::stats) or `GET /__emulator/stats`, or check some
/// counters in one line with [`assert_hits!`](crate::assert_hits).
///
/// Each token request lands in at most one of the outcome counters, so a test can tell
/// a client that serializes its refreshes (no `refused_parallel`) from one that replays
/// stale tokens (`reuse_detected`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Every POST to the token endpoint, whatever its outcome.
    pub token_requests: u64,
    /// Successful `refresh_token` grants.
    pub refreshes_served: u64,
    /// Refused because the same refresh token was already being processed.
    pub refused_parallel: u64,
    /// A rotated-out refresh token was replayed, so its whole family was revoked.
    pub reuse_detected: u64,
    /// Other 4xx answers from the token endpoint (bad client, unknown token, bad request).
    pub rejected: u64,
    /// Injected faults consumed by token requests.
    pub faults_served: u64,
    /// Requests to the authorize endpoint, whatever their outcome.
    pub authorizations: u64,
    /// Successful `authorization_code` grants.
    pub codes_exchanged: u64,
    /// Successful JWT bearer grants.
    pub jwt_grants: u64,
    /// Successful `client_credentials` grants.
    pub client_credentials_grants: u64,
    /// Successful `password` (username-password) grants.
    pub password_grants: u64,
    /// Device-flow polls (`grant_type=device`), whatever their outcome. The
    /// `authorization_pending` and `slow_down` answers count here only, not in `rejected`.
    pub device_polls: u64,
    /// Successful revocations (answered 200).
    pub revocations: u64,
    /// Requests to the introspection endpoint, whatever their outcome.
    pub introspections: u64,
    /// REST resource requests (`/services/data/...`, UserInfo, identity).
    pub rest_requests: u64,
    /// REST resource requests answered 401 `INVALID_SESSION_ID`.
    pub rest_unauthorized: u64,
    /// Single-use frontdoor URLs made (`/services/oauth2/singleaccess`).
    pub frontdoor_urls: u64,
    /// Browsers let in by a frontdoor URL (`/secur/frontdoor.jsp`), each URL once.
    pub frontdoor_logins: u64,
    /// Frontdoor URLs refused: unknown, or used already.
    pub frontdoor_refused: u64,
}

/// Asserts how often an emulator was hit: each named [`Stats`] counter must have the value
/// given; counters not named are not checked.
///
/// The first argument is anything with a `stats()` method that returns [`Stats`], such as
/// an [`Emulator`](crate::Emulator). Counter names are checked by the compiler. When a
/// counter differs, the panic names every counter that differs and then shows them all, so
/// one failure says what the client did instead.
///
/// ```
/// use sfauth_emulator::{Config, Emulator, assert_hits};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let emulator = Emulator::start(Config::default())?;
/// // A side door: no request reaches the server, so nothing is counted.
/// emulator.issue_token("alice@example.com");
/// assert_hits!(emulator, token_requests: 0);
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// let answer = runtime.block_on(
///     reqwest::Client::new()
///         .post(emulator.token_url())
///         .form(&[
///             ("grant_type", "refresh_token"),
///             ("client_id", emulator.config().client_id.as_str()),
///             ("refresh_token", "5Aep861never.issued"),
///         ])
///         .send(),
/// )?;
/// assert_eq!(answer.status(), 400);
/// assert_hits!(emulator, token_requests: 1, rejected: 1, refreshes_served: 0);
/// # Ok(())
/// # }
/// ```
///
/// # Panics
///
/// When a named counter does not have its value; that is the point.
#[macro_export]
macro_rules! assert_hits {
    ($emulator:expr, $($counter:ident: $expected:expr),+ $(,)?) => {{
        let stats: $crate::Stats = $emulator.stats();
        let mut differ: ::std::vec::Vec<::std::string::String> = ::std::vec::Vec::new();
        $(
            let expected: u64 = $expected;
            if stats.$counter != expected {
                differ.push(::std::format!(
                    "{} is {}, expected {}",
                    ::std::stringify!($counter),
                    stats.$counter,
                    expected,
                ));
            }
        )+
        ::std::assert!(
            differ.is_empty(),
            "emulator hits: {}\nall counters: {:?}",
            differ.join("; "),
            stats,
        );
    }};
}
