//! Property tests: every parser of outside input, fed arbitrary and generated input.
//!
//! Each property asserts that nothing panics, and, where the parser has one, a real
//! round-trip or consistency law: what parses writes back to an equal value, generated
//! well-formed input parses back to its parts, and `Debug` output never shows a secret.
//! `fuzz/` holds cargo-fuzz targets for the same parsers (nightly only); these run in CI.
//!
//! Case counts stay moderate so the file runs in seconds in a debug build.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};

use sfauth::ExpirySource;
use sfauth::{
    AppClient, AuthorizeOptions, ClientSecret, ConnectedApp, Endpoint, ErrorKind, ExpiryPolicy,
    HttpConfig, JwtBearer, LoginUrl, OAuthError, PendingLogin, RefreshToken, RetryPolicy, Secret,
    SfdxAuthUrl, SitePrefix, Token,
};

const KEY: &str = include_str!("../fixtures/jwt_unit_key.pem");
const PUBLIC: &str = include_str!("../fixtures/jwt_unit_key.pub.pem");

fn cases(n: u32) -> Config {
    // Found failures are pinned as named tests below rather than in a regressions file.
    Config {
        cases: n,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A host name label of 1 to `max + 1` characters. One starting `xn--` is punycode, refused
/// unless it decodes, and no My Domain has one that does not (found by the properties:
/// `xn---mvg-xd2yt2--m--`, `xn--a`), so none is generated.
fn dns_label(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z][a-z0-9-]{{0,{max}}}"))
        .expect("a valid pattern")
        .prop_filter("no punycode label", |label| !label.starts_with("xn--"))
}

/// A secret-looking value long enough that it cannot turn up in `Debug` output by chance.
fn secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!._=-]{16,48}"
}

/// Any JSON value, a few levels deep, with every kind of number.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Keys a token file may hold: the known ones (so their checks are reached) and any other.
fn token_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "access_token",
            "refresh_token",
            "instance_url",
            "id",
            "issued_at",
            "signature",
            "scope",
            "id_token",
            "token_type",
            "token_format",
            "api_instance_url",
            "sfdc_community_url",
            "sfdc_community_id",
        ])
        .prop_map(str::to_owned),
        ".{0,12}",
    ]
}

/// A value for a known key: often the right type, so parsing gets past the first check.
fn token_field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        json_value(),
        prop::sample::select(vec![
            "https://acme.my.salesforce.com",
            "http://127.0.0.1:8080",
            "not a url",
            "",
            "1738348388166",
        ])
        .prop_map(Value::from),
        "[0-9]{1,20}".prop_map(Value::String),
    ]
}

fn arbitrary_token_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((token_key(), token_field_value()), 0..10)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
}

/// A valid token as Salesforce or the Mobile SDK writes one: known fields in their types,
/// unknown fields with any JSON value, all in a random order.
#[derive(Debug, Clone)]
struct GeneratedToken {
    object: Map<String, Value>,
    secrets: Vec<String>,
}

fn valid_token() -> impl Strategy<Value = GeneratedToken> {
    let known = (
        secret(),
        proptest::option::of(secret()),
        proptest::option::of(secret()),
        proptest::option::of(secret()),
        dns_label(20),
        proptest::option::of(("[A-Za-z0-9]{15}", "[A-Za-z0-9]{15}")),
        proptest::option::of(prop_oneof![
            any::<u64>().prop_map(|n| Value::String(n.to_string())),
            any::<u64>().prop_map(Value::from),
        ]),
        proptest::option::of("[a-z_ ]{0,30}"),
    );
    let unknown = prop::collection::vec(("x_[a-zA-Z0-9_]{0,10}", json_value()), 0..6);
    (known, unknown)
        .prop_flat_map(|(known, unknown)| {
            let (access, refresh, id_token, signature, host, id, issued_at, scope) = known;
            let mut secrets = vec![access.clone()];
            let mut fields: Vec<(String, Value)> = vec![
                ("access_token".into(), access.into()),
                (
                    "instance_url".into(),
                    format!("https://{host}.my.salesforce.com").into(),
                ),
            ];
            for (key, value) in [
                ("refresh_token", refresh),
                ("id_token", id_token),
                ("signature", signature),
            ] {
                if let Some(value) = value {
                    secrets.push(value.clone());
                    fields.push((key.into(), value.into()));
                }
            }
            if let Some((org, user)) = id {
                fields.push((
                    "id".into(),
                    format!("https://login.salesforce.com/id/00D{org}/005{user}").into(),
                ));
            }
            if let Some(issued_at) = issued_at {
                fields.push(("issued_at".into(), issued_at));
            }
            if let Some(scope) = scope {
                fields.push(("scope".into(), scope.into()));
            }
            fields.extend(unknown);
            (Just(fields).prop_shuffle(), Just(secrets))
        })
        .prop_map(|(fields, secrets)| GeneratedToken {
            object: fields.into_iter().collect(),
            secrets,
        })
}

