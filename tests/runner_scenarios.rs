//! The runner's scenarios, each written once and run on both transports (`on_both!`): the
//! engine in process and the same engine behind a real `cocpit serve`, over signed HTTP and its
//! event stream. What a user sees of a rollout must not depend on where the engine runs.

mod common;

use cocpit::model::order::{
    InstanceStatus as I, OperationType as Op, OrderStatus as O, RotationStrategy::*,
};
use common::transports::{Rig, Transport, on};
use common::{op, param, plan, processes_of, until};

async fn parameters_arrive_as_env_and_args_and_secrets_are_masked(r: Rig) {
    let s = r
        .script(
            "params",
            "echo \"args: $1 $2\"\necho \"env: $who $token\"\necho \"where: $COCPIT_RESOURCE_ID\"\necho oops >&2\n",
            vec![
                param("who", "world", 1, false),
                param("token", "hunter22", 2, true),
            ],
        )
        .await;
    let eid = r
        .run(
            &s,
            plan(
                &[(&["demo-01", "demo-02"], Continue)],
                &[("who", "ops")],
                30,
                100.0,
            ),
        )
        .await;
    let snap = r.wait_status(&eid, O::Finished).await;
    let m = &on(&snap, "demo-02").message;
    assert!(m.contains("args: ops ******"), "{m}");
    assert!(m.contains("env: ops ******"), "{m}");
    assert!(m.contains("where: demo-02"), "{m}");
    assert!(m.contains("oops"), "stderr is captured: {m}");
    assert!(!m.contains("hunter22"), "the secret leaked: {m}");
    assert_eq!(on(&snap, "demo-01").exit_code, Some(0));
    // The sensitive default is masked in the order's parameters too.
    let shown = serde_json::to_string(&snap.info).unwrap();
    assert!(!shown.contains("hunter22"), "{shown}");
}
on_both!(parameters_arrive_as_env_and_args_and_secrets_are_masked, 2);

async fn an_all_failed_first_batch_pauses_before_the_second_with_the_current_numbers(r: Rig) {
    let s = r.script("broken", "echo no; exit 3\n", vec![]).await;
    let eid = r
        .run(
            &s,
            plan(
                &[
                    (&["demo-01", "demo-02"], Continue),
                    (&["demo-03"], Continue),
                ],
                &[],
                30,
                100.0,
            ),
        )
        .await;
    let paused = r.wait_status(&eid, O::Paused).await;
    assert_eq!(on(&paused, "demo-03").status, I::Ready);
    assert_eq!(
        paused.info.properties.pause_reason.as_deref(),
        Some("success 0 % below threshold 100 % (2 of 2 failed)")
    );
    // Continued past the pause, the last batch fails too and pauses again on its new failure;
    // continued past that, the order is FINISHED.
    r.operate(&eid, op(Op::ContinueOrder, None, None)).await;
    let again = r
        .wait_for(&eid, "the last batch fails", |s| {
            on(s, "demo-03").status == I::Abnormal && s.info.status == O::Paused
        })
        .await;
    assert_eq!(
        again.info.properties.pause_reason.as_deref(),
        Some("success 0 % below threshold 100 % (3 of 3 failed)")
    );
    r.operate(&eid, op(Op::ContinueOrder, None, None)).await;
    let done = r.wait_status(&eid, O::Finished).await;
    assert_eq!(on(&done, "demo-03").status, I::Abnormal);
    let tally = cocpit::model::order::Tally::of(done.instances.iter().map(|i| i.instance.status));
    let (text, ok) = cocpit::model::order::outcome(done.info.status, 100.0, &tally);
    assert!(!ok);
    assert_eq!(text, "finished · 3 of 3 failed · success 0 % < 100 %");
}
on_both!(
    an_all_failed_first_batch_pauses_before_the_second_with_the_current_numbers,
    3
);

async fn rotation_pause_holds_the_next_batch(r: Rig) {
    let s = r.script("rot", "echo hi\n", vec![]).await;
    let eid = r
        .run(
            &s,
            plan(
                &[(&["demo-01"], Pause), (&["demo-02"], Pause)],
                &[],
                30,
                100.0,
            ),
        )
        .await;
    let p = r.wait_status(&eid, O::Paused).await;
    let why = p.info.properties.pause_reason.clone().unwrap();
    assert!(why.contains("after batch 1 of 2"), "{why}");
    assert_eq!(on(&p, "demo-02").status, I::Ready);
    r.operate(&eid, op(Op::ContinueOrder, None, None)).await;
    // The last batch's PAUSE has nothing to hold: the order finishes.
    let f = r.wait_status(&eid, O::Finished).await;
    assert_eq!(f.info.properties.current_execute_batch_index, 2);
    assert!(f.info.gmt_finished.is_some());
}
on_both!(rotation_pause_holds_the_next_batch, 2);

