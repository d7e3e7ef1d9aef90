//! [`RedirectListener`]: the small web server on localhost that receives the browser after
//! a web-server login.
//!
//! Salesforce sends the browser to the connected app's callback URL with the code in the
//! query. For a CLI that URL is `http://localhost:PORT/PATH` (the Salesforce CLI registers
//! `http://localhost:1717/OauthRedirect`), so sfauth listens there for exactly one
//! redirect, checks it, shows the user a page saying how the login went, and stops.
//!
//! ```no_run
//! # async fn run() -> sfauth::Result<()> {
//! use std::time::Duration;
//! use sfauth::{AppClient, AuthorizeOptions, ConnectedApp, Endpoint, HttpConfig, LoginUrl,
//!              RedirectListener, SitePrefix};
//!
//! let endpoint = Endpoint::new(LoginUrl::parse("https://login.salesforce.com")?, SitePrefix::default());
//! let client = AppClient::new(ConnectedApp::new("3MVG9example"), endpoint, &HttpConfig::default())?;
//! let options = AuthorizeOptions::default();
//! // Bind first, so the browser cannot arrive before anyone listens.
//! let listener = RedirectListener::bind(&options.redirect_uri).await?;
//! let login = client.authorize(&options)?;
//! eprintln!("open {}", login.authorize_url());
//! let code = listener.wait(&login, Duration::from_secs(300)).await?;
//! let granted = client.exchange_code(&login, &code).await?;
//! # let _ = granted; Ok(()) }
//! ```

use std::fmt;
use std::future::IntoFuture;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use url::Url;

use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::flows::code::PendingLogin;
use crate::secret::{AuthorizationCode, Secret};

/// How long the browser's page may take to be delivered once the login is decided.
const DELIVERY_GRACE: Duration = Duration::from_secs(2);

/// A listener on the redirect URI's loopback port, bound and waiting for the browser.
pub struct RedirectListener {
    listeners: Vec<TcpListener>,
    port: u16,
    path: String,
}

impl fmt::Debug for RedirectListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addrs = self
            .listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect::<Vec<_>>();
        f.debug_struct("RedirectListener")
            .field("addrs", &addrs)
            .field("path", &self.path)
            .finish()
    }
}

impl RedirectListener {
    /// Binds the redirect URI's port on loopback.
    ///
    /// The URI must be `http://` (the listener speaks plain HTTP) with host `localhost`,
    /// `127.0.0.1` or `[::1]`. For `localhost`, `127.0.0.1` is bound, and `[::1]` as well
    /// when possible, since browsers may try either. Port 0 picks a free port (see
    /// [`local_port`](RedirectListener::local_port)). A port in use is a
    /// [`ErrorKind::Usage`] error with a hint.
    pub async fn bind(redirect_uri: &str) -> Result<RedirectListener> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::Usage,
                format!("cannot listen for redirect URI `{redirect_uri}`: {why}"),
            )
            .with_hint(
                "use a callback URL such as http://localhost:1717/OauthRedirect, registered in \
                 the connected app; or log in without a listener and paste the redirected URL",
            )
            .with_remedy(Remedy::PasteRedirect)
        };
        let url = Url::parse(redirect_uri).map_err(|e| bad(&format!("not a URL ({e})")))?;
        if url.scheme() != "http" {
            return Err(bad(
                "sfauth's listener speaks plain http:// on this machine only",
            ));
        }
        let (primary, also_v6) = match url.host() {
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
                (IpAddr::V4(Ipv4Addr::LOCALHOST), true)
            }
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => (IpAddr::V4(ip), false),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => (IpAddr::V6(ip), false),
            _ => return Err(bad("the host must be localhost, 127.0.0.1 or [::1]")),
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let first = TcpListener::bind(SocketAddr::new(primary, port))
            .await
            .map_err(|e| bind_error(&e, url.host_str().unwrap_or_default(), port))?;
        let port = first
            .local_addr()
            .map_err(|e| Error::internal(format!("the listener has no address: {e}")))?
            .port();
        let mut listeners = vec![first];
        if also_v6 {
            // Best effort: a host without IPv6, or with [::1]:port taken by someone else,
            // still gets the login through 127.0.0.1.
            match TcpListener::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)).await {
                Ok(v6) => listeners.push(v6),
                Err(e) => tracing::debug!(error = %e, port, "not listening on [::1]"),
            }
        }
        Ok(RedirectListener {
            listeners,
            port,
            path: url.path().to_owned(),
        })
    }

    /// The port listened on: the redirect URI's, or the one picked for port 0.
    pub fn local_port(&self) -> u16 {
        self.port
    }

    /// Serves until the first request to the redirect path, checks it with
    /// [`PendingLogin::code_from_redirect`], answers the browser with a small page saying
    /// whether the login worked (and why not: denied, state mismatch), then stops and
    /// returns the code.
    ///
    /// Other paths (a browser's `/favicon.ico`) get a 404 and do not end the wait. With no
    /// redirect within `timeout`, the error is [`ErrorKind::LoginRequired`].
    pub async fn wait(
        self,
        pending: &PendingLogin,
        timeout: Duration,
    ) -> Result<AuthorizationCode> {
        let (arrivals, mut arrived) = mpsc::channel(1);
        let door = Door {
            path: Arc::from(self.path.as_str()),
            arrivals,
        };
        let router = Router::new().fallback(on_request).with_state(door);
        let (stop, stopped) = watch::channel(false);
        let mut servers = JoinSet::new();
        for listener in self.listeners {
            let mut stopped = stopped.clone();
            let server = axum::serve(listener, router.clone()).with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            });
            servers.spawn(server.into_future());
        }
        let result = match tokio::time::timeout(timeout, arrived.recv()).await {
            Ok(Some(Arrival { redirected, reply })) => {
                let result = pending.code_from_redirect(redirected.expose());
                let _ = reply.send(page_for(&result));
                result
            }
            Ok(None) => Err(Error::internal("the redirect listener stopped by itself")),
            Err(_) => Err(Error::new(
                ErrorKind::LoginRequired,
                format!(
                    "no browser login arrived within {} s",
                    timeout.as_secs().max(1)
                ),
            )
            .with_hint(
                "open the login URL in a browser on this machine and finish the login; \
                 without a browser here, paste the redirected URL instead, or use the device \
                 flow",
            )
            .with_remedy(Remedy::PasteRedirect)),
        };
        // Later requests find the door closed; those in flight get their page first.
        drop(arrived);
        let _ = stop.send(true);
        let _ = tokio::time::timeout(DELIVERY_GRACE, async {
            while servers.join_next().await.is_some() {}
        })
        .await;
        servers.abort_all();
        result
    }
}

