//! Responses with the headers Salesforce puts on them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Salesforce's content type for JSON, charset included.
pub(crate) const JSON_UTF8: &str = "application/json;charset=UTF-8";

/// Salesforce's token-endpoint caching policy: nothing may be cached anywhere.
const NO_CACHE: &str = "no-cache,must-revalidate,max-age=0,no-store,private";

/// A JSON answer with Salesforce's content type and no-cache policy.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, JSON_UTF8),
            (header::CACHE_CONTROL, NO_CACHE),
        ],
        body.to_string(),
    )
        .into_response()
}

/// A token-endpoint error: `{"error": .., "error_description": ..}`.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

/// An arbitrary answer for [`Fault::Status`](crate::Fault::Status).
pub(crate) fn raw(status: StatusCode, content_type: &str, body: String) -> Response {
    // A content type that is not a valid header value is a test-author slip; answering
    // with a generic type keeps the fault usable instead of failing the request.
    let content_type = HeaderValue::from_str(content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A status code from a test-supplied number; nonsense becomes 500.
pub(crate) fn status_or_500(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
