//! ECS and EC2 snapshots in the JSON shape the AWS CLI prints
//! (`aws ecs describe-*`: camelCase; `aws ec2 describe-*`: PascalCase).
//!
//! Live pollers convert SDK types into these; `why -f` reads CLI dumps into
//! them; recordings store them. One shape, one path.
//!
//! Enum-like AWS values (`lastStatus`, `stopCode`, spot `Status.Code`, …) are
//! kept as strings: they are open sets and unknown values must stay visible.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A timestamp as the AWS CLI prints it: ISO 8601 text (CLI v2 default,
/// `2026-11-30T03:01:02.345000+00:00`) or epoch seconds (CLI v1, `--cli-timestamp-format none`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AwsTime(pub Timestamp);

impl Serialize for AwsTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for AwsTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Num(f64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => parse_aws_time(&s)
                .map(AwsTime)
                .ok_or_else(|| serde::de::Error::custom(format!("not a timestamp: {s:?}"))),
            Raw::Num(n) => {
                let secs = n.trunc() as i64;
                let nanos = ((n - n.trunc()) * 1e9).round() as i32;
                Timestamp::new(secs, nanos)
                    .map(AwsTime)
                    .map_err(|e| serde::de::Error::custom(format!("bad epoch {n}: {e}")))
            }
        }
    }
}

/// Parses the timestamp texts the AWS CLI and SDKs print.
pub fn parse_aws_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    // `2026-11-30T03:01:02.345000+00:00` parses above; fall back to a zoned
    // form with a named zone or a space separator.
    let fixed = s.replacen(' ', "T", 1);
    fixed.parse::<Timestamp>().ok()
}

// ───────────────────────────── ECS ─────────────────────────────

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsTask {
    pub task_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_instance_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_name: Option<String>,
    /// `service:NAME` for service tasks, `family:NAME` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<AwsTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_started_at: Option<AwsTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<AwsTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopping_at: Option<AwsTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<AwsTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<EcsContainer>,
}

impl EcsTask {
    /// The service name when the task belongs to a service (`group` = `service:NAME`).
    pub fn service_name(&self) -> Option<&str> {
        self.group
            .as_deref()
            .and_then(|g| g.strip_prefix("service:"))
    }
    /// Short task id: the last segment of the ARN.
    pub fn short_id(&self) -> &str {
        arn_tail(&self.task_arn)
    }
    /// Cluster name from `clusterArn` or, failing that, from a new-format task ARN.
    pub fn cluster_name(&self) -> Option<&str> {
        self.cluster_arn
            .as_deref()
            .map(arn_tail)
            .or_else(|| cluster_from_arn(&self.task_arn))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsContainer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_arn: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsService {
    pub service_arn: String,
    pub service_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<EcsDeployment>,
    /// Newest first, as DescribeServices returns them (at most 100).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EcsServiceEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<AwsTime>,
}

impl EcsService {
    pub fn cluster_name(&self) -> Option<&str> {
        self.cluster_arn
            .as_deref()
            .map(arn_tail)
            .or_else(|| cluster_from_arn(&self.service_arn))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CapacityProviderStrategyItem {
    pub capacity_provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsDeployment {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    pub failed_tasks: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_state_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<AwsTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<AwsTime>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsServiceEvent {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<AwsTime>,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsContainerInstance {
    pub container_instance_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2_instance_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_connected: Option<bool>,
    pub running_tasks_count: i64,
    pub pending_tasks_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remaining_resources: Vec<EcsResource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registered_resources: Vec<EcsResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<AwsTime>,
}

impl EcsContainerInstance {
    pub fn short_id(&self) -> &str {
        arn_tail(&self.container_instance_arn)
    }
    /// The cluster, from a new-format ARN (`…:container-instance/CLUSTER/ID`):
    /// `describe-container-instances` output carries no cluster field.
    pub fn cluster_name(&self) -> Option<&str> {
        cluster_from_arn(&self.container_instance_arn)
    }
    /// Remaining amount of a resource (`CPU`, `MEMORY`), when reported.
    pub fn remaining(&self, name: &str) -> Option<i64> {
        self.remaining_resources
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
            .and_then(|r| r.integer_value)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsResource {
    pub name: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integer_value: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EcsCapacityProvider {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_arn: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scaling_group_provider: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_status_reason: Option<String>,
}

// ───────────────────────────── EC2 ─────────────────────────────

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ec2Instance {
    pub instance_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<Ec2State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<Ec2StateReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_transition_reason: Option<String>,
    /// `spot` for spot instances; absent for on-demand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_lifecycle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spot_instance_request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<Ec2Placement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_dns_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_time: Option<AwsTime>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Ec2Tag>,
}

impl Ec2Instance {
    pub fn is_spot(&self) -> bool {
        self.instance_lifecycle.as_deref() == Some("spot")
    }
    pub fn state_name(&self) -> Option<&str> {
        self.state.as_ref().map(|s| s.name.as_str())
    }
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }
    pub fn availability_zone(&self) -> Option<&str> {
        self.placement
            .as_ref()
            .and_then(|p| p.availability_zone.as_deref())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ec2State {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ec2StateReason {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ec2Placement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ec2Tag {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SpotInstanceRequest {
    pub spot_instance_request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// `open`, `active`, `closed`, `cancelled`, `failed`, `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<SpotStatus>,
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launched_availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<AwsTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_interruption_behavior: Option<String>,
}

impl SpotInstanceRequest {
    pub fn status_code(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.code.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SpotStatus {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time: Option<AwsTime>,
}

/// One entry of `aws ec2 describe-instance-status` `InstanceStatuses[]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceStatus {
    pub instance_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<InstanceStatusEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_state: Option<Ec2State>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceStatusEvent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_event_id: Option<String>,
    /// `instance-stop`, `instance-retirement`, `system-reboot`, …
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<AwsTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<AwsTime>,
}

// ───────────────────────────── ARNs ─────────────────────────────

/// The last `/`-separated segment of an ARN (a task or container-instance id).
pub fn arn_tail(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The cluster segment of a new-format ECS ARN
/// (`arn:aws:ecs:R:A:task/CLUSTER/ID`, `…:service/CLUSTER/NAME`).
pub fn cluster_from_arn(arn: &str) -> Option<&str> {
    let (_, path) = arn.split_once(':').map(|_| arn.rsplit_once(':'))??;
    let mut parts = path.split('/');
    let _kind = parts.next()?;
    let cluster = parts.next()?;
    parts.next()?; // old-format ARNs have no cluster segment
    Some(cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_parts() {
        let t = "arn:aws:ecs:us-east-1:123456789012:task/payments/0a1b2c3d";
        assert_eq!(arn_tail(t), "0a1b2c3d");
        assert_eq!(cluster_from_arn(t), Some("payments"));
        assert_eq!(
            cluster_from_arn("arn:aws:ecs:us-east-1:123456789012:task/0a1b2c3d"),
            None
        );
    }

    #[test]
    fn aws_time_accepts_cli_v2_text_and_v1_epoch() {
        let a: AwsTime = serde_json::from_str("\"2026-11-30T03:01:02.345000+00:00\"").unwrap();
        let b: AwsTime = serde_json::from_str("1796007662.345").unwrap();
        assert_eq!(a.0.as_second(), 1_796_007_662);
        assert_eq!(b.0.as_second(), 1_796_007_662);
        assert!(serde_json::from_str::<AwsTime>("\"yesterday\"").is_err());
    }
}
