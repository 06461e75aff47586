//! Why an unscheduled pod stays Pending: scheduling gates, the default
//! scheduler's FailedScheduling (re-computing the taints and the resource
//! headroom from the nodes), and Karpenter's provisioning events.

use std::collections::BTreeMap;

use crate::model::objects::Pod;

use super::resources::{blocking_taints, format_quantity, largest_headroom, pod_requests};
use super::{Ev, K8s, Link, latest, name_list, plural};
use crate::diagnose::scheduling::{
    KarpenterKind, NodeReason, ReasonKind, parse_failed_scheduling, parse_karpenter,
    parse_nominated,
};
use crate::diagnose::{CauseCode, Evidence};

/// Cause links for a pod that has no node yet.
pub(crate) fn unscheduled_links(k: &K8s<'_>, pod: &Pod, evs: &[Ev<'_>]) -> Vec<Link> {
    let mut links = Vec::new();
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let object = format!("pod/{ns}/{name}");
    let conditions = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[]);
    let sched_cond = conditions.iter().find(|c| c.type_ == "PodScheduled");

    // Scheduling gates: the scheduler does not even look at the pod.
    let gates: Vec<String> = pod
        .spec
        .as_ref()
        .and_then(|s| s.scheduling_gates.as_ref())
        .map(|g| g.iter().map(|g| g.name.clone()).collect())
        .unwrap_or_default();
    let gated_cond = sched_cond.filter(|c| c.reason.as_deref() == Some("SchedulingGated"));
    if !gates.is_empty() || gated_cond.is_some() {
        let which = if gates.is_empty() {
            "spec.schedulingGates".to_string()
        } else {
            gates.join(", ")
        };
        let mut l = Link::new(
            CauseCode::SchedulingGated,
            format!(
                "scheduling is blocked by gates {which}: the controller that added them must remove them"
            ),
            format!(
                "gated by {}",
                gates
                    .first()
                    .map(String::as_str)
                    .unwrap_or("schedulingGates")
            ),
        );
        if let Some(c) = gated_cond {
            l = l.with(
                Evidence::new(
                    "condition",
                    object.clone(),
                    "PodScheduled=False SchedulingGated",
                    c.message.clone().unwrap_or_default(),
                )
                .at(c.last_transition_time.as_ref().map(|t| t.0)),
            );
        }
        links.push(l);
        return links;
    }

    // The default scheduler: newest FailedScheduling that parses, else the condition.
    let failed = evs
        .iter()
        .rev()
        .filter(|e| e.reason == "FailedScheduling")
        .find_map(|e| parse_failed_scheduling(e.message).map(|f| (f, e.evidence())));
    let failed = failed.or_else(|| {
        let c = sched_cond.filter(|c| c.status == "False")?;
        let msg = c.message.as_deref()?;
        let f = parse_failed_scheduling(msg)?;
        Some((
            f,
            Evidence::new(
                "condition",
                object.clone(),
                format!("PodScheduled=False {}", c.reason.as_deref().unwrap_or("")),
                msg,
            )
            .at(c.last_transition_time.as_ref().map(|t| t.0)),
        ))
    });
    if let Some((f, ev)) = failed {
        let mut reasons: Vec<Link> = f
            .reasons
            .iter()
            .map(|r| reason_link(k, pod, r, &ev))
            .collect();
        // A list of taint keys goes last: it is the phrase the headline can
        // shorten (`+N`), so the short reasons before it (cordoned nodes) stay visible.
        if let Some(i) = reasons.iter().position(|l| l.short.starts_with("taints: ")) {
            let l = reasons.remove(i);
            reasons.push(l);
        }
        links.extend(reasons);
    }

    // Karpenter: why it cannot launch a node, or which node it is launching.
    let karp = evs
        .iter()
        .rev()
        .filter(|e| e.reason == "FailedScheduling")
        .find_map(|e| parse_karpenter(e.message).map(|kf| (kf, e)));
    let nominated = latest(evs, &["Nominated"]);
    match (karp, nominated) {
        (Some((kf, e)), nom) if nom.is_none_or(|n| n.last <= e.last) => {
            let short = match &kf.kind {
                KarpenterKind::IncompatibleNodePool(p) => {
                    format!(
                        "no nodepool fits ({})",
                        p.first().map(String::as_str).unwrap_or("?")
                    )
                }
                KarpenterKind::Taint(t) => format!("Karpenter: taint {t} not tolerated"),
                KarpenterKind::LimitsExceeded(p) => {
                    format!("nodepool {} at its limits", p.as_deref().unwrap_or("?"))
                }
                KarpenterKind::NoInstanceType => "no instance type fits".into(),
                KarpenterKind::Other => "Karpenter cannot provision".into(),
            };
            // What the node pools themselves reported (NoCompatibleInstanceTypes, …).
            let pools: Vec<String> = match &kf.kind {
                KarpenterKind::IncompatibleNodePool(p) => p.clone(),
                KarpenterKind::LimitsExceeded(Some(p)) => vec![p.clone()],
                _ => Vec::new(),
            };
            let pool_evidence = pools
                .iter()
                .flat_map(|p| k.events("NodePool", "", p, None))
                .filter(|e| e.type_ == "Warning" || e.reason == "NoCompatibleInstanceTypes")
                .map(|e| e.evidence())
                .collect::<Vec<_>>();
            links.push(
                Link::new(
                    kf.kind.cause_code(),
                    format!("Karpenter cannot launch a node: {}", kf.text),
                    short,
                )
                .with(e.evidence())
                .with_all(pool_evidence),
            );
        }
        (_, Some(n)) => {
            let (claim, node) = parse_nominated(n.message).unwrap_or((None, None));
            let target = claim
                .map(|c| format!("nodeclaim/{c}"))
                .or(node.map(|n| format!("node/{n}")))
                .unwrap_or_else(|| "a new node".into());
            links.push(
                Link::new(
                    CauseCode::NodeProvisioning,
                    format!("Karpenter nominated {target} for this pod; it is waiting for that node to be ready"),
                    format!("waiting for {target}"),
                )
                .with(n.evidence()),
            );
        }
        _ => {}
    }
    links
}

