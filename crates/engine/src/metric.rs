//! The engine's measurements, each named once here. Recording costs next to nothing until a
//! recorder is installed (`cocpit serve` and the engine process install the Prometheus one).

/// Alarms received (custom and Prometheus), counted when they are on disk.
pub const ALARMS_RECEIVED: &str = "cocpit_alarms_received_total";
/// Of those, the ones that matched a stored alarm (a repeat, a clear).
pub const ALARMS_DEDUPLICATED: &str = "cocpit_alarms_deduplicated_total";
/// One alarm commit (a transaction with its fsync), in seconds.
pub const ALARM_COMMIT_SECONDS: &str = "cocpit_alarm_commit_seconds";
/// Alarms per commit (group commit: under load, many share one fsync).
pub const ALARM_COMMIT_SIZE: &str = "cocpit_alarm_commit_size";
/// ssh master connections opened, by `outcome` (`ok`, `failed`).
pub const SSH_MASTERS: &str = "cocpit_ssh_masters_opened_total";
/// ssh master connections up now, as far as the engine knows.
pub const SSH_MASTERS_OPEN: &str = "cocpit_ssh_masters_open";
/// Script instance runs started, by `start`: `ready` (made ready on its host while the batch
/// before ran) or `cold` (started from nothing).
pub const RUNS_STARTED: &str = "cocpit_runs_started_total";
/// TAT invoker fires, by `kind` (`fired`, `missed`).
pub const SCHEDULER_FIRES: &str = "cocpit_scheduler_fires_total";
/// Orders stored, by `status` (set when scraped).
pub const ORDERS: &str = "cocpit_orders";
/// Instances stored, by `status` (set when scraped).
pub const INSTANCES: &str = "cocpit_instances";

/// Gives each measurement its help text (once a recorder is installed).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(ALARMS_RECEIVED, "Alarms received and stored durably.");
    describe_counter!(
        ALARMS_DEDUPLICATED,
        "Alarms received that matched a stored alarm."
    );
    describe_histogram!(
        ALARM_COMMIT_SECONDS,
        Unit::Seconds,
        "Alarm store commit latency (fsync included)."
    );
    describe_histogram!(ALARM_COMMIT_SIZE, "Alarms written per commit.");
    describe_counter!(SSH_MASTERS, "ssh master connections opened, by outcome.");
    describe_gauge!(SSH_MASTERS_OPEN, "ssh master connections believed up.");
    describe_counter!(
        RUNS_STARTED,
        "Script instance runs started, by whether they were made ready ahead."
    );
    describe_counter!(SCHEDULER_FIRES, "TAT invoker fires, by kind.");
    describe_gauge!(ORDERS, "Script orders stored, by status.");
    describe_gauge!(INSTANCES, "Script order instances stored, by status.");
}
