//! `cocpit config check`: is the selected profile (or `--endpoint`) usable? Each line says
//! what was checked and, when it fails, what to change. Keys are shown masked, never whole.

use crate::backend::prelude::*;
use crate::client::{Credentials, Endpoints, Options, Remote, Service};
use crate::sign::huawei::MAX_SKEW_SECS;

/// Where the check goes and with which keys (or why the keys could not be had).
pub struct Target {
    pub label: String,
    pub endpoints: Endpoints,
    pub creds: Result<(Credentials, String), String>,
}

struct Report {
    failed: bool,
}

impl Report {
    fn line(&mut self, ok: bool, text: impl AsRef<str>) {
        self.failed |= !ok;
        say!("{} {}", if ok { "✔" } else { "✘" }, text.as_ref());
    }
}

/// Checks `target`; exit 0 when everything works, 1 otherwise.
pub async fn run(target: Target, options: Options) -> u8 {
    let mut r = Report { failed: false };
    say!("checking {}", target.label);
    let creds = match target.creds {
        Ok((c, source)) => {
            r.line(true, format!("keys: {} from {source}", c.shown()));
            c
        }
        Err(e) => {
            r.line(false, format!("keys: {e}"));
            return 1;
        }
    };
    match &creds.project_id {
        Some(p) => r.line(true, format!("project id: {p}")),
        None => r.line(
            false,
            "project id: none (Cloud Eye and Workspace need one: set project_id in the profile or HUAWEICLOUD_SDK_PROJECT_ID)",
        ),
    }
    let has_tat_keys = creds.tencent.is_some();
    let client = match Remote::new(
        target.endpoints.clone(),
        target.label.clone(),
        creds,
        options,
    ) {
        Ok(c) => c,
        Err(e) => {
            r.line(false, e);
            return 1;
        }
    };
    let coc = client.endpoints().coc().base.clone();
    match client.probe().await {
        Ok((status, err, skew)) => {
            match err {
                None => r.line(
                    true,
                    format!("COC {coc}: a signed request is accepted (HTTP {status})"),
                ),
                Some(e) => r.line(false, format!("COC {coc}: {e}")),
            }
            match skew {
                Some(s) if s.abs() > MAX_SKEW_SECS => r.line(
                    false,
                    format!(
                        "clock: {} min {} the server's; signatures are refused beyond {} min: set the clock",
                        (s.abs() + 30) / 60,
                        if s > 0 { "ahead of" } else { "behind" },
                        MAX_SKEW_SECS / 60
                    ),
                ),
                Some(s) => r.line(true, format!("clock: within {} s of the server's", s.abs())),
                None => r.line(true, "clock: the server sent no Date to compare with"),
            }
        }
        Err(e) => r.line(false, format!("COC {coc}: {e}")),
    }
    for service in [Service::CloudEye, Service::Workspace, Service::Tat] {
        let name = service.name();
        let ep = match client.endpoints().get(service) {
            Ok(ep) => ep.base.clone(),
            Err(e) => {
                r.line(false, format!("{name}: {e}"));
                continue;
            }
        };
        if service == Service::Tat && !has_tat_keys {
            r.line(
                false,
                format!("{name} {ep}: no Tencent keys (set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or tc_secret_id/tc_secret_key in the key file)"),
            );
            continue;
        }
        let answer = match service {
            Service::CloudEye => client
                .list_agent_invocations(crate::model::agent::ListAgentInvocationsQuery {
                    limit: Some(1),
                    ..Default::default()
                })
                .await
                .map(|_| ()),
            Service::Workspace => client.desktop_agents().await.map(|_| ()),
            _ => client
                .describe_invokers(crate::model::tat::DescribeRequest {
                    limit: Some(1),
                    ..Default::default()
                })
                .await
                .map(|_| ()),
        };
        match answer {
            Ok(()) => r.line(true, format!("{name} {ep}: answers")),
            Err(e) => r.line(false, format!("{name} {ep}: {e}")),
        }
    }
    u8::from(r.failed)
}
