//! Every HTTP endpoint of the API, declared once: method, path template, the service it belongs
//! to, and the types of its query, body and answer (the answer's envelope included). The server
//! routes these declarations and the client calls them, so the two cannot drift apart.

use std::marker::PhantomData;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::model::agent::*;
use crate::model::alarm::*;
use crate::model::desktop::*;
use crate::model::engine::{EngineStatus, StopEngine, Stopped};
use crate::model::iam::{TokenAnswer, TokenRequest};
use crate::model::incident::*;
use crate::model::order::*;
use crate::model::resource::{ListResourcesQuery, Resource};
use crate::model::script::*;
use crate::model::team::{ApprovalJobScriptModel, AuditEntry, AuditQuery, Caller, ScriptReview};
use crate::model::{Data, Page};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// The cloud service an endpoint belongs to (each has its own address on a real cloud).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Coc,
    CloudEye,
    Workspace,
    Tat,
    Iam,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Coc => "COC",
            Service::CloudEye => "Cloud Eye",
            Service::Workspace => "Workspace",
            Service::Tat => "TAT",
            Service::Iam => "IAM",
        }
    }
}

/// One endpoint: `Q` is its query, `B` its body, `A` its answer (`()` for none).
pub struct Endpoint<Q, B, A> {
    pub name: &'static str,
    pub method: Method,
    /// The path, with `{name}` for each parameter (the router's syntax).
    pub path: &'static str,
    pub service: Service,
    types: PhantomData<fn(Q, B) -> A>,
}

impl<Q, B, A> Endpoint<Q, B, A> {
    const fn new(name: &'static str, method: Method, path: &'static str, service: Service) -> Self {
        Endpoint {
            name,
            method,
            path,
            service,
            types: PhantomData,
        }
    }

    /// The path with its parameters filled in order, each percent-encoded as one segment.
    pub fn path_with(&self, args: &[&str]) -> String {
        let mut out = String::with_capacity(self.path.len() + 32);
        let mut rest = self.path;
        let mut args = args.iter();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
            let arg = args.next().expect("one argument per path parameter");
            out.extend(utf8_percent_encode(arg, SEGMENT));
            rest = &rest[close..];
        }
        out.push_str(rest);
        debug_assert!(args.next().is_none(), "more arguments than parameters");
        out
    }

    /// The declaration without its types.
    pub const fn route(&self) -> Route {
        Route {
            name: self.name,
            method: self.method,
            path: self.path,
            service: self.service,
        }
    }
}

/// An endpoint without its types: what a table of every endpoint holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub name: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub service: Service,
}

impl Route {
    /// The parameters of `path` (decoded, in order) when it is this route's, else `None`.
    pub fn params(&self, path: &str) -> Option<Vec<String>> {
        let (mut want, mut got) = (self.path.split('/'), path.split('/'));
        let mut out = vec![];
        loop {
            match (want.next(), got.next()) {
                (None, None) => return Some(out),
                (Some(w), Some(g)) if w.starts_with('{') => {
                    if g.is_empty() {
                        return None;
                    }
                    let decoded = percent_encoding::percent_decode_str(g).decode_utf8().ok()?;
                    out.push(decoded.into_owned());
                }
                (Some(w), Some(g)) if w == g => {}
                _ => return None,
            }
        }
    }
}

/// RFC 3986: only `A-Za-z0-9-_.~` stay literal (as the official SDKs encode).
pub const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The answer of the server-sent event stream (not JSON).
pub enum EventStream {}

