//! The one HTTP client: timeouts, gzip, bounded bodies, proxies, an extra CA, and the retry
//! policy.
//!
//! Retries are bounded, with exponential backoff and jitter, and only for requests that are
//! safe to send again: connection failures (nothing was sent), and the answers that say the
//! request was not processed, 503 and 429 (honouring `Retry-After`). A request that may have
//! reached the server without a usable answer (a timeout or reset after sending, or a 500,
//! 502, 504 or other 5xx, which a gateway can send after the server did the work) is *not*
//! replayed unless the caller says it is idempotent: with refresh-token rotation, replaying
//! a refresh that Salesforce already served revokes the token family.
//!
//! Bodies are read with a cap that applies after decompression, so a small gzip answer that
//! inflates to gigabytes stops at the cap: [`MAX_OAUTH_BODY`] for the OAuth endpoints,
//! [`HttpConfig::max_api_body`] for API calls.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use backon::{ExponentialBuilder, Retryable};

use crate::endpoint::LoginUrl;
use crate::error::{Error, ErrorKind, Result, Retry};

/// Bounded retries with exponential backoff and jitter.
///
/// ```
/// use std::time::Duration;
/// let policy = sfauth::RetryPolicy::default().with_max_retries(2);
/// assert_eq!(policy.max_retries, 2);
/// assert_eq!(policy.min_delay, Duration::from_millis(250));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// The first backoff delay.
    pub min_delay: Duration,
    /// The longest backoff delay (at most a day). It also caps a server's `Retry-After`: a server that asks
    /// for a longer wait gets this one, and the retry count still applies, so a server that
    /// keeps asking ends in an error after `max_retries` retries.
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

/// The longest wait between two tries, whatever the policy says: the backoff's jitter
/// multiplies the delay, which would overflow (and panic) near [`Duration::MAX`].
const LONGEST_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

impl RetryPolicy {
    /// No retries at all: every failure is reported at once.
    pub fn none() -> Self {
        RetryPolicy::default().with_max_retries(0)
    }

    /// With this many retries after the first attempt.
    pub fn with_max_retries(mut self, max_retries: usize) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// With this first backoff delay.
    pub fn with_min_delay(mut self, min_delay: Duration) -> Self {
        self.min_delay = min_delay;
        self
    }

    /// With this longest backoff delay (also the cap on a server's `Retry-After`).
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay.min(LONGEST_DELAY))
            .with_max_delay(self.max_delay.min(LONGEST_DELAY))
            .with_max_times(self.max_retries)
            .with_jitter()
    }
}

/// HTTP settings.
///
/// ```
/// use std::time::Duration;
/// let config = sfauth::HttpConfig::default();
/// assert_eq!(config.timeout.as_secs(), 30);
/// let config = config.with_timeout(Duration::from_secs(5)).with_retry(sfauth::RetryPolicy::none());
/// assert_eq!(config.retry.max_retries, 0);
/// ```
#[non_exhaustive]
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
    /// The largest API answer read, after decompression; a larger one is a protocol error.
    /// OAuth endpoint answers have their own, much smaller cap, [`MAX_OAUTH_BODY`].
    pub max_api_body: usize,
}

impl HttpConfig {
    /// With this limit on a whole request, answer included.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// With this limit on making a TCP + TLS connection.
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// Also trusting the root certificates in this PEM file.
    pub fn with_ca_file(mut self, ca_file: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(ca_file.into());
        self
    }

    /// With this retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// With this cap on an API answer, after decompression.
    pub fn with_max_api_body(mut self, max_api_body: usize) -> Self {
        self.max_api_body = max_api_body;
        self
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            ca_file: None,
            retry: RetryPolicy::default(),
            max_api_body: DEFAULT_MAX_API_BODY,
        }
    }
}

/// The largest OAuth endpoint answer read, after decompression. A token answer is a few KiB;
/// anything near this is not Salesforce's OAuth endpoint.
pub const MAX_OAUTH_BODY: usize = 256 * 1024;

/// The default of [`HttpConfig::max_api_body`]: large enough for a big query page or a
/// describe, small enough that a runaway answer cannot exhaust memory.
pub const DEFAULT_MAX_API_BODY: usize = 64 * 1024 * 1024;

/// An answer read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// An API answer, read in full.
#[non_exhaustive]
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
    max_api_body: usize,
}

