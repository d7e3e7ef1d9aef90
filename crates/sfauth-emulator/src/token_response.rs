//! The body of a token answer that succeeded, in Salesforce's shape and key order:
//! `access_token, [refresh_token], [signature], [scope], [id_token], instance_url, id,
//! token_type, issued_at`, and never `expires_in`.
//!
//! Refusals are [`Denial`](crate::denial::Denial)s; the device flow's first answer is not a
//! token answer and is built by its grant.

use serde_json::{Map, Value};

use crate::credentials;
use crate::state::{Issued, Shared};
use crate::twist::Twist;

/// Which optional fields a token answer carries, by grant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    /// `signature` (absent from JWT bearer answers).
    signature: bool,
    /// `scope` (absent from username-password answers).
    scope: bool,
}

impl Shape {
    /// Everything: the refresh, web-server, device and client-credentials grants.
    pub(crate) const FULL: Self = Self {
        signature: true,
        scope: true,
    };
    /// No `signature`: the JWT bearer grant.
    pub(crate) const JWT_BEARER: Self = Self {
        signature: false,
        scope: true,
    };
    /// No `scope` ("doesn't support scopes"): the username-password grant.
    pub(crate) const PASSWORD: Self = Self {
        signature: true,
        scope: false,
    };
}

/// A token answer with the fields `shape` asks for. `refresh_token` is there when `issued`
/// has one, `id_token` when the scope includes `openid`; the signature is made with the
/// wrong key when `twist` says so.
pub(crate) fn token_response(
    shared: &Shared,
    issued: &Issued,
    shape: Shape,
    twist: Twist,
) -> Value {
    let id = shared.identity_url(&credentials::user_id(&issued.username));
    let issued_at = credentials::issued_at_now();

    let mut body = Map::new();
    body.insert("access_token".into(), issued.access_token.clone().into());
    if let Some(refresh_token) = &issued.refresh_token {
        body.insert("refresh_token".into(), refresh_token.clone().into());
    }
    if shape.signature {
        let key = if twist.bad_signature {
            format!("not-{}", shared.config.client_secret)
        } else {
            shared.config.client_secret.clone()
        };
        let signature = credentials::signature(&key, &id, &issued_at);
        body.insert("signature".into(), signature.into());
    }
    if shape.scope {
        body.insert("scope".into(), issued.scope.clone().into());
    }
    if issued.scope.split(' ').any(|s| s == "openid") {
        let now = credentials::unix_now();
        let claims = serde_json::json!({
            "at_hash": "emulator",
            "sub": id,
            "aud": shared.config.client_id,
            "iss": shared.url,
            "exp": now + 300,
            "iat": now,
            "preferred_username": issued.username,
        });
        body.insert("id_token".into(), credentials::id_token(&claims).into());
    }
    body.insert("instance_url".into(), shared.url.clone().into());
    body.insert("id".into(), id.into());
    body.insert("token_type".into(), "Bearer".into());
    body.insert("issued_at".into(), issued_at.into());
    Value::Object(body)
}
