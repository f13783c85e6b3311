//! The local engine as one long-lived process per data dir, which the console and every CLI
//! command attach to (as tmux, the Docker daemon or Emacs' server work): a hang-up, `q` or a
//! dropped SSH session never stops a rollout.
//!
//! The process (`cocpit __engine`) starts in its own session, detached from any terminal, and
//! serves the same API as `cocpit serve` on 127.0.0.1 with a key of its own, written with its
//! pid, address and version to `engine.json` (mode 0600) in the data dir. A client reads that
//! file, checks the version on `GET /v1/cocpit/engine`, and signs its calls with the key. The
//! process exits once it has had neither work nor clients for `[engine] idle_exit`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use cocpit::backend::Error;
use cocpit::client::{Credentials, Endpoints, Remote};
use cocpit::config::Config;
use cocpit::engine::Engine;
use cocpit::model::engine::{EngineStatus, StopEngine, Stopped};
use cocpit::server::{self, App, Keys};

/// Where a running engine says how to reach it.
pub const STATE_FILE: &str = "engine.json";
/// Its log.
pub const LOG_FILE: &str = "engine.log";
/// The hidden command that is the engine process.
pub const RUN_ARG: &str = "__engine";
/// This cocpit's version: an engine of another version is never talked to.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The project id a local engine's Cloud Eye and Workspace paths carry.
const LOCAL_PROJECT: &str = "local";
/// How long `engine stop` waits for the process to exit before saying it is still finishing.
const STOP_WAIT: Duration = Duration::from_secs(30);
/// How long a starting engine may take to answer its parent.
const START_WAIT: Duration = Duration::from_secs(20);

/// `engine.json`: the running engine's pid, address, version and key (the file is 0600).
#[derive(Clone, Serialize, Deserialize)]
pub struct State {
    pub pid: u32,
    pub url: String,
    pub version: String,
    pub ak: String,
    pub sk: String,
    /// Its TC3 key (TAT's calls are signed so).
    pub tc_id: String,
    pub tc_key: String,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("pid", &self.pid)
            .field("url", &self.url)
            .field("version", &self.version)
            .field("sk", &"******")
            .field("tc_key", &"******")
            .finish()
    }
}

pub fn read_state(data_dir: &Path) -> Option<State> {
    let text = std::fs::read_to_string(data_dir.join(STATE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_state(data_dir: &Path, s: &State) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = data_dir.join(format!("{STATE_FILE}.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(serde_json::to_string(s).unwrap_or_default().as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, data_dir.join(STATE_FILE))
}

/// Removes `engine.json` if it is this process's (a newer engine may have replaced it).
fn remove_state(data_dir: &Path, pid: u32) {
    if read_state(data_dir).is_some_and(|s| s.pid == pid) {
        let _ = std::fs::remove_file(data_dir.join(STATE_FILE));
    }
}

/// The process exists and is not a zombie (an engine killed while its parent, which may be
/// an init that never reaps, still holds its entry).
fn alive(pid: u32) -> bool {
    let exists = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok();
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // The state follows the command name in parentheses, which may hold anything.
            let after = &s[s.rfind(')')? + 1..];
            after.split_whitespace().next().map(|st| st == "Z")
        })
        .unwrap_or(false);
    exists && !zombie
}

/// A key nobody can guess, from the OS CSPRNG.
fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the OS random source");
    hex::encode(b)
}

/// The engine process: opens the engine, serves it on loopback, says so on stdout (its parent
/// waits for that line), then runs until stopped, or idle for `idle_exit`.
pub async fn run(config: &Config, data_dir: &Path) -> u8 {
    // Its own session: no terminal, so no hang-up reaches it.
    let _ = nix::unistd::setsid();
    if let Err(e) = cocpit::logging::to_file(&data_dir.join(LOG_FILE), "info") {
        println!("cocpit: {e}");
        return 1;
    }
    let engine = match Engine::open(data_dir, &config.engine_setup()) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            println!("cocpit: {e}");
            return 1;
        }
    };
    let state = State {
        pid: std::process::id(),
        url: String::new(),
        version: VERSION.into(),
        ak: format!("engine-{}", random_hex(8)),
        sk: random_hex(32),
        tc_id: format!("engine-tc-{}", random_hex(8)),
        tc_key: random_hex(32),
    };
    let mut keys = Keys::from_settings(&Default::default(), false);
    keys.huawei.insert(state.ak.clone(), state.sk.clone());
    keys.tencent
        .insert(state.tc_id.clone(), state.tc_key.clone());
    // Whoever holds the key is this OS user (the key file is theirs alone), who owns the data.
    let me = cocpit::model::team::Caller::new(
        cocpit::identity::current_user(),
        cocpit::model::team::Role::Admin,
    );
    keys.identities.insert(state.ak.clone(), me.clone());
    keys.identities.insert(state.tc_id.clone(), me);
    let (stop, mut stopped) = tokio::sync::watch::channel(None);
    let idle_exit = Duration::from_secs(config.engine.idle_exit);
    let daemon = server::engine::Daemon {
        idle_exit,
        changed: Default::default(),
        stop,
    };
    cocpit::server::metrics_recorder();
    let app = Arc::new(App::new(engine, keys, Some(daemon)));
    let local = match server::spawn(
        app.clone(),
        "127.0.0.1:0".parse().expect("an address"),
        server::limits(&config.serve),
    )
    .await
    {
        Ok(a) => a,
        Err(e) => {
            println!("cocpit: cannot listen on loopback: {e}");
            return 1;
        }
    };
    let state = State {
        url: format!("http://{local}"),
        ..state
    };
    if let Err(e) = write_state(data_dir, &state) {
        println!("cocpit: cannot write {}: {e}", STATE_FILE);
        return 1;
    }
    println!("listening on {}", state.url);
    let _ = std::io::stdout().flush();
    tracing::info!(pid = state.pid, url = %state.url, version = VERSION, idle_exit = idle_exit.as_secs(), "engine started");
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return 1;
    };
    let reason = loop {
        tokio::select! {
            _ = stopped.changed() => {
                break stopped.borrow().clone().unwrap_or_else(|| "engine stopped".into());
            }
            _ = idle(&app) => break "idle".into(),
            _ = hup.recv() => tracing::info!("hang-up ignored"),
            _ = term.recv() => break "engine stopped by SIGTERM".into(),
            _ = int.recv() => tracing::info!("interrupt ignored"),
        }
    };
    // What runs finishes; nothing is left to come back ABNORMAL.
    match app.engine.wind_down(&reason).await {
        Ok(p) => tracing::info!(paused = p.len(), "{reason}: what ran has finished"),
        Err(e) => tracing::error!("winding down: {e}"),
    }
    let why = reason;
    remove_state(data_dir, state.pid);
    tracing::info!(why, "engine stopped");
    0
}

