//! A `force://` SFDX auth URL: any text. What parses writes back to an equal URL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfauth::SfdxAuthUrl;

fuzz_target!(|text: &str| {
    if let Ok(url) = SfdxAuthUrl::parse(text) {
        let again = SfdxAuthUrl::parse(url.to_url().expose()).expect("to_url re-parses");
        assert!(again == url);
    }
});
