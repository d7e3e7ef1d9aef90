//! [`SfdxAuthUrl`]: the Salesforce CLI's "SFDX auth URL", one string that holds a login.
//!
//! `sf org display --verbose` prints it as
//! `force://<clientId>:<clientSecret>:<refreshToken>@<instance host>`, and CI systems keep it
//! as one secret. The client secret may be empty. The short form
//! `force://<refreshToken>@<instance host>` means the Salesforce CLI's own connected app
//! (`PlatformCLI`).

use std::fmt;

use crate::endpoint::LoginUrl;
use crate::error::{Error, ErrorKind, Result};
use crate::secret::{ClientSecret, RefreshToken, Secret};

/// The client id of the Salesforce CLI's connected app, used by the short form.
pub const SF_CLI_CLIENT_ID: &str = "PlatformCLI";

const SCHEME: &str = "force://";

/// A parsed SFDX auth URL.
///
/// ```
/// use sfauth::SfdxAuthUrl;
/// let url = SfdxAuthUrl::parse("force://3MVG9abc::5Aep861xyz==@acme.my.salesforce.com").unwrap();
/// assert_eq!(url.client_id, "3MVG9abc");
/// assert!(url.client_secret.is_none());
/// assert_eq!(url.refresh_token.expose(), "5Aep861xyz==");
/// assert_eq!(url.instance_url.as_str(), "https://acme.my.salesforce.com");
/// assert_eq!(url.to_url().expose(), "force://3MVG9abc::5Aep861xyz==@acme.my.salesforce.com");
/// // Debug hides the secrets.
/// assert!(!format!("{url:?}").contains("5Aep861xyz"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SfdxAuthUrl {
    /// The connected app's Consumer Key.
    pub client_id: String,
    /// The Consumer Secret; `None` when the URL holds an empty one.
    pub client_secret: Option<ClientSecret>,
    /// The refresh token.
    pub refresh_token: RefreshToken,
    /// The instance (My Domain) the token refreshes at; `https://` unless given otherwise.
    pub instance_url: LoginUrl,
}

impl fmt::Debug for SfdxAuthUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SfdxAuthUrl")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("refresh_token", &self.refresh_token)
            .field("instance_url", &self.instance_url)
            .finish()
    }
}

