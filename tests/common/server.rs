//! A real `cocpit serve` process and a client that signs its requests with SDK-HMAC-SHA256.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cocpit::sign::huawei;
use serde_json::Value;

pub const AK: &str = "TESTAK00000000000001";
pub const SK: &str = "test-secret-key-0001";
pub const PROJECT: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
pub const TC_ID: &str = "AKIDtest000000000000000000000000001";
pub const TC_KEY: &str = "test-tencent-key-0001";

pub struct Server {
    pub child: Child,
    pub base: String,
    pub host: String,
}

/// The binary, with its local engine inside each command (as most tests want it; the engine
/// process has tests of its own).
pub fn cocpit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cocpit"));
    c.env("COCPIT_IN_PROCESS", "1");
    c
}

/// Spawns `cmd` (a `cocpit serve` on port 0; stdout is piped here) and reads its first line:
/// the process and the base URL it serves.
pub fn spawn_serving(mut cmd: Command) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn cocpit serve");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    (child, base)
}

impl Server {
    /// Starts `cocpit serve` on a free loopback port with `data` as its data directory.
    pub fn start(data: &Path) -> Server {
        Self::start_with(data, &[])
    }

    /// [`Server::start`] with extra environment for the server process.
    pub fn start_with(data: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_full(data, env, Stdio::null())
    }

    /// [`Server::start`] with its log (standard error, every request at info) in `log`.
    pub fn start_logging(data: &Path, log: &Path) -> Server {
        let file = std::fs::File::create(log).unwrap();
        Self::start_full(data, &[("RUST_LOG", "info")], Stdio::from(file))
    }

    fn start_full(data: &Path, env: &[(&str, &str)], stderr: Stdio) -> Server {
        let config = data.with_extension("toml");
        if !config.exists() {
            std::fs::write(&config, "[inventory]\ndemo_fleet = 4\n").unwrap();
        }
        let mut cmd = cocpit();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--init", "--data"])
            .arg(data)
            .arg("--config")
            .arg(&config)
            .env("COCPIT_SERVE_AK", AK)
            .env("COCPIT_SERVE_SK", SK)
            .env("COCPIT_SERVE_PROJECT_ID", PROJECT)
            .env("COCPIT_SERVE_TC_SECRET_ID", TC_ID)
            .env("COCPIT_SERVE_TC_SECRET_KEY", TC_KEY)
            .envs(env.iter().copied())
            .stderr(stderr);
        let (child, base) = spawn_serving(cmd);
        let host = base.trim_start_matches("http://").to_string();
        Server { child, base, host }
    }

