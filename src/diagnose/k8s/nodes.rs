//! Node facts: readiness, cordon, spot and disruption signals written by
//! aws-node-termination-handler and Karpenter (taints, labels, events), and the
//! EC2 host risk of the instance beneath. They flow to every pod on the node.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Node;

use super::{Ev, K8s, Link, action, due, headline, worst};
use crate::diagnose::{CauseCode, Diagnosis, Evidence, HostRisk, Unit, UnitKind, Verdict};
use crate::model::time::format_age;

/// A NotReady node younger than this is still joining the cluster.
const JOINING: SignedDuration = SignedDuration::from_secs(300);

/// A spot interruption notice gives this long.
pub const SPOT_NOTICE: SignedDuration = SignedDuration::from_secs(120);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadyState {
    Ready,
    NotReady,
    Unknown,
    /// No Ready condition reported (yet).
    Missing,
}

/// A disruption signal found on the node itself.
#[derive(Clone, Debug)]
pub struct NodeSignal {
    pub code: CauseCode,
    pub detail: String,
    pub notice: Option<Timestamp>,
    pub deadline: Option<Timestamp>,
    pub evidence: Vec<Evidence>,
}

/// What diagnosis knows about one node.
#[derive(Clone, Debug)]
pub struct NodeFacts {
    pub name: String,
    pub instance_id: Option<String>,
    pub ready: ReadyState,
    /// When the Ready condition last changed.
    pub ready_since: Option<Timestamp>,
    pub ready_evidence: Option<Evidence>,
    pub cordoned: bool,
    pub spot: bool,
    /// Most urgent first.
    pub signals: Vec<NodeSignal>,
    pub host_risk: Option<HostRisk>,
    /// A scheduled EC2 event beyond [`crate::diagnose::spot::SCHEDULED_EVENT_HORIZON`]:
    /// shown on the node's own unit, not lent to its pods.
    pub far_risk: Option<HostRisk>,
    pub created: Option<Timestamp>,
}

impl NodeFacts {
    /// The nearest deadline: the EC2 host risk's, else a node signal's; none
    /// once the instance is gone (the countdown is over).
    pub fn deadline(&self) -> Option<Timestamp> {
        if self.lost() {
            return None;
        }
        self.host_risk
            .as_ref()
            .and_then(|r| r.deadline)
            .into_iter()
            .chain(self.signals.iter().filter_map(|s| s.deadline))
            .min()
    }
    pub fn lost(&self) -> bool {
        self.host_risk.as_ref().is_some_and(|r| r.lost)
    }
}

fn priority(code: CauseCode) -> u8 {
    match code {
        CauseCode::SpotInterruption => 0,
        CauseCode::NodeLost => 1,
        CauseCode::NodeShutdown => 2,
        CauseCode::ScheduledMaintenance => 3,
        CauseCode::NodeDisrupted => 4,
        CauseCode::Drained => 5,
        CauseCode::RebalanceRecommendation => 6,
        _ => 7,
    }
}

/// Facts for every node of the cluster.
pub(crate) fn node_facts(k: &K8s<'_>) -> HashMap<String, NodeFacts> {
    let mut out = HashMap::with_capacity(k.cluster.nodes.len());
    for (name, node) in &k.cluster.nodes {
        out.insert(name.clone(), facts(k, name, node));
    }
    out
}

fn label<'n>(node: &'n Node, key: &str) -> Option<&'n str> {
    node.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

/// NTH's `action-time` label: unix seconds or RFC 3339.
fn parse_label_time(v: &str) -> Option<Timestamp> {
    if let Ok(secs) = v.trim().parse::<i64>() {
        return Timestamp::from_second(secs).ok();
    }
    v.trim().parse().ok()
}

