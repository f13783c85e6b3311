//! Scenarios written once and run on both ways a front end reaches an engine: in process
//! (`Local`) and over HTTP through a real `cocpit serve` (`Remote`). [`on_both!`] makes the two
//! tests of a scenario.

use std::time::Duration;

use cocpit::backend::prelude::*;
use cocpit::model::order::*;
use cocpit::model::script::*;

/// How long a scenario waits for the state it expects.
const PATIENCE: Duration = Duration::from_secs(30);

/// A backend on a fresh data dir with `demo_fleet` local hosts, and what keeps it alive.
pub struct Rig {
    pub backend: Box<dyn Backend>,
    _server: Option<super::server::Server>,
    _dir: tempfile::TempDir,
}

#[derive(Debug, Clone, Copy)]
pub enum Transport {
    Local,
    Remote,
}

impl Rig {
    pub fn start(t: Transport, demo_fleet: usize) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let config = format!("[inventory]\ndemo_fleet = {demo_fleet}\n");
        match t {
            Transport::Local => {
                let cfg =
                    cocpit::config::Config::parse(&config, &data.with_extension("toml")).unwrap();
                let engine = cocpit::engine::Engine::open(&data, &cfg.engine_setup()).unwrap();
                Rig {
                    backend: Box::new(cocpit::engine::Local::new(engine)),
                    _server: None,
                    _dir: dir,
                }
            }
            Transport::Remote => {
                std::fs::write(data.with_extension("toml"), config).unwrap();
                let server = super::server::Server::start(&data);
                let creds = cocpit::client::Credentials {
                    ak: super::server::AK.into(),
                    sk: super::server::SK.into(),
                    project_id: Some(super::server::PROJECT.into()),
                    ..Default::default()
                };
                let remote = cocpit::client::connect(&server.base, creds).unwrap();
                Rig {
                    backend: Box::new(remote),
                    _server: Some(server),
                    _dir: dir,
                }
            }
        }
    }

    pub fn b(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// A shell script with `params`; its uuid.
    pub async fn script(
        &self,
        name: &str,
        content: &str,
        params: Vec<ScriptParamDefine>,
    ) -> String {
        self.b()
            .create_script(AddScriptModel {
                script_params: Some(params),
                ..super::script_model(name, content)
            })
            .await
            .unwrap()
    }

    /// Starts `script` with `plan`; the order's id.
    pub async fn run(&self, script: &str, plan: ScriptExecuteModel) -> String {
        self.b().execute_script(script, plan).await.unwrap()
    }

    pub async fn operate(&self, eid: &str, op: JobScriptOrderOperationBody) {
        self.b().operate(eid, op).await.unwrap();
    }

    /// Waits (on the backend's events, bounded) until the order satisfies `pred`.
    pub async fn wait_for(
        &self,
        eid: &str,
        what: &str,
        pred: impl Fn(&OrderSnapshot) -> bool,
    ) -> OrderSnapshot {
        let mut events = self.b().subscribe().expect("both backends have events");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let s = self.b().order_snapshot(eid).await.unwrap();
            if pred(&s) {
                return s;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(!left.is_zero(), "waited {PATIENCE:?} for {what}: {s:#?}");
            // Any change (or a quiet second) is the cue to read again.
            let _ = tokio::time::timeout(left.min(Duration::from_secs(1)), events.recv()).await;
        }
    }

    /// Waits until the order is `status` with nothing running.
    pub async fn wait_status(&self, eid: &str, status: OrderStatus) -> OrderSnapshot {
        self.wait_for(eid, &format!("order {status}"), |s| {
            s.info.status == status
                && s.instances
                    .iter()
                    .all(|i| i.instance.status != InstanceStatus::Processing)
        })
        .await
    }
}

/// The instance on `host`.
pub fn on<'a>(s: &'a OrderSnapshot, host: &str) -> &'a ExecutionInstanceModel {
    s.instances
        .iter()
        .map(|i| &i.instance)
        .find(|i| i.target_instance.resource_id == host)
        .unwrap_or_else(|| panic!("no instance on {host}"))
}

/// Two tests of one scenario, `async fn(Rig)`: `local` and `remote`, each on a fresh rig with
/// `$hosts` demo hosts.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $hosts:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread")]
            async fn local() {
                super::$name(Rig::start(Transport::Local, $hosts)).await
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn remote() {
                super::$name(Rig::start(Transport::Remote, $hosts)).await
            }
        }
    };
}
