//! [`Api`]: authenticated Salesforce REST calls that survive an expired session.
//!
//! Paths such as `/services/data/v62.0/limits` resolve against the token's `instance_url`.
//! A 401 whose body says "Session expired or invalid" (errorCode `INVALID_SESSION_ID`) makes
//! one refresh, through [`TokenSource::invalidate`] (for a [`Session`](crate::Session):
//! shared by concurrent callers), and one retry. Other 401 bodies, such as "This session is not valid for use with the REST API",
//! are not fixed by a refresh: they are returned as they are, so nothing can loop.

use std::sync::OnceLock;

use crate::endpoint::LoginUrl;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{ApiResponse, HttpClient, HttpConfig};
use crate::secret::AccessToken;
use crate::source::TokenSource;

/// An API request.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// A path (resolved against `instance_url`) or an absolute URL.
    pub target: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

impl ApiRequest {
    /// A `GET` of `target`.
    pub fn get(target: impl Into<String>) -> Self {
        ApiRequest {
            method: "GET".into(),
            target: target.into(),
            ..Default::default()
        }
    }
}

/// A REST client over a [`TokenSource`], usually a [`Session`](crate::Session).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{Api, ApiRequest, FileStore, ConnectedApp, Session};
/// # let org = sfauth_emulator::spawn(Default::default()).await.unwrap();
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("t.json");
/// # std::fs::write(&path, org.issue_token("ada@example.com").to_string()).unwrap();
/// # let client_id = org.config().client_id.clone();
/// let session = Session::builder(FileStore::new(&path), ConnectedApp::new(client_id)).build();
/// let api = Api::new(session);
/// # org.expire_access_tokens();
/// // The stored token has expired at the server: one refresh, one retry.
/// let answer = api.send(&ApiRequest::get("/services/data/")).await?;
/// assert_eq!(answer.status, 200);
/// assert!(answer.refreshed);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Api {
    source: std::sync::Arc<dyn TokenSource>,
    /// One client for plain-http loopback targets, one for the rest: they differ in proxy
    /// and TLS set-up.
    http: std::sync::Arc<[OnceLock<HttpClient>; 2]>,
    config: HttpConfig,
}

impl Api {
    /// A client for the org `source` holds tokens for.
    pub fn new(source: impl TokenSource + 'static) -> Self {
        Api {
            source: std::sync::Arc::new(source),
            http: Default::default(),
            config: HttpConfig::default(),
        }
    }

