//! Kubernetes diagnosis: pods, nodes and owners that cannot create pods.
//!
//! Per cluster, node facts (readiness, cordon, spot/disruption taints, labels
//! and events, EC2 host risks) are computed once; then every pod is diagnosed
//! from its own status, its own events (looked up by involved object, never by
//! scanning all events) and the facts of its node. Owners that cannot create
//! pods (quota, progress deadline, backoff limit) become workload units.

mod nodes;
mod pods;
mod resources;
mod sched;
mod workloads;

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use crate::model::objects::Event;
use jiff::Timestamp;

use super::{Cause, CauseCode, Context, Evidence, SuggestedAction, Unit, Verdict};
use crate::model::KubeCluster;
use crate::model::time::{event_count, event_first_time, event_time};

pub use nodes::{NodeFacts, NodeSignal, ReadyState};
pub use resources::{parse_quantity, pod_requests, tolerates};

/// Longest headline, in characters.
pub const HEADLINE_MAX: usize = 72;

/// Diagnoses every pod, problem node and stuck owner of one cluster.
pub fn diagnose_cluster(cx: &Context<'_>, context: &str, cluster: &KubeCluster) -> Vec<Unit> {
    let k = K8s::new(cx, context, cluster);
    let mut units = Vec::with_capacity(cluster.pods.len() + cluster.nodes.len());
    for ((ns, name), pod) in &cluster.pods {
        units.push(pods::diagnose_pod(&k, ns, name, pod));
    }
    units.extend(nodes::node_units(&k));
    units.extend(workloads::workload_units(&k));
    units
}

/// What the diagnosis of one cluster shares between units.
pub(crate) struct K8s<'a> {
    pub cx: &'a Context<'a>,
    pub context: &'a str,
    pub cluster: &'a KubeCluster,
    pub now: Timestamp,
    pub nodes: HashMap<String, NodeFacts>,
    node_links: HashMap<String, Vec<Link>>,
    /// Requests of the pods on each node; computed on first need.
    usage: OnceCell<HashMap<String, BTreeMap<String, f64>>>,
    /// Per set of tolerations (pods of one owner share them): the taint
    /// table and the largest headroom per resource, computed once.
    sched_cache: RefCell<HashMap<Vec<TolKey>, Rc<SchedCache>>>,
}

/// A toleration as far as scheduling is concerned: key, operator, value, effect.
type TolKey = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// `(node, free, allocatable)` of the node with the most free of a resource.
pub(crate) type Headroom = (String, f64, f64);

/// What scheduling diagnosis computes from all nodes for one set of tolerations.
#[derive(Default)]
pub(crate) struct SchedCache {
    pub taints: sched::TaintTable,
    pub headroom: RefCell<HashMap<String, Option<Headroom>>>,
}

impl<'a> K8s<'a> {
    fn new(cx: &'a Context<'a>, context: &'a str, cluster: &'a KubeCluster) -> Self {
        let mut k = K8s {
            cx,
            context,
            cluster,
            now: cx.now,
            nodes: HashMap::new(),
            node_links: HashMap::new(),
            usage: OnceCell::new(),
            sched_cache: RefCell::new(HashMap::new()),
        };
        k.nodes = nodes::node_facts(&k);
        // The links a node lends to each pod on it, built once per node.
        let mut links = HashMap::new();
        for (name, f) in &k.nodes {
            let l = nodes::node_links(&k, f);
            if !l.is_empty() {
                links.insert(name.clone(), l);
            }
        }
        k.node_links = links;
        k
    }

