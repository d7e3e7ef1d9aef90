//! Counters that let tests assert what the token endpoint saw.

use serde::Serialize;

/// What the token endpoint has seen so far; read it with
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
}