    /// With these HTTP settings (timeouts, CA).
    pub fn with_http(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// Where the tokens come from.
    pub fn source(&self) -> &dyn TokenSource {
        self.source.as_ref()
    }

    fn http(&self, url: &str) -> Result<&HttpClient> {
        let target = LoginUrl::origin(origin(url)?.as_str())?;
        let slot = &self.http[usize::from(target.is_loopback() && target.is_plain_http())];
        if let Some(client) = slot.get() {
            return Ok(client);
        }
        let client = HttpClient::new(&self.config, &target)?;
        Ok(slot.get_or_init(|| client))
    }

    /// Sends the request; on a 401 "Session expired or invalid", refreshes once and retries
    /// once. Any HTTP status comes back as an [`ApiResponse`]; errors are for requests that
    /// got no answer, and for a refresh that failed.
    pub async fn send(&self, request: &ApiRequest) -> Result<ApiResponse> {
        let token = self.source.token().await?;
        let url = resolve(token.instance_url(), &request.target)?;
        let access = token.access_token();
        let first = self.send_with(request, &url, &access).await?;
        if !is_session_expired(first.status, &first.body) {
            return Ok(first);
        }
        tracing::debug!("401 Session expired or invalid: refreshing once and retrying");
        let renewed = self.source.invalidate(&access).await?;
        let url = resolve(renewed.instance_url(), &request.target)?;
        let mut second = self
            .send_with(request, &url, &renewed.access_token())
            .await?;
        second.refreshed = true;
        Ok(second)
    }

    /// A single-use URL that logs a browser in to the org, at `path` (default `/`), as
    /// `sf org open` makes one: the Single-Access UI Bridge
    /// (`POST /services/oauth2/singleaccess`). The URL is a credential until it is used.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
    /// # use sfauth::{Api, FileStore, ConnectedApp, Session};
    /// # let org = sfauth_emulator::spawn(Default::default()).await.unwrap();
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("t.json");
    /// # std::fs::write(&path, org.issue_token("ada@example.com").to_string()).unwrap();
    /// # let session = Session::builder(FileStore::new(&path), ConnectedApp::new(org.config().client_id.clone())).build();
    /// let api = Api::new(session);
    /// let url = api.frontdoor_url(Some("/lightning/setup/SetupOneHome/home")).await?;
    /// assert!(url.expose().contains("/secur/frontdoor.jsp?otp="));
    /// # Ok(()) }
    /// ```
    pub async fn frontdoor_url(&self, path: Option<&str>) -> Result<crate::secret::Secret<String>> {
        let path = path.unwrap_or("/");
        if !path.starts_with('/') {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "`{}` is not a path in the org",
                    path.chars().take(100).collect::<String>()
                ),
            )
            .with_hint("give a path that starts with /, e.g. /lightning/setup/SetupOneHome/home"));
        }
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("redirect_uri", path)
            .finish();
        let request = ApiRequest {
            method: "POST".into(),
            target: "/services/oauth2/singleaccess".into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: Some(body.into_bytes()),
        };
        let answer = self.send(&request).await?;
        if answer.status != 200 {
            let said: String = String::from_utf8_lossy(&answer.body)
                .chars()
                .take(300)
                .collect();
            return Err(Error::new(
                if answer.status == 401 { ErrorKind::LoginRequired } else { ErrorKind::Protocol },
                format!(
                    "Salesforce made no frontdoor URL ({}: {})",
                    answer.status_line,
                    said.trim()
                ),
            )
            .with_hint("the session needs the `web` scope (or `full`) for a browser login; log in again with it"));
        }
        let uri = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| {
                v.get("frontdoor_uri")
                    .and_then(|u| u.as_str())
                    .map(str::to_owned)
            })
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Protocol,
                    "the frontdoor answer holds no frontdoor_uri",
                )
            })?;
        // It opens in a browser: only the org's own kind of origin.
        resolve(&uri, &uri).map_err(|_| {
            Error::new(
                ErrorKind::Protocol,
                "the frontdoor URL is not an https URL of the org",
            )
        })?;
        Ok(crate::secret::Secret::from(uri))
    }

    async fn send_with(
        &self,
        request: &ApiRequest,
        url: &str,
        access: &AccessToken,
    ) -> Result<ApiResponse> {
        self.http(url)?
            .send_bearer(
                &request.method,
                url,
                &request.headers,
                request.body.as_deref(),
                access,
            )
            .await
    }
}

/// Resolves `target` against `instance_url`: a path gets the instance's origin; an absolute
/// URL is kept, and must be https unless it is loopback (the bearer token travels with it).
pub(crate) fn resolve(instance_url: &str, target: &str) -> Result<String> {
    let target = target.trim();
    if target.contains("://") {
        LoginUrl::origin(origin(target)?.as_str()).map_err(|e| {
            Error::new(
                ErrorKind::Usage,
                format!("refusing to send the token to {target}: {e}"),
            )
            .with_hint("use https (plain http only for loopback hosts)")
        })?;
        return Ok(target.to_owned());
    }
    let base = instance_url.trim_end_matches('/');
    let path = target.trim_start_matches('/');
    Ok(format!("{base}/{path}"))
}

fn origin(url: &str) -> Result<String> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::new(ErrorKind::Usage, format!("`{url}` is not a URL ({e})")))?;
    Ok(parsed.origin().ascii_serialization())
}

/// Whether an answer means the access token has expired and a refresh can fix it: 401 with
/// "Session expired or invalid". The 401 "This session is not valid for use with the REST
/// API" also carries `INVALID_SESSION_ID` but is about scope or policy, not expiry.
pub(crate) fn is_session_expired(status: u16, body: &[u8]) -> bool {
    status == 401
        && String::from_utf8_lossy(body)
            .to_ascii_lowercase()
            .contains("session expired or invalid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_resolves_against_the_instance_and_an_absolute_url_must_be_safe() {
        assert_eq!(
            resolve("https://acme.my.salesforce.com", "/services/data/").unwrap(),
            "https://acme.my.salesforce.com/services/data/"
        );
        assert_eq!(
            resolve("https://acme.my.salesforce.com/", "services/data").unwrap(),
            "https://acme.my.salesforce.com/services/data"
        );
        assert!(resolve("https://acme.my.salesforce.com", "http://evil.example/x").is_err());
    }

    #[test]
    fn only_session_expired_401s_are_fixed_by_a_refresh() {
        let expired =
            br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        assert!(is_session_expired(401, expired));
        let policy = br#"[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]"#;
        assert!(!is_session_expired(401, policy));
        assert!(!is_session_expired(403, expired));
    }
}
