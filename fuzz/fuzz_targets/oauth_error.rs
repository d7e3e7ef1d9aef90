//! A token endpoint's error answer: the fuzzed bytes as the body of a 400, read by a refresh
//! against a local server (the classifier is reached only through an HTTP answer).
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use sfauth::{AppClient, ConnectedApp, Endpoint, HttpConfig, LoginUrl, RefreshToken, RetryPolicy, SitePrefix};

struct Harness {
    runtime: tokio::runtime::Runtime,
    body: Arc<Mutex<Vec<u8>>>,
    client: AppClient,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let body = Arc::new(Mutex::new(Vec::new()));
        let shared = body.clone();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().fallback(move || {
            let body = shared.lock().unwrap().clone();
            async move { (axum::http::StatusCode::BAD_REQUEST, body) }
        });
        runtime.spawn(async move { axum::serve(listener, app).await });
        let login = LoginUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let config = HttpConfig::default().with_retry(RetryPolicy::none());
        let endpoint = Endpoint::new(login, SitePrefix::default());
        let client = AppClient::new(ConnectedApp::new("3MVG9client"), endpoint, &config).unwrap();
        Harness { runtime, body, client }
    })
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    *h.body.lock().unwrap() = data.to_vec();
    let refresh_token = RefreshToken::from("5Aep861.fuzz-refresh-token");
    let result = h.runtime.block_on(h.client.refresh(&refresh_token));
    let e = result.expect_err("a 400 is never a token");
    assert!(!format!("{e} {e:?}").contains("fuzz-refresh-token"));
});
