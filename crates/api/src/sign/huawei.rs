//! Huawei Cloud SDK-HMAC-SHA256 (`huaweicloudsdkcore/signer/signer.py`), see NOTES.md §3.

use chrono::{NaiveDateTime, TimeZone, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::{Header, header, hmac_sha256, same, sha256_hex};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
pub const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// How far `X-Sdk-Date` may be from the server's clock.
pub const MAX_SKEW_SECS: i64 = 15 * 60;
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986: only `A-Z a-z 0-9 - _ . ~` stay literal.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Decode the whole path, split on `/`, encode each segment, and end with `/`.
pub fn canonical_uri(raw_path: &str) -> String {
    let decoded = decode(raw_path);
    let mut uri = decoded.split('/').map(encode).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Pairs decoded, sorted by (key, value), re-encoded. The identity for SDK traffic.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn payload_hash(headers: &[Header], body: &[u8]) -> String {
    if body.is_empty() {
        return EMPTY_SHA256.to_string();
    }
    match header(headers, "x-sdk-content-sha256") {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => sha256_hex(body),
    }
}

pub fn canonical_request(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &[Header],
    body: &[u8],
    signed_headers: &[String],
) -> String {
    let canonical_headers: String = signed_headers
        .iter()
        .map(|h| format!("{h}:{}\n", header(headers, h).unwrap_or("").trim()))
        .collect();
    [
        method.to_ascii_uppercase(),
        canonical_uri(raw_path),
        canonical_query(raw_query),
        canonical_headers,
        signed_headers.join(";"),
        payload_hash(headers, body),
    ]
    .join("\n")
}

pub fn string_to_sign(canonical_request: &str, sdk_date: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

pub fn signature(sk: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(sk.as_bytes(), string_to_sign.as_bytes()))
}

/// The headers a client signs: every header whose name has no `_`, lower-cased and sorted.
pub fn signed_header_names(headers: &[Header]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .filter(|k| !k.contains('_'))
        .collect();
    names.sort();
    names
}

/// Signs a request as the SDK does. `headers` must already hold `Host`, `X-Sdk-Date`,
/// `Content-Type` and the project/domain header; returns the `Authorization` value.
pub fn authorization(
    ak: &str,
    sk: &str,
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &[Header],
    body: &[u8],
) -> String {
    let signed = signed_header_names(headers);
    let date = header(headers, "x-sdk-date").unwrap_or("");
    let cr = canonical_request(method, raw_path, raw_query, headers, body, &signed);
    let sig = signature(sk, &string_to_sign(&cr, date));
    format!(
        "{ALGORITHM} Access={ak}, SignedHeaders={}, Signature={sig}",
        signed.join(";")
    )
}

/// `Authorization: SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`, parsed.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    pub access: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub fn parse_authorization(value: &str) -> Option<Parsed> {
    let rest = value.trim().strip_prefix(ALGORITHM)?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let mut access = None;
    let mut signed = None;
    let mut sig = None;
    for part in rest.trim().split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Access" => access = Some(v.to_string()),
            "SignedHeaders" => signed = Some(v.split(';').map(str::to_string).collect()),
            "Signature" => sig = Some(v.to_ascii_lowercase()),
            _ => return None,
        }
    }
    Some(Parsed {
        access: access.filter(|a| !a.is_empty())?,
        signed_headers: signed?,
        signature: sig.filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()))?,
    })
}

/// Why a request was not accepted (shown to the caller, never the expected signature).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("missing Authorization header")]
    Missing,
    #[error("malformed Authorization header")]
    Malformed,
    #[error("SignedHeaders must be lower-case, sorted, and include host and x-sdk-date")]
    SignedHeaders,
    #[error("missing or malformed X-Sdk-Date (expected YYYYMMDDTHHMMSSZ)")]
    BadDate,
    #[error("X-Sdk-Date is {0} s away from the server clock (at most 900 s allowed)")]
    ClockSkew(i64),
    /// An unknown key and a wrong signature answer alike, so keys cannot be probed.
    #[error("signature mismatch or unknown access key")]
    UnknownKey,
    #[error("signature mismatch or unknown access key")]
    Mismatch,
    #[error("X-Sdk-Content-Sha256 must be signed and equal the SHA-256 of the body that arrived")]
    BodyHash,
}

