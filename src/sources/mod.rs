//! Source events: everything the outside world tells spotcheck.
//!
//! Every live source (kube watchers, ECS/EC2 pollers), the replay of a
//! recording and the embedded demo produce the same [`SourceEvent`]s on one
//! channel. They are serializable: a recording is a JSONL file of them.

pub mod aws;
pub mod kube;
pub mod replay;
pub mod scenarios;

use crate::model::objects::{Event, Pod};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::aws::{
    Ec2Instance, EcsCapacityProvider, EcsContainerInstance, EcsService, EcsTask, InstanceStatus,
    SpotInstanceRequest,
};

/// Version of the serialized [`SourceEvent`] format (recording header `version`).
pub const FORMAT_VERSION: u32 = 1;

/// One thing a source observed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SourceEvent {
    /// A Kubernetes object was added or changed (watch `Applied`, or one item of a list).
    KubeApply { context: String, object: KubeObject },
    /// A Kubernetes object was deleted.
    KubeDelete { context: String, object: KubeObject },
    /// An ECS task as `describe-tasks` prints it.
    EcsTask { region: String, task: Box<EcsTask> },
    /// An ECS service as `describe-services` prints it, with its events.
    EcsService {
        region: String,
        service: Box<EcsService>,
    },
    /// An ECS container instance; `cluster` because the CLI shape has no cluster field.
    EcsContainerInstance {
        region: String,
        cluster: String,
        #[serde(rename = "containerInstance")]
        container_instance: Box<EcsContainerInstance>,
    },
    EcsCapacityProvider {
        region: String,
        #[serde(rename = "capacityProvider")]
        capacity_provider: Box<EcsCapacityProvider>,
    },
    /// An ECS or EC2 object the source no longer sees (by ARN or id).
    AwsGone { region: String, id: String },
    Ec2Instance {
        region: String,
        instance: Box<Ec2Instance>,
    },
    Ec2SpotRequest {
        region: String,
        request: Box<SpotInstanceRequest>,
    },
    Ec2InstanceStatus {
        region: String,
        status: Box<InstanceStatus>,
    },
    /// A source's health changed.
    Health { source: SourceId, health: Health },
    /// The source is about to send its whole state again (a replay that
    /// loops): forget the objects it sent before.
    Reset { source: SourceId },
}

/// A source event with the time it was observed (shifted, for replays).
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub at: jiff::Timestamp,
    pub event: SourceEvent,
}

/// What the app tells pollers about urgency: poll faster while something is
/// Pending/AtRisk, or while the operator looks at a unit of that region.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollHint {
    /// Some unit is Pending, Stuck, Crashing or AtRisk.
    pub urgent: bool,
    /// Regions of the selected unit (the operator is looking at it).
    pub focused_regions: Vec<String>,
}

/// Where sources send what they observe.
pub type SourceTx = tokio::sync::mpsc::UnboundedSender<Observed>;

impl SourceEvent {
    /// The source that produced this event.
    pub fn source(&self) -> SourceId {
        match self {
            SourceEvent::KubeApply { context, .. } | SourceEvent::KubeDelete { context, .. } => {
                SourceId::kube(context)
            }
            SourceEvent::EcsTask { region, .. }
            | SourceEvent::EcsService { region, .. }
            | SourceEvent::EcsContainerInstance { region, .. }
            | SourceEvent::EcsCapacityProvider { region, .. } => SourceId::ecs(region),
            SourceEvent::AwsGone { region, id } => {
                if id.starts_with("arn:aws:ecs") {
                    SourceId::ecs(region)
                } else {
                    SourceId::ec2(region)
                }
            }
            SourceEvent::Ec2Instance { region, .. }
            | SourceEvent::Ec2SpotRequest { region, .. }
            | SourceEvent::Ec2InstanceStatus { region, .. } => SourceId::ec2(region),
            SourceEvent::Health { source, .. } | SourceEvent::Reset { source } => source.clone(),
        }
    }
}

