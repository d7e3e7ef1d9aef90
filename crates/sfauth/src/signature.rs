//! The `signature` field: base64(HMAC-SHA256(key = client secret, msg = `id` + `issued_at`)).
//!
//! Salesforce signs the identity URL and issue time so that a client holding the consumer
//! secret can tell the response was not altered. Without the secret (PKCE and other public
//! clients) it cannot be checked. The raw strings are concatenated exactly as received.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, ErrorKind, Result};
use crate::secret::ClientSecret;
use crate::token::Token;

/// Computes the signature Salesforce would send for `id` and `issued_at`.
#[cfg(test)]
fn sign(id: &str, issued_at: &str, client_secret: &ClientSecret) -> String {
    mac(id, issued_at, client_secret)
        .map(|mac| STANDARD.encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

/// The HMAC over `id` + `issued_at`. HMAC takes a key of any length, so this is `None` only
/// if the `hmac` crate changed its contract: then nothing verifies, and nothing panics.
fn mac(id: &str, issued_at: &str, client_secret: &ClientSecret) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(client_secret.expose().as_bytes()).ok()?;
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    Some(mac)
}

/// Checks a signature in constant time. `false` for a signature that is not base64.
fn verify_parts(id: &str, issued_at: &str, signature: &str, client_secret: &ClientSecret) -> bool {
    match STANDARD.decode(signature.trim()) {
        Ok(raw) => {
            mac(id, issued_at, client_secret).is_some_and(|mac| mac.verify_slice(&raw).is_ok())
        }
        Err(_) => false,
    }
}

/// What a signature check found.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The signature matched the client secret.
    Verified,
    /// No client secret is known, so nothing could be checked.
    NoSecret,
    /// The response carried no signature (JWT bearer responses have none).
    Absent,
}

/// Checks a token response's signature when the client secret is known.
///
/// A signature that does not match is a protocol error: the response must not be stored.
pub(crate) fn check(token: &Token, client_secret: Option<&ClientSecret>) -> Result<SignatureCheck> {
    let Some(secret) = client_secret else {
        return Ok(SignatureCheck::NoSecret);
    };
    let Some(signature) = token.signature() else {
        return Ok(SignatureCheck::Absent);
    };
    let (Some(id), Some(issued_at)) = (token.id(), token.issued_at_raw()) else {
        return Err(Error::new(
            ErrorKind::Protocol,
            "the token response has a signature but no `id` or `issued_at` to check it against",
        ));
    };
    if verify_parts(id, &issued_at, signature, secret) {
        Ok(SignatureCheck::Verified)
    } else {
        Err(Error::new(
            ErrorKind::Protocol,
            "the token response's signature does not match: it was not signed with this client secret",
        )
        .with_hint(
            "check that the client secret belongs to this connected app (a secret that was \
             rotated in Salesforce must be updated here); nothing was saved",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_from_the_hmac_definition() {
        // HMAC-SHA256(key="secret", "https://login.salesforce.com/id/00D/005" + "1331142541514"),
        // computed independently with `openssl dgst -sha256 -hmac secret -binary | base64`.
        let sig = sign(
            "https://login.salesforce.com/id/00D/005",
            "1331142541514",
            &ClientSecret::from("secret"),
        );
        assert_eq!(sig, "auY8jumMQX+PMrfUdl8ltsLb+pIlqSlVu2wk6gMwbsU=");
    }

    #[test]
    fn wrong_secret_fails() {
        let sig = sign("id", "1", &ClientSecret::from("a"));
        assert!(!verify_parts("id", "1", &sig, &ClientSecret::from("b")));
        assert!(!verify_parts("id", "2", &sig, &ClientSecret::from("a")));
        assert!(!verify_parts(
            "id",
            "1",
            "not base64!",
            &ClientSecret::from("a")
        ));
    }
}
