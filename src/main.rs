//! `cocpit`: parse the command line, then open the console, serve the API, or run a subcommand.
#![forbid(unsafe_code)]

mod args;
mod daemon;

use args::{Cli, Command, ConfigCmd};

/// mimalloc: the alarm ingest path spent an eighth of its time in glibc's malloc and free
/// (`perf`, issue 17); mimalloc's thread-local heaps make that cheaper.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use cocpit::backend::prelude::*;
use cocpit::cli::{self, Output};
use cocpit::config::{self, Config};
use cocpit::engine::{Engine, Local};
use cocpit::server::{self, App, Keys};

fn main() -> ExitCode {
    // The containment helper of a local run (see `engine::contain`): nothing else of cocpit.
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some(cocpit::engine::contain::ARG) {
        return match raw.get(2) {
            Some(program) => ExitCode::from(cocpit::engine::contain::run(program, &raw[3..])),
            None => ExitCode::from(2),
        };
    }
    // Local runs started by this process's engine go through the helper.
    if let Ok(me) = std::env::current_exe() {
        cocpit::engine::contain::use_helper(me);
    }
    let args = Cli::parse();
    match &args.command {
        Some(Command::Completions { shell }) => return print_completions(*shell),
        Some(Command::Man { dir }) => return print_man(dir.as_deref()),
        _ => {}
    }
    let config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cocpit: {e}");
            return ExitCode::from(2);
        }
    };
    // A one-shot command against an endpoint only waits on the network: one thread answers
    // sooner than a pool handing each request between workers (benches/client.sh).
    let remote = args.endpoint.is_some()
        || args.profile.is_some()
        || std::env::var_os("COCPIT_PROFILE").is_some()
        || config.profile.is_some();
    let runtime = if remote && args.command.is_some() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
    .enable_all()
    .build()
    .expect("start the tokio runtime");
    let code = runtime.block_on(run(args, config));
    cocpit::logging::flush();
    // Instances still running belong to this process; don't wait on their pipes.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    ExitCode::from(code)
}

