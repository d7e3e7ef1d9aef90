//! [`Forwarder`]: passes HTTP requests on to an org's instance with the org's access token,
//! streaming bodies both ways. What a local proxy is built on.
//!
//! A request names only a path: the host is always the token's own `instance_url` (or its
//! `api_instance_url`), so nothing a caller sends can take the token elsewhere. A 401
//! "Session expired or invalid" makes one renewal, through [`TokenSource::invalidate`]
//! (shared by concurrent callers), and one resend when the body could be kept: bodies up to
//! [`ForwardLimits::replay`] are held in memory, and a longer one is streamed as it arrives
//! and is not resent ([`ForwardOutcome::NotResent`]).

use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;

use crate::api::is_session_expired;
use crate::endpoint::LoginUrl;
use crate::error::{Error, ErrorKind};
use crate::http::{HttpConfig, chain, client_builder, transport_error};
use crate::secret::AccessToken;
use crate::source::TokenSource;
use crate::token::Token;

/// A 401's body is read to tell "Session expired or invalid" from other refusals; Salesforce's
/// are a few hundred bytes.
const MAX_REFUSAL_BODY: usize = 64 * 1024;

/// Which of the token's hosts a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// The token's `instance_url`: the REST, SOAP, Bulk and Tooling APIs.
    Instance,
    /// The token's `api_instance_url` (Data Cloud and other APIs Salesforce serves from a
    /// separate host); a token without one cannot be forwarded there.
    ApiInstance,
}

/// How much of a request the forwarder takes, and how long it waits for it.
///
/// ```
/// let limits = sfauth::ForwardLimits::default();
/// assert_eq!(limits.replay, 1024 * 1024);
/// ```
#[derive(Debug, Clone)]
pub struct ForwardLimits {
    /// Request bodies up to this many bytes are held, so that the request can be resent
    /// after a refresh; a longer body is streamed to Salesforce as it arrives.
    pub replay: usize,
    /// The largest request body forwarded, in bytes.
    pub max_body: u64,
    /// The longest wait for the next piece of a request body.
    pub idle: Duration,
}

impl Default for ForwardLimits {
    fn default() -> Self {
        ForwardLimits {
            replay: 1024 * 1024,
            // Above Salesforce's own largest upload (a Bulk API 2.0 job's 150 MB of CSV).
            max_body: 256 * 1024 * 1024,
            idle: Duration::from_secs(30),
        }
    }
}

/// What came back for a forwarded request.
#[derive(Debug)]
pub struct Forwarded {
    /// Salesforce's answer, its body still streaming, hop-by-hop headers removed.
    pub response: Response<reqwest::Body>,
    /// Whether the token was renewed on the way.
    pub outcome: ForwardOutcome,
}

/// Whether a request met an expired session, and what was done about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardOutcome {
    /// The first answer, whatever its status.
    Answered,
    /// A 401 "Session expired or invalid": the token was renewed and the request resent.
    /// The answer is the second one.
    Resent,
    /// A 401 "Session expired or invalid" to a request whose body was streamed: the token
    /// was renewed, for the next request, but this one was not resent since its body is
    /// gone. The answer is the 401.
    NotResent,
}

/// Why a request was not forwarded, or got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The request cannot be forwarded as it is (not a path, a CONNECT, a body over the
    /// limit or one that stopped arriving): the caller's to fix. `status` is the HTTP status
    /// that says so.
    #[error("{message}")]
    Refused {
        /// 400, 405, 408 or 413.
        status: StatusCode,
        /// What is wrong, and what to send instead.
        message: String,
    },
    /// No valid token could be had, or Salesforce could not be reached.
    #[error(transparent)]
    Failed(#[from] Error),
}

impl ForwardError {
    fn refused(status: StatusCode, message: impl Into<String>) -> Self {
        ForwardError::Refused {
            status,
            message: message.into(),
        }
    }
}

