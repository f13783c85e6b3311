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
use cocpit_api::endpoint::TatAction;
use cocpit_api::model::tat::*;
use cocpit_api::model::team::{AuditEntry, Caller, Role};
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

/// The caller's address, as the listener saw it.
type Peer = Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>;

fn address(peer: &Peer) -> String {
    peer.as_ref().map(|p| p.0.0.to_string()).unwrap_or_default()
}

pub async fn dispatch(
    State(app): State<Arc<App>>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&app, &address(&peer), "POST", "", &headers, &body, &body)
}

/// An action by GET: the signature covers the query string as sent; the parameters are that
/// query string unflattened (see [`unflatten`]). Every refusal is a 200 with `Response.Error`,
/// as for POST.
pub async fn dispatch_get(
    State(app): State<Arc<App>>,
    peer: Peer,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let query = uri.query().unwrap_or("");
    let params = match unflatten(query) {
        Ok(v) => serde_json::to_vec(&v).unwrap_or_default(),
        Err(why) => return error("InvalidParameter", &why, &request_id()),
    };
    answer(&app, &address(&peer), "GET", query, &headers, b"", &params)
}

/// Verifies the signature over what was sent, checks the caller's role, runs the action on
/// `params` (JSON), and records a write in the audit trail.
fn answer(
    app: &App,
    address: &str,
    method: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    params: &[u8],
) -> Response {
    let rid = request_id();
    let caller = if app.keys.no_auth {
        Caller::new("anonymous", Role::Admin)
    } else {
        let hs = headers_of(headers);
        let verdict = tencent::verify(
            method,
            query,
            &hs,
            body,
            |id| app.keys.tencent.get(id).cloned(),
            chrono::Utc::now().timestamp(),
        );
        match verdict {
            Ok(secret_id) => app.keys.identity(&secret_id),
            Err(why) => return error(why.code(), &why.to_string(), &rid),
        }
    };
    let action = headers
        .get("x-tc-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let writes = TatAction::ALL
        .iter()
        .find(|a| a.name() == action)
        .is_some_and(|a| a.writes());
    let entry = |status: u16, outcome: String| AuditEntry {
        id: 0,
        at: chrono::Utc::now().timestamp_millis(),
        user: caller.user.clone(),
        user_id: caller.user_id.clone(),
        role: caller.role.to_string(),
        address: address.to_string(),
        method: method.to_string(),
        operation: format!("TAT:{action}"),
        target: String::new(),
        status,
        outcome,
    };
    let outcome = if writes && !caller.role.may_write() {
        let refused = TatError {
            code: "UnauthorizedOperation",
            message: format!(
                "{} has the viewer role, which only reads: {action} needs operator or admin",
                caller.user
            ),
        };
        super::team::keep(
            app,
            &entry(403, format!("{}: {}", refused.code, refused.message)),
        );
        Err(refused)
    } else {
        if writes {
            // A write's entry commits with its change.
            let (outcome, ticket) = app
                .engine
                .audited_now(entry(0, String::new()), || act(&app.engine, action, params));
            let (status, said) = match &outcome {
                Ok(_) => (200, "ok".to_string()),
                Err(e) => (400, format!("{}: {}", e.code, e.message)),
            };
            if let Err(e) = app
                .engine
                .settle_audit(ticket, status, &said, app.keys.keep_days())
            {
                tracing::error!(status, "audit trail: {e}");
            }
            outcome
        } else {
            act(&app.engine, action, params)
        }
    };
    match outcome {
        Ok(f) => ok(f, &rid),
        Err(e) => error(e.code, &e.message, &rid),
    }
}

/// The most parameters, and the deepest key, a GET may carry.
const MAX_QUERY_PARAMS: usize = 500;
const MAX_KEY_DEPTH: usize = 6;
/// The largest list index a key may name (`Filters.99.Values.99`).
const MAX_INDEX: usize = 999;

/// Turns the SDKs' flattened query (`Filters.0.Name=a&Filters.0.Values.0=b&Limit=20`) back
/// into the JSON object the action takes: a key's dotted parts are nested fields, a numeric
/// part a list position. Every value stays text (the actions' number and flag fields take
/// text). Bounded in parameters, depth and index; a key that is both a value and an object,
/// or a list with a gap, is refused with the key named.
pub fn unflatten(query: &str) -> Result<serde_json::Value, String> {
    use std::collections::BTreeMap;
    enum Node {
        Leaf(String),
        Branch(BTreeMap<String, Node>),
    }
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for (n, (key, value)) in form_urlencoded::parse(query.as_bytes()).enumerate() {
        if n >= MAX_QUERY_PARAMS {
            return Err(format!(
                "the query string has more than {MAX_QUERY_PARAMS} parameters"
            ));
        }
        let parts: Vec<&str> = key.split('.').collect();
        if parts.len() > MAX_KEY_DEPTH || parts.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "parameter {key:?}: at most {MAX_KEY_DEPTH} non-empty dotted parts"
            ));
        }
        for part in &parts {
            if part.bytes().all(|b| b.is_ascii_digit())
                && part.parse::<usize>().map_or(true, |i| i > MAX_INDEX)
            {
                return Err(format!(
                    "parameter {key:?}: a list index is 0 to {MAX_INDEX}"
                ));
            }
        }
        insert(&mut root, &parts, value.into_owned())
            .map_err(|()| format!("parameter {key:?} is both a value and an object"))?;
    }
    fn insert(map: &mut BTreeMap<String, Node>, parts: &[&str], value: String) -> Result<(), ()> {
        let [part, rest @ ..] = parts else {
            return Err(());
        };
        let slot = map.entry(part.to_string()).or_insert_with(|| {
            if rest.is_empty() {
                Node::Leaf(String::new())
            } else {
                Node::Branch(BTreeMap::new())
            }
        });
        match (slot, rest.is_empty()) {
            (Node::Leaf(v), true) => {
                *v = value;
                Ok(())
            }
            (Node::Branch(next), false) => insert(next, rest, value),
            _ => Err(()),
        }
    }
    fn to_json(map: BTreeMap<String, Node>, path: &str) -> Result<serde_json::Value, String> {
        let numeric = !map.is_empty() && map.keys().all(|k| k.bytes().all(|b| b.is_ascii_digit()));
        let child = |k: &str, node: Node| -> Result<serde_json::Value, String> {
            match node {
                Node::Leaf(v) => Ok(serde_json::Value::String(v)),
                Node::Branch(m) => to_json(m, &format!("{path}{k}.")),
            }
        };
        if numeric {
            let mut items: Vec<(usize, Node)> = map
                .into_iter()
                .map(|(k, v)| (k.parse().unwrap_or(usize::MAX), v))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            let mut out = vec![];
            for (expected, (i, node)) in items.into_iter().enumerate() {
                if i != expected {
                    return Err(format!(
                        "parameter {path}{expected} is missing (lists count from 0)"
                    ));
                }
                out.push(child(&i.to_string(), node)?);
            }
            Ok(serde_json::Value::Array(out))
        } else {
            let mut out = serde_json::Map::new();
            for (k, node) in map {
                let v = child(&k, node)?;
                out.insert(k, v);
            }
            Ok(serde_json::Value::Object(out))
        }
    }
    to_json(root, "")
}

