//! The server's live event stream (SSE), followed with backoff; a `Resync` after every gap.

use super::*;

impl Remote {
    /// Follows `/v1/cocpit/events` until the client is dropped, reconnecting with backoff.
    pub(crate) fn follow_events(&self) {
        let tx = self.events.clone();
        let link = self.link.clone();
        let me = Remote {
            link: self.link.clone(),
            options: self.options,
            endpoints: self.endpoints.clone(),
            label: self.label.clone(),
            pace: self.pace.clone(),
            token: self.token.clone(),
            http: self.http.clone(),
            operator: self.operator.clone(),
            creds: self.creds.clone(),
            events: tx.clone(),
        };
        tokio::spawn(async move {
            let mut failures = 0u32;
            let mut connected_before = false;
            loop {
                if tx.receiver_count() == 0 && connected_before {
                    return;
                }
                let req = me
                    .signed(me.endpoints.coc(), &Method::GET, EVENTS.path, "", b"")
                    .timeout(Duration::from_secs(24 * 3600));
                match req.send().await {
                    Ok(mut r) if r.status().is_success() => {
                        failures = 0;
                        link.send_replace("connected".into());
                        if connected_before {
                            // Events may have been missed meanwhile.
                            let _ = tx.send(Change::Resync);
                        }
                        connected_before = true;
                        let mut buf = String::new();
                        while let Ok(Some(chunk)) = r.chunk().await {
                            buf.push_str(&String::from_utf8_lossy(&chunk));
                            while let Some(end) = buf.find("\n\n") {
                                let frame: String = buf.drain(..end + 2).collect();
                                if let Some(ev) = parse_sse(&frame) {
                                    let _ = tx.send(ev);
                                }
                            }
                        }
                    }
                    // Real COC has no event stream: the console polls instead.
                    Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                        link.send_replace(POLLING.into());
                        return;
                    }
                    Ok(r) => {
                        failures += 1;
                        link.send_replace(format!("refused: HTTP {}", r.status().as_u16()));
                    }
                    Err(_) => failures += 1,
                }
                let wait = Duration::from_millis((250 * 2u64.pow(failures.min(6))).min(15_000));
                if failures > 0 {
                    let state = link.borrow().clone();
                    let why = if state.starts_with("refused") {
                        state
                    } else {
                        "offline".into()
                    };
                    let why = why.split(" · ").next().unwrap_or("offline").to_string();
                    link.send_replace(format!("{why} · retrying in {} s", wait.as_secs().max(1)));
                } else {
                    link.send_replace("reconnecting".into());
                }
                tokio::time::sleep(wait).await;
            }
        });
    }
}

/// One SSE frame: a `change` becomes its event, a `resync` a [`Change::Resync`].
pub(crate) fn parse_sse(frame: &str) -> Option<Change> {
    let mut kind = "message";
    let mut data = String::new();
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            kind = v.trim();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    match kind {
        "change" => serde_json::from_str(&data).ok(),
        "resync" => Some(Change::Resync),
        _ => None,
    }
}

/// The connection state of an endpoint without `/v1/cocpit/events`: the console polls it.
pub const POLLING: &str = "polling (no event stream)";
