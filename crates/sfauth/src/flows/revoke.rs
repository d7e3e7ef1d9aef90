//! Revoking a token: `POST {login}{site}/services/oauth2/revoke` with `token=`.
//!
//! A refresh token's revocation also kills every access token issued from it. Salesforce
//! answers 200 on success and 400 with `invalid_token` or `unsupported_token_type`
//! otherwise, sometimes form-encoded rather than JSON, so the body is read defensively.

use crate::app::AppClient;
use crate::error::{Error, ErrorKind, Result};
use crate::secret::IssuedToken;

impl AppClient {
    /// Revokes `token` (an access or a refresh token).
    ///
    /// A token Salesforce already considers invalid (expired, revoked, or unknown) is an
    /// [`ErrorKind::LoginRequired`] error saying so, so the caller can decide whether that
    /// counts as done. 5xx answers and lost answers are retried: revoking twice is harmless.
    pub async fn revoke<'a>(&self, token: impl Into<IssuedToken<'a>>) -> Result<()> {
        let token = token.into();
        if token.expose().is_empty() {
            return Err(Error::new(ErrorKind::Usage, "there is no token to revoke"));
        }
        let form = [("token", token.expose())];
        let answer = self
            .post(&self.endpoint().revoke_url(), &form, true)
            .await?;
        if answer.status == 200 {
            return Ok(());
        }
        if let Some(oauth) = super::parse_oauth_error(&answer.body) {
            match oauth.error.as_str() {
                "invalid_token" => {
                    return Err(Error::new(
                        ErrorKind::LoginRequired,
                        format!(
                            "the token was already invalid, so there was nothing to revoke ({oauth})"
                        ),
                    )
                    .with_hint("it was revoked or expired before; log in again if you need a token")
                    .with_status(answer.status)
                    .with_oauth(oauth));
                }
                "unsupported_token_type" => {
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!("Salesforce does not revoke this kind of token ({oauth})"),
                    )
                    .with_hint("revoke the refresh token, or an access token issued through OAuth")
                    .with_status(answer.status)
                    .with_oauth(oauth));
                }
                _ => {}
            }
        }
        Err(super::error_answer(&answer, "revocation"))
    }
}
