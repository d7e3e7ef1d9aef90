//! The web-server (authorization code) login, with PKCE and `state`.
//!
//! 1. [`AppClient::authorize`] builds the authorize URL: `response_type=code`, the client id, the redirect
//!    URI, a PKCE `S256` challenge and a random `state`.
//! 2. The user logs in and approves in a browser; Salesforce redirects the browser to the
//!    redirect URI with `code` and `state` (or `error`).
//! 3. [`PendingLogin::code_from_redirect`] checks `state` and takes the code; the redirect
//!    reaches sfauth through a [`RedirectListener`](crate::RedirectListener) on localhost,
//!    or as a URL the user pastes.
//! 4. [`AppClient::exchange_code`] trades the code and the PKCE verifier for a token, with a
//!    refresh token when the scopes include `refresh_token`.
//!
//! ```
//! use sfauth::{AppClient, AuthorizeOptions, ConnectedApp, Endpoint, LoginUrl, SitePrefix};
//! # fn main() -> sfauth::Result<()> {
//! let endpoint = Endpoint::new(LoginUrl::parse("https://login.salesforce.com")?, SitePrefix::default());
//! let client = AppClient::new(ConnectedApp::new("3MVG9example"), endpoint, &Default::default())?;
//! let login = client.authorize(&AuthorizeOptions::default())?;
//! assert!(login.authorize_url().starts_with(
//!     "https://login.salesforce.com/services/oauth2/authorize?response_type=code&client_id=3MVG9example"));
//! // The browser comes back with a code and the state it was given; a forged state fails.
//! assert!(login.code_from_redirect("/OauthRedirect?code=aPrx123&state=forged").is_err());
//! # Ok(()) }
//! ```

use std::fmt;

use subtle::ConstantTimeEq;
use url::Url;

use crate::app::{AppClient, Credentials, Granted, TokenRequest};
use crate::client::ConnectedApp;
use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind, OAuthError, Result};
use crate::flows::pkce::{self, Pkce};
use crate::secret::{AuthorizationCode, Secret};

/// The callback URL the Salesforce CLI registers.
const DEFAULT_REDIRECT_URI: &str = "http://localhost:1717/OauthRedirect";

/// What to ask the authorize endpoint for.
///
/// ```
/// let options = sfauth::AuthorizeOptions::default();
/// assert_eq!(options.redirect_uri, "http://localhost:1717/OauthRedirect");
/// assert_eq!(options.scopes, ["api", "refresh_token"]);
/// let options = options.with_scopes(["api", "refresh_token", "openid"]).with_prompt("login");
/// assert_eq!(options.prompt.as_deref(), Some("login"));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeOptions {
    /// The callback URL, exactly as registered in the connected app (Salesforce compares
    /// it character for character).
    pub redirect_uri: String,
    /// The scopes to request. `refresh_token` (or `offline_access`) is needed to get a
    /// refresh token.
    pub scopes: Vec<String>,
    /// `prompt`: `login`, `consent`, `select_account`, or a space-separated mix.
    pub prompt: Option<String>,
    /// `login_hint`: the username to pre-fill on the login page.
    pub login_hint: Option<String>,
}

impl AuthorizeOptions {
    /// The callback URL the Salesforce CLI registers, so connected apps made for `sf` work.
    pub const DEFAULT_REDIRECT_URI: &'static str = DEFAULT_REDIRECT_URI;

    /// With this callback URL, exactly as registered in the connected app.
    pub fn with_redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = redirect_uri.into();
        self
    }

    /// With these scopes instead of `api refresh_token`.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// With a `prompt` (`login`, `consent`, `select_account`, or a space-separated mix).
    pub fn with_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// With a `login_hint`: the username to pre-fill on the login page.
    pub fn with_login_hint(mut self, login_hint: impl Into<String>) -> Self {
        self.login_hint = Some(login_hint.into());
        self
    }
}

impl Default for AuthorizeOptions {
    fn default() -> Self {
        AuthorizeOptions {
            redirect_uri: DEFAULT_REDIRECT_URI.to_owned(),
            scopes: vec!["api".to_owned(), "refresh_token".to_owned()],
            prompt: None,
            login_hint: None,
        }
    }
}

/// A login that has been started: the authorize URL to open, and what is needed to check
/// the redirect and exchange the code.
pub struct PendingLogin {
    state: Secret<String>,
    pkce: Pkce,
    redirect_uri: String,
    authorize_url: String,
}

