//! The one place engine errors become HTTP answers with the seeds' `error_code`s.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use cocpit_api::model::ApiError;
use cocpit_api::model::validate::Invalid;
use cocpit_engine::{EngineError, Fault};

/// Invalid parameter (the seed's code for a bad script parameter or a duplicate name).
pub const INVALID: &str = "COC.00040601";
/// The operation is not legal in the order's current state.
pub const CONFLICT: &str = "COC.00040602";
pub const NOT_FOUND: &str = "COC.00040404";
/// The caller's role or relation to the thing does not allow it.
pub const FORBIDDEN: &str = "COC.00040403";
pub const INTERNAL: &str = "COC.00040701";
/// The API gateway's code for a rejected signature.
pub const AUTH: &str = "APIGW.0301";

#[derive(Debug)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiFailure {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiFailure {
            status: StatusCode::BAD_REQUEST,
            code: INVALID,
            message: message.into(),
        }
    }

    /// The same failure with another service's code for a bad request (CES, Workspace).
    pub fn coded_for_invalid(mut self, code: &'static str) -> Self {
        if self.status == StatusCode::BAD_REQUEST {
            self.code = code;
        }
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiFailure {
            status: StatusCode::NOT_FOUND,
            code: NOT_FOUND,
            message: message.into(),
        }
    }

    /// Not legal in the current state (answered as the engine answers a conflict).
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiFailure::from(Fault::Conflict(message.into()))
    }
}

impl From<EngineError> for ApiFailure {
    fn from(e: EngineError) -> Self {
        ApiFailure::from(e.0)
    }
}

/// Each failure kind's status and error code.
impl From<Fault> for ApiFailure {
    fn from(e: Fault) -> Self {
        let (status, code) = match &e {
            Fault::Invalid(_) => (StatusCode::BAD_REQUEST, INVALID),
            Fault::NotFound(_) => (StatusCode::NOT_FOUND, NOT_FOUND),
            Fault::Conflict(_) => (StatusCode::BAD_REQUEST, CONFLICT),
            Fault::Forbidden(_) => (StatusCode::FORBIDDEN, FORBIDDEN),
            Fault::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL),
        };
        ApiFailure {
            status,
            code,
            message: e.to_string(),
        }
    }
}

impl From<Invalid> for ApiFailure {
    fn from(e: Invalid) -> Self {
        ApiFailure::invalid(e.to_string())
    }
}

/// Why a request failed, on its response for the audit trail.
#[derive(Debug, Clone)]
pub struct Failed(pub String);

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let mut message = self.message;
        if message.len() > 512 {
            let mut cut = 509;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("...");
        }
        let failed = Failed(message.clone());
        let mut r = (
            self.status,
            Json(ApiError {
                error_code: self.code.to_string(),
                error_msg: message,
            }),
        )
            .into_response();
        r.extensions_mut().insert(failed);
        r
    }
}

pub type ApiResult<T> = Result<T, ApiFailure>;

/// A failure of the incident and alarm APIs: the same codes inside the GOM envelope
/// (`provider_code` "049", `data` null).
#[derive(Debug)]
pub struct GomFailure(pub ApiFailure);

impl<E: Into<ApiFailure>> From<E> for GomFailure {
    fn from(e: E) -> Self {
        GomFailure(e.into())
    }
}

impl IntoResponse for GomFailure {
    fn into_response(self) -> Response {
        let f = self.0;
        let failed = Failed(f.message.clone());
        let mut r = (
            f.status,
            Json(cocpit_api::model::incident::Gom::<Option<()>> {
                provider_code: cocpit_api::model::incident::PROVIDER_CODE.into(),
                error_code: f.code.to_string(),
                error_msg: Some(f.message),
                data: None,
            }),
        )
            .into_response();
        r.extensions_mut().insert(failed);
        r
    }
}

/// The GOM envelope, for handlers.
pub use cocpit_api::model::incident::Gom;

pub type GomResult<T> = Result<Json<Gom<T>>, GomFailure>;
