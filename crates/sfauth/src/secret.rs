//! [`Secret<T>`]: a value that must not leak into logs, errors or `Debug` output.

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