/// What a parsed token must satisfy: it writes back to an equal token with its keys in
/// order, and every accessor answers without panicking.
fn check_parsed_token(token: &Token) -> Result<(), TestCaseError> {
    let written = token.to_json_pretty();
    let again = Token::from_json(written.as_bytes())
        .map_err(|e| TestCaseError::fail(format!("written token does not parse: {e}")))?;
    prop_assert_eq!(&again, token);
    prop_assert_eq!(
        again.keys().collect::<Vec<_>>(),
        token.keys().collect::<Vec<_>>()
    );
    prop_assert!(!token.access_token().expose().is_empty());
    prop_assert!(url::Url::parse(token.instance_url()).is_ok());
    let _ = (
        token.user_id(),
        token.org_id(),
        token.issued_at(),
        token.scope(),
    );
    let _ = (token.refresh_token(), token.id_token(), token.signature());
    let _ = token.verify_signature(Some(&ClientSecret::from("client-secret")));
    let _ = Endpoint::for_token(token, SitePrefix::default());
    let _ = format!("{token:?}");
    Ok(())
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn token_from_arbitrary_bytes_never_panics_and_what_parses_round_trips(
        bytes in prop::collection::vec(any::<u8>(), 0..256)
    ) {
        if let Ok(token) = Token::from_json(&bytes) {
            check_parsed_token(&token)?;
        }
    }

    #[test]
    fn token_from_arbitrary_json_objects_never_panics_and_what_parses_round_trips(
        object in arbitrary_token_object()
    ) {
        let bytes = serde_json::to_vec(&object).unwrap();
        let from_bytes = Token::from_json(&bytes);
        let from_value = Token::from_value(object);
        prop_assert_eq!(from_bytes.is_ok(), from_value.is_ok());
        if let Ok(token) = from_value {
            check_parsed_token(&token)?;
        }
    }
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn valid_token_files_parse_keep_every_value_and_key_order_and_hide_secrets(
        generated in valid_token()
    ) {
        let bytes = serde_json::to_vec_pretty(&generated.object).unwrap();
        let token = Token::from_json(&bytes)
            .map_err(|e| TestCaseError::fail(format!("valid token refused: {e}")))?;
        prop_assert_eq!(
            token.keys().collect::<Vec<_>>(),
            generated.object.keys().map(String::as_str).collect::<Vec<_>>()
        );
        for (key, value) in &generated.object {
            prop_assert_eq!(token.get(key), Some(value), "field {}", key);
        }
        check_parsed_token(&token)?;
        let shown = format!("{token:?}");
        for secret in &generated.secrets {
            prop_assert!(!shown.contains(secret.as_str()), "{} shows a secret", shown);
        }
        prop_assert!(shown.contains(token.instance_url()));
    }
}

/// Found by the auth-URL property: trailing slashes were kept inside the parsed login URL
/// but not written back, so `force://0@&/\\` did not round-trip.
#[test]
fn a_login_url_with_trailing_slashes_equals_the_one_without() {
    let url = SfdxAuthUrl::parse("force://0@&/\\").unwrap();
    assert_eq!(SfdxAuthUrl::parse(url.to_url().expose()).unwrap(), url);
    assert_eq!(
        LoginUrl::parse("https://acme.my.salesforce.com//").unwrap(),
        LoginUrl::parse("https://acme.my.salesforce.com").unwrap()
    );
}

/// Found by the property above: without serde_json's `float_roundtrip`, rewriting a token
/// file changed a float in an unknown field by one unit in the last place.
#[test]
fn rewriting_a_token_file_keeps_every_float_exactly() {
    let text = r#"{"access_token":"a","instance_url":"https://a.my.salesforce.com",
        "x_sdk":{"n":-4.0780365917566714e+150}}"#;
    let token = Token::from_json(text.as_bytes()).unwrap();
    let again = Token::from_json(token.to_json_pretty().as_bytes()).unwrap();
    assert_eq!(again, token);
    assert!(token.to_json_pretty().contains("-4.0780365917566714e+150"));
}

