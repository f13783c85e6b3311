//! `GET /v1/cocpit/events`: the engine's change events as Server-Sent Events.
//!
//! A client that falls behind gets a `resync` event with the number of events it missed and
//! should re-read what it shows; the stream never blocks the engine.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::App;

pub async fn stream(
    State(app): State<Arc<App>>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let events = BroadcastStream::new(app.engine.subscribe()).map(|e| {
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
    Sse::new(hello.chain(events)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
