//! The one HTTP client: timeouts, gzip, proxies, an extra CA, and the retry policy.
//!
//! Retries are bounded, with exponential backoff and jitter, and only for requests that are
//! safe to send again: connection failures (nothing was sent), 5xx and 429 answers. A
//! request that may have reached the server without an answer (a timeout or reset after
//! sending) is *not* replayed unless the caller says it is idempotent: with refresh-token
//! rotation, replaying a refresh that Salesforce already served revokes the token family.

use std::path::PathBuf;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use crate::endpoint::LoginUrl;
use crate::error::{Error, ErrorKind, Result, Retry};

/// Bounded retries with exponential backoff and jitter.
///
/// ```
/// use std::time::Duration;
/// let policy = sfauth::RetryPolicy { max_retries: 2, ..Default::default() };
/// assert_eq!(policy.min_delay, Duration::from_millis(250));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// The first backoff delay.
    pub min_delay: Duration,
    /// The longest backoff delay (also caps a server's `Retry-After`).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
    }
}

/// HTTP settings.
///
/// ```
/// let config = sfauth::HttpConfig::default();
/// assert_eq!(config.timeout.as_secs(), 30);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// How long to wait for a TCP + TLS connection.
    pub connect_timeout: Duration,
    /// How long a whole request may take, answer included.
    pub timeout: Duration,
    /// A PEM file of extra root certificates (a corporate TLS proxy's CA).
    pub ca_file: Option<PathBuf>,
    /// What to retry, and how.
    pub retry: RetryPolicy,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            ca_file: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// An answer read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// An API answer, read in full.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// The URL that was requested.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The HTTP version and reason, e.g. `HTTP/1.1 200 OK`.
    pub status_line: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Whether sfauth refreshed the token and retried after a 401.
    pub refreshed: bool,
}

/// The HTTP client for one login host.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: reqwest::Client,
    retry: RetryPolicy,
}

impl HttpClient {
    /// Builds a client for requests to `target`. Proxies from the environment are honoured,
    /// except for loopback targets (the emulator), which are never sent through a proxy.
    pub fn new(config: &HttpConfig, target: &LoginUrl) -> Result<HttpClient> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(concat!("sfauth/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        if target.is_loopback() {
            builder = builder.no_proxy();
        }
        if target.is_plain_http() && config.ca_file.is_none() {
            // Plain http to loopback never does TLS: skip loading the system's CA store,
            // which is most of the cost of a refresh against the emulator.
            builder = builder.tls_certs_only(std::iter::empty());
        }
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                Error::new(
                    ErrorKind::Usage,
                    format!("cannot read CA file {}: {e}", path.display()),
                )
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::new(
                    ErrorKind::Usage,
                    format!("CA file {} is not PEM: {e}", path.display()),
                )
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {}", chain(&e))))?;
        Ok(HttpClient {
            client,
            retry: config.retry.clone(),
        })
    }

    /// POSTs a form and reads the answer, retrying what is safe to retry. 5xx and 429 come
    /// back as errors; other statuses come back for the caller to read. `idempotent` allows
    /// replaying a request that may have reached the server.
    pub(crate) async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        idempotent: bool,
    ) -> Result<Answer> {
        (|| self.post_form_once(url, form))
            .retry(self.retry.backoff())
            .when(|e: &Error| match e.retry {
                Retry::Unsent | Retry::ServerBusy => true,
                Retry::Ambiguous => idempotent,
                Retry::No | Retry::InFlightElsewhere => false,
            })
            .notify(|e: &Error, after: Duration| {
                tracing::debug!(error = %e, ?after, "retrying token endpoint request");
            })
            .await
    }

    /// Sends one API request with a bearer token. Not retried: an API call may not be
    /// idempotent, and a 401 is the caller's to handle.
    pub(crate) async fn send_bearer(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
        bearer: &crate::Secret<String>,
    ) -> Result<ApiResponse> {
        let method =
            reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                Error::new(
                    ErrorKind::Usage,
                    format!("`{method}` is not an HTTP method"),
                )
            })?;
        let mut request = self
            .client
            .request(method, url)
            .bearer_auth(bearer.expose());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = body {
            request = request.body(body.to_vec());
        }
        let response = request.send().await.map_err(|e| transport_error(url, &e))?;
        let status = response.status();
        let status_line = format!(
            "{:?} {} {}",
            response.version(),
            status.as_u16(),
            status.canonical_reason().unwrap_or_default()
        );
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(url, &e))?
            .to_vec();
        Ok(ApiResponse {
            url: url.to_owned(),
            status: status.as_u16(),
            status_line,
            headers,
            body,
            refreshed: false,
        })
    }

    async fn post_form_once(&self, url: &str, form: &[(&str, &str)]) -> Result<Answer> {
        let response = self
            .client
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| transport_error(url, &e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(url, &e))?
            .to_vec();
        if status >= 500 || status == 429 {
            let what = if status == 429 {
                "is rate limiting requests"
            } else {
                "had a server error"
            };
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("{} {what} (HTTP {status}){}", host_of(url), summary(&body)),
            )
            .with_hint("try again later; this is on Salesforce's side or the network's")
            .with_status(status)
            .with_retry(Retry::ServerBusy));
        }
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }
}

/// A short, safe excerpt of an error body for a message: error bodies hold no secrets, but
/// an HTML page can be long.
pub(crate) fn summary(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        String::new()
    } else if text.chars().count() > 160 {
        format!(": {}…", text.chars().take(160).collect::<String>())
    } else {
        format!(": {text}")
    }
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| url.to_owned())
}

/// The error and its causes on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

fn transport_error(url: &str, e: &reqwest::Error) -> Error {
    let host = host_of(url);
    let (retry, message) = if e.is_connect() {
        (Retry::Unsent, format!("cannot connect to {host}"))
    } else if e.is_timeout() {
        (Retry::Ambiguous, format!("{host} did not answer in time"))
    } else if e.is_builder() || e.is_redirect() {
        (Retry::No, format!("cannot send the request to {host}"))
    } else {
        (
            Retry::Ambiguous,
            format!("the connection to {host} failed mid-request"),
        )
    };
    let hint = match retry {
        Retry::Ambiguous => {
            "the request may have reached Salesforce; run the command again (sfauth re-reads \
             the stored token first); if it then says the login is required, log in again"
        }
        _ => "check the network, any proxy settings (HTTPS_PROXY) and the login URL",
    };
    Error::new(ErrorKind::Unavailable, format!("{message} ({})", chain(e)))
        .with_hint(hint)
        .with_retry(retry)
}
