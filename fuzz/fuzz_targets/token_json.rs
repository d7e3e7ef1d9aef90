//! A token file or token response: any bytes. What parses writes back to an equal token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfauth::Token;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = Token::from_json(data) {
        let again = Token::from_json(token.to_json_pretty().as_bytes()).expect("re-parses");
        assert!(again == token);
        assert!(again.keys().eq(token.keys()));
    }
});
