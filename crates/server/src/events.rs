//! `GET /v1/cocpit/events`: the engine's change events as Server-Sent Events.
//!
//! A client that falls behind gets a `resync` event with the number of events it missed and
//! should re-read what it shows; the stream never blocks the engine.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::App;

/// Counts a client following the stream while it is held.
struct Attached(Arc<App>);

impl Attached {
    fn new(app: Arc<App>) -> Attached {
        let n = app.clients.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!(clients = n, "a client attached");
        Attached(app)
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let n = self.0.clients.fetch_sub(1, Ordering::Relaxed) - 1;
        tracing::info!(clients = n, "a client detached");
        if n == 0
            && let Some(d) = &self.0.daemon
        {
            d.changed.notify_one();
        }
    }
}

pub async fn stream(
    State(app): State<Arc<App>>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let attached = Attached::new(app.clone());
    let events = BroadcastStream::new(app.engine.subscribe()).map(move |e| {
        let _held = &attached;
        Ok(match e {
            Ok(ev) => Event::default()
                .event("change")
                .json_data(&ev)
                .unwrap_or_else(|_| Event::default().comment("unserializable event")),
            Err(BroadcastStreamRecvError::Lagged(n)) => Event::default()
                .event("resync")
                .data(format!("{{\"missed\":{n}}}")),
        })
    });
    let hello = tokio_stream::once(Ok(Event::default().event("hello").data("{}")));
    // The stream ends when the server stops, so its connection can close.
    let closing = tokio_stream::wrappers::WatchStream::new(app.closing.subscribe())
        .filter(|c| *c)
        .map(|_| None);
    let events = hello
        .chain(events)
        .map(Some)
        .merge(closing)
        .take_while(Option::is_some)
        .map(Option::unwrap);
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