/// A failed attempt at a token endpoint request, with the wait the server asked for.
struct Attempt {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for Attempt {
    fn from(error: Error) -> Self {
        Attempt {
            error,
            retry_after: None,
        }
    }
}

impl HttpClient {
    /// Builds a client for requests to `target`. Proxies from the environment are honoured,
    /// except for loopback targets (the emulator), which are never sent through a proxy.
    pub fn new(config: &HttpConfig, target: &LoginUrl) -> Result<HttpClient> {
        let client = client_builder(config, target)?
            .timeout(config.timeout)
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {}", chain(&e))))?;
        Ok(HttpClient {
            client,
            retry: config.retry.clone(),
            max_api_body: config.max_api_body,
        })
    }

    /// A client over the caller's own `reqwest::Client` (its proxies, TLS roots, pools and
    /// middleware-free settings), with `config`'s retry policy and API body cap. Its
    /// timeouts and CA are the caller's: `config.timeout`, `connect_timeout` and `ca_file`
    /// are not applied to it.
    ///
    /// Build it with `redirect(reqwest::redirect::Policy::none())`: sfauth never follows a
    /// redirect with a token, and a client that follows them could carry the bearer token
    /// to another origin.
    ///
    /// ```
    /// let own = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .unwrap();
    /// let http = sfauth::HttpClient::from_reqwest(own, &sfauth::HttpConfig::default());
    /// # let _ = http;
    /// ```
    pub fn from_reqwest(client: reqwest::Client, config: &HttpConfig) -> HttpClient {
        HttpClient {
            client,
            retry: config.retry.clone(),
            max_api_body: config.max_api_body,
        }
    }

    /// POSTs a form and reads the answer, retrying what is safe to retry. 5xx and 429 come
    /// back as errors; other statuses come back for the caller to read. `idempotent` allows
    /// replaying a request that may have reached the server (a lost answer, a 500, 502 or
    /// 504); 503 and 429 say the request was not processed and are always retried, after
    /// the server's `Retry-After` when it sends one (capped at [`RetryPolicy::max_delay`]).
    pub(crate) async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        idempotent: bool,
    ) -> Result<Answer> {
        let max_delay = self.retry.max_delay.min(LONGEST_DELAY);
        (|| self.post_form_once(url, form))
            .retry(self.retry.backoff())
            .when(|a: &Attempt| may_retry(&a.error, idempotent))
            .adjust(move |a: &Attempt, backoff| next_wait(backoff, a.retry_after, max_delay))
            .notify(|a: &Attempt, after: Duration| {
                tracing::debug!(error = %a.error, ?after, "retrying token endpoint request");
            })
            .await
            .map_err(|a| a.error)
    }

    /// Sends one API request with a bearer token. Not retried: an API call may not be
    /// idempotent, and a 401 is the caller's to handle. Redirects are not followed, so the
    /// token never travels to another origin: a 3xx comes back as it is.
    pub(crate) async fn send_bearer(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
        bearer: &crate::AccessToken,
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
        let mut response = request.send().await.map_err(|e| transport_error(url, &e))?;
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
        let body = read_capped(&mut response, url, self.max_api_body).await?;
        if body.over {
            return Err(too_large(url, self.max_api_body).with_hint(
                "ask for less (a smaller page, fewer fields or a narrower query), or raise the \
                 API body limit",
            ));
        }
        Ok(ApiResponse {
            url: url.to_owned(),
            status: status.as_u16(),
            status_line,
            headers,
            body: body.bytes,
            refreshed: false,
        })
    }

    async fn post_form_once(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> std::result::Result<Answer, Attempt> {
        let mut response = self
            .client
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| transport_error(url, &e))?;
        let status = response.status().as_u16();
        let content_type = header_text(&response, reqwest::header::CONTENT_TYPE)
            .unwrap_or_default()
            .to_owned();
        let retry_after = header_text(&response, reqwest::header::RETRY_AFTER)
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = read_capped(&mut response, url, MAX_OAUTH_BODY).await?;
        if let Some(error) = server_error(url, status, &body.bytes) {
            // An error page over the cap is cut short: only its first words are shown.
            return Err(Attempt {
                error,
                retry_after: retry_after.filter(|_| status == 503 || status == 429),
            });
        }
        if body.over {
            return Err(too_large(url, MAX_OAUTH_BODY)
                .with_hint(
                    "a Salesforce OAuth answer is a few KiB: check that the login URL points at \
                     Salesforce's OAuth endpoint; nothing was saved",
                )
                .with_status(status)
                .into());
        }
        Ok(Answer {
            status,
            content_type,
            body: body.bytes,
        })
    }
}

/// The settings every sfauth client to `target` shares: connect timeout, user agent, no
/// redirects (a token never follows one), no proxy for loopback, and the CA roots. The
/// caller adds its own overall or read timeout.
pub(crate) fn client_builder(
    config: &HttpConfig,
    target: &LoginUrl,
) -> Result<reqwest::ClientBuilder> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
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
    Ok(builder)
}

