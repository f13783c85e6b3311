//! The ssh transport against a real sshd on 127.0.0.1: the script travels over the connection,
//! a timeout or cancel leaves no process of the script on the host, and an unreachable host
//! fails only its own instance, with ssh's error as the message.

mod common;

use cocpit::config::Host;
use cocpit::model::order::{
    InstanceStatus as I, OperationType as Op, OrderStatus as O, RotationStrategy::*,
};
use common::sshd::{Sshd, free_port};
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_script_runs_over_ssh_with_its_parameters() {
    let sshd = Sshd::start();
    let e = engine_on(vec![sshd.host("web-01"), sshd.host("web-02")]);
    let s = create(
        &e,
        "remote",
        "echo \"hello $1 from $COCPIT_RESOURCE_ID in $(pwd)\"\necho \"secret=$2\"\n",
        vec![param("who", "x", 1, false), param("pw", "p4ss", 2, true)],
    );
    let eid = e
        .execute_script(
            &s,
            plan(
                &[(&["web-01", "web-02"], Continue)],
                &[("who", "ops")],
                60,
                100.0,
            ),
            "t",
        )
        .unwrap();
    let done = wait_status(&e, &eid, O::Finished).await;
    for h in ["web-01", "web-02"] {
        let m = &done.on(h).message;
        assert!(m.contains(&format!("hello ops from {h} in /")), "{m}");
        assert!(m.contains("secret=******") && !m.contains("p4ss"), "{m}");
        assert!(
            !m.contains("cocpit-pgid"),
            "the wrapper's line is not output: {m}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_over_ssh_leaves_no_process_on_the_host() {
    let sshd = Sshd::start();
    let pids = tempfile::tempdir().unwrap();
    let dir = pids.path().display().to_string();
    let e = engine_on(vec![sshd.host("web-01")]);
    let s = create(&e, "hang", SPAWNER, vec![param("dir", "", 1, false)]);
    let eid = e
        .execute_script(
            &s,
            plan(&[(&["web-01"], Continue)], &[("dir", &dir)], 5, 100.0),
            "t",
        )
        .unwrap();
    let done = wait_for(&e, &eid, "the timeout", |s| {
        s.on("web-01").status == I::Abnormal
    })
    .await;
    assert!(
        done.on("web-01").message.contains("timed out after 5 s"),
        "{}",
        done.on("web-01").message
    );
    let found = pids_of(pids.path(), "web-01");
    assert_eq!(found.len(), 2);
    assert!(all_gone(&found).await, "remote processes left: {found:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_detached_child_on_the_host_ends_with_its_script_or_its_timeout() {
    let sshd = Sshd::start();
    let pids = tempfile::tempdir().unwrap();
    let dir = pids.path().display().to_string();
    let e = engine_on(vec![sshd.host("web-01"), sshd.host("web-02")]);
    let done = create(
        &e,
        "detach_exit",
        &detaching("exit 0"),
        vec![param("dir", "", 1, false)],
    );
    let hang = create(
        &e,
        "detach_hang",
        &detaching("sleep 300"),
        vec![param("dir", "", 1, false)],
    );
    let eid = e
        .execute_script(
            &done,
            plan(&[(&["web-01"], Continue)], &[("dir", &dir)], 30, 100.0),
            "t",
        )
        .unwrap();
    wait_status(&e, &eid, O::Finished).await;
    let left = pids_of(pids.path(), "web-01");
    assert_eq!(left.len(), 1);
    assert!(
        all_gone(&left).await,
        "a detached child outlived its script: {left:?}"
    );
    let eid = e
        .execute_script(
            &hang,
            plan(&[(&["web-02"], Continue)], &[("dir", &dir)], 5, 100.0),
            "t",
        )
        .unwrap();
    wait_for(&e, &eid, "the timeout", |s| {
        s.on("web-02").status == I::Abnormal
    })
    .await;
    let left = pids_of(pids.path(), "web-02");
    assert!(
        all_gone(&left).await,
        "a detached child outlived its timeout: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_over_ssh_leaves_no_process_on_the_host() {
    let sshd = Sshd::start();
    let pids = tempfile::tempdir().unwrap();
    let dir = pids.path().display().to_string();
    let e = engine_on(vec![sshd.host("web-01")]);
    let s = create(&e, "hang", SPAWNER, vec![param("dir", "", 1, false)]);
    let eid = e
        .execute_script(
            &s,
            plan(&[(&["web-01"], Continue)], &[("dir", &dir)], 600, 100.0),
            "t",
        )
        .unwrap();
    let r = wait_for(&e, &eid, "started", |s| {
        s.on("web-01").message.contains("started")
    })
    .await;
    e.operate(&eid, op(Op::CancelInstance, None, Some(r.on("web-01").id)))
        .await
        .unwrap();
    wait_for(&e, &eid, "canceled", |s| {
        s.on("web-01").status == I::Canceled
    })
    .await;
    let found = pids_of(pids.path(), "web-01");
    assert_eq!(found.len(), 2);
    assert!(all_gone(&found).await, "remote processes left: {found:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_resources_checks_reachability_in_the_background() {
    use cocpit::engine::Change;
    use cocpit::model::resource::ListResourcesQuery;
    let sshd = Sshd::start();
    let mut dead = sshd.host("gone-01");
    let port = free_port();
    let i = dead.ssh_options.iter().position(|o| o == "-p").unwrap();
    dead.ssh_options[i + 1] = port.to_string();
    let e = engine_on(vec![sshd.host("web-01"), dead, Host::local("local-01")]);
    let mut events = e.subscribe();
    let state = |e: &cocpit::engine::Engine| {
        e.list_resources(&ListResourcesQuery::default())
            .unwrap()
            .into_iter()
            .map(|r| (r.resource_id.clone(), r))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    // First listing: local hosts answer, ssh hosts are being checked.
    let first = state(&e);
    assert_eq!(first["local-01"].agent_state.as_deref(), Some("ONLINE"));
    assert_eq!(first["web-01"].agent_state, None);
    assert_eq!(first["gone-01"].agent_state, None);
    let mut told = std::collections::BTreeSet::new();
    while told.len() < 2 {
        let ev = tokio::time::timeout(PATIENCE, events.recv())
            .await
            .expect("a reachability event")
            .unwrap();
        if let Change::ResourceChanged { resource_id } = ev {
            told.insert(resource_id);
        }
    }
    let after = state(&e);
    assert_eq!(after["web-01"].agent_state.as_deref(), Some("ONLINE"));
    assert_eq!(after["gone-01"].agent_state.as_deref(), Some("OFFLINE"));
    let why = after["gone-01"].properties["unreachable"].as_str().unwrap();
    assert!(why.contains("Connection refused"), "{why}");
    // The filter the API documents sees the same.
    let offline = e
        .list_resources(&ListResourcesQuery {
            agent_state: Some("OFFLINE".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(offline.len(), 1);
    assert_eq!(offline[0].resource_id, "gone-01");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_host_fails_only_its_instance() {
    let sshd = Sshd::start();
    let mut dead = sshd.host("gone-01");
    // A port nothing listens on.
    let port = free_port();
    let i = dead.ssh_options.iter().position(|o| o == "-p").unwrap();
    dead.ssh_options[i + 1] = port.to_string();
    let e = engine_on(vec![sshd.host("web-01"), dead, Host::local("local-01")]);
    let s = create(&e, "hi", "echo hi\n", vec![]);
    // The dead host runs last, so the success rate (2 of 3) stays above the threshold.
    let eid = e
        .execute_script(
            &s,
            plan(
                &[
                    (&["web-01", "local-01"], Continue),
                    (&["gone-01"], Continue),
                ],
                &[],
                60,
                50.0,
            ),
            "t",
        )
        .unwrap();
    let done = wait_status(&e, &eid, O::Finished).await;
    assert_eq!(done.on("web-01").status, I::Finished);
    assert_eq!(done.on("local-01").status, I::Finished);
    let g = done.on("gone-01");
    assert_eq!(g.status, I::Abnormal);
    assert_eq!(g.exit_code, Some(255));
    assert!(
        g.message.contains("ssh failed (exit 255)") && g.message.contains("Connection refused"),
        "{}",
        g.message
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_and_retries_reuse_each_hosts_master_connection() {
    let sshd = Sshd::start();
    let flags = tempfile::tempdir().unwrap();
    let dir = flags.path().display().to_string();
    let e = engine_on(vec![
        sshd.host("web-01"),
        sshd.host("web-02"),
        sshd.host("web-03"),
    ]);
    // web-02 fails until the flag exists, so its retry is a second session on the same host.
    let s = create(
        &e,
        "once",
        "echo run\n[ \"$COCPIT_RESOURCE_ID\" != web-02 ] || [ -e \"$1/ok\" ]\n",
        vec![param("dir", "", 1, false)],
    );
    let eid = e
        .execute_script(
            &s,
            plan(
                &[
                    (&["web-01"], Continue),
                    (&["web-02"], Continue),
                    (&["web-03"], Continue),
                ],
                &[("dir", &dir)],
                60,
                1.0,
            ),
            "t",
        )
        .unwrap();
    let done = wait_status(&e, &eid, O::Finished).await;
    assert_eq!(done.on("web-02").status, I::Abnormal);
    assert_eq!(done.on("web-03").status, I::Finished);
    std::fs::write(flags.path().join("ok"), "").unwrap();
    let id = done.on("web-02").id;
    e.operate(&eid, op(Op::RetryInstance, None, Some(id)))
        .await
        .unwrap();
    let again = wait_for(&e, &eid, "the retry", |s| {
        s.on("web-02").status == I::Finished
    })
    .await;
    assert_eq!(again.order.status, O::Finished);
    // Four sessions, three hosts: each host authenticated once, over its master.
    assert_eq!(sshd.authentications(), 3, "one connection per host");
}

/// The pid of the master behind `socket`, if one answers (`ssh -O check` says it).
fn master_pid(socket: &std::path::Path) -> Option<i32> {
    let out = std::process::Command::new("ssh")
        .arg("-o")
        .arg(format!("ControlPath={}", socket.display()))
        .args(["-O", "check", "x"])
        .output()
        .ok()?;
    let said = String::from_utf8_lossy(&out.stderr);
    said.split("pid=").nth(1)?.split(')').next()?.parse().ok()
}

fn sockets(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    all.sort();
    all
}

/// Masters outlive their order (a run again authenticates nothing), one that died behind the
/// engine's back is noticed and replaced before a run uses it, and all close with the engine.
#[tokio::test(flavor = "multi_thread")]
async fn masters_are_kept_across_orders_checked_before_use_and_closed_at_exit() {
    let sshd = Sshd::start();
    let data = tempfile::tempdir().unwrap();
    let mut cfg = cocpit::config::Config::default();
    cfg.inventory.hosts = vec![sshd.host("web-01"), sshd.host("web-02")];
    let e = cocpit::engine::Engine::open(data.path(), &cfg.engine_setup()).unwrap();
    let s = create(&e, "hello", "echo hi\n", vec![]);
    let run = |e: &cocpit::engine::Engine| {
        e.execute_script(
            &s,
            plan(&[(&["web-01", "web-02"], Continue)], &[], 60, 1.0),
            "t",
        )
        .unwrap()
    };
    let first = run(&e);
    wait_status(&e, &first, O::Finished).await;
    assert_eq!(sshd.authentications(), 2);
    let control = data.path().join("work").join("ssh");
    let kept = sockets(&control);
    assert_eq!(kept.len(), 2, "{kept:?}");
    let pids: Vec<i32> = kept.iter().map(|s| master_pid(s).unwrap()).collect();

    let again = run(&e);
    let done = wait_status(&e, &again, O::Finished).await;
    assert!(done.instances.iter().all(|i| i.status == I::Finished));
    assert_eq!(sshd.authentications(), 2, "a run again pays no handshake");

    // One master dies; its socket stays behind.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pids[0]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let third = run(&e);
    let done = wait_status(&e, &third, O::Finished).await;
    assert!(done.instances.iter().all(|i| i.status == I::Finished));
    assert_eq!(
        sshd.authentications(),
        3,
        "only the dead master is opened again"
    );
    let replaced = master_pid(&kept[0]).expect("a new master behind the socket");
    assert_ne!(replaced, pids[0]);
    assert_eq!(master_pid(&kept[1]), Some(pids[1]));

    let disconnects = || {
        std::fs::read_to_string(sshd.dir.path().join("sshd.log"))
            .unwrap_or_default()
            .matches("Received disconnect from")
            .count()
    };
    assert_eq!(disconnects(), 0);
    e.wind_down("test over").await.unwrap();
    assert!(sockets(&control).is_empty(), "{:?}", sockets(&control));
    // Both live masters said goodbye to the server (the killed one could not).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while disconnects() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        disconnects(),
        2,
        "{}",
        std::fs::read_to_string(sshd.dir.path().join("sshd.log")).unwrap()
    );
}

/// `host` with its own temporary directory on the host side (the wrapper's `TMPDIR`), so a test
/// sees the directories its runs make there.
fn with_tmpdir(mut host: Host, dir: &std::path::Path) -> Host {
    host.ssh_options
        .extend(["-o".into(), format!("SetEnv=TMPDIR={}", dir.display())]);
    host
}

/// The entries of `dir` (the wrapper directories of a host's runs).
fn entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect()
}

/// A script that marks that it ran on its host, then waits for `$1/go`.
const RAN_THEN_WAIT: &str = "touch \"$1/$COCPIT_RESOURCE_ID.ran\"\n\
    while [ ! -e \"$1/go\" ]; do sleep 0.05; done\necho done on $COCPIT_RESOURCE_ID\n";

/// web-01 then web-02 (its wrapper's `TMPDIR` is `tmp`) running RAN_THEN_WAIT; returns the
/// engine and the order once web-02's session waits, made ready, while web-01's script runs.
async fn with_web_02_waiting(
    sshd: &Sshd,
    marks: &std::path::Path,
    tmp: &std::path::Path,
) -> (cocpit::engine::Engine, String) {
    let e = engine_on(vec![
        sshd.host("web-01"),
        with_tmpdir(sshd.host("web-02"), tmp),
    ]);
    let dir = marks.display().to_string();
    let s = create(&e, "ahead", RAN_THEN_WAIT, vec![param("dir", "", 1, false)]);
    let eid = e
        .execute_script(
            &s,
            plan(
                &[(&["web-01"], Continue), (&["web-02"], Continue)],
                &[("dir", &dir)],
                60,
                100.0,
            ),
            "t",
        )
        .unwrap();
    until("batch 1 runs", || marks.join("web-01.ran").exists()).await;
    // web-02's wrapper has made its directory and waits for its bundle; its script has not run.
    until("web-02 waits", || entries(tmp).len() == 1).await;
    assert!(!marks.join("web-02.ran").exists());
    assert_eq!(snapshot(&e, &eid).on("web-02").status, I::Ready);
    (e, eid)
}

/// While a batch runs, the next batch's session is open on its host, waiting for its bundle:
/// the batch starts it with nothing left to set up, and it runs as any other.
#[tokio::test(flavor = "multi_thread")]
async fn the_next_batch_waits_on_its_host_while_a_batch_runs() {
    let sshd = Sshd::start();
    let (marks, tmp) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (e, eid) = with_web_02_waiting(&sshd, marks.path(), tmp.path()).await;
    std::fs::write(marks.path().join("go"), "").unwrap();
    let done = wait_status(&e, &eid, O::Finished).await;
    assert!(done.on("web-02").message.contains("done on web-02"));
    // Its directory went with it.
    until("web-02's directory removed", || {
        entries(tmp.path()).is_empty()
    })
    .await;
}

/// A run made ready that never starts (the order canceled while the batch before ran) runs
/// nothing on its host and leaves nothing there.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_made_ready_and_called_off_runs_nothing_and_leaves_nothing() {
    let sshd = Sshd::start();
    let (marks, tmp) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (e, eid) = with_web_02_waiting(&sshd, marks.path(), tmp.path()).await;
    e.operate(&eid, op(Op::CancelOrder, None, None))
        .await
        .unwrap();
    let done = wait_status(&e, &eid, O::Canceled).await;
    assert_eq!(done.on("web-02").status, I::Canceled);
    until("web-02's directory removed", || {
        entries(tmp.path()).is_empty()
    })
    .await;
    assert!(!marks.path().join("web-02.ran").exists());
}

/// The ssh clients on this machine carrying a run's wrapper (argv[0] `ssh`, the wrapper's text
/// in its arguments).
fn wrapper_clients() -> usize {
    processes_where("cmdline", |args| {
        args.first() == Some(&&b"ssh"[..])
            && args
                .iter()
                .any(|a| String::from_utf8_lossy(a).contains("cocpit-pgid"))
    })
    .len()
}

/// Starts a script on web-01 that runs `before`, says it started (in `marks`), waits there
/// until `go` appears in `marks`, then runs `after`; returns once it has started.
async fn run_until_started(
    e: &cocpit::engine::Engine,
    marks: &std::path::Path,
    before: &str,
    after: &str,
) -> String {
    let s = create(
        e,
        "waits",
        &format!(
            "{before}\ntouch \"$1/started\"\nwhile [ ! -e \"$1/go\" ]; do sleep 0.05; done\n{after}\n"
        ),
        vec![param("dir", "", 1, false)],
    );
    let dir = marks.display().to_string();
    let eid = e
        .execute_script(
            &s,
            plan(&[(&["web-01"], Continue)], &[("dir", &dir)], 60, 100.0),
            "t",
        )
        .unwrap();
    until("the script runs", || marks.join("started").exists()).await;
    eid
}

/// Over a host's master, a run opens its session itself: no ssh client process runs for it,
/// and its output, exit code and the ssh options' environment arrive as over a client.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_over_a_master_starts_no_ssh_client() {
    let sshd = Sshd::start();
    let marks = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let e = engine_on(vec![with_tmpdir(sshd.host("web-01"), tmp.path())]);
    let eid = run_until_started(&e, marks.path(), "echo \"tmp=$TMPDIR\"", "exit 3").await;
    assert_eq!(wrapper_clients(), 0, "an ssh client runs the wrapper");
    std::fs::write(marks.path().join("go"), "").unwrap();
    let done = wait_status(&e, &eid, O::Paused).await;
    let i = done.on("web-01");
    assert_eq!(i.exit_code, Some(3));
    assert!(
        i.message.contains(&format!("tmp={}", tmp.path().display())),
        "{}",
        i.message
    );
}

/// A run whose master dies under it ends ABNORMAL, saying the connection closed before its
/// exit status came: not an exit code it never had.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_whose_master_dies_says_so() {
    let sshd = Sshd::start();
    let data = tempfile::tempdir().unwrap();
    let marks = tempfile::tempdir().unwrap();
    let mut cfg = cocpit::config::Config::default();
    cfg.inventory.hosts = vec![sshd.host("web-01")];
    let e = cocpit::engine::Engine::open(data.path(), &cfg.engine_setup()).unwrap();
    let eid = run_until_started(&e, marks.path(), "", "").await;
    assert_eq!(wrapper_clients(), 0, "the run is a session over the master");
    let control = data.path().join("work").join("ssh");
    let pid = master_pid(&sockets(&control)[0]).expect("the master answers");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let done = wait_status(&e, &eid, O::Paused).await;
    let i = done.on("web-01");
    assert_eq!(i.status, I::Abnormal);
    assert_eq!(i.exit_code, None);
    assert!(
        i.message
            .contains("the ssh master connection closed before the script's exit status"),
        "{}",
        i.message
    );
    std::fs::write(marks.path().join("go"), "").unwrap();
}
