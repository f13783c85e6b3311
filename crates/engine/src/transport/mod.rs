//! Starting a script on a host and stopping it again, for the `local` and `ssh` transports.
//!
//! `local`: the script is written into the instance's own working directory and its interpreter
//! started directly, in a new process group, with the parameters in its environment and
//! arguments — one process, so a fan-out spends its CPU on the scripts, not on plumbing.
//!
//! `ssh`: a small POSIX `sh` wrapper reads a *bundle* from standard input into a private
//! temporary directory (so the script travels over the connection itself, and sensitive values
//! never appear on a command line), reports its process-group id on stderr, then sources the
//! bundle, which writes the script, exports the parameters and runs the interpreter.
//!
//! Killing means signalling the whole process group: directly for `local`, over a second ssh
//! connection for `ssh` (closing the first does not stop a remote script).
//!
//! This file: what runs (the launch, the local launcher, the ssh wrapper and bundle); `ssh`:
//! how the engine uses ssh (options, masters opened ahead, a session's environment, remote
//! kills); `process`: a started (or ready) run and stopping it.

mod process;
mod ssh;
pub use process::*;
pub use ssh::*;

use crate::settings::TransportKind;
use cocpit_api::model::script::ScriptType;

/// What starts a local run made ready ahead: its interpreter waits to read it (see
/// [`launcher`]).
pub const GO: &[u8] = b"\n";

/// Prefix of the line on stderr that carries the wrapper's process-group id.
pub const PGID_MARKER: &str = "\u{1e}cocpit-pgid ";

/// The wrapper: read the bundle, report the process group, run; its directory goes when it
/// ends, however it ends. It may wait a while for its bundle (a run made ready ahead of its
/// batch), and a bundle cut short (the engine called the run off, or died) must run nothing:
/// the bundle is one `{ … }` group, so sh parses it whole before running any of it, and a
/// missing end is a syntax error.
const WRAPPER: &str = r#"d=$(mktemp -d "${TMPDIR:-/tmp}/cocpit.XXXXXX") || exit 125
trap 'cd /; rm -rf "$d"' EXIT
trap 'exit 143' TERM INT HUP
cat > "$d/bundle" || exit 125
printf '\036cocpit-pgid %s\n' "$$" >&2
cd "$d" && . ./bundle"#;

/// What to run: the script, its arguments (from `param_order`) and environment.
#[derive(Debug, Clone)]
pub struct Launch {
    pub script_type: ScriptType,
    pub content: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// `[runner]` limits, set by the launcher before the script starts.
    pub limits: crate::settings::RunLimits,
}

/// The first of `candidates` found on `PATH`, else the last one (whose failure to start then
/// names it).
fn find_program(candidates: &[&'static str]) -> &'static str {
    let path = std::env::var_os("PATH").unwrap_or_default();
    candidates
        .iter()
        .copied()
        .find(|c| std::env::split_paths(&path).any(|d| d.join(c).is_file()))
        .unwrap_or(candidates[candidates.len() - 1])
}

/// The engine's variables a script starts with: where programs are, who and where it runs as,
/// and how text and time are shown. Everything else (the engine's keys among it) stays out;
/// the script adds `COCPIT_*` and its declared parameters.
pub const INHERITED_ENV: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ"];

fn inherited_env() -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            INHERITED_ENV.contains(&k.as_ref()) || k.starts_with("LC_")
        })
        .collect()
}

