//! The TAT API on the engine: commands and invokers created, checked, changed and described.

use super::*;

impl Engine {
    /// `CreateCommand`.
    pub fn create_command(&self, r: &CreateCommandRequest) -> Tat<String> {
        let name = r
            .command_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| tat_error(codes::MISSING, "CommandName is required"))?;
        if name.len() > MAX_COMMAND_NAME {
            return Err(tat_error(
                codes::TOO_LONG,
                format!("CommandName must be at most {MAX_COMMAND_NAME} bytes"),
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(tat_error(
                codes::INVALID_VALUE,
                "CommandName may contain only letters, digits, _, - and .",
            ));
        }
        let content = r
            .content
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| tat_error(codes::MISSING, "Content is required (base64)"))?;
        if content.len() > MAX_CONTENT_B64 {
            return Err(tat_error(
                codes::TOO_LONG,
                "Content must be at most 64 KB of base64",
            ));
        }
        base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| tat_error(codes::INVALID_VALUE, format!("Content is not base64: {e}")))?;
        let kind = r.command_type.clone().unwrap_or("SHELL".into());
        if !COMMAND_TYPES.contains(&kind.as_str()) {
            return Err(tat_error(
                codes::INVALID_VALUE,
                format!("CommandType must be one of {}", COMMAND_TYPES.join(", ")),
            ));
        }
        let timeout = r.timeout.unwrap_or(60);
        if !(TIMEOUT_RANGE.0..=TIMEOUT_RANGE.1).contains(&timeout) {
            return Err(tat_error(
                codes::RANGE,
                format!("Timeout must be 1 to 86400 seconds (got {timeout})"),
            ));
        }
        check_len(
            "Description",
            r.description.as_deref().unwrap_or(""),
            MAX_DESCRIPTION,
        )?;
        let enable = r.enable_parameter.unwrap_or(false);
        let defaults = r.default_parameters.clone().unwrap_or_default();
        if !defaults.is_empty() {
            if !enable {
                return Err(tat_error(
                    codes::INVALID_PARAMETER,
                    "DefaultParameters needs EnableParameter true",
                ));
            }
            json_object("DefaultParameters", &defaults)?;
        }
        let tags = check_tags(&r.tags)?;
        let now = format_time(self.inner.clock.now());
        let id = self.unused_id(TAT_COMMANDS, "cmd")?;
        let cmd = Command {
            command_id: id.clone(),
            command_name: name.into(),
            description: r.description.clone().unwrap_or_default(),
            content: content.into(),
            command_type: kind,
            working_directory: r.working_directory.clone().unwrap_or_default(),
            timeout,
            created_time: now.clone(),
            updated_time: now,
            enable_parameter: enable,
            default_parameters: defaults,
            created_by: "USER".into(),
            tags,
            username: r.username.clone().unwrap_or_default(),
        };
        self.inner
            .store
            .put(TAT_COMMANDS, &id, &[], &cmd)
            .map_err(internal)?;
        Ok(id)
    }

    pub(super) fn unused_id(&self, t: crate::store::Table, prefix: &str) -> Tat<String> {
        loop {
            let id = short_id(prefix);
            let taken: Option<serde_json::Value> =
                self.inner.store.get(t, &id).map_err(internal)?;
            if taken.is_none() {
                return Ok(id);
            }
        }
    }

    /// `DescribeCommands`.
    pub fn describe_commands(&self, r: &DescribeRequest) -> Tat<Described<Command>> {
        let (limit, offset) = page(r.limit, r.offset)?;
        let ids = r
            .command_ids
            .clone()
            .or_else(|| filter_value(&r.filters, "command-id").map(<[String]>::to_vec));
        let (_, all): (u64, Vec<Command>) = self
            .inner
            .store
            .select(
                TAT_COMMANDS,
                &Select {
                    within: ids.map(|v| vec![("id", v)]).unwrap_or_default(),
                    limit: u64::MAX >> 1,
                    ..Default::default()
                },
            )
            .map_err(internal)?;
        let names = filter_value(&r.filters, "command-name");
        let types = filter_value(&r.filters, "command-type");
        let matching: Vec<Command> = all
            .into_iter()
            .filter(|c| names.is_none_or(|n| n.contains(&c.command_name)))
            .filter(|c| types.is_none_or(|t| t.contains(&c.command_type)))
            .collect();
        Ok(paged(matching, offset, limit))
    }

    /// `CreateInvoker`: checks everything against the seed's rules before anything is stored.
    pub fn create_invoker(&self, r: &CreateInvokerRequest) -> Tat<String> {
        let now = self.inner.clock.now();
        let name = r
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| tat_error(codes::MISSING, "Name is required"))?;
        check_len("Name", name, MAX_INVOKER_NAME)?;
        match r.invoker_type.as_deref() {
            Some("SCHEDULE") => {}
            None => return Err(tat_error(codes::MISSING, "Type is required (SCHEDULE)")),
            Some(other) => {
                return Err(tat_error(
                    codes::INVALID_VALUE,
                    format!("Type {other:?} is not supported: the only type is SCHEDULE"),
                ));
            }
        }
        let command_id = r
            .command_id
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| tat_error(codes::MISSING, "CommandId is required"))?;
        if !command_id.starts_with("cmd-") {
            return Err(tat_error(
                codes::INVALID_COMMAND_ID,
                format!("CommandId {command_id:?} is not a command id (cmd-…)"),
            ));
        }
        let instances = r.instance_ids.clone().unwrap_or_default();
        if instances.is_empty() || instances.len() > MAX_INSTANCES {
            return Err(tat_error(
                codes::RANGE,
                format!(
                    "InstanceIds must hold 1 to {MAX_INSTANCES} ids (got {})",
                    instances.len()
                ),
            ));
        }
        check_len(
            "Username",
            r.username.as_deref().unwrap_or(""),
            MAX_USERNAME,
        )?;
        let parameters = r.parameters.clone().unwrap_or_default();
        if !parameters.is_empty() {
            json_object("Parameters", &parameters)?;
        }
        let tags = check_tags(&r.tags)?;
        let schedule = schedule(r.schedule_settings.as_ref(), now)?;
        let cmd: Command = self
            .inner
            .store
            .get(TAT_COMMANDS, command_id)
            .map_err(internal)?
            .ok_or_else(|| {
                tat_error(
                    codes::COMMAND_NOT_FOUND,
                    format!("command {command_id} does not exist (CreateCommand makes one)"),
                )
            })?;
        if !parameters.is_empty() && !cmd.enable_parameter {
            return Err(tat_error(
                codes::INVALID_PARAMETER,
                format!("Parameters: command {command_id} was created with EnableParameter false"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for id in &instances {
            if !seen.insert(id) {
                return Err(tat_error(
                    codes::INVALID_INSTANCE_ID,
                    format!("InstanceIds lists {id} twice"),
                ));
            }
            if !self.inner.hosts.contains_key(id) {
                return Err(tat_error(
                    codes::INSTANCE_NOT_FOUND,
                    format!("instance {id} does not exist"),
                ));
            }
        }
        let stamp = format_time(now);
        let id = self.unused_id(TAT_INVOKERS, "ivk")?;
        let invoker = Invoker {
            invoker_id: id.clone(),
            name: name.into(),
            invoker_type: "SCHEDULE".into(),
            command_id: command_id.into(),
            username: r.username.clone().unwrap_or_default(),
            parameters,
            instance_ids: instances,
            enable: true,
            schedule_settings: r.schedule_settings.clone().unwrap_or_default(),
            created_time: stamp.clone(),
            updated_time: stamp,
            tags,
        };
        let next = schedule.next_after(now).map(ms);
        put_invoker(&self.inner.fires(), &invoker, next)?;
        self.replan(&id, next);
        Ok(id)
    }

    pub(super) fn replan(&self, id: &str, next: Option<i64>) {
        self.inner
            .schedule
            .plan
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set(id, next);
        self.inner.schedule.changed.notify_one();
        emit_invoker(&self.inner.fires(), id, None);
    }

    pub(super) fn invoker(&self, id: Option<&str>) -> Tat<Invoker> {
        let id = id
            .filter(|i| !i.is_empty())
            .ok_or_else(|| tat_error(codes::MISSING, "InvokerId is required"))?;
        self.inner
            .store
            .get(TAT_INVOKERS, id)
            .map_err(internal)?
            .ok_or_else(|| {
                tat_error(
                    codes::INVOKER_NOT_FOUND,
                    format!("invoker {id} does not exist"),
                )
            })
    }

    /// `EnableInvoker` / `DisableInvoker`. Enabling schedules from now on.
    pub fn set_invoker_enabled(&self, id: Option<&str>, enable: bool) -> Tat<()> {
        let mut inv = self.invoker(id)?;
        let now = self.inner.clock.now();
        inv.enable = enable;
        inv.updated_time = format_time(now);
        let next = if enable {
            schedule_of(&inv)
                .ok()
                .and_then(|s| s.next_after(now))
                .map(ms)
        } else {
            None
        };
        put_invoker(&self.inner.fires(), &inv, next)?;
        self.replan(&inv.invoker_id, next);
        Ok(())
    }

    /// `DeleteInvoker` (its records stay readable).
    pub fn delete_invoker(&self, id: Option<&str>) -> Tat<()> {
        let inv = self.invoker(id)?;
        self.inner
            .store
            .delete(TAT_INVOKERS, &inv.invoker_id)
            .map_err(internal)?;
        self.replan(&inv.invoker_id, None);
        Ok(())
    }

    /// `DescribeInvokers`; `ScheduleSettings.InvokeTime` is the next fire time.
    pub fn describe_invokers(&self, r: &DescribeRequest) -> Tat<Described<Invoker>> {
        let (limit, offset) = page(r.limit, r.offset)?;
        let ids = r
            .invoker_ids
            .clone()
            .or_else(|| filter_value(&r.filters, "invoker-id").map(<[String]>::to_vec));
        let (_, all): (u64, Vec<Invoker>) = self
            .inner
            .store
            .select(
                TAT_INVOKERS,
                &Select {
                    within: ids.map(|v| vec![("id", v)]).unwrap_or_default(),
                    limit: u64::MAX >> 1,
                    ..Default::default()
                },
            )
            .map_err(internal)?;
        let commands = filter_value(&r.filters, "command-id");
        let types = filter_value(&r.filters, "invoker-type");
        let matching: Vec<Invoker> = all
            .into_iter()
            .filter(|i| commands.is_none_or(|c| c.contains(&i.command_id)))
            .filter(|i| types.is_none_or(|t| t.contains(&i.invoker_type)))
            .collect();
        let total_count = matching.len() as u64;
        let plan = self
            .inner
            .schedule
            .plan
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let set = matching
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|mut i| {
                i.schedule_settings.invoke_time =
                    plan.next.get(&i.invoker_id).map(|t| format_ms(*t));
                i
            })
            .collect::<Vec<_>>();
        Ok(Described { total_count, set })
    }

    /// `DescribeInvokerRecords`, newest first.
    pub fn describe_invoker_records(&self, r: &DescribeRequest) -> Tat<Described<InvokerRecord>> {
        let (limit, offset) = page(r.limit, r.offset)?;
        let within = match &r.invoker_ids {
            Some(ids) if !ids.is_empty() => vec![("invoker_id", ids.clone())],
            _ => vec![],
        };
        let (total_count, set) = self
            .inner
            .store
            .select(
                TAT_RECORDS,
                &Select {
                    within,
                    limit,
                    offset,
                    ..Default::default()
                },
            )
            .map_err(internal)?;
        Ok(Described { total_count, set })
    }

    /// `DescribeInvocationTasks`; output is hidden unless `HideOutput` is false.
    pub fn describe_invocation_tasks(&self, r: &DescribeRequest) -> Tat<Described<InvocationTask>> {
        let (limit, offset) = page(r.limit, r.offset)?;
        let mut sel = Select {
            within: r
                .invocation_task_ids
                .clone()
                .or_else(|| filter_value(&r.filters, "invocation-task-id").map(<[String]>::to_vec))
                .map(|v| vec![("id", v)])
                .unwrap_or_default(),
            limit: u64::MAX >> 1,
            oldest_first: true,
            ..Default::default()
        };
        if let Some([one]) = filter_value(&r.filters, "invocation-id") {
            sel.equal.push(("invocation_id", one.clone().into()));
        }
        let (_, all): (u64, Vec<InvocationTask>) =
            self.inner.store.select(TAT_TASKS, &sel).map_err(internal)?;
        let invocations = filter_value(&r.filters, "invocation-id");
        let instances = filter_value(&r.filters, "instance-id");
        let commands = filter_value(&r.filters, "command-id");
        let hide = r.hide_output.unwrap_or(true);
        let matching: Vec<InvocationTask> = all
            .into_iter()
            .filter(|t| invocations.is_none_or(|v| v.contains(&t.invocation_id)))
            .filter(|t| instances.is_none_or(|v| v.contains(&t.instance_id)))
            .filter(|t| commands.is_none_or(|v| v.contains(&t.command_id)))
            .collect();
        let mut page = paged(matching, offset, limit);
        if hide {
            for t in &mut page.set {
                t.task_result.output.clear();
            }
        }
        Ok(page)
    }

    /// How many invokers are scheduled (benchmarks, the console).
    pub fn scheduled_invokers(&self) -> usize {
        self.inner
            .schedule
            .plan
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

pub(super) fn page(limit: Option<i64>, offset: Option<i64>) -> Tat<(u64, u64)> {
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(tat_error(
            codes::RANGE,
            format!("Limit must be 1 to 100 (got {limit})"),
        ));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(tat_error(codes::RANGE, "Offset must not be negative"));
    }
    Ok((limit as u64, offset as u64))
}

/// One page of what matched, with how many matched in all.
pub(super) fn paged<T>(matching: Vec<T>, offset: u64, limit: u64) -> Described<T> {
    Described {
        total_count: matching.len() as u64,
        set: matching
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect(),
    }
}

pub(super) fn filter_value<'a>(
    filters: &'a Option<Vec<Filter>>,
    name: &str,
) -> Option<&'a [String]> {
    filters
        .as_deref()?
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.values.as_slice())
}

