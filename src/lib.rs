//! cocpit: a terminal console for cloud operations, with a local engine that implements the
//! Huawei Cloud COC job API.
//!
//! This crate is the binary's: the CLI and the wiring of the workspace's parts (see
//! ARCHITECTURE.md). The parts are re-exported under their old names so that the tests and the
//! benches reach each one as `cocpit::engine`, `cocpit::model`, …
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod logging;

pub use cocpit_api::{
    backend, endpoint, event, format, identity, model, pages, plan, sanitize, sign,
};
pub use cocpit_client as client;
pub use cocpit_engine as engine;
pub use cocpit_server as server;
pub use cocpit_tui as tui;
