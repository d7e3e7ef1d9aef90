//! One module per grant or endpoint, each an `impl AppClient` block with the grant's own
//! rules; the answer every grant reads is read and classified here, once.
//!
//! | Module | [`AppClient`](crate::AppClient) methods |
//! |---|---|
//! | `refresh` | `refresh`: the refresh-token grant |
//! | `code` (+ `pkce`, `loopback`) | `authorize`, `exchange_code`: web-server login |
//! | `jwt` | `jwt_bearer`: a signed assertion, no user interaction |
//! | `client_credentials` | `client_credentials`: a "run as" integration user |
//! | `password` | `password`: the username-password grant (blocked by default in new orgs) |
//! | `device` | `device_start`, `device_poll`: a code typed on another device |
//! | `revoke` | `revoke`: an access or refresh token |
//! | `introspect` | `introspect`: whether a token is active, and until when |
//! | `userinfo` | `userinfo`: who a token belongs to |

pub mod client_credentials;
pub mod code;
pub mod device;
pub mod introspect;
pub mod jwt;
#[cfg(feature = "loopback")]
pub mod loopback;
pub mod password;
pub mod pkce;
pub mod refresh;
pub mod revoke;
pub mod userinfo;

use crate::error::{Error, ErrorKind, OAuthError, Remedy, Result, Retry};
use crate::http::{Answer, summary};
use crate::token::Token;

/// Reads a token endpoint answer: a token on 200, a classified error otherwise.
/// `what` names the request in messages ("refresh", "login").
pub(crate) fn read_token_answer(answer: &Answer, what: &str) -> Result<Token> {
    let body = ok_body(answer, what)?;
    Token::from_json(body).map_err(|problem| {
        Error::new(
            ErrorKind::Protocol,
            format!("the {what} answer is not a Salesforce token: {problem}"),
        )
        .with_hint(
            "check that the login URL points at Salesforce (or the emulator); nothing was saved",
        )
        .with_status(200)
    })
}

/// The body of a 200 answer that is not an HTML page; any other answer as a classified
/// error.
pub(crate) fn ok_body<'a>(answer: &'a Answer, what: &str) -> Result<&'a [u8]> {
    if answer.status == 200 {
        if looks_like_html(answer) {
            return Err(html_error(answer, what));
        }
        return Ok(&answer.body);
    }
    Err(error_answer(answer, what))
}

/// The error a non-200 answer stands for: a classified OAuth error, or a protocol error
/// for an HTML page or any other body.
pub(crate) fn error_answer(answer: &Answer, what: &str) -> Error {
    match parse_oauth_error(&answer.body) {
        Some(oauth) => classify(oauth, answer.status, what),
        None if looks_like_html(answer) => html_error(answer, what),
        None => Error::new(
            ErrorKind::Protocol,
            format!(
                "the {what} failed with HTTP {} and a body that is not an OAuth error{}",
                answer.status,
                summary(&answer.body)
            ),
        )
        .with_hint("check the login URL and site prefix: the request may not have reached Salesforce's OAuth endpoint")
        .with_status(answer.status)
        .with_origin(crate::error::Origin::Server),
    }
}

/// An `invalid_grant` that [`classify`] took for a lost login (its generic branch).
/// Grants other than the refresh grant re-class it with their own meaning and hint.
pub(crate) fn is_generic_invalid_grant(e: &Error) -> bool {
    e.kind() == ErrorKind::LoginRequired && e.oauth().is_some_and(|o| o.error == "invalid_grant")
}

fn looks_like_html(answer: &Answer) -> bool {
    answer.content_type.contains("html") || answer.body.trim_ascii_start().first() == Some(&b'<')
}

fn html_error(answer: &Answer, what: &str) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!(
            "the {what} got an HTML page (HTTP {}) instead of a JSON token answer",
            answer.status
        ),
    )
    .with_hint(
        "the login URL or site prefix probably points at a web page, not the OAuth endpoint; \
         use https://login.salesforce.com, https://test.salesforce.com or your My Domain",
    )
    .with_status(answer.status)
}

