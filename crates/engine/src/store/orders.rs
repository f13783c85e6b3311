//! Orders, their batches and instances, and the instances' output.

use super::*;

impl Store {
    /// An order as read, its sensitive values opened.
    pub(crate) fn order_opened(&self, r: &rusqlite::Row) -> Result<OrderRow> {
        let mut o = order_row(r)?;
        self.vault
            .open_params(&mut o.script_params)
            .map_err(unreadable)?;
        self.vault
            .open_given(&mut o.execute_param, &o.script_params)
            .map_err(unreadable)?;
        Ok(o)
    }

    /// Stores an order with all its batches and instances in one transaction.
    pub fn insert_order(&self, o: &NewOrder) -> Result<i64> {
        let mut given = o.execute_param.clone();
        self.vault.seal_given(&mut given, &o.script.script_params);
        let declared = self.sealed_params(&o.script.script_params);
        self.write(|tx| {
        tx.execute(
            "INSERT INTO orders (execute_uuid, script_uuid, script_name, script_version, script_type, content, \
             script_params, execute_param, status, current_batch, region_ids, creator, gmt_created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?12)",
            params![
                o.execute_uuid,
                o.script.script_uuid,
                o.script.name,
                o.script.properties.version,
                o.script.script_type.as_str(),
                o.script.content,
                declared,
                json(&given),
                OrderStatus::Processing.as_str(),
                o.region_ids,
                o.creator,
                o.now
            ],
        )?;
        let order_id = tx.last_insert_rowid();
        for b in &o.batches {
            tx.execute(
                "INSERT INTO batches (order_id, batch_index, rotation_strategy) VALUES (?1, ?2, ?3)",
                params![order_id, b.index, b.rotation.as_str()],
            )?;
            for (resource_id, target) in &b.targets {
                tx.execute(
                    "INSERT INTO instances (order_id, batch_index, resource_id, target, status, gmt_created) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        order_id,
                        b.index,
                        resource_id,
                        target,
                        InstanceStatus::Ready.as_str(),
                        o.now
                    ],
                )?;
            }
        }
                Ok(order_id)
        })
    }

    pub fn order(&self, execute_uuid: &str) -> Result<Option<OrderRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {ORDER_COLS} FROM orders WHERE execute_uuid = ?1"),
                [execute_uuid],
                |r| self.order_opened(r),
            )
            .optional()
    }

    pub fn order_by_id(&self, id: i64) -> Result<OrderRow> {
        self.conn().query_row(
            &format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"),
            [id],
            |r| self.order_opened(r),
        )
    }

    /// Orders newest first; `marker` is the `order_id` of the last row of the previous page.
    pub fn list_orders(
        &self,
        f: &OrderFilter,
        marker: Option<i64>,
        limit: i64,
    ) -> Result<(u64, Vec<OrderRow>)> {
        let mut cond = super::paging::Conditions::default();
        if let Some(s) = f.status {
            cond.push("status = ?", s.as_str().to_string());
        }
        if let Some(c) = &f.creator {
            cond.push("creator = ?", c.clone());
        }
        if let Some(t) = f.created_from {
            cond.push("gmt_created >= ?", t);
        }
        if let Some(t) = f.created_to {
            cond.push("gmt_created <= ?", t);
        }
        self.page("orders", ORDER_COLS, cond, marker, limit, |r| {
            self.order_opened(r)
        })
    }

    /// Orders that still have work or a decision pending.
    pub fn open_orders(&self) -> Result<Vec<OrderRow>> {
        let c = self.conn();
        let mut stmt = c.prepare(&format!(
            "SELECT {ORDER_COLS} FROM orders WHERE status NOT IN ('CANCELED', 'FINISHED', 'ROLLBACKED') ORDER BY id"
        ))?;
        stmt.query_map([], |r| self.order_opened(r))?.collect()
    }

    pub fn set_order_state(
        &self,
        order_id: i64,
        status: OrderStatus,
        current_batch: i64,
        pause_reason: Option<&str>,
        gmt_finished: Option<i64>,
    ) -> Result<()> {
        self.write(|c| c.execute(
            "UPDATE orders SET status = ?2, current_batch = ?3, pause_reason = ?4, gmt_finished = ?5 WHERE id = ?1",
            params![order_id, status.as_str(), current_batch, pause_reason, gmt_finished],
        ))?;
        Ok(())
    }

    pub fn set_acked_failures(&self, order_id: i64, n: i64) -> Result<()> {
        self.write(|c| {
            c.execute(
                "UPDATE orders SET acked_failures = ?2 WHERE id = ?1",
                params![order_id, n],
            )
        })?;
        Ok(())
    }

    pub fn batches(&self, order_id: i64) -> Result<Vec<BatchRow>> {
        let c = self.conn();
        let mut stmt = c.prepare(
            "SELECT batch_index, rotation_strategy, skipped FROM batches WHERE order_id = ?1 ORDER BY batch_index",
        )?;
        stmt.query_map([order_id], |r| {
            Ok(BatchRow {
                batch_index: r.get(0)?,
                rotation_strategy: parse(r.get(1)?)?,
                skipped: r.get(2)?,
            })
        })?
        .collect()
    }

    pub fn skip_batch(&self, order_id: i64, batch_index: i64) -> Result<()> {
        self.write(|c| {
            c.execute(
                "UPDATE batches SET skipped = 1 WHERE order_id = ?1 AND batch_index = ?2",
                params![order_id, batch_index],
            )
        })?;
        Ok(())
    }

    // ---------------------------------------------------------------- instances

    pub fn instances(&self, order_id: i64) -> Result<Vec<InstanceRow>> {
        let c = self.conn();
        let mut stmt = c.prepare(&format!(
            "SELECT {INSTANCE_COLS} FROM instances WHERE order_id = ?1 ORDER BY id"
        ))?;
        stmt.query_map([order_id], instance_row)?.collect()
    }

    /// How many instances of the order are in each (batch, status): what the driver decides on.
    pub fn status_counts(&self, order_id: i64) -> Result<Vec<(i64, InstanceStatus, i64)>> {
        let c = self.conn();
        let mut stmt = c.prepare_cached(
            "SELECT batch_index, status, COUNT(*) FROM instances WHERE order_id = ?1 GROUP BY batch_index, status",
        )?;
        stmt.query_map([order_id], |r| {
            Ok((r.get(0)?, parse(r.get(1)?)?, r.get(2)?))
        })?
        .collect()
    }

    /// The order's instances counted by what they came to.
    pub fn tally(&self, order_id: i64) -> Result<Tally> {
        let mut t = Tally::default();
        for (_, status, n) in self.status_counts(order_id)? {
            t.add(status, n);
        }
        Ok(t)
    }

    /// The tallies of several orders in one query (a page of the orders list).
    pub fn tallies(&self, order_ids: &[i64]) -> Result<std::collections::HashMap<i64, Tally>> {
        let mut out: std::collections::HashMap<i64, Tally> = std::collections::HashMap::new();
        if order_ids.is_empty() {
            return Ok(out);
        }
        let marks = vec!["?"; order_ids.len()].join(",");
        let c = self.conn();
        let mut stmt = c.prepare(&format!(
            "SELECT order_id, status, COUNT(*) FROM instances WHERE order_id IN ({marks}) \
             GROUP BY order_id, status"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(order_ids.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                parse::<InstanceStatus>(r.get(1)?)?,
                r.get(2)?,
            ))
        })?;
        for row in rows {
            let (id, status, n) = row?;
            out.entry(id).or_default().add(status, n);
        }
        Ok(out)
    }

    /// The instances of one batch in one status.
    pub fn instances_in(
        &self,
        order_id: i64,
        batch_index: i64,
        status: InstanceStatus,
    ) -> Result<Vec<InstanceRow>> {
        let c = self.conn();
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {INSTANCE_COLS} FROM instances WHERE order_id = ?1 AND batch_index = ?2 AND status = ?3 ORDER BY id"
        ))?;
        stmt.query_map(
            params![order_id, batch_index, status.as_str()],
            instance_row,
        )?
        .collect()
    }

    pub fn instance(&self, id: i64) -> Result<Option<InstanceRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {INSTANCE_COLS} FROM instances WHERE id = ?1"),
                [id],
                instance_row,
            )
            .optional()
    }

    /// Marks an instance as started: a new attempt, with the previous attempt's output gone.
    pub fn start_instance(&self, id: i64, now: i64) -> Result<()> {
        self.write(|tx| {
        tx.execute("DELETE FROM output WHERE instance_id = ?1", [id])?;
        tx.execute(
            "UPDATE instances SET status = 'PROCESSING', gmt_started = ?2, gmt_finished = NULL, exit_code = NULL, \
             reason = NULL, output_bytes = 0, dropped_bytes = 0, attempt = attempt + 1 WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
        })
    }

    pub fn finish_instance(
        &self,
        id: i64,
        status: InstanceStatus,
        exit_code: Option<i32>,
        reason: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.write(|c| c.execute(
            "UPDATE instances SET status = ?2, exit_code = ?3, reason = ?4, gmt_finished = ?5 WHERE id = ?1",
            params![id, status.as_str(), exit_code, reason, now],
        ))?;
        Ok(())
    }

    /// Puts an instance back to READY (a retry) or sets a status without an attempt.
    pub fn set_instance_status(
        &self,
        id: i64,
        status: InstanceStatus,
        reason: Option<&str>,
        gmt_finished: Option<i64>,
    ) -> Result<()> {
        self.write(|c| {
            c.execute(
                "UPDATE instances SET status = ?2, reason = ?3, gmt_finished = ?4 WHERE id = ?1",
                params![id, status.as_str(), reason, gmt_finished],
            )
        })?;
        Ok(())
    }

    /// Appends whole lines of one stream (already capped by the caller), arrived at `at_ms`, and
    /// counts dropped bytes.
    pub fn append_output(
        &self,
        id: i64,
        data: &[u8],
        stderr: bool,
        at_ms: i64,
        dropped: u64,
    ) -> Result<()> {
        self.write(|tx| {
        if !data.is_empty() {
            tx.execute(
                "INSERT INTO output (instance_id, data, stderr, at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![id, data, stderr, at_ms],
            )?;
        }
        tx.execute(
            "UPDATE instances SET output_bytes = output_bytes + ?2, dropped_bytes = dropped_bytes + ?3 WHERE id = ?1",
            params![id, data.len() as i64, dropped as i64],
        )?;
        Ok(())
        })
    }

    /// The captured output of an instance's latest attempt as it arrived: pieces of whole
    /// lines, each with its stream and arrival time.
    pub fn output_pieces(&self, id: i64) -> Result<Vec<(i64, bool, Vec<u8>)>> {
        let c = self.conn();
        let mut stmt = c.prepare_cached(
            "SELECT at_ms, stderr, data FROM output WHERE instance_id = ?1 ORDER BY seq",
        )?;
        stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
    }

    /// The whole captured output of an instance's latest attempt.
    pub fn output(&self, id: i64) -> Result<Vec<u8>> {
        let c = self.conn();
        let mut stmt = c.prepare("SELECT data FROM output WHERE instance_id = ?1 ORDER BY seq")?;
        let mut out = Vec::new();
        let mut rows = stmt.query([id])?;
        while let Some(r) = rows.next()? {
            let chunk: Vec<u8> = r.get(0)?;
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The instances that were running: their order's `execute_uuid`, their id and host.
    pub fn running_instances(&self) -> Result<Vec<(String, i64, String)>> {
        let c = self.conn();
        let mut stmt = c.prepare(
            "SELECT o.execute_uuid, i.id, i.resource_id FROM instances i \
             JOIN orders o ON o.id = i.order_id WHERE i.status = 'PROCESSING'",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
    }

    /// After a crash: every instance that was PROCESSING becomes ABNORMAL with `reason`, and every
    /// order that was PROCESSING becomes PAUSED. Returns the number of instances marked.
    pub fn recover_after_restart(&self, reason: &str, now: i64) -> Result<usize> {
        self.write(|tx| {
        let n = tx.execute(
            "UPDATE instances SET status = 'ABNORMAL', reason = ?1, gmt_finished = ?2 WHERE status = 'PROCESSING'",
            params![reason, now],
        )?;
        tx.execute(
            "UPDATE orders SET status = 'PAUSED', pause_reason = ?1 WHERE status IN ('PROCESSING', 'READY')",
            params![reason],
        )?;
                Ok(n)
        })
    }
}
