//! The Salesforce CLI's encryption, against the real `@salesforce/core`: what it encrypts
//! sfauth decrypts, and what sfauth encrypts it decrypts, with each version's key.

use sfauth::{SfCryptoVersion, SfKey};
use sfauth_test_support::sf_core::SfCore;

const TOKEN: &str = "00D5g000004abcd!AQ8AQJ.refresh_Me-please_0123456789";

fn round_trip(v2: bool, version: SfCryptoVersion) {
    let sf = SfCore::new(v2);
    let theirs = sf.encrypt(TOKEN);
    let key = SfKey::parse(&sf.key()).unwrap();
    assert_eq!(key.version(), version);
    assert_eq!(key.decrypt(&theirs).unwrap().expose(), TOKEN, "sf → sfauth");
    let ours = key.encrypt(TOKEN).unwrap();
    assert_ne!(ours, theirs, "a fresh IV each time");
    assert_eq!(sf.decrypt(&ours), TOKEN, "sfauth → sf");
}

#[test]
fn v1_values_round_trip_with_salesforce_core() {
    round_trip(false, SfCryptoVersion::V1);
}

#[test]
fn v2_values_round_trip_with_salesforce_core() {
    round_trip(true, SfCryptoVersion::V2);
}