async fn run(args: Cli, mut config: Config) -> u8 {
    config.ui.read_only |= args.read_only;
    let data_dir = config::data_dir(args.data.as_deref());
    if let Some(given) = &args.data
        && !given.exists()
        && !args.init
    {
        eprintln!(
            "cocpit: --data {}: no such directory. Add --init to create it there, or leave \
             --data out to use {}",
            given.display(),
            config::data_dir(None).display()
        );
        return 2;
    }
    if let Some(Command::EngineProcess) = &args.command {
        return daemon::run(&config, &data_dir).await;
    }
    if let Some(Command::Engine(cmd)) = args.command {
        let _ = cocpit::logging::to_stderr("warn");
        return daemon::command(cmd, &data_dir, client_options(&config)).await;
    }
    let console = args.command.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let logging = match &args.command {
        Some(Command::Serve { .. }) => cocpit::logging::to_stderr(&config.serve.log),
        // The console's screen is its own: its log goes to a file.
        _ if console => cocpit::engine::private_dir(&data_dir)
            .map_err(|e| e.to_string())
            .and_then(|()| cocpit::logging::to_file(&data_dir.join("cocpit.log"), "info")),
        _ => cocpit::logging::to_stderr("warn"),
    };
    if let Err(e) = logging {
        eprintln!("cocpit: {e}");
        return 2;
    }
    if let Some(Command::Serve { listen, no_auth }) = &args.command {
        if args.endpoint.is_some() || args.profile.is_some() {
            eprintln!(
                "cocpit: serve runs the local engine; it takes neither --endpoint nor --profile"
            );
            return 2;
        }
        return serve(&config, &data_dir, *listen, *no_auth).await;
    }
    let target = match target(&args, &config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cocpit: {e}");
            return 2;
        }
    };
    if let Some(Command::Config(ConfigCmd::Check)) = &args.command {
        return match target {
            Some(t) => cli::check::run(t, client_options(&config)).await,
            None => {
                println!(
                    "✔ the local engine, data in {} (no --endpoint, --profile or default profile)",
                    data_dir.display()
                );
                println!("  profiles in the config: {}", profile_names(&config));
                0
            }
        };
    }
    if let Some(t) = target {
        return remote(args, &config, t).await;
    }
    if !args.in_process && args.listen.is_none() {
        if !data_dir.exists()
            && let Err(e) = cocpit::engine::private_dir(&data_dir)
        {
            eprintln!("cocpit: cannot create {}: {e}", data_dir.display());
            return 1;
        }
        let backend = match daemon::attach(
            &data_dir,
            args.config.as_deref(),
            client_options(&config),
        )
        .await
        {
            Ok(b) => b,
            Err(e) => {
                eprintln!("cocpit: {e}");
                return 1;
            }
        };
        let code = dispatch(
            Arc::new(backend),
            args.command,
            args.output,
            &config,
            &data_dir,
        )
        .await;
        if console {
            daemon::say_what_keeps_running(&data_dir, client_options(&config)).await;
        }
        return code;
    }
    let engine = match Engine::open(&data_dir, &config.engine_setup()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cocpit: {e}");
            return 1;
        }
    };
    let mut backend = Local::new(engine);
    if let Some(addr) = args.listen {
        if args.command.is_some() {
            eprintln!(
                "cocpit: --listen goes with the console (no subcommand); use `cocpit serve --listen`"
            );
            return 2;
        }
        let mut keys = Keys::from_settings(&config.serve, false);
        keys.add_demo_integrations(addr, config.serve.demo_integrations);
        if keys.is_empty() && keys.integrations.is_empty() {
            eprintln!(
                "cocpit: --listen: no credentials or alarm integrations configured (see `cocpit serve`)"
            );
            return 2;
        }
        for line in keys.describe() {
            eprintln!("cocpit: --listen: {line}");
        }
        let app = Arc::new(App::new(backend.engine.clone(), keys, None));
        match server::spawn(app, addr, server::limits(&config.serve)).await {
            Ok(local) => backend.api = Some(format!("http://{local}")),
            Err(e) => {
                eprintln!("cocpit: --listen {addr}: {e}");
                return 1;
            }
        }
    }
    dispatch(
        Arc::new(backend),
        args.command,
        args.output,
        &config,
        &data_dir,
    )
    .await
}

/// The console (on a terminal with no subcommand) or a subcommand, on whichever backend.
async fn dispatch(
    backend: Arc<dyn Backend>,
    command: Option<Command>,
    output: Output,
    config: &Config,
    data_dir: &std::path::Path,
) -> u8 {
    let b = backend.as_ref();
    let result = match command {
        None if std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
            // Drafts stay on this machine, whatever the backend.
            return match cocpit::tui::run(
                backend,
                &config.ui,
                &config.keys,
                &data_dir.join("drafts"),
            )
            .await
            {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("cocpit: {e}");
                    1
                }
            };
        }
        None | Some(Command::Status) => overview(b).await,
        Some(Command::Script(c)) => cli::script(b, c, output).await,
        Some(Command::Order(c)) => cli::order(b, c, output).await,
        Some(Command::Resource(c)) => cli::resource(b, c, output).await,
        Some(Command::Audit(a)) => cli::audit(b, a, output).await,
        Some(Command::Whoami) => cli::whoami(b, output).await,
        Some(Command::Incident(c)) => cli::incident(b, c, output).await,
        Some(Command::Alarm(c)) => cli::alarm(b, c, output).await,
        Some(Command::Agent(c)) => cli::agent(b, c, output).await,
        Some(Command::Desktop(c)) => cli::desktop(b, c, output).await,
        Some(Command::Invoker(c)) => cli::invoker(b, c, output).await,
        Some(Command::Config(_)) => unreachable!("config check is answered before"),
        Some(Command::Completions { .. } | Command::Man { .. }) => {
            unreachable!("answered at start")
        }
        Some(Command::Engine(_) | Command::EngineProcess) => {
            unreachable!("the engine's commands are answered before")
        }
        Some(Command::Serve { .. }) => {
            eprintln!("cocpit: serve runs the local engine; it does not take --endpoint");
            return 2;
        }
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            // An error may quote what a server said: terminal-safe like every other output.
            eprintln!("cocpit: {}", cocpit::sanitize::for_display(&f.message));
            f.code
        }
    }
}

