//! [`ConnectedApp`]: the connected app's identity, its Consumer Key and Consumer Secret.

use crate::secret::ClientSecret;

/// A connected app (or External Client App): its Consumer Key and, when the app has one
/// configured here, its Consumer Secret. The secret is sent only when configured, since
/// Salesforce checks any secret it receives.
///
/// ```
/// use sfauth::{ClientSecret, ConnectedApp};
/// let app = ConnectedApp::new("3MVG9example").with_secret(ClientSecret::from("s3cret"));
/// assert_eq!(app.client_id(), "3MVG9example");
/// assert!(!format!("{app:?}").contains("s3cret"));
/// ```
#[derive(Clone, Debug)]
pub struct ConnectedApp {
    client_id: String,
    client_secret: Option<ClientSecret>,
}

impl ConnectedApp {
    /// An app with no secret (a public client, or an app that does not require it).
    pub fn new(client_id: impl Into<String>) -> Self {
        ConnectedApp {
            client_id: client_id.into(),
            client_secret: None,
        }
    }

    /// Adds the client secret.
    pub fn with_secret(mut self, secret: ClientSecret) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// The Consumer Key.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The Consumer Secret, when known.
    pub fn client_secret(&self) -> Option<&ClientSecret> {
        self.client_secret.as_ref()
    }

    /// The app's part of a form: `client_id`, and `client_secret` only when one is
    /// configured (Salesforce checks any secret it receives, so none is sent by default).
    pub(crate) fn form_credentials(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![("client_id", self.client_id.as_str())];
        if let Some(secret) = &self.client_secret {
            pairs.push(("client_secret", secret.expose()));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_sent_only_when_configured() {
        assert_eq!(
            ConnectedApp::new("id").form_credentials(),
            [("client_id", "id")]
        );
        let app = ConnectedApp::new("id").with_secret(ClientSecret::from("s"));
        assert_eq!(
            app.form_credentials(),
            [("client_id", "id"), ("client_secret", "s")]
        );
    }
}
