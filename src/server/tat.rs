//! Tencent TAT: `POST /` with the action in `X-TC-Action`, TC3-HMAC-SHA256 signed. Answers are
//! always HTTP 200 with `Content-Type: application/json` exactly (the SDK only looks for
//! `Response.Error` then), errors as `Response.Error{Code, Message}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::App;
use super::auth::headers_of;
use crate::sign::tencent;

pub fn response(body: serde_json::Value) -> Response {
    let mut r = serde_json::to_vec(&body)
        .unwrap_or_default()
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn error(code: &str, message: &str, request_id: &str) -> Response {
    response(
        json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}),
    )
}

pub fn request_id() -> String {
    let r = fastrand::u128(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (r >> 96) as u32,
        (r >> 80) as u16,
        (r >> 68) as u16 & 0xfff,
        (r >> 56) as u16 & 0xfff,
        r as u64 & 0xffff_ffff_ffff
    )
}

pub async fn dispatch(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let rid = request_id();
    if !app.keys.no_auth {
        let hs = headers_of(&headers);
        let verdict = tencent::verify(
            "POST",
            "",
            &hs,
            &body,
            |id| app.keys.tencent.get(id).cloned(),
            chrono::Utc::now().timestamp(),
        );
        if let Err(why) = verdict {
            return error(why.code(), &why.to_string(), &rid);
        }
    }
    let action = headers
        .get("x-tc-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    error(
        "UnsupportedOperation",
        &format!("action {action:?} is not available on this server yet"),
        &rid,
    )
}
