//! Tencent Cloud TC3-HMAC-SHA256 (`tencentcloud/common/abstract_client.py`), see NOTES.md §3.

use super::{Header, header, hmac_sha256, same, sha256_hex};

pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// Tencent allows five minutes of clock skew.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

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
        .map(|h| {
            format!(
                "{h}:{}\n",
                header(headers, h).unwrap_or("").trim().to_ascii_lowercase()
            )
        })
        .collect();
    let payload: &[u8] = if header(headers, "x-tc-content-sha256") == Some("UNSIGNED-PAYLOAD") {
        b"UNSIGNED-PAYLOAD"
    } else {
        body
    };
    [
        method.to_ascii_uppercase(),
        if raw_path.is_empty() { "/" } else { raw_path }.to_string(),
        raw_query.to_string(),
        canonical_headers,
        signed_headers.join(";"),
        sha256_hex(payload),
    ]
    .join("\n")
}

pub fn credential_scope(date: &str, service: &str) -> String {
    format!("{date}/{service}/tc3_request")
}

pub fn string_to_sign(
    canonical_request: &str,
    timestamp: i64,
    date: &str,
    service: &str,
) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{}\n{}",
        credential_scope(date, service),
        sha256_hex(canonical_request.as_bytes())
    )
}

/// kDate, kService, kSigning.
pub fn signing_keys(secret_key: &str, date: &str, service: &str) -> [[u8; 32]; 3] {
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    [k_date, k_service, k_signing]
}

pub fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    let [_, _, k] = signing_keys(secret_key, date, service);
    hex::encode(hmac_sha256(&k, string_to_sign.as_bytes()))
}

/// UTC date (`YYYY-MM-DD`) of a Unix timestamp.
pub fn date_of(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Signs as the SDK does (`content-type;host`); returns the `Authorization` value.
#[allow(clippy::too_many_arguments)]
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    timestamp: i64,
    method: &str,
    raw_query: &str,
    headers: &[Header],
    body: &[u8],
) -> String {
    let signed = vec!["content-type".to_string(), "host".to_string()];
    let date = date_of(timestamp);
    let cr = canonical_request(method, "/", raw_query, headers, body, &signed);
    let sts = string_to_sign(&cr, timestamp, &date, service);
    let sig = signature(secret_key, &date, service, &sts);
    format!(
        "{ALGORITHM} Credential={secret_id}/{}, SignedHeaders=content-type;host, Signature={sig}",
        credential_scope(&date, service)
    )
}

/// Why a request was refused, with Tencent's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("missing or malformed Authorization")]
    InvalidAuthorization,
    #[error("the request's timestamp is more than 5 minutes away from the server clock")]
    Expired,
    #[error("the SecretId is not known")]
    UnknownSecretId,
    #[error("the signature does not match")]
    Mismatch,
}

impl Rejected {
    pub fn code(&self) -> &'static str {
        match self {
            Rejected::InvalidAuthorization => "AuthFailure.InvalidAuthorization",
            Rejected::Expired => "AuthFailure.SignatureExpire",
            Rejected::UnknownSecretId => "AuthFailure.SecretIdNotFound",
            Rejected::Mismatch => "AuthFailure.SignatureFailure",
        }
    }
}

struct Parsed {
    secret_id: String,
    date: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

fn parse(value: &str) -> Option<Parsed> {
    let rest = value.trim().strip_prefix(ALGORITHM)?.trim();
    let mut cred = None;
    let mut signed = None;
    let mut sig = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => cred = Some(v.to_string()),
            "SignedHeaders" => signed = Some(v.split(';').map(str::to_string).collect()),
            "Signature" => sig = Some(v.to_ascii_lowercase()),
            _ => return None,
        }
    }
    let cred = cred?;
    let mut it = cred.split('/');
    let (id, date, service, term) = (it.next()?, it.next()?, it.next()?, it.next()?);
    if term != "tc3_request" || it.next().is_some() {
        return None;
    }
    Some(Parsed {
        secret_id: id.to_string(),
        date: date.to_string(),
        service: service.to_string(),
        signed_headers: signed?,
        signature: sig?,
    })
}

/// The checks that need no body, made before one is read: a well-formed Authorization that
/// signs content-type and host, a timestamp within the window and of the signed date, a known
/// SecretId.
pub fn precheck(
    headers: &[Header],
    secret: impl Fn(&str) -> Option<String>,
    now: i64,
) -> Result<(), Rejected> {
    checked(headers, &secret, now).map(|_| ())
}

fn checked(
    headers: &[Header],
    secret: &impl Fn(&str) -> Option<String>,
    now: i64,
) -> Result<(Parsed, i64, String), Rejected> {
    let auth = header(headers, "authorization").ok_or(Rejected::InvalidAuthorization)?;
    let p = parse(auth).ok_or(Rejected::InvalidAuthorization)?;
    for required in ["content-type", "host"] {
        if !p.signed_headers.iter().any(|h| h == required) {
            return Err(Rejected::InvalidAuthorization);
        }
    }
    let ts: i64 = header(headers, "x-tc-timestamp")
        .and_then(|t| t.trim().parse().ok())
        .ok_or(Rejected::InvalidAuthorization)?;
    if date_of(ts) != p.date {
        return Err(Rejected::Mismatch);
    }
    if (now - ts).abs() > MAX_SKEW_SECS {
        return Err(Rejected::Expired);
    }
    let key = secret(&p.secret_id).ok_or(Rejected::UnknownSecretId)?;
    Ok((p, ts, key))
}

/// Verifies a TC3 request (path `/`). Returns the SecretId on success.
pub fn verify(
    method: &str,
    raw_query: &str,
    headers: &[Header],
    body: &[u8],
    secret: impl Fn(&str) -> Option<String>,
    now: i64,
) -> Result<String, Rejected> {
    let (p, ts, key) = checked(headers, &secret, now)?;
    let signs = |headers: &[Header]| {
        let cr = canonical_request(method, "/", raw_query, headers, body, &p.signed_headers);
        let sts = string_to_sign(&cr, ts, &p.date, &p.service);
        same(&signature(&key, &p.date, &p.service, &sts), &p.signature)
    };
    if signs(headers) || signs(&without_port(headers)) {
        Ok(p.secret_id)
    } else {
        Err(Rejected::Mismatch)
    }
}

/// The headers with `Host` cut to its name: `tencentcloud-sdk-nodejs` signs `url.hostname`
/// but sends the port too, which real endpoints (port 443, never written) never show it.
fn without_port(headers: &[Header]) -> Vec<Header> {
    headers
        .iter()
        .map(|(k, v)| {
            let v = match (k.eq_ignore_ascii_case("host"), v.rsplit_once(':')) {
                (true, Some((host, port)))
                    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    host.to_string()
                }
                _ => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}
