//! The console. Input → [`Action`](action::Action) → [`update`](update::update) →
//! [`render`](render::render); backend calls run as tasks that report back on a channel, engine
//! events arrive on another. The loop drains everything pending, applies it, and draws once if
//! something visible changed (at most ~60 frames a second), inside a synchronized update. Nothing
//! ticks: an idle console draws nothing (the header clock wakes it once a minute).

pub mod action;
pub mod editor;
pub mod keymap;
mod panes;
pub mod render;
pub mod settings;
pub mod state;
pub mod theme;
pub mod update;
mod widgets;

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::execute;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;

use cocpit_api::backend::prelude::*;
use cocpit_api::model::script::ListScriptsQuery;
use cocpit_api::model::tat;
use state::State;
use update::{Effect, Msg, ScriptSave};

/// Whether the terminal says it shows 24-bit colour.
pub fn truecolor() -> bool {
    std::env::var("COLORTERM").is_ok_and(|v| v == "truecolor" || v == "24bit")
}

/// The theme the config names: a shipped one, or a TOML file.
pub fn load_theme(name: &str) -> Result<theme::Theme, String> {
    if let Some(t) = theme::Theme::shipped(name) {
        return Ok(t);
    }
    let text = std::fs::read_to_string(name)
        .map_err(|e| format!("ui.theme {name:?}: not a shipped theme (dark, light, high-contrast) and not a readable file: {e}"))?;
    theme::Theme::parse(name, &text)
}

/// Builds the starting state from the config and the terminal's abilities.
pub fn initial_state(
    backend: String,
    ui: &settings::Ui,
    keys: &std::collections::BTreeMap<String, String>,
) -> Result<State, String> {
    let keymap = keymap::Keymap::with_overrides(keys)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme =
        load_theme(ui.theme.as_deref().unwrap_or("dark"))?.for_terminal(no_color, truecolor());
    let mut s = State::new(backend, theme, keymap);
    s.utc_offset = cocpit_api::format::local_offset();
    s.clock = chrono::Local::now().format("%H:%M").to_string();
    Ok(s)
}

/// Restores the terminal however the console ends.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> std::io::Result<(TerminalGuard, ratatui::DefaultTerminal)> {
        let terminal = ratatui::try_init()?;
        execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)?;
        Ok((TerminalGuard, terminal))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
        ratatui::restore();
    }
}

/// Runs a backend call and turns its answer into a message.
pub async fn run_effect(b: Arc<dyn Backend>, e: Effect) -> Msg {
    let err = |e: cocpit_api::backend::Error| e.to_string();
    match e {
        Effect::LoadScripts(want) => {
            let pages = cocpit_api::pages::scripts(b.as_ref(), ListScriptsQuery::default());
            match cocpit_api::pages::at_least(pages, want).await {
                Ok((rows, more)) => Msg::Scripts(Ok(rows), more),
                Err(e) => Msg::Scripts(Err(err(e)), false),
            }
        }
        Effect::LoadOrders(want) => {
            let pages = cocpit_api::pages::orders(b.as_ref(), Default::default());
            match cocpit_api::pages::at_least(pages, want).await {
                Ok((rows, more)) => Msg::Orders(Ok(rows), more),
                Err(e) => Msg::Orders(Err(err(e)), false),
            }
        }
        Effect::LoadResources => {
            let q = cocpit_api::model::resource::ListResourcesQuery {
                provider: Some("ecs".into()),
                resource_type: Some("cloudservers".into()),
                limit: Some(100),
                ..Default::default()
            };
            Msg::Resources(b.list_resources(q).await.map_err(err))
        }
        Effect::LoadOrder(eid) => {
            let snap = b.order_snapshot(&eid).await;
            Msg::Order(eid, snap.map(Box::new).map_err(err))
        }
        Effect::LoadScriptParams(uuid) => {
            let params = b
                .get_script(&uuid)
                .await
                .map(|d| d.script_params)
                .map_err(err);
            Msg::ScriptParams(uuid, params)
        }
        Effect::Operate { execute_uuid, op } => {
            let what = op.operation_type;
            Msg::Done(
                b.operate(&execute_uuid, op)
                    .await
                    .map(|_| format!("{what} done"))
                    .map_err(err),
            )
        }
        Effect::Execute { script_uuid, body } => match b.execute_script(&script_uuid, body).await {
            Ok(eid) => Msg::Started(eid),
            Err(e) => Msg::Done(Err(format!("not started: {}", err(e)))),
        },
        Effect::LoadScript(uuid) => {
            let r = b.get_script(&uuid).await.map(Box::new).map_err(err);
            Msg::Script(uuid, r)
        }
        Effect::SaveScript { draft_key, save } => {
            let result = match *save {
                ScriptSave::Create(body) => b.create_script(body).await,
                ScriptSave::Update(uuid, body) => b.update_script(&uuid, body).await.map(|_| uuid),
            }
            .map_err(err);
            Msg::Saved { draft_key, result }
        }
        Effect::DeleteScript(uuid) => {
            Msg::Deleted(b.delete_script(&uuid).await.map(|_| uuid).map_err(err))
        }
        Effect::LoadLog {
            execute_uuid,
            instance_id,
        } => {
            let r = b
                .instance_log(&execute_uuid, instance_id)
                .await
                .map_err(err);
            Msg::Log(execute_uuid, instance_id, r)
        }
        Effect::Triage(t) => Msg::Triage(run_triage(b, t).await),
        Effect::Ops(o) => Msg::Ops(run_ops(b, o).await),
        Effect::SaveDraft(_)
        | Effect::RemoveDraft(_)
        | Effect::ExternalEdit { .. }
        | Effect::Copy(_)
        | Effect::SaveLog { .. } => {
            unreachable!("run by the loop itself")
        }
    }
}

