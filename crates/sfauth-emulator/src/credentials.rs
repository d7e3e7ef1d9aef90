//! Shapes of the strings Salesforce hands out (ids, tokens, signatures, timestamps), and
//! the one way secrets among them are compared.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Alphabet of Salesforce record ids (case-sensitive base 62).
const ID_CHARS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` random bytes, base64url-encoded: URL- and header-safe, like Salesforce's own tokens.
pub(crate) fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS RNG only fails on exotic platforms; an emulator cannot do anything useful
    // without it, and predictable tokens would hide client bugs.
    getrandom::fill(&mut buf).expect("the OS random number generator is unavailable");
    URL_SAFE_NO_PAD.encode(&buf)
}

/// A new access token: the 15-character org id, `!AQ`, then random characters, as real
/// session ids look (`00D...!AQ...`). Clients sometimes parse the org id out of it.
pub(crate) fn access_token(org_id: &str) -> String {
    let org15: String = org_id.chars().take(15).collect();
    format!("{org15}!AQ{}", random_text(60))
}

/// A new refresh token, shaped like Salesforce's (`5Aep861...`).
pub(crate) fn refresh_token() -> String {
    format!("5Aep861{}", random_text(60))
}

/// A stable 18-character user id (`005...`) for a username.
///
/// Derived from a hash so the same username gets the same id in every emulator run,
/// which keeps snapshots and identity URLs reproducible.
pub(crate) fn user_id(username: &str) -> String {
    let digest = Sha256::digest(username.as_bytes());
    let mut id15 = String::from("005");
    for byte in digest.iter().take(12) {
        id15.push(char::from(ID_CHARS[usize::from(*byte) % ID_CHARS.len()]));
    }
    with_checksum(&id15)
}

/// Extends a 15-character case-sensitive id with Salesforce's 3-character
/// case-insensitive suffix (one character per 5-character chunk, one bit per upper-case
/// letter).
fn with_checksum(id15: &str) -> String {
    const SUFFIX_CHARS: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut id = id15.to_owned();
    for chunk in id15.as_bytes().chunks(5) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        id.push(char::from(SUFFIX_CHARS[bits]));
    }
    id
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A new authorization code. Real ones end in `==`, which must be percent-encoded in the
/// redirect, so clients that forget to decode the query get caught.
pub(crate) fn authorization_code() -> String {
    format!("aPrx{}==", random_text(48))
}

/// A new device code (what the client polls with).
pub(crate) fn device_code() -> String {
    format!("M{}", random_text(32))
}

/// A new user code: 8 upper-case letters and digits, without look-alikes, as a user types it.
pub(crate) fn user_code() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 8];
    getrandom::fill(&mut buf).expect("the OS random number generator is unavailable");
    buf.iter()
        .map(|b| char::from(CHARS[usize::from(*b) % CHARS.len()]))
        .collect()
}

/// A JWT-shaped OpenID Connect `id_token`. Its signature is random bytes: the emulator
/// publishes no key, so clients can decode it but not verify it.
pub(crate) fn id_token(claims: &serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"kid":"emulator","typ":"JWT","alg":"RS256"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.{}", random_text(256))
}

/// `base64url-no-pad(SHA-256(verifier))`: the PKCE S256 challenge of a code verifier.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Milliseconds since the Unix epoch, as the string Salesforce sends in `issued_at`.
pub(crate) fn issued_at_now() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    millis.to_string()
}

/// `base64(HMAC-SHA256(key = client_secret, msg = id + issued_at))`, standard alphabet
/// with padding, as Salesforce computes the `signature` field.
pub(crate) fn signature(client_secret: &str, id: &str, issued_at: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Compares without leaking, through timing, how much of a secret matched.
pub(crate) fn constant_time_eq(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_org_id_has_a_valid_checksum() {
        // Guards the checksum code with a value whose suffix is known by hand.
        assert_eq!(with_checksum("00D000000000001"), "00D000000000001EAA");
    }

    #[test]
    fn user_ids_are_stable_18_char_005_ids() {
        let id = user_id("alice@example.com");
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("005"));
        assert_eq!(id, user_id("alice@example.com"));
        assert_ne!(id, user_id("bob@example.com"));
    }

    #[test]
    fn access_tokens_start_with_the_org_id_and_differ_each_time() {
        let first = access_token("00D000000000001EAA");
        assert!(first.starts_with("00D000000000001!AQ"), "{first}");
        assert!(first.len() >= 40);
        assert_ne!(first, access_token("00D000000000001EAA"));
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn user_codes_are_eight_unambiguous_characters() {
        let code = user_code();
        assert_eq!(code.len(), 8);
        assert!(
            code.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = signature("Jefe", "what do ya want ", "for nothing?");
        assert_eq!(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
    }
}
