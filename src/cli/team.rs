//! `cocpit audit` (the trail of every write) and `cocpit whoami`.

use super::*;
use crate::model::team::AuditQuery;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this user's writes.
    #[arg(long)]
    pub user: Option<String>,
    /// Only this operation, or those starting so (`CREATE_`, `TAT:`).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only the last N hours.
    #[arg(long, value_name = "N")]
    pub hours: Option<u32>,
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// The `id` of the last entry of the previous page.
    #[arg(long)]
    pub marker: Option<i64>,
}

pub async fn audit(b: &dyn Backend, a: AuditArgs, out: Output) -> CliResult {
    let since = a
        .hours
        .map(|h| chrono::Utc::now().timestamp_millis() - i64::from(h) * 3_600_000);
    let entries = b
        .audit(AuditQuery {
            user: a.user,
            kind: a.kind,
            since,
            until: None,
            limit: Some(a.limit),
            marker: a.marker,
        })
        .await?;
    match out {
        Output::Json => print_json(&Data::new(entries)),
        Output::Table => {
            let mut t = Table::new(&[
                "ID",
                "WHEN",
                "USER",
                "ROLE",
                "FROM",
                "OPERATION",
                "TARGET",
                "STATUS",
                "OUTCOME",
            ]);
            for e in &entries {
                t.row(vec![
                    e.id.to_string(),
                    time(e.at),
                    for_display(&e.user),
                    for_display(&e.role),
                    for_display(&e.address),
                    for_display(&e.operation),
                    for_display(&e.target),
                    e.status.to_string(),
                    for_display(&e.outcome),
                ]);
            }
            print!("{}", t.render());
            say!("{} entries", entries.len());
        }
    }
    Ok(0)
}

pub async fn whoami(b: &dyn Backend, out: Output) -> CliResult {
    let me = b.whoami().await?;
    match out {
        Output::Json => print_json(&Data::new(me)),
        Output::Table => say!(
            "{} ({}){}",
            for_display(&me.user),
            me.role,
            if me.user_id.is_empty() {
                String::new()
            } else {
                format!(" id {}", for_display(&me.user_id))
            }
        ),
    }
    Ok(0)
}
