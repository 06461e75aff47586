//! Diagnosis: pure and deterministic, `(fleet, now) -> units`.
//!
//! The TUI, the one-shot `why` command and `why -f dump.json` all call
//! [`diagnose_fleet`]. Nothing here does I/O, reads a clock or imports a UI crate.

pub mod ecs;
pub mod ecs_events;
pub mod k8s;
pub mod scheduling;
pub mod spot;

use std::collections::HashMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::Fleet;
use crate::model::join::Joins;

/// How a unit is doing, as one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verdict {
    Running,
    Pending,
    Stuck,
    Crashing,
    Stopped,
    AtRisk,
}

impl Verdict {
    /// Higher is more urgent. Sorting by severity puts what needs a human first.
    pub fn severity(self) -> u8 {
        match self {
            Verdict::Crashing => 5,
            Verdict::Stuck => 4,
            Verdict::AtRisk => 3,
            Verdict::Pending => 2,
            Verdict::Stopped => 1,
            Verdict::Running => 0,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Running => "Running",
            Verdict::Pending => "Pending",
            Verdict::Stuck => "Stuck",
            Verdict::Crashing => "Crashing",
            Verdict::Stopped => "Stopped",
            Verdict::AtRisk => "AtRisk",
        }
    }
    pub const ALL: [Verdict; 6] = [
        Verdict::Crashing,
        Verdict::Stuck,
        Verdict::AtRisk,
        Verdict::Pending,
        Verdict::Stopped,
        Verdict::Running,
    ];
    pub fn needs_attention(self) -> bool {
        self != Verdict::Running
    }
}

/// Stable, kebab-case cause codes (documented in README). Scripts match on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CauseCode {
    // scheduling
    InsufficientResource,
    UntoleratedTaint,
    NodeAffinityMismatch,
    NodeUnschedulable,
    PodAffinity,
    TopologySpread,
    HostPortConflict,
    TooManyPods,
    PvcUnbound,
    VolumeZoneConflict,
    SchedulingGated,
    // starting
    ImagePull,
    ContainerConfigError,
    MountFailed,
    VolumeMultiAttach,
    IpExhaustion,
    CrashLoop,
    OomKilled,
    ProbeFailing,
    QuotaExceeded,
    // disruption
    SpotInterruption,
    RebalanceRecommendation,
    NodeShutdown,
    NodeNotReady,
    NodeLost,
    EvictedResourcePressure,
    Preempted,
    Drained,
    // ECS / EC2
    NoContainerInstances,
    CapacityUnavailable,
    TaskFailedToStart,
    EssentialContainerExited,
    HealthCheckFailed,
    ResourceInitError,
    ContainerInstanceDraining,
    DeploymentFailed,
    Throttled,
    TaskLimit,
    ScheduledMaintenance,
    // Kubernetes, added by the k8s engine
    /// A container exited with an error (not OOM) and is not restarting.
    ContainerFailed,
    /// Karpenter cannot launch a node for the pod (node pool limits, no instance type).
    ProvisioningFailed,
    /// Karpenter nominated a node that is still being launched.
    NodeProvisioning,
    /// Karpenter is disrupting the node (consolidation, drift, expiry): `karpenter.sh/disrupted`.
    NodeDisrupted,
    /// The pod has been terminating far past its grace period.
    StuckTerminating,
    ProgressDeadlineExceeded,
    BackoffLimitExceeded,
    /// An owner's pods are refused at admission: PodSecurity, a validating
    /// webhook.
    AdmissionDenied,
    Unknown,
}

impl CauseCode {
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into())
    }
}

/// What kind of thing a unit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum UnitKind {
    Pod,
    /// A Kubernetes owner (ReplicaSet, Deployment, Job, …) that cannot create its pods.
    Workload,
    EcsTask,
    /// An ECS service with desired > running: the missing tasks.
    EcsService,
    Node,
    /// An EC2 instance with a spot or scheduled-event signal.
    Instance,
}

impl UnitKind {
    pub fn label(self) -> &'static str {
        match self {
            UnitKind::Pod => "Pod",
            UnitKind::Workload => "Workload",
            UnitKind::EcsTask => "Task",
            UnitKind::EcsService => "Service",
            UnitKind::Node => "Node",
            UnitKind::Instance => "EC2",
        }
    }
}

/// One piece of evidence behind a cause.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Where it came from: `event`, `condition`, `taint`, `status`, `container`,
    /// `service-event`, `spot-request`, `instance`, `instance-event`, `container-instance`.
    pub source: String,
    /// The object it is about, e.g. `node/ip-10-0-1-12`, `pod/shop/cart-7d9`.
    pub object: String,
    /// Event reason, condition reason, taint key, status code, …
    pub reason: String,
    /// Message verbatim.
    pub message: String,
    /// Last time it was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// First time it was seen, for repeated events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_at: Option<Timestamp>,
    /// Repetitions (events `count`), 1 for one-off facts.
    pub count: i32,
}

