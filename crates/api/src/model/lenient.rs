//! Deserializers for numbers that the seeds' own examples send as strings
//! (`"success_rate": "100.0"`, `"batch_index": "1"`). Serialization always emits numbers.

use serde::{Deserialize, Deserializer, de::Error};

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    I(i64),
    F(f64),
    S(String),
}

fn to_f64<E: Error>(v: NumOrStr) -> Result<f64, E> {
    match v {
        NumOrStr::I(i) => Ok(i as f64),
        NumOrStr::F(f) => Ok(f),
        NumOrStr::S(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| E::custom(format!("expected a number, got {s:?}"))),
    }
}

fn to_i64<E: Error>(v: NumOrStr) -> Result<i64, E> {
    match v {
        NumOrStr::I(i) => Ok(i),
        NumOrStr::F(f) if f.fract() == 0.0 => Ok(f as i64),
        NumOrStr::F(f) => Err(E::custom(format!("expected an integer, got {f}"))),
        NumOrStr::S(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| E::custom(format!("expected an integer, got {s:?}"))),
    }
}

pub fn f64_or_str<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    to_f64(NumOrStr::deserialize(d)?)
}

pub fn opt_i64_or_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<NumOrStr>::deserialize(d)?.map(to_i64).transpose()
}

pub fn i64_or_str<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    to_i64(NumOrStr::deserialize(d)?)
}

/// A boolean that may arrive as `true`/`false` or `"true"`/`"false"`.
pub fn opt_bool_or_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrStr {
        B(bool),
        S(String),
    }
    match Option::<BoolOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(BoolOrStr::B(b)) => Ok(Some(b)),
        Some(BoolOrStr::S(s)) => match s.trim() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            other => Err(D::Error::custom(format!(
                "expected true or false, got {other:?}"
            ))),
        },
    }
}
