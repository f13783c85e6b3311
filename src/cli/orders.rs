//! `cocpit order`: list, show, batches, logs, operations; following an order to its end.

use super::*;

/// Waits for a change of the order and applies it, with every event already queued, to what
/// is shown (`o`, `t`): events carry the order's state and tally, so following an order reads
/// nothing back. Returns true when they could not say it all (events were lost, or came
/// without a tally), and the order must be read again.
async fn apply_changes(
    rx: &mut tokio::sync::broadcast::Receiver<crate::engine::Change>,
    eid: &str,
    o: &mut JobScriptOrderInfoModel,
    t: &mut Tally,
) -> Result<bool, Failure> {
    use crate::engine::Change;
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    let mut apply = |e: Change| -> bool {
        match e {
            Change::OrderChanged {
                execute_uuid,
                status,
                current_batch,
                pause_reason,
                ..
            } if execute_uuid == eid => {
                o.status = status;
                o.properties.current_execute_batch_index = current_batch;
                o.properties.pause_reason = pause_reason;
                false
            }
            Change::InstanceChanged {
                execute_uuid,
                tally,
                ..
            } if execute_uuid == eid => match tally {
                Some(now) => {
                    *t = now;
                    false
                }
                None => true,
            },
            _ => false,
        }
    };
    let relevant =
        |e: &Change| e.execute_uuid() == Some(eid) && !matches!(e, Change::Output { .. });
    let mut resync = loop {
        match rx.recv().await {
            Ok(e) if relevant(&e) => break apply(e),
            Ok(_) => continue,
            Err(RecvError::Lagged(_)) => break true,
            Err(RecvError::Closed) => return Err(fail("the engine stopped")),
        }
    };
    loop {
        match rx.try_recv() {
            Ok(e) => resync |= apply(e),
            Err(TryRecvError::Lagged(_)) => resync = true,
            Err(TryRecvError::Empty) => return Ok(resync),
            Err(TryRecvError::Closed) => return Err(fail("the engine stopped")),
        }
    }
}

/// Follows an order until it settles (ended, or paused with nothing running), printing
/// progress on stderr, and exits by what it came to: 0 only when it FINISHED with its
/// threshold met and no instance failed ([`outcome`]); 1 for failures, an unmet threshold, a
/// pause or a cancel.
pub async fn follow(b: &dyn Backend, eid: &str, out: Output) -> CliResult {
    let (o, ok) = settle(b, eid).await?;
    print_settled(&o, out);
    Ok(if ok { 0 } else { 1 })
}

pub(super) fn print_settled(o: &JobScriptOrderInfoModel, out: Output) {
    match out {
        Output::Json => print_json(&Data::new(o)),
        Output::Table => say!("{} {}", o.execute_uuid, o.status),
    }
}

/// The order and its tally as stored.
async fn read_order(
    b: &dyn Backend,
    eid: &str,
) -> Result<(JobScriptOrderInfoModel, Tally), Failure> {
    let o = b.get_order(eid).await?;
    let t = Tally::from_statistics(&b.statistics(eid).await?);
    Ok((o, t))
}

/// Waits until the order settles; returns it and whether its outcome is a success.
async fn settle(b: &dyn Backend, eid: &str) -> Result<(JobScriptOrderInfoModel, bool), Failure> {
    let mut events = b.subscribe();
    let mut last = String::new();
    let (mut o, mut t) = read_order(b, eid).await?;
    loop {
        let line = format!(
            "{} batch {} | {} finished, {} failed, {} running, {} waiting, {} canceled of {}",
            o.status,
            o.properties.current_execute_batch_index,
            t.succeeded,
            t.failed,
            t.running,
            t.waiting,
            t.canceled,
            t.total
        );
        if line != last {
            eprintln!("{line}");
            last = line;
        }
        if o.status != OrderStatus::Processing && t.running == 0 {
            // Settled as the events tell it: the outcome comes from the store.
            let (stored, st) = read_order(b, eid).await?;
            if stored.status != OrderStatus::Processing && st.running == 0 {
                if let Some(why) = &stored.properties.pause_reason {
                    eprintln!("paused: {}", for_display(why));
                    eprintln!("continue with: cocpit order op {eid} CONTINUE_ORDER");
                }
                let rate = stored.properties.execute_param.success_rate;
                let (text, ok) = outcome(stored.status, rate, &st);
                eprintln!("{} {text}", if ok { "✔" } else { "✘" });
                return Ok((stored, ok));
            }
            (o, t) = (stored, st);
        }
        let resync = match events.as_mut() {
            Some(rx) => apply_changes(rx, eid, &mut o, &mut t).await?,
            None => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                true
            }
        };
        if resync {
            (o, t) = read_order(b, eid).await?;
        }
    }
}

