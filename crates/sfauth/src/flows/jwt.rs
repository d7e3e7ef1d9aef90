//! The JWT bearer grant: a server logs in as a user with an RS256-signed assertion.
//!
//! The connected app holds a certificate; sfauth signs
//! `{"iss": client id, "sub": username, "aud": login host, "exp": now + 3 min}` with the
//! matching private key and POSTs
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`. No client
//! secret is needed, no browser, and no refresh token comes back: when the access token is
//! stale, a new assertion gets a new one (see [`Renewal::JwtBearer`](crate::Renewal)).
//! The user must have been pre-authorized for the app by an admin, or have approved it once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::app::{AppClient, Credentials, Granted, TokenRequest};
use crate::endpoint::{self, LoginUrl};
use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;

/// The grant type of RFC 7523.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an assertion is valid: Salesforce wants `exp` within 3 minutes.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(3 * 60);

/// What a JWT bearer login needs.
///
/// ```
/// use sfauth::{JwtBearer, LoginUrl, Secret};
/// let login = LoginUrl::parse("https://acme--dev.sandbox.my.salesforce.com").unwrap();
/// let jwt = JwtBearer {
///     client_id: "3MVG9example".into(),
///     username: "ci@acme.example".into(),
///     audience: JwtBearer::audience_for(&login),
///     key_pem: Secret::from("-----BEGIN PRIVATE KEY-----\n..."),
/// };
/// assert_eq!(jwt.audience, "https://test.salesforce.com");
/// assert!(!format!("{jwt:?}").contains("BEGIN"));
/// ```
#[derive(Clone, Debug)]
pub struct JwtBearer {
    /// The connected app's Consumer Key (`iss`).
    pub client_id: String,
    /// The Salesforce username to log in as (`sub`).
    pub username: String,
    /// `aud`: `https://login.salesforce.com`, `https://test.salesforce.com`, or an
    /// Experience Cloud site URL. See [`JwtBearer::audience_for`].
    pub audience: String,
    /// The RSA private key, PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`), whose
    /// certificate is uploaded to the connected app.
    pub key_pem: Secret<String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
}

impl JwtBearer {
    /// The grant type of RFC 7523.
    pub const GRANT_TYPE: &'static str = GRANT_TYPE;

    /// How long an assertion is valid: Salesforce wants `exp` within 3 minutes.
    pub const ASSERTION_LIFETIME: Duration = ASSERTION_LIFETIME;

    /// The usual `aud` for logins at `login`: `https://test.salesforce.com` for sandboxes
    /// (test.salesforce.com and `*.sandbox.my.salesforce.com`),
    /// `https://login.salesforce.com` for other Salesforce hosts, and the login URL itself
    /// for anything else (an Experience Cloud site, the emulator).
    ///
    /// ```
    /// use sfauth::{JwtBearer, LoginUrl};
    /// let aud = |u: &str| JwtBearer::audience_for(&LoginUrl::parse(u).unwrap());
    /// assert_eq!(aud("https://acme.my.salesforce.com"), "https://login.salesforce.com");
    /// assert_eq!(aud("https://test.salesforce.com"), "https://test.salesforce.com");
    /// assert_eq!(aud("https://acme.my.site.com"), "https://acme.my.site.com");
    /// ```
    pub fn audience_for(login: &LoginUrl) -> String {
        let host = login.host().to_ascii_lowercase();
        if host == "test.salesforce.com" || host.ends_with(".sandbox.my.salesforce.com") {
            endpoint::SANDBOX.to_owned()
        } else if host == "salesforce.com" || host.ends_with(".salesforce.com") {
            endpoint::PRODUCTION.to_owned()
        } else {
            login.as_str().to_owned()
        }
    }

    /// A signed assertion, valid for [`ASSERTION_LIFETIME`] from now.
    ///
    /// A key that is not a usable RSA private key is a [`ErrorKind::Usage`] error that
    /// names the problem (never the key).
    pub fn assertion(&self) -> Result<Secret<String>> {
        self.assertion_at(SystemTime::now())
    }

