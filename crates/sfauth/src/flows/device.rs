//! Salesforce's device flow: log in on another device by typing a short code.
//!
//! It is Salesforce's own variant, not RFC 8628's names: the start is
//! `POST /services/oauth2/token` with `response_type=device_code`, and the poll is
//! `grant_type=device&code=<device_code>` to the same endpoint. While the user has not yet
//! approved, the poll answers HTTP 400 `authorization_pending`; `slow_down` asks for longer
//! waits (RFC 8628 §3.5: five more seconds each time). Success is a token with a refresh
//! token.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::app::{AppClient, Credentials, Granted, TokenRequest, as_is};
use crate::error::{Error, ErrorKind, OAuthError, Result};
use crate::secret::Secret;

/// The wait between polls when the server names none (RFC 8628 §3.2).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// The shortest wait between polls, whatever the server says.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// What `slow_down` adds to the wait (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// A started device login: show the user `user_code` and `verification_uri`, then
/// [`AppClient::device_poll`].
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct DeviceAuthorization {
    /// The code the poll sends; it is as good as a login while valid.
    pub device_code: Secret<String>,
    /// The short code the user types at `verification_uri`.
    pub user_code: String,
    /// Where the user goes to enter the code and approve.
    pub verification_uri: String,
    /// How long to wait between polls.
    pub interval: Duration,
}

impl AppClient {
    /// Starts a device login: `response_type=device_code` with the client id and `scopes`
    /// (space-joined; none sends no `scope`). Show the user the answer's `user_code` and
    /// `verification_uri`, then [`device_poll`](Self::device_poll).
    pub async fn device_start(&self, scopes: &[String]) -> Result<DeviceAuthorization> {
        let scope = scopes
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let mut form = vec![
            ("response_type", "device_code"),
            ("client_id", self.app().client_id()),
            ("format", "json"),
        ];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        // Asking again only makes another code: safe to replay.
        let answer = self.post(&self.endpoint().token_url(), &form, true).await?;
        let body = super::ok_body(&answer, "device login start")?;
        parse_start(body)
    }

    /// Polls `grant_type=device&code=<device_code>` every `interval` until the user
    /// approves (the token, signature checked when the client secret is known), denies
    /// ([`ErrorKind::DeniedByPolicy`]), or `timeout` passes ([`ErrorKind::LoginRequired`]).
    /// On `slow_down` the interval grows by [`SLOW_DOWN_STEP`].
    pub async fn device_poll(
        &self,
        device: &DeviceAuthorization,
        timeout: Duration,
    ) -> Result<Granted> {
        // `None`: a timeout too long to represent, that is, no deadline.
        let deadline = Instant::now().checked_add(timeout);
        let mut interval = first_interval(device);
        loop {
            // A wait too long to represent would never end: it is past any deadline.
            let next_poll = Instant::now().checked_add(interval);
            if next_poll.is_none_or(|at| deadline.is_some_and(|deadline| at > deadline)) {
                return Err(Error::new(
                    ErrorKind::LoginRequired,
                    format!(
                        "the device login was not approved within {} s",
                        timeout.as_secs()
                    ),
                )
                .with_hint(format!(
                    "start the login again, open {} and enter the code it shows before the time runs out",
                    device.verification_uri
                )));
            }
            tokio::time::sleep(interval).await;
            let polled = self
                .token_request(TokenRequest {
                    what: "device login",
                    form: vec![
                        ("grant_type", "device"),
                        ("code", device.device_code.expose()),
                        ("format", "json"),
                    ],
                    credentials: Credentials::IfConfigured,
                    // Before approval a replayed poll is harmless; after it, a lost answer
                    // cannot be recovered either way.
                    idempotent: true,
                    reclassify: as_is,
                })
                .await;
            let e = match polled {
                Ok(granted) => return Ok(granted),
                Err(e) => e,
            };
            let (Some(oauth), Some(status)) = (e.oauth().cloned(), e.status()) else {
                return Err(e);
            };
            match next_interval(interval, &oauth.error) {
                Some(next) => {
                    if next != interval {
                        tracing::debug!(?next, "device login poll: slowing down");
                    }
                    interval = next;
                }
                None => return Err(poll_error(oauth, status)),
            }
        }
    }
}

fn parse_start(body: &[u8]) -> Result<DeviceAuthorization> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Protocol,
            format!("the device login start answer {why}"),
        )
        .with_hint("check that the connected app has the device flow enabled and that the login URL points at Salesforce")
        .with_status(200)
    };
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad("is not a JSON object"));
    };
    let text = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| bad(&format!("has no `{key}`")))
    };
    let device_code = Secret::new(text("device_code")?);
    let user_code = text("user_code")?;
    let verification_uri = text("verification_uri")?;
    let interval = match map.get("interval") {
        None | Some(Value::Null) => DEFAULT_INTERVAL,
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or_else(|| bad("has an `interval` that is not a whole number of seconds"))?,
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| bad("has an `interval` that is not a whole number of seconds"))?,
        Some(_) => return Err(bad("has an `interval` that is not a number")),
    };
    Ok(DeviceAuthorization {
        device_code,
        user_code,
        verification_uri,
        interval,
    })
}

/// The first wait: the server's interval, at least [`MIN_INTERVAL`].
fn first_interval(device: &DeviceAuthorization) -> Duration {
    device.interval.max(MIN_INTERVAL)
}

