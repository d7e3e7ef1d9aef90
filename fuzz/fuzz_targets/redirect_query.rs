//! The URL the browser was redirected to after a web-server login: any text.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sfauth::{AppClient, AuthorizeOptions, ConnectedApp, Endpoint, HttpConfig, LoginUrl, PendingLogin, SitePrefix};

fn login() -> &'static PendingLogin {
    static LOGIN: OnceLock<PendingLogin> = OnceLock::new();
    LOGIN.get_or_init(|| {
        let endpoint = Endpoint::new(
            LoginUrl::parse("https://login.salesforce.com").unwrap(),
            SitePrefix::default(),
        );
        AppClient::new(ConnectedApp::new("3MVG9client"), endpoint, &HttpConfig::default())
            .unwrap()
            .authorize(&AuthorizeOptions::default())
            .unwrap()
    })
}

fuzz_target!(|text: &str| {
    let _ = login().code_from_redirect(text);
});
