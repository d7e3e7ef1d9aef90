//! Scripted misbehaviour of the token endpoint, and the `SPEC` text form that the binary's
//! `--fault` flag and `POST /__emulator/faults` take.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The description Salesforce gives a refresh that races another one with the same token.
pub(crate) const ALREADY_PROCESSING: &str = "token request is already being processed";

/// What [`Fault::GzipBomb`] inflates to when its spec gives no size: 3 GiB.
pub const DEFAULT_GZIP_BOMB_BYTES: u64 = 3 << 30;

/// One misbehaviour of the token endpoint, queued with [`Emulator::inject`].
///
/// Faults are consumed first in, first out: each token-endpoint request takes the oldest
/// queued fault, whatever the request contains. Every consumed fault counts in
/// [`Stats::faults_served`](crate::Stats::faults_served); a fault that processes the
/// request also counts what the request did (a refresh in `refreshes_served`, say).
///
/// Each fault also has a text form, `SPEC`, parsed by [`Fault::from_str`] and printed by
/// `Display` (the two round-trip). The grammar, one form per variant:
///
/// | SPEC | Fault |
/// |---|---|
/// | `status:CODE[:CONTENT_TYPE[:BODY]]` | [`Status`](Fault::Status); type `text/html` and a small HTML page by default |
/// | `oauth:CODE:ERROR[:DESCRIPTION]` | [`OAuthError`](Fault::OAuthError); empty description by default |
/// | `already-processing` | [`Fault::already_being_processed`] |
/// | `close` | [`CloseConnection`](Fault::CloseConnection) |
/// | `lose-response` | [`LoseResponse`](Fault::LoseResponse) |
/// | `bad-signature` | [`BadSignature`](Fault::BadSignature) |
/// | `delay:MS` | [`Delay`](Fault::Delay) |
/// | `reset-before-body` | [`ResetBeforeBody`](Fault::ResetBeforeBody) |
/// | `reset-mid-body` | [`ResetMidBody`](Fault::ResetMidBody) |
/// | `hang:MS` | [`Hang`](Fault::Hang) |
/// | `trickle:MS_PER_BYTE` | [`Trickle`](Fault::Trickle) |
/// | `gzip-bomb[:INFLATED_BYTES]` | [`GzipBomb`](Fault::GzipBomb); 3 GiB by default |
/// | `processed-then-504` | [`ProcessedThen504`](Fault::ProcessedThen504) |
/// | `retry-after:CODE:SECONDS` | [`RetryAfter`](Fault::RetryAfter) |
///
/// `BODY` and `DESCRIPTION` are the rest of the spec, colons included.
///
/// ```
/// use std::time::Duration;
/// use sfauth_emulator::Fault;
///
/// let fault: Fault = "hang:30000".parse().unwrap();
/// assert_eq!(fault, Fault::Hang(Duration::from_secs(30)));
/// assert_eq!(fault.to_string(), "hang:30000");
/// assert!("hang:soon".parse::<Fault>().is_err());
/// ```
///
/// [`Emulator::inject`]: crate::Emulator::inject
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this raw response instead of processing the request, for example a
    /// `503 text/html` maintenance page or a `200` that is not JSON.
    Status {
        /// HTTP status code. An invalid code is answered as 500.
        status: u16,
        /// `Content-Type` header of the answer.
        content_type: String,
        /// Body of the answer, sent as is.
        body: String,
    },
    /// Answer with a Salesforce-shaped error body
    /// `{"error": error, "error_description": description}` instead of processing the request.
    OAuthError {
        /// HTTP status code. An invalid code is answered as 500.
        status: u16,
        /// The `error` code, such as `invalid_grant`.
        error: String,
        /// The `error_description` text.
        description: String,
    },
    /// Read the whole request, then drop the TCP connection without any answer, so the
    /// client sees an incomplete message after sending. Nothing is processed.
    CloseConnection,
    /// Process the request normally (a refresh really happens and may rotate the token), then
    /// drop the connection without an answer: the "lost response" case, where the server
    /// moved on but the client never learned the new refresh token.
    LoseResponse,
    /// Process the request normally but answer with a wrong `signature`.
    BadSignature,
    /// Process the request normally after this extra delay, on top of the configured latency.
    ///
    /// The refresh token counts as "being processed" for the whole delay, so a client that
    /// times out and retries at once gets `token request is already being processed`.
    Delay(Duration),
    /// Process the request normally (a refresh rotates), send the status line and headers
    /// of the real answer (with its `Content-Length`), then close the connection before the
    /// first body byte: the client knows the status but not the new tokens.
    ResetBeforeBody,
    /// Process the request normally (a refresh rotates), send the headers and the first
    /// half of the real JSON answer, then close the connection: a truncated token answer.
    ResetMidBody,
    /// Read the request, answer nothing for this long, then close the connection without
    /// an answer. Nothing is processed. The bound keeps a test from wedging if the client
    /// under test has no timeout of its own.
    Hang(Duration),
    /// Process the request normally, then send the (valid, complete) answer one byte at a
    /// time, waiting `delay_per_byte` before each byte. Headers go out at once, with the
    /// real `Content-Length`, so only a whole-request (or read) timeout stops the client.
    Trickle {
        /// The wait before each body byte.
        delay_per_byte: Duration,
    },
    /// Answer `200` with `Content-Encoding: gzip` and a body that inflates to
    /// `inflated_bytes` zero bytes (a valid gzip stream, CRC included), about a
    /// thousandth of that size on the wire. Nothing is processed. A client that does not
    /// bound the decompressed size runs out of memory.
    GzipBomb {
        /// Size of the body once decompressed.
        inflated_bytes: u64,
    },
    /// Process the request normally (a refresh really rotates and counts in
    /// `refreshes_served`), then answer `504` with an HTML gateway page instead of the
    /// tokens: the server moved on, but the client only learns "gateway timeout".
    ProcessedThen504,
    /// Answer `status` (Salesforce sends `503` and `429` this way) with a
    /// `Retry-After: seconds` header and an HTML page, instead of processing the request.
    RetryAfter {
        /// HTTP status code. An invalid code is answered as 500.
        status: u16,
        /// The `Retry-After` value, in seconds.
        seconds: u64,
    },
}

