//! How the emulated connected app and org behave.

use std::fmt;
use std::time::Duration;

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
    /// Time a refresh spends "being processed" before it is answered.
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
        Ok(self)
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
