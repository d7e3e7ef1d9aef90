//! [`OAuthClient`]: the connected app's identity.

use crate::secret::Secret;

/// A connected app: its Consumer Key and, when the app has one configured here, its
/// Consumer Secret. The secret is sent only when configured, since Salesforce checks any
/// secret it receives.
///
/// ```
/// use sfauth::{OAuthClient, Secret};
/// let app = OAuthClient::new("3MVG9example").with_secret(Secret::from("s3cret"));
/// assert_eq!(app.client_id(), "3MVG9example");
/// assert!(!format!("{app:?}").contains("s3cret"));
/// ```
#[derive(Clone, Debug)]
pub struct OAuthClient {
    client_id: String,
    client_secret: Option<Secret<String>>,
}

impl OAuthClient {
    /// A client with no secret (a public client, or an app that does not require it).
    pub fn new(client_id: impl Into<String>) -> Self {
        OAuthClient {
            client_id: client_id.into(),
            client_secret: None,
        }
    }

    /// Adds the client secret.
    pub fn with_secret(mut self, secret: Secret<String>) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// The Consumer Key.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client's part of a form: `client_id`, and `client_secret` only when one is
    /// configured (Salesforce checks any secret it receives, so none is sent by default).
    ///
    /// ```
    /// use sfauth::{OAuthClient, Secret};
    /// assert_eq!(OAuthClient::new("id").form_credentials(), [("client_id", "id")]);
    /// let app = OAuthClient::new("id").with_secret(Secret::from("s"));
    /// assert_eq!(app.form_credentials(), [("client_id", "id"), ("client_secret", "s")]);
    /// ```
    pub fn form_credentials(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![("client_id", self.client_id.as_str())];
        if let Some(secret) = &self.client_secret {
            pairs.push(("client_secret", secret.expose()));
        }
        pairs
    }

    /// The Consumer Secret, when known.
    pub fn client_secret(&self) -> Option<&Secret<String>> {
        self.client_secret.as_ref()
    }
}