async fn retry_runs_a_failed_instance_again_and_skip_batch_never_runs_it(r: Rig) {
    let flags = tempfile::tempdir().unwrap();
    let dir = flags.path().display().to_string();
    // Fails until the flag exists.
    let s = r
        .script(
            "retry",
            "echo attempt\n[ -e \"$1/ok\" ] || exit 1\n",
            vec![param("dir", "", 1, false)],
        )
        .await;
    let eid = r
        .run(
            &s,
            plan(
                &[
                    (&["demo-01"], Continue),
                    (&["demo-02"], Continue),
                    (&["demo-03"], Continue),
                ],
                &[("dir", &dir)],
                30,
                100.0,
            ),
        )
        .await;
    let p = r.wait_status(&eid, O::Paused).await;
    let failed = on(&p, "demo-01").id;
    r.operate(&eid, op(Op::SkipBatch, Some(2), None)).await;
    std::fs::write(flags.path().join("ok"), "").unwrap();
    r.operate(&eid, op(Op::RetryInstance, Some(1), Some(failed)))
        .await;
    let retried = r
        .wait_for(&eid, "the retry", |s| {
            on(s, "demo-01").status == I::Finished
        })
        .await;
    assert_eq!(
        on(&retried, "demo-01").message.matches("attempt").count(),
        1,
        "output is the latest attempt's"
    );
    assert_eq!(retried.info.status, O::Paused);
    r.operate(&eid, op(Op::ContinueOrder, None, None)).await;
    let done = r.wait_status(&eid, O::Finished).await;
    assert_eq!(on(&done, "demo-02").status, I::Canceled);
    assert!(on(&done, "demo-02").message.contains("skipped"));
    assert_eq!(on(&done, "demo-03").status, I::Finished);
    // Skipping a batch that already ran is refused, with the operation named.
    let err = r
        .b()
        .operate(&eid, op(Op::SkipBatch, Some(3), None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SKIP_BATCH"), "{err}");
}
on_both!(
    retry_runs_a_failed_instance_again_and_skip_batch_never_runs_it,
    3
);

/// Marks that it ran, says what its standard input held, then waits for `$1/go`.
const RAN_THEN_WAIT: &str = "touch \"$1/$COCPIT_RESOURCE_ID.ran\"\n\
    if read -r line; then echo \"stdin had: $line\"; else echo 'stdin empty'; fi\n\
    while [ ! -e \"$1/go\" ]; do sleep 0.05; done\necho done\n";

/// Starts RAN_THEN_WAIT on demo-01 then demo-02; returns the order once demo-02's run waits,
/// made ready, while demo-01's script runs.
async fn with_the_next_batch_waiting(r: &Rig, marks: &std::path::Path) -> String {
    let dir = marks.display().to_string();
    let s = r
        .script("ahead", RAN_THEN_WAIT, vec![param("dir", "", 1, false)])
        .await;
    let eid = r
        .run(
            &s,
            plan(
                &[(&["demo-01"], Continue), (&["demo-02"], Continue)],
                &[("dir", &dir)],
                60,
                100.0,
            ),
        )
        .await;
    until("batch 1 runs", || marks.join("demo-01.ran").exists()).await;
    until("demo-02's run waits", || {
        !processes_of(&eid, "demo-02").is_empty()
    })
    .await;
    assert!(
        !marks.join("demo-02.ran").exists(),
        "it ran before its batch"
    );
    eid
}

/// While a batch runs, the next batch's interpreter is up, waiting for its go: its batch
/// starts it, and its script sees an empty standard input, as any run's does.
async fn the_next_batch_waits_ready_then_runs_as_any_other(r: Rig) {
    let marks = tempfile::tempdir().unwrap();
    let eid = with_the_next_batch_waiting(&r, marks.path()).await;
    std::fs::write(marks.path().join("go"), "").unwrap();
    let done = r.wait_status(&eid, O::Finished).await;
    for h in ["demo-01", "demo-02"] {
        let m = &on(&done, h).message;
        assert!(m.contains("stdin empty") && m.contains("done"), "{h}: {m}");
    }
}
on_both!(the_next_batch_waits_ready_then_runs_as_any_other, 2);

/// A run made ready that never starts (its order canceled) runs nothing, and no process of it
/// is left.
async fn a_run_made_ready_and_called_off_runs_nothing_and_leaves_nothing(r: Rig) {
    let marks = tempfile::tempdir().unwrap();
    let eid = with_the_next_batch_waiting(&r, marks.path()).await;
    r.operate(&eid, op(Op::CancelOrder, None, None)).await;
    let done = r.wait_status(&eid, O::Canceled).await;
    assert_eq!(on(&done, "demo-02").status, I::Canceled);
    until("demo-02's processes gone", || {
        processes_of(&eid, "demo-02").is_empty()
    })
    .await;
    assert!(!marks.path().join("demo-02.ran").exists());
}
on_both!(
    a_run_made_ready_and_called_off_runs_nothing_and_leaves_nothing,
    2
);
