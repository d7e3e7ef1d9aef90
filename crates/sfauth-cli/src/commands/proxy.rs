//! `sfauth proxy`: an HTTP/1.1 proxy on a loopback address that forwards every request to
//! one org's instance with the org's access token added, through the library's
//! [`Forwarder`]. Tools point at `http://127.0.0.1:PORT/services/data/…` and never see the
//! token.
//!
//! A path under `/__api_instance/` goes to the token's `api_instance_url` instead. A request
//! that names another host (an absolute URI, a CONNECT), a `Host` that is not loopback (a web
//! page's DNS rebinding) or a web page's `Origin` is refused; so is one without the
//! `--require-header` when it is set. The proxy's own refusals and failures are JSON in
//! Salesforce's error shape, `[{"errorCode": "SFAUTH_…", "message": …}]`.
//!
//! SIGTERM, SIGINT and SIGHUP stop it: requests in progress get a grace period, and a
//! refresh that was sent reaches its save.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::rt::{TokioIo, TokioTimer};
use sfauth::{Error, ErrorKind, ForwardError, ForwardOutcome, Forwarder, Result, Secret, Upstream};
use subtle::ConstantTimeEq as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::cli::ProxyArgs;
use crate::org::ResolvedOrg;
use crate::out::{errln, outln};
use crate::signals::{self, Signals};

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 256;
/// A client has this long to send a request's head (and, between requests, the next one).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// After a stop signal, requests in progress have this long to finish.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Paths under this go to the token's `api_instance_url`.
const API_INSTANCE_PREFIX: &str = "/__api_instance";
/// Set on a 401 "Session expired or invalid" that was not resent: its body was streamed.
const NOT_RESENT_HEADER: &str = "sfauth-not-resent";

/// Everything one request needs.
struct Proxy {
    forwarder: Forwarder,
    guard: Option<Guard>,
    /// The port it listens on: an absolute URI naming a loopback host at this port names
    /// the proxy itself (what a client configured with `HTTP_PROXY` sends).
    port: u16,
}

/// The header every request must carry (`--require-header`).
#[derive(Debug)]
struct Guard {
    name: HeaderName,
    value: Secret<String>,
}

/// Runs `sfauth proxy` until SIGTERM, SIGINT or SIGHUP.
pub async fn run(args: &ProxyArgs, signals: &mut Signals) -> anyhow::Result<ExitCode> {
    let address = listen_address(&args.listen)?;
    let guard = args.require_header.as_ref().map(Guard::parse).transpose()?;
    let org = ResolvedOrg::for_token(&args.target)?;
    let forwarder =
        Forwarder::new(org.token_source(&args.target)).with_http(org.http_config().clone());
    // A token in hand before serving: a proxy that cannot get one says so now, not to
    // every request.
    let token = forwarder.source().token().await?;
    let listener = TcpListener::bind(address).await.map_err(|e| {
        Error::new(ErrorKind::Usage, format!("cannot listen on {address}: {e}"))
            .with_hint("pass another --listen (a port of 0 takes a free one)")
    })?;
    let bound = listener.local_addr()?;
    let name = org.alias().map_or_else(
        || "the default org".to_owned(),
        |a| format!("org {}", a.as_str()),
    );
    errln!(
        "sfauth proxy: forwarding http://{bound}/ to {} ({name}); {API_INSTANCE_PREFIX}/ goes to {}",
        token.instance_url(),
        token.api_instance_url().unwrap_or("no api_instance_url")
    );
    outln!("http://{bound}")?;
    drop(token);

    let proxy = Arc::new(Proxy {
        forwarder,
        guard,
        port: bound.port(),
    });
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let (stop, stopping) = watch::channel(false);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => serve(stream, &proxy, &permits, stopping.clone()),
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = signals.recv() => break,
        }
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection hands its permit back when it is done.
    let all = u32::try_from(MAX_CONNECTIONS).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(STOP_GRACE, permits.acquire_many(all)).await;
    signals::settle(args.target.http.timeout).await;
    errln!("sfauth proxy: stopped");
    Ok(ExitCode::SUCCESS)
}

