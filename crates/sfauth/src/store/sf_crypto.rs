//! The Salesforce CLI's encryption of the secrets in its auth files, as `@salesforce/core`'s
//! `Crypto` does it, so that sfauth reads what `sf` wrote and `sf` reads what sfauth wrote.
//!
//! Both versions are AES-256-GCM with a 12-byte nonce, written as
//! `IV CIPHERTEXT ":" TAG`, all lower-case hex:
//!
//! - **v1** (the CLI's default): the key is 32 characters (16 random bytes in hex), used as
//!   its own 32 ASCII bytes; the IV is 6 random bytes in hex, and its 12 characters are the
//!   nonce.
//! - **v2** (`SF_CRYPTO_V2=true`): the key is 64 hex characters, decoded to 32 bytes; the IV
//!   is 12 random bytes, written as 24 hex characters.
//!
//! The key is what the CLI keeps in the OS keychain (service `sfdx`, account `local`) or,
//! where there is none, in its generic key file `key.json`; its length says the version.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;

/// The GCM tag, in hex characters.
const TAG_HEX: usize = 32;

/// Which of the CLI's two schemes a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SfCryptoVersion {
    /// A 32-character key, used as bytes; 6-byte IVs written as 12 characters.
    V1,
    /// A 64-hex-character key, decoded; 12-byte IVs.
    V2,
}

/// The Salesforce CLI's encryption key, as its keychain entry or `key.json` holds it.
///
/// ```
/// use sfauth::SfKey;
/// let key = SfKey::parse("0123456789abcdef0123456789abcdef")?; // a v1 key
/// let sealed = key.encrypt("00D!AQ")?;
/// assert_eq!(key.decrypt(&sealed)?.expose(), "00D!AQ");
/// assert!(!format!("{key:?}").contains("0123"));
/// # Ok::<(), sfauth::Error>(())
/// ```
pub struct SfKey {
    key: LessSafeKey,
    version: SfCryptoVersion,
}

impl std::fmt::Debug for SfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SfKey")
            .field("version", &self.version)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl SfKey {
    /// The key as the CLI stores it: 32 characters (v1) or 64 hex characters (v2).
    pub fn parse(text: &str) -> Result<SfKey> {
        let text = text.trim();
        let (bytes, version) = match text.len() {
            32 => (text.as_bytes().to_vec(), SfCryptoVersion::V1),
            64 => (
                hex_decode(text).ok_or_else(|| bad_key("is 64 characters but not hex"))?,
                SfCryptoVersion::V2,
            ),
            _ => {
                return Err(bad_key(
                    "is neither 32 characters (v1) nor 64 hex characters (v2)",
                ));
            }
        };
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| bad_key("cannot be an AES-256 key"))?;
        Ok(SfKey {
            key: LessSafeKey::new(unbound),
            version,
        })
    }

    /// Which scheme the key belongs to.
    pub fn version(&self) -> SfCryptoVersion {
        self.version
    }

    /// Decrypts a value the CLI encrypted (`IV CIPHERTEXT:TAG`).
    pub fn decrypt(&self, sealed: &str) -> Result<Secret<String>> {
        let (body, tag) = sealed
            .split_once(':')
            .filter(|(_, tag)| tag.len() == TAG_HEX)
            .ok_or_else(|| unreadable("is not in the CLI's encrypted form (IV, data, `:`, tag)"))?;
        let (nonce, data) = match self.version {
            SfCryptoVersion::V1 => {
                let iv = body
                    .get(..12)
                    .ok_or_else(|| unreadable("is too short to hold an IV"))?;
                (
                    nonce_from(iv.as_bytes())?,
                    body.get(12..).unwrap_or_default(),
                )
            }
            SfCryptoVersion::V2 => {
                let iv = body
                    .get(..24)
                    .and_then(hex_decode)
                    .ok_or_else(|| unreadable("does not start with a 12-byte IV"))?;
                (nonce_from(&iv)?, body.get(24..).unwrap_or_default())
            }
        };
        let mut buffer = hex_decode(data).ok_or_else(|| unreadable("is not hex"))?;
        buffer.extend(hex_decode(tag).ok_or_else(|| unreadable("has a tag that is not hex"))?);
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut buffer)
            .map_err(|_| {
                unreadable("does not decrypt with the CLI's key (another key, or changed)")
            })?;
        let text = std::str::from_utf8(plain)
            .map_err(|_| unreadable("decrypts to something that is not text"))?
            .to_owned();
        zeroize::Zeroize::zeroize(&mut buffer);
        Ok(Secret::from(text))
    }

    /// Encrypts `plain` as the CLI would, with a fresh random IV.
    pub fn encrypt(&self, plain: &str) -> Result<String> {
        let (iv_text, nonce) = match self.version {
            SfCryptoVersion::V1 => {
                let iv = hex_encode(&random::<6>()?);
                let nonce = nonce_from(iv.as_bytes())?;
                (iv, nonce)
            }
            SfCryptoVersion::V2 => {
                let iv = random::<12>()?;
                (hex_encode(&iv), nonce_from(&iv)?)
            }
        };
        let mut buffer = plain.as_bytes().to_vec();
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::empty(), &mut buffer)
            .map_err(|_| Error::internal("AES-GCM encryption failed"))?;
        let sealed = format!(
            "{iv_text}{}:{}",
            hex_encode(&buffer),
            hex_encode(tag.as_ref())
        );
        Ok(sealed)
    }
}