impl Evidence {
    pub fn new(
        source: &str,
        object: impl Into<String>,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Evidence {
            source: source.into(),
            object: object.into(),
            reason: reason.into(),
            message: message.into(),
            at: None,
            first_at: None,
            count: 1,
        }
    }
    pub fn at(mut self, at: Option<Timestamp>) -> Self {
        self.at = at;
        self
    }
}

/// One link of the cause chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    pub code: CauseCode,
    /// One sentence naming the culprit (taint key, resource, volume, instance).
    pub detail: String,
    pub evidence: Vec<Evidence>,
}

/// Something the operator can do, with the equivalent CLI command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuggestedAction {
    pub title: String,
    pub command: String,
    /// True when running it changes something (read-only sessions never run these).
    pub mutating: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub verdict: Verdict,
    pub headline: String,
    /// Ordered from the symptom to the root cause.
    pub causes: Vec<Cause>,
    pub actions: Vec<SuggestedAction>,
    /// Spot interruption deadline (notice + 2 min) when one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
}

impl Diagnosis {
    pub fn running(headline: impl Into<String>) -> Self {
        Diagnosis {
            verdict: Verdict::Running,
            headline: headline.into(),
            causes: Vec::new(),
            actions: Vec::new(),
            deadline: None,
        }
    }
    pub fn codes(&self) -> Vec<CauseCode> {
        self.causes.iter().map(|c| c.code).collect()
    }
}

/// One row of the attention table: a workload or host that may not be running.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// Stable key, e.g. `pod/CONTEXT/NS/NAME`, `task/REGION/ARN`.
    pub id: String,
    pub kind: UnitKind,
    /// Kube context or AWS region.
    pub source: String,
    /// Namespace or ECS cluster (empty for cluster-scoped units).
    pub scope: String,
    pub name: String,
    /// Raw state text as the platform says it (`Pending`, `CrashLoopBackOff`, `STOPPED`, `marked-for-termination`).
    pub state: String,
    /// When the unit was created or started (for the age column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// Node name or EC2 instance id the unit runs on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// EC2 instance id beneath, when known (the join key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    pub diagnosis: Diagnosis,
}

/// A spot or maintenance signal on an EC2 instance, which flows to every
/// workload on it.
#[derive(Clone, Debug, PartialEq)]
pub struct HostRisk {
    pub instance_id: String,
    pub code: CauseCode,
    /// One sentence: `spot request sir-… marked-for-termination at 03:04:10`.
    pub detail: String,
    pub notice: Option<Timestamp>,
    /// notice + 2 min for spot interruptions; `NotBefore` for scheduled events.
    pub deadline: Option<Timestamp>,
    pub evidence: Vec<Evidence>,
    /// The instance is already gone (terminated / node deleted): workloads are lost, not at risk.
    pub lost: bool,
}

impl HostRisk {
    /// True when the risk should turn the workloads on the host AtRisk: always,
    /// except a scheduled event (retirement, reboot, …) whose `NotBefore` is
    /// further away than [`spot::SCHEDULED_EVENT_HORIZON`]. A far event is still
    /// shown on the host's own unit (Running, with the event in its chain).
    pub fn pressing(&self, now: Timestamp) -> bool {
        if self.lost || self.code != CauseCode::ScheduledMaintenance {
            return true;
        }
        match (
            self.deadline,
            now.checked_add(spot::SCHEDULED_EVENT_HORIZON),
        ) {
            (Some(d), Ok(horizon)) => d <= horizon,
            _ => true,
        }
    }
}

/// Everything diagnosis knows besides the objects of one unit.
pub struct Context<'a> {
    pub fleet: &'a Fleet,
    pub joins: &'a Joins,
    /// By EC2 instance id.
    pub host_risks: &'a HashMap<String, HostRisk>,
    pub now: Timestamp,
}

/// Diagnoses every unit in the fleet, sorted by severity then age (oldest first).
pub fn diagnose_fleet(fleet: &Fleet, now: Timestamp) -> Vec<Unit> {
    let joins = Joins::build(fleet);
    let host_risks = spot::host_risks(fleet, &joins, now);
    let cx = Context {
        fleet,
        joins: &joins,
        host_risks: &host_risks,
        now,
    };
    let mut units = Vec::new();
    for (context, cluster) in &fleet.kube {
        units.extend(k8s::diagnose_cluster(&cx, context, cluster));
    }
    for (region, r) in &fleet.aws {
        units.extend(ecs::diagnose_region(&cx, region, r));
    }
    units.extend(spot::host_units(&cx));
    sort_units(&mut units);
    units
}

/// Severity first, then the oldest problem first, then name for stability.
pub fn sort_units(units: &mut [Unit]) {
    units.sort_by(|a, b| {
        b.diagnosis
            .verdict
            .severity()
            .cmp(&a.diagnosis.verdict.severity())
            .then_with(|| a.since.cmp(&b.since))
            .then_with(|| a.id.cmp(&b.id))
    });
}
