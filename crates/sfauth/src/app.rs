//! [`AppClient`]: one connected app at one login endpoint, with a method per grant.
//!
//! Every grant goes through the same request path ([`AppClient::token_request`]): the
//! grant's form plus the app's credentials, POSTed by the one [`HttpClient`], the answer
//! read and classified once, and the signature checked once. Each grant's own rules (its
//! form, what its `invalid_grant` means) live in its module under `flows`, as an
//! `impl AppClient` block, so the methods read as one API.

use crate::client::ConnectedApp;
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::http::{Answer, HttpClient, HttpConfig};
use crate::signature::{self, SignatureCheck};
use crate::token::Token;

/// A token a grant issued, with what its signature check found.
///
/// Every grant method of [`AppClient`] returns one: a response whose signature does not
/// match the client secret is an error, never a `Granted`.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Granted {
    /// The token response as Salesforce sent it (not merged with any stored token).
    pub token: Token,
    /// What the signature check found.
    pub signature: SignatureCheck,
}

impl From<Granted> for Token {
    /// The token, for a caller that has no use for the signature check's finding (the
    /// check itself already passed).
    fn from(granted: Granted) -> Token {
        granted.token
    }
}

/// A connected app talking to one login endpoint.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{AppClient, ClientSecret, ConnectedApp, Endpoint, HttpConfig, LoginUrl,
///              SignatureCheck, SitePrefix};
/// # let org = sfauth_emulator::spawn(Default::default()).await.unwrap();
/// # let login_url = org.url();
/// # let (client_id, secret) = (org.config().client_id.clone(), org.config().client_secret.clone());
/// let app = ConnectedApp::new(client_id).with_secret(ClientSecret::new(secret));
/// let endpoint = Endpoint::new(LoginUrl::parse(&login_url)?, SitePrefix::default());
/// let client = AppClient::new(app, endpoint, &HttpConfig::default())?;
/// # let stored = org.issue_token("ada@example.com");
/// # let refresh_token = sfauth::RefreshToken::new(stored["refresh_token"].as_str().unwrap());
/// let granted = client.refresh(&refresh_token).await?;
/// assert_eq!(granted.signature, SignatureCheck::Verified);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AppClient {
    app: ConnectedApp,
    endpoint: Endpoint,
    http: HttpClient,
}

/// Which of the app's credentials a grant sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// `client_id`, and `client_secret` when one is configured.
    IfConfigured,
    /// `client_id` and `client_secret`; no secret is a usage error before anything is sent.
    SecretRequired,
    /// None: the grant proves who it is another way (a signed assertion).
    None,
}

/// One token request: what it is called in messages, its form, which credentials go with
/// it, whether it may be sent again after an answer that leaves open whether it was served,
/// and how the grant re-reads a generic `invalid_grant`.
pub(crate) struct TokenRequest<'a> {
    pub what: &'static str,
    pub form: Vec<(&'static str, &'a str)>,
    pub credentials: Credentials,
    pub idempotent: bool,
    pub reclassify: fn(Error) -> Error,
}

impl AppClient {
    /// A client for `app` at `endpoint`, with an HTTP client built from `config`.
    pub fn new(app: ConnectedApp, endpoint: Endpoint, config: &HttpConfig) -> Result<AppClient> {
        let http = HttpClient::new(config, endpoint.login_url())?;
        Ok(AppClient::with_http(app, endpoint, http))
    }

    /// A client that sends through `http` (built once and shared, or made from the
    /// caller's own `reqwest::Client` with [`HttpClient::from_reqwest`]).
    pub fn with_http(app: ConnectedApp, endpoint: Endpoint, http: HttpClient) -> AppClient {
        AppClient {
            app,
            endpoint,
            http,
        }
    }

    /// The connected app.
    pub fn app(&self) -> &ConnectedApp {
        &self.app
    }

    /// The login endpoint requests go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The request path every grant takes: adds the credentials, POSTs to the token
    /// endpoint, reads and classifies the answer, and checks the signature.
    pub(crate) async fn token_request(&self, request: TokenRequest<'_>) -> Result<Granted> {
        let mut form = request.form;
        match request.credentials {
            Credentials::IfConfigured => form.extend(self.app.form_credentials()),
            Credentials::SecretRequired => {
                let Some(secret) = self.app.client_secret() else {
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!(
                            "the {} needs the connected app's client secret",
                            request.what
                        ),
                    )
                    .with_hint("give the connected app's Consumer Secret")
                    .with_remedy(Remedy::ClientSecret));
                };
                form.push(("client_id", self.app.client_id()));
                form.push(("client_secret", secret.expose()));
            }
            Credentials::None => {}
        }
        let answer = self
            .post(&self.endpoint.token_url(), &form, request.idempotent)
            .await?;
        let token = crate::flows::read_token_answer(&answer, request.what).map_err(|e| {
            if crate::flows::is_generic_invalid_grant(&e) {
                (request.reclassify)(e)
            } else {
                e
            }
        })?;
        let signature = signature::check(&token, self.app.client_secret())?;
        Ok(Granted { token, signature })
    }

    /// POSTs a form to one of the org's OAuth endpoints (see [`HttpClient`] for what is
    /// retried).
    pub(crate) async fn post(
        &self,
        url: &str,
        form: &[(&str, &str)],
        idempotent: bool,
    ) -> Result<Answer> {
        self.http.post_form(url, form, idempotent).await
    }
}

/// A `reclassify` for grants whose generic `invalid_grant` needs no other reading.
pub(crate) fn as_is(e: Error) -> Error {
    e
}
