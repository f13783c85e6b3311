//! Containment of a local run: the `cocpit` binary, started as `cocpit __contain PROGRAM ARGS…`,
//! becomes a child subreaper (`PR_SET_CHILD_SUBREAPER`), runs the program, and when it ends —
//! exit, a TERM from a timeout or cancel, or the death of the engine (`PR_SET_PDEATHSIG`) — kills
//! every process that descends from it. Whatever the script started, even a daemon that left its
//! session and cleared its environment, is reparented to the helper rather than to init, so it
//! is found and killed.
//!
//! The engine uses it for local runs when it runs as the `cocpit` binary (see [`use_helper`]);
//! engines embedded elsewhere (tests) rely on the run token alone (`leftovers`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The argument that starts the helper.
pub const ARG: &str = "__contain";

static HELPER: OnceLock<PathBuf> = OnceLock::new();

/// Local runs go through `binary __contain …` from now on (called once by the `cocpit` binary).
pub fn use_helper(binary: PathBuf) {
    let _ = HELPER.set(binary);
}

/// The helper binary, when the engine has one.
pub fn helper() -> Option<&'static PathBuf> {
    HELPER.get()
}

/// The helper's whole life: returns its exit code (the program's, or 128 + the signal that
/// ended it).
pub fn run(program: &str, args: &[String]) -> u8 {
    let parent = nix::unistd::getppid();
    let _ = nix::sys::prctl::set_child_subreaper(true);
    // The death signal follows the *thread* that started the helper: the engine starts runs
    // from its async workers, which live as long as it does (never from a blocking-pool
    // thread, which retires when idle and would take the run with it).
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
    // The engine may have died before the line above.
    if nix::unistd::getppid() != parent {
        return 143;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(_) => return 125,
    };
    let code = runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut child = match tokio::process::Command::new(program).args(args).spawn() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("cocpit: cannot start {program}: {e}");
                return 126;
            }
        };
        let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) else {
            return 125;
        };
        tokio::select! {
            status = child.wait() => match status {
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    s.code()
                        .map(|c| c as u8)
                        .unwrap_or_else(|| 128 + s.signal().unwrap_or(9) as u8)
                }
                Err(_) => 125,
            },
            _ = term.recv() => 143,
            _ = hup.recv() => 129,
            _ = int.recv() => 130,
        }
    });
    kill_descendants();
    code
}

/// Kills every process that descends from this one, in rounds (one may fork meanwhile).
pub fn kill_descendants() {
    let me = std::process::id() as i32;
    for _ in 0..10 {
        let found = descendants(me);
        if found.is_empty() {
            return;
        }
        for pid in found {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The processes whose parent chain leads to `root` (zombies included: killing them is a no-op).
fn descendants(root: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: comm may hold spaces and parentheses.
        let Some(after) = stat.rsplit_once(')').map(|(_, a)| a) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next().unwrap_or("");
        if let Some(ppid) = fields.next().and_then(|p| p.parse::<i32>().ok())
            && state != "Z"
        {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = vec![];
    let mut queue = vec![root];
    while let Some(p) = queue.pop() {
        for &c in children.get(&p).into_iter().flatten() {
            out.push(c);
            queue.push(c);
        }
    }
    out
}
