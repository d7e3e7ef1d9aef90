//! [`LoginUrl`] and [`Endpoint`]: where token requests go.
//!
//! Salesforce writes every auth URL as `{login host}{site}/services/oauth2/...`, where
//! `{site}` is an optional Experience Cloud path prefix such as `/customers`. A token must be
//! refreshed at the host that issued it: login, test, a My Domain or a site.

use std::fmt;
use std::net::IpAddr;

use url::Url;

use crate::error::{Error, ErrorKind, Remedy, Result};

/// Production and Developer Edition logins.
pub const PRODUCTION: &str = "https://login.salesforce.com";
/// Sandbox logins.
pub const SANDBOX: &str = "https://test.salesforce.com";

/// A login URL: scheme, host, optional port and path, no query. `https` is required, except
/// for loopback hosts (the emulator), which may use `http`.
///
/// ```
/// use sfauth::LoginUrl;
/// let url = LoginUrl::parse("https://acme.my.salesforce.com").unwrap();
/// assert_eq!(url.as_str(), "https://acme.my.salesforce.com");
/// assert!(LoginUrl::parse("http://login.salesforce.com").is_err());
/// assert!(LoginUrl::parse("http://127.0.0.1:8080").is_ok());
/// let lightning = LoginUrl::parse("https://acme.lightning.force.com").unwrap_err();
/// assert!(lightning.hint().unwrap().contains("https://acme.my.salesforce.com"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LoginUrl(Url);

impl LoginUrl {
    /// Production and Developer Edition logins: `https://login.salesforce.com`.
    pub const PRODUCTION: &'static str = PRODUCTION;
    /// Sandbox logins: `https://test.salesforce.com`.
    pub const SANDBOX: &'static str = SANDBOX;

    /// Parses and checks a login URL. A bare host (`acme.my.salesforce.com`) gets `https://`.
    pub fn parse(input: &str) -> Result<LoginUrl> {
        let url = LoginUrl::origin(input)?;
        if let Some(name) = url
            .host()
            .to_ascii_lowercase()
            .strip_suffix(".lightning.force.com")
        {
            // As the Salesforce CLI does: the Lightning UI's domain serves no OAuth.
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "login URL `{}` is a Lightning Experience domain, which serves no login",
                    input.trim()
                ),
            )
            .with_hint(format!(
                "use the org's My Domain instead: https://{name}.my.salesforce.com (Setup → My \
                 Domain shows it)"
            )));
        }
        Ok(url)
    }

    /// Checks an origin requests go to (https, or http to loopback) as
    /// [`parse`](Self::parse) checks a login URL, for any host: an API request may go to a
    /// host that serves no login (a Lightning domain the user allowed, say).
    pub(crate) fn origin(input: &str) -> Result<LoginUrl> {
        let input = input.trim();
        let with_scheme = if input.contains("://") {
            input.to_owned()
        } else {
            format!("https://{input}")
        };
        let bad = |why: &str| {
            Error::new(ErrorKind::Usage, format!("login URL `{input}` {why}")).with_hint(
                "use https://login.salesforce.com, https://test.salesforce.com, \
                 your My Domain (https://NAME.my.salesforce.com) or a site URL",
            )
        };
        let mut url = Url::parse(&with_scheme).map_err(|e| bad(&format!("is not a URL ({e})")))?;
        // Trailing slashes mean nothing here; dropping them keeps a parsed URL equal to the
        // one its text parses to (`https://host//` and `https://host` are one login URL).
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must not have a query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not hold a user name or password"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("login URL `{input}` uses http:// for a host that is not loopback"),
                )
                .with_hint(format!(
                    "use https://{}: plain http is allowed only for 127.0.0.1, ::1 and localhost",
                    url.host_str().unwrap_or_default()
                )));
            }
            other => return Err(bad(&format!("has scheme `{other}`; use https"))),
        }
        Ok(LoginUrl(url))
    }

    /// The URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// The host name.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// Whether the host is a loopback address (the emulator).
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.0)
    }

    /// Whether requests go over plain `http://` (only ever to a loopback host).
    pub fn is_plain_http(&self) -> bool {
        self.0.scheme() == "http"
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl fmt::Debug for LoginUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoginUrl({})", self.as_str())
    }
}

impl fmt::Display for LoginUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Experience Cloud site path prefix such as `/customers`; empty for a normal login.
///
/// ```
/// use sfauth::SitePrefix;
/// assert_eq!(SitePrefix::parse("customers/").unwrap().as_str(), "/customers");
/// assert_eq!(SitePrefix::parse("").unwrap().as_str(), "");
/// assert!(SitePrefix::parse("/a?b").is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SitePrefix(String);

impl SitePrefix {
    /// Normalizes a prefix: one leading slash, no trailing slash.
    pub fn parse(input: &str) -> Result<SitePrefix> {
        let trimmed = input.trim().trim_matches('/');
        if trimmed.is_empty() {
            return Ok(SitePrefix::default());
        }
        if trimmed
            .chars()
            .any(|c| matches!(c, '?' | '#' | ' ' | '\\') || c.is_control())
            || trimmed
                .split('/')
                .any(|s| s.is_empty() || is_dot_segment(s))
        {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("site prefix `{input}` is not a URL path"),
            )
            .with_hint("give the site's path prefix only, for example /customers")
            .with_remedy(Remedy::SitePrefix));
        }
        Ok(SitePrefix(format!("/{trimmed}")))
    }

    /// The prefix, `""` or `/name`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `.` or `..`, also percent-encoded: URL parsing removes such a segment (and the one before),
