//! Request signing: Huawei SDK-HMAC-SHA256 and Tencent TC3-HMAC-SHA256.
//!
//! One implementation serves the client (which signs) and the server (which verifies by
//! recomputing from the raw request), so the two can never disagree. Reproduces the official
//! SDKs' signers byte for byte (`tests/vectors/`).

pub mod huawei;
pub mod tencent;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Constant-time comparison of two signatures.
pub(crate) fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A header as received or to be sent.
pub type Header = (String, String);

/// The first value of header `name`, in any case.
pub fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