/// Forwards requests to the org a [`TokenSource`] holds tokens for.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use http_body_util::{BodyExt, Empty};
/// use sfauth::{ConnectedApp, FileStore, ForwardOutcome, Forwarder, Session, Upstream};
/// # let org = sfauth_emulator::spawn(Default::default()).await.unwrap();
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("t.json");
/// # std::fs::write(&path, org.issue_token("ada@example.com").to_string()).unwrap();
/// # let client_id = org.config().client_id.clone();
/// let session = Session::builder(FileStore::new(&path), ConnectedApp::new(client_id)).build();
/// let forwarder = Forwarder::new(session);
/// # org.expire_access_tokens();
/// let request = http::Request::get("/services/data/").body(Empty::<bytes::Bytes>::new())?;
/// // The token has expired at the server: one refresh, and the request is sent again.
/// let answer = forwarder.forward(Upstream::Instance, request).await?;
/// assert_eq!(answer.response.status(), 200);
/// assert_eq!(answer.outcome, ForwardOutcome::Resent);
/// let body = answer.response.into_body().collect().await?.to_bytes();
/// assert!(body.starts_with(b"["));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Forwarder {
    source: Arc<dyn TokenSource>,
    config: HttpConfig,
    limits: ForwardLimits,
    /// One client for plain-http loopback instances, one for the rest: they differ in proxy
    /// and TLS set-up.
    clients: Arc<[OnceLock<reqwest::Client>; 2]>,
}

impl Forwarder {
    /// A forwarder to the org `source` holds tokens for.
    pub fn new(source: impl TokenSource + 'static) -> Self {
        Forwarder {
            source: Arc::new(source),
            config: HttpConfig::default(),
            limits: ForwardLimits::default(),
            clients: Default::default(),
        }
    }

    /// With these HTTP settings. `timeout` bounds each wait for Salesforce (connecting, and
    /// each read of its answer), not the whole exchange: a large answer streams as long as
    /// it keeps coming.
    pub fn with_http(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// With these request limits.
    pub fn with_limits(mut self, limits: ForwardLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Where the tokens come from.
    pub fn source(&self) -> &dyn TokenSource {
        self.source.as_ref()
    }

    /// Forwards `request`, whose URI must be a path (`/services/data/…?q=…`), to `upstream`
    /// with the current access token. Its `Host`, `Authorization` and hop-by-hop headers
    /// are replaced; the rest go as they are. Any HTTP status comes back as a response;
    /// errors are for requests that could not be forwarded or got no answer.
    ///
    /// Cancel-safe as the token source is: a refresh that started runs to its save.
    pub async fn forward<B>(
        &self,
        upstream: Upstream,
        request: Request<B>,
    ) -> Result<Forwarded, ForwardError>
    where
        B: Body<Data = Bytes> + Send + Sync + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        let path = path_of(&parts.method, &parts.uri)?;
        let declared = declared_length(&parts.headers)?;
        if declared.is_some_and(|n| n > self.limits.max_body) {
            return Err(too_large(self.limits.max_body));
        }
        let headers = forwarded_headers(&parts.headers);
        let mut payload = Payload::read(body, declared, &self.limits).await?;

        let token = self.source.token().await?;
        let access = token.access_token();
        let (method, body) = (&parts.method, payload.body(declared));
        let first = self
            .send(method, upstream, path, &headers, &token, body)
            .await?;
        if first.status() != StatusCode::UNAUTHORIZED {
            return Ok(answered(first, ForwardOutcome::Answered));
        }
        let (refusal, expired) = read_refusal(first).await?;
        if !expired {
            return Ok(answered(refusal, ForwardOutcome::Answered));
        }
        tracing::debug!("401 Session expired or invalid: refreshing once");
        let renewed = self.source.invalidate(&access).await?;
        let Some(body) = payload.again() else {
            tracing::debug!("the request body was streamed: not resending it");
            return Ok(answered(refusal, ForwardOutcome::NotResent));
        };
        let second = self
            .send(method, upstream, path, &headers, &renewed, body)
            .await?;
        Ok(answered(second, ForwardOutcome::Resent))
    }

    async fn send(
        &self,
        method: &Method,
        upstream: Upstream,
        path: &str,
        headers: &HeaderMap,
        token: &Token,
        body: reqwest::Body,
    ) -> Result<Response<reqwest::Body>, ForwardError> {
        let url = target_url(token, upstream, path)?;
        let mut headers = headers.clone();
        headers.insert(header::AUTHORIZATION, bearer(&token.access_token())?);
        let sent = self
            .client(&url)?
            .request(method.clone(), url.as_str())
            .headers(headers)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => Ok(Response::from(response)),
            Err(e) => {
                Err(upload_problem(&e).unwrap_or_else(|| transport_error(url.as_str(), &e).into()))
            }
        }
    }

