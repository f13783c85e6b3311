//! The console's own costs, beyond a frame (see `frames.rs`):
//!
//! - `typing/2000_lines`: one keystroke in the middle of a 2 000-line script: the update
//!   (edit, validation, draft, scrolling, re-highlighting what changed in view) plus the frame
//!   it causes, at 160×48. Target (issue "The console"): ≤2 ms.
//! - `startup/1000_scripts_500_orders`: opening the local engine on a data directory holding
//!   1 000 scripts and 500 orders, loading what the first screen shows through the same
//!   effects the console runs, and drawing it. Target: ≤150 ms.
//!
//! Run: `cargo bench --bench console`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};

use cocpit::backend::prelude::*;
use cocpit::config::{Config, Host};
use cocpit::engine::Engine;
use cocpit::engine::Local;
use cocpit::model::order::*;
use cocpit::model::script::*;
use cocpit::tui::action::Action;
use cocpit::tui::keymap::Keymap;
use cocpit::tui::render::render;
use cocpit::tui::state::State;
use cocpit::tui::theme::Theme;
use cocpit::tui::update::{self, Effect, Msg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

fn state() -> State {
    let mut s = State::new("local engine".into(), Theme::default(), Keymap::default());
    s.screen = (160, 48);
    s
}

fn script_body(name: &str, content: String) -> AddScriptModel {
    AddScriptModel::shell(name, "bench", &content)
}

fn typing(c: &mut Criterion) {
    let content: String = (0..2000)
        .map(|i| {
            format!("if [ -n \"$HOST_{i}\" ]; then echo \"line {i}: $HOST_{i}\" # note {i}; fi\n")
        })
        .collect();
    let detail = ScriptDetailModel {
        script_uuid: "SC1".into(),
        name: "big".into(),
        version: "1".into(),
        description: "bench".into(),
        script_type: ScriptType::Shell,
        content,
        script_params: vec![],
        status: ScriptStatus::Approved,
        gmt_created: 0,
        gmt_modified: 0,
        creator: String::new(),
        creator_id: String::new(),
        operator: String::new(),
        properties: ScriptPropertiesModel {
            risk_level: RiskLevel::Low,
            version: "1".into(),
            reviewers: None,
            protocol: None,
        },
        enterprise_project_id: None,
    };
    let mut s = state();
    s.script = Some(cocpit::tui::state::ScriptView::new("SC1".into()));
    update::go(&mut s, cocpit::tui::state::Pane::Script);
    update::update(&mut s, Msg::Script("SC1".into(), Ok(Box::new(detail))));
    update::act(&mut s, Action::EditScript);
    // The middle of the file, as a user editing it would be.
    for _ in 0..1000 {
        update::update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Down)));
    }
    assert_eq!(s.editor.as_ref().map(|e| e.cursor().0), Some(1000));
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let mut n = 0u64;
    c.bench_function("typing/2000_lines/160x48", |b| {
        b.iter(|| {
            // Type and delete in turn, so the text stays the same size.
            n += 1;
            let k = if n % 2 == 0 {
                KeyCode::Backspace
            } else {
                KeyCode::Char('x')
            };
            let out = update::update(&mut s, Msg::Key(KeyEvent::from(k)));
            assert!(out.redraw);
            t.draw(|f| render(&s, f)).unwrap();
        })
    });
}

/// A data directory with 1 000 scripts and 500 finished orders.
fn populated(dir: &std::path::Path) -> Config {
    let mut cfg = Config::default();
    cfg.inventory.demo_fleet = 0;
    cfg.inventory.hosts = vec![Host::local("demo-01"), Host::local("demo-02")];
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let e = Engine::open(dir, &cfg.engine_setup()).unwrap();
        let mut first = String::new();
        for i in 0..1000 {
            let id = e
                .create_script(
                    script_body(&format!("task_{i:04}"), format!("echo {i}\n")),
                    &"bench".into(),
                )
                .unwrap();
            if i == 0 {
                first = id;
            }
        }
        let mut events = e.subscribe();
        let mut left = 500;
        for _ in 0..500 {
            let body = ScriptExecuteModel {
                execute_param: ScriptExecuteParam {
                    resourceful: true,
                    timeout: 60,
                    success_rate: 100.0,
                    execute_user: "root".into(),
                    script_params: vec![],
                },
                execute_batches: batches_of(
                    &["demo-01".to_string(), "demo-02".to_string()],
                    2,
                    RotationStrategy::Continue,
                ),
            };
            e.execute_script(&first, body, "bench").unwrap();
        }
        while left > 0 {
            if let Ok(cocpit::engine::Change::OrderChanged { status, .. }) = events.recv().await
                && status.is_terminal()
            {
                left -= 1;
            }
        }
    });
    cfg
}

fn startup(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = populated(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    c.bench_function("startup/1000_scripts_500_orders/160x48", |b| {
        b.iter(|| {
            rt.block_on(async {
                let engine = Engine::open(dir.path(), &cfg.engine_setup()).unwrap();
                let backend: Arc<dyn Backend> = Arc::new(Local::new(engine));
                let mut s = state();
                let loads = [
                    Effect::LoadScripts(cocpit::pages::PAGE),
                    Effect::LoadOrders(cocpit::pages::PAGE),
                    Effect::LoadResources,
                ]
                .map(|e| cocpit::tui::run_effect(backend.clone(), e));
                for msg in futures_join(loads).await {
                    update::update(&mut s, msg);
                }
                // The first page shows; the rest load as the selection nears the end.
                assert_eq!(s.scripts.items.len(), cocpit::pages::PAGE);
                assert!(s.scripts.more);
                t.draw(|f| render(&s, f)).unwrap();
            })
        })
    });
}

/// Runs the console's first loads concurrently, as its loop does.
async fn futures_join<F: std::future::Future<Output = Msg> + Send + 'static>(
    fs: [F; 3],
) -> Vec<Msg> {
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    let mut out = vec![];
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

criterion_group!(benches, typing, startup);
criterion_main!(benches);