impl Fault {
    /// Salesforce's answer to a refresh while another request with the same refresh token
    /// is being processed: 400 `invalid_grant` / `token request is already being processed`.
    /// Nothing is processed. (A real parallel refresh, see [`Fault::Delay`], gets the same
    /// answer from the emulator's own bookkeeping.)
    pub fn already_being_processed() -> Self {
        Self::OAuthError {
            status: 400,
            error: "invalid_grant".to_owned(),
            description: ALREADY_PROCESSING.to_owned(),
        }
    }

    /// A `text/html` answer with this status and body, such as a maintenance page.
    /// Nothing is processed.
    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self::Status {
            status,
            content_type: "text/html".to_owned(),
            body: body.into(),
        }
    }
}

/// The small HTML page that `status:CODE` answers with when no body is given.
pub(crate) fn default_page(status: u16) -> String {
    format!("<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>")
}

/// Why a fault `SPEC` was not understood; the message names the spec and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFaultError {
    spec: String,
    problem: String,
}

impl fmt::Display for ParseFaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid fault {:?}: {}", self.spec, self.problem)
    }
}

impl std::error::Error for ParseFaultError {}

/// Every spec form, for error messages and help text.
pub(crate) const GRAMMAR: &str = "\
status:CODE[:CONTENT_TYPE[:BODY]], oauth:CODE:ERROR[:DESCRIPTION], already-processing, \
close, lose-response, bad-signature, delay:MS, reset-before-body, reset-mid-body, hang:MS, \
trickle:MS_PER_BYTE, gzip-bomb[:INFLATED_BYTES], processed-then-504, retry-after:CODE:SECONDS";

impl FromStr for Fault {
    type Err = ParseFaultError;

