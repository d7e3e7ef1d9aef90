//! The client-credentials grant: the connected app logs in as its "run as" integration user
//! with its client id and secret.
//!
//! Salesforce serves it at the org's **My Domain** only, not at login.salesforce.com or
//! test.salesforce.com. No refresh token comes back: when the access token is stale, a new
//! request gets a new one (see [`Renewal::ClientCredentials`](crate::Renewal)).

use crate::app::{AppClient, Credentials, Granted, TokenRequest};
use crate::endpoint::LoginUrl;
use crate::error::{Error, ErrorKind, Result};

/// Errors for the generic login hosts, which do not serve this grant: the request must go to
/// the org's My Domain.
fn requires_my_domain(login: &LoginUrl) -> Result<()> {
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

impl AppClient {
    /// Requests a token with `grant_type=client_credentials`. The client secret is required,
    /// and the endpoint must be the org's My Domain (login.salesforce.com and
    /// test.salesforce.com do not serve this grant): either missing is a usage error before
    /// anything is sent. The response's signature is checked. A new request is harmless, so
    /// ambiguous failures are retried like 5xx answers.
    pub async fn client_credentials(&self) -> Result<Granted> {
        requires_my_domain(self.endpoint().login_url())?;
        self.token_request(TokenRequest {
            what: "client credentials login",
            form: vec![("grant_type", "client_credentials"), ("format", "json")],
            credentials: Credentials::SecretRequired,
            idempotent: true,
            reclassify: refused,
        })
        .await
    }
}

fn refused(e: Error) -> Error {
    e.with_kind(ErrorKind::ClientRejected).with_hint(
        "enable the client credentials flow in the connected app and set its \"Run As\" \
         user, and send the request to the org's My Domain",
    )
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
        let endpoint = crate::Endpoint::new(login, Default::default());
        let client =
            AppClient::new(crate::ConnectedApp::new("c"), endpoint, &Default::default()).unwrap();
        let e = client.client_credentials().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains("client secret"));
    }
}