    /// SIGTERM, as systemd stops a service; waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.child.wait().unwrap()
    }

    /// kill -9: no chance to clean up.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn client(&self) -> Api {
        Api {
            base: self.base.clone(),
            host: self.host.clone(),
            http: reqwest::Client::new(),
            ak: AK.into(),
            sk: SK.into(),
        }
    }

    /// A client that signs with another key pair.
    pub fn client_as(&self, ak: &str, sk: &str) -> Api {
        Api {
            ak: ak.into(),
            sk: sk.into(),
            ..self.client()
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Api {
    pub base: String,
    pub host: String,
    pub http: reqwest::Client,
    pub ak: String,
    pub sk: String,
}

impl Api {
    pub fn signed(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> reqwest::RequestBuilder {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let date = chrono::Utc::now().format(huawei::DATE_FORMAT).to_string();
        // A signed request id, as cocpit's client sends: equal writes in one second stay two
        // writes (the server accepts each signature once).
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Host".to_string(), self.host.clone()),
            ("X-Project-Id".to_string(), PROJECT.to_string()),
            (
                "X-Request-Id".to_string(),
                format!("{:032x}", fastrand::u128(..)),
            ),
            ("X-Sdk-Date".to_string(), date),
        ];
        let auth = huawei::authorization(&self.ak, &self.sk, method, path, query, &headers, body);
        let mut req = self
            .http
            .request(
                method.parse().unwrap(),
                format!("{}{}", self.base, path_and_query),
            )
            .body(body.to_vec())
            .header("Authorization", auth);
        for (k, v) in headers.iter().filter(|(k, _)| k != "Host") {
            req = req.header(k, v);
        }
        req
    }

    pub async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let r = self
            .signed(method, path_and_query, &bytes)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A TAT action (`POST /`, TC3-HMAC-SHA256): the `Response` object.
    pub async fn tat(&self, action: &str, body: Value) -> Value {
        self.tat_as(TC_ID, TC_KEY, action, body).await
    }

    /// [`Api::tat`] signed with another Tencent key pair.
    pub async fn tat_as(&self, id: &str, key: &str, action: &str, body: Value) -> Value {
        use cocpit::sign::tencent;
        let bytes = serde_json::to_vec(&body).unwrap();
        let ts = chrono::Utc::now().timestamp();
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Host".to_string(), self.host.clone()),
        ];
        let auth = tencent::authorization(id, key, "tat", ts, "POST", "", &headers, &bytes);
        let r = self
            .http
            .post(format!("{}/", self.base))
            .header("Content-Type", "application/json")
            .header("Authorization", auth)
            .header("X-TC-Action", action)
            .header("X-TC-Version", "2020-10-28")
            .header("X-TC-Timestamp", ts.to_string())
            .header("X-TC-Region", "ap-guangzhou")
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "TAT always answers 200");
        let v: Value = r.json().await.unwrap();
        v["Response"].clone()
    }

    /// A TAT action by GET (TC3 signs the query string): the HTTP status and the `Response`.
    pub async fn tat_get(&self, action: &str, query: &str, key: &str) -> (u16, Value) {
        use cocpit::sign::tencent;
        let ts = chrono::Utc::now().timestamp();
        let headers = vec![
            (
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("Host".to_string(), self.host.clone()),
        ];
        let auth = tencent::authorization(TC_ID, key, "tat", ts, "GET", query, &headers, b"");
        let r = self
            .http
            .get(format!("{}/?{query}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Authorization", auth)
            .header("X-TC-Action", action)
            .header("X-TC-Version", "2020-10-28")
            .header("X-TC-Timestamp", ts.to_string())
            .header("X-TC-Region", "ap-guangzhou")
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert_eq!(
            r.headers()["content-type"],
            "application/json",
            "the SDK reads an error only from exactly this type"
        );
        let v: Value = r.json().await.unwrap();
        (status, v["Response"].clone())
    }

    /// Polls `path` until `pred` holds on its JSON answer.
    pub async fn until(&self, path: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + super::PATIENCE;
        loop {
            let (status, v) = self.call("GET", path, None).await;
            assert_eq!(status, 200, "GET {path}: {v}");
            if pred(&v) {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {v}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn ok(&self, method: &str, path_and_query: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path_and_query, body).await;
        assert_eq!(status, 200, "{method} {path_and_query}: {v}");
        v["data"].clone()
    }

    /// Polls an order until `pred` holds on (order, instances of every batch).
    pub async fn wait(
        &self,
        eid: &str,
        what: &str,
        pred: impl Fn(&Value, &[Value]) -> bool,
    ) -> (Value, Vec<Value>) {
        let deadline = tokio::time::Instant::now() + super::PATIENCE;
        loop {
            let order = self
                .ok("GET", &format!("/v1/job/script/orders/{eid}"), None)
                .await;
            let mut insts = vec![];
            for b in self
                .ok("GET", &format!("/v1/job/script/orders/{eid}/batches"), None)
                .await
                .as_array()
                .unwrap()
            {
                let d = self
                    .ok(
                        "GET",
                        &format!(
                            "/v1/job/script/orders/{eid}/batches/{}?limit=100",
                            b["batch_index"]
                        ),
                        None,
                    )
                    .await;
                insts.extend(d["execute_instances"].as_array().unwrap().iter().cloned());
            }
            if pred(&order, &insts) {
                return (order, insts);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {order} {insts:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The instance on `host` among `insts`.
pub fn on<'a>(insts: &'a [Value], host: &str) -> &'a Value {
    insts
        .iter()
        .find(|i| i["target_instance"]["resource_id"] == host)
        .unwrap_or_else(|| panic!("no instance on {host}"))
}
