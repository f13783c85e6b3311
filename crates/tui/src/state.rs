//! Everything the console shows, in one value. `update` changes it; `render` only reads it, so
//! anything derived (filtered rows, the selected batch's instances) is computed here, once per
//! change, not once per frame.

use std::collections::BTreeSet;

use cocpit_api::model::alarm::{Alarm, AlarmGroup, AlarmLevel, AlarmState};
use cocpit_api::model::incident::{IncidentDetail, IncidentSummary};
use cocpit_api::model::order::*;
use cocpit_api::model::resource::Resource;
use cocpit_api::model::script::{ScriptDetailModel, ScriptListModel};

use super::editor::Editor;
use super::editor::draft::Draft;
use super::editor::highlight::Highlight;

use super::keymap::Keymap;
use super::theme::Theme;

/// A row of a list: a stable key (for marks and keeping the selection across reloads) and the
/// text the filter searches.
pub trait Row {
    fn key(&self) -> String;
    fn haystack(&self) -> String;
    /// The columns the list can be sorted by, as their headers read.
    const SORT_COLUMNS: &'static [&'static str] = &[];
    /// What orders rows by column `c` of [`Row::SORT_COLUMNS`] (numbers zero-padded).
    fn sort_key(&self, _c: usize) -> String {
        String::new()
    }
}

/// A number as a key that sorts as the number does (for non-negative values).
fn num(n: i64) -> String {
    format!("{:020}", n.max(0))
}

impl Row for ScriptListModel {
    fn key(&self) -> String {
        self.script_uuid.clone()
    }
    const SORT_COLUMNS: &'static [&'static str] = &["NAME", "TYPE", "RISK", "VERSION", "UPDATED"];
    fn sort_key(&self, c: usize) -> String {
        match c {
            0 => self.name.to_lowercase(),
            1 => self.script_type.to_string(),
            2 => (self.properties.risk_level as u8).to_string(),
            3 => self.properties.version.clone(),
            _ => num(self.gmt_modified),
        }
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.name,
            self.script_uuid,
            self.script_type,
            self.properties.risk_level,
            self.properties.version
        )
    }
}

impl Row for JobScriptOrderListModel {
    fn key(&self) -> String {
        self.execute_uuid.clone()
    }
    const SORT_COLUMNS: &'static [&'static str] = &[
        "STATUS", "SCRIPT", "HOSTS", "PROGRESS", "CREATED", "DURATION",
    ];
    fn sort_key(&self, c: usize) -> String {
        let t = self.properties.tally.unwrap_or_default();
        match c {
            0 => self.status.words().to_string(),
            1 => self.order_name.to_lowercase(),
            2 => num(t.total),
            3 => num((t.total - t.waiting - t.running) * 1000 / t.total.max(1)),
            4 => num(self.gmt_created),
            _ => num(self.execute_costs.unwrap_or(0)),
        }
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {}",
            self.execute_uuid, self.order_name, self.status, self.creator
        )
    }
}

impl Row for Resource {
    fn key(&self) -> String {
        self.resource_id.clone()
    }
    const SORT_COLUMNS: &'static [&'static str] = &["RESOURCE_ID", "TRANSPORT", "REACHABLE"];
    fn sort_key(&self, c: usize) -> String {
        let prop = |k: &str| {
            self.properties
                .get(k)
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        match c {
            0 => self.resource_id.clone(),
            1 => prop("transport"),
            _ => prop("reachable"),
        }
    }
    fn haystack(&self) -> String {
        let tags: Vec<String> = self
            .tags
            .iter()
            .map(|t| format!("{}={}", t.key, t.value))
            .collect();
        format!("{} {} {}", self.resource_id, self.name, tags.join(" "))
    }
}

impl Row for cocpit_api::model::agent::AgentSummary {
    fn key(&self) -> String {
        self.instance_id.clone()
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {}",
            self.instance_id,
            self.agent_state.as_deref().unwrap_or(""),
            self.version.as_deref().unwrap_or("")
        )
    }
}