pub(super) fn check_len(field: &str, v: &str, max: usize) -> Tat<()> {
    let n = v.chars().count();
    if n > max {
        return Err(tat_error(
            codes::TOO_LONG,
            format!("{field} must be at most {max} characters (got {n})"),
        ));
    }
    Ok(())
}

pub(super) fn check_tags(tags: &Option<Vec<Tag>>) -> Tat<Vec<Tag>> {
    let tags = tags.clone().unwrap_or_default();
    if tags.len() > MAX_TAGS {
        return Err(tat_error(
            codes::RANGE,
            format!("Tags may hold at most {MAX_TAGS} tags (got {})", tags.len()),
        ));
    }
    Ok(tags)
}

pub(super) fn json_object(field: &str, text: &str) -> Tat<()> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => {
            for (k, v) in &m {
                if !v.is_string() {
                    return Err(tat_error(
                        codes::BAD_JSON,
                        format!("{field}: the value of {k:?} must be a string"),
                    ));
                }
            }
            Ok(())
        }
        Ok(_) => Err(tat_error(
            codes::BAD_JSON,
            format!("{field} must be a JSON object of strings, such as {{\"name\": \"value\"}}"),
        )),
        Err(e) => Err(tat_error(
            codes::BAD_JSON,
            format!("{field} is not valid JSON: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_gives_the_earliest_and_forgets_replaced_times() {
        let mut p = Plan::default();
        p.set("a", Some(30));
        p.set("b", Some(10));
        p.set("b", Some(40));
        p.set("c", Some(20));
        p.set("c", None);
        assert_eq!(p.peek(), Some(30));
        assert_eq!(p.take_due(35), vec![("a".to_string(), 30)]);
        assert_eq!(p.take_due(35), vec![]);
        assert_eq!(p.take_due(40), vec![("b".to_string(), 40)]);
        assert!(p.is_empty());
    }

    #[test]
    fn parameters_fill_the_script_and_hidden_ones_are_masked() {
        let cmd = Command {
            command_id: "cmd-1".into(),
            command_name: "n".into(),
            description: String::new(),
            content: base64::engine::general_purpose::STANDARD
                .encode("echo {{word}} {{tat-hidden:pw}} {{left}}"),
            command_type: "SHELL".into(),
            working_directory: String::new(),
            timeout: 60,
            created_time: String::new(),
            updated_time: String::new(),
            enable_parameter: true,
            default_parameters: r#"{"word":"hi","left":"L"}"#.into(),
            created_by: "USER".into(),
            tags: vec![],
            username: String::new(),
        };
        let (script, secrets) = render(&cmd, r#"{"word":"hello","pw":"s3cret"}"#).unwrap();
        assert_eq!(script, "echo hello s3cret L");
        assert_eq!(secrets, vec!["s3cret".to_string()]);
    }
}
