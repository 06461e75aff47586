//! Reading AWS CLI JSON outputs (`aws ecs describe-*`, `aws ec2 describe-*`) as source events.
//!
//! The dump is one JSON object whose keys name the command and whose values
//! are exactly what the command printed:
//!
//! ```json
//! { "ecs_describe_tasks": {"tasks": [...], "failures": []},
//!   "ec2_describe_instances": {"Reservations": [{"Instances": [...]}]} }
//! ```
//!
//! A value may also be an array of such outputs (several calls, e.g.
//! `describe-services` takes at most 10 services per call) or the bare list of
//! objects. Unknown keys and objects that do not parse become warnings naming
//! them; everything else is still read.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{DumpError, Loaded};
use crate::model::aws::{
    Ec2Instance, EcsCapacityProvider, EcsContainerInstance, EcsService, EcsTask, InstanceStatus,
    SpotInstanceRequest,
};
use crate::sources::SourceEvent;

/// The region used when neither an ARN nor an availability zone names one.
pub const UNKNOWN_REGION: &str = "aws";

/// The keys a dump may hold, with the list each command output carries.
pub const KEYS: [(&str, &str); 7] = [
    ("ecs_describe_tasks", "tasks"),
    ("ecs_describe_services", "services"),
    ("ecs_describe_container_instances", "containerInstances"),
    ("ecs_describe_capacity_providers", "capacityProviders"),
    (
        "ec2_describe_spot_instance_requests",
        "SpotInstanceRequests",
    ),
    ("ec2_describe_instances", "Reservations"),
    ("ec2_describe_instance_status", "InstanceStatuses"),
];

/// Reads one AWS dump. `path` only names the file in messages.
pub fn read(path: &str, text: &str) -> Result<Loaded, DumpError> {
    let err = |message: String| DumpError {
        path: path.to_string(),
        message,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        err(format!(
            "not JSON ({e}); expected an object of AWS CLI outputs"
        ))
    })?;
    let Value::Object(map) = value else {
        return Err(err(
            "expected a JSON object with keys like \"ecs_describe_tasks\", \"ec2_describe_instances\""
                .into(),
        ));
    };

    let mut loaded = Loaded::default();
    let mut items: Vec<(&'static str, String, Value)> = Vec::new();
    for (key, value) in map {
        let Some(&(k, list_key)) = KEYS.iter().find(|(k, _)| *k == key) else {
            loaded.warnings.push(format!(
                "{path}: unknown key {key:?} ignored (known: {})",
                KEYS.map(|(k, _)| k).join(", ")
            ));
            continue;
        };
        for (label, item) in list_items(path, k, list_key, value, &mut loaded.warnings) {
            if k == "ec2_describe_instances" {
                // Reservations[].Instances[]
                let Value::Object(mut res) = item else {
                    loaded
                        .warnings
                        .push(format!("{path}: {label}: not an object, skipped"));
                    continue;
                };
                match res.remove("Instances") {
                    Some(Value::Array(instances)) => {
                        for (j, inst) in instances.into_iter().enumerate() {
                            items.push((k, format!("{label}.Instances[{j}]"), inst));
                        }
                    }
                    _ => loaded
                        .warnings
                        .push(format!("{path}: {label}: no \"Instances\" list, skipped")),
                }
            } else {
                items.push((k, label, item));
            }
        }
    }

    // One region for objects that name none: the one most objects name.
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for (_, _, v) in &items {
        if let Some(r) = region_of_value(v) {
            *counts.entry(r).or_default() += 1;
        }
    }
    let default_region = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(r, _)| r)
        .unwrap_or_else(|| UNKNOWN_REGION.to_string());

    for (k, label, item) in items {
        let region = region_of_value(&item).unwrap_or_else(|| default_region.clone());
        let event = match k {
            "ecs_describe_tasks" => parse::<EcsTask>(&item).map(|task| SourceEvent::EcsTask {
                region,
                task: Box::new(task),
            }),
            "ecs_describe_services" => {
                parse::<EcsService>(&item).map(|service| SourceEvent::EcsService {
                    region,
                    service: Box::new(service),
                })
            }
            "ecs_describe_container_instances" => {
                parse::<EcsContainerInstance>(&item).map(|ci| SourceEvent::EcsContainerInstance {
                    region,
                    cluster: ci.cluster_name().unwrap_or_default().to_string(),
                    container_instance: Box::new(ci),
                })
            }
            "ecs_describe_capacity_providers" => {
                parse::<EcsCapacityProvider>(&item).map(|cp| SourceEvent::EcsCapacityProvider {
                    region,
                    capacity_provider: Box::new(cp),
                })
            }
            "ec2_describe_spot_instance_requests" => {
                parse::<SpotInstanceRequest>(&item).map(|r| SourceEvent::Ec2SpotRequest {
                    region,
                    request: Box::new(r),
                })
            }
            "ec2_describe_instances" => {
                parse::<Ec2Instance>(&item).map(|i| SourceEvent::Ec2Instance {
                    region,
                    instance: Box::new(i),
                })
            }
            _ => parse::<InstanceStatus>(&item).map(|s| SourceEvent::Ec2InstanceStatus {
                region,
                status: Box::new(s),
            }),
        };
        match event {
            Ok(ev) => loaded.events.push(ev),
            Err(e) => {
                let name = object_name(&item)
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                loaded
                    .warnings
                    .push(format!("{path}: {label}{name}: {e}; skipped"));
            }
        }
    }
    Ok(loaded)
}

