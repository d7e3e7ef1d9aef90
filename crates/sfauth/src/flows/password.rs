//! The username-password grant: `grant_type=password` with the user's password (plus the
//! security token when logging in from outside the org's trusted IP ranges).
//!
//! Salesforce recommends against it and blocks it by default in orgs created since Summer
//! '23; it grants no refresh token and its tokens cannot be introspected. It is here for
//! orgs that still allow it: when the access token is stale, the session logs in again
//! (see [`Renewal::Password`](crate::Renewal)).

use crate::app::{AppClient, Credentials, Granted, TokenRequest};
use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;

impl AppClient {
    /// Logs in with a username and `password` (the password followed by the security token,
    /// when one is needed). The client secret is sent when configured, and then the
    /// signature is checked.
    pub async fn password(&self, username: &str, password: &Secret<String>) -> Result<Granted> {
        if username.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Usage,
                "the username-password login needs a username, and it is empty",
            ));
        }
        if password.expose().is_empty() {
            return Err(Error::new(
                ErrorKind::Usage,
                "the username-password login needs a password, and it is empty",
            ));
        }
        self.token_request(TokenRequest {
            what: "password login",
            form: vec![
                ("grant_type", "password"),
                ("username", username),
                ("password", password.expose()),
                ("format", "json"),
            ],
            credentials: Credentials::IfConfigured,
            idempotent: true,
            reclassify: refused,
        })
        .await
    }
}

fn refused(e: Error) -> Error {
    e.with_hint(
        "check the username and the password followed by the security token; the \
         username-password flow may also be blocked in this org (it is by default since \
         Summer '23): use the web, JWT or client credentials login instead",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ConnectedApp;
    use crate::endpoint::{Endpoint, LoginUrl};

    #[tokio::test]
    async fn empty_username_or_password_is_refused_before_any_request() {
        let login = LoginUrl::parse("http://127.0.0.1:9").unwrap();
        let endpoint = Endpoint::new(login, Default::default());
        let client = AppClient::new(ConnectedApp::new("c"), endpoint, &Default::default()).unwrap();
        let e = client.password(" ", &Secret::from("pw")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        let e = client.password("ada", &Secret::from("")).await.unwrap_err();
        assert!(e.to_string().contains("password"));
    }
}