/// The address to listen on: loopback only, since whoever reaches the proxy uses the
/// org's token.
fn listen_address(text: &str) -> Result<SocketAddr> {
    let text = text.trim();
    let bad = |why: String| {
        Error::new(ErrorKind::Usage, why).with_hint(
            "use 127.0.0.1:PORT, [::1]:PORT, localhost:PORT or a port alone; to reach the \
             proxy from another machine, tunnel to it (ssh -L)",
        )
    };
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let address = match text.strip_prefix("localhost:") {
        Some(port) => port
            .parse::<u16>()
            .map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            .map_err(|_| bad(format!("`{text}` has no valid port")))?,
        None => text
            .parse::<SocketAddr>()
            .map_err(|_| bad(format!("`{text}` is not an address and port")))?,
    };
    if !address.ip().is_loopback() {
        return Err(bad(format!(
            "the proxy listens on loopback addresses only, not {}",
            address.ip()
        )));
    }
    Ok(address)
}

impl Guard {
    /// `NAME:VALUE`, or `NAME:@FILE` for a value kept in a file.
    fn parse(spec: &Secret<String>) -> Result<Guard> {
        let bad = |why: &str| {
            Error::new(ErrorKind::Usage, format!("--require-header {why}")).with_hint(
                "give NAME:VALUE or NAME:@FILE, e.g. X-Proxy-Key:@/run/secrets/proxy-key",
            )
        };
        let (name, value) = spec
            .expose()
            .split_once(':')
            .ok_or_else(|| bad("has no `:` between the header's name and its value"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| bad("does not start with a header name"))?;
        let value = match value.trim().strip_prefix('@') {
            Some(path) => {
                let text = crate::secrets::text(Path::new(path), "required header's value")?;
                Secret::from(text.expose().trim())
            }
            None => {
                let from_env = std::env::var("SFAUTH_PROXY_REQUIRE_HEADER")
                    .is_ok_and(|env| env == *spec.expose());
                if !from_env {
                    errln!(
                        "sfauth proxy: warning: the --require-header value shows in `ps` to \
                         every local user; pass NAME:@FILE or set SFAUTH_PROXY_REQUIRE_HEADER"
                    );
                }
                Secret::from(value.trim())
            }
        };
        if value.expose().is_empty() || HeaderValue::from_str(value.expose()).is_err() {
            return Err(bad(
                "has an empty value, or one that cannot be a header's value",
            ));
        }
        Ok(Guard { name, value })
    }

    /// Whether `request` carries the header, compared in constant time.
    fn admits(&self, request: &Request<Incoming>) -> bool {
        request
            .headers()
            .get_all(&self.name)
            .iter()
            .any(|given| bool::from(given.as_bytes().ct_eq(self.value.expose().as_bytes())))
    }
}

/// Serves one connection within the connection limit; stops it gracefully (after the
/// request in progress) once `stopping` turns true.
fn serve(
    stream: TcpStream,
    proxy: &Arc<Proxy>,
    permits: &Arc<Semaphore>,
    mut stopping: watch::Receiver<bool>,
) {
    let Ok(permit) = Arc::clone(permits).try_acquire_owned() else {
        tracing::warn!("too many connections; one refused");
        return;
    };
    let _ = stream.set_nodelay(true);
    let proxy = Arc::clone(proxy);
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |request| {
            let proxy = Arc::clone(&proxy);
            async move { Ok::<_, Infallible>(handle(&proxy, request).await) }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        tokio::select! {
            _ = connection.as_mut() => {}
            _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        }
        drop(permit);
    });
}

