//! Scripts in the store; their sensitive parameter values sealed at rest.

use super::*;

impl Store {
    pub(crate) fn sealed_params(&self, declared: &[ScriptParamDefine]) -> String {
        let mut v = declared.to_vec();
        self.vault.seal_params(&mut v);
        json(&v)
    }

    /// A script as read, its sensitive defaults opened.
    pub(crate) fn script_opened(&self, r: &rusqlite::Row) -> Result<ScriptRow> {
        let mut s = script_row(r)?;
        self.vault
            .open_params(&mut s.script_params)
            .map_err(unreadable)?;
        Ok(s)
    }

    pub fn insert_script(&self, s: &ScriptRow) -> Result<i64> {
        let sealed = self.sealed_params(&s.script_params);
        self.write(|c| {
        c.execute(
            "INSERT INTO scripts (script_uuid, name, description, type, content, properties, script_params, \
             status, gmt_created, gmt_modified, creator, creator_id, operator, enterprise_project_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                s.script_uuid,
                s.name,
                s.description,
                s.script_type.as_str(),
                s.content,
                json(&s.properties),
                sealed,
                s.status.as_str(),
                s.gmt_created,
                s.gmt_modified,
                s.creator,
                s.creator_id,
                s.operator,
                s.enterprise_project_id
            ],
        )?;
        Ok(c.last_insert_rowid())
        })
    }

    pub fn script_name_taken(&self, name: &str) -> Result<bool> {
        self.conn()
            .query_row("SELECT 1 FROM scripts WHERE name = ?1", [name], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    }

    pub fn script(&self, uuid: &str) -> Result<Option<ScriptRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {SCRIPT_COLS} FROM scripts WHERE script_uuid = ?1"),
                [uuid],
                |r| self.script_opened(r),
            )
            .optional()
    }

    pub fn update_script(&self, s: &ScriptRow) -> Result<bool> {
        let n = self.write(|c| c.execute(
            "UPDATE scripts SET description = ?2, content = ?3, properties = ?4, script_params = ?5, \
             gmt_modified = ?6, operator = ?7, status = ?8 WHERE script_uuid = ?1",
            params![
                s.script_uuid,
                s.description,
                s.content,
                json(&s.properties),
                self.sealed_params(&s.script_params),
                s.gmt_modified,
                s.operator,
                s.status.as_str()
            ],
        ))?;
        Ok(n == 1)
    }

    pub fn delete_script(&self, uuid: &str) -> Result<bool> {
        Ok(self.write(|c| c.execute("DELETE FROM scripts WHERE script_uuid = ?1", [uuid]))? == 1)
    }

    /// Scripts newest first; `marker` is the `id` of the last row of the previous page.
    pub fn list_scripts(
        &self,
        f: &ScriptFilter,
        marker: Option<i64>,
        limit: i64,
    ) -> Result<(u64, Vec<ScriptRow>)> {
        let mut cond = super::paging::Conditions::default();
        if let Some(n) = &f.name_like {
            let escaped = n
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            cond.push("name LIKE ? ESCAPE '\\'", format!("%{escaped}%"));
        }
        if let Some(c) = &f.creator {
            cond.push("creator = ?", c.clone());
        }
        if let Some(r) = &f.risk_level {
            cond.push("json_extract(properties, '$.risk_level') = ?", r.clone());
        }
        if let Some(t) = &f.script_type {
            cond.push("type = ?", t.clone());
        }
        self.page("scripts", SCRIPT_COLS, cond, marker, limit, |r| {
            self.script_opened(r)
        })
    }

    // ---------------------------------------------------------------- orders
}
