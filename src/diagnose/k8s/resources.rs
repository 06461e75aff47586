//! Resource quantities, pod requests, node headroom and taint toleration.

use std::collections::{BTreeMap, HashMap};

use crate::model::objects::{Pod, Toleration};
use k8s_openapi::api::core::v1::{Node, Taint};

use crate::model::KubeCluster;

/// Parses a Kubernetes quantity into a base-unit `f64` (cores for cpu, bytes
/// for memory). `None` when it is not a quantity.
pub fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    // Exponent form: 1e3, 1E-3
    if let Some(rest) = suffix.strip_prefix(['e', 'E']) {
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return q.parse().ok();
        }
    }
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(n * mult)
}

/// A quantity for people: `1.5 cpu`/`250m`, `512Mi`, `2Gi`, plain counts.
pub fn format_quantity(resource: &str, v: f64) -> String {
    if resource == "cpu" {
        if v < 1.0 {
            return format!("{}m", (v * 1000.0).round() as i64);
        }
        let s = format!("{v:.2}");
        return s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if resource == "memory" || resource.ends_with("storage") {
        let gi = 1024.0 * 1024.0 * 1024.0;
        let mi = 1024.0 * 1024.0;
        if v.abs() >= gi {
            let s = format!("{:.1}", v / gi);
            return format!("{}Gi", s.trim_end_matches(".0"));
        }
        return format!("{}Mi", (v / mi).round() as i64);
    }
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

/// The pod's effective request for each resource, as the scheduler computes
/// it: max(sum of containers, largest init container) + overhead.
pub fn pod_requests(pod: &Pod) -> BTreeMap<String, f64> {
    let mut sum: BTreeMap<String, f64> = BTreeMap::new();
    let Some(spec) = pod.spec.as_ref() else {
        return sum;
    };
    for c in &spec.containers {
        if let Some(req) = c.resources.as_ref().and_then(|r| r.requests.as_ref()) {
            for (k, q) in req {
                if let Some(v) = parse_quantity(&q.0) {
                    *sum.entry(k.clone()).or_default() += v;
                }
            }
        }
    }
    for c in spec.init_containers.iter().flatten() {
        if let Some(req) = c.resources.as_ref().and_then(|r| r.requests.as_ref()) {
            for (k, q) in req {
                if let Some(v) = parse_quantity(&q.0) {
                    let e = sum.entry(k.clone()).or_default();
                    if v > *e {
                        *e = v;
                    }
                }
            }
        }
    }
    for (k, q) in spec.overhead.iter().flatten() {
        if let Some(v) = parse_quantity(&q.0) {
            *sum.entry(k.clone()).or_default() += v;
        }
    }
    sum
}

/// True while a pod holds resources on its node (not Succeeded/Failed).
pub fn pod_holds_resources(pod: &Pod) -> bool {
    !matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded") | Some("Failed")
    )
}

/// Requested resources of the pods bound to each node, computed once per cluster.
pub fn node_usage(cluster: &KubeCluster) -> HashMap<String, BTreeMap<String, f64>> {
    let mut out: HashMap<String, BTreeMap<String, f64>> = HashMap::new();
    for pod in cluster.pods.values() {
        let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
            continue;
        };
        if !pod_holds_resources(pod) {
            continue;
        }
        let used = out.entry(node.to_string()).or_default();
        for (k, v) in pod_requests(pod) {
            *used.entry(k).or_default() += v;
        }
        *used.entry("pods".into()).or_default() += 1.0;
    }
    out
}

/// Allocatable of one resource on a node.
pub fn allocatable(node: &Node, resource: &str) -> Option<f64> {
    node.status
        .as_ref()?
        .allocatable
        .as_ref()?
        .get(resource)
        .and_then(|q| parse_quantity(&q.0))
}

/// The largest free amount of `resource` on any schedulable node:
/// `(node name, free amount, allocatable)`.
pub fn largest_headroom(
    cluster: &KubeCluster,
    usage: &HashMap<String, BTreeMap<String, f64>>,
    resource: &str,
    usable: impl Fn(&Node) -> bool,
) -> Option<(String, f64, f64)> {
    let mut best: Option<(String, f64, f64)> = None;
    for (name, node) in &cluster.nodes {
        if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) || !usable(node) {
            continue;
        }
        let Some(alloc) = allocatable(node, resource) else {
            continue;
        };
        let used = usage
            .get(name)
            .and_then(|u| u.get(resource))
            .copied()
            .unwrap_or(0.0);
        let free = (alloc - used).max(0.0);
        if best.as_ref().is_none_or(|(_, f, _)| free > *f) {
            best = Some((name.clone(), free, alloc));
        }
    }
    best
}

/// True when one toleration tolerates the taint (same rules as the scheduler).
pub fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    if let Some(e) = tol.effect.as_deref() {
        if !e.is_empty() && e != taint.effect {
            return false;
        }
    }
    let op = tol.operator.as_deref().unwrap_or("Equal");
    match tol.key.as_deref() {
        None | Some("") => op == "Exists",
        Some(k) if k != taint.key => false,
        Some(_) => match op {
            "Exists" => true,
            _ => tol.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        },
    }
}

/// The taints on a node that block scheduling of this pod (NoSchedule and
/// NoExecute that no toleration matches).
pub fn blocking_taints<'n>(pod: &Pod, node: &'n Node) -> Vec<&'n Taint> {
    let tols: &[Toleration] = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or(&[]);
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[])
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .filter(|t| !tols.iter().any(|tol| tolerates(tol, t)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("250m"), Some(0.25));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("512Mi"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("1G"), Some(1e9));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("abc"), None);
        assert_eq!(format_quantity("cpu", 0.25), "250m");
        assert_eq!(format_quantity("cpu", 1.5), "1.5");
        assert_eq!(format_quantity("memory", 512.0 * 1024.0 * 1024.0), "512Mi");
        assert_eq!(
            format_quantity("memory", 3.0 * 1024.0 * 1024.0 * 1024.0),
            "3Gi"
        );
    }

    #[test]
    fn toleration_rules() {
        let taint = Taint {
            key: "karpenter.sh/disrupted".into(),
            effect: "NoSchedule".into(),
            value: None,
            time_added: None,
        };
        let exists_all = Toleration {
            operator: Some("Exists".into()),
            ..Default::default()
        };
        assert!(tolerates(&exists_all, &taint));
        let other_key = Toleration {
            key: Some("dedicated".into()),
            operator: Some("Exists".into()),
            ..Default::default()
        };
        assert!(!tolerates(&other_key, &taint));
        let wrong_effect = Toleration {
            key: Some("karpenter.sh/disrupted".into()),
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            ..Default::default()
        };
        assert!(!tolerates(&wrong_effect, &taint));
        let eq = Toleration {
            key: Some("karpenter.sh/disrupted".into()),
            value: Some("".into()),
            ..Default::default()
        };
        assert!(tolerates(&eq, &taint));
    }
}