    fn assertion_at(&self, now: SystemTime) -> Result<Secret<String>> {
        for (name, value) in [
            ("client id", &self.client_id),
            ("username", &self.username),
            ("audience", &self.audience),
        ] {
            if value.trim().is_empty() {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("the JWT bearer login needs a {name}, and it is empty"),
                ));
            }
        }
        let key = encoding_key(&self.key_pem)?;
        let exp = (now + ASSERTION_LIFETIME)
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::internal("the clock is before 1970"))?
            .as_secs();
        let claims = Claims {
            iss: &self.client_id,
            sub: &self.username,
            aud: &self.audience,
            exp,
        };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        jsonwebtoken::encode(&header, &claims, &key)
            .map(Secret::new)
            .map_err(|e| {
                let why = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_)
                    | jsonwebtoken::errors::ErrorKind::RsaFailedSigning => {
                        "it is not a valid RSA private key"
                    }
                    _ => "signing failed",
                };
                key_error(&format!(
                    "cannot sign the JWT assertion with the key: {why}"
                ))
            })
    }
}

/// Checks the PEM text and makes the signing key. The messages say what kind of PEM it is,
/// and never quote it.
fn encoding_key(pem: &Secret<String>) -> Result<jsonwebtoken::EncodingKey> {
    let text = pem.expose().trim();
    if text.is_empty() {
        return Err(key_error("the JWT private key is empty"));
    }
    if !text.contains("-----BEGIN ") {
        return Err(key_error(
            "the JWT private key is not PEM text (no -----BEGIN line)",
        ));
    }
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(
            key_error("the JWT private key is encrypted with a passphrase")
                .with_hint("decrypt it first: openssl pkey -in server.key -out server-plain.key"),
        );
    }
    // A file may hold the certificate and the key: take the key's block.
    let Some(block) = private_key_block(text) else {
        let what = if text.contains("CERTIFICATE") {
            "a certificate"
        } else if text.contains("PUBLIC KEY") {
            "a public key"
        } else {
            "PEM without a private key"
        };
        return Err(key_error(&format!(
            "the JWT private key file holds {what}, not the private key"
        )));
    };
    if block.contains("BEGIN EC PRIVATE KEY") || block.contains("BEGIN OPENSSH PRIVATE KEY") {
        return Err(key_error(
            "the JWT private key is not an RSA key (Salesforce signs with RS256)",
        ));
    }
    jsonwebtoken::EncodingKey::from_rsa_pem(block.as_bytes())
        .map_err(|_| key_error("the JWT private key is not an RSA private key in PEM form"))
}

fn private_key_block(text: &str) -> Option<&str> {
    let start = text
        .match_indices("-----BEGIN ")
        .map(|(i, _)| i)
        .find(|&i| {
            text[i..]
                .lines()
                .next()
                .is_some_and(|line| line.trim_end().ends_with("PRIVATE KEY-----"))
        })?;
    let rest = &text[start..];
    let end = rest.find("-----END ")?;
    let close = end + rest[end..].find("KEY-----")? + "KEY-----".len();
    Some(&rest[..close])
}

fn key_error(message: &str) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint(
        "give the RSA private key (PEM) whose certificate is uploaded to the connected app \
         (Use digital signatures), such as the server.key made with openssl",
    )
}

impl AppClient {
    /// Logs in with a signed assertion. Safe to send again after a lost answer (the
    /// assertion only proves who signed it), so ambiguous failures are retried like 5xx
    /// answers. No client secret is sent.
    ///
    /// An `invalid_grant` other than a policy refusal means the assertion was refused (wrong
    /// key for the app's certificate, unknown user, wrong audience):
    /// [`ErrorKind::ClientRejected`].
    pub async fn jwt_bearer(&self, jwt: &JwtBearer) -> Result<Granted> {
        let assertion = jwt.assertion()?;
        self.token_request(TokenRequest {
            what: "JWT bearer login",
            form: vec![
                ("grant_type", GRANT_TYPE),
                ("assertion", assertion.expose()),
                ("format", "json"),
            ],
            credentials: Credentials::None,
            idempotent: true,
            reclassify: refused,
        })
        .await
    }
}

