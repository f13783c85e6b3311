//! cocpit: a terminal console for cloud operations, with a local engine that implements the
//! Huawei Cloud COC job API.
#![forbid(unsafe_code)]

pub mod backend;
pub mod cli;
pub mod client;
pub mod config;
pub mod engine;
pub mod format;
pub mod model;
pub mod pages;
pub mod sanitize;
pub mod server;
pub mod sign;
pub mod tui;
