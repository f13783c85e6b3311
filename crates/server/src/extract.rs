//! Request extractors whose failures are the API's own error bodies naming the field.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiFailure;

/// A JSON body; a bad one is a 400 that names the path of the offending field.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiFailure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiFailure::invalid(format!("body: {e}")))?;
        parse_json(&bytes).map(Body)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiFailure> {
    if bytes.is_empty() {
        return Err(ApiFailure::invalid("body: a JSON body is required"));
    }
    // A body that parses pays for one parse; only one that fails is parsed again, tracking
    // the path, to name the field.
    if let Ok(v) = serde_json::from_slice(bytes) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiFailure::invalid(format!("body: {inner}"))
        } else {
            ApiFailure::invalid(format!("{path}: {inner}"))
        }
    })
}

/// Query parameters; a bad one is a 400 naming it.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                ApiFailure::invalid(format!("query {path}: {}", e.into_inner()))
            })
    }
}

/// Every `(key, value)` pair of the query, repeated keys included (the SDK sends lists that way).
pub fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// An integer query parameter; a bad one names it.
pub fn int_param(k: &str, v: &str) -> Result<i64, cocpit_api::model::validate::Invalid> {
    v.parse().map_err(|_| {
        cocpit_api::model::validate::invalid(k, format!("must be an integer (got {v:?})"))
    })
}