/// The wait before the next try: `None` when the retries are used up (a `Retry-After` does
/// not add tries), else the server's `Retry-After` capped at `max_delay`, else our backoff.
fn next_wait(
    backoff: Option<Duration>,
    retry_after: Option<Duration>,
    max_delay: Duration,
) -> Option<Duration> {
    backoff.map(|ours| retry_after.map_or(ours, |theirs| theirs.min(max_delay)))
}

/// Whether a failed token endpoint request may be sent again.
fn may_retry(e: &Error, idempotent: bool) -> bool {
    match e.retry {
        Retry::Unsent | Retry::ServerBusy => true,
        Retry::Ambiguous => idempotent,
        Retry::No | Retry::InFlightElsewhere => false,
    }
}

/// The error a 5xx or 429 answer stands for, `None` for other statuses.
///
/// 503 and 429 say the server did not process the request (it is down or rate limiting),
/// so they are safe to retry. 500, 502, 504 and the rest are ambiguous: a gateway answers
/// 502 or 504 when the server behind it is slow, and the server may have finished the
/// work (and rotated the refresh token) anyway.
fn server_error(url: &str, status: u16, body: &[u8]) -> Option<Error> {
    let host = host_of(url);
    let error = match status {
        429 => Error::new(
            ErrorKind::Unavailable,
            format!(
                "{host} is rate limiting requests (HTTP 429){}",
                summary(body)
            ),
        )
        .with_hint("wait a while and try again; Salesforce limits how often a user may log in")
        .with_retry(Retry::ServerBusy),
        503 => Error::new(
            ErrorKind::Unavailable,
            format!("{host} is unavailable (HTTP 503){}", summary(body)),
        )
        .with_hint("try again later; Salesforce may be down for maintenance")
        .with_retry(Retry::ServerBusy),
        500.. => Error::new(
            ErrorKind::Unavailable,
            format!("{host} had a server error (HTTP {status}){}", summary(body)),
        )
        .with_hint(AMBIGUOUS_HINT)
        .with_retry(Retry::Ambiguous),
        _ => return None,
    };
    Some(error.with_status(status))
}

/// The hint for a request that may have been processed although no usable answer came back.
const AMBIGUOUS_HINT: &str = "the request may have been processed by Salesforce although no \
     usable answer came back; run the command again (sfauth re-reads the stored token first); \
     if it then says the login is required, log in again";

fn header_text(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<&str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// How long a `Retry-After` value asks to wait from `now`: delay-seconds or an HTTP-date
/// (RFC 9110 §10.2.3). A date in the past is no wait; a number too large for a `u64` is the
/// longest wait. `None` for a value that is neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A body read up to a cap.
struct Capped {
    /// At most `cap` bytes.
    bytes: Vec<u8>,
    /// Whether the body went on past the cap (the rest was not read).
    over: bool,
}

/// Reads a body chunk by chunk, after decompression, and stops once it passes `cap`: a
/// small compressed answer that inflates without end cannot grow memory past the cap.
async fn read_capped(response: &mut reqwest::Response, url: &str, cap: usize) -> Result<Capped> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(url, &e))?
    {
        let room = cap.saturating_sub(bytes.len());
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Capped { bytes, over: true });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Capped { bytes, over: false })
}

fn too_large(url: &str, cap: usize) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!(
            "the answer from {} is over {}; sfauth stopped reading it",
            host_of(url),
            size(cap)
        ),
    )
}

/// A byte count for people: `256 KiB`, `64 MiB`.
fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
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

