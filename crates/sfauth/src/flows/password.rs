//! The username-password grant: `grant_type=password` with the user's password (plus the
//! security token when logging in from outside the org's trusted IP ranges).
//!
//! Salesforce recommends against it and blocks it by default in orgs created since Summer
//! '23; it grants no refresh token and its tokens cannot be introspected. It is here for
//! orgs that still allow it: when the access token is stale, the session logs in again
//! (see [`Renewal::Password`](crate::Renewal)).

use crate::client::OAuthClient;
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::http::HttpClient;
use crate::secret::Secret;
use crate::signature;
use crate::token::Token;

/// Logs in with a username and `password` (the password followed by the security token,
/// when one is needed). The client secret is sent when configured, and then the signature
/// is checked.
pub async fn request(
    http: &HttpClient,
    endpoint: &Endpoint,
    client: &OAuthClient,
    username: &str,
    password: &Secret<String>,
) -> Result<Token> {
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
    let mut form = vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password.expose()),
        ("format", "json"),
    ];
    form.extend(client.form_credentials());
    let answer = http.post_form(&endpoint.token_url(), &form, true).await?;
    let token = super::read_token_answer(&answer, "password login").map_err(|e| {
        if super::is_generic_invalid_grant(&e) {
            e.with_hint(
                "check the username and the password followed by the security token; the \
                 username-password flow may also be blocked in this org (it is by default since \
                 Summer '23): use the web, JWT or client credentials login instead",
            )
        } else {
            e
        }
    })?;
    signature::check(&token, client.client_secret())?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::LoginUrl;

    #[tokio::test]
    async fn empty_username_or_password_is_refused_before_any_request() {
        let login = LoginUrl::parse("http://127.0.0.1:9").unwrap();
        let http = HttpClient::new(&Default::default(), &login).unwrap();
        let endpoint = Endpoint::new(login, Default::default());
        let client = OAuthClient::new("c");
        let e = request(&http, &endpoint, &client, " ", &Secret::from("pw"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        let e = request(&http, &endpoint, &client, "ada", &Secret::from(""))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("password"));
    }
}
