//! Group commit: alarms from every request wait in one queue; a writer thread takes all that
//! are waiting (up to [`MAX_GROUP`]), stores them in one transaction (one fsync), then answers
//! each request. Under load, groups grow and the fsync is shared; alone, an alarm is written at
//! once. What a request can do itself (labels to JSON, freeing the alarms) it does, so the one
//! writer thread does only the writing.

use std::sync::Arc;
use std::sync::mpsc;

use tokio::sync::{broadcast, oneshot};

use super::store::{AlarmStore, Ready, Stored};
use crate::{Change, now_ms};
use cocpit_api::model::alarm::AlarmIn;

/// The most alarms one transaction takes.
pub const MAX_GROUP: usize = 1024;

/// The answer, and the alarms given back to be freed by the request.
type Reply = oneshot::Sender<(Result<Vec<Stored>, String>, Vec<Ready>)>;

pub struct Writer {
    tx: mpsc::Sender<(Vec<Ready>, Reply)>,
}

/// One commit's measurements.
fn record(stored: &[Stored], took: std::time::Duration) {
    use crate::metric::*;
    metrics::histogram!(ALARM_COMMIT_SECONDS).record(took.as_secs_f64());
    metrics::histogram!(ALARM_COMMIT_SIZE).record(stored.len() as f64);
    metrics::counter!(ALARMS_RECEIVED).increment(stored.len() as u64);
    let dedup = stored.iter().filter(|s| s.deduplicated).count();
    metrics::counter!(ALARMS_DEDUPLICATED).increment(dedup as u64);
}

impl Writer {
    pub fn start(store: Arc<AlarmStore>, events: broadcast::Sender<Change>) -> Writer {
        let (tx, rx) = mpsc::channel::<(Vec<Ready>, Reply)>();
        std::thread::Builder::new()
            .name("alarm-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    let mut n = jobs[0].0.len();
                    while n < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(j) => {
                                n += j.0.len();
                                jobs.push(j);
                            }
                            Err(_) => break,
                        }
                    }
                    let all: Vec<&Ready> = jobs.iter().flat_map(|(a, _)| a.iter()).collect();
                    let began = std::time::Instant::now();
                    match store.write(&all, now_ms()) {
                        Ok(stored) => {
                            record(&stored, began.elapsed());
                            let changed: Vec<String> =
                                stored.iter().map(|s| s.alarm_id.clone()).collect();
                            let mut rest = stored.into_iter();
                            for (alarms, reply) in jobs {
                                let mine: Vec<Stored> = rest.by_ref().take(alarms.len()).collect();
                                let _ = reply.send((Ok(mine), alarms));
                            }
                            let _ = events.send(Change::AlarmsChanged { alarm_ids: changed });
                        }
                        Err(e) => {
                            for (alarms, reply) in jobs {
                                let _ = reply.send((Err(format!("alarm store: {e}")), alarms));
                            }
                        }
                    }
                }
            })
            .expect("start the alarm writer thread");
        Writer { tx }
    }

    /// Queues alarms and waits until they are on disk.
    pub async fn write(&self, alarms: Vec<AlarmIn>) -> Result<Vec<Stored>, String> {
        let ready = alarms.into_iter().map(Ready::new).collect();
        let (reply, done) = oneshot::channel();
        self.tx
            .send((ready, reply))
            .map_err(|_| "the alarm writer has stopped".to_string())?;
        let (stored, _freed_here) = done
            .await
            .map_err(|_| "the alarm writer has stopped".to_string())?;
        stored
    }
}