/// Answers one request: refused here, or forwarded.
async fn handle(proxy: &Proxy, mut request: Request<Incoming>) -> Response<reqwest::Body> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if let Some(guard) = &proxy.guard {
        if !guard.admits(&request) {
            return refusal(
                StatusCode::FORBIDDEN,
                "SFAUTH_PROXY_HEADER_REQUIRED",
                format!(
                    "this proxy answers only requests with the {} header it was started with",
                    guard.name
                ),
            );
        }
        request.headers_mut().remove(&guard.name);
    }
    if let Some(refused) = check_caller(&request) {
        return refused;
    }
    let upstream = match route(&mut request, proxy).await {
        Ok(upstream) => upstream,
        Err(refused) => return refused,
    };
    let answer = match proxy.forwarder.forward(upstream, request).await {
        Ok(forwarded) => {
            let mut response = forwarded.response;
            match forwarded.outcome {
                ForwardOutcome::Answered => {}
                ForwardOutcome::Resent => {
                    tracing::info!(%method, %path, "session expired: token renewed, request resent");
                }
                ForwardOutcome::NotResent => {
                    errln!(
                        "sfauth proxy: {method} {path}: Salesforce answered 401 Session expired \
                         or invalid; the token is renewed, but the request was not resent: its \
                         body was streamed (over 1 MiB) and is gone. Send it again."
                    );
                    response.headers_mut().insert(
                        HeaderName::from_static(NOT_RESENT_HEADER),
                        HeaderValue::from_static(
                            "the token was renewed; the streamed body was not resent: send the request again",
                        ),
                    );
                }
            }
            response
        }
        Err(ForwardError::Refused { status, message }) => {
            refusal(status, "SFAUTH_PROXY_BAD_REQUEST", message)
        }
        Err(ForwardError::Failed(e)) => failure(&e),
    };
    tracing::info!(
        %method,
        %path,
        status = answer.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "forwarded"
    );
    answer
}

/// Refuses requests that a web page could have made: a `Host` that is not loopback (DNS
/// rebinding points a page's own name at 127.0.0.1) or an `Origin` that is not.
fn check_caller(request: &Request<Incoming>) -> Option<Response<reqwest::Body>> {
    if request.uri().authority().is_none() {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        if !is_loopback_host(host) {
            return Some(refusal(
                StatusCode::FORBIDDEN,
                "SFAUTH_PROXY_HOST_REFUSED",
                format!(
                    "the Host `{host}` is not a loopback address: this proxy answers requests \
                     to 127.0.0.1, ::1 or localhost only"
                ),
            ));
        }
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let loopback = origin
            .to_str()
            .ok()
            .and_then(|o| o.parse::<Uri>().ok())
            .and_then(|o| o.authority().map(|a| is_loopback_host(a.as_str())))
            .unwrap_or(false);
        if !loopback {
            return Some(refusal(
                StatusCode::FORBIDDEN,
                "SFAUTH_PROXY_ORIGIN_REFUSED",
                "requests from web pages on other origins are refused: they would act with \
                 the org's token",
            ));
        }
    }
    None
}

