//! Client authentication: which connected app is asking, checked one way for every grant
//! and for introspection.
//!
//! The consumer key and secret come from the form, or else from an HTTP Basic header. A
//! wrong key is `invalid_client_id`; a wrong secret is `invalid_client`, and a secret that
//! is sent is checked even where none is required, as Salesforce does. This module does not
//! decide what a grant needs besides the client (codes, assertions, users).

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::config::Config;
use crate::credentials::constant_time_eq;
use crate::denial::Denial;
use crate::form::Params;

/// Whether a request needs the client secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SecretPolicy {
    /// Checked only when sent.
    IfSent,
    /// Must be sent, and right.
    Required,
}

impl SecretPolicy {
    /// The refresh-token grant's policy: [`Config::require_secret`].
    pub(crate) fn for_refresh(config: &Config) -> Self {
        if config.require_secret {
            Self::Required
        } else {
            Self::IfSent
        }
    }
}

/// The client id and secret a request presents, not yet checked.
///
/// It has no `Debug`, so the secret cannot reach a log by way of `{:?}`.
pub(crate) struct Presented {
    id: String,
    secret: Option<String>,
}

impl Presented {
    /// The client id and secret from the form, or else from an HTTP Basic header. An empty
    /// value counts as none: the Salesforce CLI's default app sends `client_secret=""`.
    ///
    /// A malformed Basic header is refused first, then a missing client id.
    pub(crate) fn from_request(headers: &HeaderMap, params: &Params) -> Result<Self, Denial> {
        let (basic_id, basic_secret) = match headers.get(header::AUTHORIZATION) {
            Some(value) => basic_credentials(value.as_bytes()).ok_or(Denial::BAD_BASIC_HEADER)?,
            None => (None, None),
        };
        let id = params
            .get("client_id")
            .map(str::to_owned)
            .or(basic_id)
            .ok_or_else(|| Denial::missing("client_id"))?;
        let secret = params
            .get("client_secret")
            .map(str::to_owned)
            .or(basic_secret);
        Ok(Self { id, secret })
    }

    /// Checks the id, then the secret per `policy`.
    pub(crate) fn check(&self, config: &Config, policy: SecretPolicy) -> Result<(), Denial> {
        if !is_client_id(config, &self.id) {
            return Err(Denial::BAD_CLIENT_ID);
        }
        match &self.secret {
            Some(secret) if !constant_time_eq(secret, &config.client_secret) => {
                Err(Denial::BAD_SECRET)
            }
            None if policy == SecretPolicy::Required => Err(Denial::BAD_SECRET),
            _ => Ok(()),
        }
    }
}

/// Reads and checks the client of a request in one step: [`Presented::from_request`],
/// then [`Presented::check`].
pub(crate) fn authenticate(
    config: &Config,
    headers: &HeaderMap,
    params: &Params,
    policy: SecretPolicy,
) -> Result<(), Denial> {
    Presented::from_request(headers, params)?.check(config, policy)
}

/// Whether `id` is the connected app's consumer key, compared in constant time.
pub(crate) fn is_client_id(config: &Config, id: &str) -> bool {
    constant_time_eq(id, &config.client_id)
}

/// Parses `Basic base64(id:secret)`. Returns `None` for a malformed header, and empty
/// parts as `None`.
fn basic_credentials(value: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Some((some(id), some(secret)))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn basic_header_yields_id_and_secret() {
        let header = format!("Basic {}", STANDARD.encode("id:se:cret"));
        assert_eq!(
            basic_credentials(header.as_bytes()),
            Some((Some("id".to_owned()), Some("se:cret".to_owned())))
        );
    }

    #[test]
    fn basic_header_without_secret_yields_only_the_id() {
        let header = format!("basic {}", STANDARD.encode("id:"));
        assert_eq!(
            basic_credentials(header.as_bytes()),
            Some((Some("id".to_owned()), None))
        );
    }

    #[test]
    fn malformed_basic_headers_are_refused() {
        for header in ["Basic !!!", "Bearer abc", "Basic", "Basic aWQ="] {
            assert_eq!(basic_credentials(header.as_bytes()), None, "{header}");
        }
    }

    /// A Basic header carrying `id:secret`.
    fn basic(id: &str, secret: &str) -> HeaderMap {
        let value = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        headers
    }

    fn is_bad_secret(result: &Result<(), Denial>) -> bool {
        matches!(
            result,
            Err(Denial::Rejected {
                error: "invalid_client",
                ..
            })
        )
    }

    #[test]
    fn the_form_wins_over_the_basic_header_and_an_empty_form_value_does_not() {
        let config = Config::default();
        let headers = basic(&config.client_id, "wrong");
        let right_in_form = Params::from([("client_secret", config.client_secret.as_str())]);
        assert!(authenticate(&config, &headers, &right_in_form, SecretPolicy::Required).is_ok());

        let empty_in_form = Params::from([("client_secret", "")]);
        let refused = authenticate(&config, &headers, &empty_in_form, SecretPolicy::IfSent);
        assert!(is_bad_secret(&refused), "{refused:?}");
    }

    #[test]
    fn a_secret_that_is_sent_is_checked_even_when_none_is_required() {
        let config = Config::default();
        let no_secret = Params::from([("client_id", config.client_id.as_str())]);
        let none = HeaderMap::new();
        assert!(authenticate(&config, &none, &no_secret, SecretPolicy::IfSent).is_ok());
        let required = authenticate(&config, &none, &no_secret, SecretPolicy::Required);
        assert!(is_bad_secret(&required), "{required:?}");

        let wrong = Params::from([
            ("client_id", config.client_id.as_str()),
            ("client_secret", "x"),
        ]);
        let refused = authenticate(&config, &none, &wrong, SecretPolicy::IfSent);
        assert!(is_bad_secret(&refused), "{refused:?}");
    }
}
