//! Routing and our own accept loop.
//!
//! `axum::serve` cannot drop one connection without answering, which
//! [`Fault::CloseConnection`](crate::Fault::CloseConnection) needs. So each connection is
//! served by hyper directly, and its task races the connection future against a
//! [`ConnectionKiller`] that handlers may fire: dropping the connection future closes the
//! socket with no response written. What each route does is in the module it names.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::http::{Extensions, HeaderMap, Request, StatusCode, Version};
use axum::routing::{any, get, post};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower_http::compression::CompressionLayer;

use crate::connection::ConnectionKiller;
use crate::faulty::Uncompressed;
use crate::state::Shared;
use crate::{authorize, introspect, rest, revoke, token_endpoint};

/// The emulator's routes. The OAuth endpoints live only under the site prefix, so a client
/// that forgets the prefix gets a 404 as it would from a real Experience Cloud site.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let site = shared.config.site.clone();
    let mut router = Router::new()
        .route(
            &format!("{site}/services/oauth2/token"),
            post(token_endpoint::token),
        )
        .route(
            &format!("{site}/services/oauth2/authorize"),
            get(authorize::authorize),
        )
        .route(
            &format!("{site}/services/oauth2/introspect"),
            post(introspect::introspect),
        )
        .route(
            &format!("{site}/services/oauth2/revoke"),
            post(revoke::revoke).get(revoke::revoke),
        )
        .route("/services/oauth2/userinfo", get(rest::userinfo))
        .route(
            "/services/oauth2/singleaccess",
            post(rest::singleaccess).get(rest::singleaccess),
        )
        .route("/secur/frontdoor.jsp", get(rest::frontdoor))
        .route("/services/data", get(rest::versions))
        .route("/services/data/", get(rest::versions))
        .route("/services/data/{*rest}", any(rest::data))
        .route("/id/{org_id}/{user_id}", get(rest::identity))
        .route("/__emulator/stats", get(rest::stats))
        .route("/__emulator/faults", post(rest::inject_faults));
    if !site.is_empty() {
        router = router.route(
            &format!("{site}/services/oauth2/userinfo"),
            get(rest::userinfo),
        );
    }
    router
        .layer(CompressionLayer::new().compress_when(always_compress as CompressPredicate))
        .with_state(shared)
}

type CompressPredicate = fn(StatusCode, Version, &HeaderMap, &Extensions) -> bool;

/// tower-http skips bodies under 32 bytes by default; Salesforce gzips whatever the
/// client accepts, and clients must cope with a compressed tiny error body. Answers that
/// break HTTP on purpose are sent as they are.
fn always_compress(_: StatusCode, _: Version, _: &HeaderMap, extensions: &Extensions) -> bool {
    extensions.get::<Uncompressed>().is_none()
}

/// Accepts connections until `shutdown` fires or its sender is dropped, then aborts
/// every open connection (dropping the `JoinSet`).
///
/// With `tls`, each connection's handshake runs on its own task, so a client that never
/// finishes one holds up nobody else.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    router: Router,
    tls: Option<TlsAcceptor>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let router = router.clone();
                    let open = OpenConnection::counted(&shared);
                    match tls.clone() {
                        None => {
                            connections.spawn(async move {
                                serve_connection(stream, router).await;
                                drop(open);
                            });
                        }
                        Some(acceptor) => {
                            connections.spawn(async move {
                                match acceptor.accept(stream).await {
                                    Ok(stream) => serve_connection(stream, router).await,
                                    Err(error) => tracing::debug!(%error, "TLS handshake failed"),
                                }
                                drop(open);
                            });
                        }
                    }
                }
                Err(error) => {
                    // Typically EMFILE; back off instead of spinning on the error.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    tracing::debug!("emulator shutting down");
}

/// One accepted connection in [`Shared::open_connections`], until it is dropped (also when
/// the server aborts the connection's task).
struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    fn counted(shared: &Arc<Shared>) -> OpenConnection {
        shared.open_connections.fetch_add(1, Ordering::SeqCst);
        OpenConnection(Arc::clone(shared))
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open_connections.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve_connection<S>(stream: S, router: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let killer = ConnectionKiller::default();
    let killed = killer.clone();
    let inner = TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(killer.clone());
        inner.call(request)
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        () = killed.killed() => {
            tracing::debug!("connection dropped on purpose");
        }
    }
}
