//! An access token read as a JWT for its `exp`: `eyJ` + header, the fuzzed bytes as the
//! payload, a signature; and the fuzzed text as the whole access token.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use sfauth::{ExpiryPolicy, Token};

fn expiry_of(access: &str) {
    let token = Token::from_value(serde_json::json!({
        "access_token": access,
        "instance_url": "https://acme.my.salesforce.com",
        "token_format": "jwt",
    }))
    .unwrap();
    let _ = ExpiryPolicy::default().expiry(&token);
}

fuzz_target!(|data: &[u8]| {
    expiry_of(&format!("eyJhbGciOiJSUzI1NiJ9.{}.sig", URL_SAFE_NO_PAD.encode(data)));
    if let Ok(text) = std::str::from_utf8(data)
        && !text.is_empty()
    {
        expiry_of(text);
    }
});
