//! Request authentication: Huawei AK/SK signatures on every Huawei path (401 `APIGW.0301` when
//! they do not verify), and the keys `cocpit serve` accepts.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;
use super::error::{AUTH, ApiFailure};
use crate::config::Config;
use crate::sign::{Header, huawei};

/// Request bodies larger than this are refused before they are signed or parsed.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// Who made the request: the access key that signed it (or `anonymous` under `--no-auth`).
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// The keys the server accepts.
#[derive(Default)]
pub struct Keys {
    pub huawei: HashMap<String, String>,
    pub tencent: HashMap<String, String>,
    pub no_auth: bool,
}

impl Keys {
    pub fn from_config(cfg: &Config, no_auth: bool) -> Keys {
        Keys {
            huawei: cfg
                .serve
                .credentials
                .iter()
                .map(|c| (c.ak.clone(), c.sk.clone()))
                .collect(),
            tencent: cfg
                .serve
                .tencent_credentials
                .iter()
                .map(|c| (c.secret_id.clone(), c.secret_key.clone()))
                .collect(),
            no_auth,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.huawei.is_empty() && self.tencent.is_empty()
    }
}

pub fn headers_of(h: &axum::http::HeaderMap) -> Vec<Header> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn unauthorized(why: &str) -> Response {
    ApiFailure {
        status: StatusCode::UNAUTHORIZED,
        code: AUTH,
        message: format!("Incorrect IAM authentication information: {why}"),
    }
    .into_response()
}

/// Verifies the SDK-HMAC-SHA256 signature over the raw request, then passes it on with the
/// body intact and the [`Caller`] attached.
pub async fn huawei(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiFailure {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: super::error::INVALID,
                message: format!("body: larger than {MAX_BODY} bytes"),
            }
            .into_response();
        }
    };
    let caller = if app.keys.no_auth {
        Caller("anonymous".into())
    } else {
        let headers = headers_of(&parts.headers);
        let raw = huawei::RawRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
            body: &bytes,
        };
        match huawei::verify(
            &raw,
            |ak| app.keys.huawei.get(ak).cloned(),
            chrono::Utc::now(),
        ) {
            Ok(ak) => Caller(ak),
            Err(why) => return unauthorized(&why.to_string()),
        }
    };
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
