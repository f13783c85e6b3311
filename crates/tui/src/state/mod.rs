//! Everything the console shows, in one value. `update` changes it; `render` only reads it, so
//! anything derived (filtered rows, the selected batch's instances) is computed here, once per
//! change, not once per frame.

use std::collections::BTreeSet;

use cocpit_api::model::alarm::{Alarm, AlarmGroup, AlarmLevel, AlarmState};
use cocpit_api::model::incident::{IncidentDetail, IncidentSummary};
use cocpit_api::model::order::*;
use cocpit_api::model::resource::Resource;
use cocpit_api::model::script::{ScriptDetailModel, ScriptListModel};

use crate::editor::Editor;
use crate::editor::draft::Draft;
use crate::editor::highlight::Highlight;

use crate::keymap::Keymap;
use crate::theme::Theme;

mod list;
mod order;
mod rows;

pub use list::*;
pub use order::*;
pub use rows::*;

/// One task of a fire, with its output decoded.
#[derive(Debug, Clone)]
pub struct TaskOutput {
    pub task: cocpit_api::model::tat::InvocationTask,
    pub text: String,
}

/// One invoker, open: its fires, newest first, and the tasks of the selected fire.
#[derive(Debug, Clone)]
pub struct InvokerView {
    pub invoker_id: String,
    pub records: List<cocpit_api::model::tat::InvokerRecord>,
    /// The invocation `tasks` belong to.
    pub tasks_of: Option<String>,
    pub tasks: Vec<TaskOutput>,
}

impl InvokerView {
    pub fn new(invoker_id: String) -> InvokerView {
        InvokerView {
            invoker_id,
            records: List::default(),
            tasks_of: None,
            tasks: vec![],
        }
    }

    pub fn selected_invocation(&self) -> Option<String> {
        self.records
            .selected_item()
            .map(|r| r.invocation_id.clone())
    }
}

/// One incident, open.
#[derive(Debug, Clone)]
pub struct IncidentView {
    pub incident_num: String,
    pub detail: Option<IncidentDetail>,
    pub load: Load,
}

/// What a form is for.
#[derive(Debug, Clone, PartialEq)]
pub enum FormPurpose {
    /// Silence alarms like the selected one.
    Silence,
    CreateIncident,
    /// An incident from these alarms.
    AlarmsToIncident(Vec<String>),
    Resolve(String),
    Verify(String),
    Reject(String),
    /// A scheduled TAT invoker.
    CreateInvoker,
    /// A reviewer's decision on a script: its uuid and `APPROVED` or `REJECTED`.
    Review(String, cocpit_api::model::script::ScriptStatus),
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text,
    /// One of these values (space or ←/→ cycles).
    Choice(Vec<String>),
    Bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    pub label: &'static str,
    pub value: String,
    pub kind: FieldKind,
}

/// A small form in a popup: fields, the focused one, and the first problem (checked as typed).
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub title: String,
    pub purpose: FormPurpose,
    pub fields: Vec<FormField>,
    pub field: usize,
    pub error: Option<String>,
    /// What the values mean, computed as they are typed (an invoker's next fire times).
    pub notes: Vec<String>,
}

impl Form {
    pub fn value(&self, label: &str) -> &str {
        self.fields
            .iter()
            .find(|f| f.label == label)
            .map(|f| f.value.as_str())
            .unwrap_or("")
    }
}

/// The panes; each is declared in the pane registry (`crate::registry`), in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Scripts,
    Orders,
    Resources,
    Incidents,
    Alarms,
    Order,
    /// One script: its properties, parameters and content.
    Script,
    Editor,
    /// One incident with its timeline.
    Incident,
    Agents,
    Desktops,
    Invokers,
    /// One invoker: its fires and their output.
    Invoker,
    /// Scripts waiting for the user's review.
    Reviews,
    /// The audit trail: every write, newest first.
    Audit,
}

impl Pane {
    /// The contexts whose bindings apply in this pane (global first).
    pub fn contexts(self) -> Vec<super::action::Context> {
        std::iter::once(super::action::Context::Global)
            .chain(self.spec().contexts.iter().copied())
            .collect()
    }

    pub fn title(self) -> &'static str {
        self.spec().title
    }
}

/// Something that needs the user's yes before it happens.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub question: String,
    pub then: Pending,
}

/// What happens once confirmed.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    /// A destructive operation on an order (cancel it, skip a batch, cancel an instance).
    Operate {
        execute_uuid: String,
        op: JobScriptOrderOperationBody,
    },
    Quit,
    /// Open the editor on the draft with this key.
    RestoreDraft(String),
    DeleteScript(String),
    /// Roll back these agent tasks.
    RollbackAgents(Vec<String>),
    DeleteInvoker(String),
    /// Handle an incident (an irreversible step).
    Incident {
        incident_num: String,
        key: cocpit_api::model::incident::OperateKey,
        parameter: serde_json::Map<String, serde_json::Value>,
    },
}