/// Whether a `Host` (name and optional port) is a loopback one.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Which host the request goes to, and its URI made a plain path. An absolute URI is taken
/// only when it names the proxy itself or one of the org's own hosts.
async fn route(
    request: &mut Request<Incoming>,
    proxy: &Proxy,
) -> std::result::Result<Upstream, Response<reqwest::Body>> {
    let uri = request.uri().clone();
    let mut upstream = Upstream::Instance;
    if request.method() == hyper::Method::CONNECT {
        return Err(refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "SFAUTH_PROXY_CONNECT_REFUSED",
            format!(
                "CONNECT {uri} is refused: this proxy opens no tunnels; send plain HTTP with a \
                 path, such as GET /services/data/"
            ),
        ));
    }
    if let Some(authority) = uri.authority() {
        let token = match proxy.forwarder.source().token().await {
            Ok(token) => token,
            Err(e) => return Err(failure(&e)),
        };
        // Host and port both: another port on the same host is another server.
        let port = authority
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        let names = |url: &str| {
            url::Url::parse(url).ok().is_some_and(|u| {
                u.host_str()
                    .is_some_and(|h| h.eq_ignore_ascii_case(authority.host()))
                    && u.port_or_known_default() == Some(port)
            })
        };
        if names(token.instance_url()) {
            upstream = Upstream::Instance;
        } else if token.api_instance_url().is_some_and(names) {
            upstream = Upstream::ApiInstance;
        } else if !(is_loopback_host(authority.as_str()) && port == proxy.port) {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "SFAUTH_PROXY_HOST_REFUSED",
                format!(
                    "{authority} is not this org's instance: this proxy forwards to {} only",
                    token.instance_url()
                ),
            ));
        }
    }
    let mut path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    if upstream == Upstream::Instance
        && let Some(rest) = path.strip_prefix(API_INSTANCE_PREFIX)
        && (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
    {
        upstream = Upstream::ApiInstance;
        path = match rest.strip_prefix('/') {
            Some(_) => rest.to_owned(),
            None => format!("/{rest}"),
        };
    }
    *request.uri_mut() = path.parse().map_err(|_| {
        refusal(
            StatusCode::BAD_REQUEST,
            "SFAUTH_PROXY_BAD_REQUEST",
            format!("`{uri}` has no usable path"),
        )
    })?;
    // Ours, not Salesforce's: the page's origin means nothing there.
    request.headers_mut().remove(header::ORIGIN);
    Ok(upstream)
}

/// A failure to get a token or an answer, as HTTP: 401 when only a new login helps, 502
/// when Salesforce could not be reached or answered nonsense, else 503.
fn failure(e: &Error) -> Response<reqwest::Body> {
    let status = match e.kind() {
        ErrorKind::LoginRequired | ErrorKind::ClientRejected | ErrorKind::DeniedByPolicy => {
            StatusCode::UNAUTHORIZED
        }
        ErrorKind::Unavailable | ErrorKind::Protocol => StatusCode::BAD_GATEWAY,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    let code = format!("SFAUTH_{}", e.kind().as_str().to_ascii_uppercase());
    let message = match e.hint() {
        Some(hint) => format!("{e} ({hint})"),
        None => e.to_string(),
    };
    errln!("sfauth proxy: {message}");
    refusal(status, &code, message)
}

/// A JSON answer of the proxy's own, in the shape of Salesforce's REST errors.
fn refusal(status: StatusCode, code: &str, message: impl Into<String>) -> Response<reqwest::Body> {
    let body = serde_json::json!([{ "errorCode": code, "message": message.into() }]).to_string();
    let mut response = Response::new(reqwest::Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_listens_on_loopback_only() {
        assert_eq!(
            listen_address("8701").unwrap().to_string(),
            "127.0.0.1:8701"
        );
        assert_eq!(
            listen_address("localhost:0").unwrap().to_string(),
            "127.0.0.1:0"
        );
        assert_eq!(listen_address("[::1]:9").unwrap().to_string(), "[::1]:9");
        assert!(listen_address("0.0.0.0:8701").is_err());
        assert!(listen_address("192.168.1.5:8701").is_err());
        assert!(listen_address("example.com:80").is_err());
    }

    #[test]
    fn only_loopback_hosts_are_the_proxys_own() {
        for host in [
            "127.0.0.1:8701",
            "localhost",
            "LOCALHOST:1",
            "[::1]:8701",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8701",
            "10.0.0.1",
            "",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn a_required_header_is_a_name_and_a_value() {
        let guard = Guard::parse(&Secret::from("X-Proxy-Key: s3cret")).unwrap();
        assert_eq!(guard.name.as_str(), "x-proxy-key");
        assert_eq!(guard.value.expose(), "s3cret");
        assert!(Guard::parse(&Secret::from("X-Proxy-Key")).is_err());
        assert!(Guard::parse(&Secret::from("X-Proxy-Key:")).is_err());
        let error = Guard::parse(&Secret::from("bad name:s3cret")).unwrap_err();
        assert!(!format!("{error} {:?}", error.hint()).contains("s3cret"));
    }
}