fn facts(k: &K8s<'_>, name: &str, node: &Node) -> NodeFacts {
    let instance_id =
        k.cx.joins
            .node_instance
            .get(&(k.context.to_string(), name.to_string()))
            .cloned();
    let (host_risk, far_risk) = match instance_id
        .as_deref()
        .and_then(|id| k.cx.host_risks.get(id))
    {
        Some(r) if r.pressing(k.now) => (Some(r.clone()), None),
        Some(r) => (None, Some(r.clone())),
        None => (None, None),
    };
    let object = format!("node/{name}");
    let (mut ready, mut ready_since, mut ready_evidence) = (ReadyState::Missing, None, None);
    for c in node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        if c.type_ == "Ready" {
            ready = match c.status.as_str() {
                "True" => ReadyState::Ready,
                "False" => ReadyState::NotReady,
                _ => ReadyState::Unknown,
            };
            ready_since = c.last_transition_time.as_ref().map(|t| t.0);
            ready_evidence = Some(
                Evidence::new(
                    "condition",
                    object.clone(),
                    format!("Ready={} {}", c.status, c.reason.as_deref().unwrap_or(""))
                        .trim_end()
                        .to_string(),
                    c.message.clone().unwrap_or_default(),
                )
                .at(ready_since),
            );
        }
    }
    let spec = node.spec.as_ref();
    let cordoned = spec.and_then(|s| s.unschedulable) == Some(true);
    let spot = label(node, "karpenter.sh/capacity-type") == Some("spot")
        || label(node, "eks.amazonaws.com/capacityType") == Some("SPOT")
        || label(node, "node.kubernetes.io/lifecycle") == Some("spot");

    let mut signals: Vec<NodeSignal> = Vec::new();
    let action_time =
        label(node, "aws-node-termination-handler/action-time").and_then(parse_label_time);
    let mut add = |code: CauseCode, detail: String, notice: Option<Timestamp>, ev: Evidence| {
        if let Some(s) = signals.iter_mut().find(|s| s.code == code) {
            s.evidence.push(ev);
            if s.notice.is_none() {
                s.notice = notice;
            }
            return;
        }
        signals.push(NodeSignal {
            code,
            detail,
            notice,
            deadline: None,
            evidence: vec![ev],
        });
    };

    // Taints written by NTH and Karpenter.
    for t in spec.and_then(|s| s.taints.as_ref()).into_iter().flatten() {
        let code = match t.key.as_str() {
            "aws-node-termination-handler/spot-itn" => Some(CauseCode::SpotInterruption),
            "aws-node-termination-handler/rebalance-recommendation" => {
                Some(CauseCode::RebalanceRecommendation)
            }
            "aws-node-termination-handler/scheduled-maintenance" => {
                Some(CauseCode::ScheduledMaintenance)
            }
            "aws-node-termination-handler/asg-lifecycle-termination" => Some(CauseCode::Drained),
            "node.kubernetes.io/out-of-service" => Some(CauseCode::NodeShutdown),
            "karpenter.sh/disrupted" | "karpenter.sh/disruption" => Some(CauseCode::NodeDisrupted),
            _ => None,
        };
        let Some(code) = code else { continue };
        let when = t.time_added.as_ref().map(|t| t.0).or(action_time);
        let value = t.value.as_deref().unwrap_or("");
        let shown = if value.is_empty() {
            format!("{}:{}", t.key, t.effect)
        } else {
            format!("{}={value}:{}", t.key, t.effect)
        };
        let who = if t.key.starts_with("karpenter.sh/") {
            "Karpenter"
        } else {
            "aws-node-termination-handler"
        };
        let detail = match code {
            CauseCode::SpotInterruption => {
                format!("{who} received a spot interruption notice for node {name}")
            }
            CauseCode::RebalanceRecommendation => {
                format!("EC2 recommends rebalancing node {name} (spot capacity at elevated risk)")
            }
            CauseCode::ScheduledMaintenance => {
                format!("node {name} has a scheduled maintenance event")
            }
            CauseCode::NodeShutdown => format!("node {name} is out of service (shut down)"),
            CauseCode::NodeDisrupted => {
                format!("Karpenter is disrupting node {name} (tainted {})", t.key)
            }
            _ => format!("{who} is draining node {name} ({})", t.key),
        };
        add(
            code,
            detail,
            when,
            Evidence::new("taint", object.clone(), t.key.clone(), shown).at(when),
        );
    }
    // NTH labels (set when it acts, even with tainting disabled).
    if let Some(act) = label(node, "aws-node-termination-handler/action") {
        let a = act.to_ascii_lowercase();
        let code = if a.contains("spot") || a.contains("itn") || a.contains("interrupt") {
            CauseCode::SpotInterruption
        } else if a.contains("rebalance") {
            CauseCode::RebalanceRecommendation
        } else if a.contains("scheduled") || a.contains("maintenance") {
            CauseCode::ScheduledMaintenance
        } else {
            CauseCode::Drained
        };
        let ev_id = label(node, "aws-node-termination-handler/event-id").unwrap_or("");
        add(
            code,
            format!("aws-node-termination-handler acted on node {name}: {act}"),
            action_time,
            Evidence::new(
                "label",
                object.clone(),
                "aws-node-termination-handler/action",
                if ev_id.is_empty() {
                    act.to_string()
                } else {
                    format!("{act} (event {ev_id})")
                },
            )
            .at(action_time),
        );
    }
    // Node events (and the events of the Karpenter NodeClaim that owns it).
    let mut evs: Vec<Ev<'_>> = k.events("Node", "", name, None);
    evs.extend(k.events("Node", "default", name, None));
    for o in node.metadata.owner_references.iter().flatten() {
        if o.kind == "NodeClaim" {
            evs.extend(k.events("NodeClaim", "", &o.name, None));
        }
    }
    for e in &evs {
        let code = match e.reason {
            "SpotInterruption" | "SpotInterrupted" | "TerminatingOnInterruption" => {
                CauseCode::SpotInterruption
            }
            "RebalanceRecommendation" | "SpotRebalanceRecommendation" => {
                CauseCode::RebalanceRecommendation
            }
            "ScheduledEvent" | "ScheduledChange" => CauseCode::ScheduledMaintenance,
            "InstanceStopping" | "InstanceTerminating" | "Shutdown" => CauseCode::NodeShutdown,
            "Cordon" | "CordonAndDrain" | "PreDrain" | "PostDrain" | "CordonAndDrainError" => {
                CauseCode::Drained
            }
            "FailedDraining" | "TerminationGracePeriodExpiring" | "AwaitingVolumeDetachment" => {
                CauseCode::NodeDisrupted
            }
            r if r.starts_with("Disruption") && r != "DisruptionBlocked" => {
                CauseCode::NodeDisrupted
            }
            _ => continue,
        };
        let detail = match code {
            CauseCode::SpotInterruption => format!("spot interruption notice for node {name}"),
            CauseCode::RebalanceRecommendation => {
                format!("EC2 rebalance recommendation for node {name}")
            }
            CauseCode::ScheduledMaintenance => format!("scheduled event on node {name}"),
            CauseCode::NodeShutdown => {
                format!("the instance of node {name} is stopping or terminating")
            }
            CauseCode::NodeDisrupted => format!("Karpenter is disrupting node {name}"),
            _ => format!("node {name} is being cordoned and drained"),
        };
        add(code, detail, e.first.or(e.last), e.evidence());
    }
    for s in &mut signals {
        if s.code == CauseCode::SpotInterruption {
            s.deadline = s.notice.and_then(|n| n.checked_add(SPOT_NOTICE).ok());
        }
    }
    // A Karpenter disruption taint together with a spot notice is the interruption itself.
    signals.sort_by_key(|s| priority(s.code));
    NodeFacts {
        name: name.to_string(),
        instance_id,
        ready,
        ready_since,
        ready_evidence,
        cordoned,
        spot,
        signals,
        host_risk,
        far_risk,
        created: node.metadata.creation_timestamp.as_ref().map(|t| t.0),
    }
}