impl Row for cocpit_api::model::desktop::AgentsCondition {
    fn key(&self) -> String {
        self.desktop_id.clone()
    }
    fn haystack(&self) -> String {
        format!("{} {} {}", self.desktop_id, self.desktop_name, self.status)
    }
}

impl Row for cocpit_api::model::tat::Invoker {
    fn key(&self) -> String {
        self.invoker_id.clone()
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {}",
            self.invoker_id,
            self.name,
            self.command_id,
            self.instance_ids.join(" ")
        )
    }
}

impl Row for cocpit_api::model::tat::InvokerRecord {
    fn key(&self) -> String {
        self.invocation_id.clone()
    }
    fn haystack(&self) -> String {
        format!("{} {} {}", self.invoke_time, self.result, self.reason)
    }
}

impl Row for Alarm {
    fn key(&self) -> String {
        self.alarm_id.clone()
    }
    const SORT_COLUMNS: &'static [&'static str] = &["LEVEL", "STATE", "LAST SEEN", "NAME"];
    fn sort_key(&self, c: usize) -> String {
        match c {
            0 => self.level.rank().to_string(),
            1 => format!("{:?}", self.state),
            2 => num(self.last_seen),
            _ => self.name.to_lowercase(),
        }
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {}",
            self.name,
            self.level,
            self.state,
            self.application_id,
            self.resource_name,
            self.description,
            self.alarm_id,
            if self.acked_by.is_some() { "acked" } else { "" }
        )
    }
}

impl Row for AlarmGroup {
    fn key(&self) -> String {
        self.group_key.clone()
    }
    fn haystack(&self) -> String {
        format!("{} {} {}", self.group_key, self.level, self.application_id)
    }
}

impl Row for IncidentSummary {
    fn key(&self) -> String {
        self.incident_num.clone()
    }
    const SORT_COLUMNS: &'static [&'static str] = &["STATUS", "LEVEL", "CREATED", "TITLE"];
    fn sort_key(&self, c: usize) -> String {
        match c {
            0 => self.status.name_en().to_string(),
            1 => self.incident_level.clone(),
            2 => num(self.create_time),
            _ => self.incident_title.to_lowercase(),
        }
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.incident_num,
            self.incident_title,
            self.status.name_en(),
            self.incident_level,
            self.incident_type
        )
    }
}

/// Firing, unsilenced alarms by level (Critical, Major, Minor, Info), for the header.
pub fn alarm_counts(alarms: &[Alarm]) -> [usize; 4] {
    let mut c = [0; 4];
    for a in alarms {
        if a.state == AlarmState::Firing && a.silenced_by.is_none() {
            c[a.level.rank() as usize] += 1;
        }
    }
    c
}

pub const ALARM_LEVELS: [AlarmLevel; 4] = [
    AlarmLevel::Critical,
    AlarmLevel::Major,
    AlarmLevel::Minor,
    AlarmLevel::Info,
];

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

/// Loading state of something fetched from the backend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Load {
    #[default]
    Loading,
    Ready,
    Failed(String),
}

/// A filterable, selectable, markable list.
#[derive(Debug, Clone)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Indices of `items` that pass the filter, in display order.
    pub visible: Vec<usize>,
    pub selected: usize,
    pub filter: String,
    pub marked: BTreeSet<String>,
    pub load: Load,
    /// Rows to have loaded (paged lists grow it as the user scrolls to the end).
    pub want: usize,
    /// The server has rows beyond those loaded.
    pub more: bool,
    /// Sorted by this column of [`Row::SORT_COLUMNS`], descending when `true`; `None` keeps
    /// the order the rows came in.
    pub sort: Option<(usize, bool)>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List {
            items: vec![],
            visible: vec![],
            selected: 0,
            filter: String::new(),
            marked: BTreeSet::new(),
            load: Load::Loading,
            want: cocpit_api::pages::PAGE,
            more: false,
            sort: None,
        }
    }
}

impl<T: Row> List<T> {
    /// Replaces the items, keeping the selection on the same row when it still exists.
    pub fn set_items(&mut self, items: Vec<T>) {
        self.modify(|v| *v = items);
    }