impl SfdxAuthUrl {
    /// Parses `force://<clientId>:<clientSecret>:<refreshToken>@<instance>` (or
    /// `force://<refreshToken>@<instance>`).
    ///
    /// The client id ends at the first `:`, the secret at the next one, and the refresh
    /// token at the **last** `@`. An instance without a scheme gets `https://`. A bad shape
    /// is a [`ErrorKind::Usage`] error naming the part that is wrong; it never quotes the
    /// secret or the token.
    pub fn parse(text: &str) -> Result<SfdxAuthUrl> {
        let text = text.trim();
        let bad = |what: &str| {
            Error::new(ErrorKind::Usage, format!("the SFDX auth URL {what}")).with_hint(
                "it looks like force://<clientId>:<clientSecret>:<refreshToken>@<instance>; \
                 `sf org display --verbose --json` prints it as sfdxAuthUrl",
            )
        };
        let has_scheme = text
            .get(..SCHEME.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(SCHEME));
        if !has_scheme {
            return Err(bad("does not start with force://"));
        }
        let rest = &text[SCHEME.len()..];
        let Some((credentials, instance)) = rest.rsplit_once('@') else {
            return Err(bad("has no `@` before the instance host"));
        };
        if credentials
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad("holds spaces or control characters before the `@`"));
        }
        let (client_id, secret, refresh_token) = match credentials.split_once(':') {
            None => (SF_CLI_CLIENT_ID, "", credentials),
            Some((client_id, rest)) => match rest.split_once(':') {
                Some((secret, refresh_token)) => (client_id, secret, refresh_token),
                None => {
                    return Err(bad(
                        "has one `:` before the `@`, not two (client id, client secret and refresh token)",
                    ));
                }
            },
        };
        if client_id.is_empty() {
            return Err(bad("has an empty client id (before the first `:`)"));
        }
        if refresh_token.is_empty() {
            return Err(bad(
                "has an empty refresh token (between the second `:` and the `@`)",
            ));
        }
        if instance.trim().is_empty() {
            return Err(bad("has no instance host after the `@`"));
        }
        let instance_url = LoginUrl::parse(instance).map_err(|e| {
            let mut error = bad(&format!("has an invalid instance: {e}"));
            if let Some(hint) = e.hint() {
                error = error.with_hint(hint.to_owned());
            }
            error
        })?;
        Ok(SfdxAuthUrl {
            client_id: client_id.to_owned(),
            client_secret: (!secret.is_empty()).then(|| ClientSecret::from(secret)),
            refresh_token: RefreshToken::from(refresh_token),
            instance_url,
        })
    }

    /// The URL again, in the three-part form. The instance is written without `https://`,
    /// as the Salesforce CLI does; any other scheme (the emulator's `http://`) is kept.
    pub fn to_url(&self) -> Secret<String> {
        let instance = self.instance_url.as_str();
        let instance = instance.strip_prefix("https://").unwrap_or(instance);
        Secret::new(format!(
            "{SCHEME}{}:{}:{}@{instance}",
            self.client_id,
            self.client_secret.as_ref().map_or("", |s| s.expose()),
            self.refresh_token.expose(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "S3CR3Tvalue";
    const TOKEN: &str = "5Aep861TOKEN.value==";

    #[test]
    fn three_part_form_is_parsed_with_secret() {
        let url = SfdxAuthUrl::parse(&format!(
            "force://3MVG9id:{SECRET}:{TOKEN}@acme.my.salesforce.com\n"
        ))
        .unwrap();
        assert_eq!(url.client_id, "3MVG9id");
        assert_eq!(url.client_secret.as_ref().unwrap().expose(), SECRET);
        assert_eq!(url.refresh_token.expose(), TOKEN);
        assert_eq!(url.instance_url.as_str(), "https://acme.my.salesforce.com");
    }

    #[test]
    fn empty_secret_is_none() {
        let url = SfdxAuthUrl::parse(&format!(
            "force://PlatformCLI::{TOKEN}@acme.my.salesforce.com"
        ))
        .unwrap();
        assert!(url.client_secret.is_none());
    }

    #[test]
    fn short_form_uses_the_salesforce_cli_app() {
        let url = SfdxAuthUrl::parse(&format!("force://{TOKEN}@acme.my.salesforce.com")).unwrap();
        assert_eq!(url.client_id, SF_CLI_CLIENT_ID);
        assert_eq!(url.refresh_token.expose(), TOKEN);
    }

    #[test]
    fn refresh_token_runs_to_the_last_at_and_may_hold_colons() {
        let url = SfdxAuthUrl::parse("force://id:sec:tok:en@x@acme.my.salesforce.com").unwrap();
        assert_eq!(url.refresh_token.expose(), "tok:en@x");
        assert_eq!(url.instance_url.host(), "acme.my.salesforce.com");
    }

    #[test]
    fn instance_with_a_scheme_keeps_it_and_round_trips() {
        let text = format!("force://id:{SECRET}:{TOKEN}@http://127.0.0.1:8080");
        let url = SfdxAuthUrl::parse(&text).unwrap();
        assert_eq!(url.instance_url.as_str(), "http://127.0.0.1:8080");
        assert_eq!(url.to_url().expose(), text);
        assert_eq!(SfdxAuthUrl::parse(url.to_url().expose()).unwrap(), url);
    }

    #[test]
    fn bad_shapes_name_the_part_and_never_the_secret_or_token() {
        for (text, says) in [
            (
                format!("https://id:{SECRET}:{TOKEN}@acme.my.salesforce.com"),
                "force://",
            ),
            (format!("force://id:{SECRET}:{TOKEN}"), "no `@`"),
            (
                format!("force://id:{SECRET}{TOKEN}@acme.my.salesforce.com"),
                "one `:`",
            ),
            (
                format!("force://:{SECRET}:{TOKEN}@acme.my.salesforce.com"),
                "client id",
            ),
            (
                format!("force://id:{SECRET}:@acme.my.salesforce.com"),
                "refresh token",
            ),
            (format!("force://id:{SECRET}:{TOKEN}@"), "no instance"),
            (
                format!("force://id:{SECRET}:{TOKEN}@http://acme.my.salesforce.com"),
                "instance",
            ),
            (
                format!("force://id:{SECRET}:{TOKEN} x@acme.my.salesforce.com"),
                "spaces",
            ),
        ] {
            let e = SfdxAuthUrl::parse(&text).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{text}");
            let shown = format!("{e} {} {e:?}", e.hint().unwrap_or_default());
            assert!(shown.contains(says), "{shown} should say {says}");
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(!shown.contains(TOKEN), "{shown}");
        }
    }
}