/// A raw request as the server received it.
pub struct RawRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [Header],
    pub body: &'a [u8],
}

/// Verifies a request; `secret` looks up the SK of an AK. Returns the AK on success.
/// The checks that need no body, made before one is read: a well-formed Authorization with the
/// required signed headers, a date within the window, a known key.
pub fn precheck(
    headers: &[Header],
    secret: impl Fn(&str) -> Option<String>,
    now: chrono::DateTime<Utc>,
) -> Result<(), Rejected> {
    let raw = RawRequest {
        method: "",
        path: "",
        query: "",
        headers,
        body: b"",
    };
    checked(&raw, &secret, now).map(|_| ())
}

/// [`precheck`]'s checks; returns the parsed header and the key's secret.
fn checked(
    req: &RawRequest,
    secret: &impl Fn(&str) -> Option<String>,
    now: chrono::DateTime<Utc>,
) -> Result<(Parsed, String), Rejected> {
    let auth = header(req.headers, "authorization").ok_or(Rejected::Missing)?;
    let p = parse_authorization(auth).ok_or(Rejected::Malformed)?;
    // Sorted allows duplicates: the SDK signs `x-project-id` twice in one documented case.
    let sorted = p.signed_headers.windows(2).all(|w| w[0] <= w[1]);
    let lower = p
        .signed_headers
        .iter()
        .all(|h| !h.is_empty() && *h == h.to_ascii_lowercase());
    let has = |n: &str| p.signed_headers.iter().any(|h| h == n);
    if !sorted || !lower || !has("host") || !has("x-sdk-date") {
        return Err(Rejected::SignedHeaders);
    }
    let date = header(req.headers, "x-sdk-date").ok_or(Rejected::BadDate)?;
    let t = NaiveDateTime::parse_from_str(date, DATE_FORMAT).map_err(|_| Rejected::BadDate)?;
    let skew = (now - Utc.from_utc_datetime(&t)).num_seconds();
    if skew.abs() > MAX_SKEW_SECS {
        return Err(Rejected::ClockSkew(skew));
    }
    let sk = secret(&p.access).ok_or(Rejected::UnknownKey)?;
    Ok((p, sk))
}

pub fn verify(
    req: &RawRequest,
    secret: impl Fn(&str) -> Option<String>,
    now: chrono::DateTime<Utc>,
) -> Result<String, Rejected> {
    let (p, sk) = checked(req, &secret, now)?;
    let has = |n: &str| p.signed_headers.iter().any(|h| h == n);
    let date = header(req.headers, "x-sdk-date").ok_or(Rejected::BadDate)?;
    // The body that arrived is what was signed: a payload hash header is taken only when it
    // is signed and is that body's hash (never `UNSIGNED-PAYLOAD`), so a captured signature
    // cannot carry another body.
    if let Some(claimed) = header(req.headers, "x-sdk-content-sha256")
        && (!has("x-sdk-content-sha256")
            || !same(&claimed.to_ascii_lowercase(), &sha256_hex(req.body)))
    {
        return Err(Rejected::BodyHash);
    }
    let cr = canonical_request(
        req.method,
        req.path,
        req.query,
        req.headers,
        req.body,
        &p.signed_headers,
    );
    let expected = signature(&sk, &string_to_sign(&cr, date));
    if same(&expected, &p.signature) {
        Ok(p.access)
    } else {
        Err(Rejected::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uri_appends_slash_and_splits_encoded_slash() {
        assert_eq!(canonical_uri("/v1/job/scripts"), "/v1/job/scripts/");
        assert_eq!(canonical_uri("/v1/job/scripts/"), "/v1/job/scripts/");
        assert_eq!(
            canonical_uri("/v1/external/incident/IM%202024%2F01"),
            "/v1/external/incident/IM%202024/01/"
        );
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!(parse_authorization("SDK-HMAC-SHA256Access=a").is_none());
        assert!(parse_authorization("Bearer x").is_none());
        let p = parse_authorization(
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=ABCDEF",
        )
        .unwrap();
        assert_eq!(p.signature, "abcdef");
    }
}