    /// Changes the items in place (merging updates), keeping the selection on the same row.
    pub fn modify(&mut self, f: impl FnOnce(&mut Vec<T>)) {
        let keep = self.selected_item().map(Row::key);
        f(&mut self.items);
        self.load = Load::Ready;
        let keys: BTreeSet<String> = self.items.iter().map(Row::key).collect();
        self.marked.retain(|k| keys.contains(k));
        self.refilter();
        if let Some(k) = keep
            && let Some(pos) = self.visible.iter().position(|&i| self.items[i].key() == k)
        {
            self.selected = pos;
        }
    }

    /// `text` filters by substring (case-insensitive); a leading `!` inverts.
    pub fn set_filter(&mut self, text: &str) {
        self.filter = text.to_string();
        self.refilter();
    }

    fn refilter(&mut self) {
        let (invert, needle) = match self.filter.strip_prefix('!') {
            Some(rest) => (true, rest.to_lowercase()),
            None => (false, self.filter.to_lowercase()),
        };
        self.visible = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, it)| {
                needle.is_empty() || it.haystack().to_lowercase().contains(&needle) != invert
            })
            .map(|(i, _)| i)
            .collect();
        if let Some((c, descending)) = self.sort {
            let items = &self.items;
            self.visible.sort_by_cached_key(|&i| items[i].sort_key(c));
            if descending {
                self.visible.reverse();
            }
        }
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }

    /// Sorts by the next column (after the last one, the order the rows came in), or flips the
    /// direction; keeps the selection on its row. Returns what the list is sorted by now.
    pub fn sort_by(&mut self, flip: bool) -> String {
        let n = T::SORT_COLUMNS.len();
        if n == 0 {
            return "this list has no sortable columns".into();
        }
        self.sort = match (self.sort, flip) {
            (Some((c, d)), true) => Some((c, !d)),
            (None, true) => Some((0, true)),
            (Some((c, _)), false) if c + 1 >= n => None,
            (Some((c, _)), false) => Some((c + 1, false)),
            (None, false) => Some((0, false)),
        };
        self.modify(|_| {});
        match self.sort {
            Some((c, d)) => format!(
                "sorted by {} {}",
                T::SORT_COLUMNS[c],
                if d { "▼" } else { "▲" }
            ),
            None => "in the order they came".into(),
        }
    }

    pub fn selected_item(&self) -> Option<&T> {
        self.visible.get(self.selected).map(|&i| &self.items[i])
    }

    pub fn visible_items(&self) -> impl Iterator<Item = &T> {
        self.visible.iter().map(|&i| &self.items[i])
    }

    pub fn move_by(&mut self, delta: isize) {
        let n = self.visible.len();
        if n == 0 {
            self.selected = 0;
            return;
        }
        self.selected = (self.selected as isize + delta).clamp(0, n as isize - 1) as usize;
    }

    /// Selects the visible row with this key, if there is one.
    pub fn select_key(&mut self, key: &str) {
        if let Some(pos) = self
            .visible
            .iter()
            .position(|&i| self.items[i].key() == key)
        {
            self.selected = pos;
        }
    }

    pub fn toggle_mark(&mut self) {
        if let Some(k) = self.selected_item().map(Row::key)
            && !self.marked.remove(&k)
        {
            self.marked.insert(k);
        }
    }
}

/// The panes.
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
}

