//! The order view: the order, its batches and instances, the log and its times.

use super::*;

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

/// An order's log: its search is the filter.
impl super::Listing for OrderView {
    fn noun(&self) -> &'static str {
        "search"
    }

    fn filter_text(&self) -> &str {
        &self.search
    }

    fn apply_filter(&mut self, text: &str) {
        self.search = text.to_string();
    }

    fn sort(&mut self, _flip: bool) -> String {
        "this view has no sortable columns".into()
    }
}