/// Agent, desktop and invoker work on the backend.
async fn run_ops(b: Arc<dyn Backend>, o: update::OpsEffect) -> update::OpsMsg {
    use cocpit_api::model::agent::BatchCreateInvocationRequestBody;
    use update::{OpsEffect as E, OpsMsg as M};
    let err = |e: cocpit_api::backend::Error| e.to_string();
    match o {
        E::LoadAgents => M::Agents(
            async {
                let agents = b.agents().await?;
                let tasks = b
                    .list_agent_invocations(cocpit_api::model::agent::ListAgentInvocationsQuery {
                        limit: Some(update::AGENT_TASKS_SHOWN),
                        ..Default::default()
                    })
                    .await?;
                Ok((agents, tasks.invocations))
            }
            .await
            .map_err(err),
        ),
        E::LoadDesktops => M::Desktops(
            b.desktop_agents()
                .await
                .map(|r| r.agents_condition)
                .map_err(err),
        ),
        E::LoadInvokers => M::Invokers(
            b.describe_invokers(cocpit_api::model::tat::DescribeRequest {
                limit: Some(100),
                ..Default::default()
            })
            .await
            .map(|d| d.set)
            .map_err(err),
        ),
        E::Agent { kind, ids } => {
            let on_tasks = matches!(kind, "ROLLBACK" | "RETRY");
            let body = BatchCreateInvocationRequestBody {
                instance_ids: (!on_tasks).then(|| ids.clone()),
                invocation_ids: on_tasks.then(|| ids.clone()),
                invocation_type: kind.into(),
                ..Default::default()
            };
            M::Done(match b.create_agent_invocations(body).await {
                Ok(answers) => {
                    let refused: Vec<String> = answers
                        .iter()
                        .filter(|a| a.ret_status != "successful")
                        .map(|a| {
                            format!(
                                "{}: {}",
                                a.instance_id,
                                a.error_msg.as_deref().unwrap_or("refused")
                            )
                        })
                        .collect();
                    if refused.is_empty() {
                        Ok(format!("{kind} started ({} task(s))", answers.len()))
                    } else {
                        Err(format!("{kind}: {}", refused.join("; ")))
                    }
                }
                Err(e) => Err(err(e)),
            })
        }
        E::InstallDesktops(ids) => M::Done(
            b.install_desktop_agents(ids)
                .await
                .map(|job| format!("install job {job} started"))
                .map_err(err),
        ),
        E::SetInvoker { id, enable } => M::Done(
            b.set_invoker_enabled(&id, enable)
                .await
                .map(|()| format!("{id} {}", if enable { "enabled" } else { "disabled" }))
                .map_err(err),
        ),
        E::DeleteInvoker(id) => M::Done(
            b.delete_invoker(&id)
                .await
                .map(|()| format!("{id} deleted"))
                .map_err(err),
        ),
        E::CreateInvoker { script, request } => M::Created(
            create_invoker(b.as_ref(), script, *request)
                .await
                .map_err(err),
        ),
        E::LoadRecords(id) => {
            let r = b
                .invoker_records(tat::DescribeRequest {
                    invoker_ids: Some(vec![id.clone()]),
                    limit: Some(100),
                    ..Default::default()
                })
                .await
                .map(|d| d.set)
                .map_err(err);
            M::Records(id, r)
        }
        E::LoadTasks(inv) => {
            let r = b
                .invocation_tasks(tat::DescribeRequest {
                    filters: Some(vec![tat::Filter {
                        name: "invocation-id".into(),
                        values: vec![inv.clone()],
                    }]),
                    limit: Some(100),
                    hide_output: Some(false),
                    ..Default::default()
                })
                .await
                .map(|d| d.set)
                .map_err(err);
            M::Tasks(inv, r)
        }
    }
}

