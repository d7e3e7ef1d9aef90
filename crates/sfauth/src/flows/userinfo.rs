//! OpenID Connect UserInfo: who a token belongs to.

use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::http::HttpClient;
use crate::secret::Secret;

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

/// GETs `{instance_url}/services/oauth2/userinfo` with the access token.
pub async fn userinfo(
    http: &HttpClient,
    instance_url: &str,
    access_token: &Secret<String>,
) -> Result<UserInfo> {
    let url = format!(
        "{}/services/oauth2/userinfo",
        instance_url.trim_end_matches('/')
    );
    let answer = http
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
