//! What a run leaves behind is killed when it ends. A script may start children that leave its
//! process group (`setsid cmd &`, a daemon that double-forks) or outlive it after it exits 0.
//! Every run carries a token in its environment (`COCPIT_RUN`), which its descendants inherit;
//! when the run ends (exit, timeout, cancel) every process still carrying it is killed, locally by
//! reading `/proc/*/environ`, on an ssh host by the same scan in the wrapper. After a crash the
//! engine finds what interrupted instances left by their `COCPIT_EXECUTE_UUID` and
//! `COCPIT_INSTANCE_ID` and kills it before marking them ABNORMAL.
//!
//! Local runs of the `cocpit` binary go further: its containment helper (`contain`) kills
//! every descendant, token or not. This module covers ssh hosts, crashes, and engines embedded
//! elsewhere; there a process that clears its environment escapes it (cleanup, not a sandbox).

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The variable that marks every process of one run.
pub const RUN_VAR: &str = "COCPIT_RUN";

/// A fresh token for one run.
pub fn new_token() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// Kills every process of this machine (but this one) whose environment holds every one of
/// `marks` (`NAME=value`), in rounds until none is left (a process may fork while it is found).
/// Returns how many were killed.
pub fn kill_marked(marks: &[String]) -> usize {
    let me = std::process::id();
    let mut killed = 0;
    for _ in 0..10 {
        let found = marked(marks, me);
        if found.is_empty() {
            break;
        }
        for pid in found {
            if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
    }
    killed
}

fn marked(marks: &[String], me: u32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid as u32 != me)
        .filter(|pid| {
            // Another user's process (or one gone meanwhile) cannot be read: not ours.
            let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
                return false;
            };
            let vars: Vec<&[u8]> = env.split(|&b| b == 0).collect();
            marks.iter().all(|m| vars.contains(&m.as_bytes()))
        })
        .collect()
}

/// [`kill_marked`] as a POSIX shell snippet for a remote host (run in a session of its own,
/// which carries no mark). Marks are ids and hex; one with any other character is never pasted
/// into the snippet, which then kills nothing.
pub fn remote_kill_marked(marks: &[String]) -> String {
    let plain = |m: &String| {
        m.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_=-".contains(c))
    };
    if marks.is_empty() || !marks.iter().all(plain) {
        return "true".into();
    }
    // One grep per mark over every process's environment (NUL-separated variables, matched
    // whole): each narrows the list of the last, so what is left carries every mark. A few
    // processes in all, where a loop over /proc would fork twice per process on the host.
    // Without a grep that reads NUL-separated input, the loop it is. The probe is one process:
    // grep's own command line holds the NUL-terminated line `a` only if it splits on NULs.
    let mut narrow = format!(
        "f=$(grep -lzx -e '{}' /proc/[0-9]*/environ 2>/dev/null)",
        marks[0]
    );
    for m in &marks[1..] {
        narrow.push_str(&format!(
            "; [ -n \"$f\" ] && f=$(grep -lzx -e '{m}' $f 2>/dev/null)"
        ));
    }
    let patterns: String = marks.iter().map(|m| format!(" -e '{m}'")).collect();
    format!(
        "if grep -qzx a /proc/self/cmdline 2>/dev/null; then {narrow}; \
         for p in $f; do n=${{p#/proc/}}; n=${{n%/environ}}; \
         [ \"$n\" = \"$$\" ] || kill -9 \"$n\" 2>/dev/null; done; \
         else for p in /proc/[0-9]*; do n=${{p#/proc/}}; [ \"$n\" = \"$$\" ] && continue; \
         c=$(tr '\\000' '\\n' < \"$p/environ\" 2>/dev/null | grep -cx{patterns}); \
         [ \"$c\" = \"{}\" ] && kill -9 \"$n\" 2>/dev/null; done; fi; true",
        marks.len()
    )
}

/// [`remote_kill_marked`] for one run's token.
pub fn remote_kill(token: &str) -> String {
    remote_kill_marked(&[format!("{RUN_VAR}={token}")])
}

/// The marks of one instance of an order: what an interrupted instance left carries them.
pub fn instance_marks(execute_uuid: &str, instance_id: i64) -> Vec<String> {
    vec![
        format!("COCPIT_EXECUTE_UUID={execute_uuid}"),
        format!("COCPIT_INSTANCE_ID={instance_id}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_that_is_not_plain_never_reaches_the_snippet() {
        let bad = remote_kill_marked(&["COCPIT_RUN=x'; reboot; '".to_string()]);
        assert_eq!(bad, "true");
        let good = remote_kill_marked(&["COCPIT_RUN=00ff".to_string()]);
        assert!(good.contains("grep -lzx -e 'COCPIT_RUN=00ff' /proc") && good.contains("= \"1\""));
    }

    /// The snippet a host runs kills what carries every mark, and spares what carries only
    /// some of them.
    #[test]
    fn the_remote_snippet_kills_only_what_carries_every_mark() {
        let marks = instance_marks(&format!("SCT{}", new_token()), 7);
        let spawn = |vars: &[String]| {
            let mut c = std::process::Command::new("setsid");
            c.args(["sleep", "30"]);
            for v in vars {
                let (k, val) = v.split_once('=').unwrap();
                c.env(k, val);
            }
            c.spawn().unwrap()
        };
        let mut both = spawn(&marks);
        let mut one = spawn(&marks[..1]);
        let pid = both.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !marked(&marks, std::process::id()).contains(&pid) {
            assert!(std::time::Instant::now() < deadline, "never seen");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let ran = std::process::Command::new("sh")
            .args(["-c", &remote_kill_marked(&marks)])
            .status()
            .unwrap();
        assert!(ran.success());
        let status = both.wait().unwrap();
        assert!(!status.success(), "the marked process was killed");
        assert!(one.try_wait().unwrap().is_none(), "a half-marked one lives");
        one.kill().unwrap();
        one.wait().unwrap();
    }

    #[test]
    fn a_detached_child_carrying_the_token_is_found_and_killed() {
        let token = new_token();
        let mark = format!("{RUN_VAR}={token}");
        // `setsid` puts it in a session of its own: no process group kill reaches it.
        let mut child = std::process::Command::new("setsid")
            .args(["sleep", "30"])
            .env(RUN_VAR, &token)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !marked(std::slice::from_ref(&mark), std::process::id()).contains(&pid) {
            assert!(std::time::Instant::now() < deadline, "never seen");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(kill_marked(std::slice::from_ref(&mark)) >= 1);
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert_eq!(kill_marked(&[mark]), 0, "nothing is left");
    }
}
