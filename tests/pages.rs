//! Marker paging as streams of pages, over the local engine and over HTTP alike; and the
//! console asking for another page when the selection nears the end.

mod common;

use cocpit::backend::prelude::*;
use cocpit::engine::Local;
use cocpit::model::script::*;
use cocpit::pages::{self, PAGE};
use cocpit::tui::state::Pane;
use cocpit::tui::update::{self, Effect, Msg};
use common::server::{AK, PROJECT, SK, Server};
use futures_util::TryStreamExt;

fn new_script(i: usize) -> AddScriptModel {
    AddScriptModel::shell(&format!("paged_{i:03}"), "paged", "echo\n")
}

async fn pages_of_250(b: &dyn Backend) {
    for i in 0..250 {
        b.create_script(new_script(i)).await.unwrap();
    }
    let sizes: Vec<usize> = pages::scripts(b, ListScriptsQuery::default())
        .map_ok(|p| p.len())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(sizes, vec![PAGE, PAGE, 50]);
    // Every script once, in one order.
    let all: Vec<Vec<ScriptListModel>> = pages::scripts(b, ListScriptsQuery::default())
        .try_collect()
        .await
        .unwrap();
    let mut names: Vec<String> = all.concat().into_iter().map(|s| s.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 250);
    // The console's "at least N": whole pages, and whether the server has more.
    let (rows, more) = pages::at_least(pages::scripts(b, ListScriptsQuery::default()), 150)
        .await
        .unwrap();
    assert_eq!((rows.len(), more), (200, true));
    let (rows, more) = pages::at_least(pages::scripts(b, ListScriptsQuery::default()), 1000)
        .await
        .unwrap();
    assert_eq!((rows.len(), more), (250, false));
    // A filter travels with every page.
    let q = ListScriptsQuery {
        name_like: Some("paged_1".into()),
        ..Default::default()
    };
    let (rows, more) = pages::at_least(pages::scripts(b, q), 1000).await.unwrap();
    assert_eq!((rows.len(), more), (100, false));
}

#[tokio::test(flavor = "multi_thread")]
async fn scripts_come_in_pages_locally_and_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let engine = cocpit::engine::Engine::open(
        &dir.path().join("local"),
        &cocpit::config::Config::default().engine_setup(),
    )
    .unwrap();
    pages_of_250(&Local::new(engine)).await;

    let srv = Server::start(&dir.path().join("served"));
    let remote = cocpit::client::connect(
        &srv.base,
        cocpit::client::Credentials {
            ak: AK.into(),
            sk: SK.into(),
            project_id: Some(PROJECT.into()),
            ..Default::default()
        },
    )
    .unwrap();
    pages_of_250(&remote).await;
}

#[test]
fn the_console_asks_for_another_page_near_the_end() {
    let mut s = common::tui::state();
    let rows: Vec<ScriptListModel> = (0..PAGE as i64)
        .map(|i| ScriptListModel {
            id: i,
            script_uuid: format!("SC{i:03}"),
            name: format!("s{i:03}"),
            script_type: ScriptType::Shell,
            status: ScriptStatus::Approved,
            gmt_created: 0,
            gmt_modified: 0,
            creator: "ops".into(),
            creator_id: "ops".into(),
            operator: "ops".into(),
            properties: ScriptPropertiesModel {
                risk_level: RiskLevel::Low,
                version: "1".into(),
                reviewers: None,
                protocol: None,
            },
            enterprise_project_id: None,
        })
        .collect();
    update::update(&mut s, Msg::Scripts(Ok(rows), true));
    assert_eq!(s.pane, Pane::Scripts);
    assert!(
        common::tui::draw(&s, 80, 24)
            .to_string()
            .contains("scripts 100/100+"),
        "the status line says there are more"
    );
    let key = |c| ratatui::crossterm::event::KeyEvent::from(c);
    let out = update::update(
        &mut s,
        Msg::Key(key(ratatui::crossterm::event::KeyCode::Char('G'))),
    );
    assert_eq!(out.effects, vec![Effect::LoadScripts(2 * PAGE)]);
    // Until that page arrives, moving again does not ask twice.
    let out = update::update(
        &mut s,
        Msg::Key(key(ratatui::crossterm::event::KeyCode::Char('k'))),
    );
    assert!(out.effects.is_empty(), "{:?}", out.effects);
}
