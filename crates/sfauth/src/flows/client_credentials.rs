//! The client-credentials grant: the connected app logs in as its "run as" integration user
//! with its client id and secret.
//!
//! Salesforce serves it at the org's **My Domain** only, not at login.salesforce.com or
//! test.salesforce.com. No refresh token comes back: when the access token is stale, a new
//! request gets a new one (see [`Renewal::ClientCredentials`](crate::Renewal)).

use crate::client::OAuthClient;
use crate::endpoint::{Endpoint, LoginUrl};
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::http::HttpClient;
use crate::signature;
use crate::token::Token;

/// Errors for the generic login hosts, which do not serve this grant: the request must go to
/// the org's My Domain.
///
/// ```
/// use sfauth::LoginUrl;
/// use sfauth::flows::client_credentials::requires_my_domain;
/// assert!(requires_my_domain(&LoginUrl::parse("https://acme.my.salesforce.com").unwrap()).is_ok());
/// assert!(requires_my_domain(&LoginUrl::parse("https://login.salesforce.com").unwrap()).is_err());
/// ```
pub fn requires_my_domain(login: &LoginUrl) -> Result<()> {
    let host = login.host().to_ascii_lowercase();
    if host == "login.salesforce.com" || host == "test.salesforce.com" {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "the client credentials flow is not served at {host}: it needs the org's My Domain"
            ),
        )
        .with_hint(
            "pass the My Domain as the login URL: https://MyDomainName.my.salesforce.com, or \
             https://MyDomainName--SandboxName.sandbox.my.salesforce.com for a sandbox \
             (Setup > My Domain shows it)",
        ));
    }
    Ok(())
}

/// Requests a token with `grant_type=client_credentials`. The client secret is required.
/// The response's signature is checked. A new request is harmless, so ambiguous failures
/// are retried like 5xx answers.
pub async fn request(
    http: &HttpClient,
    endpoint: &Endpoint,
    client: &OAuthClient,
) -> Result<Token> {
    let Some(secret) = client.client_secret() else {
        return Err(Error::new(
            ErrorKind::Usage,
            "the client credentials flow needs the connected app's client secret",
        )
        .with_hint("give the connected app's Consumer Secret")
        .with_remedy(Remedy::ClientSecret));
    };
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.client_id()),
        ("client_secret", secret.expose()),
        ("format", "json"),
    ];
    let answer = http.post_form(&endpoint.token_url(), &form, true).await?;
    let token = super::read_token_answer(&answer, "client credentials login").map_err(|e| {
        if super::is_generic_invalid_grant(&e) {
            e.with_kind(ErrorKind::ClientRejected).with_hint(
                "enable the client credentials flow in the connected app and set its \"Run As\" \
                 user, and send the request to the org's My Domain",
            )
        } else {
            e
        }
    })?;
    signature::check(&token, Some(secret))?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_login_hosts_are_refused_with_a_hint() {
        for host in [
            "https://login.salesforce.com",
            "https://TEST.salesforce.com",
        ] {
            let e = requires_my_domain(&LoginUrl::parse(host).unwrap()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage);
            assert!(e.hint().unwrap().contains("my.salesforce.com"));
        }
        for ok in [
            "https://acme.my.salesforce.com",
            "https://acme--uat.sandbox.my.salesforce.com",
            "http://127.0.0.1:9",
        ] {
            assert!(
                requires_my_domain(&LoginUrl::parse(ok).unwrap()).is_ok(),
                "{ok}"
            );
        }
    }

    #[tokio::test]
    async fn a_client_without_secret_is_refused_before_any_request() {
        let login = LoginUrl::parse("http://127.0.0.1:9").unwrap();
        let http = HttpClient::new(&Default::default(), &login).unwrap();
        let endpoint = Endpoint::new(login, Default::default());
        let e = request(&http, &endpoint, &OAuthClient::new("c"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains("client secret"));
    }
}
