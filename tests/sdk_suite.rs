//! The official Huawei COC Python SDK against a spawned `cocpit serve` (tests/sdk/sdk_check.py).
//! Needs `COCPIT_SDK_PYTHON`, a Python with the pinned SDKs (`bash .ci/test` makes one).

mod common;

use common::server::{AK, PROJECT, SK, Server};

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdk_drives_the_job_incident_and_alarm_apis() {
    let Some(python) = common::sdk::python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    std::fs::write(
        data.with_extension("toml"),
        "[inventory]\ndemo_fleet = 4\n[[serve.integrations]]\nkey = \"sdk-check\"\nkind = \"custom\"\n\
         [[serve.integrations]]\nkey = \"sdk-prom\"\nkind = \"prometheus\"\n",
    )
    .unwrap();
    let server = Server::start(&data);
    common::sdk::check(&python, "sdk_check.py", &[&server.base, AK, SK, PROJECT]).await;
}
