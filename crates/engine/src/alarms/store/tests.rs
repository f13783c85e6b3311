//! The alarm database's ids and history, and what an alarm database from before becomes.

use super::*;

const T0: i64 = 1_700_000_000_000;

fn alarm(source_id: &str, firing: bool) -> AlarmIn {
    AlarmIn {
        integration_key: "key".into(),
        source_id: source_id.into(),
        name: format!("alarm {source_id}"),
        level: AlarmLevel::Major,
        firing,
        time: T0,
        started: Some(T0),
        ended: None,
        namespace: String::new(),
        region_id: String::new(),
        application_id: String::new(),
        resource_name: String::new(),
        resource_id: String::new(),
        description: format!("about {source_id}"),
        url: String::new(),
        source: "prometheus".into(),
        labels: Default::default(),
    }
}

/// Writes alarms as the writer does.
fn write(store: &AlarmStore, alarms: &[AlarmIn], now: i64) -> Vec<Stored> {
    let ready: Vec<Ready> = alarms.iter().cloned().map(Ready::new).collect();
    store.write(&ready.iter().collect::<Vec<_>>(), now).unwrap()
}

fn actions(store: &AlarmStore, id: &str) -> Vec<String> {
    store
        .history(id)
        .unwrap()
        .into_iter()
        .map(|h| h.action)
        .collect()
}

#[test]
fn an_id_has_one_spelling() {
    assert_eq!(id_of(2, None), "AL0000000002");
    assert_eq!(seq_in("AL0000000002"), Some(2));
    for other in [
        "AL2",
        "AL00000000002",
        "AL-2",
        "AL0000000000",
        "XX0000000002",
        "AL",
    ] {
        assert_eq!(seq_in(other), None, "{other}");
    }
    assert_eq!(
        id_of(7, Some("AL1700000000000000001".into())),
        "AL1700000000000000001"
    );
}

#[test]
fn a_new_alarm_is_named_by_its_sequence_and_its_history_begins_when_it_fired() {
    let store = AlarmStore::open_in_memory().unwrap();
    let stored = write(&store, &[alarm("a", true), alarm("b", false)], T0 + 5);
    assert_eq!(stored[0].alarm_id, "AL0000000001");
    assert_eq!(stored[1].alarm_id, "AL0000000002");
    let fired = store.history("AL0000000001").unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(
        (fired[0].at, fired[0].who.as_str(), fired[0].action.as_str()),
        (T0 + 5, "prometheus", "fired")
    );
    // Not the description: a repeat may change it, and the line would then tell what it
    // was not.
    assert_eq!(fired[0].detail, "");
    let mut changed = alarm("a", true);
    changed.description = "about a, later".into();
    write(&store, &[changed], T0 + 6);
    assert_eq!(store.history("AL0000000001").unwrap(), fired);
    // One that arrives cleared never fired.
    assert_eq!(actions(&store, "AL0000000002"), ["cleared"]);
    // A repeat is the same alarm; clearing and firing again are history lines after the first.
    let again = write(&store, &[alarm("a", false)], T0 + 6);
    assert_eq!(
        (again[0].alarm_id.as_str(), again[0].deduplicated),
        ("AL0000000001", true)
    );
    write(&store, &[alarm("a", true)], T0 + 7);
    store.ack(&["AL0000000001".into()], "ops", T0 + 8).unwrap();
    assert_eq!(
        actions(&store, "AL0000000001"),
        ["fired", "cleared", "fired again", "acknowledged"]
    );
    assert_eq!(
        store.alarm("AL1").unwrap(),
        None,
        "only one spelling names it"
    );
    assert!(store.history("AL0000000009").unwrap().is_empty());
}

#[test]
fn an_alarm_database_from_before_keeps_every_alarm_by_its_id_with_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alarms.db");
    let legacy = "AL1700000000000000001";
    {
        let conn =
            crate::store::prepare(Connection::open(&path).unwrap(), "FULL", &MIGRATIONS[..2])
                .unwrap();
        conn.execute(
            "INSERT INTO alarms (alarm_id, integration_key, source_id, name, level, state,
                namespace, region_id, application_id, resource_name, resource_id, description,
                url, source, labels, count, first_seen, last_seen)
             VALUES (?1, 'key', 'old', 'disk full', 'major', 'firing', '', '', '', '', '',
                'it was', '', 'prometheus', '{}', 3, 1, 2)",
            [legacy],
        )
        .unwrap();
        for (at, action) in [(1, "fired"), (2, "acknowledged")] {
            conn.execute(
                "INSERT INTO alarm_history (alarm_id, at, who, action, detail)
                 VALUES (?1, ?2, 'ops', ?3, '')",
                params![legacy, at, action],
            )
            .unwrap();
        }
    }
    let store = AlarmStore::open(&path).unwrap();
    let old = store.alarm(legacy).unwrap().expect("kept by its id");
    assert_eq!((old.name.as_str(), old.count), ("disk full", 3));
    assert_eq!(actions(&store, legacy), ["fired", "acknowledged"]);
    // Its sequence number is not a second name for it.
    assert_eq!(store.alarm("AL0000000001").unwrap(), None);
    // It still deduplicates, under its own id; a new alarm is named by its sequence.
    let stored = write(&store, &[alarm("old", false), alarm("new", true)], T0);
    assert_eq!(stored[0].alarm_id, legacy);
    assert!(stored[0].deduplicated);
    assert_eq!(stored[1].alarm_id, "AL0000000002");
    assert_eq!(
        actions(&store, legacy),
        ["fired", "acknowledged", "cleared"]
    );
    assert_eq!(store.clear(&[legacy.into()], "ops", T0, "").unwrap(), 1);
    assert_eq!(store.count().unwrap(), 2);
}
