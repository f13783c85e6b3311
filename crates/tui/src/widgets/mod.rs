//! Widgets the panes share.

pub mod rows;