    fn client(&self, url: &url::Url) -> Result<&reqwest::Client, Error> {
        let target = LoginUrl::origin(&url.origin().ascii_serialization())?;
        let slot = &self.clients[usize::from(target.is_loopback() && target.is_plain_http())];
        if let Some(client) = slot.get() {
            return Ok(client);
        }
        // No total timeout: an answer streams as long as it keeps coming. Bodies pass
        // through as they are, compressed or not.
        let client = client_builder(&self.config, &target)?
            .read_timeout(self.config.timeout)
            .no_gzip()
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {}", chain(&e))))?;
        Ok(slot.get_or_init(|| client))
    }
}

/// The path and query of a request in origin form; anything else names a host, and only
/// the org's own hosts get its token.
fn path_of<'a>(method: &Method, uri: &'a http::Uri) -> Result<&'a str, ForwardError> {
    if method == Method::CONNECT {
        return Err(ForwardError::refused(
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not forwarded: send plain HTTP requests with a path, such as \
             GET /services/data/",
        ));
    }
    match uri.path_and_query() {
        Some(path) if uri.authority().is_none() && path.as_str().starts_with('/') => {
            Ok(path.as_str())
        }
        _ => Err(ForwardError::refused(
            StatusCode::BAD_REQUEST,
            format!(
                "`{uri}` is not a path: only the org's own instance is reached, so send a \
                 path such as /services/data/"
            ),
        )),
    }
}

/// The request's `Content-Length`, if it declares one.
fn declared_length(headers: &HeaderMap) -> Result<Option<u64>, ForwardError> {
    let Some(value) = headers.get(header::CONTENT_LENGTH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ForwardError::refused(
                StatusCode::BAD_REQUEST,
                "the Content-Length is not a number",
            )
        })
}

/// Headers that describe one connection, not the request or answer (RFC 9110 §7.6.1),
/// and the ones the forwarder sets itself.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
    ]
    .contains(name)
        || name == "keep-alive"
        || name == "proxy-connection"
}

/// The caller's headers to send on: without hop-by-hop ones (and those its `Connection`
/// names), its `Host`, `Authorization`, `Expect` and `Content-Length` (set per attempt).
fn forwarded_headers(from: &HeaderMap) -> HeaderMap {
    let named: Vec<String> = from
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let mut headers = HeaderMap::with_capacity(from.len());
    for (name, value) in from {
        let ours = [
            header::HOST,
            header::AUTHORIZATION,
            header::EXPECT,
            header::CONTENT_LENGTH,
        ]
        .contains(name);
        if !ours && !is_hop_by_hop(name) && !named.iter().any(|n| n == name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers
}

/// Salesforce's answer for the caller: without hop-by-hop headers, whose framing is the
/// caller's connection's own.
fn answered(mut response: Response<reqwest::Body>, outcome: ForwardOutcome) -> Forwarded {
    let drop: Vec<HeaderName> = response
        .headers()
        .keys()
        .filter(|name| is_hop_by_hop(name))
        .cloned()
        .collect();
    for name in drop {
        response.headers_mut().remove(name);
    }
    Forwarded { response, outcome }
}

/// Reads a 401's body to see whether it says the session expired, and gives the answer
/// back whole, the part read followed by any rest.
async fn read_refusal(
    response: Response<reqwest::Body>,
) -> Result<(Response<reqwest::Body>, bool), ForwardError> {
    let (parts, body) = response.into_parts();
    let mut body = Spliced::new(VecDeque::new(), body, u64::MAX, None);
    let mut head = Vec::new();
    while head.len() <= MAX_REFUSAL_BODY {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    head.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("the connection to Salesforce failed mid-answer ({e})"),
                )
                .into());
            }
        }
    }
    let expired = is_session_expired(parts.status.as_u16(), &head);
    body.prefix.push_back(Bytes::from(head));
    Ok((
        Response::from_parts(parts, reqwest::Body::wrap(body)),
        expired,
    ))
}

/// The request body: held whole when it is small enough to resend, else its first part
/// and the rest as it arrives.
enum Payload<B> {
    Held(Bytes),
    Streamed(Option<Spliced<B>>),
}

