//! The COC script-ticket API on the engine: executing a script as an order, reading orders,
//! batches and instances, operating on them.

use super::*;

impl Engine {
    /// Validates and stores an order, then starts it; returns its `execute_uuid`.
    pub fn execute_script(
        &self,
        uuid: &str,
        mut e: ScriptExecuteModel,
        creator: &str,
    ) -> Result<String> {
        let script = self.script_row(uuid)?;
        review::may_run(&script)?;
        order_by_declaration(&mut e.execute_param.script_params, &script.script_params);
        validate::execute(&e, &script.script_params, |id| {
            self.inner.hosts.contains_key(id)
        })?;
        e.execute_batches.sort_by_key(|b| b.batch_index);
        e.execute_param.script_params.sort_by_key(|p| p.param_order);
        let batches = e
            .execute_batches
            .iter()
            .map(|b| {
                let targets = b
                    .target_instances
                    .iter()
                    .map(|t| {
                        let host = &self.inner.hosts[&t.resource_id];
                        let target = views::resource_instance(host, t);
                        (
                            t.resource_id.clone(),
                            serde_json::to_string(&target).unwrap(),
                        )
                    })
                    .collect();
                store::NewBatch {
                    index: b.batch_index,
                    rotation: b.rotation_strategy,
                    targets,
                }
            })
            .collect();
        let mut regions: Vec<String> = e
            .execute_batches
            .iter()
            .flat_map(|b| &b.target_instances)
            .map(|t| views::region_of(&self.inner.hosts[&t.resource_id]))
            .collect();
        regions.sort();
        regions.dedup();
        let execute_uuid = new_uuid("SCT");
        let order_id = self.inner.store.insert_order(&NewOrder {
            execute_uuid: execute_uuid.clone(),
            script,
            execute_param: e.execute_param,
            creator: creator.to_string(),
            now: now_ms(),
            region_ids: regions.join(","),
            batches,
        })?;
        self.inner.emit(Change::OrderChanged {
            execute_uuid: execute_uuid.clone(),
            status: OrderStatus::Processing,
            current_batch: 1,
            pause_reason: None,
            gmt_finished: None,
        });
        tracing::info!(order = %execute_uuid, script = %uuid, by = creator, "order started");
        runner::ensure_driver(&self.inner.driver(), order_id);
        Ok(execute_uuid)
    }

    pub(crate) fn order_row(&self, execute_uuid: &str) -> Result<store::OrderRow> {
        self.inner.store.order(execute_uuid)?.ok_or_else(|| {
            EngineError(Fault::NotFound(format!(
                "order {execute_uuid:?} does not exist"
            )))
        })
    }

    pub fn get_order(&self, execute_uuid: &str) -> Result<JobScriptOrderInfoModel> {
        let o = self.order_row(execute_uuid)?;
        let tally = self.inner.store.tally(o.id)?;
        Ok(views::order_info(o, &tally))
    }

    pub fn list_orders(&self, q: &ListOrdersQuery) -> Result<Page<JobScriptOrderListModel>> {
        let limit = validate::limit(q.limit, 100)?;
        let status = q
            .status
            .as_deref()
            .map(|s| {
                s.parse::<OrderStatus>()
                    .map_err(|rule| invalid("status", rule))
            })
            .transpose()?;
        if let Some(m) = q.marker {
            validate::range_i64("marker", m, (0, 2147483647))?;
        }
        // `marker=0` is the first page, as for every list.
        let marker = q.marker.filter(|m| *m > 0);
        for (field, v) in [("start_time", q.start_time), ("end_time", q.end_time)] {
            if let Some(v) = v {
                validate::range_i64(field, v, (1, 2147483647))?;
            }
        }
        let f = OrderFilter {
            status,
            creator: q.creator.clone(),
            // The seed's range (≤ 2147483647) makes these seconds; gmt_* are milliseconds.
            created_from: q.start_time.map(|s| s * 1000),
            created_to: q.end_time.map(|s| s * 1000 + 999),
        };
        let (total, rows) = self.inner.store.list_orders(&f, marker, limit)?;
        let mut tallies = self
            .inner
            .store
            .tallies(&rows.iter().map(|o| o.id).collect::<Vec<_>>())?;
        let data = rows
            .into_iter()
            .map(|o| {
                let t = tallies.remove(&o.id).unwrap_or_default();
                views::order_list(o, t)
            })
            .collect();
        Ok(Page { total, data })
    }

    pub fn list_batches(&self, execute_uuid: &str) -> Result<Vec<JobScriptBatchListModel>> {
        let o = self.order_row(execute_uuid)?;
        let insts = self.inner.store.instances(o.id)?;
        Ok(self
            .inner
            .store
            .batches(o.id)?
            .into_iter()
            .map(|b| views::batch(&b, &insts))
            .collect())
    }

