//! Scripted misbehaviour of the token endpoint.

use std::time::Duration;

/// One misbehaviour of the token endpoint, queued with [`Emulator::inject`].
///
/// Faults are consumed first in, first out: each token-endpoint request takes the oldest
/// queued fault, whatever the request contains. Every consumed fault counts in
/// [`Stats::faults_served`](crate::Stats::faults_served).
///
/// [`Emulator::inject`]: crate::Emulator::inject
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this raw response instead of processing the request, for example a
    /// `503 text/html` maintenance page or a `200` that is not JSON.
    Status {
        /// HTTP status code. An invalid code is answered as 500.
        status: u16,
        /// `Content-Type` header of the answer.
        content_type: String,
        /// Body of the answer, sent as is.
        body: String,
    },
    /// Answer with a Salesforce-shaped error body
    /// `{"error": error, "error_description": description}` instead of processing the request.
    OAuthError {
        /// HTTP status code. An invalid code is answered as 500.
        status: u16,
        /// The `error` code, such as `invalid_grant`.
        error: String,
        /// The `error_description` text.
        description: String,
    },
    /// Read the whole request, then drop the TCP connection without any answer, so the
    /// client sees an incomplete message after sending. Nothing is processed.
    CloseConnection,
    /// Process the request normally (a refresh really happens and may rotate the token), then
    /// drop the connection without an answer: the "lost response" case, where the server
    /// moved on but the client never learned the new refresh token.
    LoseResponse,
    /// Process the request normally but answer with a wrong `signature`.
    BadSignature,
    /// Process the request normally after this extra delay, on top of the configured latency.
    ///
    /// The refresh token counts as "being processed" for the whole delay, so a client that
    /// times out and retries at once gets `token request is already being processed`.
    Delay(Duration),
}