/// Cause links a node contributes to the pods on it (and to its own unit):
/// readiness, its own signals, then the EC2 host risk beneath.
pub(crate) fn node_links(k: &K8s<'_>, f: &NodeFacts) -> Vec<Link> {
    let mut links = Vec::new();
    let name = &f.name;
    match f.ready {
        ReadyState::NotReady | ReadyState::Unknown => {
            let how = if f.ready == ReadyState::Unknown {
                "Unknown"
            } else {
                "NotReady"
            };
            let age = f
                .ready_since
                .map(|t| format!(" for {}", format_age(k.now, t)))
                .unwrap_or_default();
            let mut l = Link::new(
                CauseCode::NodeNotReady,
                format!("node {name} is {how}{age}: its kubelet is not reporting"),
                format!("node {how}{age}"),
            );
            if let Some(e) = &f.ready_evidence {
                l = l.with(e.clone());
            }
            links.push(l);
        }
        _ => {}
    }
    // One phrase per signal in the headlines: the spot interruption carries the
    // countdown once (on its first link), a rebalance recommendation is moot
    // once the interruption itself came, and a lost host has no countdown.
    let interrupted = f
        .signals
        .iter()
        .any(|s| s.code == CauseCode::SpotInterruption)
        || f.host_risk
            .as_ref()
            .is_some_and(|r| r.code == CauseCode::SpotInterruption);
    let lost = f.lost();
    let mut spot_said = false;
    for s in &f.signals {
        let short = match s.code {
            CauseCode::SpotInterruption if lost || spot_said => String::new(),
            CauseCode::SpotInterruption => {
                spot_said = true;
                match f.deadline().or(s.deadline) {
                    Some(d) => format!("spot interruption {}", due(k.now, d)),
                    None => "spot interruption".to_string(),
                }
            }
            CauseCode::RebalanceRecommendation if interrupted => String::new(),
            // Once the instance is gone, what was being done to it is history.
            CauseCode::NodeShutdown
            | CauseCode::NodeDisrupted
            | CauseCode::Drained
            | CauseCode::RebalanceRecommendation
                if lost =>
            {
                String::new()
            }
            CauseCode::RebalanceRecommendation => "spot rebalance recommendation".into(),
            CauseCode::ScheduledMaintenance => "scheduled maintenance".into(),
            CauseCode::NodeShutdown => "node shutting down".into(),
            CauseCode::NodeDisrupted => "node disrupted by Karpenter".into(),
            _ => "node draining".into(),
        };
        links.push(Link::new(s.code, s.detail.clone(), short).with_all(s.evidence.clone()));
    }
    if let Some(r) = &f.host_risk {
        let id = &r.instance_id;
        let short = match (r.lost, r.deadline) {
            (true, _) if r.code == CauseCode::SpotInterruption => {
                format!("spot reclaimed {id}")
            }
            (true, _) => format!("instance {id} gone"),
            (false, _) if r.code == CauseCode::SpotInterruption && spot_said => String::new(),
            (false, Some(d)) => format!("{} {}", risk_phrase(r), due(k.now, d)),
            (false, None) => risk_phrase(r),
        };
        links.push(
            Link::new(
                r.code,
                format!("node {name} is EC2 instance {id}: {}", r.detail),
                short,
            )
            .with_all(r.evidence.clone()),
        );
    }
    links
}