// --- OAuth error bodies, reached through a refresh against a local server ---

/// A server on 127.0.0.1 that answers every request with the status, content type and
/// body last set. The token endpoint's error classifier is reached only through an HTTP
/// answer, so each case is one request on a kept-alive connection.
struct Answerer {
    runtime: tokio::runtime::Runtime,
    answer: Arc<Mutex<(u16, &'static str, Vec<u8>)>>,
    client: AppClient,
}

impl Answerer {
    fn start() -> Answerer {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let answer = Arc::new(Mutex::new((400, "application/json", Vec::new())));
        let shared = answer.clone();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().fallback(move || {
            let (status, content_type, body) = shared.lock().unwrap().clone();
            async move {
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [(axum::http::header::CONTENT_TYPE, content_type)],
                    body,
                )
            }
        });
        // The server task lives on this runtime and ends when the runtime is dropped.
        runtime.spawn(async move { axum::serve(listener, app).await });
        let login = LoginUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let config = HttpConfig::default().with_retry(RetryPolicy::none());
        let endpoint = Endpoint::new(login, SitePrefix::default());
        let client = AppClient::new(ConnectedApp::new("3MVG9client"), endpoint, &config).unwrap();
        Answerer {
            runtime,
            answer,
            client,
        }
    }

    /// Refreshes against an answer of `status` with `body`: the error, if it failed.
    fn refresh_error(
        &self,
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    ) -> Option<sfauth::Error> {
        *self.answer.lock().unwrap() = (status, content_type, body);
        let refresh_token = RefreshToken::from(REFRESH_TOKEN);
        self.runtime
            .block_on(self.client.refresh(&refresh_token))
            .err()
    }
}

const REFRESH_TOKEN: &str = "5Aep861.refresh-token-sent";

/// Client-error statuses: 5xx and 429 are retried and classified before the body is read.
fn client_error_status() -> impl Strategy<Value = u16> {
    (400u16..500).prop_filter("429 is a rate limit", |s| *s != 429)
}

/// An `error` code: one Salesforce sends, or any text.
fn error_code() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "invalid_grant",
            "invalid_client_id",
            "invalid_client",
            "invalid_client_credentials",
            "unsupported_grant_type",
            "inactive_user",
            "access_denied",
            "access-denied",
            "rate_limit_exceeded",
            "server_error",
            "invalid_token",
        ])
        .prop_map(str::to_owned),
        ".{0,20}",
    ]
}

/// An `error_description`: one that decides an `invalid_grant`'s class, or any text.
fn error_description() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        prop::sample::select(vec![
            "expired access/refresh token",
            "Token request is already being processed",
            "ip restricted or invalid login hours",
            "user hasn't approved this consumer",
            "inactive user",
        ])
        .prop_map(str::to_owned),
        ".{0,40}",
        (".{0,10}", ".{0,10}").prop_map(|(a, b)| format!("{a}ALREADY BEING PROCESSED{b}")),
    ])
}