async fn serve(
    config: &Config,
    data_dir: &std::path::Path,
    listen: SocketAddr,
    no_auth: bool,
) -> u8 {
    if no_auth && !listen.ip().is_loopback() {
        eprintln!("cocpit: --no-auth is only allowed on a loopback address (got {listen})");
        return 2;
    }
    let mut keys = Keys::from_settings(&config.serve, no_auth);
    keys.add_demo_integrations(listen, config.serve.demo_integrations);
    if no_auth {
        eprintln!(
            "cocpit: WARNING: --no-auth: requests are NOT authenticated. Development use on loopback only."
        );
    } else if keys.is_empty() && keys.integrations.is_empty() {
        eprintln!(
            "cocpit: no credentials configured for serve: add [[serve.credentials]] (ak, sk, project_id) to the \
             config, or set COCPIT_SERVE_AK and COCPIT_SERVE_SK (or use --no-auth on loopback)"
        );
        return 2;
    }
    for line in keys.describe() {
        eprintln!("cocpit: {line}");
    }
    let engine = match Engine::open(data_dir, &config.engine_setup()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cocpit: {e}");
            return 1;
        }
    };
    eprintln!("cocpit: serving the local engine at {}", engine.location());
    server::metrics_recorder();
    let app = Arc::new(App::new(engine, keys, None));
    let reason = match server::serve(app.clone(), listen, server::limits(&config.serve)).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cocpit: serve {listen}: {e}");
            return 1;
        }
    };
    // What runs finishes, and its orders wait, paused with the reason, for an operator; nothing
    // comes back ABNORMAL.
    let running = app
        .engine
        .work()
        .map(|w| w.instances + w.agent_tasks + w.desktop_jobs)
        .unwrap_or(0);
    if running > 0 {
        eprintln!("cocpit: {reason}: letting {running} running task(s) finish");
    } else {
        eprintln!("cocpit: {reason}");
    }
    match app.engine.wind_down(&reason).await {
        Ok(paused) => {
            tracing::info!(paused = paused.len(), "{reason}: what ran has finished");
            0
        }
        Err(e) => {
            eprintln!("cocpit: stopping: {e}");
            1
        }
    }
}

fn print_completions(shell: clap_complete::Shell) -> ExitCode {
    use clap::CommandFactory;
    let mut text = vec![];
    clap_complete::generate(shell, &mut Cli::command(), "cocpit", &mut text);
    print_bytes(&text)
}

/// The manual: the top-level page on stdout, or every page into `dir`.
fn print_man(dir: Option<&std::path::Path>) -> ExitCode {
    use clap::CommandFactory;
    let cmd = Cli::command();
    if let Some(dir) = dir {
        return match clap_mangen::generate_to(cmd, dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cocpit: man --dir {}: {e}", dir.display());
                ExitCode::from(1)
            }
        };
    }
    let mut text = vec![];
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut text) {
        eprintln!("cocpit: man: {e}");
        return ExitCode::from(1);
    }
    print_bytes(&text)
}

/// Writes `bytes` to stdout; a reader that stops early (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cocpit: {e}");
            ExitCode::from(1)
        }
    }
}