/// `key → (shown taint, node names, time added)`.
pub(crate) type TaintTable = BTreeMap<String, (String, Vec<String>, Option<jiff::Timestamp>)>;
type TaintRow<'t> = (
    &'t String,
    &'t (String, Vec<String>, Option<jiff::Timestamp>),
);

/// Nodes blocking this pod with a taint it does not tolerate, by taint key:
/// `key → (value:effect, node names, time added)`.
pub(crate) fn taint_table(k: &K8s<'_>, pod: &Pod) -> TaintTable {
    let mut table: BTreeMap<String, (String, Vec<String>, Option<jiff::Timestamp>)> =
        BTreeMap::new();
    for (name, node) in &k.cluster.nodes {
        for t in blocking_taints(pod, node) {
            // The cordon taint is reported as `node(s) were unschedulable`.
            if t.key == "node.kubernetes.io/unschedulable" {
                continue;
            }
            let shown = match t.value.as_deref() {
                Some(v) if !v.is_empty() => format!("{}={v}:{}", t.key, t.effect),
                _ => format!("{}:{}", t.key, t.effect),
            };
            let e = table
                .entry(t.key.clone())
                .or_insert_with(|| (shown, Vec::new(), None));
            e.1.push(name.clone());
            let added = t.time_added.as_ref().map(|t| t.0);
            if e.2.is_none() {
                e.2 = added;
            }
        }
    }
    table
}

