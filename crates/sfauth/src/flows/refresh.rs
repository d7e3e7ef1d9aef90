//! The refresh-token grant: `grant_type=refresh_token` to `{login}{site}/services/oauth2/token`.
//!
//! This module makes one grant request and checks the answer. Storing the result, locking
//! and adopting another process's refresh are [`Session`](crate::Session)'s job.

use crate::app::{AppClient, Credentials, Granted, TokenRequest, as_is};
use crate::error::Result;
use crate::secret::RefreshToken;

impl AppClient {
    /// Sends the refresh grant and checks the answer: JSON, required fields, and the
    /// signature when the client secret is known. A refresh that may have reached the server
    /// is never sent again: with rotation on, the first request may have spent the refresh
    /// token, and a second use of a spent one revokes the whole token family.
    ///
    /// This only asks Salesforce; a [`Session`](crate::Session) also locks, stores the
    /// rotated token and adopts another process's refresh.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<Granted> {
        self.refresh_once(refresh_token, false).await
    }

    /// [`refresh`](Self::refresh), saying whether a refresh that may have reached the server
    /// may be sent again: `idempotent = true` only for a token known not to rotate.
    pub(crate) async fn refresh_once(
        &self,
        refresh_token: &RefreshToken,
        idempotent: bool,
    ) -> Result<Granted> {
        self.token_request(TokenRequest {
            what: "refresh",
            form: vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
                ("format", "json"),
            ],
            credentials: Credentials::IfConfigured,
            idempotent,
            reclassify: as_is,
        })
        .await
    }
}