    /// Parses a fault `SPEC`; see [`Fault`] for the grammar.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let fail = |problem: String| ParseFaultError {
            spec: spec.to_owned(),
            problem,
        };
        let (name, rest) = match spec.split_once(':') {
            Some((name, rest)) => (name, Some(rest)),
            None => (spec, None),
        };
        let no_argument = |fault: Fault| match rest {
            None => Ok(fault),
            Some(_) => Err(fail(format!("`{name}` takes no argument"))),
        };
        let argument = |form: &str| rest.ok_or_else(|| fail(format!("expected {form}")));
        let number = |text: &str, what: &str| {
            text.parse::<u64>()
                .map_err(|_| fail(format!("{what} must be a whole number, got {text:?}")))
        };
        let status = |text: &str| {
            text.parse::<u16>()
                .ok()
                .filter(|code| (100..=999).contains(code))
                .ok_or_else(|| {
                    fail(format!(
                        "status must be a number from 100 to 999, got {text:?}"
                    ))
                })
        };
        let millis = |form: &str| Ok(Duration::from_millis(number(argument(form)?, "MS")?));
        match name {
            "status" => {
                let mut parts = argument("status:CODE[:CONTENT_TYPE[:BODY]]")?.splitn(3, ':');
                let code = status(parts.next().unwrap_or_default())?;
                let content_type = match parts.next() {
                    Some("") => return Err(fail("CONTENT_TYPE is empty".to_owned())),
                    Some(content_type) => content_type.to_owned(),
                    None => "text/html".to_owned(),
                };
                let body = parts
                    .next()
                    .map_or_else(|| default_page(code), str::to_owned);
                Ok(Fault::Status {
                    status: code,
                    content_type,
                    body,
                })
            }
            "oauth" => {
                let mut parts = argument("oauth:CODE:ERROR[:DESCRIPTION]")?.splitn(3, ':');
                let code = status(parts.next().unwrap_or_default())?;
                let error = parts
                    .next()
                    .filter(|error| !error.is_empty())
                    .ok_or_else(|| fail("expected oauth:CODE:ERROR[:DESCRIPTION]".to_owned()))?;
                Ok(Fault::OAuthError {
                    status: code,
                    error: error.to_owned(),
                    description: parts.next().unwrap_or_default().to_owned(),
                })
            }
            "already-processing" => no_argument(Fault::already_being_processed()),
            "close" => no_argument(Fault::CloseConnection),
            "lose-response" => no_argument(Fault::LoseResponse),
            "bad-signature" => no_argument(Fault::BadSignature),
            "delay" => Ok(Fault::Delay(millis("delay:MS")?)),
            "reset-before-body" => no_argument(Fault::ResetBeforeBody),
            "reset-mid-body" => no_argument(Fault::ResetMidBody),
            "hang" => Ok(Fault::Hang(millis("hang:MS")?)),
            "trickle" => Ok(Fault::Trickle {
                delay_per_byte: Duration::from_millis(number(
                    argument("trickle:MS_PER_BYTE")?,
                    "MS_PER_BYTE",
                )?),
            }),
            "gzip-bomb" => Ok(Fault::GzipBomb {
                inflated_bytes: match rest {
                    Some(bytes) => number(bytes, "INFLATED_BYTES")?,
                    None => DEFAULT_GZIP_BOMB_BYTES,
                },
            }),
            "processed-then-504" => no_argument(Fault::ProcessedThen504),
            "retry-after" => {
                let (code, seconds) = argument("retry-after:CODE:SECONDS")?
                    .split_once(':')
                    .ok_or_else(|| fail("expected retry-after:CODE:SECONDS".to_owned()))?;
                Ok(Fault::RetryAfter {
                    status: status(code)?,
                    seconds: number(seconds, "SECONDS")?,
                })
            }
            _ => Err(fail(format!("unknown fault; expected one of: {GRAMMAR}"))),
        }
    }
}