/// Parses `{"error": .., "error_description": ..}`, or the same as a form-encoded body
/// (some Salesforce endpoints answer that way).
pub(crate) fn parse_oauth_error(body: &[u8]) -> Option<OAuthError> {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        let error = map.get("error")?.as_str()?.to_owned();
        let description = map
            .get("error_description")
            .and_then(|d| d.as_str())
            .map(str::to_owned);
        return Some(OAuthError { error, description });
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.starts_with('<') || !text.contains("error=") {
        return None;
    }
    let mut error = None;
    let mut description = None;
    for (key, value) in url::form_urlencoded::parse(text.as_bytes()) {
        match key.as_ref() {
            "error" => error = Some(value.into_owned()),
            "error_description" => description = Some(value.into_owned()),
            _ => {}
        }
    }
    Some(OAuthError {
        error: error?,
        description,
    })
}

/// Maps Salesforce's `error` and `error_description` to a class, a message and a hint.
///
/// `invalid_grant` covers very different things, so its description decides: an expired or
/// revoked token needs a new login; IP or login-hour limits are org policy; "token request is
/// already being processed" means another refresh of the same token is in flight,
/// which is transient and never "log in again".
pub(crate) fn classify(oauth: OAuthError, status: u16, what: &str) -> Error {
    classify_unanswered(oauth, what).with_status(status)
}