fn nonce_from(bytes: &[u8]) -> Result<Nonce> {
    Nonce::try_assume_unique_for_key(bytes).map_err(|_| unreadable("has an IV of the wrong size"))
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::internal(format!("no randomness for an IV: {e}")))?;
    Ok(bytes)
}

fn bad_key(why: &str) -> Error {
    Error::new(
        ErrorKind::Usage,
        format!("the Salesforce CLI's encryption key {why}"),
    )
    .with_hint(
        "the key is the CLI's own (keychain entry sfdx/local, or key.json in its directory): \
         log in with sf again to have it made anew",
    )
}

fn unreadable(why: &str) -> Error {
    Error::new(
        ErrorKind::Usage,
        format!("a value in the Salesforce CLI's auth file {why}"),
    )
    .with_hint("log in to the org with sf again (sf org login web), then retry")
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "0123456789abcdef0123456789abcdef";
    const V2: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn each_version_round_trips_in_the_clis_shape() {
        for (key, iv_chars) in [(V1, 12), (V2, 24)] {
            let key = SfKey::parse(key).unwrap();
            let sealed = key.encrypt("5Aep861!refresh").unwrap();
            let (body, tag) = sealed.split_once(':').unwrap();
            assert_eq!(tag.len(), 32);
            assert_eq!(body.len(), iv_chars + 2 * "5Aep861!refresh".len());
            assert!(sealed.chars().all(|c| c == ':' || c.is_ascii_hexdigit()));
            assert_eq!(key.decrypt(&sealed).unwrap().expose(), "5Aep861!refresh");
        }
    }

    #[test]
    fn a_changed_value_or_another_key_does_not_decrypt() {
        let key = SfKey::parse(V1).unwrap();
        let sealed = key.encrypt("secret").unwrap();
        let mut tampered = sealed.clone().into_bytes();
        tampered[14] = if tampered[14] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(key.decrypt(&tampered).is_err());
        let other = SfKey::parse("fedcba9876543210fedcba9876543210").unwrap();
        let e = other.decrypt(&sealed).unwrap_err();
        assert!(!e.to_string().contains("secret"));
        assert!(key.decrypt("plain text").is_err());
    }

    #[test]
    fn a_key_of_another_length_is_refused() {
        assert!(SfKey::parse("short").is_err());
        assert!(SfKey::parse(&"z".repeat(64)).is_err());
    }
}