pub async fn order(b: &dyn Backend, cmd: OrderCmd, out: Output) -> CliResult {
    match cmd {
        OrderCmd::List {
            status,
            limit,
            marker,
        } => {
            let page = b
                .list_orders(ListOrdersQuery {
                    limit: Some(limit),
                    marker,
                    status,
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&Data::new(page)),
                Output::Table => {
                    let mut t = Table::new(&[
                        "ORDER_ID",
                        "EXECUTE_UUID",
                        "SCRIPT",
                        "STATUS",
                        "CREATED",
                        "DURATION",
                    ]);
                    for o in &page.data {
                        t.row(vec![
                            o.order_id.to_string(),
                            o.execute_uuid.clone(),
                            o.order_name.clone(),
                            o.status.to_string(),
                            time(o.gmt_created),
                            duration(o.execute_costs),
                        ]);
                    }
                    print!("{}", t.render());
                    say!("{} of {} orders", page.data.len(), page.total);
                }
            }
        }
        OrderCmd::Show { execute_uuid } => {
            let o = b.get_order(&execute_uuid).await?;
            let stats = b.statistics(&execute_uuid).await?;
            match out {
                Output::Json => print_json(&Data::new(o)),
                Output::Table => {
                    let p = &o.properties;
                    say!(
                        "{}  {}  script {} ({})",
                        o.execute_uuid,
                        o.status,
                        for_display(&p.script_name),
                        p.script_uuid
                    );
                    if let Some(why) = &p.pause_reason {
                        say!("paused: {}", for_display(why));
                    }
                    say!(
                        "batch {}  timeout {} s  success threshold {} %  created {}  finished {}",
                        p.current_execute_batch_index,
                        p.execute_param.timeout,
                        p.execute_param.success_rate,
                        time(o.gmt_created),
                        opt_time(o.gmt_finished)
                    );
                    for sp in &p.execute_param.script_params {
                        say!("  {} = {}", sp.param_name, for_display(&sp.param_value));
                    }
                    let mut t = Table::new(&["STATUS", "INSTANCES", "BATCHES"]);
                    for s in &stats.execute_statistics {
                        t.row(vec![
                            s.instance_status.to_string(),
                            s.instance_count.to_string(),
                            s.batch_indexes
                                .iter()
                                .map(|i| i.to_string())
                                .collect::<Vec<_>>()
                                .join(","),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
        }
        OrderCmd::Batches { execute_uuid } => {
            let batches = b.list_batches(&execute_uuid).await?;
            match out {
                Output::Json => print_json(&Data::new(batches)),
                Output::Table => {
                    let mut t = Table::new(&[
                        "BATCH", "STATUS", "ROTATION", "INSTANCE", "HOST", "STATE", "EXIT",
                        "DURATION",
                    ]);
                    for batch in &batches {
                        let detail = b
                            .get_batch(
                                &execute_uuid,
                                batch.batch_index,
                                BatchDetailQuery {
                                    limit: Some(100),
                                    ..Default::default()
                                },
                            )
                            .await?;
                        for i in &detail.execute_instances {
                            t.row(vec![
                                batch.batch_index.to_string(),
                                batch.properties.clone().unwrap_or_default(),
                                batch.rotation_strategy.to_string(),
                                i.id.to_string(),
                                i.target_instance.resource_id.clone(),
                                i.status.to_string(),
                                i.exit_code
                                    .map(|c| c.to_string())
                                    .unwrap_or_else(|| "-".into()),
                                duration(i.execute_costs),
                            ]);
                        }
                    }
                    print!("{}", t.render());
                }
            }
        }
        OrderCmd::Logs {
            execute_uuid,
            batch,
            instance,
        } => {
            let batches = b.list_batches(&execute_uuid).await?;
            let mut all = vec![];
            for bl in batches
                .iter()
                .filter(|x| batch.is_none_or(|w| w == x.batch_index))
            {
                let d = b
                    .get_batch(
                        &execute_uuid,
                        bl.batch_index,
                        BatchDetailQuery {
                            limit: Some(100),
                            ..Default::default()
                        },
                    )
                    .await?;
                all.extend(
                    d.execute_instances
                        .into_iter()
                        .filter(|i| instance.is_none_or(|w| w == i.id))
                        .map(|i| (bl.batch_index, i)),
                );
            }
            if instance.is_some() && all.is_empty() {
                return Err(fail(format!(
                    "order {execute_uuid} has no instance {}",
                    instance.unwrap_or_default()
                )));
            }
            match out {
                Output::Json => {
                    print_json(&Data::new(all.iter().map(|(_, i)| i).collect::<Vec<_>>()))
                }
                Output::Table => {
                    for (bi, i) in &all {
                        say!(
                            "==> batch {bi} instance {} {} [{}] <==",
                            i.id,
                            i.target_instance.resource_id,
                            i.status
                        );
                        let text = for_display(&i.message);
                        print!("{text}");
                        if !text.is_empty() && !text.ends_with('\n') {
                            say!();
                        }
                    }
                }
            }
        }
        OrderCmd::Op {
            execute_uuid,
            operation,
            batch,
            instance,
        } => {
            b.operate(
                &execute_uuid,
                JobScriptOrderOperationBody {
                    batch_index: batch,
                    instance_id: instance,
                    operation_type: operation,
                },
            )
            .await?;
            // Operations that let the order go on are followed to its end and exit by its
            // outcome; those that stop something exit 0 once it is stopped. (In process, the
            // order runs only while this command does, so it is followed either way.)
            let goes_on = matches!(
                operation,
                OperationType::ContinueOrder
                    | OperationType::RetryInstance
                    | OperationType::SkipBatch
            );
            if b.subscribe().is_some() {
                eprintln!("{operation} accepted");
                if goes_on {
                    return follow(b, &execute_uuid, out).await;
                }
                let (o, _) = settle(b, &execute_uuid).await?;
                print_settled(&o, out);
                return Ok(0);
            }
            match out {
                Output::Json => print_json(&Data::new(&execute_uuid)),
                Output::Table => say!("{operation} accepted for {execute_uuid}"),
            }
        }
    }
    Ok(0)
}
