//! Lets a handler drop the TCP connection its request arrived on, without answering.
//!
//! [`Fault::CloseConnection`](crate::Fault::CloseConnection) and its kin need this, and
//! `axum::serve` cannot do it; the accept loop in [`crate::server`] puts a
//! [`ConnectionKiller`] into every request's extensions and races the connection against it.

use std::convert::Infallible;
use std::sync::Arc;

use tokio::sync::Notify;

/// One connection's kill switch, shared by the connection task and its handlers.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnectionKiller(Arc<Notify>);

impl ConnectionKiller {
    /// Closes the connection without an answer, then never returns: the connection task
    /// drops the handler future together with the socket.
    pub(crate) async fn kill(&self) -> Infallible {
        // `notify_one` stores a permit, so this works even before the task awaits it.
        self.0.notify_one();
        std::future::pending().await
    }

    /// Resolves once a handler has called [`ConnectionKiller::kill`].
    pub(crate) async fn killed(&self) {
        self.0.notified().await;
    }
}
