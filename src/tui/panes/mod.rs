//! One file per pane; each renders from `&State` only.

pub mod editor;
pub mod form;
pub mod lists;
pub mod ops;
pub mod order;
pub mod run;
pub mod triage;
