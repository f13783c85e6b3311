//! The COC script API on the engine: scripts created, read, changed and deleted.

use super::*;

impl Engine {
    /// Creates a script by `who`: APPROVED, or PENDING_APPROVE when it names reviewers.
    pub fn create_script(&self, mut s: AddScriptModel, who: &Caller) -> Result<String> {
        if let Some(ps) = s.script_params.as_mut() {
            cocpit_api::model::script::order_by_position(ps);
        }
        validate::add_script(&s)?;
        if self.inner.store.script_name_taken(&s.name)? {
            return Err(invalid(
                "name",
                format!("must be unique: a script named {:?} already exists", s.name),
            )
            .into());
        }
        let now = now_ms();
        let mut params = s.script_params.unwrap_or_default();
        params.sort_by_key(|p| p.param_order);
        let status = review::status_for(&s.properties);
        let row = ScriptRow {
            id: 0,
            script_uuid: new_uuid("SC"),
            name: s.name,
            description: s.description,
            script_type: s.script_type,
            content: s.content,
            properties: s.properties,
            script_params: params,
            status,
            gmt_created: now,
            gmt_modified: now,
            creator: who.user.clone(),
            creator_id: who.id().to_string(),
            operator: who.user.clone(),
            enterprise_project_id: s.enterprise_project_id,
        };
        self.inner.store.insert_script(&row)?;
        self.inner.emit(Change::ScriptChanged {
            script_uuid: row.script_uuid.clone(),
            deleted: false,
        });
        Ok(row.script_uuid)
    }

    pub(crate) fn script_row(&self, uuid: &str) -> Result<ScriptRow> {
        self.inner
            .store
            .script(uuid)?
            .ok_or_else(|| EngineError(Fault::NotFound(format!("script {uuid:?} does not exist"))))
    }

    pub fn get_script(&self, uuid: &str) -> Result<ScriptDetailModel> {
        Ok(views::script_detail(self.script_row(uuid)?))
    }

    pub fn list_scripts(&self, q: &ListScriptsQuery) -> Result<Page<ScriptListModel>> {
        let limit = validate::limit(q.limit, 100)?;
        if let Some(n) = &q.name_like {
            validate::length("name_like", n, 1, 64)?;
        }
        if let Some(r) = &q.risk_level {
            r.parse::<RiskLevel>()
                .map_err(|rule| invalid("risk_level", rule))?;
        }
        if let Some(t) = &q.script_type {
            t.parse::<ScriptType>()
                .map_err(|rule| invalid("type", rule))?;
        }
        if let Some(m) = q.marker {
            validate::range_i64("marker", m, (0, i64::MAX))?;
        }
        // `marker=0` is the first page, as for every list.
        let marker = q.marker.filter(|m| *m > 0);
        let f = ScriptFilter {
            name_like: q.name_like.clone(),
            creator: q.creator.clone(),
            risk_level: q.risk_level.clone(),
            script_type: q.script_type.clone(),
        };
        let (total, rows) = self.inner.store.list_scripts(&f, marker, limit)?;
        Ok(Page {
            total,
            data: rows.into_iter().map(views::script_list).collect(),
        })
    }

    pub fn update_script(
        &self,
        uuid: &str,
        mut e: EditScriptModel,
        who: &Caller,
    ) -> Result<String> {
        if let Some(ps) = e.script_params.as_mut() {
            cocpit_api::model::script::order_by_position(ps);
        }
        validate::edit_script(&e)?;
        let old = self.script_row(uuid)?;
        let mut row = old.clone();
        if let Some(name) = &e.name
            && name != &row.name
        {
            return Err(
                invalid("name", "cannot be changed by a modify; create a new script").into(),
            );
        }
        if let Some(t) = e.script_type
            && t != row.script_type
        {
            return Err(
                invalid("type", "cannot be changed by a modify; create a new script").into(),
            );
        }
        row.description = e.description;
        row.content = e.content;
        if let Some(p) = e.properties {
            row.properties = p;
        }
        if let Some(mut params) = e.script_params {
            params.sort_by_key(|p| p.param_order);
            // A sensitive value is shown masked; sent back masked, it stays as it was.
            for p in params
                .iter_mut()
                .filter(|p| p.sensitive && p.param_value == output::MASK)
            {
                if let Some(old) = row
                    .script_params
                    .iter()
                    .find(|o| o.param_name == p.param_name && o.sensitive)
                {
                    p.param_value = old.param_value.clone();
                }
            }
            row.script_params = params;
        }
        row.status = review::after_change(&old, &row, who)?;
        row.gmt_modified = now_ms();
        row.operator = who.user.clone();
        self.inner.store.update_script(&row)?;
        self.inner.emit(Change::ScriptChanged {
            script_uuid: uuid.to_string(),
            deleted: false,
        });
        Ok(uuid.to_string())
    }

    pub fn delete_script(&self, uuid: &str) -> Result<String> {
        if !self.inner.store.delete_script(uuid)? {
            return Err(EngineError(Fault::NotFound(format!(
                "script {uuid:?} does not exist"
            ))));
        }
        self.inner.emit(Change::ScriptChanged {
            script_uuid: uuid.to_string(),
            deleted: true,
        });
        Ok(uuid.to_string())
    }

    // ---------------------------------------------------------------- orders
}