/// Creates an invoker, first making its command from a shell line when one was typed.
async fn create_invoker(
    b: &dyn Backend,
    script: Option<String>,
    mut request: tat::CreateInvokerRequest,
) -> Result<String, cocpit_api::backend::Error> {
    use base64::Engine as _;
    if let Some(script) = script {
        let name: String = request
            .name
            .as_deref()
            .unwrap_or("invoker")
            .chars()
            .take(tat::MAX_COMMAND_NAME)
            .collect();
        let id = b
            .create_command(tat::CreateCommandRequest {
                command_name: Some(name),
                content: Some(base64::engine::general_purpose::STANDARD.encode(script)),
                command_type: Some("SHELL".into()),
                ..Default::default()
            })
            .await?;
        request.command_id = Some(id);
    }
    b.create_invoker(request).await
}

/// Alarm and incident work on the backend.
async fn run_triage(b: Arc<dyn Backend>, t: update::TriageEffect) -> update::TriageMsg {
    use cocpit_api::model::alarm::ListAlarmsQuery;
    use cocpit_api::model::incident::ListIncidentsQuery;
    use update::{TriageEffect as E, TriageMsg as M};
    let err = |e: cocpit_api::backend::Error| e.to_string();
    let done = |r: Result<String, cocpit_api::backend::Error>| M::Done(r.map_err(err));
    match t {
        E::LoadAlarms => {
            let mut all = vec![];
            let mut marker = None;
            loop {
                // The newest are what matters in a storm; memory stays bounded.
                if all.len() >= update::MAX_LOADED_ALARMS {
                    return M::Alarms(Ok(all), true);
                }
                let q = ListAlarmsQuery {
                    limit: Some(1000),
                    include_silenced: Some(true),
                    marker,
                    ..Default::default()
                };
                match b.list_alarms(q).await {
                    Ok((page, next)) => {
                        all.extend(page);
                        match next {
                            Some(m) => marker = Some(m),
                            None => return M::Alarms(Ok(all), false),
                        }
                    }
                    Err(e) => return M::Alarms(Err(err(e)), false),
                }
            }
        }
        E::LoadAlarmsById(ids) => M::AlarmsUpdated(b.alarms(&ids).await.map_err(err)),
        E::LoadAlarmGroups => M::AlarmGroups(b.alarm_groups().await.map_err(err)),
        E::LoadIncidents => {
            let q = ListIncidentsQuery {
                limit: Some(1000),
                ..Default::default()
            };
            M::Incidents(b.list_incidents(q).await.map(|p| p.data).map_err(err))
        }
        E::LoadIncident(num) => {
            let r = b.incident_detail(&num).await.map(Box::new).map_err(err);
            M::Incident(num, r)
        }
        E::Ack(ids) => done(
            b.ack_alarms(&ids)
                .await
                .map(|n| format!("{n} alarm(s) acknowledged")),
        ),
        E::Clear(ids) => done(
            b.clear_alarms(&ids, "cleared from the console")
                .await
                .map(|v| format!("{} alarm(s) cleared", v.len())),
        ),
        E::ToIncident(t) => M::Created(b.alarms_to_incident(*t).await.map_err(err)),
        E::Silence(n) => done(b.create_silence(n).await.map(|s| {
            format!(
                "silence {} until {}",
                s.id,
                cocpit_api::format::short_time(s.ends_at, cocpit_api::format::local_offset())
            )
        })),
        E::CreateIncident(c) => M::Created(b.create_incident(*c).await.map_err(err)),
        E::Handle {
            incident_num,
            key,
            parameter,
        } => done(
            b.handle_incident(&incident_num, key, parameter)
                .await
                .map(|st| format!("{incident_num} is {}", st.name_en())),
        ),
    }
}