fn reason_link(k: &K8s<'_>, pod: &Pod, r: &NodeReason, ev: &Evidence) -> Link {
    let n = r.count.map(|c| c as usize);
    let nodes_phrase = n
        .map(|n| plural(n, "node"))
        .unwrap_or_else(|| "nodes".into());
    let code = r.kind.cause_code();
    let one = n == Some(1);
    let v = |single: &'static str, many: &'static str| if one { single } else { many };
    match &r.kind {
        ReasonKind::Taint { key, value } => {
            let cache = k.sched_cache(pod);
            let table = &cache.taints;
            let mut evidence = vec![ev.clone()];
            let relevant: Vec<TaintRow<'_>> = match key {
                Some(key) => table.iter().filter(|(k, _)| *k == key).collect(),
                None => table.iter().collect(),
            };
            for (key, (shown, nodes, added)) in &relevant {
                evidence.push(
                    Evidence::new(
                        "taint",
                        format!("node/{}", nodes.first().map(String::as_str).unwrap_or("")),
                        key.as_str(),
                        format!("{shown} on {}: {}", plural(nodes.len(), "node"), name_list(nodes, 5)),
                    )
                    .at(*added),
                );
            }
            let (detail, short) = match (key, relevant.is_empty()) {
                (Some(key), _) => {
                    let val = value.as_deref().map(|v| format!("={v}")).unwrap_or_default();
                    (
                        format!("{nodes_phrase} {} taint {key}{val} that the pod does not tolerate{}", v("has", "have"), spot_hint(key)),
                        format!("{nodes_phrase} tainted {key}"),
                    )
                }
                (None, false) => {
                    let parts: Vec<String> = relevant
                        .iter()
                        .map(|(key, (_, nodes, _))| format!("{key} on {}", plural(nodes.len(), "node")))
                        .collect();
                    // The spot/disruption keys first (they say what is going
                    // on), then the most widespread, then by name.
                    let mut keys: Vec<(&str, usize)> = relevant
                        .iter()
                        .map(|(k, (_, nodes, _))| (k.as_str(), nodes.len()))
                        .collect();
                    keys.sort_by_key(|(k, n)| (taint_rank(k), std::cmp::Reverse(*n), *k));
                    let top = keys.first().map(|(k, _)| *k).unwrap_or("");
                    let short = match keys.as_slice() {
                        // One key: the nodes it is on.
                        [(k, n)] => format!("{} tainted {k}", plural(*n, "node")),
                        // Several: each key with its own node count; the
                        // headline drops the last ones (`+N`) when short of room.
                        _ => format!(
                            "taints: {}",
                            keys.iter()
                                .map(|(k, n)| format!("{k} ({n})"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    (
                        format!("untolerated taints: {}{}", parts.join(", "), spot_hint(top)),
                        short,
                    )
                }
                (None, true) => (
                    format!("{nodes_phrase} {} taints the pod does not tolerate (the dump has no node data to name them)", v("has", "have")),
                    format!("{nodes_phrase} tainted"),
                ),
            };
            Link::new(code, detail, short).with_all(evidence)
        }
        ReasonKind::Insufficient(res) => {
            let req = pod_requests(pod).get(res.as_str()).copied();
            let head = if k.cluster.nodes.is_empty() {
                None
            } else {
                // Headroom on the nodes the pod could otherwise use; all nodes if none.
                let cache = k.sched_cache(pod);
                let known = cache.headroom.borrow().get(res.as_str()).cloned();
                known.unwrap_or_else(|| {
                    let h = largest_headroom(k.cluster, k.usage(), res, |node| {
                        blocking_taints(pod, node).is_empty()
                    })
                    .or_else(|| largest_headroom(k.cluster, k.usage(), res, |_| true));
                    cache.headroom.borrow_mut().insert(res.clone(), h.clone());
                    h
                })
            };
            let mut detail = format!("{nodes_phrase} {} {res}", v("lacks", "lack"));
            if let Some(req) = req {
                detail.push_str(&format!("; the pod requests {}", format_quantity(res, req)));
            }
            let mut l = Link::new(code, String::new(), format!("{} short of {res}", n.map(|n| n.to_string()).unwrap_or_else(|| "nodes".into())))
                .with(ev.clone());
            if let Some((node, free, alloc)) = head {
                detail.push_str(&format!(
                    "; the most free on any node is {} of {} on {node}",
                    format_quantity(res, free),
                    format_quantity(res, alloc)
                ));
                l = l.with(Evidence::new(
                    "status",
                    format!("node/{node}"),
                    format!("allocatable {res}"),
                    format!("{} allocatable, {} requested by its pods", format_quantity(res, alloc), format_quantity(res, alloc - free)),
                ));
            }
            l.cause.detail = detail;
            l
        }
        ReasonKind::TooManyPods => Link::new(
            code,
            format!("{nodes_phrase} {} at max pods (on EKS: the VPC CNI IP limit of the instance type)", v("is", "are")),
            format!("{nodes_phrase} at pod limit"),
        )
        .with(ev.clone()),
        ReasonKind::NodeAffinity => {
            let sel = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_selector.as_ref())
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))
                .filter(|s| !s.is_empty());
            let detail = match sel {
                Some(s) => format!("{nodes_phrase} {} not match the pod's nodeSelector {s} or node affinity", v("does", "do")),
                None => format!("{nodes_phrase} {} not match the pod's node affinity", v("does", "do")),
            };
            Link::new(code, detail, format!("{nodes_phrase} don't match selector")).with(ev.clone())
        }
        ReasonKind::Unschedulable => {
            // Each cordoned node with the spot signal behind the cordon, if any.
            let cordoned: Vec<String> = k
                .nodes
                .values()
                .filter(|f| f.cordoned)
                .map(|f| {
                    let spot = f.signals.iter().any(|s| s.code == CauseCode::SpotInterruption)
                        || f.host_risk.as_ref().is_some_and(|r| r.code == CauseCode::SpotInterruption);
                    if spot {
                        format!("{} (spot interruption)", f.name)
                    } else {
                        f.name.clone()
                    }
                })
                .collect();
            let mut cordoned = cordoned;
            cordoned.sort();
            let detail = if cordoned.is_empty() {
                format!("{nodes_phrase} {} cordoned (drain in progress?)", v("is", "are"))
            } else {
                format!("{nodes_phrase} {} cordoned: {}", v("is", "are"), name_list(&cordoned, 5))
            };
            Link::new(code, detail, format!("{} cordoned", n.map(|n| n.to_string()).unwrap_or_else(|| "nodes".into()))).with(ev.clone())
        }
        ReasonKind::PodAffinity | ReasonKind::PodAntiAffinity | ReasonKind::ExistingPodsAntiAffinity => {
            Link::new(code, format!("{nodes_phrase}: {}", r.text), format!("{nodes_phrase} fail pod affinity")).with(ev.clone())
        }
        ReasonKind::TopologySpread => Link::new(
            code,
            format!("{nodes_phrase} would break the pod's topology spread constraints (a zone short of nodes, e.g. after a spot reclaim?)"),
            format!("{nodes_phrase} fail topology spread"),
        )
        .with(ev.clone()),
        ReasonKind::HostPorts => Link::new(
            code,
            format!("{nodes_phrase} {} no free host port the pod needs", v("has", "have")),
            format!("{nodes_phrase} host port taken"),
        )
        .with(ev.clone()),
        ReasonKind::UnboundPvc | ReasonKind::PvcNotFound(_) => pvc_link(k, pod, r, ev),
        ReasonKind::VolumeNodeAffinity
        | ReasonKind::NoAvailablePv
        | ReasonKind::NoVolumeZone
        | ReasonKind::MaxVolumeCount => Link::new(
            code,
            format!("{nodes_phrase}: {} (an EBS volume is pinned to its zone; is there a node left there?)", r.text),
            format!("{nodes_phrase}: volume zone conflict"),
        )
        .with(ev.clone()),
        ReasonKind::Other => Link::new(
            CauseCode::Unknown,
            format!("{nodes_phrase}: {}", r.text),
            format!("{nodes_phrase}: {}", r.text),
        )
        .with(ev.clone()),
    }
}