macro_rules! endpoints {
    ($($(#[$doc:meta])* $name:ident = $method:ident $path:literal in $service:ident => ($q:ty, $b:ty, $a:ty);)+) => {
        $(
            $(#[$doc])*
            pub const $name: Endpoint<$q, $b, $a> =
                Endpoint::new(stringify!($name), Method::$method, $path, Service::$service);
        )+
        /// Every endpoint, for tables and tests.
        pub const ALL: &[Route] = &[$($name.route()),+];
    };
}

endpoints! {
    // Scripts (seed 003 §4.2).
    LIST_SCRIPTS = Get "/v1/job/scripts" in Coc
        => (ListScriptsQuery, (), Data<Page<ScriptListModel>>);
    CREATE_SCRIPT = Post "/v1/job/scripts" in Coc => ((), AddScriptModel, Data<String>);
    GET_SCRIPT = Get "/v1/job/scripts/{script_uuid}" in Coc => ((), (), Data<ScriptDetailModel>);
    UPDATE_SCRIPT = Put "/v1/job/scripts/{script_uuid}" in Coc
        => ((), EditScriptModel, Data<String>);
    DELETE_SCRIPT = Delete "/v1/job/scripts/{script_uuid}" in Coc => ((), (), Data<String>);
    EXECUTE_SCRIPT = Post "/v1/job/scripts/{script_uuid}" in Coc
        => ((), ScriptExecuteModel, Data<String>);
    /// A reviewer approves or rejects a script (the SDK's `accept_script`).
    ACCEPT_SCRIPT = Post "/v1/job/scripts/{script_uuid}/action" in Coc
        => ((), ApprovalJobScriptModel, Data<bool>);
    /// Every review decision on a script, oldest first (cocpit's).
    SCRIPT_REVIEWS = Get "/v1/cocpit/scripts/{script_uuid}/reviews" in Coc
        => ((), (), Data<Vec<ScriptReview>>);

    // Script tickets (§4.3).
    LIST_ORDERS = Get "/v1/job/script/orders" in Coc
        => (ListOrdersQuery, (), Data<Page<JobScriptOrderListModel>>);
    GET_ORDER = Get "/v1/job/script/orders/{execute_uuid}" in Coc
        => ((), (), Data<JobScriptOrderInfoModel>);
    LIST_BATCHES = Get "/v1/job/script/orders/{execute_uuid}/batches" in Coc
        => ((), (), Data<Vec<JobScriptBatchListModel>>);
    GET_BATCH = Get "/v1/job/script/orders/{execute_uuid}/batches/{batch_index}" in Coc
        => (BatchDetailQuery, (), Data<JobScriptBatchDetailModel>);
    ORDER_STATISTICS = Get "/v1/job/script/orders/{execute_uuid}/statistics" in Coc
        => ((), (), Data<JobScriptOrderStatisticsModel>);
    OPERATE_ORDER = Put "/v1/job/script/orders/{execute_uuid}/operation" in Coc
        => ((), JobScriptOrderOperationBody, Data<String>);
    /// The order, its batches and every instance at once: what a console opens.
    ORDER_SNAPSHOT = Get "/v1/cocpit/orders/{execute_uuid}/snapshot" in Coc
        => ((), (), Data<OrderSnapshot>);
    /// An instance's output as it arrived: pieces of whole lines with their stream and time.
    INSTANCE_LOG = Get "/v1/cocpit/orders/{execute_uuid}/instances/{instance_id}/log" in Coc
        => ((), (), Data<Vec<LogPiece>>);

    LIST_RESOURCES = Get "/v1/resources" in Coc => (ListResourcesQuery, (), Data<Vec<Resource>>);
    /// Live changes as server-sent events (`change`, `resync`).
    EVENTS = Get "/v1/cocpit/events" in Coc => ((), (), EventStream);

    // Incidents (§4.4.1) and cocpit's incident list.
    CREATE_INCIDENT = Post "/v1/external/incident/create" in Coc
        => ((), CreateIncident, Gom<CreatedIncident>);
    HANDLE_INCIDENT = Post "/v1/external/incident/handle" in Coc
        => ((), HandleIncident, Gom<Option<serde_json::Value>>);
    INCIDENT_INFO = Get "/v1/external/incident/{incident_num}" in Coc
        => ((), (), Gom<IncidentInfo>);
    INCIDENT_TICKETS = Get "/v1/incident-tickets" in Coc
        => (ListIncidentsQuery, (), Gom<Page<IncidentSummary>>);
    LIST_INCIDENTS = Get "/v1/cocpit/incidents" in Coc
        => (ListIncidentsQuery, (), Data<Page<IncidentSummary>>);
    INCIDENT_DETAIL = Get "/v1/cocpit/incidents/{incident_num}" in Coc
        => ((), (), Data<IncidentDetail>);

    // Alarms: integration pushes (§4.4.2), the SDK's alarm management, cocpit's list.
    PUSH_CUSTOM = Post "/v1/event/huawei/custom/{integration_key}" in Coc
        => ((), CustomEvent, Gom<Option<serde_json::Value>>);
    PUSH_PROMETHEUS = Post "/v1/event/prometheus/{integration_key}" in Coc
        => ((), AlertmanagerWebhook, Gom<Option<serde_json::Value>>);
    ALARM_INFO = Get "/v1/alarm-mgmt/alarm/{alarm_id}" in Coc => ((), (), Data<AlarmInfoDto>);
    ALARM_HISTORIES = Get "/v1/alarm-mgmt/alarm/{alarm_id}/handle-histories" in Coc
        => (HistoriesQuery, (), Histories);
    CLEAR_ALARMS = Post "/v1/alarm-mgmt/alarms/cancel" in Coc
        => ((), ClearAlarms, Data<Vec<String>>);
    ALARMS_TO_INCIDENT = Post "/v1/alarm-mgmt/alarms-linked-incident" in Coc
        => ((), AlarmsToIncident, Data<Vec<String>>);
    LIST_ALARMS = Get "/v1/cocpit/alarms" in Coc => (ListAlarmsQuery, (), Data<AlarmPage>);
    ACK_ALARMS = Post "/v1/cocpit/alarms/ack" in Coc => ((), AckAlarms, Data<usize>);
    GET_ALARM = Get "/v1/cocpit/alarms/{alarm_id}" in Coc => ((), (), Data<Alarm>);
    ALARM_GROUPS = Get "/v1/cocpit/alarm-groups" in Coc => ((), (), Data<Vec<AlarmGroup>>);
    LIST_SILENCES = Get "/v1/cocpit/silences" in Coc => ((), (), Data<Vec<Silence>>);
    CREATE_SILENCE = Post "/v1/cocpit/silences" in Coc => ((), NewSilence, Data<Silence>);
    EXPIRE_SILENCE = Delete "/v1/cocpit/silences/{id}" in Coc => ((), (), Data<String>);

    // Cloud Eye agent tasks.
    CREATE_AGENT_INVOCATIONS = Post "/v3/{project_id}/agent-invocations/batch-create" in CloudEye
        => ((), BatchCreateInvocationRequestBody, BatchCreateAgentInvocationsResponse);
    LIST_AGENT_INVOCATIONS = Get "/v3/{project_id}/agent-invocations" in CloudEye
        => (ListAgentInvocationsQuery, (), ListAgentInvocationsResponse);
    AGENT_STATUS = Post "/v3/{project_id}/agent-status/batch-query" in CloudEye
        => ((), ListAgentStatusRequestBody, ListAgentStatusResponse);
    /// Every server's agent and its last task.
    AGENTS = Get "/v1/cocpit/agents" in Coc => ((), (), Data<Vec<AgentSummary>>);

    // Workspace desktop agents.
    DESKTOP_AGENTS = Get "/v2/{project_id}/desktops/agents" in Workspace
        => (ListAgentsInstallConditionQuery, (), ListAgentsInstallConditionResponse);
    INSTALL_DESKTOP_AGENTS = Post "/v2/{project_id}/desktops/agents" in Workspace
        => ((), BatchInstallAgentReq, BatchInstallAgentResponse);
    DESKTOP_JOB = Get "/v2/{project_id}/workspace-jobs/{job_id}" in Workspace
        => ((), (), ShowJobResponse);
    DESKTOP_JOBS = Get "/v1/cocpit/desktop-jobs" in Coc => ((), (), Data<Vec<ShowJobResponse>>);

    /// The engine process: version, pid, attached clients, running work.
    ENGINE_STATUS = Get "/v1/cocpit/engine" in Coc => ((), (), Data<EngineStatus>);
    /// Stops a local engine process (not `cocpit serve`): its orders pause cleanly first.
    ENGINE_STOP = Post "/v1/cocpit/engine/stop" in Coc => ((), StopEngine, Data<Stopped>);

    /// Who the caller is, and its role.
    WHOAMI = Get "/v1/cocpit/whoami" in Coc => ((), (), Data<Caller>);
    /// The users who may call: names, ids and roles, never a secret (reviewers are picked from
    /// them).
    USERS = Get "/v1/cocpit/users" in Coc => ((), (), Data<Vec<Caller>>);
    /// The audit trail: every write, newest first.
    AUDIT = Get "/v1/cocpit/audit" in Coc => (AuditQuery, (), Data<Vec<AuditEntry>>);

    /// Alive: answers `ok` with no signature.
    HEALTHZ = Get "/healthz" in Coc => ((), (), String);
    /// Ready: `ok` when the stores take writes, else 503 saying why; no signature.
    READYZ = Get "/readyz" in Coc => ((), (), String);
    /// Prometheus metrics (text format): from loopback, or with the configured scrape token.
    METRICS = Get "/metrics" in Coc => ((), (), String);

    /// An IAM token for a password login (the token comes in `X-Subject-Token`).
    IAM_TOKENS = Post "/v3/auth/tokens" in Iam => ((), TokenRequest, TokenAnswer);
    /// Every TAT action: the action is named in `X-TC-Action` (see [`crate::model::tat`]).
    TAT = Post "/" in Tat => ((), serde_json::Value, serde_json::Value);
    /// The same actions by GET (TC3 allows it): the parameters flattened into the query
    /// string (`InvokerIds.0=…&Limit=20`), signed as the query string is sent.
    TAT_GET = Get "/" in Tat => (serde_json::Value, (), serde_json::Value);
}

/// Writes by POST that only read: a viewer may call them.
pub const READS_BY_POST: &[Route] = &[AGENT_STATUS.route()];

/// What only an admin may do.
pub const ADMIN_ONLY: &[Route] = &[DELETE_SCRIPT.route(), ENGINE_STOP.route()];

/// Whether `r` changes something (a viewer may not call it).
pub fn writes(r: &Route) -> bool {
    r.method != Method::Get && !READS_BY_POST.contains(r)
}

/// TAT's actions, all behind [`TAT`] with their name in `X-TC-Action`: each declared once
/// with the field its answer holds (the set of a Describe, the id of a Create).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TatAction {
    CreateCommand,
    DescribeCommands,
    CreateInvoker,
    DescribeInvokers,
    EnableInvoker,
    DisableInvoker,
    DeleteInvoker,
    DescribeInvokerRecords,
    DescribeInvocationTasks,
}

impl TatAction {
    pub const ALL: &'static [TatAction] = &[
        TatAction::CreateCommand,
        TatAction::DescribeCommands,
        TatAction::CreateInvoker,
        TatAction::DescribeInvokers,
        TatAction::EnableInvoker,
        TatAction::DisableInvoker,
        TatAction::DeleteInvoker,
        TatAction::DescribeInvokerRecords,
        TatAction::DescribeInvocationTasks,
    ];

    /// Its `X-TC-Action`.
    pub fn name(self) -> &'static str {
        match self {
            TatAction::CreateCommand => "CreateCommand",
            TatAction::DescribeCommands => "DescribeCommands",
            TatAction::CreateInvoker => "CreateInvoker",
            TatAction::DescribeInvokers => "DescribeInvokers",
            TatAction::EnableInvoker => "EnableInvoker",
            TatAction::DisableInvoker => "DisableInvoker",
            TatAction::DeleteInvoker => "DeleteInvoker",
            TatAction::DescribeInvokerRecords => "DescribeInvokerRecords",
            TatAction::DescribeInvocationTasks => "DescribeInvocationTasks",
        }
    }

    /// Whether it changes something (Create, Enable, Disable, Delete): not for a viewer.
    pub fn writes(self) -> bool {
        !self.name().starts_with("Describe")
    }

    /// The field of the answer that holds what it made or found, if any.
    pub fn answer_field(self) -> Option<&'static str> {
        match self {
            TatAction::CreateCommand => Some("CommandId"),
            TatAction::DescribeCommands => Some("CommandSet"),
            TatAction::CreateInvoker => Some("InvokerId"),
            TatAction::DescribeInvokers => Some("InvokerSet"),
            TatAction::DescribeInvokerRecords => Some("InvokerRecordSet"),
            TatAction::DescribeInvocationTasks => Some("InvocationTaskSet"),
            TatAction::EnableInvoker | TatAction::DisableInvoker | TatAction::DeleteInvoker => None,
        }
    }

    pub fn named(name: &str) -> Option<TatAction> {
        TatAction::ALL.iter().copied().find(|a| a.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_filled_in_order_and_encoded_as_one_segment() {
        assert_eq!(
            GET_BATCH.path_with(&["SC/1 x", "2"]),
            "/v1/job/script/orders/SC%2F1%20x/batches/2"
        );
        assert_eq!(LIST_SCRIPTS.path_with(&[]), "/v1/job/scripts");
    }

    #[test]
    fn a_path_is_matched_against_its_template() {
        let r = PUSH_CUSTOM.route();
        assert_eq!(
            r.params("/v1/event/huawei/custom/k%20y"),
            Some(vec!["k y".to_string()])
        );
        assert_eq!(r.params("/v1/event/huawei/custom/"), None);
        assert_eq!(r.params("/v1/event/prometheus/k"), None);
        assert_eq!(r.params("/v1/event/huawei/custom/k/x"), None);
    }

    #[test]
    fn project_paths_go_to_their_service() {
        for r in ALL {
            let service = if r.path.starts_with("/v3/{project_id}/") {
                Service::CloudEye
            } else if r.path.starts_with("/v2/{project_id}/") {
                Service::Workspace
            } else {
                continue;
            };
            assert_eq!(r.service, service, "{}", r.name);
        }
    }

    #[test]
    fn tat_actions_are_found_by_name_and_describes_name_their_set() {
        for a in TatAction::ALL {
            assert_eq!(TatAction::named(a.name()), Some(*a));
            if a.name().starts_with("Describe") {
                assert!(
                    a.answer_field().is_some_and(|f| f.ends_with("Set")),
                    "{a:?}"
                );
            }
        }
        assert_eq!(TatAction::named("RunCommand"), None);
    }

    #[test]
    fn no_two_endpoints_share_a_method_and_path() {
        let mut seen = std::collections::HashSet::new();
        for r in ALL {
            assert!(seen.insert((r.method, r.path)), "{} twice", r.name);
        }
    }
}
