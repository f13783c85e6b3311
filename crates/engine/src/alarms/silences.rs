//! Silences: made, listed, expired, and the ones in force now.

use super::*;
use crate::Fault;

impl Engine {
    /// The silences in force now, each compiled once.
    pub(super) fn active_silences(&self, now: i64) -> Result<Vec<Compiled>> {
        Ok(self
            .inner
            .alarms
            .store
            .silences(now)?
            .into_iter()
            .filter(|s| s.starts_at <= now)
            .map(Compiled::new)
            .collect())
    }

    pub fn silences(&self) -> Result<Vec<Silence>> {
        Ok(self.inner.alarms.store.silences(now_ms())?)
    }

    /// A silence of at most [`MAX_SILENCE_S`]: no overflow, none that ends before it starts.
    pub fn create_silence(&self, n: NewSilence) -> Result<Silence> {
        check_matchers(&n.matchers)?;
        length("author", &n.author, 1, 255)?;
        length("comment", &n.comment, 0, 1000)?;
        let now = now_ms();
        let ends_at = match (n.duration_s, n.ends_at) {
            (Some(d), _) if (1..=MAX_SILENCE_S).contains(&d) => now + d * 1000,
            (Some(d), _) => {
                return Err(invalid(
                    "duration_s",
                    format!("must be 1 to {MAX_SILENCE_S} seconds (a year; got {d})"),
                )
                .into());
            }
            (None, Some(e)) if e > now && e <= now + MAX_SILENCE_S * 1000 => e,
            (None, Some(_)) => {
                return Err(
                    invalid("ends_at", "must be in the future, at most a year away").into(),
                );
            }
            (None, None) => {
                return Err(invalid("duration_s", "a duration or ends_at is required").into());
            }
        };
        let s = Silence {
            id: format!("SIL{now}{:04}", fastrand::u16(..10_000)),
            matchers: n.matchers,
            author: n.author,
            comment: n.comment,
            starts_at: now,
            ends_at,
            created_at: now,
        };
        self.inner.alarms.store.insert_silence(&s)?;
        self.changed(vec![]);
        Ok(s)
    }

    pub fn expire_silence(&self, id: &str) -> Result<()> {
        if !self.inner.alarms.store.expire_silence(id, now_ms())? {
            return Err(EngineError(Fault::NotFound(format!(
                "silence: no silence {id}"
            ))));
        }
        self.changed(vec![]);
        Ok(())
    }
}