    /// Cause links of a node (readiness, spot/disruption signals, EC2 risk); empty when healthy.
    pub(crate) fn node_links(&self, node: &str) -> &[Link] {
        self.node_links.get(node).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn usage(&self) -> &HashMap<String, BTreeMap<String, f64>> {
        self.usage
            .get_or_init(|| resources::node_usage(self.cluster))
    }

    /// The node-wide scheduling facts for this pod's tolerations.
    pub(crate) fn sched_cache(&self, pod: &crate::model::objects::Pod) -> Rc<SchedCache> {
        let key: Vec<TolKey> = pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_ref())
            .into_iter()
            .flatten()
            .map(|t| {
                (
                    t.key.clone(),
                    t.operator.clone(),
                    t.value.clone(),
                    t.effect.clone(),
                )
            })
            .collect();
        if let Some(c) = self.sched_cache.borrow().get(&key) {
            return c.clone();
        }
        let c = Rc::new(SchedCache {
            taints: sched::taint_table(self, pod),
            headroom: RefCell::new(HashMap::new()),
        });
        self.sched_cache.borrow_mut().insert(key, c.clone());
        c
    }

    /// Events about one object, deduplicated and oldest first.
    pub fn events(&self, kind: &str, ns: &str, name: &str, uid: Option<&str>) -> Vec<Ev<'a>> {
        collect_events(self.cluster.events_for(kind, ns, name), uid)
    }
}

/// One (deduplicated) event about an object.
#[derive(Clone, Debug)]
pub(crate) struct Ev<'a> {
    pub reason: &'a str,
    pub message: &'a str,
    pub type_: &'a str,
    /// `default-scheduler`, `karpenter`, `kubelet`, …
    pub component: &'a str,
    pub object: String,
    pub last: Option<Timestamp>,
    pub first: Option<Timestamp>,
    pub count: i32,
}

impl Ev<'_> {
    pub fn evidence(&self) -> Evidence {
        Evidence {
            source: "event".into(),
            object: self.object.clone(),
            reason: self.reason.to_string(),
            message: self.message.to_string(),
            at: self.last,
            first_at: if self.count > 1 { self.first } else { None },
            count: self.count,
        }
    }
}

/// Groups events as kubectl describe does: same reason, message and source
/// are one line with the counts summed, first/last widened; ordered by the
/// last time it happened (`series.lastObservedTime` → `lastTimestamp` → `eventTime`).
pub(crate) fn collect_events<'a>(events: Vec<&'a Event>, uid: Option<&str>) -> Vec<Ev<'a>> {
    let mut out: Vec<Ev<'a>> = Vec::with_capacity(events.len());
    for e in events {
        // An event about an earlier object of the same name (a StatefulSet pod
        // recreated) does not explain this one.
        if let (Some(want), Some(got)) = (uid, e.involved_object.uid.as_deref()) {
            if !want.is_empty() && !got.is_empty() && want != got {
                continue;
            }
        }
        let reason = e.reason.as_deref().unwrap_or("");
        let message = e.message.as_deref().unwrap_or("").trim();
        let component = e
            .source
            .as_ref()
            .and_then(|s| s.component.as_deref())
            .or(e.reporting_component.as_deref())
            .unwrap_or("");
        let last = event_time(e);
        let first = event_first_time(e);
        let count = event_count(e);
        if let Some(prev) = out
            .iter_mut()
            .find(|p| p.reason == reason && p.message == message && p.component == component)
        {
            prev.count += count;
            prev.last = prev.last.max(last);
            prev.first = match (prev.first, first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            continue;
        }
        let io = &e.involved_object;
        let kind = io.kind.as_deref().unwrap_or("").to_ascii_lowercase();
        let object = match io.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => {
                format!("{kind}/{ns}/{}", io.name.as_deref().unwrap_or(""))
            }
            _ => format!("{kind}/{}", io.name.as_deref().unwrap_or("")),
        };
        out.push(Ev {
            reason,
            message,
            type_: e.type_.as_deref().unwrap_or(""),
            component,
            object,
            last,
            first,
            count,
        });
    }
    out.sort_by(|a, b| a.last.cmp(&b.last).then_with(|| a.reason.cmp(b.reason)));
    out
}

