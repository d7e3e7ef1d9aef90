//! A scripted browser for `login web`: it plays the user at the emulator's authorize page
//! and delivers the redirect to sfauth's loopback listener, one `GET` at a time.
//!
//! It follows no redirect (a test looks at each hop), uses no proxy, and gives up on any
//! request after [`Browser::TIMEOUT`]. Not a general HTTP client: for `127.0.0.1` only.

use std::time::Duration;

/// What the browser got back from one `GET`.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The body, lossily decoded.
    pub body: String,
}

/// A browser: reqwest's client on a small runtime of its own, so sync tests can use it.
pub struct Browser {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    /// The most any one request may take.
    pub const TIMEOUT: Duration = Duration::from_secs(30);

    /// A browser that follows no redirect and uses no proxy.
    pub fn new() -> Browser {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the browser's runtime");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Self::TIMEOUT)
            .build()
            .expect("the browser's HTTP client");
        Browser { client, runtime }
    }

    /// `GET url`; panics if no answer comes.
    pub fn get(&self, url: &str) -> Reply {
        self.runtime.block_on(async {
            let response = self
                .client
                .get(url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {url}: {e}"));
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
            let body = response
                .bytes()
                .await
                .unwrap_or_else(|e| panic!("read the answer from {url}: {e}"));
            Reply {
                status,
                location,
                body: String::from_utf8_lossy(&body).into_owned(),
            }
        })
    }

    /// Plays the user at the authorize page: `GET` the authorize URL, expect a 302, and
    /// return where it sends the browser (the redirect URI with `code` and `state`, or
    /// with `error` when consent is denied).
    pub fn authorize(&self, authorize_url: &str) -> String {
        let reply = self.get(authorize_url);
        assert_eq!(
            reply.status, 302,
            "the authorize endpoint answered {reply:?}"
        );
        reply.location.expect("the 302 has a Location")
    }
}

/// The value of query parameter `key` in `url`.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap_or_else(|e| panic!("`{url}` is not a URL: {e}"))
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `url` with query parameter `key` set to `value` (the other parameters kept in order).
pub fn with_query_param(url: &str, key: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("`{url}` is not a URL: {e}"));
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == key { value.into() } else { v };
            (k.into_owned(), v.into_owned())
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.into()
}