    /// The order, its batches and every instance with its output, read at once.
    pub fn order_snapshot(&self, execute_uuid: &str) -> Result<OrderSnapshot> {
        let o = self.order_row(execute_uuid)?;
        let insts = self.inner.store.instances(o.id)?;
        let tally = Tally::of(insts.iter().map(|i| i.status));
        let batches = self
            .inner
            .store
            .batches(o.id)?
            .into_iter()
            .map(|b| views::batch(&b, &insts))
            .collect();
        let instances = insts
            .iter()
            .map(|i| {
                let out = self.inner.store.output(i.id)?;
                Ok(BatchInstance {
                    batch_index: i.batch_index,
                    instance: views::execution_instance(i, &out, self.inner.settings.output_cap),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(OrderSnapshot {
            info: views::order_info(o, &tally),
            batches,
            instances,
        })
    }

    pub fn statistics(&self, execute_uuid: &str) -> Result<JobScriptOrderStatisticsModel> {
        let o = self.order_row(execute_uuid)?;
        Ok(views::statistics(&self.inner.store.instances(o.id)?))
    }

    pub fn get_batch(
        &self,
        execute_uuid: &str,
        batch_index: i64,
        q: &BatchDetailQuery,
    ) -> Result<JobScriptBatchDetailModel> {
        validate::range_i64("batch_index", batch_index, (1, 20))?;
        // The seed says at most 50; the official SDK suite asks for 100, so 100 is accepted.
        let limit = validate::limit(q.limit, 100)?;
        let status = q
            .status
            .as_deref()
            .map(|s| {
                s.parse::<InstanceStatus>()
                    .map_err(|rule| invalid("status", rule))
            })
            .transpose()?;
        let marker = q.marker.unwrap_or(0);
        validate::range_i64("marker", marker, (0, 2147483647))?;
        let o = self.order_row(execute_uuid)?;
        if !self
            .inner
            .store
            .batches(o.id)?
            .iter()
            .any(|b| b.batch_index == batch_index)
        {
            return Err(EngineError(Fault::NotFound(format!(
                "order {execute_uuid} has no batch {batch_index}"
            ))));
        }
        let insts: Vec<_> = self
            .inner
            .store
            .instances(o.id)?
            .into_iter()
            .filter(|i| i.batch_index == batch_index)
            .collect();
        let total = insts.len() as i64;
        let execute_instances = insts
            .into_iter()
            .filter(|i| status.is_none_or(|s| i.status == s))
            .filter(|i| i.id > marker)
            .take(limit as usize)
            .map(|i| {
                let out = self.inner.store.output(i.id)?;
                Ok(views::execution_instance(
                    &i,
                    &out,
                    self.inner.settings.output_cap,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(JobScriptBatchDetailModel {
            batch_index,
            total_instances: total,
            execute_instances,
        })
    }

    /// One instance with its output, by id (for logs).
    pub fn instance(&self, instance_id: i64) -> Result<ExecutionInstanceModel> {
        let i = self.inner.store.instance(instance_id)?.ok_or_else(|| {
            EngineError(Fault::NotFound(format!(
                "instance {instance_id} does not exist"
            )))
        })?;
        let out = self.inner.store.output(i.id)?;
        Ok(views::execution_instance(
            &i,
            &out,
            self.inner.settings.output_cap,
        ))
    }

    /// One instance's output as it arrived: pieces of whole lines with stream and time.
    pub fn instance_log(&self, execute_uuid: &str, instance_id: i64) -> Result<Vec<LogPiece>> {
        let o = self.order_row(execute_uuid)?;
        let i = self
            .inner
            .store
            .instance(instance_id)?
            .filter(|i| i.order_id == o.id)
            .ok_or_else(|| {
                EngineError(Fault::NotFound(format!(
                    "order {execute_uuid} has no instance {instance_id}"
                )))
            })?;
        Ok(self
            .inner
            .store
            .output_pieces(i.id)?
            .into_iter()
            .map(|(at, stderr, data)| LogPiece {
                at,
                stderr,
                text: String::from_utf8_lossy(&data).into_owned(),
            })
            .collect())
    }

    /// Carries out one of the six operations.
    pub async fn operate(
        &self,
        execute_uuid: &str,
        op: JobScriptOrderOperationBody,
    ) -> Result<String> {
        validate::operation(&op)?;
        let o = self.order_row(execute_uuid)?;
        runner::operate(&self.inner.driver(), o.id, &op).await?;
        Ok(execute_uuid.to_string())
    }
}