#[cfg(test)]
mod unflatten_tests {
    use super::unflatten;
    use serde_json::json;

    #[test]
    fn the_sdks_flattened_query_comes_back_as_the_request_object() {
        let v = unflatten(
            "Limit=20&Offset=0&Filters.0.Name=invoker-name&Filters.0.Values.0=a%20b\
             &Filters.0.Values.1=c&InvokerIds.1=ivk-2&InvokerIds.0=ivk-1&HideOutput=true",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"Limit": "20", "Offset": "0", "HideOutput": "true",
                   "Filters": [{"Name": "invoker-name", "Values": ["a b", "c"]}],
                   "InvokerIds": ["ivk-1", "ivk-2"]})
        );
        assert_eq!(unflatten("").unwrap(), json!({}));
    }

    #[test]
    fn a_hostile_query_is_refused_with_the_key_named() {
        for (q, says) in [
            ("InvokerIds.1=x", "InvokerIds.0 is missing"),
            ("InvokerIds.99999999999=x", "a list index is 0 to 999"),
            ("A.B=1&A=2", "both a value and an object"),
            ("A=2&A.B=1", "both a value and an object"),
            ("A..B=1", "non-empty dotted parts"),
            ("A.B.C.D.E.F.G=1", "non-empty dotted parts"),
        ] {
            let e = unflatten(q).unwrap_err();
            assert!(e.contains(says), "{q}: {e}");
        }
        let many: Vec<String> = (0..501).map(|i| format!("K{i}=v")).collect();
        assert!(
            unflatten(&many.join("&"))
                .unwrap_err()
                .contains("more than 500")
        );
    }
}
