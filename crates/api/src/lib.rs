//! The contract every part of cocpit shares: the API's wire types and their validation, the
//! signers, the change events, and the [`backend::Backend`] traits the front ends speak to.
//! It knows no terminal, no SQL and no HTTP transport.
#![forbid(unsafe_code)]

pub mod backend;
pub mod endpoint;
pub mod event;
pub mod format;
pub mod identity;
pub mod model;
pub mod pages;
pub mod plan;
pub mod sanitize;
pub mod sign;