/// How the interpreter starts `./script` with its arguments, though none is on a command line
/// (where `ps` shows it to every user of the host): they travel in `COCPIT_ARG_1`… (see
/// [`argv_env`]) and this short program, the same for every run, sets them.
///
/// With `waits`, the interpreter is started ahead of its run (see `exec::Prepared`): it first
/// reads the go ([`GO`]) from its standard input, which then becomes `/dev/null`; an end of
/// input instead (the run called off, the engine gone) runs nothing.
fn launcher(l: &Launch, waits: bool) -> String {
    let lim = l.limits;
    match l.script_type {
        ScriptType::Python => {
            let wait = if waits {
                "if os.read(0, 1) != b'\\n': sys.exit(125)\n\
                 null = os.open(os.devnull, os.O_RDONLY)\nos.dup2(null, 0)\nos.close(null)\n"
            } else {
                ""
            };
            let mut set = String::new();
            for (name, v) in [
                ("RLIMIT_AS", lim.memory_mb.map(|m| m * 1024 * 1024)),
                ("RLIMIT_NPROC", lim.processes),
                ("RLIMIT_CPU", lim.cpu_seconds),
            ] {
                if let Some(v) = v {
                    set.push_str(&format!(
                        "resource.setrlimit(resource.{name}, ({v}, {v}))\n"
                    ));
                }
            }
            format!(
                "import os, resource, runpy, sys\n{wait}{set}\
                 sys.argv = ['./script'] + [os.environ['COCPIT_ARG_%d' % i] \
                 for i in range(1, int(os.environ['COCPIT_ARGC']) + 1)]\n\
                 runpy.run_path('./script', run_name='__main__')"
            )
        }
        _ => {
            // A limit the shell cannot set fails the run (exit 125) rather than run unbounded.
            let mut set = String::new();
            for (flag, v) in [
                ("-v", lim.memory_mb.map(|m| m * 1024)),
                ("-u", lim.processes),
                ("-t", lim.cpu_seconds),
            ] {
                if let Some(v) = v {
                    set.push_str(&format!(
                        "ulimit {flag} {v} || {{ echo 'cannot set ulimit {flag} {v}' >&2; exit 125; }}; "
                    ));
                }
            }
            let args: String = (1..=l.args.len())
                .map(|i| format!(" \"$COCPIT_ARG_{i}\""))
                .collect();
            let wait = if waits {
                "IFS= read -r cocpit_go || exit 125; unset cocpit_go; exec </dev/null; "
            } else {
                ""
            };
            format!("{wait}{set}set --{args}; . ./script")
        }
    }
}

/// The arguments as environment variables for [`launcher`]: `COCPIT_ARGC` and `COCPIT_ARG_n`.
fn argv_env(l: &Launch) -> impl Iterator<Item = (String, String)> + '_ {
    std::iter::once(("COCPIT_ARGC".to_string(), l.args.len().to_string())).chain(
        l.args
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("COCPIT_ARG_{}", i + 1), v.clone())),
    )
}

/// The run's token in a launch's environment (hex, set by the engine), if it has one.
fn run_token(l: &Launch) -> Option<&str> {
    l.env
        .iter()
        .find(|(k, v)| k == super::leftovers::RUN_VAR && v.chars().all(|c| c.is_ascii_hexdigit()))
        .map(|(_, v)| v.as_str())
}