/// The Kubernetes object kinds spotcheck keeps. Serialized exactly as
/// `kubectl get -o json` prints the object (with `apiVersion` and `kind`).
#[derive(Clone, Debug, PartialEq)]
pub enum KubeObject {
    Pod(Box<Pod>),
    Node(Box<Node>),
    Event(Box<Event>),
    ReplicaSet(Box<ReplicaSet>),
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
    Job(Box<Job>),
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
}

impl KubeObject {
    pub fn kind(&self) -> &'static str {
        match self {
            KubeObject::Pod(_) => "Pod",
            KubeObject::Node(_) => "Node",
            KubeObject::Event(_) => "Event",
            KubeObject::ReplicaSet(_) => "ReplicaSet",
            KubeObject::Deployment(_) => "Deployment",
            KubeObject::StatefulSet(_) => "StatefulSet",
            KubeObject::DaemonSet(_) => "DaemonSet",
            KubeObject::Job(_) => "Job",
            KubeObject::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
        }
    }

    pub fn metadata(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            KubeObject::Pod(o) => &o.metadata,
            KubeObject::Node(o) => &o.metadata,
            KubeObject::Event(o) => &o.metadata,
            KubeObject::ReplicaSet(o) => &o.metadata,
            KubeObject::Deployment(o) => &o.metadata,
            KubeObject::StatefulSet(o) => &o.metadata,
            KubeObject::DaemonSet(o) => &o.metadata,
            KubeObject::Job(o) => &o.metadata,
            KubeObject::PersistentVolumeClaim(o) => &o.metadata,
        }
    }

    /// Builds a typed object from a JSON value carrying `kind` (and `apiVersion`).
    /// Returns `Ok(None)` for a kind spotcheck does not keep.
    pub fn from_value(value: serde_json::Value) -> Result<Option<KubeObject>, serde_json::Error> {
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string();
        fn de<T: serde::de::DeserializeOwned>(
            v: serde_json::Value,
        ) -> Result<Box<T>, serde_json::Error> {
            serde_json::from_value(v).map(Box::new)
        }
        Ok(Some(match kind.as_str() {
            "Pod" => KubeObject::Pod(de(value)?),
            "Node" => KubeObject::Node(de(value)?),
            "Event" => KubeObject::Event(de(value)?),
            "ReplicaSet" => KubeObject::ReplicaSet(de(value)?),
            "Deployment" => KubeObject::Deployment(de(value)?),
            "StatefulSet" => KubeObject::StatefulSet(de(value)?),
            "DaemonSet" => KubeObject::DaemonSet(de(value)?),
            "Job" => KubeObject::Job(de(value)?),
            "PersistentVolumeClaim" => KubeObject::PersistentVolumeClaim(de(value)?),
            _ => return Ok(None),
        }))
    }
}

impl Serialize for KubeObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            KubeObject::Pod(o) => Typed::<crate::model::objects::Pod>::new(o).serialize(s),
            KubeObject::Node(o) => o.serialize(s),
            KubeObject::Event(o) => Typed::<crate::model::objects::Event>::new(o).serialize(s),
            KubeObject::ReplicaSet(o) => o.serialize(s),
            KubeObject::Deployment(o) => o.serialize(s),
            KubeObject::StatefulSet(o) => o.serialize(s),
            KubeObject::DaemonSet(o) => o.serialize(s),
            KubeObject::Job(o) => o.serialize(s),
            KubeObject::PersistentVolumeClaim(o) => o.serialize(s),
        }
    }
}

/// A slim object serialized with the `apiVersion` and `kind` that
/// k8s-openapi types write themselves.
#[derive(Serialize)]
struct Typed<'a, T> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    object: &'a T,
}

impl<'a, T: k8s_openapi::Resource> Typed<'a, T> {
    fn new(object: &'a T) -> Self {
        Typed {
            api_version: T::API_VERSION,
            kind: T::KIND,
            object,
        }
    }
}

impl<'de> Deserialize<'de> for KubeObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("<none>")
            .to_string();
        KubeObject::from_value(value)
            .map_err(serde::de::Error::custom)?
            .ok_or_else(|| {
                serde::de::Error::custom(format!("unsupported Kubernetes kind {kind:?}"))
            })
    }
}

/// Which source: a kube context, an AWS service in a region, or a replay.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourceId {
    /// `kube`, `ecs`, `ec2`, `replay`.
    pub kind: String,
    /// Context name, region, or recording name.
    pub name: String,
}

