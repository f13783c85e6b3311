//! The engine's idea of the time, injectable so schedules can be tested without waiting for
//! real minutes: the system clock in production, a manual one in tests.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Returns once `now() >= t`.
    async fn sleep_until(&self, t: DateTime<Utc>);
}

/// The real time.
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, t: DateTime<Utc>) {
        // Re-check after each sleep: the wall clock may have been changed meanwhile.
        loop {
            let left = t - Utc::now();
            match left.to_std() {
                Ok(d) if !d.is_zero() => tokio::time::sleep(d).await,
                _ => return,
            }
        }
    }
}

/// A clock that moves only when told to.
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    moved: Notify,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Mutex::new(start),
            moved: Notify::new(),
        }
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = t;
        self.moved.notify_waiters();
    }

    pub fn advance(&self, d: chrono::Duration) {
        let t = self.now() + d;
        self.set(t);
    }
}

#[async_trait::async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn sleep_until(&self, t: DateTime<Utc>) {
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            if self.now() >= t {
                return;
            }
            moved.await;
        }
    }
}
