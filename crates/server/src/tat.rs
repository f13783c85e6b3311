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
use cocpit_api::model::tat::*;
use cocpit_api::sign::tencent;
use cocpit_engine::Engine;

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
    cocpit_engine::uuid4()
}

/// A success: the action's fields plus `RequestId`, inside `Response`.
fn ok(mut fields: serde_json::Map<String, serde_json::Value>, rid: &str) -> Response {
    fields.insert("RequestId".into(), rid.into());
    response(json!({ "Response": fields }))
}

fn fields(pairs: Vec<(&str, serde_json::Value)>) -> serde_json::Map<String, serde_json::Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn described<T: serde::Serialize>(
    d: Described<T>,
    set: &str,
) -> serde_json::Map<String, serde_json::Value> {
    fields(vec![
        ("TotalCount", d.total_count.into()),
        (set, serde_json::to_value(d.set).unwrap_or_default()),
    ])
}

fn parse<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, TatError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        tat_error(
            codes::INVALID_PARAMETER,
            format!("request body at {path}: {}", e.into_inner()),
        )
    })
}

/// Runs one action on the engine.
fn act(
    engine: &Engine,
    action: &str,
    body: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, TatError> {
    use cocpit_api::endpoint::TatAction as A;
    let Some(a) = A::named(action) else {
        return Err(if action.is_empty() {
            tat_error(codes::MISSING, "the X-TC-Action header is required")
        } else {
            let served: Vec<&str> = A::ALL.iter().map(|a| a.name()).collect();
            tat_error(
                codes::UNSUPPORTED,
                format!(
                    "action {action:?} is not served here; served: {}",
                    served.join(", ")
                ),
            )
        });
    };
    // The field of the answer, as declared.
    let field = a.answer_field().unwrap_or_default();
    match a {
        A::CreateCommand => {
            let id = engine.create_command(&parse(body)?)?;
            Ok(fields(vec![(field, id.into())]))
        }
        A::DescribeCommands => Ok(described(engine.describe_commands(&parse(body)?)?, field)),
        A::CreateInvoker => {
            let id = engine.create_invoker(&parse(body)?)?;
            Ok(fields(vec![(field, id.into())]))
        }
        A::DescribeInvokers => Ok(described(engine.describe_invokers(&parse(body)?)?, field)),
        A::EnableInvoker | A::DisableInvoker => {
            let r: InvokerIdRequest = parse(body)?;
            engine.set_invoker_enabled(r.invoker_id.as_deref(), a == A::EnableInvoker)?;
            Ok(fields(vec![]))
        }
        A::DeleteInvoker => {
            let r: InvokerIdRequest = parse(body)?;
            engine.delete_invoker(r.invoker_id.as_deref())?;
            Ok(fields(vec![]))
        }
        A::DescribeInvokerRecords => Ok(described(
            engine.describe_invoker_records(&parse(body)?)?,
            field,
        )),
        A::DescribeInvocationTasks => Ok(described(
            engine.describe_invocation_tasks(&parse(body)?)?,
            field,
        )),
    }
}

/// Before a TC3 body is read: the signature's every check that needs no body (the body is then
/// bounded and verified by [`dispatch`]). Refusals come as TAT's `Response.Error`.
pub async fn precheck(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if req.uri().path() == cocpit_api::endpoint::TAT.path && !app.keys.no_auth {
        let hs = headers_of(req.headers());
        if let Err(why) = tencent::precheck(
            &hs,
            |id| app.keys.tencent.get(id).cloned(),
            chrono::Utc::now().timestamp(),
        ) {
            return error(why.code(), &why.to_string(), &request_id());
        }
    }
    next.run(req).await
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
    match act(&app.engine, action, &body) {
        Ok(f) => ok(f, &rid),
        Err(e) => error(e.code, &e.message, &rid),
    }
}
