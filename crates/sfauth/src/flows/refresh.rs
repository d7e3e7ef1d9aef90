//! The refresh-token grant: `grant_type=refresh_token` to `{login}{site}/services/oauth2/token`.
//!
//! This module makes one grant request and checks the answer. Storing the result, locking
//! and adopting another process's refresh are [`Session`](crate::Session)'s job.

use crate::client::OAuthClient;
use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::http::HttpClient;
use crate::secret::Secret;
use crate::signature::{self, SignatureCheck};
use crate::token::Token;

/// A checked refresh answer.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// The token response as Salesforce sent it (not merged with the stored token).
    pub response: Token,
    /// What the signature check found.
    pub signature: SignatureCheck,
}

/// Sends the refresh grant and checks the answer: JSON, required fields, and the signature
/// when the client secret is known. Retries only what is safe (see [`crate::http`]): a
/// refresh that may have reached the server is never replayed.
pub async fn refresh(
    http: &HttpClient,
    endpoint: &Endpoint,
    client: &OAuthClient,
    refresh_token: &Secret<String>,
) -> Result<Refreshed> {
    send(http, endpoint, client, refresh_token, false).await
}

/// [`refresh`], saying whether a refresh that may have reached the server may be sent
/// again. Pass `idempotent = true` only for a token known not to rotate: with rotation on,
/// the first request may have spent the refresh token, and a second use of a spent one
/// revokes the whole token family.
pub async fn send(
    http: &HttpClient,
    endpoint: &Endpoint,
    client: &OAuthClient,
    refresh_token: &Secret<String>,
    idempotent: bool,
) -> Result<Refreshed> {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose()),
        ("format", "json"),
    ];
    form.extend(client.form_credentials());
    let answer = http
        .post_form(&endpoint.token_url(), &form, idempotent)
        .await?;
    let response = super::read_token_answer(&answer, "refresh")?;
    let signature = signature::check(&response, client.client_secret())?;
    Ok(Refreshed {
        response,
        signature,
    })
}
