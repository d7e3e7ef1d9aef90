//! [`Token`]: a Salesforce token response or a stored token file, every field kept.
//!
//! Salesforce answers with string fields only (`issued_at` is a string of milliseconds) and
//! no `expires_in`. Only `access_token` and `instance_url` are always there. A token file may
//! carry keys sfauth does not know (the Mobile SDK adds a dozen); they are kept, in their
//! place and order, when the token is written back. So the token is an ordered JSON object
//! with typed accessors, not a struct that would drop or reorder what it does not name.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::secret::{AccessToken, RefreshToken, Secret};

/// Keys whose values are secrets: never shown by `Debug`.
const PUBLIC_KEYS: &[&str] = &[
    "instance_url",
    "id",
    "issued_at",
    "scope",
    "token_type",
    "token_format",
    "api_instance_url",
    "sfdc_community_url",
    "sfdc_community_id",
];

/// Why a JSON document is not a usable token. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidToken(String);

/// A Salesforce OAuth token: the fields of Salesforce's token response (`access_token`,
/// `instance_url`, `id`, `issued_at`, `signature`, ...) plus any other keys, in order.
///
/// ```
/// use sfauth::Token;
/// let token = Token::from_json(br#"{
///     "access_token": "00Dxx!AQ.example",
///     "refresh_token": "5Aep.example",
///     "instance_url": "https://acme.my.salesforce.com",
///     "id": "https://login.salesforce.com/id/00Dxx0000001gPL/005xx000001Sv6e",
///     "issued_at": "1738348388166",
///     "x_custom": 1
/// }"#).unwrap();
/// assert_eq!(token.instance_url(), "https://acme.my.salesforce.com");
/// assert_eq!(token.user_id(), Some("005xx000001Sv6e"));
/// assert_eq!(token.issued_at_millis(), Some(1738348388166));
/// // Debug shows no token.
/// assert!(!format!("{token:?}").contains("00Dxx!AQ"));
/// ```
#[derive(Clone, PartialEq)]
pub struct Token {
    fields: Map<String, Value>,
}

/// See [`Token::ROTATION_KEY`].
pub(crate) const ROTATION_KEY: &str = "sfauth_rotation";

impl Token {
    /// The key, kept in the stored token, that records whether Salesforce rotated its
    /// refresh token on the last refresh: `"true"` or `"false"` (a JSON boolean is read
    /// too). Missing means unknown, treated as "may rotate". Like the recorded expiry, it is
    /// sfauth's own note in the token file; other readers ignore unknown keys.
    pub const ROTATION_KEY: &'static str = ROTATION_KEY;

    /// Whether this token is known not to rotate its refresh token (recorded by an earlier
    /// refresh); only then may a refresh that may have reached Salesforce be sent again.
    ///
    /// ```
    /// use sfauth::Token;
    /// let token = Token::from_json(br#"{"access_token":"a","instance_url":"https://x.my.salesforce.com","sfauth_rotation":"false"}"#).unwrap();
    /// assert!(token.known_not_to_rotate());
    /// ```
    pub fn known_not_to_rotate(&self) -> bool {
        match self.get(ROTATION_KEY) {
            Some(Value::Bool(on)) => !on,
            Some(Value::String(s)) => s == "false",
            _ => false,
        }
    }

