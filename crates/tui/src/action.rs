//! What the user can ask for. Keys, the `:` palette and the `?` help all speak this one type;
//! the keymap file names actions by their snake_case names (`ctrl-c = "quit"`).
//!
//! Every action is declared once, in the table below: its name, the context whose help lists
//! it, what it does, and its default keys (as helix's `static_commands!`).

use serde::{Deserialize, Serialize};

/// Declares the actions: the enum, [`Action::ALL`], what each does, its context, and the
/// default keys ([`Action::DEFAULT_KEYS`]).
macro_rules! actions {
    ($($name:ident: $context:ident, $what:literal, [$($key:literal),*];)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Action {
            $($name,)+
            /// Unbinds a key in the keymap file.
            None,
        }

        impl Action {
            /// Every action, in the order help lists them.
            pub const ALL: &'static [Action] = &[$(Action::$name),+];

            /// The keys each action has unless the config says otherwise.
            pub const DEFAULT_KEYS: &'static [(&'static str, Action)] =
                &[$($(($key, Action::$name),)*)+];

            pub fn describe(self) -> &'static str {
                match self {
                    $(Action::$name => $what,)+
                    Action::None => "unbound",
                }
            }

            /// The context whose help lists this action.
            pub fn context(self) -> Context {
                match self {
                    $(Action::$name => Context::$context,)+
                    Action::None => Context::Global,
                }
            }
        }
    };
}

actions! {
    // name: context, what it does, default keys
    Quit: Global, "quit (asks if unsaved)", ["q", "ctrl-c"];
    Back: Global, "back / close", ["esc"];
    Up: List, "move up", ["k", "up"];
    Down: List, "move down", ["j", "down"];
    Top: List, "first row", ["g", "home"];
    Bottom: List, "last row", ["G", "end"];
    PageUp: List, "page up", ["pgup", "ctrl-b"];
    PageDown: List, "page down", ["pgdn", "ctrl-f"];
    Open: List, "open the selection", ["enter"];
    ToggleMark: Marks, "mark / unmark (multi-select)", ["space"];
    Filter: List, "filter (! inverts)", ["/"];
    Sort: List, "sort by the next column", ["o"];
    SortReverse: List, "reverse the sort", ["O"];
    Palette: Global, "command palette", [":"];
    Help: Global, "this help", ["?", "f1"];
    Refresh: List, "reload from the backend", ["ctrl-r"];
    Scripts: Global, "scripts", ["1"];
    Orders: Global, "orders", ["2"];
    Resources: Global, "resources", ["3"];
    Incidents: Global, "incidents", ["4"];
    Alarms: Global, "alarms", ["5"];
    Agents: Global, "agents", ["6"];
    Desktops: Global, "desktops", ["7"];
    Invokers: Global, "invokers", ["8"];
    RunScript: Scripts, "run a script on hosts", ["r"];
    ContinueOrder: OrderView, "continue the order", ["c"];
    PauseOrder: OrderView, "pause the order", ["p"];
    CancelOrder: OrderView, "cancel the order (asks first)", ["X"];
    CancelInstance: OrderView, "cancel the selected instance", ["x"];
    RetryInstance: OrderView, "retry the selected instance", ["R"];
    RetryFailed: OrderView, "retry every failed instance", ["F"];
    SkipBatch: OrderView, "skip the selected batch", ["S"];
    NextBatch: OrderView, "next batch", ["]"];
    PrevBatch: OrderView, "previous batch", ["["];
    SwitchFocus: Global, "switch focus (instances/log) or next field", ["tab"];
    ToggleFollow: OrderView, "follow the log", ["f"];
    ToggleWrap: OrderView, "wrap long log lines", ["w"];
    SearchNext: OrderView, "next match of the log search", ["n"];
    SearchPrev: OrderView, "previous match of the log search", ["N"];
    CopyLine: OrderView, "copy the log line to the clipboard (OSC 52)", ["y"];
    CopyLog: OrderView, "copy the whole log to the clipboard (OSC 52)", ["Y"];
    SaveLog: OrderView, "save the log to a file", ["s"];
    ToggleTimes: OrderView, "show when each log line arrived", ["t"];
    NewScript: Scripts, "new script", ["n"];
    EditScript: Scripts, "edit in the editor", ["i"];
    ExternalEditor: Scripts, "edit in $VISUAL/$EDITOR", ["e", "ctrl-e"];
    DeleteScript: Scripts, "delete (asks first)", ["D"];
    ApproveScript: Scripts, "approve the script (its reviewers only)", ["A"];
    RejectScript: Scripts, "reject the script (its reviewers only)", ["J"];
    Reviews: Global, "scripts waiting for your review", ["9"];
    Audit: Global, "the audit trail (every write: who, when, outcome)", ["0"];
    Save: Editor, "save the script (create or modify)", ["ctrl-s"];
    AddParam: Editor, "add a parameter", ["ctrl-n"];
    RemoveParam: Editor, "remove the focused parameter", ["ctrl-d"];
    PrevField: Editor, "previous field", ["shift-tab"];
    Undo: Editor, "undo (the script's content)", ["ctrl-z"];
    Redo: Editor, "redo", ["ctrl-y"];
    AckAlarm: Alarms, "acknowledge the alarm(s)", ["a"];
    SilenceAlarm: Alarms, "silence alarms like this one", ["s"];
    AlarmToIncident: Alarms, "incident from the alarm(s)", ["i"];
    ToggleGroups: Alarms, "stream / grouped view", ["v"];
    ClearAlarm: Alarms, "clear the alarm(s) by hand", ["C"];
    NewIncident: Incidents, "new incident", ["n"];
    AcceptIncident: Incidents, "accept the incident", ["a"];
    ResolveIncident: Incidents, "submit the solution", ["r"];
    VerifyIncident: Incidents, "verify the solution", ["v"];
    RejectIncident: Incidents, "reject the incident", ["x"];
    InstallAgent: Agents, "install the agent (marked or selected)", ["i"];
    UpdateAgent: Agents, "update the agent (marked or selected)", ["u"];
    RollbackAgent: Agents, "roll back the last task (asks first)", ["b"];
    RetryAgent: Agents, "retry the last failed task", ["R"];
    ToggleInvoker: Invokers, "enable / disable the invoker", ["e"];
    DeleteInvoker: Invokers, "delete the invoker (asks first)", ["D"];
    NewInvoker: Invokers, "new scheduled invoker", ["n"];
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

    /// Whether it changes something on the backend: disabled (shown, with the reason) for a
    /// viewer and under `--read-only`.
    pub fn writes(self) -> bool {
        use Action::*;
        matches!(
            self,
            RunScript
                | ContinueOrder
                | PauseOrder
                | CancelOrder
                | CancelInstance
                | RetryInstance
                | RetryFailed
                | SkipBatch
                | NewScript
                | EditScript
                | ExternalEditor
                | DeleteScript
                | ApproveScript
                | RejectScript
                | Save
                | AckAlarm
                | SilenceAlarm
                | AlarmToIncident
                | ClearAlarm
                | NewIncident
                | AcceptIncident
                | ResolveIncident
                | VerifyIncident
                | RejectIncident
                | InstallAgent
                | UpdateAgent
                | RollbackAgent
                | RetryAgent
                | ToggleInvoker
                | DeleteInvoker
                | NewInvoker
        )
    }

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn from_name(s: &str) -> Option<Action> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
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