/// `scheduled instance-retirement`, else the phrase of the risk's code.
fn risk_phrase(r: &HostRisk) -> String {
    if r.code == CauseCode::ScheduledMaintenance {
        if let Some(e) = r.evidence.iter().find(|e| e.source == "instance-event") {
            return format!("scheduled {}", e.reason);
        }
    }
    code_phrase(r.code).to_string()
}

fn code_phrase(code: CauseCode) -> &'static str {
    match code {
        CauseCode::SpotInterruption => "spot interruption",
        CauseCode::RebalanceRecommendation => "spot rebalance recommendation",
        CauseCode::ScheduledMaintenance => "scheduled maintenance",
        CauseCode::NodeLost => "instance lost",
        CauseCode::NodeShutdown => "instance shutting down",
        _ => "host at risk",
    }
}

/// Units for nodes: every node, with verdict Running when nothing is wrong.
pub(crate) fn node_units(k: &K8s<'_>) -> Vec<Unit> {
    let mut units = Vec::with_capacity(k.cluster.nodes.len());
    for name in k.cluster.nodes.keys() {
        let Some(f) = k.nodes.get(name) else { continue };
        let links = k.node_links(name).to_vec();
        let mut verdict = Verdict::Running;
        let mut all_links = links;
        if f.cordoned && !all_links.iter().any(|l| l.cause.code == CauseCode::Drained) {
            all_links.push(
                Link::new(
                    CauseCode::NodeUnschedulable,
                    format!("node {name} is cordoned (spec.unschedulable): no new pods land on it"),
                    "cordoned",
                )
                .with(Evidence::new(
                    "status",
                    format!("node/{name}"),
                    "Unschedulable",
                    "spec.unschedulable=true",
                )),
            );
        }
        // A node that registered minutes ago is still joining: NotReady is its
        // normal first state (Karpenter's replacement), not a lost kubelet.
        let joining = f.ready != ReadyState::Ready
            && f.created.is_some_and(|c| k.now.duration_since(c) < JOINING)
            && f.ready_since
                .is_none_or(|t| f.created.is_some_and(|c| t <= c + JOINING));
        for l in &all_links {
            let v = match l.cause.code {
                CauseCode::NodeNotReady if joining => Verdict::Pending,
                CauseCode::NodeNotReady => Verdict::Stuck,
                _ if f.lost() => Verdict::Stopped,
                _ => Verdict::AtRisk,
            };
            verdict = worst(verdict, v);
        }
        if f.lost() {
            verdict = Verdict::Stopped;
        }
        // A far scheduled event: in the chain and the headline, not a verdict.
        if let Some(r) = &f.far_risk {
            let id = &r.instance_id;
            let when = r
                .deadline
                .map(|d| format!(" {}", due(k.now, d)))
                .unwrap_or_default();
            all_links.push(
                Link::new(
                    r.code,
                    format!("node {name} is EC2 instance {id}: {} (more than 24 h away: not urgent yet)", r.detail),
                    format!("{}{when}", risk_phrase(r)),
                )
                .with_all(r.evidence.clone()),
            );
        }
        let state = node_state(f);
        let mut actions = vec![action(
            "Describe the node",
            format!("kubectl describe node {name}"),
            false,
        )];
        actions.push(action(
            "Pods on the node",
            format!("kubectl get pods -A -o wide --field-selector spec.nodeName={name}"),
            false,
        ));
        if verdict != Verdict::Running {
            if f.lost() || f.ready != ReadyState::Ready {
                actions.push(action(
                    "Delete the node object of a lost instance",
                    format!("kubectl delete node {name}"),
                    true,
                ));
            } else {
                actions.push(action(
                    "Drain the node now",
                    format!("kubectl drain {name} --ignore-daemonsets --delete-emptydir-data"),
                    true,
                ));
            }
        }
        if let Some(id) = &f.instance_id {
            actions.push(action(
                "The EC2 instance beneath",
                format!("aws ec2 describe-instances --instance-ids {id}"),
                false,
            ));
        }
        // On the node's own row its state already says NotReady/Unknown: the
        // headline starts with what is happening, never with the state word.
        let silent = match (joining, f.ready_since) {
            (true, _) => format!(
                "joining, not Ready yet ({} old)",
                f.created.map(|c| format_age(k.now, c)).unwrap_or_default()
            ),
            (false, Some(t)) => format!("kubelet silent for {}", format_age(k.now, t)),
            (false, None) => "kubelet silent".to_string(),
        };
        let mut shorts: Vec<String> = Vec::new();
        for l in &all_links {
            let s = match l.cause.code {
                CauseCode::NodeNotReady => silent.clone(),
                _ if l.short.is_empty() => String::new(),
                CauseCode::NodeDisrupted => "Karpenter disrupting node".to_string(),
                CauseCode::Drained if f.cordoned => "cordoned and draining".to_string(),
                CauseCode::Drained => "draining".to_string(),
                _ => l.short.clone(),
            };
            if !s.is_empty() && !shorts.contains(&s) {
                shorts.push(s);
            }
        }
        // The most urgent phrase leads: a running spot notice with its countdown,
        // else the loss of the instance, else what the links say in order.
        if let Some(i) = shorts
            .iter()
            .position(|s| s.starts_with("spot interruption") || s.starts_with("spot reclaimed"))
        {
            let lead = shorts.remove(i);
            shorts.insert(0, lead);
        }
        let head = match shorts.split_first() {
            None if verdict == Verdict::Running => {
                format!("Ready{}", if f.spot { " (spot)" } else { "" })
            }
            None => state.clone(),
            Some((lead, rest)) => headline(lead, rest),
        };
        units.push(Unit {
            id: format!("node/{}/{name}", k.context),
            kind: UnitKind::Node,
            source: k.context.to_string(),
            scope: String::new(),
            name: name.clone(),
            state,
            since: f.created,
            host: Some(name.clone()),
            instance_id: f.instance_id.clone(),
            diagnosis: Diagnosis {
                verdict,
                headline: head,
                causes: all_links.into_iter().map(|l| l.cause).collect(),
                actions: if verdict == Verdict::Running {
                    Vec::new()
                } else {
                    actions
                },
                deadline: f.deadline(),
            },
        });
    }
    units
}

/// `Ready`, `NotReady`, `Unknown`, with `,SchedulingDisabled` as kubectl prints it.
pub(crate) fn node_state(f: &NodeFacts) -> String {
    let mut s = match f.ready {
        ReadyState::Ready => "Ready",
        ReadyState::NotReady => "NotReady",
        ReadyState::Unknown | ReadyState::Missing => "Unknown",
    }
    .to_string();
    if f.cordoned {
        s.push_str(",SchedulingDisabled");
    }
    s
}
