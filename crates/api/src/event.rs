//! Change events the engine publishes; the console and the server's event stream consume them.

use serde::{Deserialize, Serialize};

use crate::model::order::{InstanceStatus, OrderStatus, Tally};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    ScriptChanged {
        script_uuid: String,
        deleted: bool,
    },
    /// An order's state, as its `properties` and list row show it.
    OrderChanged {
        execute_uuid: String,
        status: OrderStatus,
        current_batch: i64,
        pause_reason: Option<String>,
        #[serde(default)]
        gmt_finished: Option<i64>,
    },
    /// An instance's row after a change (its output comes as [`Change::Output`]; a new start
    /// begins a new output), with what it changed around it: its batch's status and the
    /// order's tally. A front end patches what it shows; it reads nothing back.
    InstanceChanged {
        execute_uuid: String,
        instance_id: i64,
        batch_index: i64,
        status: InstanceStatus,
        /// The run this row is of: a higher one than shown starts a new output.
        #[serde(default)]
        attempt: i64,
        #[serde(default)]
        exit_code: Option<i32>,
        #[serde(default)]
        gmt_finished: Option<i64>,
        #[serde(default)]
        execute_costs: Option<i64>,
        /// The batch's status label after the change (`PROCESSING`, `FINISHED`, …).
        #[serde(default)]
        batch_status: Option<String>,
        /// The order's instances counted after the change.
        #[serde(default)]
        tally: Option<Tally>,
    },
    /// An incident was created or handled: its list row after the change (a front end patches
    /// its list; a detail it shows, with the timeline, is read again).
    IncidentChanged {
        incident_num: String,
        status: crate::model::incident::IncidentStatus,
        #[serde(default)]
        summary: Option<Box<crate::model::incident::IncidentSummary>>,
    },
    /// Alarms arrived or changed (one event per stored batch).
    AlarmsChanged {
        alarm_ids: Vec<String>,
    },
    /// Sent by a remote backend after a gap in its event stream (a reconnect, or the server
    /// saying events were missed): what is shown must be read again. The engine never sends it.
    Resync,
    /// What is known of a resource changed (its reachability).
    ResourceChanged {
        resource_id: String,
    },
    /// An agent task or an instance's agent changed.
    AgentsChanged {
        instance_ids: Vec<String>,
        /// The servers' agent rows after the change, as the agents list shows them (a front end
        /// patches its list; none for an id that is not a server).
        #[serde(default)]
        agents: Vec<crate::model::agent::AgentSummary>,
    },
    /// A Workspace desktop job (or one of its desktops) changed.
    DesktopJobChanged {
        job_id: String,
        /// The job's desktops as the desktops list shows them after the change (a front end
        /// patches its list).
        #[serde(default)]
        desktops: Vec<crate::model::desktop::AgentsCondition>,
    },
    /// A TAT invoker changed or fired (its records and tasks included).
    InvokerChanged {
        invoker_id: String,
        /// The invoker's row after the change, with its next fire (none when it was deleted, or
        /// from a server that does not say).
        #[serde(default)]
        invoker: Option<Box<crate::model::tat::Invoker>>,
        /// It was deleted.
        #[serde(default)]
        deleted: bool,
        /// The record of a fire that started or ended.
        #[serde(default)]
        record: Option<Box<crate::model::tat::InvokerRecord>>,
    },
    /// Whole lines appended to an instance's output, from one stream, as they arrived (already
    /// masked; control sequences still raw).
    Output {
        execute_uuid: String,
        instance_id: i64,
        text: String,
        #[serde(default)]
        stderr: bool,
        /// Milliseconds since the epoch.
        #[serde(default)]
        at: i64,
        /// Where `text` starts in the instance's `message` (bytes), so a front end that already
        /// has it (from a read) does not add it twice, and one that missed some reads again.
        #[serde(default)]
        offset: u64,
        /// The run of the instance the text is from.
        #[serde(default)]
        attempt: i64,
    },
}

impl Change {
    /// The order an event concerns, if any.
    pub fn execute_uuid(&self) -> Option<&str> {
        match self {
            Change::ScriptChanged { .. }
            | Change::ResourceChanged { .. }
            | Change::IncidentChanged { .. }
            | Change::Resync
            | Change::AgentsChanged { .. }
            | Change::DesktopJobChanged { .. }
            | Change::InvokerChanged { .. }
            | Change::AlarmsChanged { .. } => None,
            Change::OrderChanged { execute_uuid, .. }
            | Change::InstanceChanged { execute_uuid, .. }
            | Change::Output { execute_uuid, .. } => Some(execute_uuid),
        }
    }
}
