//! ECS diagnosis: tasks and services with missing tasks.

use super::{Context, Diagnosis, Unit, UnitKind, Verdict};
use crate::model::AwsRegion;

pub fn diagnose_region(cx: &Context<'_>, region: &str, r: &AwsRegion) -> Vec<Unit> {
    let _ = cx;
    r.tasks
        .values()
        .map(|t| {
            let state = t.last_status.clone().unwrap_or_default();
            let mut d = Diagnosis::running(state.clone());
            d.verdict = if state == "RUNNING" {
                Verdict::Running
            } else {
                Verdict::Stopped
            };
            Unit {
                id: format!("task/{region}/{}", t.task_arn),
                kind: UnitKind::EcsTask,
                source: region.to_string(),
                scope: t.cluster_name().unwrap_or_default().to_string(),
                name: t.short_id().to_string(),
                state,
                since: t.created_at.map(|x| x.0),
                host: None,
                instance_id: None,
                diagnosis: d,
            }
        })
        .collect()
}
