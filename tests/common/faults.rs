//! A fault-injecting HTTP proxy on 127.0.0.1 in front of a real `cocpit serve`. Requests pass
//! through byte for byte (the Host the client signed included) unless a rule matches; each
//! rule acts once. Every request is logged with when it arrived.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub enum Fault {
    /// Close the connection without answering; the request never reaches the server.
    Drop,
    /// Answer this status with these headers, without reaching the server.
    Status(u16, Vec<(&'static str, String)>),
    /// Wait this long, then pass the request on.
    Slow(Duration),
    /// Pass the request on, then send only half of the answer's body.
    Truncate,
    /// Answer 200 with a body that is not JSON.
    InvalidJson,
    /// Pass the request on, then close without answering: it happened, the client cannot know.
    LoseAnswer,
}

#[derive(Debug, Clone)]
pub struct Seen {
    /// `METHOD /path` (no query).
    pub request: String,
    /// The request line and headers as sent.
    pub head: String,
    pub at: Instant,
}

pub struct Proxy {
    pub base: String,
    rules: Arc<Mutex<Vec<(String, Fault)>>>,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Proxy {
    /// Listens on a free port and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let rules: Arc<Mutex<Vec<(String, Fault)>>> = Arc::default();
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (r, l, up) = (rules.clone(), log.clone(), upstream.to_string());
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, up.clone(), r.clone(), l.clone()));
            }
        });
        Proxy { base, rules, log }
    }

    /// The next request starting with `prefix` (`"GET /v1/job/scripts"`) gets `fault`.
    pub fn on(&self, prefix: &str, fault: Fault) {
        self.rules.lock().unwrap().push((prefix.to_string(), fault));
    }

    /// Requests seen starting with `prefix`.
    pub fn seen(&self, prefix: &str) -> Vec<Seen> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.request.starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// One request off the connection: its head and body, or `None` at its end.
async fn read_request(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// Sends the request upstream on its own connection and reads the whole answer.
async fn forward(upstream: &str, head: &str, body: &[u8]) -> Vec<u8> {
    let mut up = TcpStream::connect(upstream).await.unwrap();
    // One answer per upstream connection: it ends at EOF, whatever its framing.
    let head = head.replacen("\r\n", "\r\nConnection: close\r\n", 1);
    up.write_all(head.as_bytes()).await.unwrap();
    up.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).await.unwrap();
    answer
}

async fn serve(
    mut conn: TcpStream,
    upstream: String,
    rules: Arc<Mutex<Vec<(String, Fault)>>>,
    log: Arc<Mutex<Vec<Seen>>>,
) {
    // One request per connection: every answer says `Connection: close`.
    let Some((head, body)) = read_request(&mut conn).await else {
        return;
    };
    let line = head.lines().next().unwrap_or("").to_string();
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("").split('?').next().unwrap_or("");
    let request = format!("{method} {path}");
    log.lock().unwrap().push(Seen {
        request: request.clone(),
        head: head.clone(),
        at: Instant::now(),
    });
    let fault = {
        let mut rules = rules.lock().unwrap();
        rules
            .iter()
            .position(|(p, _)| request.starts_with(p.as_str()))
            .map(|i| rules.remove(i).1)
    };
    let answer = match fault {
        None => forward(&upstream, &head, &body).await,
        Some(Fault::Drop) => return,
        Some(Fault::LoseAnswer) => {
            forward(&upstream, &head, &body).await;
            return;
        }
        Some(Fault::Status(code, headers)) => {
            let mut a = format!(
                "HTTP/1.1 {code} Injected\r\nContent-Length: 0\r\nConnection: close\r\n"
            );
            for (k, v) in headers {
                a.push_str(&format!("{k}: {v}\r\n"));
            }
            a.push_str("\r\n");
            a.into_bytes()
        }
        Some(Fault::Slow(d)) => {
            tokio::time::sleep(d).await;
            forward(&upstream, &head, &body).await
        }
        Some(Fault::InvalidJson) => {
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{not json"
                .to_vec()
        }
        Some(Fault::Truncate) => {
            let full = forward(&upstream, &head, &body).await;
            let end = full.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let keep = end + (full.len() - end) / 2;
            let _ = conn.write_all(&full[..keep]).await;
            return;
        }
    };
    let _ = conn.write_all(&answer).await;
}