impl SourceId {
    pub fn kube(context: &str) -> Self {
        SourceId {
            kind: "kube".into(),
            name: context.into(),
        }
    }
    pub fn ecs(region: &str) -> Self {
        SourceId {
            kind: "ecs".into(),
            name: region.into(),
        }
    }
    pub fn ec2(region: &str) -> Self {
        SourceId {
            kind: "ec2".into(),
            name: region.into(),
        }
    }
    pub fn replay(name: &str) -> Self {
        SourceId {
            kind: "replay".into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// How a source is doing. Shown in the header; never silently stale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Health {
    Connecting,
    /// Initial list in progress; `loaded` objects so far, `waiting` the
    /// kinds whose list is not complete yet (plural names: `pods, events`).
    Loading {
        loaded: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        waiting: Vec<String>,
    },
    Live,
    /// Playing a recording; `done` when the end was reached and the final state holds.
    Replaying {
        done: bool,
    },
    /// Something fails; `forbidden` names what access is also denied to
    /// (empty when nothing is), so that stays visible behind the failure.
    Degraded {
        reason: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        forbidden: String,
    },
    /// Access denied to `what` (RBAC/IAM); everything else works.
    Forbidden {
        what: String,
    },
    Reconnecting {
        reason: String,
    },
}

impl Health {
    /// Short label for the header.
    pub fn label(&self) -> String {
        match self {
            Health::Connecting => "connecting".into(),
            Health::Loading { loaded, waiting } if waiting.is_empty() => {
                format!("loading {loaded}")
            }
            // Two kinds by name at most: the header has room for one line.
            Health::Loading { loaded, waiting } if waiting.len() > 2 => {
                format!(
                    "loading {loaded} · {}, {} +{}",
                    waiting[0],
                    waiting[1],
                    waiting.len() - 2
                )
            }
            Health::Loading { loaded, waiting } => {
                format!("loading {loaded} · {}", waiting.join(", "))
            }
            Health::Live => "live".into(),
            Health::Replaying { done: false } => "replaying".into(),
            Health::Replaying { done: true } => "replay ended".into(),
            Health::Degraded { reason, forbidden } if forbidden.is_empty() => {
                format!("degraded: {reason}")
            }
            Health::Degraded { reason, forbidden } => {
                format!("degraded: {reason}; forbidden: {forbidden}")
            }
            Health::Forbidden { what } => format!("forbidden: {what}"),
            Health::Reconnecting { reason } => format!("reconnecting: {reason}"),
        }
    }

    /// What access is denied to, when anything is.
    pub fn forbidden(&self) -> Option<&str> {
        match self {
            Health::Forbidden { what } => Some(what),
            Health::Degraded { forbidden, .. } if !forbidden.is_empty() => Some(forbidden),
            _ => None,
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            Health::Live | Health::Replaying { .. } | Health::Loading { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source event with a slim Pod or Event serializes as kubectl prints
    /// the object (`apiVersion`, `kind`, camelCase, no nulls) and reads back
    /// equal: recordings round-trip.
    #[test]
    fn kube_objects_round_trip_with_api_version_and_kind() {
        let pod: crate::model::objects::Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "shop"},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:1"}]},
            "status": {"phase": "Pending"}
        }))
        .unwrap();
        let event: crate::model::objects::Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1.1", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
            "reason": "FailedScheduling", "type": "Warning", "message": "0/3 nodes are available"
        }))
        .unwrap();
        for object in [
            KubeObject::Pod(Box::new(pod)),
            KubeObject::Event(Box::new(event)),
        ] {
            let ev = SourceEvent::KubeApply {
                context: "prod".into(),
                object,
            };
            let json = serde_json::to_value(&ev).unwrap();
            let obj = &json["object"];
            assert_eq!(obj["apiVersion"], "v1", "{json}");
            assert!(obj["kind"] == "Pod" || obj["kind"] == "Event", "{json}");
            assert!(!json.to_string().contains("null"), "{json}");
            let back: SourceEvent = serde_json::from_value(json).unwrap();
            assert_eq!(back, ev);
        }
    }
}