fn refused(e: Error) -> Error {
    let expired = e
        .oauth()
        .and_then(|o| o.description.as_deref())
        .is_some_and(|d| d.to_ascii_lowercase().contains("expired"));
    if expired {
        // sfauth signs every assertion for three minutes from now: an "expired" refusal
        // means the clocks disagree.
        e.with_kind(ErrorKind::ClientRejected).with_hint(
            "Salesforce found the assertion expired although it was signed just now: \
             check this machine's clock (sync it with NTP)",
        )
    } else {
        e.with_kind(ErrorKind::ClientRejected).with_hint(
            "check that the private key matches the certificate uploaded to the connected \
             app, that the username exists in this org, and the audience (sandboxes use \
             https://test.salesforce.com)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const KEY: &str = include_str!("../../tests/fixtures/jwt_unit_key.pem");
    const PUBLIC: &str = include_str!("../../tests/fixtures/jwt_unit_key.pub.pem");

    fn jwt(key: &str) -> JwtBearer {
        JwtBearer {
            client_id: "3MVG9client".into(),
            username: "ci@acme.example".into(),
            audience: "https://login.salesforce.com".into(),
            key_pem: Secret::from(key),
        }
    }

    #[test]
    fn assertion_is_rs256_with_salesforce_claims_and_verifies_with_the_public_key() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let assertion = jwt(KEY).assertion_at(now).unwrap();
        let parts = assertion.expose().split('.').collect::<Vec<_>>();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({"iss": "3MVG9client", "sub": "ci@acme.example",
                "aud": "https://login.salesforce.com", "exp": 1_800_000_180u64})
        );
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_exp = false;
        validation.set_audience(&["https://login.salesforce.com"]);
        jsonwebtoken::decode::<serde_json::Value>(assertion.expose(), &key, &validation).unwrap();
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 64, failure_persistence: None, ..Default::default() })]

        #[test]
        fn exp_is_three_minutes_after_the_signing_time(secs in 0u64..(1 << 40)) {
            let assertion = jwt(KEY).assertion_at(UNIX_EPOCH + Duration::from_secs(secs)).unwrap();
            let payload = assertion.expose().split('.').nth(1).unwrap();
            let claims: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
            proptest::prop_assert_eq!(claims["exp"].as_u64(), Some(secs + 180));
        }
    }

    #[test]
    fn key_after_a_certificate_in_one_file_is_found() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert!(jwt(&format!("{cert}{KEY}")).assertion().is_ok());
    }

    #[test]
    fn bad_pem_is_a_usage_error_that_names_the_problem_but_not_the_key() {
        let garbage_key = KEY.replace("MII", "XXX");
        for (pem, says) in [
            ("", "empty"),
            ("just some text", "not PEM"),
            (PUBLIC, "a public key"),
            (
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
                "a certificate",
            ),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----",
                "encrypted",
            ),
            (
                "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----",
                "not an RSA key",
            ),
            (garbage_key.as_str(), "RSA private key"),
        ] {
            let e = jwt(pem).assertion().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{says}");
            assert!(e.to_string().contains(says), "{e} should say {says}");
            let body = KEY.lines().nth(1).unwrap();
            assert!(!e.to_string().contains(body));
            assert!(!format!("{e:?}").contains(body));
        }
    }

    #[test]
    fn empty_claims_are_refused() {
        let mut j = jwt(KEY);
        j.username.clear();
        let e = j.assertion().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains("username"));
    }

    #[test]
    fn audience_follows_the_login_host() {
        let aud = |u: &str| JwtBearer::audience_for(&LoginUrl::parse(u).unwrap());
        assert_eq!(aud("https://login.salesforce.com"), endpoint::PRODUCTION);
        assert_eq!(
            aud("https://acme--uat.sandbox.my.salesforce.com"),
            endpoint::SANDBOX
        );
        assert_eq!(aud("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