fn bind_error(e: &io::Error, host: &str, port: u16) -> Error {
    if e.kind() == io::ErrorKind::AddrInUse {
        Error::new(
            ErrorKind::Usage,
            format!("port {port} on {host} is already in use, so the browser's redirect cannot be received"),
        )
        .with_hint(format!(
            "another program holds port {port} (another login, or `sf` serving its own?); \
             stop it and try again, or register another callback URL in the connected app \
             (such as http://localhost:PORT/OauthRedirect) and pass it as the redirect URI"
        ))
    } else {
        Error::new(
            ErrorKind::Usage,
            format!("cannot listen on {host}:{port} for the browser's redirect: {e}"),
        )
        .with_hint("pass a redirect URI with a port above 1024 that this user may open")
    }
}

/// A redirect that reached the listener, and where to send the browser's page.
struct Arrival {
    redirected: Secret<String>,
    reply: oneshot::Sender<Page>,
}

#[derive(Clone)]
struct Door {
    path: Arc<str>,
    arrivals: mpsc::Sender<Arrival>,
}

async fn on_request(State(door): State<Door>, uri: Uri) -> Response {
    if uri.path() != &*door.path {
        return Page::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "sfauth is waiting for the login redirect elsewhere.",
        )
        .into_response();
    }
    let finished = || {
        Page::new(
            StatusCode::GONE,
            "This login is finished",
            "sfauth already received a redirect for this login. Return to the terminal.",
        )
    };
    let redirected = Secret::new(
        uri.path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default(),
    );
    let (reply, page) = oneshot::channel();
    if door
        .arrivals
        .send(Arrival { redirected, reply })
        .await
        .is_err()
    {
        return finished().into_response();
    }
    page.await.unwrap_or_else(|_| finished()).into_response()
}

/// The page the browser shows after the redirect.
struct Page {
    status: StatusCode,
    title: &'static str,
    text: String,
}

impl Page {
    fn new(status: StatusCode, title: &'static str, text: impl Into<String>) -> Page {
        Page {
            status,
            title,
            text: text.into(),
        }
    }
}