/// The newest event with one of these reasons.
pub(crate) fn latest<'e, 'a>(evs: &'e [Ev<'a>], reasons: &[&str]) -> Option<&'e Ev<'a>> {
    evs.iter().rev().find(|e| reasons.contains(&e.reason))
}

/// A cause with the short phrase it contributes to the headline.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub cause: Cause,
    pub short: String,
}

impl Link {
    pub fn new(code: CauseCode, detail: impl Into<String>, short: impl Into<String>) -> Self {
        Link {
            cause: Cause {
                code,
                detail: detail.into(),
                evidence: Vec::new(),
            },
            short: short.into(),
        }
    }
    pub fn with(mut self, ev: Evidence) -> Self {
        self.cause.evidence.push(ev);
        self
    }
    pub fn with_all(mut self, evs: impl IntoIterator<Item = Evidence>) -> Self {
        self.cause.evidence.extend(evs);
        self
    }
}

/// The more urgent of two verdicts.
pub(crate) fn worst(a: Verdict, b: Verdict) -> Verdict {
    if b.severity() > a.severity() { b } else { a }
}

/// `prefix: a, b, c` cut to [`HEADLINE_MAX`] characters on a phrase boundary.
///
/// A phrase that is itself a list (`taints: a (1), b (2)`) is set off with
/// `; ` and, when short of room, keeps its first items and counts the rest
/// (`taints: a (1) +1`).
pub(crate) fn headline(prefix: &str, shorts: &[String]) -> String {
    let mut h = prefix.to_string();
    let mut first = true;
    let mut after_list = false;
    for s in shorts.iter().filter(|s| !s.is_empty()) {
        let list = s.contains(", ");
        let sep = if first {
            ": "
        } else if list || after_list {
            "; "
        } else {
            ", "
        };
        let candidate = format!("{h}{sep}{s}");
        if candidate.chars().count() > HEADLINE_MAX {
            if list {
                let items: Vec<&str> = s.split(", ").collect();
                for keep in (1..items.len()).rev() {
                    let c = format!(
                        "{h}{sep}{} +{}",
                        items[..keep].join(", "),
                        items.len() - keep
                    );
                    if c.chars().count() <= HEADLINE_MAX {
                        return c;
                    }
                }
            }
            if first {
                h = truncate(&candidate, HEADLINE_MAX);
            }
            break;
        }
        h = candidate;
        first = false;
        after_list = list;
    }
    h
}

/// Cuts to `max` characters with an ellipsis.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub(crate) fn action(
    title: impl Into<String>,
    command: impl Into<String>,
    mutating: bool,
) -> SuggestedAction {
    SuggestedAction {
        title: title.into(),
        command: command.into(),
        mutating,
    }
}

/// Countdown to a deadline: `1m42s left` near it, `2d left` / `overdue 3h` far from it.
pub fn countdown(now: Timestamp, deadline: Timestamp) -> String {
    let left = deadline.as_second() - now.as_second();
    if left.abs() < 600 {
        crate::model::time::format_countdown(now, deadline)
    } else if left > 0 {
        format!("{} left", crate::model::time::format_duration_secs(left))
    } else {
        format!(
            "overdue {}",
            crate::model::time::format_duration_secs(-left)
        )
    }
}

/// `in 1m42s` near a deadline (seconds matter), `in 2d` far from it, `overdue 20s` past it.
pub(crate) fn due(now: Timestamp, deadline: Timestamp) -> String {
    crate::diagnose::spot::until(now, deadline)
}

