//! Checking JWT bearer assertions.
//!
//! Salesforce's exact error texts for bad assertions are not documented; these are the
//! emulator's, in the order they are checked:
//!
//! | Problem | `error` | `error_description` |
//! |---|---|---|
//! | no certificate configured, not a JWT, not RS256, bad signature, `exp` or `sub` missing | `invalid_grant` | `invalid assertion` |
//! | `iss` is not the consumer key | `invalid_client_id` | `client identifier invalid` |
//! | no `aud` is an accepted audience | `invalid_grant` | `audience is invalid` |
//! | `exp` is not in the future | `invalid_grant` | `expired JWT` |
//! | `exp` is more than 5 minutes ahead | `invalid_grant` | `expiration too far in the future` |

use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::client_auth;
use crate::credentials;
use crate::denial::Denial;
use crate::state::Shared;

/// How far ahead `exp` may be. Salesforce says "within 3 minutes"; common clients use
/// 5 minutes (`@salesforce/core` among them), so that is accepted.
const MAX_LIFETIME_SECS: f64 = 300.0;

/// Slack on top of [`MAX_LIFETIME_SECS`] for rounding and slow test machines.
const SLACK_SECS: f64 = 5.0;

const INVALID_ASSERTION: Denial = Denial::invalid_grant("invalid assertion");

/// The claims Salesforce looks at. Any may be missing; the checks below decide.
#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    /// The legacy name of `sub`; it wins when both are present.
    prn: Option<String>,
    aud: Option<Audience>,
    exp: Option<f64>,
}

/// `aud` is a string or an array of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn values(&self) -> &[String] {
        match self {
            Self::One(one) => std::slice::from_ref(one),
            Self::Many(many) => many,
        }
    }
}

/// Verifies an assertion and returns the username it asks a token for.
pub(crate) fn verify(shared: &Shared, assertion: &str) -> Result<String, Denial> {
    let Some(key) = &shared.jwt_key else {
        tracing::debug!("JWT bearer refused: no certificate configured");
        return Err(INVALID_ASSERTION);
    };
    // Only the signature and shape are left to jsonwebtoken; the claims are checked
    // below so each problem gets its own answer.
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Claims>(assertion, key, &validation)
        .map_err(|error| {
            tracing::debug!(%error, "JWT bearer refused: invalid assertion");
            INVALID_ASSERTION
        })?
        .claims;

    let config = &shared.config;
    if !claims
        .iss
        .as_deref()
        .is_some_and(|iss| client_auth::is_client_id(config, iss))
    {
        return Err(Denial::BAD_CLIENT_ID);
    }
    let accepted = accepted_audiences(shared);
    let audience_ok = claims.aud.as_ref().is_some_and(|aud| {
        aud.values()
            .iter()
            .any(|value| accepted.iter().any(|a| a == value.trim_end_matches('/')))
    });
    if !audience_ok {
        return Err(Denial::invalid_grant("audience is invalid"));
    }
    let Some(exp) = claims.exp else {
        return Err(INVALID_ASSERTION);
    };
    // Unix seconds fit an f64 exactly for millions of years.
    #[allow(clippy::cast_precision_loss)]
    let now = credentials::unix_now() as f64;
    if exp <= now {
        return Err(Denial::invalid_grant("expired JWT"));
    }
    if exp > now + MAX_LIFETIME_SECS + SLACK_SECS {
        return Err(Denial::invalid_grant("expiration too far in the future"));
    }
    claims
        .prn
        .or(claims.sub)
        .filter(|user| !user.is_empty())
        .ok_or(INVALID_ASSERTION)
}

/// The `aud` values accepted: production and sandbox login hosts, the emulator's URL,
/// and its URL with the site prefix (an Experience Cloud site's URL).
fn accepted_audiences(shared: &Shared) -> Vec<String> {
    vec![
        "https://login.salesforce.com".to_owned(),
        "https://test.salesforce.com".to_owned(),
        shared.url.clone(),
        format!("{}{}", shared.url, shared.config.site),
    ]
}
