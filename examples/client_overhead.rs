//! The remote client's cost per request against a running `cocpit serve`, for
//! `benches/client.sh`: `client_overhead curl-config ENDPOINT N FILE` writes a curl config that
//! sends the same signed list request N times on one kept-alive connection;
//! `client_overhead time ENDPOINT N` sends it N times through the client (signing each, decoding
//! the answer into the model types) and prints the microseconds per request.
//! Keys come from COCPIT_SERVE_AK / COCPIT_SERVE_SK / COCPIT_SERVE_PROJECT_ID.

use std::time::Instant;

use cocpit::backend::prelude::*;
use cocpit::client::{Credentials, Endpoints, Options, Remote};
use cocpit::model::script::ListScriptsQuery;
use cocpit::sign::huawei;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

const PATH: &str = "/v1/job/scripts";
const QUERY: &str = "limit=20";

// The runtime the CLI uses for a command against an endpoint.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, endpoint, n) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
    let (ak, sk, project) = (
        env("COCPIT_SERVE_AK"),
        env("COCPIT_SERVE_SK"),
        env("COCPIT_SERVE_PROJECT_ID"),
    );
    match mode.as_str() {
        "curl-config" => {
            // One signature serves every request: the server accepts a date within 15 minutes.
            let host = endpoint.trim_start_matches("http://");
            let date = chrono::Utc::now().format(huawei::DATE_FORMAT).to_string();
            let headers = vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                ("Host".to_string(), host.to_string()),
                ("X-Sdk-Date".to_string(), date.clone()),
                ("X-Project-Id".to_string(), project.clone()),
            ];
            let auth = huawei::authorization(&ak, &sk, "GET", PATH, QUERY, &headers, b"");
            let mut cfg = format!(
                "silent\nfail\nheader = \"Content-Type: application/json\"\nheader = \"X-Sdk-Date: {date}\"\nheader = \"X-Project-Id: {project}\"\nheader = \"Authorization: {auth}\"\n"
            );
            for _ in 0..n {
                cfg.push_str(&format!(
                    "url = \"{endpoint}{PATH}?{QUERY}\"\noutput = \"/dev/null\"\n"
                ));
            }
            std::fs::write(&args[4], cfg).unwrap();
        }
        "time" => {
            let creds = Credentials {
                ak,
                sk,
                project_id: Some(project),
                ..Default::default()
            };
            // Without the event stream: only the requests are measured.
            let endpoints = Endpoints::single("endpoint", endpoint).unwrap();
            let client =
                Remote::new(endpoints, endpoint.clone(), creds, Options::default()).unwrap();
            let q = || ListScriptsQuery {
                limit: Some(20),
                ..Default::default()
            };
            client.list_scripts(q()).await.unwrap();
            let t = Instant::now();
            for _ in 0..n {
                client.list_scripts(q()).await.unwrap();
            }
            println!("{:.1}", t.elapsed().as_secs_f64() * 1e6 / n as f64);
        }
        other => panic!("unknown mode {other}"),
    }
}
