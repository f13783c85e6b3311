//! The operator's operations on an order: pause, continue, cancel, skip a batch, cancel or
//! retry an instance, each legal only where it makes sense, under the runner's lock.

use super::Driver;
use super::launch::start_instance;
use super::{ensure_driver, poke, set_instance, set_order, stop};
use crate::Fault;
use crate::store::InstanceRow;
use crate::{EngineError, Result};
use cocpit_api::model::order::{
    InstanceStatus, JobScriptOrderOperationBody, OperationType, OrderStatus, Tally,
};

/// The operator's operations, legal only where they make sense.
pub(crate) async fn operate(
    d: &Driver,
    order_id: i64,
    op: &JobScriptOrderOperationBody,
) -> Result<()> {
    let _g = d.runs.lock.lock().await;
    let mut o = d.store.order_by_id(order_id)?;
    let insts = d.store.instances(order_id)?;
    let batches = d.store.batches(order_id)?;
    let last = batches.last().map(|b| b.batch_index).unwrap_or(0);
    let kind = op.operation_type;
    let illegal = |what: &str| {
        Err(EngineError(Fault::Conflict(format!(
            "{kind} is not allowed: {what} (order {} is {})",
            o.execute_uuid, o.status
        ))))
    };
    let find_instance = |id: i64| -> Result<&InstanceRow> {
        let i = insts.iter().find(|i| i.id == id).ok_or_else(|| {
            EngineError(Fault::NotFound(format!(
                "order {} has no instance {id}",
                o.execute_uuid
            )))
        })?;
        if let Some(b) = op.batch_index
            && b != i.batch_index
        {
            return Err(EngineError(Fault::Invalid(
                cocpit_api::model::validate::invalid(
                    "batch_index",
                    format!("instance {id} is in batch {}, not {b}", i.batch_index),
                ),
            )));
        }
        Ok(i)
    };
    match kind {
        OperationType::PauseOrder => {
            if o.status != OrderStatus::Processing {
                return illegal("only a PROCESSING order can be paused");
            }
            let b = o.current_batch;
            set_order(
                d,
                &mut o,
                OrderStatus::Paused,
                b,
                Some("paused by operator".into()),
            )?;
        }
        OperationType::ContinueOrder => {
            if o.status != OrderStatus::Paused {
                return illegal("only a PAUSED order can be continued");
            }
            let failed = Tally::of(insts.iter().map(|i| i.status)).failed;
            d.store.set_acked_failures(o.id, failed)?;
            let b = o.current_batch;
            let batch_done = insts
                .iter()
                .filter(|i| i.batch_index == b)
                .all(|i| i.status.is_done());
            let next = if batch_done && b < last { b + 1 } else { b };
            set_order(d, &mut o, OrderStatus::Processing, next, None)?;
            ensure_driver(d, o.id);
        }
        OperationType::CancelOrder => {
            if o.status.is_terminal() {
                return illegal("the order has already ended");
            }
            for i in &insts {
                match i.status {
                    InstanceStatus::Ready => set_instance(
                        d,
                        &o,
                        i,
                        InstanceStatus::Canceled,
                        Some("order canceled by operator"),
                    )?,
                    InstanceStatus::Processing => stop(d, i.id, "order canceled by operator"),
                    _ => {}
                }
            }
            let b = o.current_batch;
            set_order(d, &mut o, OrderStatus::Canceled, b, None)?;
            poke(d, o.id);
        }
        OperationType::SkipBatch => {
            let b = op.batch_index.unwrap_or_default();
            if o.status.is_terminal() {
                return illegal("the order has already ended");
            }
            if !batches.iter().any(|x| x.batch_index == b) {
                return Err(EngineError(Fault::NotFound(format!(
                    "order {} has no batch {b}",
                    o.execute_uuid
                ))));
            }
            if insts
                .iter()
                .any(|i| i.batch_index == b && i.status != InstanceStatus::Ready)
            {
                return illegal(&format!("batch {b} has already started"));
            }
            d.store.skip_batch(o.id, b)?;
            for i in insts.iter().filter(|i| i.batch_index == b) {
                set_instance(
                    d,
                    &o,
                    i,
                    InstanceStatus::Canceled,
                    Some("batch skipped by operator"),
                )?;
            }
            poke(d, o.id);
        }
        OperationType::CancelInstance => {
            let i = find_instance(op.instance_id.unwrap_or_default())?;
            match i.status {
                InstanceStatus::Ready => {
                    set_instance(
                        d,
                        &o,
                        i,
                        InstanceStatus::Canceled,
                        Some("canceled by operator"),
                    )?;
                    poke(d, o.id);
                }
                InstanceStatus::Processing => stop(d, i.id, "canceled by operator"),
                s => {
                    return illegal(&format!(
                        "instance {} is {s}; only READY or PROCESSING instances can be canceled",
                        i.id
                    ));
                }
            }
        }
        OperationType::RetryInstance => {
            let i = find_instance(op.instance_id.unwrap_or_default())?;
            if !matches!(
                i.status,
                InstanceStatus::Abnormal | InstanceStatus::Canceled
            ) {
                return illegal(&format!(
                    "instance {} is {}; only ABNORMAL or CANCELED instances can be retried",
                    i.id, i.status
                ));
            }
            if o.status == OrderStatus::Canceled {
                return illegal("a canceled order cannot run again");
            }
            if o.status.is_terminal() {
                let b = o.current_batch;
                set_order(d, &mut o, OrderStatus::Processing, b, None)?;
            }
            if i.batch_index <= o.current_batch {
                start_instance(d, &o, i)?;
            } else {
                set_instance(d, &o, i, InstanceStatus::Ready, None)?;
            }
            ensure_driver(d, o.id);
        }
    }
    Ok(())
}
