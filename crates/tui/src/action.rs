//! What the user can ask for. Keys, the `:` palette and the `?` help all speak this one type;
//! the keymap file names actions by their snake_case names (`ctrl-c = "quit"`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Back,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    ToggleMark,
    Filter,
    Sort,
    SortReverse,
    Palette,
    Help,
    Refresh,
    Scripts,
    Orders,
    Resources,
    Incidents,
    Alarms,
    Agents,
    Desktops,
    Invokers,
    RunScript,
    ContinueOrder,
    PauseOrder,
    CancelOrder,
    CancelInstance,
    RetryInstance,
    RetryFailed,
    SkipBatch,
    NextBatch,
    PrevBatch,
    SwitchFocus,
    ToggleFollow,
    ToggleWrap,
    SearchNext,
    SearchPrev,
    CopyLine,
    CopyLog,
    SaveLog,
    ToggleTimes,
    NewScript,
    EditScript,
    ExternalEditor,
    DeleteScript,
    Save,
    AddParam,
    RemoveParam,
    PrevField,
    Undo,
    Redo,
    AckAlarm,
    SilenceAlarm,
    AlarmToIncident,
    ToggleGroups,
    ClearAlarm,
    NewIncident,
    AcceptIncident,
    ResolveIncident,
    VerifyIncident,
    RejectIncident,
    InstallAgent,
    UpdateAgent,
    RollbackAgent,
    RetryAgent,
    ToggleInvoker,
    DeleteInvoker,
    NewInvoker,
    /// Unbinds a key in the keymap file.
    None,
}

/// Where an action applies; help lists the actions of the current context plus the global ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    List,
    /// Lists whose rows can be marked for an action on several at once.
    Marks,
    Scripts,
    Resources,
    Orders,
    OrderView,
    Editor,
    Alarms,
    Incidents,
    Agents,
    Desktops,
    Invokers,
}

