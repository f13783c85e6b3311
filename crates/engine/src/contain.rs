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
    // No async runtime: the helper only waits for the program or a signal, so the signals it
    // answers are blocked and taken with sigwait. They are blocked after the program starts:
    // a child inherits the mask, and the script must get its signals. A program that ends in
    // between is seen by the loop below, which looks before it waits; a TERM in between ends
    // the helper at once, and the engine's kill of the process group still reaches the script.
    // The program inherits standard input: it reads its go there (see `transport::launcher`).
    let mut child = match std::process::Command::new(program).args(args).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cocpit: cannot start {program}: {e}");
            return 126;
        }
    };
    use nix::sys::signal::SigSet;
    let mut awaited = SigSet::empty();
    for sig in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGINT,
    ] {
        awaited.add(sig);
    }
    if awaited.thread_block().is_err() {
        kill_descendants();
        return 125;
    }
    let code = loop {
        // The program may have ended before the wait began: look first.
        match child.try_wait() {
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt;
                break status
                    .code()
                    .map(|c| c as u8)
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(9) as u8);
            }
            Ok(None) => {}
            Err(_) => break 125,
        }
        match awaited.wait() {
            Ok(Signal::SIGTERM) => break 143,
            Ok(Signal::SIGHUP) => break 129,
            Ok(Signal::SIGINT) => break 130,
            // SIGCHLD (the program, or an orphan that ended): look again.
            _ => {}
        }
    };
    kill_descendants();
    code
}

/// Kills every process that descends from this one, in rounds (one may fork meanwhile).
pub fn kill_descendants() {
    // A living descendant is a child of ours: the orphans of a subreaper are reparented to
    // it, and the rest hang from one of them. With no child at all (the usual end of a run),
    // there is nothing to look for in /proc.
    if matches!(
        nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)),
        Err(nix::errno::Errno::ECHILD)
    ) {
        return;
    }
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