/// [`classify`] for an error that came without an HTTP status of its own: one the
/// authorize endpoint put in a redirect URL.
pub(crate) fn classify_unanswered(oauth: OAuthError, what: &str) -> Error {
    use ErrorKind::*;
    let description = oauth
        .description
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let has = |needle: &str| description.contains(needle);
    let (kind, retry, hint) = match oauth.error.as_str() {
        "invalid_grant" if has("already being processed") => (
            Unavailable,
            Retry::InFlightElsewhere,
            "another client is refreshing this same token right now; wait a few seconds and run \
             again (sfauth will pick up its result if it shares this token store)",
        ),
        "invalid_grant" if has("ip restricted") || has("login hours") => (
            DeniedByPolicy,
            Retry::No,
            "the user's profile limits the IP ranges or hours it may log in from; ask the \
             Salesforce admin, or relax IP restrictions on the connected app",
        ),
        "invalid_grant" if has("approved") || has("inactive") => (
            DeniedByPolicy,
            Retry::No,
            "an admin must approve or pre-authorize this user for the connected app \
             (Permitted Users, profiles or permission sets), or activate the user",
        ),
        "invalid_grant" => (
            LoginRequired,
            Retry::No,
            "the refresh token is expired, revoked or was rotated out; log in again to get a \
             new one",
        ),
        "invalid_client_id" => (
            ClientRejected,
            Retry::No,
            "check the client id (the connected app's Consumer Key) and that the login URL \
             belongs to the org (sandboxes use https://test.salesforce.com or their My Domain)",
        ),
        "invalid_client" | "invalid_client_credentials" | "invalid_basic_auth_header" => (
            ClientRejected,
            Retry::No,
            "check the client secret: Salesforce checks it whenever one is sent, and an app \
             that requires it refuses a request without it",
        ),
        "unsupported_grant_type" | "oauth_flow_disabled" | "invalid_scope" => (
            ClientRejected,
            Retry::No,
            "the connected app does not allow this flow or scope; check its OAuth settings",
        ),
        "inactive_user"
        | "inactive_org"
        | "invalid_app_access"
        | "app_blocked"
        | "client_blocked"
        | "fail_close_app_blocked"
        | "access_denied"
        | "invalid_session_level" => (
            DeniedByPolicy,
            Retry::No,
            "the org's policy refuses this login (inactive user or org, blocked app, or no \
             access to the app); ask the Salesforce admin",
        ),
        "rate_limit_exceeded" | "client_blocked_retry" => (
            Unavailable,
            Retry::No,
            "Salesforce limits logins to 3,600 per user per hour; wait and reuse tokens \
             instead of logging in again",
        ),
        // The server failed while handling the request: it may have done the work (and
        // rotated the refresh token) first.
        "server_error" | "unknown_error" => (
            Unavailable,
            Retry::Ambiguous,
            "Salesforce failed while handling the request, so it may have been processed; run \
             the command again (sfauth re-reads the stored token first); if it then says the \
             login is required, log in again",
        ),
        "service_unavailable" | "system_down" => (
            Unavailable,
            Retry::ServerBusy,
            "Salesforce is down or busy; try again later",
        ),
        _ => (
            Protocol,
            Retry::No,
            "Salesforce answered with an error sfauth does not know; its text is above",
        ),
    };
    let client_secret = matches!(
        oauth.error.as_str(),
        "invalid_client" | "invalid_client_credentials" | "invalid_basic_auth_header"
    );
    let e = Error::new(kind, format!("Salesforce refused the {what}: {oauth}"))
        .with_hint(hint)
        .with_retry(retry)
        .with_oauth(oauth);
    if client_secret {
        e.with_remedy(Remedy::ClientSecret)
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, content_type: &str, body: &str) -> Answer {
        Answer {
            status,
            content_type: content_type.into(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn kind_of(error: &str, description: &str) -> ErrorKind {
        let body =
            serde_json::json!({"error": error, "error_description": description}).to_string();
        read_token_answer(&answer(400, "application/json", &body), "refresh")
            .unwrap_err()
            .kind()
    }

    #[test]
    fn expired_refresh_token_needs_a_new_login() {
        assert_eq!(
            kind_of("invalid_grant", "expired access/refresh token"),
            ErrorKind::LoginRequired
        );
    }

    #[test]
    fn parallel_refresh_refusal_is_transient_not_login_required() {
        let body = r#"{"error":"invalid_grant","error_description":"token request is already being processed"}"#;
        let e = read_token_answer(&answer(400, "application/json", body), "refresh").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(e.retry, Retry::InFlightElsewhere);
    }

    #[test]
    fn ip_restriction_is_org_policy() {
        assert_eq!(
            kind_of("invalid_grant", "IP restricted or invalid login hours"),
            ErrorKind::DeniedByPolicy
        );
        assert_eq!(kind_of("inactive_user", "x"), ErrorKind::DeniedByPolicy);
    }

    #[test]
    fn client_errors_are_client_rejected() {
        assert_eq!(
            kind_of("invalid_client_id", "client identifier invalid"),
            ErrorKind::ClientRejected
        );
        assert_eq!(
            kind_of("invalid_client", "invalid client credentials"),
            ErrorKind::ClientRejected
        );
    }

    #[test]
    fn form_encoded_error_body_is_understood() {
        let e = read_token_answer(
            &answer(
                400,
                "application/x-www-form-urlencoded",
                "error=invalid_client_id&error_description=client%20identifier%20invalid",
            ),
            "refresh",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ClientRejected);
        assert_eq!(
            e.oauth().unwrap().description.as_deref(),
            Some("client identifier invalid")
        );
    }

    #[test]
    fn server_error_may_have_been_processed_but_service_unavailable_was_not() {
        let answer_for = |error: &str| {
            let body = serde_json::json!({"error": error, "error_description": "x"}).to_string();
            read_token_answer(&answer(400, "application/json", &body), "refresh").unwrap_err()
        };
        assert!(answer_for("server_error").is_ambiguous());
        assert!(answer_for("unknown_error").is_ambiguous());
        assert!(!answer_for("service_unavailable").is_ambiguous());
        assert_eq!(answer_for("server_error").kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn an_oauth_error_comes_from_the_server_and_an_html_page_is_a_parse_failure() {
        let body =
            r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#;
        let e = read_token_answer(&answer(400, "application/json", body), "refresh").unwrap_err();
        assert_eq!(e.origin(), crate::Origin::Server);
        let e = read_token_answer(&answer(200, "text/html", "<html>login</html>"), "refresh")
            .unwrap_err();
        assert_eq!(e.origin(), crate::Origin::Parse);
        let e =
            read_token_answer(&answer(404, "text/plain", "no such path"), "refresh").unwrap_err();
        assert_eq!(e.origin(), crate::Origin::Server);
    }

    #[test]
    fn html_page_is_a_protocol_error() {
        let e = read_token_answer(&answer(200, "text/html", "<html>login</html>"), "refresh")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.to_string().contains("HTML"));
    }

    #[test]
    fn success_without_instance_url_is_a_protocol_error() {
        let e = read_token_answer(
            &answer(200, "application/json", r#"{"access_token":"x"}"#),
            "refresh",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.to_string().contains("instance_url"));
    }
}