/// The objects under one key, each with a label such as `ecs_describe_tasks.tasks[2]`.
fn list_items(
    path: &str,
    key: &str,
    list_key: &str,
    value: Value,
    warnings: &mut Vec<String>,
) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut one_output = |label: String, mut obj: serde_json::Map<String, Value>| {
        match obj.remove(list_key) {
            Some(Value::Array(list)) => {
                for (i, v) in list.into_iter().enumerate() {
                    out.push((format!("{label}.{list_key}[{i}]"), v));
                }
            }
            Some(Value::Null) | None => {
                warnings.push(format!("{path}: {label}: no {list_key:?} list"));
            }
            Some(_) => warnings.push(format!("{path}: {label}: {list_key:?} is not a list")),
        }
        // ECS describe-* outputs report what they could not describe.
        if let Some(Value::Array(failures)) = obj.get("failures") {
            for f in failures {
                let arn = f.get("arn").and_then(Value::as_str).unwrap_or("?");
                let reason = f.get("reason").and_then(Value::as_str).unwrap_or("?");
                let detail = f
                    .get("detail")
                    .and_then(Value::as_str)
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                warnings.push(format!(
                    "{path}: {label}: AWS could not describe {arn}: {reason}{detail}"
                ));
            }
        }
    };
    match value {
        Value::Object(obj) => one_output(key.to_string(), obj),
        Value::Array(list) => {
            let outputs = list
                .iter()
                .all(|v| v.as_object().is_some_and(|o| o.contains_key(list_key)));
            if outputs && !list.is_empty() {
                for (i, v) in list.into_iter().enumerate() {
                    if let Value::Object(obj) = v {
                        one_output(format!("{key}[{i}]"), obj);
                    }
                }
            } else {
                for (i, v) in list.into_iter().enumerate() {
                    out.push((format!("{key}[{i}]"), v));
                }
            }
        }
        Value::Null => {}
        _ => warnings.push(format!(
            "{path}: {key}: expected the command's JSON output (an object with {list_key:?}), skipped"
        )),
    }
    out
}

fn parse<T: DeserializeOwned>(v: &Value) -> Result<T, String> {
    if !v.is_object() {
        return Err("not an object".into());
    }
    T::deserialize(v).map_err(|e| e.to_string())
}

/// An id to name an object in a warning.
fn object_name(v: &Value) -> Option<String> {
    [
        "taskArn",
        "serviceArn",
        "containerInstanceArn",
        "name",
        "InstanceId",
        "SpotInstanceRequestId",
    ]
    .iter()
    .find_map(|k| v.get(k).and_then(Value::as_str).map(str::to_string))
}

/// The region an object names: the region field of its ARN, else its availability zone.
fn region_of_value(v: &Value) -> Option<String> {
    const ARNS: [&str; 5] = [
        "taskArn",
        "serviceArn",
        "containerInstanceArn",
        "capacityProviderArn",
        "clusterArn",
    ];
    if let Some(r) = ARNS
        .iter()
        .filter_map(|k| v.get(k).and_then(Value::as_str))
        .find_map(region_from_arn)
    {
        return Some(r.to_string());
    }
    let az = v
        .get("availabilityZone")
        .or_else(|| v.get("AvailabilityZone"))
        .or_else(|| v.get("LaunchedAvailabilityZone"))
        .or_else(|| v.get("Placement").and_then(|p| p.get("AvailabilityZone")))
        .or_else(|| {
            v.get("LaunchSpecification")
                .and_then(|p| p.get("Placement"))
                .and_then(|p| p.get("AvailabilityZone"))
        })
        .and_then(Value::as_str)?;
    region_from_az(az)
}