/// `1 node` / `3 nodes`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Up to `max` names, then `(+N)`.
pub(crate) fn name_list(names: &[String], max: usize) -> String {
    let mut s = names
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > max {
        s.push_str(&format!(" (+{})", names.len() - max));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(v: serde_json::Value) -> Event {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn events_grouped_and_ordered_as_kubectl_does() {
        let io =
            serde_json::json!({"kind": "Pod", "namespace": "shop", "name": "cart", "uid": "u1"});
        // events.k8s.io recorder: null timestamps, series.
        let sched = event(serde_json::json!({
            "metadata": {"name": "a", "namespace": "shop"}, "involvedObject": io,
            "reason": "FailedScheduling", "message": "0/3 nodes are available", "type": "Warning",
            "reportingComponent": "default-scheduler", "firstTimestamp": null, "lastTimestamp": null,
            "eventTime": "2026-11-30T02:50:00.000000Z",
            "series": {"count": 4, "lastObservedTime": "2026-11-30T02:59:00.000000Z"}
        }));
        // Two core/v1 objects with the same reason and message: one line, counts summed.
        let b1 = event(serde_json::json!({
            "metadata": {"name": "b1", "namespace": "shop"}, "involvedObject": io,
            "reason": "BackOff", "message": "Back-off", "type": "Warning", "source": {"component": "kubelet"},
            "firstTimestamp": "2026-11-30T02:40:00Z", "lastTimestamp": "2026-11-30T02:45:00Z", "count": 3
        }));
        let b2 = event(serde_json::json!({
            "metadata": {"name": "b2", "namespace": "shop"}, "involvedObject": io,
            "reason": "BackOff", "message": "Back-off", "type": "Warning", "source": {"component": "kubelet"},
            "firstTimestamp": "2026-11-30T02:46:00Z", "lastTimestamp": "2026-11-30T02:58:00Z", "count": 2
        }));
        // Same name, another uid: an earlier pod.
        let old = event(serde_json::json!({
            "metadata": {"name": "c", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "cart", "uid": "u0"},
            "reason": "Killing", "message": "Stopping container", "lastTimestamp": "2026-11-30T02:59:30Z"
        }));
        let evs = collect_events(vec![&sched, &b1, &old, &b2], Some("u1"));
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].reason, "BackOff");
        assert_eq!(evs[0].count, 5);
        assert_eq!(evs[0].first, Some("2026-11-30T02:40:00Z".parse().unwrap()));
        assert_eq!(evs[0].last, Some("2026-11-30T02:58:00Z".parse().unwrap()));
        assert_eq!(evs[1].reason, "FailedScheduling");
        assert_eq!(evs[1].count, 4);
        assert_eq!(evs[1].last, Some("2026-11-30T02:59:00Z".parse().unwrap()));
        assert_eq!(evs[1].component, "default-scheduler");
        let e = evs[1].evidence();
        assert_eq!(
            (e.source.as_str(), e.object.as_str(), e.count),
            ("event", "pod/shop/cart", 4)
        );
        assert_eq!(
            latest(&evs, &["BackOff", "FailedScheduling"]).map(|e| e.reason),
            Some("FailedScheduling")
        );
    }

    #[test]
    fn countdowns_near_and_far() {
        let now: Timestamp = "2026-11-30T03:00:00Z".parse().unwrap();
        let at = |s: &str| -> Timestamp { s.parse().unwrap() };
        assert_eq!(countdown(now, at("2026-11-30T03:01:42Z")), "1m42s left");
        assert_eq!(countdown(now, at("2026-12-02T04:00:00Z")), "2d left");
        assert_eq!(countdown(now, at("2026-11-30T01:00:00Z")), "overdue 2h");
    }

    #[test]
    fn headlines_fit() {
        let h = headline(
            "Pending",
            &[
                "3 nodes tainted karpenter.sh/disrupted".into(),
                "2 short of cpu".into(),
                "1 node cordoned with a very long explanation".into(),
            ],
        );
        assert_eq!(
            h,
            "Pending: 3 nodes tainted karpenter.sh/disrupted, 2 short of cpu"
        );
        let long = headline("Stuck", &["x".repeat(100)]);
        assert_eq!(long.chars().count(), HEADLINE_MAX);
        assert_eq!(headline("Running", &[]), "Running");
    }
}
