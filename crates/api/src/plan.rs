//! The execute plan both front ends build: which hosts run in which batch, with which values,
//! checked against the API's own rules before anything is sent.

use crate::model::order::*;
use crate::model::script::ScriptParamDefine;
use crate::model::validate as v;

/// What a user asked to run.
pub struct Plan<'a> {
    /// Hosts cut into batches of `batch_size`, when `groups` is empty.
    pub hosts: &'a [String],
    pub batch_size: usize,
    /// Batches spelled out, host by host (then `hosts` and `batch_size` are not used).
    pub groups: &'a [Vec<String>],
    /// Hosts that exist (an explicit batch may name only these).
    pub known: &'a dyn Fn(&str) -> bool,
    pub rotation: RotationStrategy,
    pub success_rate: f64,
    pub timeout: i64,
    /// The script's parameters; a value given by name in `values` replaces its default.
    pub declared: &'a [ScriptParamDefine],
    pub values: &'a [(String, String)],
}

impl Plan<'_> {
    /// The body of the execute call, or why it cannot be sent.
    pub fn body(&self) -> Result<ScriptExecuteModel, String> {
        let execute_batches = if self.groups.is_empty() {
            if self.hosts.is_empty() {
                return Err("no hosts to run on".into());
            }
            let size = self.batch_size;
            if !(1..=v::MAX_HOSTS_PER_BATCH).contains(&size) {
                return Err(format!(
                    "batch size must be 1 to {}",
                    v::MAX_HOSTS_PER_BATCH
                ));
            }
            let n = self.hosts.len().div_ceil(size);
            if n > v::MAX_BATCHES {
                return Err(format!(
                    "{} hosts in batches of {size} make {n} batches; at most {} (use bigger batches)",
                    self.hosts.len(),
                    v::MAX_BATCHES
                ));
            }
            batches_of(self.hosts, size, self.rotation)
        } else {
            if let Some(h) = self.groups.iter().flatten().find(|h| !(self.known)(h)) {
                return Err(format!("batches: no host {h:?} in the inventory"));
            }
            let slices: Vec<&[String]> = self.groups.iter().map(Vec::as_slice).collect();
            batches_from(&slices, self.rotation)
        };
        if let Some((name, _)) = self
            .values
            .iter()
            .find(|(n, _)| !self.declared.iter().any(|d| &d.param_name == n))
        {
            return Err(format!(
                "parameter {name}: the script declares no such parameter"
            ));
        }
        // Values not given keep the script's defaults; the API wants them in declared order.
        let mut script_params: Vec<ScriptExecuteInputParam> = self
            .declared
            .iter()
            .map(|d| ScriptExecuteInputParam {
                param_name: d.param_name.clone(),
                param_value: self
                    .values
                    .iter()
                    .find(|(n, _)| n == &d.param_name)
                    .map_or_else(|| d.param_value.clone(), |(_, v)| v.clone()),
                param_order: d.param_order,
            })
            .collect();
        script_params.sort_by_key(|p| p.param_order);
        let body = ScriptExecuteModel {
            execute_param: ScriptExecuteParam {
                resourceful: true,
                timeout: self.timeout,
                success_rate: self.success_rate,
                execute_user: "root".into(),
                script_params,
            },
            execute_batches,
        };
        // The engine's own rules (hosts are checked by whoever runs them).
        v::execute(&body, self.declared, |_| true).map_err(|e| e.to_string())?;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, value: &str, order: i64) -> ScriptParamDefine {
        ScriptParamDefine {
            param_name: name.into(),
            param_value: value.into(),
            param_description: String::new(),
            param_order: order,
            sensitive: false,
        }
    }

    #[test]
    fn values_replace_defaults_by_name_and_bad_plans_say_why() {
        let hosts: Vec<String> = (1..=25).map(|i| format!("h{i}")).collect();
        let declared = [param("b", "2", 2), param("a", "1", 1)];
        let values = [("b".to_string(), "two".to_string())];
        let plan = |size, values: &[(String, String)]| {
            Plan {
                hosts: &hosts,
                batch_size: size,
                groups: &[],
                known: &|_| true,
                rotation: RotationStrategy::Continue,
                success_rate: 100.0,
                timeout: 60,
                declared: &declared,
                values,
            }
            .body()
        };
        let body = plan(10, &values).unwrap();
        let sent: Vec<(&str, &str)> = body
            .execute_param
            .script_params
            .iter()
            .map(|p| (p.param_name.as_str(), p.param_value.as_str()))
            .collect();
        assert_eq!(sent, [("a", "1"), ("b", "two")]);
        assert_eq!(body.execute_batches.len(), 3);
        assert_eq!(
            plan(1, &values).unwrap_err(),
            "25 hosts in batches of 1 make 25 batches; at most 20 (use bigger batches)"
        );
        assert_eq!(plan(11, &values).unwrap_err(), "batch size must be 1 to 10");
        let unknown = [("c".to_string(), "x".to_string())];
        assert_eq!(
            plan(10, &unknown).unwrap_err(),
            "parameter c: the script declares no such parameter"
        );
    }
}
