//! OpenID Connect UserInfo: who a token belongs to.

use serde::Deserialize;

use crate::app::AppClient;
use crate::error::{Error, ErrorKind, Result};
use crate::secret::AccessToken;

/// The parts of `/services/oauth2/userinfo` sfauth uses. Unknown fields are ignored.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct UserInfo {
    /// The Salesforce username, e.g. `ada@acme.com`.
    pub preferred_username: Option<String>,
    /// The user ID (`005...`).
    pub user_id: Option<String>,
    /// The org ID (`00D...`).
    pub organization_id: Option<String>,
    /// The user's email address.
    pub email: Option<String>,
}

impl AppClient {
    /// GETs `{instance_url}/services/oauth2/userinfo` with the access token: who it belongs
    /// to. The instance URL is the token's own (its `instance_url`), not the login host.
    pub async fn userinfo(
        &self,
        instance_url: &str,
        access_token: &AccessToken,
    ) -> Result<UserInfo> {
        let url = format!(
            "{}/services/oauth2/userinfo",
            instance_url.trim_end_matches('/')
        );
        let answer = self
            .http()
            .send_bearer("GET", &url, &[], None, access_token)
            .await?;
        if answer.status != 200 {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "UserInfo answered HTTP {}{}",
                    answer.status,
                    crate::http::summary(&answer.body)
                ),
            ));
        }
        serde_json::from_slice(&answer.body).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("UserInfo answered something that is not JSON ({e})"),
            )
        })
    }
}
