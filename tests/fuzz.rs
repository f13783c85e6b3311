//! Property fuzzing of what a hostile peer controls: the Authorization and TC3 headers, every
//! write route's body (parsed and checked as the server does), and the terminal sanitiser.
//! CI runs the default number of cases; `PROPTEST_CASES=2000000 cargo test --release --test
//! fuzz` runs them for as long as one likes (the closing notes give the long runs).

use cocpit::model::alarm::{AlertmanagerWebhook, CustomEvent, NewSilence};
use cocpit::model::order::ScriptExecuteModel;
use cocpit::model::script::{AddScriptModel, EditScriptModel};
use cocpit::sign::{huawei, tencent};
use proptest::prelude::*;

/// Arbitrary JSON, deep enough to reach every field of a body.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("SHELL"),
            Just("PYTHON"),
            Just("LOW"),
            Just("HIGH"),
            Just("CONTINUE"),
            Just("PAUSE"),
            Just("firing"),
            Just("resolved"),
            Just("Critical"),
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_string()),
                    Just("type".to_string()),
                    Just("content".to_string()),
                    Just("properties".to_string()),
                    Just("script_params".to_string()),
                    Just("param_name".to_string()),
                    Just("param_value".to_string()),
                    Just("param_order".to_string()),
                    Just("execute_param".to_string()),
                    Just("execute_batches".to_string()),
                    Just("alerts".to_string()),
                    Just("labels".to_string()),
                    Just("matchers".to_string()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Any Authorization header, date and body: the verifier answers, never panics, and never
    /// accepts without the secret.
    #[test]
    fn the_huawei_verifier_takes_any_header(auth in ".{0,300}", date in ".{0,20}", body in prop::collection::vec(any::<u8>(), 0..200)) {
        let headers = vec![
            ("Authorization".to_string(), auth),
            ("X-Sdk-Date".to_string(), date),
            ("Host".to_string(), "127.0.0.1".to_string()),
        ];
        let raw = huawei::RawRequest { method: "POST", path: "/v1/job/scripts", query: "", headers: &headers, body: &body };
        let r = huawei::verify(&raw, |_| Some("secret".into()), chrono::Utc::now());
        prop_assert!(r.is_err());
        let _ = huawei::parse_authorization(&headers[0].1);
    }

    #[test]
    fn the_tc3_verifier_takes_any_header(auth in ".{0,300}", ts in ".{0,12}", body in prop::collection::vec(any::<u8>(), 0..200)) {
        let headers = vec![
            ("Authorization".to_string(), auth),
            ("X-TC-Timestamp".to_string(), ts),
            ("Host".to_string(), "127.0.0.1".to_string()),
            ("X-TC-Action".to_string(), "DescribeInvokers".to_string()),
        ];
        let r = tencent::verify("POST", "", &headers, &body, |_| Some("secret".into()), chrono::Utc::now().timestamp());
        prop_assert!(r.is_err());
    }

    /// Any JSON as any write route's body: parsed and checked as the server does, it is accepted
    /// or refused with a message naming a field, never a panic.
    #[test]
    fn write_bodies_are_checked_never_panicking(v in json()) {
        if let Ok(s) = serde_json::from_value::<AddScriptModel>(v.clone()) {
            if let Err(e) = cocpit::model::validate::add_script(&s) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
        if let Ok(s) = serde_json::from_value::<EditScriptModel>(v.clone()) {
            let _ = cocpit::model::validate::edit_script(&s);
        }
        if let Ok(e) = serde_json::from_value::<ScriptExecuteModel>(v.clone()) {
            let _ = cocpit::model::validate::execute(&e, &[], |_| true);
        }
        if let Ok(e) = serde_json::from_value::<CustomEvent>(v.clone()) {
            let _ = cocpit::engine::alarms::from_custom("k", e, 0);
        }
        if let Ok(w) = serde_json::from_value::<AlertmanagerWebhook>(v.clone()) {
            let _ = cocpit::engine::alarms::from_alertmanager("k", w, 0);
        }
        let _ = serde_json::from_value::<NewSilence>(v);
    }

    /// Whatever a host prints, what reaches the terminal has no escape, no C1 control, no bidi
    /// override, and sanitising it again changes nothing.
    #[test]
    fn the_sanitiser_leaves_nothing_a_terminal_acts_on(s in "(\\PC|\\p{Cc}|\u{1b}\\[[0-9;]{0,6}[A-Za-z]|\u{1b}\\][^\u{7}]{0,10}\u{7}|[\u{80}-\u{9f}\u{202a}-\u{202e}\u{2066}-\u{2069}]){0,80}") {
        let out = cocpit::sanitize::for_display(&s);
        for c in out.chars() {
            prop_assert!(c == '\n' || c == '\t' || !(c.is_control()), "{c:?} in {out:?}");
            let bidi = ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c);
            prop_assert!(!bidi, "a bidi control in {:?}", out);
        }
        prop_assert_eq!(cocpit::sanitize::for_display(&out), out.clone());
    }
}
