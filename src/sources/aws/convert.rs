//! SDK types → the project's serde model (the AWS CLI's JSON shape).
//!
//! Live data, recordings and `why -f` dumps of `aws ecs describe-*` /
//! `aws ec2 describe-*` output all end up as the structs in
//! [`crate::model::aws`]; these functions are the only place that knows the
//! SDK's types. Enum values are kept as their wire strings (`as_str`), so an
//! enum value this build does not know still shows as AWS sent it.

use aws_sdk_ec2::types as ec2;
use aws_sdk_ecs::types as ecs;
use aws_smithy_types::DateTime;
use jiff::Timestamp;

use crate::model::aws::{
    AwsTime, CapacityProviderStrategyItem, Ec2Instance, Ec2Placement, Ec2State, Ec2StateReason,
    Ec2Tag, EcsCapacityProvider, EcsContainer, EcsContainerInstance, EcsDeployment, EcsResource,
    EcsService, EcsServiceEvent, EcsTask, InstanceStatus, InstanceStatusEvent, SpotInstanceRequest,
    SpotStatus,
};

/// An SDK timestamp as the CLI prints it. Out-of-range values (not sent by
/// AWS) are dropped rather than invented.
pub fn time(t: Option<&DateTime>) -> Option<AwsTime> {
    let t = t?;
    Timestamp::new(t.secs(), t.subsec_nanos() as i32)
        .ok()
        .map(AwsTime)
}