/// The TLS failure somewhere in an error's causes. An `io::Error` does not list the error it
/// wraps among its sources, so the walk looks inside it.
fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    // Bounded: a cause chain is a handful of links; a cycle would be a bug elsewhere.
    for _ in 0..32 {
        let current = next?;
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

/// What is wrong with the server's certificate, and what to check first, for a TLS failure.
fn tls_problem(e: &rustls::Error) -> (String, &'static str) {
    use rustls::CertificateError as C;
    let proxy_hint = "if a corporate TLS proxy inspects HTTPS traffic, configure its CA \
                      certificate (a PEM file) as an extra trusted CA";
    match e {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer => (
                "the server's certificate is not trusted (unknown issuer)".into(),
                proxy_hint,
            ),
            C::Expired | C::ExpiredContext { .. } => (
                "the server's certificate has expired".into(),
                "check this machine's clock; if it is right, the server (or a TLS proxy in \
                 between) presents an expired certificate",
            ),
            C::NotValidYet | C::NotValidYetContext { .. } => (
                "the server's certificate is not valid yet".into(),
                "check this machine's clock",
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => (
                "the server's certificate is for another host name".into(),
                "check the host name in the login URL; a TLS proxy that rewrites certificates \
                 can also cause this",
            ),
            C::Revoked => (
                "the server's certificate has been revoked".into(),
                proxy_hint,
            ),
            other => (
                format!("the server's certificate is not valid ({other:?})"),
                proxy_hint,
            ),
        },
        other => (
            format!("the TLS handshake failed ({other})"),
            "check the login URL, and any proxy between this machine and Salesforce",
        ),
    }
}

pub(crate) fn transport_error(url: &str, e: &reqwest::Error) -> Error {
    let host = host_of(url);
    if let Some(tls) = tls_error(e) {
        // Trying again will not fix a certificate, and nothing was sent.
        let (problem, hint) = tls_problem(tls);
        return Error::new(
            ErrorKind::Unavailable,
            format!("cannot connect to {host} securely: {problem}"),
        )
        .with_hint(hint)
        .with_retry(Retry::No);
    }
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
        Retry::Ambiguous => AMBIGUOUS_HINT,
        _ => "check the network, any proxy settings (HTTPS_PROXY) and the login URL",
    };
    Error::new(ErrorKind::Unavailable, format!("{message} ({})", chain(e)))
        .with_hint(hint)
        .with_retry(retry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_in_seconds_is_that_many_seconds() {
        assert_eq!(
            parse_retry_after(" 7 ", at(0)),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after("0", at(0)), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_too_large_for_u64_is_the_longest_wait_not_a_panic() {
        assert_eq!(
            parse_retry_after("99999999999999999999999999", at(0)),
            Some(Duration::MAX)
        );
        assert_eq!(
            parse_retry_after(&u64::MAX.to_string(), at(0)),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn retry_after_as_an_http_date_is_the_time_until_then() {
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
        let now = at(784_111_777);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn retry_after_date_in_the_past_means_no_wait() {
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(2_000_000_000)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_that_is_neither_seconds_nor_a_date_is_ignored() {
        for value in ["", "-5", "1.5", "soon", "Sun, 32 Nov 1994 08:49:37 GMT"] {
            assert_eq!(parse_retry_after(value, at(0)), None, "{value}");
        }
    }

    #[test]
    fn only_503_and_429_prove_the_request_was_not_processed() {
        let url = "https://login.salesforce.com/services/oauth2/token";
        for status in [503, 429] {
            let e = server_error(url, status, b"").unwrap();
            assert_eq!(e.retry, Retry::ServerBusy, "{status}");
            assert!(!e.is_ambiguous());
            assert!(may_retry(&e, false));
        }
        for status in [500, 501, 502, 504, 520, 599] {
            let e = server_error(url, status, b"").unwrap();
            assert!(e.is_ambiguous(), "{status}");
            assert!(!may_retry(&e, false), "{status}");
            assert!(may_retry(&e, true), "{status}");
            assert!(e.hint().unwrap().contains("may have been processed"));
            assert_eq!(e.kind(), ErrorKind::Unavailable);
        }
        for status in [200, 302, 400, 401, 404] {
            assert!(server_error(url, status, b"").is_none(), "{status}");
        }
    }

    #[test]
    fn backoff_from_the_longest_delays_is_an_answer_not_a_panic() {
        use backon::BackoffBuilder;
        let policy = RetryPolicy {
            max_retries: usize::MAX,
            min_delay: Duration::MAX,
            max_delay: Duration::MAX,
        };
        let mut waits = policy.backoff().build();
        for _ in 0..3 {
            assert!(waits.next().unwrap() <= LONGEST_DELAY * 2);
        }
    }

    #[test]
    fn retry_after_replaces_the_backoff_up_to_max_delay_and_adds_no_tries() {
        let (ms, s) = (Duration::from_millis, Duration::from_secs);
        let max = s(4);
        assert_eq!(next_wait(Some(ms(250)), Some(s(2)), max), Some(s(2)));
        assert_eq!(
            next_wait(Some(ms(250)), Some(Duration::ZERO), max),
            Some(Duration::ZERO)
        );
        assert_eq!(next_wait(Some(ms(250)), Some(s(3600)), max), Some(max));
        assert_eq!(next_wait(Some(ms(250)), None, max), Some(ms(250)));
        assert_eq!(next_wait(None, Some(s(1)), max), None);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(MAX_OAUTH_BODY), "256 KiB");
        assert_eq!(size(DEFAULT_MAX_API_BODY), "64 MiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
