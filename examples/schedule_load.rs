//! Scheduler scale: stores N enabled invokers with mixed crontab expressions, then times an
//! engine start until the schedule is loaded, and measures the CPU the running engine uses
//! between fires (a 10 s window inside a minute no expression fires in).
//! `cargo run --release --example schedule_load [N]`

use std::time::Instant;

use base64::Engine as _;
use cocpit::config::Config;
use cocpit::engine::Engine;
use cocpit::model::tat::*;

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile_dir();
    let config = Config::default();
    let crons = [
        "*/5 * * * *",
        "0 3 * * *",
        "30 23 * * 1-5",
        "0 0 1 * *",
        "15,45 * * * *",
        "0 */6 * * *",
    ];
    {
        let e = Engine::open(&dir, &config.engine_setup()).expect("engine");
        let cmd = e
            .create_command(&CreateCommandRequest {
                command_name: Some("bench".into()),
                content: Some(base64::engine::general_purpose::STANDARD.encode("true")),
                ..Default::default()
            })
            .expect("command");
        let t = Instant::now();
        for i in 0..n {
            e.create_invoker(&CreateInvokerRequest {
                name: Some(format!("bench-{i}")),
                invoker_type: Some("SCHEDULE".into()),
                command_id: Some(cmd.clone()),
                instance_ids: Some(vec!["demo-01".into()]),
                schedule_settings: Some(ScheduleSettings {
                    policy: "RECURRENCE".into(),
                    recurrence: Some(crons[i % crons.len()].into()),
                    invoke_time: None,
                }),
                ..Default::default()
            })
            .expect("invoker");
        }
        println!("created {n} invokers in {:.2} s", t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let e = Engine::open(&dir, &config.engine_setup()).expect("engine");
    let loaded = e.scheduled_invokers();
    println!(
        "engine start to schedule loaded: {:.1} ms ({loaded} invokers scheduled)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    idle_cpu(&e).await;
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

/// CPU time of this process so far (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Every expression above fires on a minute that is a multiple of 5; a window from second 1 to
/// 11 of any other minute is between fires.
async fn idle_cpu(e: &Engine) {
    use chrono::Timelike;
    loop {
        let now = chrono::Utc::now();
        if now.minute() % 5 != 0 && (1..=45).contains(&now.second()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let records = |e: &Engine| {
        e.describe_invoker_records(&DescribeRequest::default())
            .map(|d| d.total_count)
            .unwrap_or(0)
    };
    let (c0, r0, t) = (cpu_seconds(), records(e), Instant::now());
    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    let (c1, r1) = (cpu_seconds(), records(e));
    println!(
        "idle between fires: {:.0} ms CPU over {:.1} s ({:.2} %), {} fires meanwhile",
        (c1 - c0) * 1000.0,
        t.elapsed().as_secs_f64(),
        (c1 - c0) * 100.0 / t.elapsed().as_secs_f64(),
        r1 - r0
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cocpit-schedule-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}
