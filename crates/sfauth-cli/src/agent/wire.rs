//! The agent's JSON: what `GET /v1/orgs/{alias}/token` answers, and the error body of
//! every 4xx and 5xx.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sfauth::{Expiry, Token};

use crate::output;

/// The response header in which the agent names the config home it serves: a client of
/// another home (another `SFAUTH_HOME`, same user, same socket) must not take its tokens.
pub const HOME_HEADER: &str = "sfauth-home";

/// A token as the agent serves it. The refresh token never leaves the agent.
#[derive(Serialize, Deserialize)]
pub struct AgentToken {
    pub access_token: String,
    pub instance_url: String,
    pub api_instance_url: Option<String>,
    /// RFC 3339.
    pub expires_at: Option<String>,
    /// Seconds from now.
    pub expires_in: Option<u64>,
    pub org_id: Option<String>,
    pub user_id: Option<String>,
    /// Salesforce's `issued_at` (Unix milliseconds, as text), so that a client computes
    /// the same expiry from the same policy.
    pub issued_at: Option<String>,
    /// Where `expires_at` comes from: `jwt_exp`, `introspection` or `session_timeout`.
    pub expiry_source: Option<String>,
}

impl std::fmt::Debug for AgentToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentToken")
            .field("instance_url", &self.instance_url)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl AgentToken {
    /// What the agent serves of `token`, whose expiry is `expiry`.
    pub fn of(token: &Token, expiry: Option<Expiry>) -> AgentToken {
        let now = SystemTime::now();
        AgentToken {
            access_token: token.access_token().expose().to_owned(),
            instance_url: token.instance_url().to_owned(),
            api_instance_url: token.api_instance_url().map(str::to_owned),
            expires_at: expiry.map(|e| output::rfc3339(e.at)),
            expires_in: expiry.map(|e| e.at.duration_since(now).unwrap_or_default().as_secs()),
            org_id: token.org_id().map(str::to_owned),
            user_id: token.user_id().map(str::to_owned),
            issued_at: token.issued_at_raw(),
            expiry_source: expiry.map(|e| e.source.as_str().to_owned()),
        }
    }

    /// The token a client renders: the fields the agent sent, in a token's shape. An
    /// introspected expiry is carried over as the token file records one, so the client's
    /// policy finds the same expiry.
    pub fn into_token(self) -> Option<Token> {
        let mut value = serde_json::json!({
            "access_token": self.access_token,
            "instance_url": self.instance_url,
        });
        let object = value.as_object_mut()?;
        for (key, field) in [
            ("api_instance_url", self.api_instance_url),
            ("issued_at", self.issued_at),
        ] {
            if let Some(field) = field {
                object.insert(key.to_owned(), field.into());
            }
        }
        if let (Some(org), Some(user)) = (&self.org_id, &self.user_id) {
            // Salesforce's identity URL carries both ids; a token knows them from it.
            object.insert(
                "id".to_owned(),
                format!("{}/id/{org}/{user}", self.instance_url).into(),
            );
        }
        if self.expiry_source.as_deref() == Some("introspection")
            && let Some(at) = self.expires_in
        {
            let exp = output::unix_secs(SystemTime::now()).unwrap_or_default() + at;
            object.insert(
                sfauth::ExpiryPolicy::INTROSPECTED_EXP_KEY.to_owned(),
                exp.into(),
            );
        }
        Token::from_value(value).ok()
    }
}

/// `{"error": {"kind", "message", "hint"}}`: the body of every error the agent answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// One error: `kind` is machine-readable (`not_found`, `bad_request`, or the library's
/// error kind, such as `login_required`).
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub kind: String,
    pub message: String,
    pub hint: Option<String>,
}