/// `arn:aws:ecs:us-east-1:123456789012:task/…` → `us-east-1`.
pub fn region_from_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next()? == "arn").then_some(())?;
    let _partition = parts.next()?;
    let _service = parts.next()?;
    let region = parts.next()?;
    (!region.is_empty()).then_some(region)
}

/// `us-east-1a` → `us-east-1`; `us-west-2-lax-1a` (Local Zone) → `us-west-2`;
/// `us-gov-west-1b` → `us-gov-west-1`. Zone ids (`use1-az1`) give `None`.
pub fn region_from_az(az: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for part in az.split('-') {
        if part.starts_with(|c: char| c.is_ascii_digit()) {
            let digits = part.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || out.len() < 2 {
                return None;
            }
            out.push(digits);
            return Some(out.join("-"));
        }
        if part.is_empty() || !part.chars().all(|c| c.is_ascii_lowercase()) {
            return None;
        }
        out.push(part);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        assert_eq!(region_from_az("us-east-1a").as_deref(), Some("us-east-1"));
        assert_eq!(
            region_from_az("us-west-2-lax-1a").as_deref(),
            Some("us-west-2")
        );
        assert_eq!(
            region_from_az("us-gov-west-1b").as_deref(),
            Some("us-gov-west-1")
        );
        assert_eq!(region_from_az("use1-az1"), None);
        assert_eq!(region_from_az(""), None);
        assert_eq!(
            region_from_arn("arn:aws:ecs:eu-west-1:123456789012:task/c/1"),
            Some("eu-west-1")
        );
        assert_eq!(region_from_arn("i-0abc"), None);
    }

    #[test]
    fn reads_each_key_and_names_bad_objects() {
        let text = r#"{
          "ecs_describe_tasks": {"tasks": [
             {"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/prod/aaa", "lastStatus": "RUNNING"},
             {"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/prod/bbb", "containers": "oops"}
          ], "failures": [{"arn": "arn:aws:ecs:us-east-1:123456789012:task/prod/ccc", "reason": "MISSING"}]},
          "ecs_describe_container_instances": {"containerInstances": [
             {"containerInstanceArn": "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/ci1", "ec2InstanceId": "i-1"}
          ]},
          "ec2_describe_instances": {"Reservations": [{"Instances": [{"InstanceId": "i-1"}]}]},
          "ec2_describe_spot_instance_requests": [{"SpotInstanceRequests": [{"SpotInstanceRequestId": "sir-1", "LaunchedAvailabilityZone": "eu-west-1b"}]}],
          "kubectl_get_pods": {}
        }"#;
        let l = read("aws.json", text).unwrap();
        assert_eq!(l.events.len(), 4, "{:?}", l.warnings);
        assert!(l.warnings.iter().any(|w| w.contains("kubectl_get_pods")));
        assert!(
            l.warnings
                .iter()
                .any(|w| w.contains("tasks[1]") && w.contains("task/prod/bbb"))
        );
        assert!(l.warnings.iter().any(|w| w.contains("MISSING")));
        let regions: Vec<String> = l
            .events
            .iter()
            .map(|e| match e {
                SourceEvent::EcsTask { region, .. }
                | SourceEvent::EcsContainerInstance { region, .. }
                | SourceEvent::Ec2Instance { region, .. }
                | SourceEvent::Ec2SpotRequest { region, .. } => region.clone(),
                _ => String::new(),
            })
            .collect();
        // The instance names no region: it takes the dump's first one.
        assert!(regions.iter().filter(|r| *r == "us-east-1").count() == 3);
        assert!(regions.contains(&"eu-west-1".to_string()));
        assert!(l.events.iter().any(|e| matches!(e,
            SourceEvent::EcsContainerInstance { cluster, .. } if cluster == "prod")));
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        assert!(read("x.json", "[1,2]").is_err());
        assert!(read("x.json", "nope").is_err());
    }
}
