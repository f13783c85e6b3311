//! Wire types that mirror the seeds' API documents, one module per API family.
//!
//! Field names, enums and envelopes are copied from the seeds; where the seeds and the official
//! SDKs disagree the SDK wins (see `../shared/conformance/NOTES.md`). This module knows nothing of
//! storage, HTTP servers or terminals.

pub mod agent;
pub mod alarm;
pub mod desktop;
pub mod engine;
pub mod iam;
pub mod incident;
pub mod lenient;
pub mod order;
pub mod resource;
pub mod script;
pub mod tat;
pub mod team;
pub mod validate;

use serde::{Deserialize, Serialize};

/// `{"data": ...}`: the envelope of every job API answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

impl<T> Data<T> {
    pub fn new(data: T) -> Self {
        Data { data }
    }
}

/// `{"total": n, "data": [...]}`: a page of a list (nested in [`Data`] on the wire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub total: u64,
    pub data: Vec<T>,
}

/// The error body every Huawei API answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error_code: String,
    pub error_msg: String,
}

/// Defines a string enum whose wire names are the variant names in SCREAMING_CASE, with
/// `as_str`, `ALL` and `FromStr`, so validation can name the allowed values.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            /// The allowed wire values, for error messages: `LOW, MEDIUM, HIGH`.
            pub fn allowed() -> String {
                [$($wire),+].join(", ")
            }
        }
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(format!("must be one of {}", Self::allowed())),
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;