/// Returns once the engine has had neither work nor an attached client for its `idle_exit`.
/// It sleeps while nothing happens: an idle engine wakes only when its time is up.
async fn idle(app: &App) {
    let Some(d) = &app.daemon else {
        return std::future::pending().await;
    };
    let mut events = app.engine.subscribe();
    loop {
        let clients = app.clients.load(std::sync::atomic::Ordering::Relaxed);
        let idle = clients == 0 && app.engine.work().is_ok_and(|w| w.is_idle());
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(d.idle_exit) => {
                    let clients = app.clients.load(std::sync::atomic::Ordering::Relaxed);
                    if clients == 0 && app.engine.work().is_ok_and(|w| w.is_idle()) {
                        return;
                    }
                }
                _ = d.changed.notified() => {}
                _ = events.recv() => {}
            }
        } else {
            // Busy: look again when something changes, at most once a second.
            tokio::select! {
                _ = d.changed.notified() => {}
                _ = events.recv() => {}
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            events = events.resubscribe();
        }
    }
}

/// A client of the engine running on `data_dir`, started if none runs.
pub async fn attach(
    data_dir: &Path,
    config_file: Option<&Path>,
    options: cocpit::client::Options,
) -> Result<Remote, String> {
    for _ in 0..3 {
        if let Some(s) = read_state(data_dir) {
            match status(&s, options).await {
                Ok(st) if st.version == VERSION => return connect(data_dir, &s, options),
                // Idle, nobody attached, and someone at a terminal to say yes: replace it.
                Ok(st)
                    if st.work.is_idle()
                        && st.clients == 0
                        && confirmed(&format!(
                            "cocpit: the engine on {} (pid {}) is cocpit {}, this is cocpit {VERSION}. \
                             It is idle: replace it with this version? [y/N] ",
                            data_dir.display(),
                            st.pid,
                            st.version
                        )) =>
                {
                    replace(&s, options).await?;
                    continue;
                }
                Ok(st) => {
                    return Err(format!(
                        "the engine running on {} (pid {}) is cocpit {}, this is cocpit {VERSION}: \
                         stop it with `cocpit engine stop` once its work is done ({}), then run \
                         this again",
                        data_dir.display(),
                        st.pid,
                        st.version,
                        if st.work.is_idle() {
                            "it is idle".to_string()
                        } else {
                            format!("it runs {}", st.work.words())
                        }
                    ));
                }
                // Its process is gone (a crash, kill -9): the file is stale.
                Err(_) if !alive(s.pid) => {
                    let _ = std::fs::remove_file(data_dir.join(STATE_FILE));
                }
                Err(e) => {
                    return Err(format!(
                        "the engine on {} (pid {}) does not answer: {e}",
                        data_dir.display(),
                        s.pid
                    ));
                }
            }
        }
        start(data_dir, config_file)?;
    }
    Err(format!(
        "the engine on {} did not start; see {}",
        data_dir.display(),
        data_dir.join(LOG_FILE).display()
    ))
}