/// How much a taint key says about why capacity is missing: spot and
/// disruption keys first (0), node health (1), then static keys (2).
fn taint_rank(key: &str) -> u8 {
    match key {
        "karpenter.sh/disrupted"
        | "karpenter.sh/disruption"
        | "node.kubernetes.io/unschedulable"
        | "node.kubernetes.io/out-of-service" => 0,
        k if k.starts_with("aws-node-termination-handler/") => 0,
        "node.kubernetes.io/unreachable"
        | "node.kubernetes.io/not-ready"
        | "karpenter.sh/unregistered"
        | "node.cloudprovider.kubernetes.io/uninitialized" => 1,
        _ => 2,
    }
}

fn spot_hint(key: &str) -> &'static str {
    match key {
        "karpenter.sh/disrupted" => " (Karpenter is disrupting those nodes)",
        "aws-node-termination-handler/spot-itn" => " (spot interruption in progress)",
        "aws-node-termination-handler/rebalance-recommendation" => {
            " (spot rebalance recommendation)"
        }
        "node.kubernetes.io/unreachable" | "node.kubernetes.io/not-ready" => {
            " (nodes lost or NotReady)"
        }
        "node.kubernetes.io/out-of-service" => " (nodes shut down)",
        _ => "",
    }
}

fn pvc_link(k: &K8s<'_>, pod: &Pod, r: &NodeReason, ev: &Evidence) -> Link {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let claims: Vec<String> = match &r.kind {
        ReasonKind::PvcNotFound(name) => vec![name.clone()],
        _ => pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .map(|c| c.claim_name.clone())
            })
            .collect(),
    };
    let mut evidence = vec![ev.clone()];
    let mut unbound = Vec::new();
    for c in &claims {
        let key = (ns.to_string(), c.clone());
        match k.cluster.pvcs.get(&key) {
            None => {
                if matches!(r.kind, ReasonKind::PvcNotFound(_)) || !k.cluster.pvcs.is_empty() {
                    unbound.push(format!("{c} (missing)"));
                }
            }
            Some(pvc) => {
                let phase = pvc
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("Pending");
                if phase != "Bound" {
                    unbound.push(format!("{c} ({phase})"));
                    for e in k.events("PersistentVolumeClaim", ns, c, pvc.metadata.uid.as_deref()) {
                        if e.type_ == "Warning"
                            || e.reason == "WaitForFirstConsumer"
                            || e.reason == "ExternalProvisioning"
                        {
                            evidence.push(e.evidence());
                        }
                    }
                }
            }
        }
    }
    let first = claims.first().cloned().unwrap_or_else(|| "?".into());
    let detail = if unbound.is_empty() {
        format!("{}: PVC {} not bound", r.text, claims.join(", "))
    } else {
        format!("PVC not bound: {}", unbound.join(", "))
    };
    Link::new(
        CauseCode::PvcUnbound,
        detail,
        format!("PVC {first} unbound"),
    )
    .with_all(evidence)
}
