//! Token introspection (RFC 7662): ask Salesforce whether a token is active, and until when.
//!
//! Salesforce sends no `expires_in`, so this is the one way to learn a token's real expiry
//! (`exp`). A connected app may introspect its own tokens; username-password tokens always
//! come back inactive.

use serde::{Deserialize, Deserializer};

use crate::app::AppClient;
use crate::error::{Error, ErrorKind, Result};
use crate::secret::IssuedToken;

/// What Salesforce says about a token.
///
/// ```
/// let answer: sfauth::Introspection = serde_json::from_str(
///     r#"{"active":true,"scope":"api","exp":1700007200,"iat":"1700000000","nbf":1}"#).unwrap();
/// assert!(answer.active);
/// assert_eq!((answer.exp, answer.iat), (Some(1700007200), Some(1700000000)));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Introspection {
    /// Whether the token is valid now. An inactive answer carries nothing else.
    pub active: bool,
    /// The expiry, in seconds since 1970.
    #[serde(default, deserialize_with = "seconds")]
    pub exp: Option<u64>,
    /// When the token was issued, in seconds since 1970.
    #[serde(default, deserialize_with = "seconds")]
    pub iat: Option<u64>,
    /// The granted scopes, space-separated.
    #[serde(default)]
    pub scope: Option<String>,
    /// The connected app the token was issued to.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The user's username.
    #[serde(default)]
    pub username: Option<String>,
    /// The user's identity URL.
    #[serde(default)]
    pub sub: Option<String>,
    /// `access_token` or `refresh_token`.
    #[serde(default)]
    pub token_type: Option<String>,
}

/// A time in seconds, as a JSON number or a string of digits.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(u64),
        Text(String),
    }
    Ok(match Option::<Seconds>::deserialize(d)? {
        None => None,
        Some(Seconds::Number(n)) => Some(n),
        Some(Seconds::Text(s)) => s.trim().parse().ok(),
    })
}

impl AppClient {
    /// Introspects `token`, an access or a refresh token (its kind is the
    /// `token_type_hint`). The client secret is sent when configured (Salesforce
    /// authenticates the caller). Safe to repeat, so lost answers are retried.
    pub async fn introspect<'a>(&self, token: impl Into<IssuedToken<'a>>) -> Result<Introspection> {
        let token = token.into();
        let mut form = vec![
            ("token", token.expose()),
            ("token_type_hint", token.type_hint()),
        ];
        form.extend(self.app().form_credentials());
        let answer = self
            .post(&self.endpoint().introspect_url(), &form, true)
            .await?;
        let body = super::ok_body(&answer, "introspection")?;
        serde_json::from_slice(body).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("the introspection answer is not what RFC 7662 describes: {e}"),
            )
            .with_hint("check that the login URL points at Salesforce (or the emulator)")
            .with_status(answer.status)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inactive_answer_has_only_active() {
        let i: Introspection = serde_json::from_str(r#"{"active":false}"#).unwrap();
        assert_eq!(i, Introspection::default());
    }

    #[test]
    fn salesforce_answer_is_read_in_full() {
        let i: Introspection = serde_json::from_str(
            r#"{"active":true,"scope":"api refresh_token","client_id":"3MVG9","username":"ada@example.com",
                "sub":"https://login.salesforce.com/id/00D/005","token_type":"access_token",
                "exp":1700007200,"iat":1700000000,"nbf":1700000000}"#,
        )
        .unwrap();
        assert!(i.active);
        assert_eq!(i.exp, Some(1_700_007_200));
        assert_eq!(i.username.as_deref(), Some("ada@example.com"));
        assert_eq!(i.token_type.as_deref(), Some("access_token"));
    }
}