/// Asks a yes/no question on the terminal; `false` at once when no one is at one.
fn confirmed(question: &str) -> bool {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return false;
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok()
        && matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
}

/// Stops an idle engine of another version (without force: one that got work meanwhile
/// refuses) and waits for its process to be gone.
async fn replace(s: &State, options: cocpit::client::Options) -> Result<(), String> {
    let old = remote(s, options, String::new())?;
    old.engine_stop(StopEngine { force: false })
        .await
        .map_err(|e| format!("the old engine (pid {}) did not stop: {e}", s.pid))?;
    let deadline = std::time::Instant::now() + STOP_WAIT;
    while alive(s.pid) {
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "the old engine (pid {}) is still stopping after {} s; run this again later",
                s.pid,
                STOP_WAIT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("cocpit: the old engine stopped; starting cocpit {VERSION}'s");
    Ok(())
}

/// Starts the engine process and waits for its first line.
fn start(data_dir: &Path, config_file: Option<&Path>) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find cocpit itself: {e}"))?;
    let mut cmd = std::process::Command::new(me);
    cmd.arg(RUN_ARG).arg("--data").arg(data_dir);
    if let Some(c) = config_file {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the engine: {e}"))?;
    let out = child.stdout.take().expect("piped");
    // The first line, within a bound: read on a thread the wait can give up on.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let Ok(line) = rx.recv_timeout(START_WAIT) else {
        // Not left behind half-started.
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "the engine did not start within {} s; see {}",
            START_WAIT.as_secs(),
            data_dir.join(LOG_FILE).display()
        ));
    };
    // Reap it if it stopped at once; a running engine is left to run.
    if line.starts_with("listening on ") {
        std::thread::spawn(move || child.wait());
        return Ok(());
    }
    let _ = child.wait();
    let why = line.trim().trim_start_matches("cocpit: ");
    // Another command started one meanwhile: attach to that.
    if why.contains("in use by another cocpit process") && read_state(data_dir).is_some() {
        return Ok(());
    }
    Err(if why.is_empty() {
        format!(
            "the engine stopped at once; see {}",
            data_dir.join(LOG_FILE).display()
        )
    } else {
        why.to_string()
    })
}

fn remote(s: &State, options: cocpit::client::Options, label: String) -> Result<Remote, String> {
    let endpoints = Endpoints::single("engine", &s.url)?;
    // The request rate limit spares other people's endpoints; this engine is the data dir's
    // own, on this machine, and pacing it made every request of a command wait (20 a second:
    // 50 ms each).
    let options = cocpit::client::Options {
        max_rate: 0,
        ..options
    };
    let creds = Credentials {
        ak: s.ak.clone(),
        sk: s.sk.clone(),
        tencent: Some((s.tc_id.clone(), s.tc_key.clone())),
        // Cloud Eye and Workspace paths carry a project; the local engine has one.
        project_id: Some(LOCAL_PROJECT.into()),
        ..Default::default()
    };
    Remote::new(endpoints, label, creds, options)
}

fn connect(data_dir: &Path, s: &State, options: cocpit::client::Options) -> Result<Remote, String> {
    let label = format!("local engine {} · pid {}", data_dir.display(), s.pid);
    cocpit::client::start(remote(s, options, String::new())?.described_as(label))
}

async fn status(s: &State, options: cocpit::client::Options) -> Result<EngineStatus, Error> {
    let quick = cocpit::client::Options {
        attempts: 1,
        connect_timeout: Duration::from_secs(2),
        ..options
    };
    let r = remote(s, quick, String::new()).map_err(Error::Transport)?;
    r.engine_status().await
}

