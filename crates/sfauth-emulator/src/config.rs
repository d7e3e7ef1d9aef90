//! How the emulated connected app and org behave.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::DecodingKey;

use crate::tls::TlsLeaf;

/// The callback URL registered by default: the Salesforce CLI's own.
const DEFAULT_REDIRECT_URI: &str = "http://localhost:1717/OauthRedirect";

/// Settings of the emulated connected app and org.
///
/// Build one with struct-update syntax so new fields never break callers:
///
/// ```
/// use sfauth_emulator::Config;
/// let config = Config { rotation: false, ..Config::default() };
/// assert_eq!(config.client_id, "sfauth-emulator-client");
/// ```
#[derive(Clone)]
pub struct Config {
    /// The connected app's consumer key, checked on every token request.
    pub client_id: String,
    /// The connected app's consumer secret. It also keys the response `signature`.
    pub client_secret: String,
    /// "Require Secret for Refresh Token Flow": a refresh without a secret is refused.
    ///
    /// A secret that *is* sent is validated either way, as Salesforce does.
    pub require_secret: bool,
    /// Refresh Token Rotation: every refresh returns a new refresh token and kills the old one.
    pub rotation: bool,
    /// Time a refresh spends "being processed" before it is answered. Every other grant
    /// waits as long before it issues tokens.
    ///
    /// A second request with the same refresh token during this window is refused
    /// (`token request is already being processed`).
    pub latency: Duration,
    /// How long an access token is accepted by the REST endpoints after it was issued.
    pub access_token_lifetime: Duration,
    /// Experience Cloud path prefix such as `/customers`, or empty for a normal org.
    ///
    /// The token URL is `{url}{site}/services/oauth2/token`. A missing leading slash or a
    /// trailing slash is normalised away when the emulator starts.
    pub site: String,
    /// The 18-character org id used in identity URLs and access tokens.
    pub org_id: String,
    /// The connected app's registered callback URLs. `redirect_uri` must equal one of
    /// them exactly (no prefix or wildcard matching), at the authorize endpoint and again
    /// in the `authorization_code` grant.
    pub redirect_uris: Vec<String>,
    /// What the emulated user answers on the authorize page (and on the device flow's
    /// verification page). The emulator never shows a page: it decides at once.
    pub consent: Consent,
    /// The certificate uploaded to the connected app for the JWT bearer flow, as PEM.
    ///
    /// Accepted: an X.509 `CERTIFICATE` holding an RSA key (what Salesforce stores), an
    /// SPKI `PUBLIC KEY`, or a PKCS#1 `RSA PUBLIC KEY`. Assertions must be signed RS256
    /// with the matching private key. `None` refuses every JWT bearer request
    /// (`invalid_grant` / `invalid assertion`). A PEM that cannot be parsed makes the
    /// emulator fail to start.
    pub jwt_certificate_pem: Option<String>,
    /// The client credentials flow's "Run As" user. `None` refuses the grant with
    /// `invalid_grant` / `no client credentials user enabled`.
    pub client_credentials_user: Option<String>,
    /// Whether the username-password flow is allowed. Off by default, as in orgs created
    /// since Summer '23: every `password` grant then gets `invalid_grant` /
    /// `authentication failure`.
    pub password_flow: bool,
    /// `(username, password)` pairs the username-password flow accepts. The password is
    /// compared as sent, so append a "security token" to it here if a test wants one.
    pub users: Vec<(String, String)>,
    /// Device flow: how many polls are refused before the user "approves" (or, with
    /// [`Consent::Deny`], denies). Polls number 1 to N get `slow_down` (the first
    /// [`device_slow_down_polls`](Self::device_slow_down_polls) of them) or
    /// `authorization_pending`; poll N + 1 gets the tokens, where N is the larger of the
    /// two settings.
    pub device_approve_after_polls: u32,
    /// Device flow: the first this many polls are answered `slow_down`.
    pub device_slow_down_polls: u32,
    /// Device flow: the `interval` (seconds) the device-code response tells clients to
    /// wait between polls. Salesforce says 5; the default here is 1 to keep tests fast.
    /// Polling faster is not punished (see `device_slow_down_polls` for that).
    pub device_interval_secs: u64,
    /// Serve https instead of http, presenting this leaf certificate, signed by a CA
    /// generated at start-up ([`Emulator::ca_pem`](crate::Emulator::ca_pem)). `None`
    /// serves plain http.
    pub tls: Option<TlsLeaf>,
}