/// The `SPEC` form, which [`Fault::from_str`] parses back to the same fault (durations
/// in whole milliseconds; a `Status` content type must not contain a colon, and an
/// `OAuthError` code must not either).
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Status {
                status,
                content_type,
                body,
            } => write!(f, "status:{status}:{content_type}:{body}"),
            Fault::OAuthError {
                status,
                error,
                description,
            } if *status == 400
                && error == "invalid_grant"
                && description == ALREADY_PROCESSING =>
            {
                f.write_str("already-processing")
            }
            Fault::OAuthError {
                status,
                error,
                description,
            } => write!(f, "oauth:{status}:{error}:{description}"),
            Fault::CloseConnection => f.write_str("close"),
            Fault::LoseResponse => f.write_str("lose-response"),
            Fault::BadSignature => f.write_str("bad-signature"),
            Fault::Delay(delay) => write!(f, "delay:{}", delay.as_millis()),
            Fault::ResetBeforeBody => f.write_str("reset-before-body"),
            Fault::ResetMidBody => f.write_str("reset-mid-body"),
            Fault::Hang(duration) => write!(f, "hang:{}", duration.as_millis()),
            Fault::Trickle { delay_per_byte } => {
                write!(f, "trickle:{}", delay_per_byte.as_millis())
            }
            Fault::GzipBomb { inflated_bytes } => write!(f, "gzip-bomb:{inflated_bytes}"),
            Fault::ProcessedThen504 => f.write_str("processed-then-504"),
            Fault::RetryAfter { status, seconds } => write!(f, "retry-after:{status}:{seconds}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Fault {
        spec.parse()
            .unwrap_or_else(|error| panic!("{spec:?} should parse: {error}"))
    }

    fn error(spec: &str) -> String {
        match spec.parse::<Fault>() {
            Ok(fault) => panic!("{spec:?} should not parse, got {fault:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn status_alone_is_a_small_html_page() {
        assert_eq!(parse("status:502"), Fault::html(502, default_page(502)));
    }

    #[test]
    fn status_with_a_content_type_keeps_the_default_page() {
        assert_eq!(
            parse("status:200:text/html"),
            Fault::html(200, default_page(200))
        );
    }

    #[test]
    fn status_body_is_the_rest_of_the_spec_colons_included() {
        assert_eq!(
            parse("status:200:text/plain:not: json"),
            Fault::Status {
                status: 200,
                content_type: "text/plain".to_owned(),
                body: "not: json".to_owned(),
            }
        );
    }

    #[test]
    fn oauth_takes_a_description_with_spaces_and_colons() {
        assert_eq!(
            parse("oauth:400:invalid_grant:token request is already being processed"),
            Fault::already_being_processed()
        );
        assert_eq!(
            parse("oauth:400:invalid_grant:a: b"),
            Fault::OAuthError {
                status: 400,
                error: "invalid_grant".to_owned(),
                description: "a: b".to_owned(),
            }
        );
    }

    #[test]
    fn oauth_without_description_has_an_empty_one() {
        assert_eq!(
            parse("oauth:401:invalid_client"),
            Fault::OAuthError {
                status: 401,
                error: "invalid_client".to_owned(),
                description: String::new(),
            }
        );
    }

    #[test]
    fn words_without_arguments_name_their_fault() {
        for (spec, fault) in [
            ("close", Fault::CloseConnection),
            ("lose-response", Fault::LoseResponse),
            ("bad-signature", Fault::BadSignature),
            ("reset-before-body", Fault::ResetBeforeBody),
            ("reset-mid-body", Fault::ResetMidBody),
            ("processed-then-504", Fault::ProcessedThen504),
            ("already-processing", Fault::already_being_processed()),
        ] {
            assert_eq!(parse(spec), fault, "{spec}");
        }
    }

    #[test]
    fn durations_are_milliseconds() {
        assert_eq!(parse("delay:2000"), Fault::Delay(Duration::from_secs(2)));
        assert_eq!(parse("hang:30000"), Fault::Hang(Duration::from_secs(30)));
        assert_eq!(
            parse("trickle:250"),
            Fault::Trickle {
                delay_per_byte: Duration::from_millis(250)
            }
        );
    }

    #[test]
    fn gzip_bomb_size_is_optional() {
        assert_eq!(
            parse("gzip-bomb:3221225472"),
            Fault::GzipBomb {
                inflated_bytes: 3_221_225_472
            }
        );
        assert_eq!(
            parse("gzip-bomb"),
            Fault::GzipBomb {
                inflated_bytes: DEFAULT_GZIP_BOMB_BYTES
            }
        );
    }

    #[test]
    fn retry_after_takes_a_status_and_seconds() {
        assert_eq!(
            parse("retry-after:503:2"),
            Fault::RetryAfter {
                status: 503,
                seconds: 2
            }
        );
        assert_eq!(
            parse("retry-after:429:60"),
            Fault::RetryAfter {
                status: 429,
                seconds: 60
            }
        );
    }

    #[test]
    fn every_fault_round_trips_through_its_spec() {
        for spec in [
            "status:503:text/html:<html>down</html>",
            "oauth:400:invalid_grant:expired access/refresh token",
            "already-processing",
            "close",
            "lose-response",
            "bad-signature",
            "delay:2000",
            "reset-before-body",
            "reset-mid-body",
            "hang:30000",
            "trickle:100",
            "gzip-bomb:3221225472",
            "processed-then-504",
            "retry-after:503:2",
        ] {
            assert_eq!(parse(spec).to_string(), spec);
        }
    }

    #[test]
    fn an_unknown_name_lists_the_grammar() {
        let message = error("explode");
        assert!(message.contains("\"explode\""), "{message}");
        assert!(message.contains("unknown fault"), "{message}");
        assert!(message.contains("retry-after:CODE:SECONDS"), "{message}");
    }

    #[test]
    fn bad_numbers_are_named() {
        assert!(error("status:abc").contains("status must be a number"));
        assert!(error("status:42").contains("status must be a number"));
        assert!(error("delay:soon").contains("MS must be a whole number"));
        assert!(error("hang:-1").contains("MS must be a whole number"));
        assert!(error("trickle:x").contains("MS_PER_BYTE must be a whole number"));
        assert!(error("gzip-bomb:3GiB").contains("INFLATED_BYTES must be a whole number"));
        assert!(error("retry-after:503:later").contains("SECONDS must be a whole number"));
    }

    #[test]
    fn missing_arguments_show_the_expected_form() {
        assert!(error("delay").contains("expected delay:MS"));
        assert!(error("hang").contains("expected hang:MS"));
        assert!(error("trickle").contains("expected trickle:MS_PER_BYTE"));
        assert!(error("status").contains("expected status:CODE"));
        assert!(error("oauth:400").contains("expected oauth:CODE:ERROR"));
        assert!(error("oauth:400:").contains("expected oauth:CODE:ERROR"));
        assert!(error("retry-after:503").contains("expected retry-after:CODE:SECONDS"));
        assert!(error("status:200:").contains("CONTENT_TYPE is empty"));
    }

    #[test]
    fn words_refuse_an_argument() {
        assert!(error("close:now").contains("`close` takes no argument"));
        assert!(error("processed-then-504:1").contains("takes no argument"));
    }
}