#[test]
fn arbitrary_error_bodies_never_panic_and_never_echo_the_refresh_token() {
    let server = Answerer::start();
    let statuses = prop_oneof![Just(200u16), client_error_status()];
    let content_types = prop::sample::select(vec![
        "application/json",
        "application/x-www-form-urlencoded",
        "text/html",
        "text/plain",
    ]);
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        ".{0,120}".prop_map(String::into_bytes),
        (".{0,20}", ".{0,40}")
            .prop_map(|(e, d)| format!("error={e}&error_description={d}").into_bytes()),
        arbitrary_token_object().prop_map(|v| v.to_string().into_bytes()),
    ];
    TestRunner::new(cases(256))
        .run(&(statuses, content_types, bodies), |(status, ct, body)| {
            if let Some(e) = server.refresh_error(status, ct, body) {
                let shown = format!("{e} {} {e:?}", e.hint().unwrap_or_default());
                prop_assert!(!shown.contains(REFRESH_TOKEN), "{}", shown);
                if status != 200 {
                    prop_assert_eq!(e.status(), Some(status));
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn an_oauth_error_is_classified_the_same_as_json_as_form_and_in_a_redirect() {
    let server = Answerer::start();
    let login = pending_login();
    let state = state_of(&login);
    TestRunner::new(cases(256))
        .run(
            &(error_code(), error_description(), client_error_status()),
            |(error, description, status)| {
                let expected = OAuthError {
                    error: error.clone(),
                    description: description.clone(),
                };
                let mut json = serde_json::json!({ "error": error, "x_extra": [1, 2] });
                if let Some(d) = &description {
                    json["error_description"] = d.clone().into();
                }
                let as_json = server
                    .refresh_error(status, "application/json", json.to_string().into_bytes())
                    .expect("an error answer fails the refresh");
                prop_assert_eq!(as_json.oauth(), Some(&expected));
                prop_assert_eq!(as_json.status(), Some(status));

                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.append_pair("error", &error);
                if let Some(d) = &description {
                    form.append_pair("error_description", d);
                }
                let form = form.finish();
                let as_form = server
                    .refresh_error(
                        status,
                        "application/x-www-form-urlencoded",
                        form.clone().into_bytes(),
                    )
                    .expect("an error answer fails the refresh");
                prop_assert_eq!(as_form.oauth(), Some(&expected));
                prop_assert_eq!(as_form.kind(), as_json.kind());

                let redirected = login
                    .code_from_redirect(&format!("/OauthRedirect?{form}&state={state}"))
                    .expect_err("an error redirect is an error");
                prop_assert_eq!(redirected.oauth(), Some(&expected));
                // The one difference: the authorize endpoint's spelling of a refusal.
                if error != "access-denied" {
                    prop_assert_eq!(redirected.kind(), as_json.kind());
                } else {
                    prop_assert_eq!(redirected.kind(), ErrorKind::DeniedByPolicy);
                }

                let lower = description
                    .as_deref()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if error == "invalid_grant" && lower.contains("already being processed") {
                    prop_assert_eq!(as_json.kind(), ErrorKind::Unavailable);
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn unknown_error_codes_are_protocol_errors_that_quote_the_code() {
    let server = Answerer::start();
    let known = [
        "invalid_grant",
        "invalid_client_id",
        "invalid_client",
        "invalid_client_credentials",
        "invalid_basic_auth_header",
        "unsupported_grant_type",
        "oauth_flow_disabled",
        "invalid_scope",
        "inactive_user",
        "inactive_org",
        "invalid_app_access",
        "app_blocked",
        "client_blocked",
        "fail_close_app_blocked",
        "access_denied",
        "invalid_session_level",
        "rate_limit_exceeded",
        "client_blocked_retry",
        "server_error",
        "service_unavailable",
        "system_down",
        "unknown_error",
    ];
    let unknown = "[a-z_]{1,24}".prop_filter("a known code", move |c| !known.contains(&c.as_str()));
    TestRunner::new(cases(128))
        .run(&unknown, |error| {
            let body = serde_json::json!({ "error": error })
                .to_string()
                .into_bytes();
            let e = server
                .refresh_error(400, "application/json", body)
                .expect("an error answer fails the refresh");
            prop_assert_eq!(e.kind(), ErrorKind::Protocol);
            prop_assert!(e.to_string().contains(&error), "{}", e);
            Ok(())
        })
        .unwrap();
}

// --- redirect queries ---

fn pending_login() -> PendingLogin {
    let endpoint = Endpoint::new(
        LoginUrl::parse("https://login.salesforce.com").unwrap(),
        SitePrefix::default(),
    );
    AppClient::new(
        ConnectedApp::new("3MVG9client"),
        endpoint,
        &HttpConfig::default(),
    )
    .unwrap()
    .authorize(&AuthorizeOptions::default())
    .unwrap()
}

fn state_of(login: &PendingLogin) -> String {
    url::Url::parse(login.authorize_url())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned()
}

/// How a redirected URL reaches sfauth: the whole URL, a path with its query (from the
/// listener), or the query alone (pasted); maybe with a fragment and spaces around.
fn wrap_query() -> impl Strategy<Value = (u8, bool, bool)> {
    (0u8..3, any::<bool>(), any::<bool>())
}

fn wrapped(query: &str, (form, fragment, spaces): (u8, bool, bool)) -> String {
    let mut text = match form {
        0 => format!("http://localhost:1717/OauthRedirect?{query}"),
        1 => format!("/OauthRedirect?{query}"),
        _ => query.to_owned(),
    };
    if fragment {
        text.push_str("#_=_");
    }
    if spaces {
        text = format!("  {text}\n");
    }
    text
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn arbitrary_redirects_never_panic_and_never_yield_a_code_without_the_state(
        text in prop_oneof![".{0,200}", ".{0,40}".prop_map(|s| format!("/cb?code={s}"))]
    ) {
        let login = pending_login();
        if let Ok(code) = login.code_from_redirect(&text) {
            prop_assert!(text.contains(&state_of(&login)), "accepted {:?}", text);
            prop_assert!(!code.expose().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn generated_redirects_give_back_their_code(
        code in ".{0,40}",
        extra in prop::collection::vec(("[a-z]{1,8}", ".{0,16}"), 0..4),
        shape in wrap_query(),
        seed in any::<prop::sample::Index>(),
    ) {
        let login = pending_login();
        let state = state_of(&login);
        let mut pairs: Vec<(String, String)> = extra
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "code" | "state" | "error"))
            .collect();
        pairs.push(("state".into(), state));
        pairs.insert(seed.index(pairs.len() + 1), ("code".into(), code.clone()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let got = login.code_from_redirect(&wrapped(&query, shape));
        if code.is_empty() {
            prop_assert_eq!(got.unwrap_err().kind(), ErrorKind::Usage);
        } else {
            let got = got.map_err(|e| TestCaseError::fail(format!("{query}: {e}")))?;
            prop_assert_eq!(got.expose(), code.as_str());
        }
    }

    #[test]
    fn a_redirect_with_another_state_is_refused_and_hides_the_code(
        code in "[A-Za-z0-9.]{16,40}",
        forged in ".{0,44}",
        shape in wrap_query(),
    ) {
        let login = pending_login();
        prop_assume!(forged != state_of(&login));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", &forged)
            .finish();
        let e = login.code_from_redirect(&wrapped(&query, shape)).unwrap_err();
        prop_assert_eq!(e.kind(), ErrorKind::Protocol);
        let shown = format!("{e} {e:?}");
        prop_assert!(!shown.contains(&code));
    }
}

// --- force:// SFDX auth URLs ---

/// A well-formed SFDX auth URL and its parts.
#[derive(Debug, Clone)]
struct AuthUrlParts {
    text: String,
    client_id: String,
    secret: String,
    refresh_token: String,
    instance: String,
}

fn sfdx_auth_url() -> impl Strategy<Value = AuthUrlParts> {
    let host = || dns_label(15).prop_map(|label| format!("{label}.my.salesforce.com"));
    let instance = prop_oneof![
        host().prop_map(|h| (h.clone(), format!("https://{h}"))),
        host().prop_map(|h| (format!("https://{h}"), format!("https://{h}"))),
        (1u16..=u16::MAX).prop_map(|p| {
            let url = format!("http://127.0.0.1:{p}");
            (url.clone(), url)
        }),
    ];
    (
        proptest::option::of((
            "[A-Za-z0-9._]{1,30}",
            prop_oneof![Just(String::new()), "[A-Za-z0-9]{12,30}"],
        )),
        "[A-Za-z0-9!.=:@]{16,60}",
        instance,
        prop::sample::select(vec!["force://", "FORCE://", "Force://"]),
        any::<bool>(),
    )
        .prop_map(|(app, refresh, (written, instance), scheme, spaces)| {
            let (text, client_id, secret, refresh_token) = match app {
                Some((id, secret)) => (
                    format!("{scheme}{id}:{secret}:{refresh}@{written}"),
                    id,
                    secret,
                    refresh,
                ),
                // The short form: its token holds no `:`, which would end a client id.
                None => {
                    let refresh = refresh.replace(':', ".");
                    let text = format!("{scheme}{refresh}@{written}");
                    (text, "PlatformCLI".to_owned(), String::new(), refresh)
                }
            };
            AuthUrlParts {
                text: if spaces { format!(" {text}\n") } else { text },
                client_id,
                secret,
                refresh_token,
                instance,
            }
        })
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn arbitrary_auth_urls_never_panic_and_what_parses_round_trips(
        text in prop_oneof![".{0,120}", ".{0,80}".prop_map(|s| format!("force://{s}"))]
    ) {
        if let Ok(url) = SfdxAuthUrl::parse(&text) {
            prop_assert!(!url.client_id.is_empty());
            prop_assert!(!url.refresh_token.expose().is_empty());
            let again = SfdxAuthUrl::parse(url.to_url().expose())
                .map_err(|e| TestCaseError::fail(format!("to_url does not parse: {e}")))?;
            prop_assert_eq!(again, url);
        }
    }

    #[test]
    fn well_formed_auth_urls_parse_to_their_parts_and_hide_their_secrets(
        parts in sfdx_auth_url()
    ) {
        let url = SfdxAuthUrl::parse(&parts.text)
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&url.client_id, &parts.client_id);
        prop_assert_eq!(
            url.client_secret.as_ref().map(ClientSecret::expose),
            (!parts.secret.is_empty()).then_some(parts.secret.as_str())
        );
        prop_assert_eq!(url.refresh_token.expose(), parts.refresh_token.as_str());
        prop_assert_eq!(url.instance_url.as_str(), parts.instance.as_str());
        prop_assert_eq!(&SfdxAuthUrl::parse(url.to_url().expose()).unwrap(), &url);
        let shown = format!("{url:?}");
        prop_assert!(!shown.contains(&parts.refresh_token), "{}", shown);
        if !parts.secret.is_empty() {
            prop_assert!(!shown.contains(&parts.secret), "{}", shown);
        }
    }
}

// --- LoginUrl and SitePrefix ---

/// URL-shaped text: a scheme, maybe userinfo, a host of every kind, a port, a path, maybe a
/// query or fragment.
fn url_like() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "https://", "http://", "HTTP://", "ftp://", "", "force://",
        ]),
        prop::sample::select(vec!["", "u:p@", "user@"]),
        prop_oneof![
            Just("localhost".to_owned()),
            Just("LocalHost".to_owned()),
            Just("[::1]".to_owned()),
            Just("[::2]".to_owned()),
            (any::<u8>(), any::<u8>()).prop_map(|(a, b)| format!("127.{a}.{b}.1")),
            any::<[u8; 4]>().prop_map(|o| format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])),
            "[a-z0-9.-]{0,20}",
            ".{0,12}",
        ],
        proptest::option::of(any::<u16>()),
        "(/[a-zA-Z0-9._%-]{0,8}){0,3}/?",
        prop::sample::select(vec!["", "?a=1", "#f", "?"]),
    )
        .prop_map(|(scheme, user, host, port, path, tail)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{scheme}{user}{host}{port}{path}{tail}")
        })
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn login_urls_never_panic_and_accept_only_https_or_loopback_http(
        text in prop_oneof![".{0,60}", url_like()]
    ) {
        if let Ok(login) = LoginUrl::parse(&text) {
            let shown = login.as_str();
            prop_assert!(
                shown.starts_with("https://") || (shown.starts_with("http://") && login.is_loopback()),
                "{:?} accepted as {}", text, shown
            );
            prop_assert_eq!(login.is_plain_http(), shown.starts_with("http://"));
            prop_assert!(!login.host().is_empty());
            let parsed = url::Url::parse(shown).unwrap();
            prop_assert!(parsed.query().is_none() && parsed.fragment().is_none());
            prop_assert!(parsed.username().is_empty() && parsed.password().is_none());
            let again = LoginUrl::parse(shown)
                .map_err(|e| TestCaseError::fail(format!("{shown} does not parse again: {e}")))?;
            prop_assert_eq!(again.as_str(), shown);
            prop_assert_eq!(login.to_string(), shown);
            let endpoint = Endpoint::new(login.clone(), SitePrefix::default());
            prop_assert!(url::Url::parse(&endpoint.token_url()).is_ok());
            let _ = JwtBearer::audience_for(&login);
        }
    }

    #[test]
    fn generated_https_hosts_are_accepted_and_http_only_for_loopback(
        labels in prop::collection::vec(dns_label(11), 1..4),
        port in proptest::option::of(1u16..),
    ) {
        let host = format!("{}.salesforce.com", labels.join("."));
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let login = LoginUrl::parse(&format!("https://{host}{port}"))
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(login.host(), host.as_str());
        prop_assert!(!login.is_loopback());
        let plain = format!("http://{host}{port}");
        prop_assert!(LoginUrl::parse(&plain).is_err());
        let loopback = format!("http://127.0.0.1{port}");
        prop_assert!(LoginUrl::parse(&loopback).unwrap().is_loopback());
    }

    #[test]
    fn site_prefixes_never_panic_and_normalize_to_one_leading_slash(
        text in prop_oneof![".{0,40}", "[/a-z.?# ]{0,20}", "(/(%2[eE]|[a-z.]){0,3}){1,3}"]
    ) {
        if let Ok(site) = SitePrefix::parse(&text) {
            let s = site.as_str().to_owned();
            let s = s.as_str();
            prop_assert!(s.is_empty() || (s.starts_with('/') && !s.ends_with('/')), "{}", s);
            prop_assert!(!s.contains("//") && !s.contains('?') && !s.contains('#'));
            prop_assert_eq!(SitePrefix::parse(s).unwrap(), site.clone());
            let endpoint = Endpoint::new(LoginUrl::parse("https://acme.my.site.com").unwrap(), site);
            let token_url = url::Url::parse(&endpoint.token_url()).unwrap();
            prop_assert!(token_url.path().ends_with("/services/oauth2/token"));
            // The site is not lost to URL normalization (`%2e%2e` is a `..` segment).
            let segments = token_url.path_segments().unwrap().count();
            prop_assert_eq!(segments, 3 + s.split('/').filter(|x| !x.is_empty()).count(), "{}", token_url);
            prop_assert_eq!(token_url.host_str(), Some("acme.my.site.com"));
        }
    }

    #[test]
    fn generated_site_paths_parse_back_to_their_segments(
        segments in prop::collection::vec("[A-Za-z0-9_-]{1,10}", 0..4),
        leading in any::<bool>(),
        trailing in any::<bool>(),
    ) {
        let joined = segments.join("/");
        let text = format!("{}{joined}{}", if leading { "/" } else { "" }, if trailing { "/" } else { "" });
        let site = SitePrefix::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let expected = if joined.is_empty() { String::new() } else { format!("/{joined}") };
        prop_assert_eq!(site.as_str(), expected.as_str());
    }
}

/// Found by the property above: `/%2E` passed as a site, and URL parsing then removed it,
/// so requests went to the host's root instead of the site.
#[test]
fn percent_encoded_dot_segments_are_refused_as_site_prefixes() {
    for text in ["/%2E", "/%2e%2E", "customers/.%2e", "/a/%2e."] {
        let e = SitePrefix::parse(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage, "{text}");
    }
    assert_eq!(SitePrefix::parse("/%2Ex").unwrap().as_str(), "/%2Ex");
}

// --- JWT: the access token's `exp`, and the bearer assertion ---

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_with_access(access: &str, jwt_format: bool) -> Token {
    let mut object = serde_json::json!({
        "access_token": access,
        "instance_url": "https://acme.my.salesforce.com",
        "issued_at": "1700000000000",
    });
    if jwt_format {
        object["token_format"] = "jwt".into();
    }
    Token::from_value(object).unwrap()
}

/// The last second of year 9999 (UTC): a later `exp` is not believed (the session timeout
/// decides instead), so no expiry can overflow.
const LAST_BELIEVED_EXP: u64 = 253_402_300_799;

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn access_tokens_of_three_arbitrary_base64_parts_never_panic_the_expiry(
        header in prop::collection::vec(any::<u8>(), 0..40),
        // `exp` is any JSON value, huge integers (2^63 s and past, which once panicked) too.
        payload in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..80),
            json_value().prop_map(|v| serde_json::json!({ "exp": v }).to_string().into_bytes()),
            (0u64..=u64::MAX).prop_map(|n| serde_json::json!({ "exp": n }).to_string().into_bytes()),
            arbitrary_token_object().prop_map(|v| v.to_string().into_bytes()),
        ],
        signature in "[A-Za-z0-9_=.-]{0,40}",
        padded in any::<bool>(),
        jwt_format in any::<bool>(),
    ) {
        let pad = if padded { "==" } else { "" };
        let access = format!("eyJ{}.{}{pad}.{signature}", b64(&header), b64(&payload));
        let token = token_with_access(&access, jwt_format);
        let policy = ExpiryPolicy::default();
        let _ = policy.expiry(&token);
        let _ = policy.is_fresh(&token);
    }

    #[test]
    fn a_jwt_access_tokens_exp_up_to_the_year_9999_is_its_expiry(
        exp in 0u64..=LAST_BELIEVED_EXP,
        as_string in any::<bool>(),
        other_claims in prop::collection::vec(("[a-z]{1,6}", json_value()), 0..3),
    ) {
        let mut claims: Map<String, Value> = other_claims.into_iter().collect();
        let value = if as_string { Value::String(exp.to_string()) } else { Value::from(exp) };
        claims.insert("exp".into(), value);
        let access = format!(
            "{}.{}.sig",
            b64(br#"{"alg":"RS256"}"#),
            b64(Value::Object(claims).to_string().as_bytes())
        );
        let expiry = ExpiryPolicy::default().expiry(&token_with_access(&access, false)).unwrap();
        prop_assert_eq!(expiry.source, ExpirySource::JwtExp);
        prop_assert_eq!(expiry.at, UNIX_EPOCH + Duration::from_secs(exp));
    }

    #[test]
    fn a_jwt_access_tokens_exp_past_the_year_9999_is_not_believed(
        exp in (LAST_BELIEVED_EXP + 1)..=u64::MAX,
        as_string in any::<bool>(),
    ) {
        let value = if as_string { Value::String(exp.to_string()) } else { Value::from(exp) };
        let access = format!(
            "{}.{}.sig",
            b64(br#"{"alg":"RS256"}"#),
            b64(serde_json::json!({ "exp": value }).to_string().as_bytes())
        );
        let token = token_with_access(&access, false);
        let policy = ExpiryPolicy::default();
        let expiry = policy.expiry(&token).unwrap();
        prop_assert_eq!(expiry.source, ExpirySource::SessionTimeout);
        let _ = policy.is_fresh(&token);
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn jwt_assertions_for_any_names_sign_and_decode_back_to_their_claims(
        client_id in prop_oneof![".{0,30}", "[ \t\n]{0,3}"],
        username in prop_oneof![".{0,40}", "[ \t\n]{0,3}", "[a-z.]{1,12}@[a-z]{1,8}\\.example"],
        audience in prop_oneof![".{0,40}", "[ \t]{0,3}", Just("https://test.salesforce.com".to_owned())],
    ) {
        let jwt = JwtBearer {
            client_id: client_id.clone(),
            username: username.clone(),
            audience: audience.clone(),
            key_pem: Secret::from(KEY),
        };
        let filled = [&client_id, &username, &audience].iter().all(|s| !s.trim().is_empty());
        match jwt.assertion() {
            Err(e) => {
                prop_assert!(!filled, "refused {:?}: {}", jwt, e);
                prop_assert_eq!(e.kind(), ErrorKind::Usage);
            }
            Ok(assertion) => {
                prop_assert!(filled);
                let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap();
                let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
                validation.validate_exp = false;
                validation.validate_aud = false;
                let decoded = jsonwebtoken::decode::<Value>(assertion.expose(), &key, &validation)
                    .map_err(|e| TestCaseError::fail(format!("does not verify: {e}")))?;
                let claims = decoded.claims;
                prop_assert_eq!(&claims["iss"], &Value::from(client_id));
                prop_assert_eq!(&claims["sub"], &Value::from(username));
                prop_assert_eq!(&claims["aud"], &Value::from(audience));
                prop_assert!(claims["exp"].is_u64());
                prop_assert_eq!(claims.as_object().unwrap().len(), 4);
            }
        }
    }

    #[test]
    fn any_key_text_is_refused_without_quoting_it(
        body in "[A-Za-z0-9+/=]{24,64}",
        label in prop::sample::select(vec![
            "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "CERTIFICATE", "PUBLIC KEY",
            "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY",
        ]),
        noise in ".{0,20}",
        close in any::<bool>(),
    ) {
        let end = if close { format!("\n-----END {label}-----\n") } else { String::new() };
        let pem = format!("{noise}-----BEGIN {label}-----\n{body}{end}");
        for pem in [pem.as_str(), body.as_str(), noise.as_str()] {
            let jwt = JwtBearer {
                client_id: "3MVG9client".into(),
                username: "ci@acme.example".into(),
                audience: "https://login.salesforce.com".into(),
                key_pem: Secret::from(pem),
            };
            let e = jwt.assertion().unwrap_err();
            prop_assert_eq!(e.kind(), ErrorKind::Usage);
            let shown = format!("{e} {} {e:?} {jwt:?}", e.hint().unwrap_or_default());
            prop_assert!(!shown.contains(&body), "{}", shown);
        }
    }
}