/// so the site would silently drop out of the endpoint URLs.
fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

/// A login URL plus site prefix: builds the OAuth endpoint URLs.
///
/// ```
/// use sfauth::{Endpoint, LoginUrl, SitePrefix};
/// let ep = Endpoint::new(
///     LoginUrl::parse("https://acme.my.site.com").unwrap(),
///     SitePrefix::parse("/customers").unwrap(),
/// );
/// assert_eq!(ep.token_url(), "https://acme.my.site.com/customers/services/oauth2/token");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    login: LoginUrl,
    site: SitePrefix,
}

impl Endpoint {
    /// An endpoint at `login` under `site`.
    pub fn new(login: LoginUrl, site: SitePrefix) -> Self {
        Endpoint { login, site }
    }

    /// Where to refresh a token when no login URL is configured: the host of its identity
    /// URL when that is `login.salesforce.com` or `test.salesforce.com` (the host that issued
    /// it), else its `instance_url` (a My Domain accepts refreshes, as `sf` relies on).
    ///
    /// ```
    /// use sfauth::{Endpoint, SitePrefix, Token};
    /// let token = Token::from_json(br#"{"access_token":"a",
    ///     "instance_url":"https://acme.my.salesforce.com",
    ///     "id":"https://test.salesforce.com/id/00D/005"}"#).unwrap();
    /// let ep = Endpoint::for_token(&token, SitePrefix::default()).unwrap();
    /// assert_eq!(ep.token_url(), "https://test.salesforce.com/services/oauth2/token");
    /// ```
    pub fn for_token(token: &crate::Token, site: SitePrefix) -> Result<Endpoint> {
        let issuer = token
            .id()
            .and_then(|id| Url::parse(id).ok())
            .filter(|u| {
                u.scheme() == "https"
                    && matches!(
                        u.host_str(),
                        Some("login.salesforce.com" | "test.salesforce.com")
                    )
            })
            .map(|u| u.origin().ascii_serialization());
        let login = match issuer {
            Some(origin) => LoginUrl::parse(&origin)?,
            None => LoginUrl::parse(token.instance_url()).map_err(|e| {
                Error::new(
                    ErrorKind::Usage,
                    format!("cannot refresh at the token's instance_url: {e}"),
                )
                .with_hint("give the login URL of the host that issued the token")
                .with_remedy(Remedy::LoginUrl)
            })?,
        };
        Ok(Endpoint::new(login, site))
    }

    /// The login URL.
    pub fn login_url(&self) -> &LoginUrl {
        &self.login
    }

    /// The site prefix.
    pub fn site(&self) -> &SitePrefix {
        &self.site
    }

    fn oauth2(&self, leaf: &str) -> String {
        format!(
            "{}{}/services/oauth2/{leaf}",
            self.login.as_str(),
            self.site.as_str()
        )
    }

    /// `{login}{site}/services/oauth2/token`.
    pub fn token_url(&self) -> String {
        self.oauth2("token")
    }

    /// `{login}{site}/services/oauth2/authorize`.
    pub fn authorize_url(&self) -> String {
        self.oauth2("authorize")
    }

    /// `{login}{site}/services/oauth2/revoke`.
    pub fn revoke_url(&self) -> String {
        self.oauth2("revoke")
    }

    /// `{login}{site}/services/oauth2/introspect`.
    pub fn introspect_url(&self) -> String {
        self.oauth2("introspect")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_host_gets_https() {
        assert_eq!(
            LoginUrl::parse("test.salesforce.com").unwrap().as_str(),
            SANDBOX
        );
    }

    #[test]
    fn http_to_a_remote_host_is_refused_with_a_hint() {
        let e = LoginUrl::parse("http://acme.my.salesforce.com").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains("not loopback"));
        assert!(e.hint().unwrap().contains("https://acme.my.salesforce.com"));
    }

    #[test]
    fn http_is_allowed_for_every_loopback_form() {
        for url in [
            "http://127.0.0.1:9",
            "http://127.1.2.3",
            "http://[::1]:80",
            "http://localhost:1717",
        ] {
            assert!(LoginUrl::parse(url).unwrap().is_loopback(), "{url}");
        }
    }

    #[test]
    fn https_is_allowed_for_loopback_hosts_too() {
        for url in [
            "https://127.0.0.1:8443",
            "https://localhost:8443",
            "https://[::1]",
        ] {
            let login = LoginUrl::parse(url).unwrap();
            assert!(login.is_loopback() && !login.is_plain_http(), "{url}");
        }
    }

    #[test]
    fn query_userinfo_and_odd_schemes_are_refused() {
        for url in [
            "https://x.com/?a=1",
            "https://u:p@x.com",
            "ftp://x.com",
            "https://",
        ] {
            assert!(LoginUrl::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn login_url_path_and_site_compose() {
        let ep = Endpoint::new(
            LoginUrl::parse("https://acme.force.com/").unwrap(),
            SitePrefix::parse("/customers/").unwrap(),
        );
        assert_eq!(
            ep.revoke_url(),
            "https://acme.force.com/customers/services/oauth2/revoke"
        );
    }
}
