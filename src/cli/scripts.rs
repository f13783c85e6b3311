//! `cocpit script`: list, show, create, edit, delete, and run (following the order).

use super::*;

pub(super) fn read_content(path: &PathBuf) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| fail(format!("stdin: {e}")))
    } else {
        std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))
    }
}

pub(super) fn split_param(s: &str) -> Result<(&str, &str), Failure> {
    s.split_once('=')
        .ok_or_else(|| fail(format!("--param {s:?}: expected NAME=VALUE")))
}

/// A reviewer's decision on a script.
async fn decide(
    b: &dyn Backend,
    script_uuid: &str,
    status: ScriptStatus,
    comments: String,
    out: Output,
) -> CliResult {
    let done = b
        .accept_script(script_uuid, ApprovalJobScriptModel { status, comments })
        .await?;
    match out {
        Output::Json => print_json(&Data::new(done)),
        Output::Table => say!("{script_uuid} {status}"),
    }
    Ok(0)
}

pub async fn script(b: &dyn Backend, cmd: ScriptCmd, out: Output) -> CliResult {
    match cmd {
        ScriptCmd::List {
            name_like,
            risk_level,
            script_type,
            limit,
            marker,
        } => {
            let page = b
                .list_scripts(ListScriptsQuery {
                    limit: Some(limit),
                    marker,
                    name_like,
                    risk_level,
                    script_type,
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&Data::new(page)),
                Output::Table => {
                    let mut t = Table::new(&[
                        "ID",
                        "SCRIPT_UUID",
                        "NAME",
                        "TYPE",
                        "RISK",
                        "STATUS",
                        "VERSION",
                        "UPDATED",
                    ]);
                    for s in &page.data {
                        t.row(vec![
                            s.id.to_string(),
                            s.script_uuid.clone(),
                            s.name.clone(),
                            s.script_type.to_string(),
                            s.properties.risk_level.to_string(),
                            s.status.to_string(),
                            s.properties.version.clone(),
                            time(s.gmt_modified),
                        ]);
                    }
                    print!("{}", t.render());
                    say!("{} of {} scripts", page.data.len(), page.total);
                }
            }
        }
        ScriptCmd::Approve {
            script_uuid,
            comment,
        } => return decide(b, &script_uuid, ScriptStatus::Approved, comment, out).await,
        ScriptCmd::Reject {
            script_uuid,
            comment,
        } => return decide(b, &script_uuid, ScriptStatus::Rejected, comment, out).await,
        ScriptCmd::Show { script_uuid } => {
            let s = b.get_script(&script_uuid).await?;
            let reviews = if s
                .properties
                .reviewers
                .as_ref()
                .is_some_and(|r| !r.is_empty())
            {
                b.script_reviews(&script_uuid).await?
            } else {
                vec![]
            };
            match out {
                Output::Json => print_json(&Data::new(s)),
                Output::Table => {
                    say!(
                        "{}  {}  ({})",
                        s.script_uuid,
                        for_display(&s.name),
                        s.script_type
                    );
                    say!(
                        "risk {}  version {}  status {}",
                        s.properties.risk_level,
                        s.properties.version,
                        s.status
                    );
                    say!("description: {}", for_display(&s.description));
                    if let Some(rs) = s.properties.reviewers.as_ref().filter(|r| !r.is_empty()) {
                        let names: Vec<String> =
                            rs.iter().map(|r| for_display(&r.reviewer_name)).collect();
                        say!("reviewers: {}", names.join(", "));
                    }
                    for r in &reviews {
                        say!(
                            "  {} {} by {}{}",
                            time(r.at),
                            r.status,
                            for_display(&r.reviewer),
                            if r.comments.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", for_display(&r.comments))
                            }
                        );
                    }
                    say!(
                        "created {} by {}, modified {} by {}",
                        time(s.gmt_created),
                        s.creator,
                        time(s.gmt_modified),
                        s.operator
                    );
                    if !s.script_params.is_empty() {
                        let mut t =
                            Table::new(&["ORDER", "PARAM", "DEFAULT", "SENSITIVE", "DESCRIPTION"]);
                        for p in &s.script_params {
                            t.row(vec![
                                p.param_order.to_string(),
                                p.param_name.clone(),
                                if p.sensitive {
                                    crate::engine::output::MASK.into()
                                } else {
                                    p.param_value.clone()
                                },
                                if p.sensitive { "yes" } else { "no" }.into(),
                                p.param_description.clone(),
                            ]);
                        }
                        print!("{}", t.render());
                    }
                    say!("---");
                    print!("{}", for_display(&s.content));
                    if !s.content.ends_with('\n') {
                        say!();
                    }
                }
            }
        }
        ScriptCmd::Create(a) => {
            let content = read_content(&a.file)?;
            let mut params = vec![];
            for (i, p) in a.params.iter().enumerate() {
                let (name, value) = split_param(p)?;
                let (name, sensitive) = match name.strip_suffix(":sensitive") {
                    Some(n) => (n, true),
                    None => (name, false),
                };
                params.push(ScriptParamDefine {
                    param_name: name.into(),
                    param_value: value.into(),
                    param_description: String::new(),
                    param_order: i as i64 + 1,
                    sensitive,
                });
            }
            let uuid = b
                .create_script(AddScriptModel {
                    name: a.name,
                    description: a.description,
                    script_type: a.script_type,
                    content,
                    properties: ScriptPropertiesModel {
                        risk_level: a.risk_level,
                        version: a.version,
                        reviewers: (!a.reviewers.is_empty())
                            .then(|| crate::model::team::parse_reviewers(&a.reviewers.join(","))),
                        protocol: None,
                    },
                    script_params: Some(params),
                    enterprise_project_id: None,
                })
                .await?;
            match out {
                Output::Json => print_json(&Data::new(uuid)),
                Output::Table => say!("{uuid}"),
            }
        }
        ScriptCmd::Edit(a) => {
            let cur = b.get_script(&a.script_uuid).await?;
            let content = match &a.file {
                Some(f) => read_content(f)?,
                None => cur.content,
            };
            let mut props = cur.properties;
            if let Some(v) = a.version {
                props.version = v;
            }
            if let Some(r) = a.risk_level {
                props.risk_level = r;
            }
            let uuid = b
                .update_script(
                    &a.script_uuid,
                    EditScriptModel {
                        description: a.description.unwrap_or(cur.description),
                        content,
                        properties: Some(props),
                        script_params: Some(cur.script_params),
                        name: None,
                        script_type: None,
                    },
                )
                .await?;
            match out {
                Output::Json => print_json(&Data::new(uuid)),
                Output::Table => say!("{uuid}"),
            }
        }
        ScriptCmd::Delete { script_uuid } => {
            let uuid = b.delete_script(&script_uuid).await?;
            match out {
                Output::Json => print_json(&Data::new(uuid)),
                Output::Table => say!("deleted {uuid}"),
            }
        }
        ScriptCmd::Run(a) => return run(b, a, out).await,
    }
    Ok(0)
}

async fn run(b: &dyn Backend, a: RunArgs, out: Output) -> CliResult {
    let script = b.get_script(&a.script_uuid).await?;
    let values = a
        .params
        .iter()
        .map(|p| split_param(p).map(|(n, v)| (n.to_string(), v.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let plan = crate::plan::Plan {
        hosts: &a.hosts,
        batch_size: a.batch_size,
        groups: &[],
        known: &|_| true,
        rotation: a.rotation,
        success_rate: a.success_rate,
        timeout: a.timeout,
        declared: &script.script_params,
        values: &values,
    };
    let body = plan.body().map_err(fail)?;
    let eid = b.execute_script(&a.script_uuid, body).await?;
    if !a.wait && b.subscribe().is_none() {
        match out {
            Output::Json => print_json(&Data::new(&eid)),
            Output::Table => say!("{eid}"),
        }
        return Ok(0);
    }
    eprintln!("order {eid} started");
    follow(b, &eid, out).await
}