// By hand: the authorize URL carries the state, which is only for the browser and
// Salesforce to see.
impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl AppClient {
    /// Starts a web-server login: checks the redirect URI and builds the authorize URL with
    /// a fresh PKCE verifier and `state`. Nothing is sent.
    ///
    /// The redirect URI must be absolute, without a fragment, and `http://` only for a
    /// loopback host: the code travels in it.
    pub fn authorize(&self, options: &AuthorizeOptions) -> Result<PendingLogin> {
        begin(self.endpoint(), self.app(), options)
    }

    /// Exchanges the authorization code for a token: `grant_type=authorization_code` with
    /// the code, client id, redirect URI, PKCE verifier, and the client secret if configured.
    /// The response's signature is checked when the secret is known.
    ///
    /// Never replayed once it may have reached Salesforce: a code works once.
    pub async fn exchange_code(
        &self,
        login: &PendingLogin,
        code: &AuthorizationCode,
    ) -> Result<Granted> {
        self.token_request(TokenRequest {
            what: "code exchange",
            form: vec![
                ("grant_type", "authorization_code"),
                ("code", code.expose()),
                ("redirect_uri", login.redirect_uri.as_str()),
                ("code_verifier", login.pkce.verifier().expose()),
                ("format", "json"),
            ],
            credentials: Credentials::IfConfigured,
            idempotent: false,
            reclassify: refused,
        })
        .await
    }
}

fn refused(e: Error) -> Error {
    e.with_hint(
        "the authorization code expired, was already used, or does not match this login's \
         PKCE verifier or redirect URI; start the login again",
    )
}

pub(crate) fn begin(
    endpoint: &Endpoint,
    client: &ConnectedApp,
    options: &AuthorizeOptions,
) -> Result<PendingLogin> {
    if client.client_id().trim().is_empty() {
        return Err(Error::new(ErrorKind::Usage, "the client id is empty")
            .with_hint("pass the connected app's Consumer Key as the client id"));
    }
    check_redirect_uri(&options.redirect_uri)?;
    let state = pkce::random_token();
    let pkce = Pkce::new();
    let mut url = Url::parse(&endpoint.authorize_url())
        .map_err(|e| Error::internal(format!("the authorize URL does not parse: {e}")))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", client.client_id())
            .append_pair("redirect_uri", &options.redirect_uri)
            .append_pair("code_challenge", pkce.challenge())
            .append_pair("code_challenge_method", Pkce::METHOD)
            .append_pair("state", state.expose());
        let scopes = options
            .scopes
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>();
        if !scopes.is_empty() {
            query.append_pair("scope", &scopes.join(" "));
        }
        if let Some(prompt) = options.prompt.as_deref().filter(|p| !p.is_empty()) {
            query.append_pair("prompt", prompt);
        }
        if let Some(hint) = options.login_hint.as_deref().filter(|h| !h.is_empty()) {
            query.append_pair("login_hint", hint);
        }
    }
    Ok(PendingLogin {
        state,
        pkce,
        redirect_uri: options.redirect_uri.clone(),
        authorize_url: url.into(),
    })
}

fn check_redirect_uri(redirect_uri: &str) -> Result<()> {
    let bad = |why: String| {
        Error::new(
            ErrorKind::Usage,
            format!("redirect URI `{redirect_uri}` {why}"),
        )
        .with_hint(format!(
            "use the callback URL registered in the connected app, such as {DEFAULT_REDIRECT_URI}"
        ))
    };
    let url = Url::parse(redirect_uri).map_err(|e| bad(format!("is not a URL ({e})")))?;
    if url.fragment().is_some() {
        return Err(bad("must not have a #fragment".into()));
    }
    if url.scheme() == "http" && !crate::endpoint::is_loopback(&url) {
        return Err(bad(
            "uses http:// for a host that is not loopback: the authorization code would \
             cross the network in clear text"
                .into(),
        ));
    }
    Ok(())
}

impl PendingLogin {
    /// The URL to open in a browser.
    pub fn authorize_url(&self) -> &str {
        &self.authorize_url
    }

    /// The redirect URI this login was started with.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The PKCE pair of this login.
    pub fn pkce(&self) -> &Pkce {
        &self.pkce
    }

