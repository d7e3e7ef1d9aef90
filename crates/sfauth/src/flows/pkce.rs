//! [`Pkce`]: Proof Key for Code Exchange (RFC 7636), method `S256`.
//!
//! A CLI cannot keep a client secret, so whoever intercepts the authorization code (another
//! app listening on the redirect port, a browser extension) could exchange it. PKCE binds the
//! code to this login: the authorize request carries `SHA-256(verifier)`, and only the
//! holder of the verifier can exchange the code.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::secret::{PkceVerifier, Secret};

/// A PKCE verifier and its `S256` challenge.
///
/// ```
/// use sfauth::Pkce;
/// let pkce = Pkce::new();
/// // 32 random bytes, base64url without padding: 43 characters.
/// assert_eq!(pkce.verifier().expose().len(), 43);
/// assert_eq!(pkce.challenge().len(), 43);
/// assert_ne!(pkce.challenge(), pkce.verifier().expose());
/// assert_eq!(Pkce::METHOD, "S256");
/// ```
#[derive(Clone, Debug)]
pub struct Pkce {
    verifier: PkceVerifier,
    challenge: String,
}

impl Pkce {
    /// The `code_challenge_method`: SHA-256, the only one worth sending.
    pub const METHOD: &'static str = "S256";

    /// A new verifier from 32 bytes of the operating system's randomness.
    ///
    /// # Panics
    ///
    /// If the operating system has no randomness to give, which leaves no safe way on.
    pub fn new() -> Pkce {
        Pkce::from_verifier(PkceVerifier::new(random_token().expose()))
    }

    /// A PKCE pair for a known verifier (tests, and the RFC's example).
    pub(crate) fn from_verifier(verifier: PkceVerifier) -> Pkce {
        let digest = Sha256::digest(verifier.expose().as_bytes());
        Pkce {
            challenge: URL_SAFE_NO_PAD.encode(digest),
            verifier,
        }
    }

    /// The `code_verifier`, sent with the code exchange only.
    pub fn verifier(&self) -> &PkceVerifier {
        &self.verifier
    }

    /// The `code_challenge`: base64url (no padding) of SHA-256 of the verifier. Public: it
    /// goes in the authorize URL.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Pkce::new()
    }
}

/// 32 random bytes as base64url without padding: a PKCE verifier or an OAuth `state`.
pub(crate) fn random_token() -> Secret<String> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).expect("the operating system's random number generator failed");
    Secret::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_matches_rfc_7636_appendix_b() {
        // The verifier of RFC 7636 appendix B: base64url of the 32 octets listed there.
        let pkce = Pkce::from_verifier(PkceVerifier::from(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ));
        assert_eq!(
            pkce.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_uses_only_unreserved_characters_and_is_new_each_time() {
        let a = Pkce::new();
        let b = Pkce::new();
        assert_ne!(a.verifier(), b.verifier());
        // RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].
        let v = a.verifier().expose();
        assert!((43..=128).contains(&v.len()));
        assert!(
            v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c))
        );
    }

    #[test]
    fn debug_hides_the_verifier() {
        let pkce = Pkce::new();
        let printed = format!("{pkce:?}");
        assert!(!printed.contains(pkce.verifier().expose()), "{printed}");
        assert!(printed.contains(pkce.challenge()));
    }
}
