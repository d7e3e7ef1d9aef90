//! The token endpoint's refusals: Salesforce's `error` and `error_description` for each,
//! and the [`Stats`](crate::Stats) counter each lands in.
//!
//! Every refusal of a grant is a 400 with a JSON body. The other endpoints answer their
//! own errors (the authorize endpoint on the redirect, introspection with a 401), so they
//! are not here.

use axum::http::StatusCode;
use axum::response::Response;

use crate::reply;
use crate::state::{Refusal, Shared};

/// A refusal, with the counter it lands in.
#[derive(Debug)]
pub(crate) enum Denial {
    /// Counted in `rejected`.
    Rejected {
        error: &'static str,
        description: &'static str,
    },
    /// A normal step of a flow rather than a failure (device flow's
    /// `authorization_pending` and `slow_down`): counted in no outcome counter.
    Quiet {
        error: &'static str,
        description: &'static str,
    },
    /// Counted in `refused_parallel`.
    Parallel,
    /// Counted in `reuse_detected`.
    Reused,
}

/// The answer for any refresh token that is unknown, revoked or rotated out.
const EXPIRED_GRANT: (&str, &str) = ("invalid_grant", "expired access/refresh token");

impl Denial {
    /// An `invalid_grant` refusal counted in `rejected`.
    pub(crate) const fn invalid_grant(description: &'static str) -> Self {
        Self::Rejected {
            error: "invalid_grant",
            description,
        }
    }

    const EXPIRED: Self = Self::Rejected {
        error: EXPIRED_GRANT.0,
        description: EXPIRED_GRANT.1,
    };
    pub(crate) const BAD_CLIENT_ID: Self = Self::Rejected {
        error: "invalid_client_id",
        description: "client identifier invalid",
    };
    pub(crate) const BAD_SECRET: Self = Self::Rejected {
        error: "invalid_client",
        description: "invalid client credentials",
    };
    pub(crate) const BAD_BASIC_HEADER: Self = Self::Rejected {
        error: "invalid_basic_auth_header",
        description: "invalid basic auth header",
    };
    pub(crate) const UNSUPPORTED_GRANT: Self = Self::Rejected {
        error: "unsupported_grant_type",
        description: "grant type not supported",
    };

    /// `invalid_request` for a missing form parameter.
    pub(crate) fn missing(param: &'static str) -> Self {
        Self::Rejected {
            error: "invalid_request",
            description: match param {
                "client_id" => "missing required parameter: client_id",
                "refresh_token" => "missing required parameter: refresh_token",
                "code" => "missing required parameter: code",
                "assertion" => "missing required parameter: assertion",
                "username" => "missing required parameter: username",
                "password" => "missing required parameter: password",
                _ => "missing required parameter",
            },
        }
    }

    /// Counts the refusal and renders Salesforce's body for it.
    pub(crate) fn answer(self, shared: &Shared) -> Response {
        let (error, description) = {
            let mut state = shared.lock();
            match self {
                Self::Rejected { error, description } => {
                    state.stats.rejected += 1;
                    (error, description)
                }
                Self::Quiet { error, description } => (error, description),
                Self::Parallel => {
                    state.stats.refused_parallel += 1;
                    ("invalid_grant", "token request is already being processed")
                }
                // The replay gets the same answer as any dead token: Salesforce does not
                // tell the client that it just lost the whole family.
                Self::Reused => {
                    state.stats.reuse_detected += 1;
                    EXPIRED_GRANT
                }
            }
        };
        tracing::debug!(error, description, "token request refused");
        reply::oauth_error(StatusCode::BAD_REQUEST, error, description)
    }
}

impl From<Refusal> for Denial {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Invalid => Self::EXPIRED,
            Refusal::InFlight => Self::Parallel,
            Refusal::Reused => Self::Reused,
        }
    }
}
