//! Operating the server: `/healthz` (alive), `/readyz` (the stores take writes), `/metrics`
//! (Prometheus text: requests by route and status with latency, and the engine's own
//! measurements, see `cocpit_engine::metric`). None needs a signature; `/metrics` answers
//! only a loopback caller or one with the configured scrape token.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::App;

/// Requests answered, by `route` (its declared name) and `status`.
const REQUESTS: &str = "cocpit_http_requests_total";
/// Request latency in seconds, by `route`.
const LATENCY: &str = "cocpit_http_request_duration_seconds";
/// Clients following the event stream now.
const STREAM_CLIENTS: &str = "cocpit_event_stream_clients";

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's Prometheus recorder (once; later calls return the same handle).
/// `None` when another recorder was installed first.
pub fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let latency = [
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let sizes = [
                1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
            ];
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &latency)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_size".into()), &sizes))
                .ok()?
                .install_recorder()
                .ok()?;
            describe();
            cocpit_engine::metric::describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(REQUESTS, "HTTP requests answered, by route and status.");
    describe_histogram!(LATENCY, Unit::Seconds, "HTTP request latency, by route.");
    describe_gauge!(STREAM_CLIENTS, "Clients following the event stream.");
}

/// The declaration a routed request matched (its method and path template), by one lookup.
pub fn route_of(method: &str, matched: &str) -> Option<&'static cocpit_api::endpoint::Route> {
    use cocpit_api::endpoint::{ALL, Route};
    use std::collections::HashMap;
    type Table = HashMap<(&'static str, &'static str), &'static Route>;
    static ROUTES: OnceLock<Table> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        ALL.iter()
            .map(|r| ((r.method.as_str(), r.path), r))
            .collect()
    });
    routes.get(&(method, matched)).copied()
}

/// The declared name of a routed request's endpoint (`unrouted` for none): a fixed set, so
/// a label of bounded cardinality with no key of a path in it.
pub fn route_name(method: &str, matched: Option<&str>) -> &'static str {
    matched
        .and_then(|p| route_of(method, p))
        .map_or("unrouted", |r| r.name)
}

/// The route a request was routed to, carried on its answer for the request log.
#[derive(Clone, Copy)]
pub struct Routed(pub &'static str);

/// Inside each router (after routing): tags the answer with the request's declared route.
pub async fn tag_route(req: Request, next: Next) -> Response {
    let name = route_name(
        req.method().as_str(),
        req.extensions().get::<MatchedPath>().map(|m| m.as_str()),
    );
    let mut r = next.run(req).await;
    r.extensions_mut().insert(Routed(name));
    r
}

/// Counts one answered request (a no-op until the recorder is installed).
pub fn count(route: &'static str, status: StatusCode, took: Duration) {
    if RECORDER.get().is_none_or(Option::is_none) {
        return;
    }
    // The handles of each (route, status), looked up once per thread: registering them
    // hashes and allocates their labels.
    type Handles = (metrics::Counter, metrics::Histogram);
    thread_local! {
        static HANDLES: std::cell::RefCell<
            std::collections::HashMap<(&'static str, u16), Handles>,
        > = Default::default();
    }
    HANDLES.with_borrow_mut(|h| {
        let (requests, latency) = h.entry((route, status.as_u16())).or_insert_with(|| {
            (
                metrics::counter!(REQUESTS, "route" => route, "status" => status.as_str().to_owned()),
                metrics::histogram!(LATENCY, "route" => route),
            )
        });
        requests.increment(1);
        latency.record(took.as_secs_f64());
    });
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    match app.engine.ready() {
        Ok(()) => "ok\n".into_response(),
        Err(e) => {
            tracing::warn!("not ready: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: the store does not take writes: {e}\n"),
            )
                .into_response()
        }
    }
}

pub async fn scrape(State(app): State<Arc<App>>, req: Request) -> Response {
    let loopback = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    if !loopback && !app.keys.scrape_token_matches(req.headers()) {
        tracing::info!("metrics refused: not loopback and no valid scrape token");
        return (
            StatusCode::UNAUTHORIZED,
            "metrics: from loopback, or with `Authorization: Bearer TOKEN` ([serve] metrics_token)\n",
        )
            .into_response();
    }
    let Some(handle) = recorder() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics: no recorder\n").into_response();
    };
    if let Err(e) = app.engine.measure() {
        tracing::warn!("metrics: counting orders: {e}");
    }
    let clients = app.clients.load(std::sync::atomic::Ordering::Relaxed);
    metrics::gauge!(STREAM_CLIENTS).set(clients as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