fn s(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

/// An enum's wire value; an empty one (some emulators send `""`) is absent.
fn word(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

// ───────────────────────────── ECS ─────────────────────────────

pub fn task(t: &ecs::Task) -> EcsTask {
    EcsTask {
        task_arn: t.task_arn().unwrap_or_default().to_string(),
        cluster_arn: s(t.cluster_arn()),
        task_definition_arn: s(t.task_definition_arn()),
        container_instance_arn: s(t.container_instance_arn()),
        last_status: s(t.last_status()),
        desired_status: s(t.desired_status()),
        launch_type: t.launch_type().and_then(|v| word(v.as_str())),
        capacity_provider_name: s(t.capacity_provider_name()),
        group: s(t.group()),
        started_by: s(t.started_by()),
        availability_zone: s(t.availability_zone()),
        cpu: s(t.cpu()),
        memory: s(t.memory()),
        health_status: t.health_status().and_then(|v| word(v.as_str())),
        created_at: time(t.created_at()),
        pull_started_at: time(t.pull_started_at()),
        started_at: time(t.started_at()),
        stopping_at: time(t.stopping_at()),
        stopped_at: time(t.stopped_at()),
        stop_code: t.stop_code().and_then(|v| word(v.as_str())),
        stopped_reason: s(t.stopped_reason()),
        containers: t.containers().iter().map(container).collect(),
    }
}

pub fn container(c: &ecs::Container) -> EcsContainer {
    EcsContainer {
        container_arn: s(c.container_arn()),
        name: c.name().unwrap_or_default().to_string(),
        image: s(c.image()),
        last_status: s(c.last_status()),
        exit_code: c.exit_code().map(i64::from),
        reason: s(c.reason()),
        health_status: c.health_status().and_then(|v| word(v.as_str())),
        // DescribeTasks does not return `essential` (it lives on the task definition).
        essential: None,
    }
}

pub fn service(v: &ecs::Service) -> EcsService {
    EcsService {
        service_arn: v.service_arn().unwrap_or_default().to_string(),
        service_name: v.service_name().unwrap_or_default().to_string(),
        cluster_arn: s(v.cluster_arn()),
        status: s(v.status()),
        desired_count: i64::from(v.desired_count()),
        running_count: i64::from(v.running_count()),
        pending_count: i64::from(v.pending_count()),
        launch_type: v.launch_type().and_then(|l| word(l.as_str())),
        capacity_provider_strategy: v
            .capacity_provider_strategy()
            .iter()
            .map(strategy_item)
            .collect(),
        deployments: v.deployments().iter().map(deployment).collect(),
        events: v.events().iter().map(service_event).collect(),
        created_at: time(v.created_at()),
    }
}

fn strategy_item(i: &ecs::CapacityProviderStrategyItem) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem {
        capacity_provider: i.capacity_provider().to_string(),
        weight: Some(i64::from(i.weight())),
        base: Some(i64::from(i.base())),
    }
}

fn deployment(d: &ecs::Deployment) -> EcsDeployment {
    EcsDeployment {
        id: d.id().unwrap_or_default().to_string(),
        status: s(d.status()),
        desired_count: i64::from(d.desired_count()),
        running_count: i64::from(d.running_count()),
        pending_count: i64::from(d.pending_count()),
        failed_tasks: i64::from(d.failed_tasks()),
        rollout_state: d.rollout_state().and_then(|r| word(r.as_str())),
        rollout_state_reason: s(d.rollout_state_reason()),
        created_at: time(d.created_at()),
        updated_at: time(d.updated_at()),
    }
}

fn service_event(e: &ecs::ServiceEvent) -> EcsServiceEvent {
    EcsServiceEvent {
        id: e.id().unwrap_or_default().to_string(),
        created_at: time(e.created_at()),
        message: e.message().unwrap_or_default().to_string(),
    }
}

pub fn container_instance(c: &ecs::ContainerInstance) -> EcsContainerInstance {
    EcsContainerInstance {
        container_instance_arn: c.container_instance_arn().unwrap_or_default().to_string(),
        ec2_instance_id: s(c.ec2_instance_id()),
        status: s(c.status()),
        status_reason: s(c.status_reason()),
        agent_connected: Some(c.agent_connected()),
        running_tasks_count: i64::from(c.running_tasks_count()),
        pending_tasks_count: i64::from(c.pending_tasks_count()),
        capacity_provider_name: s(c.capacity_provider_name()),
        remaining_resources: c.remaining_resources().iter().map(resource).collect(),
        registered_resources: c.registered_resources().iter().map(resource).collect(),
        registered_at: time(c.registered_at()),
    }
}

fn resource(r: &ecs::Resource) -> EcsResource {
    EcsResource {
        name: r.name().unwrap_or_default().to_string(),
        kind: s(r.r#type()),
        integer_value: Some(i64::from(r.integer_value())),
    }
}

pub fn capacity_provider(c: &ecs::CapacityProvider) -> EcsCapacityProvider {
    EcsCapacityProvider {
        capacity_provider_arn: s(c.capacity_provider_arn()),
        name: c.name().unwrap_or_default().to_string(),
        status: c.status().and_then(|v| word(v.as_str())),
        auto_scaling_group_provider: c.auto_scaling_group_provider().map(asg_provider),
        update_status: c.update_status().and_then(|v| word(v.as_str())),
        update_status_reason: s(c.update_status_reason()),
    }
}

/// `autoScalingGroupProvider` as the CLI prints it (the model keeps it as JSON).
fn asg_provider(p: &ecs::AutoScalingGroupProvider) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert(
        "autoScalingGroupArn".into(),
        p.auto_scaling_group_arn().into(),
    );
    if let Some(ms) = p.managed_scaling() {
        let mut o = serde_json::Map::new();
        if let Some(v) = ms.status() {
            o.insert("status".into(), v.as_str().into());
        }
        for (k, v) in [
            ("targetCapacity", ms.target_capacity()),
            ("minimumScalingStepSize", ms.minimum_scaling_step_size()),
            ("maximumScalingStepSize", ms.maximum_scaling_step_size()),
            ("instanceWarmupPeriod", ms.instance_warmup_period()),
        ] {
            if let Some(v) = v {
                o.insert(k.into(), v.into());
            }
        }
        m.insert("managedScaling".into(), o.into());
    }
    if let Some(v) = p.managed_termination_protection() {
        m.insert("managedTerminationProtection".into(), v.as_str().into());
    }
    if let Some(v) = p.managed_draining() {
        m.insert("managedDraining".into(), v.as_str().into());
    }
    m.into()
}

// ───────────────────────────── EC2 ─────────────────────────────

pub fn instance(i: &ec2::Instance) -> Ec2Instance {
    Ec2Instance {
        instance_id: i.instance_id().unwrap_or_default().to_string(),
        instance_type: i.instance_type().and_then(|v| word(v.as_str())),
        state: i.state().map(state),
        state_reason: i.state_reason().map(|r| Ec2StateReason {
            code: r.code().unwrap_or_default().to_string(),
            message: s(r.message()),
        }),
        state_transition_reason: s(i.state_transition_reason()).filter(|r| !r.is_empty()),
        instance_lifecycle: i.instance_lifecycle().and_then(|v| word(v.as_str())),
        spot_instance_request_id: s(i.spot_instance_request_id()),
        placement: i.placement().map(|p| Ec2Placement {
            availability_zone: s(p.availability_zone()),
        }),
        private_dns_name: s(i.private_dns_name()).filter(|n| !n.is_empty()),
        private_ip_address: s(i.private_ip_address()),
        launch_time: time(i.launch_time()),
        tags: i.tags().iter().map(tag).collect(),
    }
}

fn state(st: &ec2::InstanceState) -> Ec2State {
    Ec2State {
        code: st.code().map(i64::from),
        name: st
            .name()
            .map(|n| n.as_str())
            .unwrap_or_default()
            .to_string(),
    }
}

fn tag(t: &ec2::Tag) -> Ec2Tag {
    Ec2Tag {
        key: t.key().unwrap_or_default().to_string(),
        value: t.value().unwrap_or_default().to_string(),
    }
}

pub fn spot_request(r: &ec2::SpotInstanceRequest) -> SpotInstanceRequest {
    SpotInstanceRequest {
        spot_instance_request_id: r.spot_instance_request_id().unwrap_or_default().to_string(),
        instance_id: s(r.instance_id()),
        state: r.state().and_then(|v| word(v.as_str())),
        status: r.status().map(|st| SpotStatus {
            code: st.code().unwrap_or_default().to_string(),
            message: s(st.message()),
            update_time: time(st.update_time()),
        }),
        kind: r.r#type().and_then(|v| word(v.as_str())),
        launched_availability_zone: s(r.launched_availability_zone()),
        create_time: time(r.create_time()),
        instance_interruption_behavior: r
            .instance_interruption_behavior()
            .and_then(|v| word(v.as_str())),
    }
}

pub fn instance_status(v: &ec2::InstanceStatus) -> InstanceStatus {
    InstanceStatus {
        instance_id: v.instance_id().unwrap_or_default().to_string(),
        availability_zone: s(v.availability_zone()),
        events: v
            .events()
            .iter()
            .map(|e| InstanceStatusEvent {
                instance_event_id: s(e.instance_event_id()),
                code: e.code().map(|c| c.as_str()).unwrap_or_default().to_string(),
                description: s(e.description()),
                not_before: time(e.not_before()),
                not_after: time(e.not_after()),
            })
            .collect(),
        instance_state: v.instance_state().map(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> DateTime {
        let t: Timestamp = s.parse().unwrap();
        DateTime::from_secs_and_nanos(t.as_second(), t.subsec_nanosecond() as u32)
    }

    const CLUSTER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/payments";
    const TASK: &str =
        "arn:aws:ecs:us-east-1:123456789012:task/payments/4f1c0d2e9b8a47d6a1b2c3d4e5f60718";
    const CI: &str = "arn:aws:ecs:us-east-1:123456789012:container-instance/payments/9e8d7c6b5a4f43218765fedcba098765";

    /// A task stopped by a spot interruption, as DescribeTasks returns it;
    /// the converted value serializes to what `aws ecs describe-tasks` prints.
    #[test]
    fn spot_interrupted_task_matches_the_cli_shape() {
        let t = ecs::Task::builder()
            .task_arn(TASK)
            .cluster_arn(CLUSTER)
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/api:42")
            .container_instance_arn(CI)
            .last_status("STOPPED")
            .desired_status("STOPPED")
            .launch_type(ecs::LaunchType::Ec2)
            .capacity_provider_name("spot-m5")
            .group("service:api")
            .started_by("ecs-svc/1234567890123456789")
            .availability_zone("us-east-1b")
            .cpu("512")
            .memory("1024")
            .created_at(dt("2026-11-30T02:10:00.123Z"))
            .started_at(dt("2026-11-30T02:10:31Z"))
            .stopping_at(dt("2026-11-30T03:01:00Z"))
            .stopped_at(dt("2026-11-30T03:01:47Z"))
            .stop_code(ecs::TaskStopCode::SpotInterruption)
            .stopped_reason("Your Spot Task was interrupted.")
            .containers(
                ecs::Container::builder()
                    .name("api")
                    .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.42.0")
                    .last_status("STOPPED")
                    .exit_code(143)
                    .reason("Task stopped due to spot interruption")
                    .build(),
            )
            .build();
        let got = task(&t);
        assert_eq!(got.short_id(), "4f1c0d2e9b8a47d6a1b2c3d4e5f60718");
        assert_eq!(got.cluster_name(), Some("payments"));
        assert_eq!(got.service_name(), Some("api"));
        assert_eq!(got.stop_code.as_deref(), Some("SpotInterruption"));
        assert_eq!(got.containers[0].exit_code, Some(143));
        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(json["taskArn"], TASK);
        assert_eq!(json["launchType"], "EC2");
        assert_eq!(json["stopCode"], "SpotInterruption");
        assert_eq!(json["stoppedAt"], "2026-11-30T03:01:47Z");
        assert_eq!(json["createdAt"], "2026-11-30T02:10:00.123Z");
        assert_eq!(json["containers"][0]["exitCode"], 143);
        // One path: the CLI shape reads back into the same value.
        let back: EcsTask = serde_json::from_value(json).unwrap();
        assert_eq!(back, got);
    }

    #[test]
    fn service_keeps_events_newest_first_and_counts() {
        let v = ecs::Service::builder()
            .service_arn("arn:aws:ecs:us-east-1:123456789012:service/payments/big")
            .service_name("big")
            .cluster_arn(CLUSTER)
            .status("ACTIVE")
            .desired_count(4)
            .running_count(1)
            .pending_count(0)
            .capacity_provider_strategy(
                ecs::CapacityProviderStrategyItem::builder()
                    .capacity_provider("spot-m5")
                    .weight(3)
                    .build()
                    .unwrap(),
            )
            .deployments(
                ecs::Deployment::builder()
                    .id("ecs-svc/1234567890123456789")
                    .status("PRIMARY")
                    .desired_count(4)
                    .running_count(1)
                    .failed_tasks(2)
                    .rollout_state(ecs::DeploymentRolloutState::InProgress)
                    .build(),
            )
            .events(
                ecs::ServiceEvent::builder()
                    .id("e2")
                    .created_at(dt("2026-11-30T03:02:00Z"))
                    .message("(service big) was unable to place a task because no container instance met all of its requirements.")
                    .build(),
            )
            .events(
                ecs::ServiceEvent::builder()
                    .id("e1")
                    .created_at(dt("2026-11-30T02:00:00Z"))
                    .message("(service big) has reached a steady state.")
                    .build(),
            )
            .build();
        let got = service(&v);
        assert_eq!(got.cluster_name(), Some("payments"));
        assert_eq!((got.desired_count, got.running_count), (4, 1));
        assert_eq!(got.events[0].id, "e2");
        assert_eq!(got.capacity_provider_strategy[0].weight, Some(3));
        assert_eq!(
            got.capacity_provider_strategy[0].base,
            Some(0),
            "the CLI prints the default 0"
        );
        assert_eq!(
            got.deployments[0].rollout_state.as_deref(),
            Some("IN_PROGRESS")
        );
        assert_eq!(got.deployments[0].failed_tasks, 2);
        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(json["events"][0]["createdAt"], "2026-11-30T03:02:00Z");
        assert_eq!(
            json["capacityProviderStrategy"][0]["capacityProvider"],
            "spot-m5"
        );
    }

    #[test]
    fn draining_container_instance_with_resources() {
        let c = ecs::ContainerInstance::builder()
            .container_instance_arn(CI)
            .ec2_instance_id("i-0abc1234def567890")
            .status("DRAINING")
            .status_reason("Spot instance interruption notice")
            .agent_connected(true)
            .running_tasks_count(3)
            .pending_tasks_count(0)
            .capacity_provider_name("spot-m5")
            .remaining_resources(
                ecs::Resource::builder()
                    .name("MEMORY")
                    .r#type("INTEGER")
                    .integer_value(512)
                    .build(),
            )
            .registered_at(dt("2026-11-29T22:00:00Z"))
            .build();
        let got = container_instance(&c);
        assert_eq!(got.cluster_name(), Some("payments"));
        assert_eq!(got.agent_connected, Some(true));
        assert_eq!(got.remaining("memory"), Some(512));
        assert_eq!(
            got.status_reason.as_deref(),
            Some("Spot instance interruption notice")
        );
        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(json["ec2InstanceId"], "i-0abc1234def567890");
        assert_eq!(json["remainingResources"][0]["type"], "INTEGER");
    }

    #[test]
    fn capacity_provider_keeps_the_asg_block() {
        let c = ecs::CapacityProvider::builder()
            .name("spot-m5")
            .status(ecs::CapacityProviderStatus::Active)
            .auto_scaling_group_provider(
                ecs::AutoScalingGroupProvider::builder()
                    .auto_scaling_group_arn("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:uuid:autoScalingGroupName/spot-m5")
                    .managed_scaling(
                        ecs::ManagedScaling::builder()
                            .status(ecs::ManagedScalingStatus::Enabled)
                            .target_capacity(100)
                            .build(),
                    )
                    .managed_termination_protection(ecs::ManagedTerminationProtection::Disabled)
                    .build()
                    .unwrap(),
            )
            .build();
        let got = capacity_provider(&c);
        assert_eq!(got.status.as_deref(), Some("ACTIVE"));
        let asg = got.auto_scaling_group_provider.unwrap();
        assert_eq!(asg["managedScaling"]["status"], "ENABLED");
        assert_eq!(asg["managedScaling"]["targetCapacity"], 100);
        assert_eq!(asg["managedTerminationProtection"], "DISABLED");
    }

    #[test]
    fn spot_instance_and_its_request() {
        let i = ec2::Instance::builder()
            .instance_id("i-0abc1234def567890")
            .instance_type(ec2::InstanceType::M5Large)
            .state(
                ec2::InstanceState::builder()
                    .code(16)
                    .name(ec2::InstanceStateName::Running)
                    .build(),
            )
            .state_transition_reason("")
            .instance_lifecycle(ec2::InstanceLifecycleType::Spot)
            .spot_instance_request_id("sir-8f3k2j1h")
            .placement(
                ec2::Placement::builder()
                    .availability_zone("us-east-1b")
                    .build(),
            )
            .private_dns_name("ip-10-0-1-23.ec2.internal")
            .private_ip_address("10.0.1.23")
            .launch_time(dt("2026-11-29T21:58:00Z"))
            .tags(ec2::Tag::builder().key("Name").value("ecs-spot").build())
            .build();
        let got = instance(&i);
        assert!(got.is_spot());
        assert_eq!(got.state_name(), Some("running"));
        assert_eq!(got.availability_zone(), Some("us-east-1b"));
        assert_eq!(got.tag("Name"), Some("ecs-spot"));
        assert_eq!(
            got.state_transition_reason, None,
            "empty text is absent, as the CLI would not matter"
        );
        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(json["InstanceType"], "m5.large");
        assert_eq!(
            json["State"],
            serde_json::json!({"Code": 16, "Name": "running"})
        );
        assert_eq!(json["InstanceLifecycle"], "spot");

        let r = ec2::SpotInstanceRequest::builder()
            .spot_instance_request_id("sir-8f3k2j1h")
            .instance_id("i-0abc1234def567890")
            .state(ec2::SpotInstanceState::Active)
            .status(
                ec2::SpotInstanceStatus::builder()
                    .code("marked-for-termination")
                    .message("Spot Instance terminated due to capacity")
                    .update_time(dt("2026-11-30T03:00:00Z"))
                    .build(),
            )
            .r#type(ec2::SpotInstanceType::OneTime)
            .launched_availability_zone("us-east-1b")
            .instance_interruption_behavior(ec2::InstanceInterruptionBehavior::Terminate)
            .build();
        let got = spot_request(&r);
        assert_eq!(got.status_code(), Some("marked-for-termination"));
        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(json["State"], "active");
        assert_eq!(json["Type"], "one-time");
        assert_eq!(json["Status"]["UpdateTime"], "2026-11-30T03:00:00Z");
        assert_eq!(json["InstanceInterruptionBehavior"], "terminate");
    }

    #[test]
    fn scheduled_instance_event() {
        let v = ec2::InstanceStatus::builder()
            .instance_id("i-0abc1234def567890")
            .availability_zone("us-east-1b")
            .events(
                ec2::InstanceStatusEvent::builder()
                    .instance_event_id("instance-event-0abc")
                    .code(ec2::EventCode::InstanceStop)
                    .description("The instance is scheduled for stop")
                    .not_before(dt("2026-11-30T12:02:00Z"))
                    .build(),
            )
            .build();
        let got = instance_status(&v);
        assert_eq!(got.events[0].code, "instance-stop");
        assert_eq!(
            got.events[0].not_before.map(|t| t.0.to_string()).as_deref(),
            Some("2026-11-30T12:02:00Z")
        );
    }

    #[test]
    fn empty_enum_values_are_absent() {
        let t = ecs::Task::builder()
            .task_arn(TASK)
            .launch_type(ecs::LaunchType::from(""))
            .build();
        assert_eq!(task(&t).launch_type, None);
    }

    #[test]
    fn missing_times_stay_missing() {
        assert_eq!(time(None), None);
        let got = task(&ecs::Task::builder().task_arn(TASK).build());
        assert_eq!(got.created_at, None);
        assert!(got.containers.is_empty());
    }
}
