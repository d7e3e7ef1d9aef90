//! What an injected [`Fault`] does to one token request: answer instead of the grant, bend
//! the grant (a wrong signature, a longer wait), or spoil the answer the grant produced.
//!
//! Which fault comes next is the token endpoint's business; what a grant does is the
//! grants'. This module only translates one into the other.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::fault::{self, Fault};
use crate::faulty;
use crate::reply;
use crate::state::Shared;

/// How an injected fault bends a grant that is processed normally.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Twist {
    /// Sign the answer with the wrong key ([`Fault::BadSignature`]).
    pub(crate) bad_signature: bool,
    /// Be "processed" this much longer ([`Fault::Delay`]).
    pub(crate) extra_delay: Duration,
}

impl Twist {
    /// Waits as long as a request that issues tokens is "being processed": the
    /// configured latency plus any injected delay.
    pub(crate) async fn processing_delay(self, shared: &Shared) {
        let latency = shared.lock().latency;
        tokio::time::sleep(latency + self.extra_delay).await;
    }
}

/// What the connection does once a token request has been dealt with.
pub(crate) enum Outcome {
    /// Send this answer.
    Answer(Response),
    /// Drop the connection without an answer.
    Close,
    /// Say nothing for this long, then drop the connection without an answer.
    Hang(Duration),
}

/// What a fault makes of a token request.
pub(crate) enum Plan {
    /// The grant is not run; this is the outcome.
    Instead(Outcome),
    /// The grant runs, bent by the twist; then its answer goes as `After` says.
    Process(Twist, After),
}

/// What happens to the answer of a request that was processed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum After {
    /// It is sent.
    #[default]
    Send,
    /// [`Fault::LoseResponse`].
    Lose,
    /// [`Fault::ResetBeforeBody`].
    ResetBeforeBody,
    /// [`Fault::ResetMidBody`].
    ResetMidBody,
    /// [`Fault::Trickle`].
    Trickle(Duration),
    /// [`Fault::ProcessedThen504`].
    GatewayTimeout,
}

/// The page a gateway in front of Salesforce serves when the origin answers too late.
const GATEWAY_TIMEOUT_PAGE: &str = "<html><head><title>504 Gateway Time-out</title></head>\
<body><center><h1>504 Gateway Time-out</h1></center></body></html>";

/// The plan for a request that consumed `fault` (none: processed and sent as usual).
pub(crate) fn plan(fault: Option<Fault>) -> Plan {
    let Some(fault) = fault else {
        return Plan::Process(Twist::default(), After::Send);
    };
    let answer = |response| Plan::Instead(Outcome::Answer(response));
    let twisted = |twist| Plan::Process(twist, After::Send);
    let after = |after| Plan::Process(Twist::default(), after);
    match fault {
        Fault::Status {
            status,
            content_type,
            body,
        } => answer(reply::raw(
            reply::status_or_500(status),
            &content_type,
            body,
        )),
        Fault::OAuthError {
            status,
            error,
            description,
        } => answer(reply::oauth_error(
            reply::status_or_500(status),
            &error,
            &description,
        )),
        Fault::CloseConnection => Plan::Instead(Outcome::Close),
        Fault::Hang(duration) => Plan::Instead(Outcome::Hang(duration)),
        Fault::GzipBomb { inflated_bytes } => answer(faulty::gzip_bomb(inflated_bytes)),
        Fault::RetryAfter { status, seconds } => {
            let status = reply::status_or_500(status);
            let mut response =
                reply::raw(status, "text/html", fault::default_page(status.as_u16()));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            answer(response)
        }
        Fault::BadSignature => twisted(Twist {
            bad_signature: true,
            ..Twist::default()
        }),
        Fault::Delay(extra_delay) => twisted(Twist {
            extra_delay,
            ..Twist::default()
        }),
        Fault::LoseResponse => after(After::Lose),
        Fault::ResetBeforeBody => after(After::ResetBeforeBody),
        Fault::ResetMidBody => after(After::ResetMidBody),
        Fault::Trickle { delay_per_byte } => after(After::Trickle(delay_per_byte)),
        Fault::ProcessedThen504 => after(After::GatewayTimeout),
    }
}

impl After {
    /// What becomes of `response`, the answer of the processed request.
    pub(crate) async fn apply(self, response: Response) -> Outcome {
        Outcome::Answer(match self {
            Self::Send => response,
            Self::Lose => return Outcome::Close,
            Self::ResetBeforeBody => faulty::reset_before_body(response).await,
            Self::ResetMidBody => faulty::reset_mid_body(response).await,
            Self::Trickle(delay) => faulty::trickle(response, delay).await,
            Self::GatewayTimeout => reply::raw(
                StatusCode::GATEWAY_TIMEOUT,
                "text/html",
                GATEWAY_TIMEOUT_PAGE.to_owned(),
            ),
        })
    }
}