impl<B> Payload<B>
where
    B: Body<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    async fn read(
        mut body: B,
        declared: Option<u64>,
        limits: &ForwardLimits,
    ) -> Result<Payload<B>, ForwardError> {
        let mut chunks = VecDeque::new();
        let mut held: usize = 0;
        let may_hold = declared.is_none_or(|n| n <= limits.replay as u64);
        while may_hold && held <= limits.replay {
            if body.is_end_stream() {
                return Ok(Payload::Held(concat(chunks, held)));
            }
            let frame = tokio::time::timeout(limits.idle, body.frame())
                .await
                .map_err(|_| stalled(limits.idle))?;
            match frame {
                None => return Ok(Payload::Held(concat(chunks, held))),
                Some(Ok(frame)) => {
                    // Trailers are not kept: Salesforce's APIs do not read them.
                    if let Ok(data) = frame.into_data() {
                        held = held.saturating_add(data.len());
                        if held as u64 > limits.max_body {
                            return Err(too_large(limits.max_body));
                        }
                        chunks.push_back(data);
                    }
                }
                Some(Err(e)) => {
                    return Err(ForwardError::refused(
                        StatusCode::BAD_REQUEST,
                        format!("the request body could not be read ({})", e.into()),
                    ));
                }
            }
        }
        let mut spliced = Spliced::new(
            chunks,
            body,
            limits.max_body.saturating_sub(held as u64),
            Some(limits.idle),
        );
        spliced.limit = limits.max_body;
        Ok(Payload::Streamed(Some(spliced)))
    }

    /// The body for the first attempt.
    fn body(&mut self, declared: Option<u64>) -> reqwest::Body {
        match self {
            Payload::Held(bytes) => reqwest::Body::from(bytes.clone()),
            Payload::Streamed(spliced) => match spliced.take() {
                Some(mut spliced) => {
                    spliced.declared = declared;
                    reqwest::Body::wrap(spliced)
                }
                None => reqwest::Body::from(Bytes::new()),
            },
        }
    }

    /// The body for a second attempt, if it was held.
    fn again(&self) -> Option<reqwest::Body> {
        match self {
            Payload::Held(bytes) => Some(reqwest::Body::from(bytes.clone())),
            Payload::Streamed(_) => None,
        }
    }
}

fn concat(chunks: VecDeque<Bytes>, len: usize) -> Bytes {
    if chunks.len() == 1 {
        return chunks.into_iter().next().unwrap_or_default();
    }
    let mut all = Vec::with_capacity(len);
    for chunk in chunks {
        all.extend_from_slice(&chunk);
    }
    Bytes::from(all)
}

/// A body that yields the chunks already read, then the rest of the original, bounded in
/// size and in the wait for each piece.
struct Spliced<B> {
    prefix: VecDeque<Bytes>,
    rest: B,
    /// Bytes the rest may still carry, of the whole body's `limit`.
    left: u64,
    limit: u64,
    idle: Option<Duration>,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The whole body's length, when the caller declared it: the upload then keeps its
    /// `Content-Length` instead of going chunked.
    declared: Option<u64>,
}

impl<B> Spliced<B> {
    fn new(prefix: VecDeque<Bytes>, rest: B, left: u64, idle: Option<Duration>) -> Self {
        Spliced {
            prefix,
            rest,
            left,
            limit: left,
            idle,
            timer: None,
            declared: None,
        }
    }
}

/// Why a streamed upload stopped: found again in the send's error to answer 413 or 408.
#[derive(Debug, thiserror::Error)]
enum UploadError {
    #[error("the request body is over {0} bytes")]
    TooLarge(u64),
    #[error("the request body stopped arriving for {0:?}")]
    Stalled(Duration),
    #[error("the request body could not be read ({0})")]
    Source(Box<dyn std::error::Error + Send + Sync>),
}

impl<B> Body for Spliced<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = UploadError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UploadError>>> {
        let this = &mut *self;
        if let Some(chunk) = this.prefix.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match Pin::new(&mut this.rest).poll_frame(cx) {
            Poll::Pending => {
                let Some(idle) = this.idle else {
                    return Poll::Pending;
                };
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                ready!(timer.as_mut().poll(cx));
                Poll::Ready(Some(Err(UploadError::Stalled(idle))))
            }
            Poll::Ready(frame) => {
                this.timer = None;
                let frame = match frame {
                    None => return Poll::Ready(None),
                    Some(Err(e)) => return Poll::Ready(Some(Err(UploadError::Source(e.into())))),
                    Some(Ok(frame)) => frame,
                };
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > this.left {
                        return Poll::Ready(Some(Err(UploadError::TooLarge(this.limit))));
                    }
                    this.left -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_empty() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.declared {
            Some(n) => SizeHint::with_exact(n),
            None => {
                let held: u64 = self.prefix.iter().map(|c| c.len() as u64).sum();
                let rest = self.rest.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(held.saturating_add(rest.lower()));
                if let Some(upper) = rest.upper() {
                    hint.set_upper(held.saturating_add(upper));
                }
                hint
            }
        }
    }
}

/// An upload that stopped on our side: the caller's body, not Salesforce.
fn upload_problem(e: &reqwest::Error) -> Option<ForwardError> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = cause {
        if let Some(upload) = error.downcast_ref::<UploadError>() {
            return Some(match upload {
                UploadError::TooLarge(limit) => too_large(*limit),
                UploadError::Stalled(idle) => stalled(*idle),
                UploadError::Source(_) => {
                    ForwardError::refused(StatusCode::BAD_REQUEST, upload.to_string())
                }
            });
        }
        cause = error.source();
    }
    None
}