    /// Takes the authorization code from the URL the browser was redirected to: a full URL,
    /// a path with its query, or the query alone.
    ///
    /// `state` must match this login's (compared in constant time): a mismatch means the
    /// redirect belongs to another login attempt, or was forged, and is a
    /// [`ErrorKind::Protocol`] error. `error=access_denied` (the user clicked Deny, or the
    /// org refused) is [`ErrorKind::DeniedByPolicy`]; any other `error=` is classified like
    /// a token endpoint error.
    pub fn code_from_redirect(&self, redirected: &str) -> Result<AuthorizationCode> {
        let query = query_of(redirected);
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "code" => code = Some(AuthorizationCode::new(value.into_owned())),
                "state" => state = Some(Secret::new(value.into_owned())),
                "error" => error = Some(value.into_owned()),
                "error_description" => description = Some(value.into_owned()),
                _ => {}
            }
        }
        // An error redirect carries no code, so it is reported even without a state:
        // Salesforce leaves `state` out of some of them.
        if state.is_some() || error.is_none() {
            self.check_state(state.as_ref())?;
        }
        if let Some(error) = error {
            return Err(redirect_error(OAuthError { error, description }));
        }
        match code {
            Some(code) if !code.expose().is_empty() => Ok(code),
            _ => Err(Error::new(
                ErrorKind::Usage,
                "the redirected URL has no `code` parameter",
            )
            .with_hint(
                "give the whole URL the browser was sent to after the login (it starts with \
                 the redirect URI and holds ?code=...&state=...)",
            )),
        }
    }

    fn check_state(&self, state: Option<&Secret<String>>) -> Result<()> {
        let matches = state.is_some_and(|s| {
            bool::from(s.expose().as_bytes().ct_eq(self.state.expose().as_bytes()))
        });
        if matches {
            return Ok(());
        }
        let what = if state.is_some() {
            "does not match this login's"
        } else {
            "is missing"
        };
        Err(Error::new(
            ErrorKind::Protocol,
            format!(
                "the redirect's `state` {what}: it belongs to another login attempt or was forged"
            ),
        )
        .with_hint("start the login again and finish it in the browser window it opens"))
    }
}

/// The query part of a redirected URL, a path with a query, or a bare query; without any
/// `#fragment`.
fn query_of(redirected: &str) -> &str {
    let text = redirected.trim();
    let text = text.split_once('#').map_or(text, |(before, _)| before);
    match text.split_once('?') {
        Some((_, query)) => query,
        // A bare query, or a URL without one (which then holds no code).
        None if text.contains('=') && !text.contains('/') => text,
        None => "",
    }
}

