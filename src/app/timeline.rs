//! The merged, time-ordered events of all sources: for one unit or for everything.

use jiff::Timestamp;

use crate::diagnose::{Unit, UnitKind};
use crate::model::objects::Event;

use crate::model::time::{event_count, event_time};
use crate::model::{Fleet, Subject};

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub at: Timestamp,
    /// `k8s`, `ecs`, `ec2`.
    pub source: &'static str,
    /// `pod/cart-7d9`, `node/ip-…`, `task/3f2a…`, `service/orders-api`, `i-0abc…`.
    pub object: String,
    /// Event reason or transition label.
    pub reason: String,
    pub message: String,
    pub count: i32,
    pub warning: bool,
}

/// Entries for `unit` (or everything when `None`), newest first, at most `limit`.
pub fn entries(fleet: &Fleet, unit: Option<&Unit>, limit: usize) -> Vec<Entry> {
    let mut out = Vec::new();
    // Kubernetes events: through the index for one unit, all for everything.
    for (ctx, c) in &fleet.kube {
        if unit.is_some_and(|u| u.source != *ctx) {
            continue;
        }
        let events: Vec<&Event> = match unit {
            None => c.events.values().map(|e| &**e).collect(),
            Some(u) => {
                let mut objects: Vec<(&str, &str, &str)> = Vec::new();
                match u.kind {
                    UnitKind::Pod => {
                        objects.push(("Pod", &u.scope, &u.name));
                        if let Some(h) = u.host.as_deref() {
                            objects.extend([("Node", "", h), ("Node", "default", h)]);
                        }
                    }
                    UnitKind::Node => objects.extend([
                        ("Node", "", u.name.as_str()),
                        ("Node", "default", u.name.as_str()),
                    ]),
                    UnitKind::Workload => {
                        let (kind, name) = u.name.split_once('/').unwrap_or(("", u.name.as_str()));
                        if let Some(kind) = workload_kind(kind) {
                            objects.push((kind, &u.scope, name));
                        }
                    }
                    _ => {}
                }
                objects
                    .into_iter()
                    .flat_map(|(k, ns, n)| c.events_for(k, ns, n))
                    .collect()
            }
        };
        for ev in events {
            let o = &ev.involved_object;
            let Some(at) = event_time(ev) else { continue };
            out.push(Entry {
                at,
                source: "k8s",
                object: format!(
                    "{}/{}",
                    o.kind.as_deref().unwrap_or_default().to_lowercase(),
                    o.name.as_deref().unwrap_or_default()
                ),
                reason: ev.reason.clone().unwrap_or_default(),
                message: ev.message.clone().unwrap_or_default().trim().to_string(),
                count: event_count(ev),
                warning: ev.type_.as_deref() == Some("Warning"),
            });
        }
    }
    // ECS service events.
    for (region, r) in &fleet.aws {
        if unit.is_some_and(|u| u.source != *region) {
            continue;
        }
        for svc in r.services.values() {
            let relevant = match unit {
                None => true,
                Some(u) if u.kind == UnitKind::EcsService => u.id.ends_with(&svc.service_arn),
                Some(u) if u.kind == UnitKind::EcsTask => {
                    u.scope == svc.cluster_name().unwrap_or_default()
                        && task_service(fleet, region, u).as_deref()
                            == Some(svc.service_name.as_str())
                }
                _ => false,
            };
            if !relevant {
                continue;
            }
            for e in &svc.events {
                let Some(at) = e.created_at else { continue };
                let msg = e.message.trim().to_string();
                let warning = !msg.contains("steady state")
                    && !msg.contains("has started")
                    && !msg.contains("registered");
                out.push(Entry {
                    at: at.0,
                    source: "ecs",
                    object: format!("service/{}", svc.service_name),
                    reason: "ServiceEvent".into(),
                    message: msg,
                    count: 1,
                    warning,
                });
            }
        }
    }
    // Observed transitions.
    for ch in &fleet.changes {
        let relevant = match unit {
            None => true,
            Some(u) => subject_concerns(&ch.subject, u, fleet),
        };
        if !relevant {
            continue;
        }
        let (source, object) = match &ch.subject {
            Subject::Pod { name, .. } => ("k8s", format!("pod/{name}")),
            Subject::Node { name, .. } => ("k8s", format!("node/{name}")),
            Subject::EcsTask { arn, .. } => ("ecs", format!("task/{}", short(arn))),
            Subject::EcsService { arn, .. } => ("ecs", format!("service/{}", short(arn))),
            Subject::ContainerInstance { arn, .. } => {
                ("ecs", format!("container-instance/{}", short(arn)))
            }
            Subject::Instance { id, .. } => ("ec2", id.clone()),
        };
        out.push(Entry {
            at: ch.at,
            source,
            object,
            reason: "Observed".into(),
            message: ch.what.clone(),
            count: 1,
            warning: ch.warning,
        });
    }
    let newest_first = |a: &Entry, b: &Entry| b.at.cmp(&a.at).then_with(|| a.object.cmp(&b.object));
    // Only the newest `limit` are shown: select them, then sort just those.
    if out.len() > limit && limit > 0 {
        out.select_nth_unstable_by(limit - 1, newest_first);
        out.truncate(limit);
    }
    out.sort_by(newest_first);
    out.truncate(limit);
    out
}

/// `deployment` (a workload unit's name prefix) → `Deployment` (an event's involvedObject kind).
fn workload_kind(lower: &str) -> Option<&'static str> {
    Some(match lower {
        "deployment" => "Deployment",
        "replicaset" => "ReplicaSet",
        "statefulset" => "StatefulSet",
        "daemonset" => "DaemonSet",
        "job" => "Job",
        "cronjob" => "CronJob",
        _ => return None,
    })
}

fn short(arn: &str) -> String {
    crate::model::aws::arn_tail(arn).chars().take(12).collect()
}

fn task_service(fleet: &Fleet, region: &str, u: &Unit) -> Option<String> {
    let arn = u.id.strip_prefix(&format!("task/{region}/"))?;
    fleet
        .aws
        .get(region)?
        .tasks
        .get(arn)?
        .service_name()
        .map(str::to_string)
}

fn subject_concerns(s: &Subject, u: &Unit, fleet: &Fleet) -> bool {
    let on_host = |id: &str| u.instance_id.as_deref() == Some(id);
    match s {
        Subject::Pod {
            context,
            namespace,
            name,
        } => {
            u.kind == UnitKind::Pod
                && *context == u.source
                && *namespace == u.scope
                && *name == u.name
        }
        Subject::Node { context, name } => {
            *context == u.source
                && ((u.kind == UnitKind::Node && *name == u.name)
                    || (u.kind == UnitKind::Pod && u.host.as_deref() == Some(name.as_str())))
        }
        Subject::EcsTask { arn, .. } => u.id.ends_with(arn.as_str()),
        Subject::EcsService { arn, .. } => u.id.ends_with(arn.as_str()),
        Subject::ContainerInstance { region, arn } => fleet
            .aws
            .get(region)
            .and_then(|r| r.container_instances.get(arn))
            .and_then(|(_, ci)| ci.ec2_instance_id.as_deref())
            .is_some_and(on_host),
        Subject::Instance { id, .. } => {
            on_host(id) || (u.kind == UnitKind::Instance && u.name == *id)
        }
    }
}
