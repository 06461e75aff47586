//! Kubernetes diagnosis: pods, nodes and owners that cannot create pods.

use super::{Context, Diagnosis, Unit, UnitKind, Verdict};
use crate::model::{KubeCluster, pod_phase_label};

pub fn diagnose_cluster(cx: &Context<'_>, context: &str, cluster: &KubeCluster) -> Vec<Unit> {
    let _ = cx;
    cluster
        .pods
        .iter()
        .map(|((ns, name), pod)| {
            let state = pod_phase_label(pod);
            let verdict = match state.as_str() {
                "Running" => Verdict::Running,
                "Pending" => Verdict::Pending,
                _ => Verdict::Stuck,
            };
            let mut d = Diagnosis::running(state.clone());
            d.verdict = verdict;
            Unit {
                id: format!("pod/{context}/{ns}/{name}"),
                kind: UnitKind::Pod,
                source: context.to_string(),
                scope: ns.clone(),
                name: name.clone(),
                state,
                since: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
                host: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
                instance_id: None,
                diagnosis: d,
            }
        })
        .collect()
}
