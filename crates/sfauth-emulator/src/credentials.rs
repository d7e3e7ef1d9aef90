//! Shapes of the strings Salesforce hands out: ids, tokens, signatures, timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Alphabet of Salesforce record ids (case-sensitive base 62).
const ID_CHARS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` random bytes, base64url-encoded: URL- and header-safe, like Salesforce's own tokens.
fn random_text(bytes: usize) -> String {
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
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = signature("Jefe", "what do ya want ", "for nothing?");
        assert_eq!(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
    }
}