/// Keeps one load of each kind in flight; asking again while it runs re-runs it once after.
#[derive(Default)]
struct Jobs {
    running: HashSet<String>,
    again: HashSet<String>,
}

fn job_key(e: &Effect) -> Option<String> {
    match e {
        Effect::LoadScripts(_) => Some("scripts".into()),
        Effect::LoadOrders(_) => Some("orders".into()),
        Effect::LoadResources => Some("resources".into()),
        Effect::LoadOrder(id) => Some(format!("order {id}")),
        Effect::LoadScriptParams(id) => Some(format!("params {id}")),
        Effect::LoadScript(id) => Some(format!("script {id}")),
        Effect::LoadLog { instance_id, .. } => Some(format!("log {instance_id}")),
        Effect::Triage(update::TriageEffect::LoadAlarms) => Some("alarms".into()),
        Effect::Ops(update::OpsEffect::LoadAgents) => Some("agents".into()),
        Effect::Ops(update::OpsEffect::LoadDesktops) => Some("desktops".into()),
        Effect::Ops(update::OpsEffect::LoadInvokers) => Some("invokers".into()),
        Effect::Ops(update::OpsEffect::LoadRecords(id)) => Some(format!("records {id}")),
        Effect::Ops(update::OpsEffect::LoadTasks(id)) => Some(format!("tasks {id}")),
        Effect::Triage(update::TriageEffect::LoadAlarmGroups) => Some("alarm groups".into()),
        Effect::Triage(update::TriageEffect::LoadIncidents) => Some("incidents".into()),
        Effect::Triage(update::TriageEffect::LoadIncident(n)) => Some(format!("incident {n}")),
        _ => None,
    }
}

type Done = (Option<String>, Effect, Msg);

impl Jobs {
    fn spawn(&mut self, b: &Arc<dyn Backend>, tx: &mpsc::UnboundedSender<Done>, e: Effect) {
        let key = job_key(&e);
        if let Some(k) = &key
            && !self.running.insert(k.clone())
        {
            self.again.insert(k.clone());
            return;
        }
        let (b, tx) = (b.clone(), tx.clone());
        tokio::spawn(async move {
            let msg = run_effect(b, e.clone()).await;
            let _ = tx.send((key, e, msg));
        });
    }

    /// A job ended: returns the effect to run again, if it was asked for meanwhile.
    fn finished(&mut self, key: &Option<String>, e: Effect) -> Option<Effect> {
        let k = key.as_ref()?;
        self.running.remove(k);
        self.again.remove(k).then_some(e)
    }
}