/// Quotes a string for POSIX sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The shell program the wrapper sources: it writes the script next to itself, exports the
/// parameters, runs the interpreter with the arguments and removes the directory afterwards.
pub fn bundle(l: &Launch) -> String {
    let delimiter = format!("COCPIT_EOF_{:016x}", fastrand::u64(..));
    let mut b = String::with_capacity(l.content.len() + 512);
    // One group, closed on the last line (see WRAPPER).
    b.push_str("{\n");
    b.push_str(&format!("cat > ./script <<'{delimiter}'\n"));
    b.push_str(&l.content);
    if !l.content.ends_with('\n') {
        b.push('\n');
    }
    b.push_str(&delimiter);
    // No mode to set: the directory is mktemp's (0700), and the interpreter reads the file.
    b.push('\n');
    // The run's token goes to the script only, not to this shell: the scan after it ends
    // must not find itself.
    for (k, v) in l.env.iter().cloned().chain(argv_env(l)) {
        if is_env_name(&k) && k != super::leftovers::RUN_VAR {
            b.push_str(&format!("export {k}={}\n", sh_quote(&v)));
        }
    }
    let token = run_token(l);
    let go = sh_quote(&launcher(l, false));
    let run = match l.script_type {
        ScriptType::Shell => {
            // --norc: bash started under sshd (SSH_CLIENT set, a low SHLVL) would read the
            // user's ~/.bashrc, an interactive file, into the script.
            format!(
                "if command -v bash >/dev/null 2>&1; then bash --norc -c {go}; else sh -c {go}; fi"
            )
        }
        ScriptType::Python => format!(
            "if command -v python3 >/dev/null 2>&1; then python3 -c {go}; else python -c {go}; fi"
        ),
        ScriptType::Bat => {
            "echo 'BAT scripts need a Windows host with cmd.exe' >&2; (exit 126)".to_string()
        }
    };
    match token {
        Some(t) => {
            b.push_str(&format!(
                "( export {}={t}; {run} ) </dev/null\nrc=$?\n{}\n",
                super::leftovers::RUN_VAR,
                super::leftovers::remote_kill(t)
            ));
        }
        None => {
            b.push_str(&run);
            b.push_str(" </dev/null\nrc=$?\n");
        }
    }
    // The wrapper's EXIT trap removes the directory.
    b.push_str("exit $rc\n}\n");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn bundle_exports_only_valid_names_and_passes_args_in_order() {
        let b = bundle(&Launch {
            script_type: ScriptType::Shell,
            content: "echo $1".into(),
            args: vec!["a b".into(), "c'd".into()],
            env: vec![("name".into(), "v".into()), ("bad-name".into(), "x".into())],
            limits: Default::default(),
        });
        assert!(b.contains("export name='v'\n"));
        assert!(!b.contains("bad-name"));
        // The arguments travel as variables; the command line holds only the launcher.
        assert!(b.contains("export COCPIT_ARGC='2'\n"));
        assert!(b.contains("export COCPIT_ARG_1='a b'\n"));
        assert!(b.contains(r"export COCPIT_ARG_2='c'\''d'"));
        assert!(
            b.contains(r#"bash --norc -c 'set -- "$COCPIT_ARG_1" "$COCPIT_ARG_2"; . ./script'"#)
        );
    }

    /// Runs the wrapper locally on `input` with `TMPDIR` set to `tmp`: its stdout.
    fn wrapper_on(input: &[u8], tmp: &std::path::Path) -> String {
        use std::io::Write;
        let mut sh = std::process::Command::new("sh")
            .args(["-c", WRAPPER])
            .env("TMPDIR", tmp)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = sh.stdin.take().unwrap();
        stdin.write_all(input).unwrap();
        drop(stdin);
        String::from_utf8_lossy(&sh.wait_with_output().unwrap().stdout).into_owned()
    }

    /// A bundle cut short anywhere (the engine called the run off, or died while it waited)
    /// runs nothing of it, and the wrapper's directory goes either way.
    #[test]
    fn a_bundle_cut_short_runs_nothing_and_leaves_no_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let launch = Launch {
            script_type: ScriptType::Shell,
            content: "echo first line\necho second line".into(),
            args: vec![],
            env: vec![("name".into(), "v".into())],
            limits: Default::default(),
        };
        let whole = bundle(&launch);
        let out = wrapper_on(whole.as_bytes(), tmp.path());
        assert!(
            out.contains("first line") && out.contains("second line"),
            "{out}"
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        // Every cut that loses more than the last newline (with it, the whole script is there).
        for cut in [
            0,
            1,
            whole.len() / 3,
            whole.len() / 2,
            whole.len() - 3,
            whole.len() - 2,
        ] {
            let out = wrapper_on(&whole.as_bytes()[..cut], tmp.path());
            assert!(
                !out.contains("line"),
                "cut at {cut} of {}: {out}",
                whole.len()
            );
            assert_eq!(
                std::fs::read_dir(tmp.path()).unwrap().count(),
                0,
                "cut at {cut}"
            );
        }
    }

    /// A script run over ssh starts clean: bash, which sshd's variables would make read the
    /// user's ~/.bashrc, does not.
    #[test]
    fn the_wrapper_runs_a_script_without_the_users_bashrc() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".bashrc"), "echo FROM-BASHRC\n").unwrap();
        let launch = Launch {
            script_type: ScriptType::Shell,
            content: "echo script ran".into(),
            args: vec![],
            env: vec![],
            limits: Default::default(),
        };
        let mut sh = std::process::Command::new("sh")
            .args(["-c", WRAPPER])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("SSH_CLIENT", "127.0.0.1 40000 22")
            .env("SHLVL", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        sh.stdin
            .take()
            .unwrap()
            .write_all(bundle(&launch).as_bytes())
            .unwrap();
        let out = sh.wait_with_output().unwrap();
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("script ran"), "{out}");
        assert!(!out.contains("FROM-BASHRC"), "{out}");
    }
}