impl Pane {
    /// The contexts whose bindings apply in this pane (global first).
    pub fn contexts(self) -> Vec<super::action::Context> {
        use super::action::Context;
        let mut c = vec![Context::Global];
        match self {
            Pane::Scripts => c.extend([Context::List, Context::Scripts]),
            Pane::Orders => c.push(Context::List),
            Pane::Resources => c.extend([
                Context::List,
                Context::Marks,
                Context::Resources,
                Context::Scripts,
            ]),
            Pane::Order => c.extend([Context::List, Context::OrderView]),
            Pane::Script => c.push(Context::Scripts),
            // Script keys such as ctrl-e ($EDITOR) work in the editor too.
            Pane::Editor => c.extend([Context::Editor, Context::Scripts]),
            Pane::Alarms => c.extend([Context::List, Context::Marks, Context::Alarms]),
            Pane::Incidents => c.extend([Context::List, Context::Incidents]),
            Pane::Incident => c.push(Context::Incidents),
            Pane::Agents | Pane::Desktops => c.extend([
                Context::List,
                Context::Marks,
                Context::Resources,
                Context::Agents,
            ]),
            Pane::Invokers | Pane::Invoker => c.extend([Context::List, Context::Invokers]),
        }
        c
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Scripts => "Scripts",
            Pane::Orders => "Orders",
            Pane::Resources => "Resources",
            Pane::Incidents => "Incidents",
            Pane::Alarms => "Alarms",
            Pane::Order => "Order",
            Pane::Script => "Script",
            Pane::Editor => "Editor",
            Pane::Incident => "Incident",
            Pane::Agents => "Agents",
            Pane::Desktops => "Desktops",
            Pane::Invokers => "Invokers",
            Pane::Invoker => "Invoker",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Instances,
    Log,
}

/// One order, open: its header, batches, instances and the selected instance's log.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub execute_uuid: String,
    pub info: Option<JobScriptOrderInfoModel>,
    pub batches: Vec<JobScriptBatchListModel>,
    pub instances: Vec<BatchInstance>,
    pub load: Load,
    /// Index into `batches`.
    pub batch: usize,
    /// Index into the selected batch's instances.
    pub instance: usize,
    pub focus: Focus,
    pub follow: bool,
    pub wrap: bool,
    /// Lines scrolled up from the bottom of the log when not following.
    pub log_scroll: usize,
    /// Only log lines containing this are shown (case-insensitive); empty shows all.
    pub search: String,
    /// The batch shown is the one running: when the order moves on, the grid moves with it
    /// (until the user picks another batch).
    pub on_current: bool,
    /// Log lines show when they arrived (`t`).
    pub show_times: bool,
    /// When the selected instance's lines arrived, once read.
    pub times: Option<LogTimes>,
    /// The latest changes of this order (at most [`RECENT_CHANGES`], [`RECENT_TEXT`] bytes of
    /// output), applied again on top of every read.
    pub recent: std::collections::VecDeque<cocpit_api::event::Change>,
    recent_text: usize,
}

/// Changes an order view keeps to apply on top of a read.
pub const RECENT_CHANGES: usize = 4096;
/// Bytes of output those changes may hold.
pub const RECENT_TEXT: usize = 4 * 1024 * 1024;

/// When each line of one instance's log arrived, from the pieces the engine stored (whole lines
/// of one stream at a time).
#[derive(Debug, Clone, PartialEq)]
pub struct LogTimes {
    pub instance_id: i64,
    /// Each piece: the line it starts on, its arrival (ms since the epoch), and its stream.
    starts: Vec<(usize, i64, bool)>,
    /// Whole lines so far (a piece without its newline continues into the next).
    lines: usize,
    /// The last piece ended inside a line.
    partial: bool,
}

impl LogTimes {
    pub fn new(instance_id: i64, pieces: &[LogPiece]) -> LogTimes {
        let mut t = LogTimes {
            instance_id,
            starts: vec![],
            lines: 0,
            partial: false,
        };
        for p in pieces {
            t.push(p.at, p.stderr, &p.text);
        }
        t
    }

    pub fn push(&mut self, at: i64, stderr: bool, text: &str) {
        if text.is_empty() {
            return;
        }
        // A piece that continues an open line began nothing there; the lines after its first
        // newline begin with it.
        let begins = if self.partial {
            text.find('\n')
                .filter(|&i| i + 1 < text.len())
                .map(|_| self.lines + 1)
        } else {
            Some(self.lines)
        };
        if let Some(line) = begins {
            self.starts.push((line, at, stderr));
        }
        self.lines += text.matches('\n').count();
        self.partial = !text.ends_with('\n');
    }

