//! Change events the engine publishes; the console and the server's event stream consume them.

use serde::{Deserialize, Serialize};

use crate::model::order::{InstanceStatus, OrderStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    ScriptChanged {
        script_uuid: String,
        deleted: bool,
    },
    OrderChanged {
        execute_uuid: String,
        status: OrderStatus,
        current_batch: i64,
        pause_reason: Option<String>,
    },
    InstanceChanged {
        execute_uuid: String,
        instance_id: i64,
        batch_index: i64,
        status: InstanceStatus,
    },
    IncidentChanged {
        incident_num: String,
        status: crate::model::incident::IncidentStatus,
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
    },
    /// A Workspace desktop job (or one of its desktops) changed.
    DesktopJobChanged {
        job_id: String,
    },
    /// A TAT invoker changed or fired (its records and tasks included).
    InvokerChanged {
        invoker_id: String,
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