async fn next_engine_event(
    rx: &mut Option<broadcast::Receiver<cocpit_api::event::Change>>,
) -> Option<Msg> {
    match rx {
        Some(r) => match r.recv().await {
            Ok(e) => Some(Msg::Engine(e)),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Msg::Resync),
            Err(broadcast::error::RecvError::Closed) => {
                *rx = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

/// The next state of a remote backend's connection (never, for the local engine).
async fn next_connection(
    link: &mut Option<tokio::sync::watch::Receiver<String>>,
) -> Option<String> {
    match link {
        Some(rx) => match rx.changed().await {
            Ok(()) => Some(rx.borrow_and_update().clone()),
            Err(_) => {
                *link = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

const FRAME: Duration = Duration::from_millis(16);

/// The OSC 52 sequence that puts `text` on the clipboard of the terminal the user sits at, over
/// SSH too (tmux passes it on with `set -g set-clipboard on`).
pub fn osc52(text: &str) -> String {
    use base64::Engine as _;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// Writes `text` to `path`, or to `path` with `-1`, `-2`… before its extension when that file
/// exists: a save never overwrites anything. Readable by the user only.
fn save_new(path: &std::path::Path, text: &str) -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("log");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("log");
    for n in 0..1000 {
        let p = if n == 0 {
            path.to_path_buf()
        } else {
            path.with_file_name(format!("{stem}-{n}.{ext}"))
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
        {
            Ok(mut f) => {
                f.write_all(text.as_bytes())?;
                return Ok(std::path::absolute(&p).unwrap_or(p));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "too many saved logs of that name here",
    ))
}

/// The header clock's text at `now`, and how long until it changes (the next minute).
pub fn clock_at<Tz: chrono::TimeZone>(now: chrono::DateTime<Tz>) -> (String, Duration)
where
    Tz::Offset: std::fmt::Display,
{
    let into_minute = now.timestamp_millis().rem_euclid(60_000) as u64;
    (
        now.format("%H:%M").to_string(),
        Duration::from_millis(60_000 - into_minute),
    )
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Hands `content` to `$VISUAL`/`$EDITOR` (else `vi`) in a file of the drafts directory and
/// returns the text it left there. The terminal is the editor's meanwhile.
fn external_editor(
    drafts: &std::path::Path,
    content: &str,
    extension: &str,
) -> Result<String, String> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".into());
    std::fs::create_dir_all(drafts).map_err(|e| format!("{}: {e}", drafts.display()))?;
    let file = drafts.join(format!("edit-{}.{extension}", std::process::id()));
    std::fs::write(&file, content).map_err(|e| format!("{}: {e}", file.display()))?;
    // Through the shell, as git does, so `EDITOR="code -w"` works.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&file)
        .status();
    let text = std::fs::read_to_string(&file);
    let _ = std::fs::remove_file(&file);
    match status {
        Ok(st) if st.success() => text.map_err(|e| format!("reading the edited file: {e}")),
        Ok(st) => Err(format!("{editor} exited with {st}; content unchanged")),
        Err(e) => Err(format!("cannot start {editor}: {e}")),
    }
}

/// Leaves the console's screen for a program that wants the terminal, then comes back.
fn suspended<T>(terminal: &mut ratatui::DefaultTerminal, f: impl FnOnce() -> T) -> T {
    let mut out = std::io::stdout();
    let _ = execute!(out, crossterm::event::DisableMouseCapture);
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = execute!(out, crossterm::terminal::LeaveAlternateScreen);
    let r = f();
    let _ = execute!(out, crossterm::terminal::EnterAlternateScreen);
    let _ = crossterm::terminal::enable_raw_mode();
    let _ = execute!(
        out,
        crossterm::event::EnableMouseCapture,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    );
    // A fresh terminal has blank buffers, so the next frame draws every cell. (`clear()` would
    // ask the terminal where its cursor is, an answer that may never come here.)
    if let Ok(t) =
        ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
    {
        *terminal = t;
    }
    r
}

/// What the console reads as it opens.
pub fn startup_effects() -> Vec<Effect> {
    vec![
        Effect::LoadScripts(cocpit_api::pages::PAGE),
        Effect::LoadOrders(cocpit_api::pages::PAGE),
        Effect::LoadResources,
        // Alarms load at once: the header counts them wherever the user is.
        Effect::Triage(update::TriageEffect::LoadAlarms),
        Effect::Triage(update::TriageEffect::LoadIncidents),
    ]
}

/// Opens the console on `backend` and runs it until the user quits or the terminal goes away.
pub async fn run(
    backend: Arc<dyn Backend>,
    ui: &settings::Ui,
    keys: &std::collections::BTreeMap<String, String>,
    drafts: &std::path::Path,
) -> Result<(), String> {
    let mut s = initial_state(backend.describe(), ui, keys)?;
    editor::highlight::warm_up();
    let (guard, mut terminal) =
        TerminalGuard::enter().map_err(|e| format!("cannot open the terminal: {e}"))?;
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Done>();
    let mut jobs = Jobs::default();
    let mut engine = backend.subscribe();
    let mut link = backend.connection();
    let mut input = EventStream::new();
    for e in startup_effects() {
        jobs.spawn(&backend, &tx, e);
    }
    let (found, problems) = editor::draft::load_all(drafts);
    if !found.is_empty() || !problems.is_empty() {
        update::update(&mut s, Msg::Drafts(found, problems));
    }
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut last_poll = Instant::now();
    let frames_file = std::env::var_os("COCPIT_TEST_FRAMES");
    let mut frames: u64 = 0;
    loop {
        if dirty && last_draw.elapsed() >= FRAME {
            let mut out = std::io::stdout();
            let _ = execute!(out, crossterm::terminal::BeginSynchronizedUpdate);
            terminal
                .draw(|f| {
                    render::render(&s, f);
                })
                .map_err(|e| format!("draw: {e}"))?;
            let _ = execute!(out, crossterm::terminal::EndSynchronizedUpdate);
            let _ = out.flush();
            if let Ok(size) = terminal.size() {
                s.page = size.height.saturating_sub(9) as usize;
                s.screen = (size.width, size.height);
            }
            last_draw = Instant::now();
            dirty = false;
            frames += 1;
            if let Some(p) = &frames_file {
                let _ = std::fs::write(p, frames.to_string());
            }
        }
        let until_frame = FRAME.saturating_sub(last_draw.elapsed());
        let (_, next_minute) = clock_at(chrono::Local::now());
        let poll = update::poll_interval(&s);
        let until_poll = poll.map(|p| p.saturating_sub(last_poll.elapsed()));
        let msg = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
                Some(Ok(Event::Mouse(m))) => Some(Msg::Mouse(m)),
                Some(Ok(Event::Resize(w, h))) => {
                    s.screen = (w, h);
                    Some(Msg::Resize)
                }
                Some(Ok(_)) => None,
                Some(Err(_)) | None => break,
            },
            Some((key, e, msg)) = rx.recv() => {
                if let Some(again) = jobs.finished(&key, e) {
                    jobs.spawn(&backend, &tx, again);
                }
                Some(msg)
            }
            Some(msg) = next_engine_event(&mut engine) => Some(msg),
            Some(c) = next_connection(&mut link) => Some(Msg::Connection(c)),
            // A wake-up only: the clock is read below, whatever woke the loop.
            _ = tokio::time::sleep(next_minute) => None,
            _ = tokio::time::sleep(until_frame), if dirty => None,
            _ = tokio::time::sleep(until_poll.unwrap_or_default()), if until_poll.is_some() => {
                last_poll = Instant::now();
                Some(Msg::Poll)
            }
            _ = hup.recv() => break,
            _ = term.recv() => break,
        };
        // Whatever woke the loop, the clock it draws is the wall clock's minute (a timer
        // alone can oversleep a suspended machine or a jump of the clock).
        let (minute, _) = clock_at(chrono::Local::now());
        if minute != s.clock {
            dirty |= update::update(&mut s, Msg::Clock(minute)).redraw;
        }
        let mut next = msg;
        while let Some(msg) = next.take() {
            s.now_ms = now_ms();
            let out = update::update(&mut s, msg);
            dirty |= out.redraw;
            for e in out.effects {
                match e {
                    Effect::SaveDraft(d) => {
                        if let Err(e) = editor::draft::save(drafts, &d) {
                            s.message =
                                Some((state::Level::Error, format!("draft not saved: {e}")));
                        }
                    }
                    Effect::RemoveDraft(key) => {
                        let _ = editor::draft::remove(drafts, &key);
                    }
                    Effect::Copy(text) => {
                        let mut out = std::io::stdout();
                        let _ = out.write_all(osc52(&text).as_bytes());
                        let _ = out.flush();
                    }
                    Effect::SaveLog { file, text } => {
                        s.message = Some(match save_new(std::path::Path::new(&file), &text) {
                            Ok(p) => (state::Level::Info, format!("log saved to {}", p.display())),
                            Err(e) => (state::Level::Error, format!("log not saved: {e}")),
                        });
                        dirty = true;
                    }
                    Effect::ExternalEdit { content, extension } => {
                        // The editor owns the terminal: stop reading keys until it is done.
                        drop(input);
                        let r = suspended(&mut terminal, || {
                            external_editor(drafts, &content, extension)
                        });
                        input = EventStream::new();
                        next = Some(Msg::ExternalEdited(r));
                        dirty = true;
                    }
                    e => jobs.spawn(&backend, &tx, e),
                }
            }
        }
        if s.quit {
            break;
        }
    }
    drop(terminal);
    drop(guard);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_wakes_at_the_next_minute_boundary() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        let (text, wait) = clock_at(at("2026-11-27T11:16:59.900+00:00"));
        assert_eq!(text, "11:16");
        assert_eq!(wait, Duration::from_millis(100));
        let (text, wait) = clock_at(at("2026-11-27T11:17:00.000+00:00"));
        assert_eq!(text, "11:17");
        assert_eq!(wait, Duration::from_secs(60));
    }
}