    /// Parses a token from JSON bytes: a token file or a token response.
    pub fn from_json(bytes: &[u8]) -> Result<Token, InvalidToken> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| InvalidToken(format!("not valid JSON ({e})")))?;
        Token::from_value(value)
    }

    /// Checks a JSON value: an object with a non-empty string `access_token` and
    /// `instance_url`, and strings (or, for `issued_at`, a number) in every known field.
    pub fn from_value(value: Value) -> Result<Token, InvalidToken> {
        let Value::Object(fields) = value else {
            return Err(InvalidToken("not a JSON object".into()));
        };
        for key in ["access_token", "instance_url"] {
            match fields.get(key) {
                Some(Value::String(s)) if !s.is_empty() => {}
                Some(Value::String(_)) => return Err(InvalidToken(format!("`{key}` is empty"))),
                Some(_) => return Err(InvalidToken(format!("`{key}` is not a string"))),
                None => return Err(InvalidToken(format!("`{key}` is missing"))),
            }
        }
        for key in [
            "refresh_token",
            "signature",
            "scope",
            "id_token",
            "id",
            "token_type",
            "sfdc_community_url",
            "sfdc_community_id",
            "api_instance_url",
            "token_format",
        ] {
            if let Some(v) = fields.get(key)
                && !v.is_string()
                && !v.is_null()
            {
                return Err(InvalidToken(format!("`{key}` is not a string")));
            }
        }
        match fields.get("issued_at") {
            None | Some(Value::Null) | Some(Value::Number(_)) => {}
            Some(Value::String(s)) if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() => {}
            Some(_) => {
                return Err(InvalidToken(
                    "`issued_at` is not a string of milliseconds since 1970".into(),
                ));
            }
        }
        let url = fields["instance_url"].as_str().unwrap_or_default();
        if url::Url::parse(url).is_err() {
            return Err(InvalidToken("`instance_url` is not a URL".into()));
        }
        Ok(Token { fields })
    }

    /// The token as pretty-printed JSON with a final newline, keys in their order.
    pub fn to_json_pretty(&self) -> zeroize::Zeroizing<String> {
        let mut s =
            serde_json::to_string_pretty(&self.fields).expect("a JSON map always serializes");
        s.push('\n');
        zeroize::Zeroizing::new(s)
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// The access token (the session ID), for the `Authorization: Bearer` header.
    pub fn access_token(&self) -> AccessToken {
        AccessToken::from(self.str_field("access_token").unwrap_or_default())
    }

    /// The refresh token, when the token has one (JWT and client-credentials tokens don't).
    pub fn refresh_token(&self) -> Option<RefreshToken> {
        self.str_field("refresh_token")
            .filter(|s| !s.is_empty())
            .map(RefreshToken::from)
    }

    /// The OpenID Connect `id_token`, when the `openid` scope was granted.
    pub fn id_token(&self) -> Option<Secret<String>> {
        self.str_field("id_token").map(Secret::from)
    }

    /// The base URL for API calls.
    pub fn instance_url(&self) -> &str {
        self.str_field("instance_url").unwrap_or_default()
    }

    /// The identity URL, `https://login.salesforce.com/id/{orgId}/{userId}`.
    pub fn id(&self) -> Option<&str> {
        self.str_field("id")
    }

    /// The user ID: the last path segment of [`id`](Token::id).
    pub fn user_id(&self) -> Option<&str> {
        self.id_segments().map(|(_, user)| user)
    }

    /// The org ID: the second-to-last path segment of [`id`](Token::id).
    pub fn org_id(&self) -> Option<&str> {
        self.id_segments().map(|(org, _)| org)
    }

    fn id_segments(&self) -> Option<(&str, &str)> {
        let mut segments = self.id()?.trim_end_matches('/').rsplit('/');
        let user = segments.next().filter(|s| !s.is_empty())?;
        let org = segments.next().filter(|s| !s.is_empty())?;
        Some((org, user))
    }

    /// `issued_at` exactly as stored: the signature is computed over this text.
    pub fn issued_at_raw(&self) -> Option<String> {
        match self.fields.get("issued_at")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// `issued_at` in milliseconds since the Unix epoch.
    pub fn issued_at_millis(&self) -> Option<u64> {
        self.issued_at_raw()?.parse().ok()
    }

    /// `issued_at` as a time; one too far in the future to represent is the far future
    /// ([`crate::expiry::far_future`]), never a panic.
    pub fn issued_at(&self) -> Option<SystemTime> {
        let ms = self.issued_at_millis()?;
        Some(crate::expiry::saturating_add(
            UNIX_EPOCH,
            Duration::from_millis(ms),
        ))
    }

    /// The `signature`: base64 HMAC-SHA256 of `id` + `issued_at` keyed by the client secret.
    pub fn signature(&self) -> Option<&str> {
        self.str_field("signature")
    }

    /// Checks the `signature` (base64 HMAC-SHA256 of `id` + `issued_at`, keyed with the
    /// client secret). Without the secret nothing can be checked
    /// ([`SignatureCheck::NoSecret`](crate::SignatureCheck::NoSecret)); a signature that does
    /// not match is a [`Protocol`](crate::ErrorKind::Protocol) error. Every grant of
    /// [`AppClient`](crate::AppClient) already does this.
    pub fn verify_signature(
        &self,
        client_secret: Option<&crate::ClientSecret>,
    ) -> crate::Result<crate::SignatureCheck> {
        crate::signature::check(self, client_secret)
    }

    /// The granted scopes, space-separated.
    pub fn scope(&self) -> Option<&str> {
        self.str_field("scope")
    }

    /// The token type, normally `Bearer`.
    pub fn token_type(&self) -> Option<&str> {
        self.str_field("token_type")
    }

    /// `"jwt"` when the access token is a JWT.
    pub fn token_format(&self) -> Option<&str> {
        self.str_field("token_format")
    }

    /// The API-platform base URL (`sfap_api` scope).
    pub fn api_instance_url(&self) -> Option<&str> {
        self.str_field("api_instance_url")
    }

    /// The Experience Cloud site URL, for site members.
    pub fn sfdc_community_url(&self) -> Option<&str> {
        self.str_field("sfdc_community_url")
    }

    /// The Experience Cloud site ID, for site members.
    pub fn sfdc_community_id(&self) -> Option<&str> {
        self.str_field("sfdc_community_id")
    }

    /// Any field by key, including ones sfauth does not know.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// Merges a refresh response into this stored token.
    ///
    /// Every field of the response replaces the stored one in place (new fields go at the
    /// end), so the new `refresh_token` is kept when the server rotated it and the stored one
    /// stays when it did not. A stored `signature` the response does not renew is dropped:
    /// it signed the old `issued_at`. Returns whether the refresh token changed.
    ///
    /// ```
    /// use sfauth::Token;
    /// let mut stored = Token::from_json(br#"{"access_token":"old","refresh_token":"r1",
    ///     "instance_url":"https://a.my.salesforce.com","x":1}"#).unwrap();
    /// let response = Token::from_json(br#"{"access_token":"new",
    ///     "instance_url":"https://a.my.salesforce.com","issued_at":"1"}"#).unwrap();
    /// assert!(!stored.merge_refresh(&response));
    /// assert_eq!(stored.access_token().expose(), "new");
    /// assert_eq!(stored.refresh_token().unwrap().expose(), "r1");
    /// assert_eq!(stored.keys().collect::<Vec<_>>(),
    ///            ["access_token", "refresh_token", "instance_url", "x", "issued_at"]);
    /// ```
    pub fn merge_refresh(&mut self, response: &Token) -> bool {
        let old_refresh = self.refresh_token();
        for (key, value) in &response.fields {
            if key == "refresh_token" && value.as_str().is_none_or(str::is_empty) {
                continue;
            }
            self.fields.insert(key.clone(), value.clone());
        }
        if response.signature().is_none() {
            self.fields.shift_remove("signature");
        }
        old_refresh != self.refresh_token()
    }

    /// Removes a field, keeping the others in order.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.fields.shift_remove(key)
    }

    /// Sets a string field, in place if the key exists.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.fields
            .insert(key.to_owned(), Value::String(value.into()));
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.fields {
            if PUBLIC_KEYS.contains(&key.as_str()) {
                map.entry(key, value);
            } else {
                map.entry(key, &format_args!("[redacted]"));
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"{
  "access_token": "00D41000....uLZBpT6",
  "refresh_token": "5Aep....25xdGgkrV",
  "signature": "cjTbSc5DvcKpaMoRTzuQTJLb1tcMw8LEO01flq4aMD4=",
  "scope": "refresh_token id",
  "instance_url": "https://d41000000f8a0eak-dev-ed.my.salesforce.com",
  "id": "https://login.salesforce.com/id/00D41000000F8A0EAK/005410000000xAAE",
  "token_type": "Bearer",
  "issued_at": "1738348388166"
}"#;

    #[test]
    fn seed_token_file_parses_with_every_field() {
        let t = Token::from_json(SEED.as_bytes()).unwrap();
        assert_eq!(t.org_id(), Some("00D41000000F8A0EAK"));
        assert_eq!(t.user_id(), Some("005410000000xAAE"));
        assert_eq!(t.scope(), Some("refresh_token id"));
        assert_eq!(t.token_type(), Some("Bearer"));
        assert_eq!(t.issued_at_raw().as_deref(), Some("1738348388166"));
        assert_eq!(t.refresh_token().unwrap().expose(), "5Aep....25xdGgkrV");
    }

    #[test]
    fn round_trip_keeps_key_order() {
        let t = Token::from_json(SEED.as_bytes()).unwrap();
        let again = Token::from_json(t.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(
            t.keys().collect::<Vec<_>>(),
            again.keys().collect::<Vec<_>>()
        );
        assert_eq!(t, again);
    }

    #[test]
    fn debug_hides_every_secret_field() {
        let t = Token::from_json(
            br#"{"access_token":"AT-secret","refresh_token":"RT-secret","id_token":"IDT-secret",
                "instance_url":"https://x.my.salesforce.com","csrf_token":"CSRF-secret"}"#,
        )
        .unwrap();
        let dbg = format!("{t:?}");
        for secret in ["AT-secret", "RT-secret", "IDT-secret", "CSRF-secret"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
        assert!(dbg.contains("https://x.my.salesforce.com"));
    }

    #[test]
    fn missing_access_token_is_named() {
        let e = Token::from_json(br#"{"instance_url":"https://x"}"#).unwrap_err();
        assert_eq!(e.to_string(), "`access_token` is missing");
    }

    #[test]
    fn non_object_and_bad_json_are_rejected() {
        assert_eq!(
            Token::from_json(b"[]").unwrap_err().to_string(),
            "not a JSON object"
        );
        assert!(
            Token::from_json(b"{")
                .unwrap_err()
                .to_string()
                .starts_with("not valid JSON")
        );
    }

    #[test]
    fn issued_at_must_be_milliseconds() {
        let e = Token::from_json(
            br#"{"access_token":"a","instance_url":"https://x","issued_at":"yesterday"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("issued_at"));
    }

    #[test]
    fn merge_takes_rotated_refresh_token() {
        let mut stored = Token::from_json(SEED.as_bytes()).unwrap();
        let resp = Token::from_json(
            br#"{"access_token":"new","refresh_token":"5Aep.rotated","signature":"s2",
                "instance_url":"https://moved.my.salesforce.com","issued_at":"1738350000000"}"#,
        )
        .unwrap();
        assert!(stored.merge_refresh(&resp));
        assert_eq!(stored.refresh_token().unwrap().expose(), "5Aep.rotated");
        assert_eq!(stored.instance_url(), "https://moved.my.salesforce.com");
        assert_eq!(stored.signature(), Some("s2"));
        assert_eq!(stored.scope(), Some("refresh_token id"));
    }

    #[test]
    fn merge_drops_a_signature_the_response_did_not_renew() {
        let mut stored = Token::from_json(SEED.as_bytes()).unwrap();
        let resp = Token::from_json(
            br#"{"access_token":"new","instance_url":"https://x.my.salesforce.com"}"#,
        )
        .unwrap();
        stored.merge_refresh(&resp);
        assert_eq!(stored.signature(), None);
        assert_eq!(stored.keys().next(), Some("access_token"));
    }

    #[test]
    fn issued_at_at_the_edge_of_u64_or_past_it_is_an_answer_not_a_panic() {
        let at = |ms: &str| {
            Token::from_json(
                format!(r#"{{"access_token":"a","instance_url":"https://x","issued_at":"{ms}"}}"#)
                    .as_bytes(),
            )
            .unwrap()
            .issued_at()
        };
        assert_eq!(at(&u64::MAX.to_string()), Some(crate::expiry::far_future()));
        assert_eq!(at("99999999999999999999999"), None);
        assert_eq!(
            at("1738348388166"),
            Some(UNIX_EPOCH + Duration::from_millis(1_738_348_388_166))
        );
    }
}
