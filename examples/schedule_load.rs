//! Scheduler scale: stores N enabled invokers with mixed crontab expressions, then times an
//! engine start until the schedule is loaded. `cargo run --release --example schedule_load [N]`

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
        let e = Engine::open(&dir, &config).expect("engine");
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
    let e = Engine::open(&dir, &config).expect("engine");
    let loaded = e.scheduled_invokers();
    println!(
        "engine start to schedule loaded: {:.1} ms ({loaded} invokers scheduled)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cocpit-schedule-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}
