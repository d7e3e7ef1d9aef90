//! [`TokenSource`]: what hands out a valid token, as a small trait that callers can fake.
//!
//! [`Session`] is the real one. Code that only needs tokens (an API client, a proxy, a
//! worker) can take `impl TokenSource`, and its tests can pass a fake that returns a fixed
//! token with no store and no Salesforce.

use async_trait::async_trait;

use crate::error::Result;
use crate::secret::AccessToken;
use crate::session::Session;
use crate::token::Token;

/// Something that hands out a token whose access token is valid.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> sfauth::Result<()> {
/// use sfauth::{AccessToken, Token, TokenSource};
///
/// /// A fake for tests: always the same token.
/// #[derive(Debug)]
/// struct Fixed(Token);
///
/// #[async_trait::async_trait]
/// impl TokenSource for Fixed {
///     async fn token(&self) -> sfauth::Result<Token> {
///         Ok(self.0.clone())
///     }
///     async fn invalidate(&self, _rejected: &AccessToken) -> sfauth::Result<Token> {
///         Ok(self.0.clone())
///     }
/// }
///
/// let token = Token::from_json(
///     br#"{"access_token":"00Dxx!fake","instance_url":"https://acme.my.salesforce.com"}"#,
/// ).unwrap();
/// let source: &dyn TokenSource = &Fixed(token);
/// assert_eq!(source.token().await?.access_token().expose(), "00Dxx!fake");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// A token whose access token is fresh, renewed first if needed.
    async fn token(&self) -> Result<Token>;

    /// The API rejected `rejected` (401 "Session expired or invalid"): renew if it is still
    /// the current token, and return the current token either way.
    async fn invalidate(&self, rejected: &AccessToken) -> Result<Token>;
}

#[async_trait]
impl TokenSource for Session {
    async fn token(&self) -> Result<Token> {
        Session::token(self).await
    }

    async fn invalidate(&self, rejected: &AccessToken) -> Result<Token> {
        Session::invalidate(self, rejected).await
    }
}
