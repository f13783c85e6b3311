//! `[ui]`: how the console looks.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    /// A shipped theme (`dark`, `light`, `high-contrast`) or the path of a theme file.
    #[serde(default)]
    pub theme: Option<String>,
    /// Disable every key that writes (shown, with the reason), as k9s' readOnly.
    #[serde(default)]
    pub read_only: bool,
}
