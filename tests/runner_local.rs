//! The runner on real local processes: output capture and masking, the success-rate threshold,
//! timeouts and cancels that kill whole process groups, the output cap. (Parameters, pauses,
//! rotation, retry and skip run on both transports in `runner_scenarios.rs`.)

mod common;

use cocpit::model::order::{
    InstanceStatus as I, OperationType as Op, OrderStatus as O, RotationStrategy::*,
};
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn stdout_and_stderr_keep_their_lines_and_order_with_a_secret_masked() {
    let e = demo_engine(1);
    let s = create(
        &e,
        "mixed",
        // Two pipes order what arrives, so the writes are a moment apart, as in a real script.
        "for n in 1 2 3; do\n  echo \"step $n on vm token=$2\"\n  sleep 0.05\n  echo \"host refuses $n\" >&2\n  sleep 0.05\ndone\n",
        vec![
            param("who", "x", 1, false),
            param("token", "hunter22", 2, true),
        ],
    );
    let eid = e
        .execute_script(&s, plan(&[(&["demo-01"], Continue)], &[], 30, 100.0), "t")
        .unwrap();
    let done = wait_status(&e, &eid, O::Finished).await;
    let i = done.on("demo-01");
    assert_eq!(
        i.message,
        "step 1 on vm token=******\nhost refuses 1\n\
         step 2 on vm token=******\nhost refuses 2\n\
         step 3 on vm token=******\nhost refuses 3\n"
    );
    let pieces = e.instance_log(&eid, i.id).unwrap();
    let streams: Vec<(bool, &str)> = pieces.iter().map(|p| (p.stderr, p.text.as_str())).collect();
    assert_eq!(streams[0], (false, "step 1 on vm token=******\n"));
    assert_eq!(streams[1], (true, "host refuses 1\n"));
    assert!(pieces.windows(2).all(|w| w[0].at <= w[1].at && w[0].at > 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn output_is_readable_while_the_instance_runs() {
    let flags = tempfile::tempdir().unwrap();
    let e = demo_engine(1);
    let s = create(
        &e,
        "live",
        "echo first\nwhile [ ! -e \"$1/go\" ]; do sleep 0.05; done\necho second\n",
        vec![param("dir", "", 1, false)],
    );
    let dir = flags.path().display().to_string();
    let eid = e
        .execute_script(
            &s,
            plan(&[(&["demo-01"], Continue)], &[("dir", &dir)], 60, 100.0),
            "t",
        )
        .unwrap();
    let running = wait_for(&e, &eid, "first line while running", |s| {
        s.on("demo-01").message.contains("first")
    })
    .await;
    assert_eq!(running.on("demo-01").status, I::Processing);
    assert!(!running.on("demo-01").message.contains("second"));
    std::fs::write(flags.path().join("go"), "").unwrap();
    let done = wait_status(&e, &eid, O::Finished).await;
    assert!(done.on("demo-01").message.contains("first\nsecond"));
}

#[tokio::test(flavor = "multi_thread")]
async fn success_rate_is_judged_when_the_batch_settles_and_running_instances_finish() {
    let flags = tempfile::tempdir().unwrap();
    let dir = flags.path().display().to_string();
    let e = demo_engine(3);
    let s = create(
        &e,
        "flaky",
        "if [ \"$COCPIT_RESOURCE_ID\" = demo-01 ]; then echo failing; exit 7; fi\n\
         while [ ! -e \"$1/go\" ]; do sleep 0.05; done\necho done\n",
        vec![param("dir", "", 1, false)],
    );
    let eid = e
        .execute_script(
            &s,
            plan(
                &[
                    (&["demo-01", "demo-02"], Continue),
                    (&["demo-03"], Continue),
                ],
                &[("dir", &dir)],
                60,
                80.0,
            ),
            "t",
        )
        .unwrap();
    // demo-01 fails first; the batch has not settled, so the order keeps running.
    let failed_first = wait_for(&e, &eid, "demo-01 fails", |s| {
        s.on("demo-01").status == I::Abnormal
    })
    .await;
    assert_eq!(failed_first.order.status, O::Processing);
    assert_eq!(failed_first.on("demo-02").status, I::Processing);
    std::fs::write(flags.path().join("go"), "").unwrap();
    let paused = wait_status(&e, &eid, O::Paused).await;
    let why = paused.order.properties.pause_reason.clone().unwrap();
    assert_eq!(why, "success 50 % below threshold 80 % (1 of 2 failed)");
    assert_eq!(paused.on("demo-02").status, I::Finished);
    assert_eq!(paused.on("demo-01").exit_code, Some(7));
    assert_eq!(
        paused.on("demo-03").status,
        I::Ready,
        "the next batch waits for the operator"
    );
    e.operate(&eid, op(Op::ContinueOrder, None, None))
        .await
        .unwrap();
    let done = wait_status(&e, &eid, O::Finished).await;
    assert_eq!(done.on("demo-03").status, I::Finished);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_ending_exactly_at_the_threshold_finishes() {
    let flags = tempfile::tempdir().unwrap();
    let dir = flags.path().display().to_string();
    let e = demo_engine(2);
    // demo-01 fails at once; demo-02 succeeds only after it.
    let s = create(
        &e,
        "half",
        "if [ \"$COCPIT_RESOURCE_ID\" = demo-01 ]; then exit 1; fi\n\
         while [ ! -e \"$1/go\" ]; do sleep 0.05; done\n",
        vec![param("dir", "", 1, false)],
    );
    let eid = e
        .execute_script(
            &s,
            plan(
                &[(&["demo-01", "demo-02"], Continue)],
                &[("dir", &dir)],
                60,
                50.0,
            ),
            "t",
        )
        .unwrap();
    wait_for(&e, &eid, "demo-01 fails first", |s| {
        s.on("demo-01").status == I::Abnormal
    })
    .await;
    std::fs::write(flags.path().join("go"), "").unwrap();
    let done = wait_for(&e, &eid, "the order ends", |s| {
        s.order.status.is_terminal() || s.order.status == O::Paused
    })
    .await;
    assert_eq!(done.order.status, O::Finished, "{:?}", done.order);
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_kills_the_whole_process_group() {
    let pids = tempfile::tempdir().unwrap();
    let dir = pids.path().display().to_string();
    let e = demo_engine(1);
    let s = create(&e, "hang", SPAWNER, vec![param("dir", "", 1, false)]);
    let eid = e
        .execute_script(
            &s,
            plan(&[(&["demo-01"], Continue)], &[("dir", &dir)], 5, 100.0),
            "t",
        )
        .unwrap();
    let done = wait_for(&e, &eid, "the timeout", |s| {
        s.on("demo-01").status == I::Abnormal
    })
    .await;
    let m = &done.on("demo-01").message;
    assert!(m.contains("timed out after 5 s"), "{m}");
    assert!(m.contains("started"), "{m}");
    let found = pids_of(pids.path(), "demo-01");
    assert_eq!(found.len(), 2, "the script recorded its pids");
    assert!(
        all_gone(&found).await,
        "processes left after the timeout: {found:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_instance_and_cancel_order_stop_processes() {
    let pids = tempfile::tempdir().unwrap();
    let dir = pids.path().display().to_string();
    let e = demo_engine(3);
    let s = create(&e, "hang2", SPAWNER, vec![param("dir", "", 1, false)]);
    let eid = e
        .execute_script(
            &s,
            plan(
                &[
                    (&["demo-01"], Continue),
                    (&["demo-02", "demo-03"], Continue),
                ],
                &[("dir", &dir)],
                600,
                1.0,
            ),
            "t",
        )
        .unwrap();
    let running = wait_for(&e, &eid, "demo-01 started", |s| {
        s.on("demo-01").message.contains("started")
    })
    .await;
    let id = running.on("demo-01").id;
    e.operate(&eid, op(Op::CancelInstance, Some(1), Some(id)))
        .await
        .unwrap();
    let after = wait_for(&e, &eid, "demo-01 canceled", |s| {
        s.on("demo-01").status == I::Canceled
    })
    .await;
    assert!(after.on("demo-01").message.contains("canceled by operator"));
    let first = pids_of(pids.path(), "demo-01");
    assert_eq!(first.len(), 2, "demo-01 recorded its pids");
    assert!(
        all_gone(&first).await,
        "left after CANCEL_INSTANCE: {first:?}"
    );
    // Batch 2 starts (a canceled instance is not a failure); cancel the whole order mid-run.
    wait_for(&e, &eid, "batch 2 running", |s| {
        s.on("demo-03").message.contains("started") && s.on("demo-02").message.contains("started")
    })
    .await;
    e.operate(&eid, op(Op::CancelOrder, None, None))
        .await
        .unwrap();
    let c = wait_status(&e, &eid, O::Canceled).await;
    assert!(
        c.instances.iter().all(|i| i.status == I::Canceled),
        "every instance canceled"
    );
    let second: Vec<i32> = ["demo-02", "demo-03"]
        .iter()
        .flat_map(|h| pids_of(pids.path(), h))
        .collect();
    assert_eq!(second.len(), 4, "batch 2 recorded its pids");
    assert!(
        all_gone(&second).await,
        "left after CANCEL_ORDER: {second:?}"
    );
    // An ended order refuses further operations with a reason.
    let err = e
        .operate(&eid, op(Op::PauseOrder, None, None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CANCELED"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn output_is_capped_at_one_mebibyte_with_a_marker() {
    let e = demo_engine(1);
    let s = create(
        &e,
        "loud",
        "head -c 1500000 /dev/zero | tr '\\0' a\necho\necho end\n",
        vec![],
    );
    let eid = e
        .execute_script(&s, plan(&[(&["demo-01"], Continue)], &[], 60, 100.0), "t")
        .unwrap();
    let done = wait_status(&e, &eid, O::Finished).await;
    let m = &done.on("demo-01").message;
    // 1 500 000 a's, a newline and "end\n": the first MiB is kept, the rest counted.
    let kept = 1024 * 1024;
    assert!(m.starts_with(&"a".repeat(kept)));
    assert!(!m.contains("end"), "bytes past the cap were stored");
    assert!(
        m[kept..]
            .starts_with("\n[cocpit: output truncated at 1048576 bytes; 451429 bytes dropped]"),
        "{}",
        &m[kept..]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_describe_the_order_as_it_runs() {
    let e = demo_engine(1);
    let mut rx = e.subscribe();
    let s = create(&e, "ev", "echo one\n", vec![]);
    let eid = e
        .execute_script(&s, plan(&[(&["demo-01"], Continue)], &[], 30, 100.0), "t")
        .unwrap();
    let mut seen = vec![];
    loop {
        let ev = tokio::time::timeout(PATIENCE, rx.recv())
            .await
            .expect("events")
            .unwrap();
        seen.push(ev.clone());
        if let cocpit::engine::Change::OrderChanged {
            status: O::Finished,
            ..
        } = ev
        {
            break;
        }
    }
    use cocpit::engine::Change::*;
    assert!(seen.iter().any(|e| matches!(
        e,
        InstanceChanged {
            status: I::Processing,
            ..
        }
    )));
    assert!(
        seen.iter()
            .any(|e| matches!(e, Output { text, .. } if text.contains("one")))
    );
    assert!(seen.iter().any(|e| matches!(
        e,
        InstanceChanged {
            status: I::Finished,
            ..
        }
    )));
    assert!(
        seen.iter()
            .filter(|e| !matches!(e, ScriptChanged { .. }))
            .all(|e| e.execute_uuid() == Some(eid.as_str()))
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e, ScriptChanged { deleted: false, .. }))
    );
}

/// Every process's command line, as `ps` shows it to any user of the host.
fn all_command_lines() -> String {
    let mut all = String::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
            all.push_str(&String::from_utf8_lossy(&c).replace('\0', " "));
            all.push('\n');
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn argument_values_never_appear_on_a_command_line() {
    let flags = tempfile::tempdir().unwrap();
    let dir = flags.path().display().to_string();
    let e = demo_engine(2);
    let shell = create(
        &e,
        "argv_sh",
        "echo \"got $# args: $1 $2\"\nwhile [ ! -e \"$1/go\" ]; do sleep 0.05; done\n",
        vec![
            param("dir", "", 1, false),
            param("token", "Tok3n-xyz42", 2, true),
        ],
    );
    let python = common::create_typed(
        &e,
        "argv_py",
        cocpit::model::script::ScriptType::Python,
        "import os, sys, time\nprint('py args', len(sys.argv) - 1, sys.argv[2] == 'Tok3n-xyz42', flush=True)\n\
         while not os.path.exists(os.path.join(sys.argv[1], 'go')):\n    time.sleep(0.05)\n",
        vec![
            param("dir", "", 1, false),
            param("token", "Tok3n-xyz42", 2, true),
        ],
    );
    let mut orders = vec![];
    for (s, host) in [(&shell, "demo-01"), (&python, "demo-02")] {
        orders.push(
            e.execute_script(
                s,
                plan(&[(&[host], Continue)], &[("dir", &dir)], 30, 100.0),
                "t",
            )
            .unwrap(),
        );
    }
    wait_for(&e, &orders[0], "the shell script runs", |s| {
        s.on("demo-01").message.contains("got 2 args")
    })
    .await;
    wait_for(&e, &orders[1], "the python script runs", |s| {
        s.on("demo-02").message.contains("py args 2 True")
    })
    .await;
    let lines = all_command_lines();
    assert!(
        !lines.contains("Tok3n-xyz42"),
        "a value on a command line:\n{lines}"
    );
    std::fs::write(flags.path().join("go"), "").unwrap();
    let done = wait_status(&e, &orders[0], O::Finished).await;
    assert!(done.on("demo-01").message.contains("got 2 args"));
    assert!(
        !done.on("demo-01").message.contains("Tok3n"),
        "masked in output"
    );
    wait_status(&e, &orders[1], O::Finished).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_a_script_started_outlives_its_exit_its_timeout_or_its_cancel() {
    let pids = tempfile::tempdir().unwrap();
    let dir = pids.path().display().to_string();
    let e = demo_engine(3);
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
    // Exits 0 with its child still running: the child is killed with the run.
    let eid = e
        .execute_script(
            &done,
            plan(&[(&["demo-01"], Continue)], &[("dir", &dir)], 30, 100.0),
            "t",
        )
        .unwrap();
    wait_status(&e, &eid, O::Finished).await;
    let p1 = pids_of(pids.path(), "demo-01");
    assert_eq!(p1.len(), 1);
    assert!(
        all_gone(&p1).await,
        "the detached child of a finished script lives on"
    );
    // Times out: the whole group and the detached child.
    let eid = e
        .execute_script(
            &hang,
            plan(&[(&["demo-02"], Continue)], &[("dir", &dir)], 5, 100.0),
            "t",
        )
        .unwrap();
    let s = wait_for(&e, &eid, "the timeout", |s| {
        s.on("demo-02").status == I::Abnormal
    })
    .await;
    assert!(s.on("demo-02").message.contains("timed out"));
    let p2 = pids_of(pids.path(), "demo-02");
    assert!(
        all_gone(&p2).await,
        "the detached child of a timed-out script lives on"
    );
    // Canceled.
    let eid = e
        .execute_script(
            &hang,
            plan(&[(&["demo-03"], Continue)], &[("dir", &dir)], 60, 100.0),
            "t",
        )
        .unwrap();
    let s = wait_for(&e, &eid, "it runs", |s| {
        s.on("demo-03").message.contains("started")
    })
    .await;
    let id = s.on("demo-03").id;
    e.operate(&eid, op(Op::CancelInstance, Some(1), Some(id)))
        .await
        .unwrap();
    wait_for(&e, &eid, "the cancel", |s| {
        s.on("demo-03").status == I::Canceled
    })
    .await;
    let p3 = pids_of(pids.path(), "demo-03");
    assert!(
        all_gone(&p3).await,
        "the detached child of a canceled script lives on"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn runner_limits_are_set_before_the_script_starts() {
    let mut cfg = cocpit::config::Config::default();
    cfg.inventory.hosts = vec![
        cocpit::config::Host::local("demo-01"),
        cocpit::config::Host::local("demo-02"),
    ];
    cfg.runner = cocpit::config::RunLimits {
        memory_mb: Some(512),
        processes: None,
        cpu_seconds: Some(7),
    };
    let e = cocpit::engine::Engine::in_memory(&cfg.engine_setup()).unwrap();
    let sh = create(
        &e,
        "limits_sh",
        "echo \"as $(ulimit -v) cpu $(ulimit -t)\"\n",
        vec![],
    );
    let py = common::create_typed(
        &e,
        "limits_py",
        cocpit::model::script::ScriptType::Python,
        "import resource\nprint('as', resource.getrlimit(resource.RLIMIT_AS)[0], 'cpu', resource.getrlimit(resource.RLIMIT_CPU)[0])\n",
        vec![],
    );
    let a = e
        .execute_script(&sh, plan(&[(&["demo-01"], Continue)], &[], 30, 100.0), "t")
        .unwrap();
    let b = e
        .execute_script(&py, plan(&[(&["demo-02"], Continue)], &[], 30, 100.0), "t")
        .unwrap();
    let a = wait_status(&e, &a, O::Finished).await;
    assert!(
        a.on("demo-01").message.contains("as 524288 cpu 7"),
        "{}",
        a.on("demo-01").message
    );
    let b = wait_status(&e, &b, O::Finished).await;
    assert!(
        b.on("demo-02")
            .message
            .contains(&format!("as {} cpu 7", 512u64 * 1024 * 1024)),
        "{}",
        b.on("demo-02").message
    );
}