impl Action {
    /// What works in the script editor, where plain keys type text: help lists these only.
    pub const EDITOR: &'static [Action] = &[
        Action::Save,
        Action::SwitchFocus,
        Action::PrevField,
        Action::AddParam,
        Action::RemoveParam,
        Action::Undo,
        Action::Redo,
        Action::ExternalEditor,
        Action::Back,
        Action::Help,
        Action::Quit,
    ];

    pub const ALL: &'static [Action] = &[
        Action::Quit,
        Action::Back,
        Action::Up,
        Action::Down,
        Action::Top,
        Action::Bottom,
        Action::PageUp,
        Action::PageDown,
        Action::Open,
        Action::ToggleMark,
        Action::Filter,
        Action::Sort,
        Action::SortReverse,
        Action::Palette,
        Action::Help,
        Action::Refresh,
        Action::Scripts,
        Action::Orders,
        Action::Resources,
        Action::Incidents,
        Action::Alarms,
        Action::Agents,
        Action::Desktops,
        Action::Invokers,
        Action::RunScript,
        Action::ContinueOrder,
        Action::PauseOrder,
        Action::CancelOrder,
        Action::CancelInstance,
        Action::RetryInstance,
        Action::RetryFailed,
        Action::SkipBatch,
        Action::NextBatch,
        Action::PrevBatch,
        Action::SwitchFocus,
        Action::ToggleFollow,
        Action::ToggleWrap,
        Action::SearchNext,
        Action::SearchPrev,
        Action::CopyLine,
        Action::CopyLog,
        Action::SaveLog,
        Action::ToggleTimes,
        Action::NewScript,
        Action::EditScript,
        Action::ExternalEditor,
        Action::DeleteScript,
        Action::Save,
        Action::AddParam,
        Action::RemoveParam,
        Action::PrevField,
        Action::Undo,
        Action::Redo,
        Action::AckAlarm,
        Action::SilenceAlarm,
        Action::AlarmToIncident,
        Action::ToggleGroups,
        Action::ClearAlarm,
        Action::NewIncident,
        Action::AcceptIncident,
        Action::ResolveIncident,
        Action::VerifyIncident,
        Action::RejectIncident,
        Action::InstallAgent,
        Action::UpdateAgent,
        Action::RollbackAgent,
        Action::RetryAgent,
        Action::ToggleInvoker,
        Action::DeleteInvoker,
        Action::NewInvoker,
    ];

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn from_name(s: &str) -> Option<Action> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit (asks if unsaved)",
            Action::Back => "back / close",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Open => "open the selection",
            Action::ToggleMark => "mark / unmark (multi-select)",
            Action::Filter => "filter (! inverts)",
            Action::Sort => "sort by the next column",
            Action::SortReverse => "reverse the sort",
            Action::Palette => "command palette",
            Action::Help => "this help",
            Action::Refresh => "reload from the backend",
            Action::Scripts => "scripts",
            Action::Orders => "orders",
            Action::Resources => "resources",
            Action::Incidents => "incidents",
            Action::Alarms => "alarms",
            Action::Agents => "agents",
            Action::Desktops => "desktops",
            Action::Invokers => "invokers",
            Action::RunScript => "run a script on hosts",
            Action::ContinueOrder => "continue the order",
            Action::PauseOrder => "pause the order",
            Action::CancelOrder => "cancel the order (asks first)",
            Action::CancelInstance => "cancel the selected instance",
            Action::RetryInstance => "retry the selected instance",
            Action::RetryFailed => "retry every failed instance",
            Action::SkipBatch => "skip the selected batch",
            Action::NextBatch => "next batch",
            Action::PrevBatch => "previous batch",
            Action::SwitchFocus => "switch focus (instances/log) or next field",
            Action::ToggleFollow => "follow the log",
            Action::ToggleWrap => "wrap long log lines",
            Action::SearchNext => "next match of the log search",
            Action::SearchPrev => "previous match of the log search",
            Action::CopyLine => "copy the log line to the clipboard (OSC 52)",
            Action::CopyLog => "copy the whole log to the clipboard (OSC 52)",
            Action::SaveLog => "save the log to a file",
            Action::ToggleTimes => "show when each log line arrived",
            Action::NewScript => "new script",
            Action::EditScript => "edit in the editor",
            Action::ExternalEditor => "edit in $VISUAL/$EDITOR",
            Action::DeleteScript => "delete (asks first)",
            Action::Save => "save the script (create or modify)",
            Action::AddParam => "add a parameter",
            Action::RemoveParam => "remove the focused parameter",
            Action::PrevField => "previous field",
            Action::Undo => "undo (the script's content)",
            Action::Redo => "redo",
            Action::AckAlarm => "acknowledge the alarm(s)",
            Action::SilenceAlarm => "silence alarms like this one",
            Action::AlarmToIncident => "incident from the alarm(s)",
            Action::ToggleGroups => "stream / grouped view",
            Action::ClearAlarm => "clear the alarm(s) by hand",
            Action::NewIncident => "new incident",
            Action::AcceptIncident => "accept the incident",
            Action::ResolveIncident => "submit the solution",
            Action::VerifyIncident => "verify the solution",
            Action::RejectIncident => "reject the incident",
            Action::InstallAgent => "install the agent (marked or selected)",
            Action::UpdateAgent => "update the agent (marked or selected)",
            Action::RollbackAgent => "roll back the last task (asks first)",
            Action::RetryAgent => "retry the last failed task",
            Action::ToggleInvoker => "enable / disable the invoker",
            Action::DeleteInvoker => "delete the invoker (asks first)",
            Action::NewInvoker => "new scheduled invoker",
            Action::None => "unbound",
        }
    }

    /// The context whose help lists this action.
    pub fn context(self) -> Context {
        use Action::*;
        match self {
            Up | Down | Top | Bottom | PageUp | PageDown | Open | Filter | Refresh | Sort
            | SortReverse => Context::List,
            ToggleMark => Context::Marks,
            RunScript | NewScript | EditScript | DeleteScript => Context::Scripts,
            ExternalEditor => Context::Scripts,
            Save | AddParam | RemoveParam | PrevField | Undo | Redo => Context::Editor,
            AckAlarm | SilenceAlarm | AlarmToIncident | ToggleGroups | ClearAlarm => {
                Context::Alarms
            }
            NewIncident | AcceptIncident | ResolveIncident | VerifyIncident | RejectIncident => {
                Context::Incidents
            }
            InstallAgent | UpdateAgent | RollbackAgent | RetryAgent => Context::Agents,
            ToggleInvoker | DeleteInvoker | NewInvoker => Context::Invokers,
            ContinueOrder | PauseOrder | CancelOrder | CancelInstance | RetryInstance
            | RetryFailed | SkipBatch | NextBatch | PrevBatch | ToggleFollow | ToggleWrap
            | SearchNext | SearchPrev | CopyLine | CopyLog | SaveLog | ToggleTimes => {
                Context::OrderView
            }
            _ => Context::Global,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::from_name(&a.name()), Some(*a), "{a:?}");
        }
        assert_eq!(Action::RetryFailed.name(), "retry_failed");
    }
}