/// The wait before the next poll after the error `code`, or `None` when polling must stop.
fn next_interval(interval: Duration, code: &str) -> Option<Duration> {
    match code {
        "authorization_pending" => Some(interval),
        "slow_down" => Some(interval.saturating_add(SLOW_DOWN_STEP)),
        _ => None,
    }
}

fn poll_error(oauth: OAuthError, status: u16) -> Error {
    match oauth.error.as_str() {
        "access_denied" => Error::new(
            ErrorKind::DeniedByPolicy,
            format!("the device login was denied: {oauth}"),
        )
        .with_hint("approve the app's access on the verification page, or ask the Salesforce admin to allow it")
        .with_status(status)
        .with_oauth(oauth),
        "expired_token" => Error::new(
            ErrorKind::LoginRequired,
            format!("the device code expired before the login was approved: {oauth}"),
        )
        .with_hint("start the device login again and approve it sooner")
        .with_status(status)
        .with_oauth(oauth),
        _ => {
            let e = super::classify(oauth, status, "device login");
            if super::is_generic_invalid_grant(&e) {
                e.with_hint("the device code is invalid or expired; start the device login again")
            } else {
                e
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client for a port nothing listens on: these tests must not send anything.
    fn client() -> AppClient {
        let login = crate::endpoint::LoginUrl::parse("http://127.0.0.1:9").unwrap();
        let endpoint = crate::Endpoint::new(login, Default::default());
        AppClient::new(crate::ConnectedApp::new("c"), endpoint, &Default::default()).unwrap()
    }

    fn device(interval: Duration) -> DeviceAuthorization {
        DeviceAuthorization {
            device_code: Secret::from("dc"),
            user_code: "ABCD-1234".into(),
            verification_uri: "https://login.salesforce.com/setup/connect".into(),
            interval,
        }
    }

    #[test]
    fn start_answer_is_read_with_the_interval_as_number_or_string() {
        let d = parse_start(
            br#"{"device_code":"M2Q.dc","user_code":"8NRHDMBK","verification_uri":"https://login.salesforce.com/setup/connect","interval":5}"#,
        )
        .unwrap();
        assert_eq!(d.device_code.expose(), "M2Q.dc");
        assert_eq!(d.user_code, "8NRHDMBK");
        assert_eq!(d.interval, Duration::from_secs(5));
        let d = parse_start(
            br#"{"device_code":"d","user_code":"u","verification_uri":"v","interval":"2"}"#,
        )
        .unwrap();
        assert_eq!(d.interval, Duration::from_secs(2));
        assert!(!format!("{d:?}").contains("\"d\""));
    }

    #[test]
    fn start_answer_without_interval_waits_five_seconds() {
        let d =
            parse_start(br#"{"device_code":"d","user_code":"u","verification_uri":"v"}"#).unwrap();
        assert_eq!(d.interval, DEFAULT_INTERVAL);
    }

    #[test]
    fn start_answer_missing_a_field_is_a_protocol_error_naming_it() {
        let e = parse_start(br#"{"device_code":"d","verification_uri":"v"}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.to_string().contains("user_code"), "{e}");
        let e = parse_start(
            br#"{"device_code":"d","user_code":"u","verification_uri":"v","interval":-1}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("interval"), "{e}");
    }

    #[test]
    fn server_interval_is_used_as_given_but_never_below_one_second() {
        assert_eq!(
            first_interval(&device(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            first_interval(&device(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(first_interval(&device(Duration::ZERO)), MIN_INTERVAL);
    }

    #[test]
    fn pending_keeps_the_interval_and_slow_down_adds_five_seconds_each_time() {
        let one = Duration::from_secs(1);
        assert_eq!(next_interval(one, "authorization_pending"), Some(one));
        let slower = next_interval(one, "slow_down").unwrap();
        assert_eq!(slower, Duration::from_secs(6));
        assert_eq!(
            next_interval(slower, "slow_down"),
            Some(Duration::from_secs(11))
        );
        assert_eq!(
            next_interval(Duration::from_secs(11), "authorization_pending"),
            Some(Duration::from_secs(11))
        );
    }

    #[test]
    fn other_poll_errors_stop_polling_with_their_class() {
        assert_eq!(next_interval(MIN_INTERVAL, "access_denied"), None);
        let denied = poll_error(
            OAuthError {
                error: "access_denied".into(),
                description: None,
            },
            400,
        );
        assert_eq!(denied.kind(), ErrorKind::DeniedByPolicy);
        let expired = poll_error(
            OAuthError {
                error: "invalid_grant".into(),
                description: Some("expired device code".into()),
            },
            400,
        );
        assert_eq!(expired.kind(), ErrorKind::LoginRequired);
        assert!(expired.hint().unwrap().contains("device login again"));
    }

    #[test]
    fn slow_down_from_the_longest_interval_saturates() {
        assert_eq!(
            next_interval(Duration::MAX, "slow_down"),
            Some(Duration::MAX)
        );
    }

    #[tokio::test]
    async fn an_endless_interval_with_an_endless_timeout_gives_up_without_a_panic() {
        let e = client()
            .device_poll(&device(Duration::MAX), Duration::MAX)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LoginRequired);
    }

    #[tokio::test]
    async fn a_timeout_shorter_than_the_interval_gives_up_without_polling() {
        let e = client()
            .device_poll(&device(Duration::from_secs(5)), Duration::from_secs(2))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LoginRequired);
        assert!(e.to_string().contains("not approved within 2 s"), "{e}");
    }
}