fn redirect_error(oauth: OAuthError) -> Error {
    if matches!(oauth.error.as_str(), "access_denied" | "access-denied") {
        return Error::new(
            ErrorKind::DeniedByPolicy,
            format!("the login was denied: {oauth}"),
        )
        .with_hint(
            "approve the app's access in the browser; if the org refused it, ask the \
             Salesforce admin to allow this user to use the connected app",
        )
        .with_oauth(oauth);
    }
    super::classify_unanswered(oauth, "login")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{LoginUrl, SitePrefix};

    fn endpoint() -> Endpoint {
        Endpoint::new(
            LoginUrl::parse("https://acme.my.salesforce.com").unwrap(),
            SitePrefix::default(),
        )
    }

    fn pending() -> PendingLogin {
        begin(
            &endpoint(),
            &ConnectedApp::new("3MVG9client"),
            &AuthorizeOptions::default(),
        )
        .unwrap()
    }

    fn query(login: &PendingLogin) -> Vec<(String, String)> {
        Url::parse(login.authorize_url())
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }

    fn param(login: &PendingLogin, key: &str) -> Option<String> {
        query(login)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    fn state_of(login: &PendingLogin) -> String {
        param(login, "state").unwrap()
    }

    #[test]
    fn authorize_url_carries_client_redirect_pkce_state_and_scopes() {
        let login = pending();
        assert!(
            login
                .authorize_url()
                .starts_with("https://acme.my.salesforce.com/services/oauth2/authorize?")
        );
        assert_eq!(param(&login, "response_type").as_deref(), Some("code"));
        assert_eq!(param(&login, "client_id").as_deref(), Some("3MVG9client"));
        assert_eq!(
            param(&login, "redirect_uri").as_deref(),
            Some(DEFAULT_REDIRECT_URI)
        );
        assert_eq!(
            param(&login, "code_challenge").as_deref(),
            Some(login.pkce().challenge())
        );
        assert_eq!(
            param(&login, "code_challenge_method").as_deref(),
            Some("S256")
        );
        assert_eq!(param(&login, "scope").as_deref(), Some("api refresh_token"));
        assert_eq!(state_of(&login).len(), 43);
        assert!(param(&login, "prompt").is_none());
        // The verifier itself never goes to the browser.
        assert!(
            !login
                .authorize_url()
                .contains(login.pkce().verifier().expose())
        );
    }

    #[test]
    fn prompt_and_login_hint_are_passed_when_given() {
        let login = begin(
            &endpoint(),
            &ConnectedApp::new("c"),
            &AuthorizeOptions {
                prompt: Some("login consent".into()),
                login_hint: Some("ada@example.com".into()),
                ..AuthorizeOptions::default()
            },
        )
        .unwrap();
        assert_eq!(param(&login, "prompt").as_deref(), Some("login consent"));
        assert_eq!(
            param(&login, "login_hint").as_deref(),
            Some("ada@example.com")
        );
    }

    #[test]
    fn every_login_gets_its_own_state_and_verifier() {
        let (a, b) = (pending(), pending());
        assert_ne!(state_of(&a), state_of(&b));
        assert_ne!(a.pkce().verifier(), b.pkce().verifier());
    }

    #[test]
    fn redirect_uri_over_plain_http_to_a_remote_host_is_refused() {
        let e = begin(
            &endpoint(),
            &ConnectedApp::new("c"),
            &AuthorizeOptions {
                redirect_uri: "http://example.com/callback".into(),
                ..AuthorizeOptions::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains("not loopback"), "{e}");
        for ok in [
            "https://example.com/cb",
            "http://127.0.0.1:9999/cb",
            "myapp://cb",
        ] {
            let options = AuthorizeOptions {
                redirect_uri: ok.into(),
                ..AuthorizeOptions::default()
            };
            assert!(
                begin(&endpoint(), &ConnectedApp::new("c"), &options).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn code_is_taken_from_a_full_url_a_path_or_a_bare_query() {
        let login = pending();
        let state = state_of(&login);
        for redirected in [
            format!("http://localhost:1717/OauthRedirect?code=aPrx%3D%3D&state={state}"),
            format!("/OauthRedirect?state={state}&code=aPrx%3D%3D"),
            format!("code=aPrx%3D%3D&state={state}"),
            format!("?code=aPrx%3D%3D&state={state}#_=_"),
        ] {
            let code = login.code_from_redirect(&redirected).unwrap();
            assert_eq!(code.expose(), "aPrx==", "{redirected}");
        }
    }

    #[test]
    fn state_mismatch_is_rejected() {
        let login = pending();
        let other = pending();
        let e = login
            .code_from_redirect(&format!("/cb?code=abc&state={}", state_of(&other)))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.to_string().contains("does not match"), "{e}");
        // The state of this login appears in no message.
        assert!(!e.to_string().contains(&state_of(&login)));
    }

    #[test]
    fn missing_state_is_rejected() {
        let e = pending().code_from_redirect("/cb?code=abc").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn access_denied_is_denied_by_policy_in_both_spellings() {
        let login = pending();
        let state = state_of(&login);
        for error in ["access_denied", "access-denied"] {
            let e = login
                .code_from_redirect(&format!(
                    "/cb?error={error}&error_description=end-user+denied+authorization&state={state}"
                ))
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::DeniedByPolicy, "{error}");
            assert!(
                e.to_string().contains("end-user denied authorization"),
                "{e}"
            );
            assert_eq!(e.oauth().unwrap().error, error);
        }
        // Without a state, too: an error redirect has no code to protect.
        let e = login
            .code_from_redirect("/cb?error=access_denied")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DeniedByPolicy);
    }

    #[test]
    fn an_error_redirect_with_a_foreign_state_is_a_state_error() {
        let e = pending()
            .code_from_redirect("/cb?error=access_denied&state=forged")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }

    #[test]
    fn other_redirect_errors_are_classified() {
        let login = pending();
        let e = login
            .code_from_redirect(&format!(
                "/cb?error=invalid_client_id&error_description=client+identifier+invalid&state={}",
                state_of(&login)
            ))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ClientRejected);
        assert_eq!(e.status(), None);
    }

    #[test]
    fn redirect_without_code_is_a_usage_error() {
        let login = pending();
        let e = login
            .code_from_redirect(&format!("/cb?state={}", state_of(&login)))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        let e = login.code_from_redirect("nonsense").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }

    #[test]
    fn debug_shows_neither_state_nor_verifier() {
        let login = pending();
        let printed = format!("{login:?}");
        assert!(!printed.contains(&state_of(&login)), "{printed}");
        assert!(!printed.contains(login.pkce().verifier().expose()));
    }
}