/// `cocpit engine status|stop|logs`.
pub async fn command(cmd: EngineCmd, data_dir: &Path, options: cocpit::client::Options) -> u8 {
    let running = read_state(data_dir).filter(|s| alive(s.pid));
    match cmd {
        EngineCmd::Logs { lines } => {
            let path = data_dir.join(LOG_FILE);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let all: Vec<&str> = text.lines().collect();
                    for l in &all[all.len().saturating_sub(lines)..] {
                        println!("{}", cocpit::sanitize::for_display(l));
                    }
                    0
                }
                Err(e) => {
                    eprintln!("cocpit: {}: {e}", path.display());
                    1
                }
            }
        }
        EngineCmd::Status => {
            let Some(s) = running else {
                println!("no engine runs on {}", data_dir.display());
                return 0;
            };
            match status(&s, options).await {
                Ok(st) => {
                    let up = (chrono::Utc::now().timestamp_millis() - st.started_ms) / 1000;
                    println!(
                        "engine    pid {} · cocpit {} · up {}",
                        st.pid,
                        st.version,
                        cocpit::format::duration(Some(up * 1000))
                    );
                    println!("data      {}", st.data_dir);
                    println!("address   {}", s.url);
                    println!("clients   {}", st.clients);
                    let work = st.work.words();
                    println!(
                        "running   {}",
                        if work.is_empty() {
                            "nothing (idle)".into()
                        } else {
                            work
                        }
                    );
                    if let Some(i) = st.idle_exit {
                        println!(
                            "idle exit after {}",
                            cocpit::format::duration(Some(i as i64 * 1000))
                        );
                    }
                    0
                }
                Err(e) => {
                    eprintln!("cocpit: the engine (pid {}) does not answer: {e}", s.pid);
                    1
                }
            }
        }
        EngineCmd::Stop { mut force } => {
            let Some(s) = running else {
                println!("no engine runs on {}", data_dir.display());
                return 0;
            };
            // At a terminal, work that runs is asked about rather than refused.
            if !force
                && std::io::IsTerminal::is_terminal(&std::io::stdin())
                && let Ok(st) = status(&s, options).await
                && !st.work.is_idle()
            {
                print!(
                    "The engine runs {}. Pause its orders (what runs finishes first) and stop it? [y/N] ",
                    st.work.words()
                );
                let _ = std::io::stdout().flush();
                let mut answer = String::new();
                let _ = std::io::stdin().read_line(&mut answer);
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    println!("not stopped");
                    return 1;
                }
                force = true;
            }
            let r = match remote(&s, options, String::new()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("cocpit: {e}");
                    return 1;
                }
            };
            match r.engine_stop(StopEngine { force }).await {
                Ok(Stopped { paused }) => {
                    for p in &paused {
                        println!(
                            "paused {p}: engine stopped by {}",
                            cocpit::identity::current_user()
                        );
                    }
                    // It exits once what runs has finished: waited for, within a bound.
                    let deadline = std::time::Instant::now() + STOP_WAIT;
                    while alive(s.pid) && std::time::Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    if alive(s.pid) {
                        println!(
                            "engine (pid {}) is letting what runs finish; it exits then \
                             (`cocpit engine status` shows what is left)",
                            s.pid
                        );
                    } else {
                        println!("engine (pid {}) stopped", s.pid);
                    }
                    0
                }
                Err(e) => {
                    eprintln!("cocpit: {e}");
                    if !force {
                        eprintln!("cocpit: add --force to pause its orders and stop it");
                    }
                    1
                }
            }
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum EngineCmd {
    /// The local engine process: pid, version, uptime, data dir, attached clients, running work.
    Status,
    /// Stops it. With work running it needs --force: its orders are paused ("engine stopped by
    /// USER", never ABNORMAL) and what already runs finishes first.
    Stop {
        #[arg(long)]
        force: bool,
    },
    /// The end of its log (engine.log in the data dir).
    Logs {
        #[arg(long, default_value_t = 100)]
        lines: usize,
    },
}

/// After a console on the engine process quits: what keeps running there, and how to come back.
pub async fn say_what_keeps_running(data_dir: &Path, options: cocpit::client::Options) {
    let Some(s) = read_state(data_dir) else {
        return;
    };
    if let Ok(st) = status(&s, options).await
        && !st.work.is_idle()
    {
        println!(
            "cocpit: still running in the background: {} (engine pid {}, data {}). \
             `cocpit` comes back to them; `cocpit engine status` shows the engine.",
            st.work.words(),
            st.pid,
            data_dir.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data dir's own engine is not paced by the rate limit meant for other endpoints.
    #[tokio::test]
    async fn the_local_engine_client_is_not_rate_limited() {
        let state = State {
            pid: 1,
            url: "http://127.0.0.1:1".into(),
            version: VERSION.into(),
            ak: "AK".into(),
            sk: "SK".into(),
            tc_id: "ID".into(),
            tc_key: "KEY".into(),
        };
        let paced = cocpit::client::Options {
            max_rate: 20,
            ..Default::default()
        };
        let r = remote(&state, paced, "local".into()).unwrap();
        assert_eq!(r.options().max_rate, 0);
    }
}