/// The emulated user's answer on the consent page; see [`Config::consent`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Consent {
    /// "Allow": the authorize endpoint redirects with a code; device polls end in tokens.
    #[default]
    Approve,
    /// "Deny": the authorize endpoint redirects with `error=access_denied`; device polls
    /// end in `access_denied`.
    Deny,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            client_id: "sfauth-emulator-client".to_owned(),
            client_secret: "sfauth-emulator-secret".to_owned(),
            require_secret: false,
            rotation: true,
            latency: Duration::ZERO,
            // Salesforce's org default session timeout.
            access_token_lifetime: Duration::from_secs(2 * 60 * 60),
            site: String::new(),
            org_id: "00D000000000001EAA".to_owned(),
            redirect_uris: vec![DEFAULT_REDIRECT_URI.to_owned()],
            consent: Consent::Approve,
            jwt_certificate_pem: None,
            client_credentials_user: None,
            password_flow: false,
            users: Vec::new(),
            device_approve_after_polls: 2,
            device_slow_down_polls: 0,
            device_interval_secs: 1,
            tls: None,
        }
    }
}

// Hand-written so that a config printed in a test log never leaks the secret.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("require_secret", &self.require_secret)
            .field("rotation", &self.rotation)
            .field("latency", &self.latency)
            .field("access_token_lifetime", &self.access_token_lifetime)
            .field("site", &self.site)
            .field("org_id", &self.org_id)
            .field("redirect_uris", &self.redirect_uris)
            .field("consent", &self.consent)
            .field(
                "jwt_certificate_pem",
                &self.jwt_certificate_pem.as_ref().map(|_| "<pem>"),
            )
            .field("client_credentials_user", &self.client_credentials_user)
            .field("password_flow", &self.password_flow)
            .field(
                "users",
                &self
                    .users
                    .iter()
                    .map(|(name, _)| (name.as_str(), "<redacted>"))
                    .collect::<Vec<_>>(),
            )
            .field(
                "device_approve_after_polls",
                &self.device_approve_after_polls,
            )
            .field("device_slow_down_polls", &self.device_slow_down_polls)
            .field("device_interval_secs", &self.device_interval_secs)
            .field("tls", &self.tls)
            .finish()
    }
}

impl Config {
    /// Returns the config with `site` in canonical form: empty, or `/prefix` without a
    /// trailing slash, so routes and URLs can be built by plain concatenation.
    ///
    /// Only URL-path-safe characters are accepted, because the prefix becomes part of a
    /// route pattern (where `{` or `*` would mean something else).
    pub(crate) fn normalized(mut self) -> Result<Self, String> {
        let trimmed = self.site.trim().trim_matches('/');
        let allowed = |c: char| c.is_ascii_alphanumeric() || "/-._~".contains(c);
        if !trimmed.chars().all(allowed) || trimmed.contains("//") {
            return Err(format!("invalid site prefix {:?}", self.site));
        }
        self.site = if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        };
        self.jwt_decoding_key()?;
        Ok(self)
    }

    /// The key that verifies JWT bearer assertions, from
    /// [`jwt_certificate_pem`](Self::jwt_certificate_pem).
    pub(crate) fn jwt_decoding_key(&self) -> Result<Option<DecodingKey>, String> {
        self.jwt_certificate_pem
            .as_deref()
            .map(|pem| {
                DecodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|error| format!("invalid jwt_certificate_pem: {error}"))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_client_secret() {
        let printed = format!("{:?}", Config::default());
        assert!(!printed.contains("sfauth-emulator-secret"), "{printed}");
        assert!(printed.contains("<redacted>"));
    }

    #[test]
    fn debug_output_hides_user_passwords() {
        let config = Config {
            users: vec![("ada@example.com".to_owned(), "hunter2".to_owned())],
            ..Config::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("ada@example.com"), "{printed}");
    }

    #[test]
    fn an_unparsable_jwt_certificate_is_refused() {
        let config = Config {
            jwt_certificate_pem: Some("-----BEGIN CERTIFICATE-----\nnope\n".to_owned()),
            ..Config::default()
        };
        assert!(config.normalized().is_err());
    }

    #[test]
    fn site_is_normalised_to_a_leading_slash_without_trailing_slash() {
        for (given, expected) in [
            ("", ""),
            ("/", ""),
            ("customers", "/customers"),
            ("/customers/", "/customers"),
            ("/a/b", "/a/b"),
        ] {
            let config = Config {
                site: given.to_owned(),
                ..Config::default()
            }
            .normalized()
            .unwrap();
            assert_eq!(config.site, expected, "site {given:?}");
        }
    }

    #[test]
    fn site_with_route_syntax_is_refused() {
        for given in ["/{site}", "/a*", "/a b", "/a//b"] {
            let config = Config {
                site: given.to_owned(),
                ..Config::default()
            };
            assert!(config.normalized().is_err(), "site {given:?}");
        }
    }
}