fn too_large(limit: u64) -> ForwardError {
    ForwardError::refused(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request body is over {}, the forwarding limit: send it in parts",
            size(limit)
        ),
    )
}

/// `n` bytes, in MiB when it is a whole number of them.
fn size(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

fn stalled(idle: Duration) -> ForwardError {
    ForwardError::refused(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "the request body stopped arriving for {}s; nothing more was sent",
            idle.as_secs()
        ),
    )
}

/// The URL on the token's own host for `path`, which must stay on that host.
fn target_url(token: &Token, upstream: Upstream, path: &str) -> Result<url::Url, ForwardError> {
    let base = match upstream {
        Upstream::Instance => token.instance_url(),
        Upstream::ApiInstance => token.api_instance_url().ok_or_else(|| {
            Error::new(
                ErrorKind::Usage,
                "this org's token has no api_instance_url to forward to",
            )
            .with_hint("send the request to the instance instead (a path without the prefix)")
        })?,
    };
    // Checked as a login URL is: https, or plain http to loopback only.
    let origin = LoginUrl::parse(base)?;
    let url = url::Url::parse(&format!("{}{path}", origin.as_str()))
        .ok()
        .filter(|url| url.origin().ascii_serialization() == origin.as_str())
        .ok_or_else(|| {
            ForwardError::refused(
                StatusCode::BAD_REQUEST,
                format!("`{path}` does not make a URL on the org's instance"),
            )
        })?;
    Ok(url)
}

fn bearer(access: &AccessToken) -> Result<HeaderValue, Error> {
    let mut value =
        HeaderValue::from_str(&format!("Bearer {}", access.expose())).map_err(|_| {
            Error::new(
                ErrorKind::Protocol,
                "the stored access token cannot go in an HTTP header",
            )
            .with_hint("log in again")
        })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_are_forwarded() {
        let get = Method::GET;
        assert!(path_of(&get, &"/services/data/?q=1".parse().unwrap()).is_ok());
        assert!(path_of(&get, &"http://evil.example/x".parse().unwrap()).is_err());
        assert!(path_of(&get, &"*".parse().unwrap()).is_err());
        let authority: http::Uri = "evil.example:443".parse().unwrap();
        let connect = path_of(&Method::CONNECT, &authority);
        assert!(matches!(
            connect,
            Err(ForwardError::Refused { status, .. }) if status == StatusCode::METHOD_NOT_ALLOWED
        ));
    }

    #[test]
    fn the_callers_credentials_host_and_connection_headers_stay_behind() {
        let mut from = HeaderMap::new();
        from.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        from.insert(header::AUTHORIZATION, "Bearer theirs".parse().unwrap());
        from.insert(header::CONNECTION, "keep-alive, x-private".parse().unwrap());
        from.insert("x-private", "1".parse().unwrap());
        from.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        from.insert("sforce-call-options", "client=x".parse().unwrap());
        let kept = forwarded_headers(&from);
        let names: Vec<&str> = kept.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["content-type", "sforce-call-options"]);
    }

    #[test]
    fn a_path_cannot_leave_the_instance() {
        let token = Token::from_json(
            br#"{"access_token":"00Dxx!a","instance_url":"https://acme.my.salesforce.com"}"#,
        )
        .unwrap();
        let url = target_url(&token, Upstream::Instance, "/services/data/").unwrap();
        assert_eq!(
            url.as_str(),
            "https://acme.my.salesforce.com/services/data/"
        );
        let tricky = target_url(&token, Upstream::Instance, "//evil.example/x").unwrap();
        assert_eq!(tricky.host_str(), Some("acme.my.salesforce.com"));
        assert!(
            target_url(&token, Upstream::Instance, "/@evil.example")
                .is_ok_and(|u| u.host_str() == Some("acme.my.salesforce.com"))
        );
        assert!(target_url(&token, Upstream::ApiInstance, "/x").is_err());
    }
}
