//! [`Secret<T>`]: a value that must not leak into logs, errors or `Debug` output, and the
//! secret types by role ([`AccessToken`], [`RefreshToken`], [`AuthorizationCode`],
//! [`ClientSecret`], [`PkceVerifier`]), so that one cannot be passed where another is meant.

use std::fmt;

/// A secret value: an access token, a refresh token, a client secret.
///
/// `Debug` prints `[redacted]`. There is no `Display`: a secret formatted with `{}` into a
/// header or a URL would send `[redacted]` instead of failing to compile. Reading the value
/// takes an explicit [`expose`](Secret::expose) or [`expose_ref`](Secret::expose_ref), so
/// every place that handles the raw secret is easy to find. Owned strings are wiped from memory on drop
/// (best effort: HTTP and JSON buffers may keep copies).
///
/// ```
/// use sfauth::Secret;
/// let token = Secret::new(String::from("00Dxx!AQ.secret"));
/// assert_eq!(format!("{token:?}"), "[redacted]");
/// assert_eq!(token.expose_ref(), "00Dxx!AQ.secret");
/// ```
///
/// ```compile_fail
/// // No `Display`: this does not compile (it would send "Bearer [redacted]").
/// let token = sfauth::Secret::from("00Dxx!AQ.secret");
/// let header = format!("Bearer {token}");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T: zeroize::Zeroize>(T);

impl<T: zeroize::Zeroize> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// Borrows the secret value. Call this only where the value must leave sfauth's hands
    /// (an HTTP request, a file, stdout on the user's request).
    pub fn expose_ref(&self) -> &T {
        &self.0
    }
}

impl Secret<String> {
    /// Borrows the secret as a `&str`.
    ///
    /// ```
    /// let s = sfauth::Secret::from("abc");
    /// assert_eq!(s.expose(), "abc");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl<T: zeroize::Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: zeroize::Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Defines a secret type for one role: a `String` secret with its own name, so the compiler
/// refuses, say, a refresh token where an access token is expected.
macro_rules! secret_role {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Secret<String>);

        impl $name {
            /// Wraps the secret value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(Secret::new(value.into()))
            }

            /// Borrows the value. Call this only where it must leave sfauth's hands (an
            /// HTTP request, a file, stdout on the user's request).
            pub fn expose(&self) -> &str {
                self.0.expose()
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(Secret::new(value))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(Secret::from(value))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_role! {
    /// An OAuth access token (a Salesforce session id): sent as `Authorization: Bearer`.
    ///
    /// ```
    /// use sfauth::AccessToken;
    /// let token = AccessToken::from("00Dxx!AQ.secret");
    /// assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
    /// assert_eq!(token.expose(), "00Dxx!AQ.secret");
    /// ```
    ///
    /// ```compile_fail
    /// // A refresh token is not an access token.
    /// fn use_access(_: &sfauth::AccessToken) {}
    /// use_access(&sfauth::RefreshToken::from("5Aep861"));
    /// ```
    AccessToken
}

secret_role! {
    /// A refresh token: with rotation on, it works once, and a second use revokes its family.
    ///
    /// ```
    /// let token = sfauth::RefreshToken::from("5Aep861secret");
    /// assert!(!format!("{token:?}").contains("5Aep"));
    /// ```
    RefreshToken
}

secret_role! {
    /// The `code` an authorize redirect carries: exchanged once for a token.
    ///
    /// ```
    /// let code = sfauth::AuthorizationCode::from("aPrx.code");
    /// assert_eq!(format!("{code:?}"), "AuthorizationCode([redacted])");
    /// ```
    AuthorizationCode
}

secret_role! {
    /// A connected app's Consumer Secret.
    ///
    /// ```
    /// let secret = sfauth::ClientSecret::from("s3cret");
    /// assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
    /// ```
    ClientSecret
}

secret_role! {
    /// A PKCE code verifier (RFC 7636): proves the code exchange comes from whoever started
    /// the login.
    ///
    /// ```
    /// let verifier = sfauth::PkceVerifier::from("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    /// assert_eq!(format!("{verifier:?}"), "PkceVerifier([redacted])");
    /// ```
    PkceVerifier
}

/// An access or a refresh token, for the endpoints that take either (revocation and
/// introspection); it says which it is, so the `token_type_hint` cannot be wrong.
///
/// ```
/// use sfauth::{AccessToken, IssuedToken, RefreshToken};
/// let access = AccessToken::from("00Dxx!AQ.a");
/// assert_eq!(IssuedToken::from(&access).type_hint(), "access_token");
/// let refresh = RefreshToken::from("5Aep861");
/// assert_eq!(IssuedToken::from(&refresh).type_hint(), "refresh_token");
/// ```
#[derive(Clone, Copy, Debug)]
pub enum IssuedToken<'a> {
    /// An access token.
    Access(&'a AccessToken),
    /// A refresh token.
    Refresh(&'a RefreshToken),
}

impl IssuedToken<'_> {
    /// The value, for the request that carries it.
    pub fn expose(&self) -> &str {
        match self {
            IssuedToken::Access(token) => token.expose(),
            IssuedToken::Refresh(token) => token.expose(),
        }
    }

    /// The OAuth `token_type_hint` for it (RFC 7009, RFC 7662).
    pub fn type_hint(&self) -> &'static str {
        match self {
            IssuedToken::Access(_) => "access_token",
            IssuedToken::Refresh(_) => "refresh_token",
        }
    }
}

impl<'a> From<&'a AccessToken> for IssuedToken<'a> {
    fn from(token: &'a AccessToken) -> Self {
        IssuedToken::Access(token)
    }
}

impl<'a> From<&'a RefreshToken> for IssuedToken<'a> {
    fn from(token: &'a RefreshToken) -> Self {
        IssuedToken::Refresh(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::from("5Aep861secret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
    }
}