fn page_for(result: &Result<AuthorizationCode>) -> Page {
    match result {
        Ok(_) => Page::new(
            StatusCode::OK,
            "Login received",
            "sfauth has the authorization code and is finishing the login. You can close this \
             tab and return to the terminal.",
        ),
        Err(e) => {
            let mut text = format!("The login did not work: {e}.");
            if let Some(hint) = e.hint() {
                text.push_str(" What to do: ");
                text.push_str(hint);
            }
            let status = match e.kind() {
                ErrorKind::DeniedByPolicy => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            };
            Page::new(status, "Login failed", text)
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>sfauth: {title}</title></head>\
             <body style=\"font-family: sans-serif; max-width: 40em; margin: 4em auto\">\
             <h1>{title}</h1><p>{text}</p></body></html>\n",
            title = escape(self.title),
            text = escape(&self.text),
        );
        (
            self.status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // The browser should not keep the connection: the server is about to stop.
                (header::CONNECTION, "close"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response()
    }
}

/// Escapes text for HTML: error messages quote what Salesforce sent.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ConnectedApp;
    use crate::endpoint::{Endpoint, LoginUrl, SitePrefix};
    use crate::flows::code::{self, AuthorizeOptions};

    fn pending(redirect_uri: &str) -> PendingLogin {
        code::begin(
            &Endpoint::new(
                LoginUrl::parse("https://login.salesforce.com").unwrap(),
                SitePrefix::default(),
            ),
            &ConnectedApp::new("c"),
            &AuthorizeOptions {
                redirect_uri: redirect_uri.into(),
                ..AuthorizeOptions::default()
            },
        )
        .unwrap()
    }

    fn state_of(login: &PendingLogin) -> String {
        Url::parse(login.authorize_url())
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned()
    }

    fn web() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 512, failure_persistence: None, ..Default::default() })]

        #[test]
        fn escaped_text_holds_no_markup_and_unescapes_to_itself(text in ".{0,80}") {
            let html = escape(&text);
            proptest::prop_assert!(!html.contains(['<', '>', '"', '\'']));
            let back = html
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            proptest::prop_assert_eq!(back, text);
        }
    }

    #[tokio::test]
    async fn only_loopback_http_redirect_uris_can_be_bound() {
        for uri in [
            "https://localhost:0/cb",
            "http://example.com:0/cb",
            "http://10.0.0.1:0/cb",
            "not a url",
        ] {
            let e = RedirectListener::bind(uri).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{uri}");
        }
    }

    #[tokio::test]
    async fn a_port_in_use_is_a_usage_error_with_a_hint() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let e = RedirectListener::bind(&format!("http://127.0.0.1:{port}/cb"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains("already in use"), "{e}");
        assert!(e.hint().unwrap().contains("redirect URI"));
    }

    #[tokio::test]
    async fn localhost_binds_ipv4_loopback() {
        let listener = RedirectListener::bind("http://localhost:0/OauthRedirect")
            .await
            .unwrap();
        assert_ne!(listener.local_port(), 0);
        assert_eq!(
            listener.listeners[0].local_addr().unwrap().ip(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
    }

    #[tokio::test]
    async fn the_first_redirect_yields_the_code_and_a_success_page() {
        let listener = RedirectListener::bind("http://127.0.0.1:0/OauthRedirect")
            .await
            .unwrap();
        let port = listener.local_port();
        let login = pending(&format!("http://127.0.0.1:{port}/OauthRedirect"));
        let state = state_of(&login);
        let browser = tokio::spawn(async move {
            let other = web()
                .get(format!("http://127.0.0.1:{port}/favicon.ico"))
                .send()
                .await
                .unwrap();
            assert_eq!(other.status(), 404);
            let page = web()
                .get(format!(
                    "http://127.0.0.1:{port}/OauthRedirect?code=aPrx.1&state={state}"
                ))
                .send()
                .await
                .unwrap();
            (page.status(), page.text().await.unwrap())
        });
        let code = listener
            .wait(&login, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(code.expose(), "aPrx.1");
        let (status, page) = browser.await.unwrap();
        assert_eq!(status, 200);
        assert!(page.contains("Login received"), "{page}");
        assert!(!page.contains("aPrx.1"));
        // The listener has stopped.
        assert!(
            web()
                .get(format!("http://127.0.0.1:{port}/OauthRedirect"))
                .send()
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_denied_login_shows_why_and_returns_the_error() {
        let listener = RedirectListener::bind("http://127.0.0.1:0/cb")
            .await
            .unwrap();
        let port = listener.local_port();
        let login = pending(&format!("http://127.0.0.1:{port}/cb"));
        let state = state_of(&login);
        let browser = tokio::spawn(async move {
            let page = web()
                .get(format!(
                    "http://127.0.0.1:{port}/cb?error=access_denied&error_description=end-user+denied+%3Cauthorization%3E&state={state}"
                ))
                .send()
                .await
                .unwrap();
            (page.status(), page.text().await.unwrap())
        });
        let e = listener
            .wait(&login, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DeniedByPolicy);
        let (status, page) = browser.await.unwrap();
        assert_eq!(status, 403);
        assert!(page.contains("denied"), "{page}");
        assert!(page.contains("&lt;authorization&gt;"), "{page}");
    }

    #[tokio::test]
    async fn a_state_mismatch_is_shown_and_returned() {
        let listener = RedirectListener::bind("http://127.0.0.1:0/cb")
            .await
            .unwrap();
        let port = listener.local_port();
        let login = pending(&format!("http://127.0.0.1:{port}/cb"));
        let browser = tokio::spawn(async move {
            let page = web()
                .get(format!("http://127.0.0.1:{port}/cb?code=x&state=forged"))
                .send()
                .await
                .unwrap();
            page.text().await.unwrap()
        });
        let e = listener
            .wait(&login, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(browser.await.unwrap().contains("state"));
    }

    #[tokio::test]
    async fn no_redirect_in_time_is_login_required() {
        let listener = RedirectListener::bind("http://127.0.0.1:0/cb")
            .await
            .unwrap();
        let login = pending("http://127.0.0.1:1/cb");
        let e = listener
            .wait(&login, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LoginRequired);
        assert!(e.to_string().contains("no browser login arrived"), "{e}");
        assert!(e.hint().unwrap().contains("device flow"));
    }
}
