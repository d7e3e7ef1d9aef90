//! A login URL and a site prefix: any text. Only https, or http to a loopback host, passes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfauth::{Endpoint, LoginUrl, SitePrefix};

fuzz_target!(|text: &str| {
    if let Ok(login) = LoginUrl::parse(text) {
        let shown = login.as_str();
        assert!(shown.starts_with("https://") || (shown.starts_with("http://") && login.is_loopback()));
        assert_eq!(LoginUrl::parse(shown).expect("re-parses").as_str(), shown);
    }
    if let Ok(site) = SitePrefix::parse(text) {
        let login = LoginUrl::parse("https://acme.my.site.com").unwrap();
        let _ = Endpoint::new(login, site).token_url();
    }
});
