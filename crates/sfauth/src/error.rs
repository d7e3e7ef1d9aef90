//! [`Error`] and [`ErrorKind`]: every failure has a class, a message and, where one helps,
//! a hint saying what to do. No message ever holds a secret.

use std::fmt;

/// The class of a failure. The CLI maps each kind to its own exit code.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad input: a flag, a missing client id, an unreadable or invalid token file.
    Usage,
    /// The refresh token is expired, revoked or rotated out: the user must log in again.
    LoginRequired,
    /// Salesforce rejected the client: wrong client id or client secret.
    ClientRejected,
    /// The org's policy refused: IP range, login hours, inactive user or org, not approved.
    DeniedByPolicy,
    /// The network, a timeout, a 5xx or a rate limit, after bounded retries.
    Unavailable,
    /// The server answered something that is not a valid token response.
    Protocol,
    /// A token could not be read from or written to its store: a full disk, a read-only
    /// directory, a store that is down. Not the user's typo, so not [`Usage`](Self::Usage).
    Storage,
    /// A bug in sfauth.
    Internal,
}

impl ErrorKind {
    /// A short stable name, as used in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::LoginRequired => "login_required",
            ErrorKind::ClientRejected => "client_rejected",
            ErrorKind::DeniedByPolicy => "denied_by_policy",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Storage => "storage",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `error` / `error_description` pair of an OAuth error answer (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The `error` code, e.g. `invalid_grant`.
    pub error: String,
    /// The `error_description`, e.g. `expired access/refresh token`.
    pub description: Option<String>,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {}", self.error, d),
            None => f.write_str(&self.error),
        }
    }
}

/// What the caller can supply or change to get past an error, in the library's own terms.
///
/// The library's hints say what is wrong and what to do without naming any front end's
/// flags or settings; a front end turns the remedy into its own wording (the CLI names its
/// flags and environment variables).
///
/// ```
/// use sfauth::{Error, ErrorKind, Remedy, SitePrefix};
/// let e = SitePrefix::parse("https://acme.my.site.com/customers").unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::Usage);
/// assert_eq!(e.remedy(), Some(Remedy::SitePrefix));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Remedy {
    /// Supply the connected app's client secret (the app requires it, or the one sent is
    /// wrong).
    ClientSecret,
    /// Give the site's path prefix only (`/customers`), not a URL.
    SitePrefix,
    /// Give the login URL: the host that issued the token.
    LoginUrl,
    /// Name a token file that exists.
    TokenFile,
    /// Finish a web login without a browser on this machine: paste the URL the browser was
    /// redirected to.
    PasteRedirect,
    /// Put a token into the store under the key (a shared store starts empty).
    ImportToken,
}

/// Where a failure came from, as oauth2-rs splits its errors: whether Salesforce answered,
/// the answer could not be had or read, or the problem is on this side. The [`ErrorKind`]
/// says what it means for the user; the origin says where to look.
///
/// ```
/// use sfauth::{LoginUrl, Origin};
/// let e = LoginUrl::parse("http://login.salesforce.com").unwrap_err();
/// assert_eq!(e.origin(), Origin::Input);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Salesforce (or whatever the login URL reaches) answered, with an error: an OAuth
    /// error body, a 4xx or a 5xx. [`Error::status`] and [`Error::oauth`] say what.
    Server,
    /// No usable answer came: the connection, TLS, a timeout, a body cut short.
    Transport,
    /// An answer came but is not what the protocol describes (an HTML page, a token
    /// without `instance_url`, a signature that does not match).
    Parse,
    /// The token store could not be read, locked or written.
    Storage,
    /// What the caller gave: a flag, a setting, a key, the content of a token file.
    Input,
    /// A bug in sfauth.
    Internal,
}

impl Origin {
    /// The origin an error of `kind` has unless it says otherwise.
    fn of(kind: ErrorKind) -> Origin {
        match kind {
            ErrorKind::Usage => Origin::Input,
            ErrorKind::Storage => Origin::Storage,
            ErrorKind::Protocol => Origin::Parse,
            ErrorKind::Unavailable => Origin::Transport,
            ErrorKind::LoginRequired | ErrorKind::ClientRejected | ErrorKind::DeniedByPolicy => {
                Origin::Server
            }
            ErrorKind::Internal => Origin::Internal,
        }
    }

    /// A short stable name, as used in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Server => "server",
            Origin::Transport => "transport",
            Origin::Parse => "parse",
            Origin::Storage => "storage",
            Origin::Input => "input",
            Origin::Internal => "internal",
        }
    }
}

/// How a failed request may be retried. Internal: drives the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Do not retry.
    No,
    /// The request never left this machine (connect failure): safe to send again.
    Unsent,
    /// The server answered 5xx or 429.
    ServerBusy,
    /// Salesforce is serving another request with the same refresh token ("token request
    /// is already being processed").
    InFlightElsewhere,
    /// The request may have reached the server (timeout or reset after sending).
    Ambiguous,
}

/// An sfauth failure.
///
/// ```
/// use sfauth::{Error, ErrorKind};
/// let e = Error::new(ErrorKind::Usage, "token file /tmp/t.json is missing")
///     .with_hint("give the path of a Salesforce token JSON file");
/// assert_eq!(e.kind(), ErrorKind::Usage);
/// assert_eq!(e.to_string(), "token file /tmp/t.json is missing");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    origin: Origin,
    message: String,
    hint: Option<String>,
    remedy: Option<Remedy>,
    oauth: Option<OAuthError>,
    status: Option<u16>,
    pub(crate) retry: Retry,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind`. `message` must hold no secret.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            origin: Origin::of(kind),
            message: message.into(),
            hint: None,
            remedy: None,
            oauth: None,
            status: None,
            retry: Retry::No,
            source: None,
        }
    }

    /// Adds what the user can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds what the caller can supply to get past it, for a front end to word (see
    /// [`Remedy`]).
    pub fn with_remedy(mut self, remedy: Remedy) -> Self {
        self.remedy = Some(remedy);
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_oauth(mut self, oauth: OAuthError) -> Self {
        self.oauth = Some(oauth);
        self.origin = Origin::Server;
        self
    }

    /// Records the HTTP status of the answer: the server answered, unless the answer
    /// could not be read.
    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        if self.origin != Origin::Parse {
            self.origin = Origin::Server;
        }
        self
    }

    /// Says where the failure came from when its kind alone does not (a lock that timed
    /// out is the store's, a stored token without a refresh token is the input's).
    pub(crate) fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// Re-classes an error whose class depends on the grant that failed (an `invalid_grant`
    /// from a JWT assertion is a configuration problem, not a lost login).
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// Rewords the message, keeping the class, the OAuth error and the status: for a caller
    /// that knows better what the failure means (an "already being processed" refusal while
    /// no sfauth holds the lock comes from a client outside it).
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub(crate) fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// The class of the failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Where it came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// What the user can do about it, when sfauth knows.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// What the caller can supply to get past it, when that is one setting.
    pub fn remedy(&self) -> Option<Remedy> {
        self.remedy
    }

    /// The OAuth error the server returned, if any.
    pub fn oauth(&self) -> Option<&OAuthError> {
        self.oauth.as_ref()
    }

    /// The HTTP status the server answered with, if any.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// True when the request may have reached Salesforce although no answer came back:
    /// with refresh-token rotation on, the stored refresh token may now be spent.
    pub fn is_ambiguous(&self) -> bool {
        self.retry == Retry::Ambiguous
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }
}
