//! Counters that let tests assert what the token endpoint saw.

use serde::Serialize;

/// What the emulator's endpoints have seen so far; read it with
/// [`Emulator::stats`](crate::Emulator::stats) or `GET /__emulator/stats`.
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
}