fn profile_names(config: &Config) -> String {
    if config.profiles.is_empty() {
        "none".into()
    } else {
        config
            .profiles
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn client_options(config: &Config) -> cocpit::client::Options {
    let c = &config.client;
    cocpit::client::Options {
        connect_timeout: std::time::Duration::from_secs(c.connect_timeout),
        request_timeout: std::time::Duration::from_secs(c.request_timeout),
        attempts: c.attempts.max(1),
        max_rate: c.max_requests_per_second,
    }
}

/// Where a command goes: `--endpoint` (keys from the profile if one is named, else the
/// environment), else the selected profile; `None` for the local engine.
fn target(args: &Cli, config: &Config) -> Result<Option<cli::check::Target>, String> {
    use cocpit::client::{Credentials, Endpoints};
    let name = args
        .profile
        .clone()
        .or_else(|| {
            std::env::var("COCPIT_PROFILE")
                .ok()
                .filter(|p| !p.is_empty())
        })
        .or_else(|| config.profile.clone());
    let profile = match &name {
        Some(n) => Some(config.profiles.get(n).ok_or_else(|| {
            format!(
                "profile {n:?}: no [profiles.{n}] in the config (profiles: {})",
                profile_names(config)
            )
        })?),
        None => None,
    };
    let creds = |n: &str, p| Credentials::of_profile(n, p);
    if let Some(url) = &args.endpoint {
        let endpoints = Endpoints::single("--endpoint", url)?;
        let creds = match (&name, profile) {
            (Some(n), Some(p)) => creds(n, p),
            _ => Credentials::from_env().map(|c| (c, "the environment".to_string())),
        };
        return Ok(Some(cli::check::Target {
            label: endpoints.coc().base.clone(),
            endpoints,
            creds,
        }));
    }
    let (Some(n), Some(p)) = (name, profile) else {
        return Ok(None);
    };
    let endpoints = Endpoints::of_profile(&n, p)?;
    Ok(Some(cli::check::Target {
        label: format!("{n} ({})", endpoints.coc().base),
        creds: creds(&n, p),
        endpoints,
    }))
}

/// The console or a subcommand against a remote target.
async fn remote(args: Cli, config: &Config, t: cli::check::Target) -> u8 {
    let creds = match t.creds {
        Ok((c, _)) => c,
        Err(e) => {
            eprintln!("cocpit: {e}");
            return 2;
        }
    };
    let backend =
        match cocpit::client::Remote::new(t.endpoints, t.label, creds, client_options(config))
            .and_then(cocpit::client::start)
        {
            Ok(b) => b,
            Err(e) => {
                eprintln!("cocpit: {e}");
                return 2;
            }
        };
    let data_dir = config::data_dir(args.data.as_deref());
    dispatch(
        Arc::new(backend),
        args.command,
        args.output,
        config,
        &data_dir,
    )
    .await
}

/// `cocpit status` (and `cocpit` when stdout is not a terminal): where the data is, the fleet,
/// the latest scripts and orders, and what to type next.
async fn overview(b: &dyn Backend) -> cli::CliResult {
    println!("cocpit — {}", b.describe());
    println!();
    cli::resource(b, cli::ResourceCmd::List { limit: 100 }, Output::Table).await?;
    println!();
    cli::script(
        b,
        cli::ScriptCmd::List {
            name_like: None,
            risk_level: None,
            script_type: None,
            limit: 10,
            marker: None,
        },
        Output::Table,
    )
    .await?;
    println!();
    cli::order(
        b,
        cli::OrderCmd::List {
            status: None,
            limit: 10,
            marker: None,
        },
        Output::Table,
    )
    .await?;
    println!();
    println!("Try:");
    println!("  echo 'echo hello from $(hostname)' > hello.sh");
    println!("  cocpit script create --name hello --file hello.sh");
    println!(
        "  cocpit script run <SCRIPT_UUID> --hosts demo-01,demo-02,demo-03,demo-04 --batch-size 2"
    );
    println!("  cocpit --help");
    Ok(0)
}