/// The run form: a script, hosts and a batch plan.
#[derive(Debug, Clone, PartialEq)]
pub struct RunForm {
    pub script_uuid: String,
    pub script_name: String,
    pub high_risk: bool,
    pub hosts: Vec<String>,
    pub field: usize,
    pub batch_size: String,
    pub rotation_pause: bool,
    pub success_rate: String,
    pub timeout: String,
    /// Batches spelled out (`web-01 web-02 | web-03`); when set, the batch size is unused.
    pub explicit: String,
    /// Every host id the backend knows, to check explicit batches against.
    pub known: Vec<String>,
    /// The script's parameters, their values as edited here (loaded from the script).
    pub params: Vec<cocpit_api::model::script::ScriptParamDefine>,
    pub params_loaded: bool,
    /// What the user typed to confirm a HIGH-risk run.
    pub confirm_name: String,
    pub error: Option<String>,
}

impl RunForm {
    /// The fields before the parameters; the parameters follow, then the confirmation.
    pub const FIELDS: &'static [&'static str] = &[
        "batch size",
        "rotation",
        "success rate %",
        "timeout s",
        "or batches",
    ];

    /// The explicit batches typed, as groups of host ids (empty when none were typed).
    pub fn explicit_groups(&self) -> Vec<Vec<String>> {
        self.explicit
            .split(['|', ';'])
            .map(|g| {
                g.split([' ', ','])
                    .filter(|h| !h.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|g| !g.is_empty())
            .collect()
    }

    /// The batches the form would run, in words: `2 batches: a b | c` (as far as the plan can
    /// be read; the verdict line says what is wrong with it).
    pub fn plan_preview(&self) -> String {
        let groups = self.explicit_groups();
        let groups = if !groups.is_empty() {
            groups
        } else {
            match self.batch_size.trim().parse::<usize>() {
                Ok(n) if n > 0 => self.hosts.chunks(n).map(<[String]>::to_vec).collect(),
                _ => return "set a batch size, or spell out batches".into(),
            }
        };
        let shown: Vec<String> = groups.iter().map(|g| g.join(" ")).collect();
        format!(
            "{} batch{}: {}",
            groups.len(),
            if groups.len() == 1 { "" } else { "es" },
            shown.join(" | ")
        )
    }

    pub fn confirm_field(&self) -> usize {
        Self::FIELDS.len() + self.params.len()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help,
    Palette { input: String, selected: usize },
    Filter { input: String },
    Confirm(Confirm),
    Run(Box<RunForm>),
    Form(Box<Form>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

/// One script, open read-only.
#[derive(Debug, Clone)]
pub struct ScriptView {
    pub script_uuid: String,
    pub detail: Option<ScriptDetailModel>,
    pub load: Load,
    /// First line of the content shown.
    pub scroll: usize,
    pub highlight: Highlight,
    /// The content its reviewers last approved, when it has reviewers (for the diff).
    pub approved: Option<String>,
    /// The list it was opened from (where `esc` goes back to).
    pub from: Pane,
}

impl ScriptView {
    pub fn new(script_uuid: String) -> ScriptView {
        ScriptView {
            script_uuid,
            detail: None,
            load: Load::Loading,
            scroll: 0,
            highlight: Highlight::new(cocpit_api::model::script::ScriptType::Shell),
            approved: None,
            from: Pane::Scripts,
        }
    }
}

pub struct State {
    pub backend: String,
    /// A remote backend's connection state (`None` on the local engine).
    pub connection: Option<String>,
    /// The backend has no event stream: what is shown is read again now and then.
    pub polling: bool,
    /// A change named an order the list lacks, and the list is being read for it.
    pub orders_asked: bool,
    pub pane: Pane,
    pub scripts: List<ScriptListModel>,
    /// The scripts waiting for the user's review (from `scripts`).
    pub reviews: List<ScriptListModel>,
    pub audit: List<cocpit_api::model::team::AuditEntry>,
    pub orders: List<JobScriptOrderListModel>,
    pub resources: List<Resource>,
    pub agents: List<cocpit_api::model::agent::AgentSummary>,
    /// The newest agent tasks of every instance, newest first.
    pub agent_tasks: Vec<cocpit_api::model::agent::InvocationInfo>,
    pub desktops: List<cocpit_api::model::desktop::AgentsCondition>,
    pub invokers: List<cocpit_api::model::tat::Invoker>,
    pub invoker: Option<InvokerView>,
    /// An invoker just created: select it once the list has it.
    pub select_invoker: Option<String>,
    pub order: Option<OrderView>,
    pub alarms: List<Alarm>,
    pub alarm_groups: List<AlarmGroup>,
    /// Older alarms exist than those loaded.
    pub alarms_more: bool,
    /// The alarms pane shows groups instead of the stream.
    pub grouped: bool,
    /// Firing, unsilenced alarms by level (see [`alarm_counts`]).
    pub alarm_counts: [usize; 4],
    pub incidents: List<IncidentSummary>,
    pub incident: Option<IncidentView>,
    pub script: Option<ScriptView>,
    pub editor: Option<Box<Editor>>,
    /// A script to open in the editor once loaded (`true`: then in `$EDITOR`).
    pub pending_edit: Option<(String, bool)>,
    /// Unsaved editor work on disk, newest first (the loop reads and writes the files).
    pub drafts: Vec<Draft>,
    /// The terminal's size at the last frame or resize, for scrolling that needs a height.
    pub screen: (u16, u16),
    /// Milliseconds since the epoch at the last input (drafts are stamped with it).
    pub now_ms: i64,
    pub overlay: Overlay,
    pub message: Option<(Level, String)>,
    /// `HH:MM`, updated once a minute.
    pub clock: String,
    pub theme: Theme,
    pub keymap: Keymap,
    pub quit: bool,
    /// Rows of the body in the last frame, for paging.
    pub page: usize,
    /// The time zone times are shown in (fixed at start: rendering reads no clock).
    pub utc_offset: chrono::FixedOffset,
    /// Who the backend says we are (`None` until it answers, or when it cannot say).
    pub identity: Option<cocpit_api::model::team::Caller>,
    /// `--read-only` (or `[ui] read_only`): no key writes.
    pub read_only: bool,
    /// The users the backend knows (offered as reviewers).
    pub users: Vec<cocpit_api::model::team::Caller>,
}

impl State {
    /// Why keys that write are disabled, if they are: `--read-only`, or a viewer role.
    pub fn write_block(&self) -> Option<String> {
        if self.read_only {
            return Some("read-only (--read-only)".into());
        }
        match &self.identity {
            Some(me) if !me.role.may_write() => Some(format!(
                "read-only: {} has the viewer role",
                cocpit_api::sanitize::for_display(&me.user)
            )),
            _ => None,
        }
    }

    /// Scripts waiting for a decision from us (the Reviews list, kept by `update`: the header
    /// reads it on every frame without going through the scripts).
    pub fn reviews_waiting(&self) -> usize {
        self.reviews.items.len()
    }

    pub fn new(backend: String, theme: Theme, keymap: Keymap) -> State {
        State {
            backend,
            connection: None,
            polling: false,
            orders_asked: false,
            pane: Pane::Scripts,
            scripts: List::default(),
            reviews: List::default(),
            audit: List::default(),
            orders: List::default(),
            resources: List::default(),
            agents: List::default(),
            agent_tasks: vec![],
            desktops: List::default(),
            invokers: List::default(),
            invoker: None,
            select_invoker: None,
            order: None,
            alarms: List::default(),
            alarm_groups: List::default(),
            alarms_more: false,
            grouped: false,
            alarm_counts: [0; 4],
            incidents: List::default(),
            incident: None,
            script: None,
            editor: None,
            pending_edit: None,
            drafts: vec![],
            screen: (80, 24),
            now_ms: 0,
            overlay: Overlay::None,
            message: None,
            clock: String::new(),
            theme,
            keymap,
            quit: false,
            page: 10,
            utc_offset: chrono::FixedOffset::east_opt(0).expect("zero offset"),
            identity: None,
            read_only: false,
            users: vec![],
        }
    }

    /// Orders with work under way: running, or paused with instances still running.
    pub fn running_orders(&self) -> usize {
        self.orders
            .items
            .iter()
            .filter(|o| {
                o.status == OrderStatus::Processing
                    || o.properties.tally.is_some_and(|t| t.running > 0)
            })
            .count()
    }
}

/// Whether script `s` waits for `me`'s review: PENDING_APPROVE, `me` among its reviewers, and
/// not its author.
pub fn waits_for(s: &ScriptListModel, me: &cocpit_api::model::team::Caller) -> bool {
    use cocpit_api::model::script::ScriptStatus;
    s.status == ScriptStatus::PendingApprove
        && me.reviews(s.properties.reviewers.as_deref().unwrap_or(&[]))
        && !me.wrote(&s.creator, &s.creator_id)
}