    /// When line `n` (from 0) began to arrive, and whether it came on stderr; `None` for a
    /// line the output does not hold (the reason cocpit adds after it).
    pub fn of_line(&self, n: usize) -> Option<(i64, bool)> {
        let i = self.starts.partition_point(|(start, _, _)| *start <= n);
        let (_, at, stderr) = *self.starts.get(i.checked_sub(1)?)?;
        let held = n < self.lines || (n == self.lines && self.partial);
        held.then_some((at, stderr))
    }
}

impl OrderView {
    pub fn new(execute_uuid: String) -> OrderView {
        OrderView {
            execute_uuid,
            info: None,
            batches: vec![],
            instances: vec![],
            load: Load::Loading,
            batch: 0,
            instance: 0,
            focus: Focus::Instances,
            follow: true,
            wrap: false,
            log_scroll: 0,
            search: String::new(),
            on_current: true,
            show_times: false,
            times: None,
            recent: Default::default(),
            recent_text: 0,
        }
    }

    /// Keeps a change to apply again on top of the next read; the oldest go first.
    pub fn remember(&mut self, e: &cocpit_api::event::Change) {
        let text = |e: &cocpit_api::event::Change| match e {
            cocpit_api::event::Change::Output { text, .. } => text.len(),
            _ => 0,
        };
        self.recent_text += text(e);
        self.recent.push_back(e.clone());
        while self.recent.len() > RECENT_CHANGES || self.recent_text > RECENT_TEXT {
            let Some(old) = self.recent.pop_front() else {
                break;
            };
            self.recent_text -= text(&old);
        }
    }

    /// The selected instance's log as lines, and the line the log's cursor is on (the bottom
    /// line shown: the last one while following).
    pub fn log_cursor(&self) -> Option<(Vec<&str>, usize)> {
        let lines: Vec<&str> = self.selected_instance()?.message.lines().collect();
        let at = lines.len().checked_sub(1 + self.log_scroll)?;
        Some((lines, at))
    }

    /// Index into `batches` of the batch the order is at.
    pub fn current_batch(&self) -> Option<usize> {
        let b = self.info.as_ref()?.properties.current_execute_batch_index;
        self.batches.iter().position(|x| x.batch_index == b)
    }

    pub fn batch_index(&self) -> Option<i64> {
        self.batches.get(self.batch).map(|b| b.batch_index)
    }

    /// The instances of the selected batch.
    pub fn batch_instances(&self) -> Vec<&ExecutionInstanceModel> {
        let b = self.batch_index();
        self.instances
            .iter()
            .filter(|i| Some(i.batch_index) == b)
            .map(|i| &i.instance)
            .collect()
    }

    pub fn selected_instance(&self) -> Option<&ExecutionInstanceModel> {
        self.batch_instances().get(self.instance).copied()
    }

    /// Whether the instance is in the batch shown.
    pub fn shows_instance(&self, id: i64) -> bool {
        let b = self.batch_index();
        self.instances
            .iter()
            .any(|i| i.instance.id == id && Some(i.batch_index) == b)
    }

    pub fn instance_mut(&mut self, id: i64) -> Option<&mut ExecutionInstanceModel> {
        self.instances
            .iter_mut()
            .map(|i| &mut i.instance)
            .find(|i| i.id == id)
    }

    pub fn count(&self, s: InstanceStatus) -> usize {
        self.instances
            .iter()
            .filter(|i| i.instance.status == s)
            .count()
    }
}

pub use cocpit_api::model::order::BatchInstance;

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
}

impl ScriptView {
    pub fn new(script_uuid: String) -> ScriptView {
        ScriptView {
            script_uuid,
            detail: None,
            load: Load::Loading,
            scroll: 0,
            highlight: Highlight::new(cocpit_api::model::script::ScriptType::Shell),
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
}

impl State {
    pub fn new(backend: String, theme: Theme, keymap: Keymap) -> State {
        State {
            backend,
            connection: None,
            polling: false,
            orders_asked: false,
            pane: Pane::Scripts,
            scripts: List::default(),
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
