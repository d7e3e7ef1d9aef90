//! The parameters of a request, taken the lenient way Salesforce takes them.
//!
//! A `POST` body that is not form-encoded (JSON, say) counts as having no parameters, and
//! so does a query that cannot be read; the endpoint then answers as it answers missing
//! parameters. A `GET` or `HEAD` request's parameters are its query. This is not for
//! bodies that are not parameters (the fault side door and the REST resources read their
//! own).

use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::{Form, FromRequest, Query, Request};
use axum::http::Method;

/// A request's form or query parameters; extracting them never fails.
///
/// It has no `Debug`: the parameters may hold a client secret or a token.
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    /// The value of `name` if it was sent and is not empty: Salesforce treats an empty
    /// parameter as a missing one.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|value| !value.is_empty())
    }

    /// The value of `name` as sent, empty or not.
    pub(crate) fn raw(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        type Pairs = HashMap<String, String>;
        // axum's `Form` reads the query of a GET but not of a HEAD; ask for it by name.
        let params = if matches!(*request.method(), Method::GET | Method::HEAD) {
            Query::<Pairs>::from_request(request, state)
                .await
                .map(|Query(params)| params)
                .ok()
        } else {
            Form::<Pairs>::from_request(request, state)
                .await
                .map(|Form(params)| params)
                .ok()
        };
        Ok(Self(params.unwrap_or_default()))
    }
}

#[cfg(test)]
impl<const N: usize> From<[(&str, &str); N]> for Params {
    fn from(pairs: [(&str, &str); N]) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        )
    }
}
