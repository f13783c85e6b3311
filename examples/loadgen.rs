//! A small HTTP load generator for `benches/alarms.sh`: keep-alive connections, a fixed
//! concurrency, one request at a time per connection, for a fixed time. `{n}` in the body is
//! replaced by a counter so every request carries a distinct alert.
//!
//! Usage: loadgen URL BODY_FILE CONCURRENCY SECONDS [FIRST]  (the counter starts at FIRST, 0
//! unless given, so that repeated runs send new alerts)
//! Prints: `requests=N ok=N errors=N rps=X p50_ms=X p99_ms=X`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !(5..=6).contains(&args.len()) {
        eprintln!("usage: loadgen URL BODY_FILE CONCURRENCY SECONDS [FIRST]");
        std::process::exit(2);
    }
    let url = args[1].clone();
    let body = Arc::new(std::fs::read_to_string(&args[2]).expect("body file"));
    let conc: usize = args[3].parse().expect("concurrency");
    let secs: u64 = args[4].parse().expect("seconds");
    let first: u64 = args.get(5).map_or(0, |f| f.parse().expect("first"));
    let counter = Arc::new(AtomicU64::new(first));
    let end = Instant::now() + Duration::from_secs(secs);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conc)
        .build()
        .unwrap();
    let mut tasks = vec![];
    for _ in 0..conc {
        let (client, url, body, counter) =
            (client.clone(), url.clone(), body.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            let (mut ok, mut err) = (0u64, 0u64);
            while Instant::now() < end {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let b = body.replace("{n}", &n.to_string());
                let t = Instant::now();
                match client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .body(b)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok += 1;
                    }
                    _ => err += 1,
                }
                lat.push(t.elapsed());
            }
            (lat, ok, err)
        }));
    }
    let start = Instant::now();
    let (mut lat, mut ok, mut err) = (vec![], 0, 0);
    for t in tasks {
        let (l, o, e) = t.await.unwrap();
        lat.extend(l);
        ok += o;
        err += e;
    }
    let took = start.elapsed().as_secs_f64().max(secs as f64);
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    println!(
        "requests={} ok={ok} errors={err} rps={:.0} p50_ms={:.2} p99_ms={:.2}",
        lat.len(),
        ok as f64 / took,
        pct(0.50),
        pct(0.99)
    );
}
