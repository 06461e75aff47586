//! ECS diagnosis: one unit per task, and one per service with missing tasks.
//!
//! A task's chain runs symptom → root: stop code / stopped reason / container
//! exit → container instance (DRAINING, agent disconnected) → EC2 instance →
//! spot request. A service's chain starts at its events (placement failures,
//! deployment failures), goes through its recently stopped tasks and the
//! state of its capacity providers and container instances, and ends at the
//! spot signals beneath them.
//!
//! Failures repeat: a crash-looping service leaves a trail of stopped tasks.
//! Only the newest failed task of a service carries the loud verdict
//! (Crashing / Stuck); older ones, and healthy replacements, stay `Stopped`.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use super::ecs_events::{self, PlacementFailure, ServiceEventKind};
use super::spot::{SPOT_NOTICE, container_instance_evidence, lost_for_long, until};
use super::{
    Cause, CauseCode, Context, Diagnosis, Evidence, SuggestedAction, Unit, UnitKind, Verdict,
};
use crate::model::AwsRegion;
use crate::model::aws::{EcsContainerInstance, EcsService, EcsTask, arn_tail};

/// Headlines stay on one line of an 80-column screen.
pub const HEADLINE_MAX: usize = 70;

/// Cuts a headline to [`HEADLINE_MAX`] characters, ending in `…` when cut.
pub fn clip(s: &str) -> String {
    if s.chars().count() <= HEADLINE_MAX {
        return s.to_string();
    }
    let mut out: String = s.chars().take(HEADLINE_MAX - 1).collect();
    out = out.trim_end().to_string();
    out.push('…');
    out
}

/// `4f2a9c1e…` for a 32-hex id; short ids stay whole.
pub fn abbrev(id: &str) -> String {
    if id.chars().count() > 12 {
        let head: String = id.chars().take(8).collect();
        format!("{head}…")
    } else {
        id.to_string()
    }
}

/// How far back stopped tasks explain a service's missing tasks.
const RECENT: SignedDuration = SignedDuration::from_secs(3600);

/// Why a task stopped (or is stopping), grouped by what the operator does about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopClass {
    /// User or scheduler stop (scale-in, deployment replacement): no action.
    Benign,
    /// Spot capacity reclaimed (EC2 host or Fargate Spot).
    Spot,
    /// Never got running: image pull, secrets, volume, runtime errors.
    FailedToStart,
    /// An essential container exited or was OOM-killed.
    ContainerFailure,
    /// Load balancer or container health checks failed.
    HealthCheck,
    /// The host went away or ECS found it unhealthy.
    HostLost,
    /// A stop code or reason spotcheck does not know; shown verbatim.
    Unknown,
}

impl StopClass {
    fn is_failure(self) -> bool {
        matches!(
            self,
            StopClass::FailedToStart | StopClass::ContainerFailure | StopClass::HealthCheck
        )
    }
}

/// Why a task stopped: the class, the causes (symptom first), a short phrase.
pub struct StopAnalysis {
    pub class: StopClass,
    pub causes: Vec<Cause>,
    /// `cannot pull image`, `container app exited 137 (OOM)`, …
    pub phrase: String,
}

/// Error prefixes of `stoppedReason` (and container `reason`) that mean the task never started.
const START_ERRORS: [&str; 7] = [
    "CannotPullContainerError",
    "ResourceInitializationError",
    "CannotStartContainerError",
    "ContainerRuntimeTimeoutError",
    "CannotCreateVolumeError",
    "CannotInspectContainerError",
    "ContainerRuntimeError",
];

fn task_object(t: &EcsTask) -> String {
    format!(
        "task/{}/{}",
        t.cluster_name().unwrap_or("default"),
        t.short_id()
    )
}

fn stop_evidence(t: &EcsTask) -> Evidence {
    let mut reason = t.stop_code.clone().unwrap_or_else(|| "no stopCode".into());
    if let Some(s) = &t.last_status {
        reason = format!("{s}: {reason}");
    }
    Evidence::new(
        "status",
        task_object(t),
        reason,
        t.stopped_reason.clone().unwrap_or_default(),
    )
    .at(t.stopped_at.or(t.stopping_at).map(|x| x.0))
}

fn container_evidence(t: &EcsTask, c: &crate::model::aws::EcsContainer) -> Evidence {
    let mut msg = Vec::new();
    if let Some(code) = c.exit_code {
        msg.push(format!("exit code {code}"));
    }
    if let Some(r) = &c.reason {
        msg.push(r.clone());
    }
    if let Some(img) = &c.image {
        msg.push(format!("image {img}"));
    }
    Evidence::new(
        "container",
        format!("{}/{}", task_object(t), c.name),
        c.last_status.clone().unwrap_or_default(),
        msg.join("; "),
    )
    .at(t.stopped_at.map(|x| x.0))
}

/// Classifies a stopped or stopping task from its stop code, stopped reason and containers.
pub fn analyse_stop(t: &EcsTask) -> StopAnalysis {
    let reason = t.stopped_reason.as_deref().unwrap_or("").trim();
    let code = t.stop_code.as_deref().unwrap_or("");
    let ev = stop_evidence(t);

    // Start errors, in the task reason or any container reason.
    let start_error = START_ERRORS
        .iter()
        .find_map(|p| {
            reason
                .starts_with(p)
                .then(|| (*p, reason.to_string(), None))
        })
        .or_else(|| {
            t.containers.iter().find_map(|c| {
                let r = c.reason.as_deref()?.trim();
                START_ERRORS
                    .iter()
                    .find(|p| r.starts_with(*p))
                    .map(|p| (*p, r.to_string(), Some(c)))
            })
        });
    if let Some((prefix, text, container)) = start_error {
        let mut evidence = vec![ev];
        if let Some(c) = container {
            evidence.push(container_evidence(t, c));
        }
        let mut causes = vec![Cause {
            code: CauseCode::TaskFailedToStart,
            detail: format!("task failed to start: {prefix}"),
            evidence: evidence.clone(),
        }];
        let phrase;
        match prefix {
            "CannotPullContainerError" => {
                let image = container
                    .or_else(|| t.containers.first())
                    .and_then(|c| c.image.clone());
                phrase = match &image {
                    Some(i) => format!("cannot pull image {i}"),
                    None => "cannot pull image".to_string(),
                };
                causes.push(Cause {
                    code: CauseCode::ImagePull,
                    detail: format!(
                        "image pull failed{}: {text}",
                        image.map(|i| format!(" for {i}")).unwrap_or_default()
                    ),
                    evidence,
                });
            }
            "ResourceInitializationError" => {
                phrase = "resource init failed (secrets, registry auth, ENI, volumes)".into();
                causes.push(Cause {
                    code: CauseCode::ResourceInitError,
                    detail: text,
                    evidence,
                });
            }
            _ => {
                phrase = format!("failed to start: {prefix}");
                causes[0].detail = text;
            }
        }
        return StopAnalysis {
            class: StopClass::FailedToStart,
            causes,
            phrase,
        };
    }

    match code {
        "SpotInterruption" | "TerminationNotice" => {
            let fargate = is_fargate(t) || reason.contains("Spot Task");
            let what = if fargate {
                "Fargate Spot capacity reclaimed"
            } else {
                "spot host reclaimed"
            };
            let detail = if reason.is_empty() {
                format!("{what} ({code})")
            } else {
                format!("{what} ({code}): {reason}")
            };
            return StopAnalysis {
                class: StopClass::Spot,
                causes: vec![Cause {
                    code: CauseCode::SpotInterruption,
                    detail,
                    evidence: vec![ev],
                }],
                phrase: if fargate {
                    "Fargate Spot task interrupted".into()
                } else {
                    "stopped by spot interruption".into()
                },
            };
        }
        _ => {}
    }

    // Essential container exits and OOM kills.
    let oom_text = reason.starts_with("OutOfMemoryError")
        || t.containers.iter().any(|c| {
            c.reason
                .as_deref()
                .is_some_and(|r| r.contains("OutOfMemoryError"))
        });
    if code == "EssentialContainerExited" || oom_text || reason.starts_with("Essential container") {
        let exited: Vec<&crate::model::aws::EcsContainer> = t
            .containers
            .iter()
            .filter(|c| c.essential != Some(false))
            .filter(|c| c.exit_code.is_some_and(|e| e != 0) || c.reason.is_some())
            .collect();
        let culprit = exited.first().copied().or_else(|| {
            t.containers
                .iter()
                .find(|c| c.essential != Some(false) && c.exit_code.is_some())
        });
        let mut evidence = vec![ev];
        evidence.extend(culprit.map(|c| container_evidence(t, c)));
        let exit = culprit.and_then(|c| c.exit_code);
        let name = culprit.map(|c| c.name.as_str()).unwrap_or("?");
        let oom = oom_text || exit == Some(137);
        let mut causes = vec![Cause {
            code: CauseCode::EssentialContainerExited,
            detail: match exit {
                Some(e) => format!("essential container {name} exited with code {e}"),
                None => format!("essential container {name} exited: {reason}"),
            },
            evidence: evidence.clone(),
        }];
        let phrase = if oom {
            causes.push(Cause {
                code: CauseCode::OomKilled,
                detail: if oom_text {
                    format!("container {name} killed for exceeding its memory limit (OutOfMemoryError)")
                } else {
                    format!(
                        "container {name} exit 137: killed by SIGKILL, most often its memory limit{}",
                        t.memory
                            .as_deref()
                            .map(|m| format!(" (task memory {m} MiB)"))
                            .unwrap_or_default()
                    )
                },
                evidence,
            });
            format!("container {name} OOM-killed (exit {})", exit.unwrap_or(137))
        } else {
            match exit {
                Some(e) => format!("container {name} exited {e}"),
                None => format!("container {name} exited"),
            }
        };
        return StopAnalysis {
            class: StopClass::ContainerFailure,
            causes,
            phrase,
        };
    }

    let lower = reason.to_ascii_lowercase();
    if lower.contains("health check") {
        let elb = lower.contains("elb");
        let target = ecs_events::paren_value(reason, "target-group")
            .map(|tg| format!(" ({})", tg_name(&tg)))
            .unwrap_or_default();
        return StopAnalysis {
            class: StopClass::HealthCheck,
            causes: vec![Cause {
                code: CauseCode::HealthCheckFailed,
                detail: reason.to_string(),
                evidence: vec![ev],
            }],
            phrase: if elb {
                format!("failed ELB health checks{target}")
            } else {
                "failed container health checks".into()
            },
        };
    }
    if reason.starts_with("Host EC2") || code == "InfrastructureHealth" {
        return StopAnalysis {
            class: StopClass::HostLost,
            causes: vec![Cause {
                code: CauseCode::NodeLost,
                detail: if reason.is_empty() {
                    format!("ECS stopped the task ({code})")
                } else {
                    format!(
                        "{reason} ({})",
                        if code.is_empty() { "no stopCode" } else { code }
                    )
                },
                evidence: vec![ev],
            }],
            phrase: match ecs_events::paren_value(reason, "instance") {
                Some(i) => format!("host {i} went away"),
                None if code == "InfrastructureHealth" => {
                    "ECS found the host unhealthy (InfrastructureHealth)".into()
                }
                None => "host went away".into(),
            },
        };
    }
    match code {
        "UserInitiated" | "ServiceSchedulerInitiated" => {
            let drain = lower.contains("drain");
            StopAnalysis {
                class: StopClass::Benign,
                causes: if drain {
                    vec![Cause {
                        code: CauseCode::ContainerInstanceDraining,
                        detail: reason.to_string(),
                        evidence: vec![ev],
                    }]
                } else {
                    Vec::new()
                },
                phrase: if code == "UserInitiated" {
                    match reason {
                        "" => "stopped by user".into(),
                        r => format!("stopped by user: {r}"),
                    }
                } else if reason.is_empty() {
                    "stopped by the service scheduler".into()
                } else {
                    format!("stopped: {reason}")
                },
            }
        }
        _ => StopAnalysis {
            class: StopClass::Unknown,
            causes: vec![Cause {
                code: CauseCode::Unknown,
                detail: format!(
                    "stopCode {}: {}",
                    if code.is_empty() { "(none)" } else { code },
                    if reason.is_empty() {
                        "(no reason)"
                    } else {
                        reason
                    }
                ),
                evidence: vec![ev],
            }],
            phrase: format!("stopped ({})", if code.is_empty() { reason } else { code }),
        },
    }
}

/// `arn:…:targetgroup/web/73e2…` → `web`.
fn tg_name(arn: &str) -> &str {
    arn.split('/').nth(1).unwrap_or(arn)
}

fn is_fargate(t: &EcsTask) -> bool {
    t.launch_type.as_deref() == Some("FARGATE")
        || t.capacity_provider_name
            .as_deref()
            .is_some_and(|c| c.starts_with("FARGATE"))
}

fn is_stopping(t: &EcsTask) -> bool {
    matches!(
        t.last_status.as_deref(),
        Some("DEACTIVATING" | "STOPPING" | "DEPROVISIONING" | "STOPPED")
    ) || t.desired_status.as_deref() == Some("STOPPED")
}

fn service_key(t: &EcsTask) -> Option<(String, String)> {
    Some((
        t.cluster_name().unwrap_or("default").to_string(),
        t.service_name()?.to_string(),
    ))
}

fn task_time(t: &EcsTask) -> Option<Timestamp> {
    t.stopped_at
        .or(t.stopping_at)
        .or(t.started_at)
        .or(t.created_at)
        .map(|x| x.0)
}

/// Where a task runs: container instance, EC2 instance id.
struct Placement<'a> {
    cluster: &'a str,
    ci: Option<&'a EcsContainerInstance>,
    instance_id: Option<String>,
}

fn placement<'a>(cx: &Context<'a>, r: &'a AwsRegion, t: &EcsTask) -> Placement<'a> {
    let arn = t.container_instance_arn.as_deref();
    let found = arn.and_then(|a| r.container_instances.get(a));
    let instance_id = found
        .and_then(|(_, ci)| ci.ec2_instance_id.clone())
        .or_else(|| arn.and_then(|a| cx.joins.ci_instance.get(a).cloned()));
    Placement {
        cluster: found.map(|(c, _)| c.as_str()).unwrap_or(""),
        ci: found.map(|(_, ci)| ci),
        instance_id,
    }
}

/// Host-level causes of a task: container instance DRAINING / agent
/// disconnected, then the EC2 instance's spot risk. Returns `(causes, at_risk, lost, deadline)`.
fn host_causes(cx: &Context<'_>, p: &Placement<'_>) -> (Vec<Cause>, bool, bool, Option<Timestamp>) {
    let mut causes = Vec::new();
    // A scheduled event days away is shown on the host, not on every task.
    let risk = p
        .instance_id
        .as_ref()
        .and_then(|i| cx.host_risks.get(i))
        .filter(|r| r.pressing(cx.now));
    let mut at_risk = false;
    if let Some(ci) = p.ci {
        let cluster = p.cluster;
        let on = p
            .instance_id
            .as_deref()
            .map(|i| format!(" (EC2 {i})"))
            .unwrap_or_default();
        if ci.status.as_deref() == Some("DRAINING") {
            at_risk = true;
            causes.push(Cause {
                code: CauseCode::ContainerInstanceDraining,
                detail: format!(
                    "container instance {}{on} is DRAINING{}: ECS moves its tasks elsewhere",
                    ci.short_id(),
                    ci.status_reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
                evidence: vec![container_instance_evidence(cluster, ci)],
            });
        } else if let (Some(false), Some(risk)) = (ci.agent_connected, risk.filter(|r| r.lost)) {
            // The host died (spot reclaim): the agent is gone with it. That is
            // the host's loss, named below, not a separate agent problem.
            causes.push(Cause {
                code: risk.code,
                detail: format!(
                    "task runs on container instance {}{on}, whose ECS agent disconnected when the instance went",
                    ci.short_id()
                ),
                evidence: vec![container_instance_evidence(cluster, ci)],
            });
        } else if ci.agent_connected == Some(false) {
            at_risk = true;
            causes.push(Cause {
                code: CauseCode::NodeNotReady,
                detail: format!(
                    "ECS agent disconnected on container instance {}{on}: ECS cannot start, stop or watch its tasks",
                    ci.short_id()
                ),
                evidence: vec![container_instance_evidence(cluster, ci)],
            });
        } else if risk.is_some() {
            causes.push(Cause {
                code: risk.map(|r| r.code).unwrap_or(CauseCode::SpotInterruption),
                detail: format!(
                    "task runs on container instance {}{on} ({})",
                    ci.short_id(),
                    ci.status.as_deref().unwrap_or("status unknown")
                ),
                evidence: vec![container_instance_evidence(cluster, ci)],
            });
        }
    }
    let (mut lost, mut deadline) = (false, None);
    if let Some(risk) = risk {
        at_risk = true;
        lost = risk.lost;
        deadline = risk.deadline;
        causes.push(Cause {
            code: risk.code,
            detail: risk.detail.clone(),
            evidence: risk.evidence.clone(),
        });
    }
    (causes, at_risk, lost, deadline)
}

/// Per-service record of failed stopped tasks: (count, newest task ARN).
type FailureIndex = HashMap<(String, String), (usize, String, Option<Timestamp>)>;

fn failure_index(r: &AwsRegion) -> FailureIndex {
    let mut idx: FailureIndex = HashMap::new();
    for t in r.tasks.values() {
        if !is_stopping(t) {
            continue;
        }
        let Some(key) = service_key(t) else { continue };
        if !analyse_stop(t).class.is_failure() {
            continue;
        }
        let at = task_time(t);
        let e = idx.entry(key).or_insert((0, t.task_arn.clone(), at));
        e.0 += 1;
        if at > e.2 || (at == e.2 && t.task_arn > e.1) {
            e.1 = t.task_arn.clone();
            e.2 = at;
        }
    }
    idx
}

/// Diagnoses every task of a region, and every service with missing tasks.
pub fn diagnose_region(cx: &Context<'_>, region: &str, r: &AwsRegion) -> Vec<Unit> {
    let failures = failure_index(r);
    let mut by_service: HashMap<(String, String), Vec<&EcsTask>> = HashMap::new();
    for t in r.tasks.values() {
        if let Some(key) = service_key(t) {
            by_service.entry(key).or_default().push(t);
        }
    }
    let missing: HashMap<(String, String), bool> = r
        .services
        .values()
        .map(|s| {
            (
                (
                    s.cluster_name().unwrap_or("default").to_string(),
                    s.service_name.clone(),
                ),
                s.desired_count > s.running_count,
            )
        })
        .collect();
    let mut units: Vec<Unit> = r
        .tasks
        .values()
        .map(|t| task_unit(cx, region, r, t, &failures, &missing))
        .collect();
    units.extend(r.services.values().filter_map(|s| {
        let key = (
            s.cluster_name().unwrap_or("default").to_string(),
            s.service_name.clone(),
        );
        let tasks = by_service.get(&key).map(Vec::as_slice).unwrap_or_default();
        service_unit(cx, region, r, s, tasks)
            .or_else(|| service_losing_hosts(cx, region, r, s, tasks))
    }));
    units
}

/// A service at its desired count whose running tasks sit on a host with a
/// spot notice while ECS already reports it cannot place their replacements:
/// AtRisk, before the tasks go missing.
fn service_losing_hosts(
    cx: &Context<'_>,
    region: &str,
    r: &AwsRegion,
    s: &EcsService,
    tasks: &[&EcsTask],
) -> Option<Unit> {
    if matches!(s.status.as_deref(), Some("INACTIVE" | "DRAINING")) {
        return None;
    }
    // Running tasks on a host with a running (not yet over) spot notice.
    let mut doomed: Vec<(&EcsTask, &super::HostRisk)> = Vec::new();
    for t in tasks {
        if t.last_status.as_deref() != Some("RUNNING") || is_stopping(t) {
            continue;
        }
        let p = placement(cx, r, t);
        if let Some(risk) = p.instance_id.as_ref().and_then(|i| cx.host_risks.get(i)) {
            if !risk.lost && risk.pressing(cx.now) && risk.code == CauseCode::SpotInterruption {
                doomed.push((t, risk));
            }
        }
    }
    if doomed.is_empty() {
        return None;
    }
    let cluster = s.cluster_name().unwrap_or("default").to_string();
    let strategy: Vec<&str> = s
        .capacity_provider_strategy
        .iter()
        .map(|c| c.capacity_provider.as_str())
        .collect();
    let ec2_cps: Vec<&str> = strategy
        .iter()
        .copied()
        .filter(|c| !c.starts_with("FARGATE"))
        .collect();
    // The newest placement failure since the last steady state.
    let events = recent_events(s);
    let (e, pf) = events.iter().find_map(|(e, info)| match &info.kind {
        ServiceEventKind::UnableToPlace(pf) => Some((*e, pf)),
        _ => None,
    })?;
    let count = events
        .iter()
        .filter(|(_, i)| matches!(i.kind, ServiceEventKind::UnableToPlace(_)))
        .count() as i32;
    let info = ecs_events::parse(&e.message);
    let ev = event_evidence(s, e, &info.kind, count, e.created_at.map(|t| t.0));
    let x = explain_placement(pf, r, &cluster, tasks, &ec2_cps, &strategy, "");
    let deadline = doomed.iter().filter_map(|(_, r)| r.deadline).min();
    let n = doomed.len();
    let when = deadline
        .map(|d| format!(" {}", until(cx.now, d)))
        .unwrap_or_default();
    let room = match x.phrase.find("short of ") {
        Some(i) => format!("replacements {}", &x.phrase[i..]),
        None => format!("no room: {}", x.phrase),
    };
    let mut causes = vec![Cause {
        code: x.code,
        detail: format!("ECS cannot place replacements for them: {}", x.detail),
        evidence: vec![ev],
    }];
    let mut hosts: Vec<&str> = Vec::new();
    for (_, risk) in &doomed {
        if hosts.contains(&risk.instance_id.as_str()) {
            continue;
        }
        hosts.push(&risk.instance_id);
        let on: Vec<String> = doomed
            .iter()
            .filter(|(_, r)| r.instance_id == risk.instance_id)
            .map(|(t, _)| t.short_id().to_string())
            .collect();
        causes.push(Cause {
            code: risk.code,
            detail: format!(
                "{} of the service on {} ({}): {}",
                if on.len() == 1 {
                    "1 task".to_string()
                } else {
                    format!("{} tasks", on.len())
                },
                risk.instance_id,
                on.join(", "),
                risk.detail
            ),
            evidence: risk.evidence.clone(),
        });
    }
    if let Some(ci) = x.ci {
        causes[0]
            .evidence
            .push(container_instance_evidence(&cluster, ci));
    }
    let headline = format!(
        "{n} of {} tasks lose their host{when}; {room}",
        s.desired_count
    );
    Some(Unit {
        id: format!("service/{region}/{}", s.service_arn),
        kind: UnitKind::EcsService,
        source: region.to_string(),
        scope: cluster.clone(),
        name: s.service_name.clone(),
        state: format!("{}/{} running", s.running_count, s.desired_count),
        since: e.created_at.map(|t| t.0).or(s.created_at.map(|t| t.0)),
        host: None,
        instance_id: None,
        diagnosis: Diagnosis {
            verdict: Verdict::AtRisk,
            headline: clip(&headline),
            causes,
            actions: vec![SuggestedAction {
                title: "Show the service and its events".into(),
                command: format!(
                    "aws ecs describe-services --cluster {cluster} --services {} --region {region}",
                    s.service_name
                ),
                mutating: false,
            }],
            deadline,
        },
    })
}

fn task_unit(
    cx: &Context<'_>,
    region: &str,
    r: &AwsRegion,
    t: &EcsTask,
    failures: &FailureIndex,
    missing: &HashMap<(String, String), bool>,
) -> Unit {
    let p = placement(cx, r, t);
    let cluster = t
        .cluster_name()
        .or((!p.cluster.is_empty()).then_some(p.cluster))
        .unwrap_or("default")
        .to_string();
    let last = t.last_status.clone().unwrap_or_else(|| "UNKNOWN".into());
    let desired = t.desired_status.clone().unwrap_or_default();
    let state = if desired.is_empty() || desired == last {
        last.clone()
    } else {
        format!("{last} (desired {desired})")
    };
    let host = p
        .instance_id
        .clone()
        .or_else(|| (p.ci.is_none() && is_fargate(t)).then(|| "fargate".to_string()));
    let where_ = match (&p.instance_id, is_fargate(t)) {
        (Some(i), _) => i.clone(),
        (None, true) => {
            if t.capacity_provider_name.as_deref() == Some("FARGATE_SPOT") {
                "Fargate Spot".into()
            } else {
                "Fargate".into()
            }
        }
        (None, false) => t
            .container_instance_arn
            .as_deref()
            .map(|a| format!("container instance {}", abbrev(arn_tail(a))))
            .unwrap_or_else(|| "no host yet".into()),
    };

    let (host_chain, host_at_risk, host_lost, host_deadline) = host_causes(cx, &p);
    let mut causes: Vec<Cause> = Vec::new();
    let mut deadline = None;
    let verdict;
    let headline;
    let mut actions = Vec::new();
    let task_id = t.short_id();
    let describe = SuggestedAction {
        title: "Show the task".into(),
        command: format!(
            "aws ecs describe-tasks --cluster {cluster} --tasks {task_id} --region {region}"
        ),
        mutating: false,
    };

    if is_stopping(t) {
        let a = analyse_stop(t);
        let still_stopping = last != "STOPPED";
        let spot_notice = matches!(
            t.stop_code.as_deref(),
            Some("TerminationNotice" | "SpotInterruption")
        );
        causes.extend(a.causes);
        if a.class == StopClass::Spot || a.class == StopClass::HostLost {
            // Name the signal beneath when the host carried one.
            causes.extend(
                host_chain
                    .into_iter()
                    .filter(|c| c.code != CauseCode::NodeNotReady),
            );
        }
        if still_stopping && spot_notice && (is_fargate(t) || p.instance_id.is_none()) {
            // Fargate Spot: the notice gives the task two minutes from stoppingAt.
            verdict = Verdict::AtRisk;
            deadline = t
                .stopping_at
                .map(|s| s.0)
                .and_then(|s| s.checked_add(SPOT_NOTICE).ok());
            headline = match deadline {
                Some(d) => format!("{}: stops {}", a.phrase, until(cx.now, d)),
                None => a.phrase.clone(),
            };
        } else if still_stopping && spot_notice {
            // EC2 spot: the host's deadline is the task's.
            if host_lost {
                verdict = Verdict::Stopped;
                headline = format!("spot reclaimed host {where_}; task stopping");
            } else {
                verdict = Verdict::AtRisk;
                deadline = host_deadline;
                headline = match deadline {
                    Some(d) => {
                        format!("spot interruption: host {where_} goes {}", until(cx.now, d))
                    }
                    None => format!("spot interruption: host {where_}; task stopping"),
                };
            }
        } else if a.class.is_failure() {
            let key = service_key(t);
            let entry = key.as_ref().and_then(|k| failures.get(k));
            let newest = entry.is_some_and(|e| e.1 == t.task_arn);
            let n = entry.map(|e| e.0).unwrap_or(1);
            let service_missing = key
                .as_ref()
                .and_then(|k| missing.get(k))
                .copied()
                .unwrap_or(false);
            let loud = match &key {
                Some(_) => newest && (n >= 2 || service_missing),
                None => a.class == StopClass::FailedToStart,
            };
            verdict = if !loud {
                Verdict::Stopped
            } else if a.class == StopClass::FailedToStart {
                Verdict::Stuck
            } else {
                Verdict::Crashing
            };
            let times = if n >= 2 && newest {
                format!(" (x{n} in service)")
            } else {
                String::new()
            };
            headline = if loud || key.is_none() {
                format!("{}{times}", a.phrase)
            } else {
                format!("{} (earlier failure)", a.phrase)
            };
        } else {
            verdict = Verdict::Stopped;
            headline = a.phrase.clone();
        }
        if let Some(td) = &t.task_definition_arn {
            if a.class == StopClass::ContainerFailure || a.class == StopClass::FailedToStart {
                actions.push(SuggestedAction {
                    title: "Show the task definition (image, memory, secrets)".into(),
                    command: format!(
                        "aws ecs describe-task-definition --task-definition {td} --region {region}"
                    ),
                    mutating: false,
                });
            }
        }
        actions.insert(0, describe);
    } else {
        let pending = matches!(last.as_str(), "PROVISIONING" | "PENDING" | "ACTIVATING");
        let unhealthy = t.health_status.as_deref() == Some("UNHEALTHY");
        causes.extend(host_chain);
        let lingering = p
            .instance_id
            .as_ref()
            .and_then(|i| cx.host_risks.get(i))
            .is_some_and(|r| lost_for_long(r, cx.now));
        if host_lost && lingering {
            verdict = Verdict::Stuck;
            headline = format!("host {where_} is gone; ECS still lists the task {last}");
        } else if host_lost {
            verdict = Verdict::Stopped;
            headline = format!("host {where_} reclaimed; ECS has yet to stop the task");
        } else if host_at_risk {
            verdict = Verdict::AtRisk;
            deadline = host_deadline;
            headline = match (host_deadline, causes.first().map(|c| c.code)) {
                (Some(d), _)
                    if causes.last().map(|c| c.code) == Some(CauseCode::SpotInterruption) =>
                {
                    format!("host {where_} spot reclaim {}", until(cx.now, d))
                }
                (Some(d), _) => format!("host {where_} scheduled maintenance {}", until(cx.now, d)),
                (None, Some(CauseCode::ContainerInstanceDraining)) => {
                    format!("container instance on {where_} DRAINING; task will move")
                }
                (None, Some(CauseCode::NodeNotReady)) => {
                    format!("ECS agent disconnected on {where_}")
                }
                (None, _) => format!(
                    "host {where_} has a pending {}",
                    causes.last().map(|c| c.code.as_str()).unwrap_or_default()
                ),
            };
        } else if unhealthy {
            verdict = Verdict::AtRisk;
            let bad: Vec<&str> = t
                .containers
                .iter()
                .filter(|c| c.health_status.as_deref() == Some("UNHEALTHY"))
                .map(|c| c.name.as_str())
                .collect();
            causes.push(Cause {
                code: CauseCode::HealthCheckFailed,
                detail: format!(
                    "container health check failing: {}",
                    if bad.is_empty() {
                        "task".to_string()
                    } else {
                        bad.join(", ")
                    }
                ),
                evidence: vec![Evidence::new(
                    "status",
                    task_object(t),
                    "UNHEALTHY",
                    format!("healthStatus UNHEALTHY, lastStatus {last}"),
                )],
            });
            headline = format!("{last} but UNHEALTHY: ECS will replace it");
        } else if pending {
            verdict = Verdict::Pending;
            let since = t
                .created_at
                .map(|c| format!(" for {}", crate::model::time::format_age(cx.now, c.0)))
                .unwrap_or_default();
            headline = if p.ci.is_none() && !is_fargate(t) && t.container_instance_arn.is_none() {
                format!("{last}{since}, not placed on a host yet")
            } else {
                format!("{last}{since} on {where_}")
            };
        } else {
            verdict = Verdict::Running;
            headline = format!("{last} on {where_}");
        }
        actions.push(describe);
        if host_at_risk && !host_lost {
            if let (Some(ci), Some(_)) = (p.ci, t.service_name()) {
                if ci.status.as_deref() == Some("ACTIVE") {
                    actions.push(SuggestedAction {
                        title: format!("Drain container instance {} so ECS moves its tasks now", abbrev(ci.short_id())),
                        command: format!(
                            "aws ecs update-container-instances-state --cluster {cluster} --container-instances {} --status DRAINING --region {region}",
                            ci.container_instance_arn
                        ),
                        mutating: true,
                    });
                }
            } else if t.service_name().is_none() {
                actions.push(SuggestedAction {
                    title: "Stop the task now (it is not part of a service: start it again elsewhere)".into(),
                    command: format!("aws ecs stop-task --cluster {cluster} --task {task_id} --reason \"spot interruption\" --region {region}"),
                    mutating: true,
                });
            }
        }
    }

    Unit {
        id: format!("task/{region}/{}", t.task_arn),
        kind: UnitKind::EcsTask,
        source: region.to_string(),
        scope: cluster,
        name: match t.service_name() {
            Some(s) => format!("{s}/{task_id}"),
            None => task_id.to_string(),
        },
        state,
        since: t.created_at.map(|x| x.0),
        host,
        instance_id: p.instance_id.clone(),
        diagnosis: Diagnosis {
            verdict,
            headline: clip(&headline),
            causes,
            actions,
            deadline,
        },
    }
}

/// Service events since the last steady state, newest first.
fn recent_events(
    s: &EcsService,
) -> Vec<(
    &crate::model::aws::EcsServiceEvent,
    ecs_events::ServiceEventInfo,
)> {
    let mut evs: Vec<&crate::model::aws::EcsServiceEvent> = s.events.iter().collect();
    evs.sort_by_key(|e| std::cmp::Reverse(e.created_at));
    let mut out = Vec::new();
    for e in evs {
        let info = ecs_events::parse(&e.message);
        if info.kind == ServiceEventKind::SteadyState {
            break;
        }
        out.push((e, info));
    }
    out
}

fn event_evidence(
    s: &EcsService,
    e: &crate::model::aws::EcsServiceEvent,
    kind: &ServiceEventKind,
    count: i32,
    first: Option<Timestamp>,
) -> Evidence {
    let mut ev = Evidence::new(
        "service-event",
        format!(
            "service/{}/{}",
            s.cluster_name().unwrap_or("default"),
            s.service_name
        ),
        kind.label(),
        e.message.clone(),
    )
    .at(e.created_at.map(|t| t.0));
    ev.count = count.max(1);
    ev.first_at = first;
    ev
}

fn resource_word(resource: &str) -> String {
    let l = resource.to_ascii_lowercase();
    if l.starts_with("cpu") {
        "CPU".into()
    } else {
        l
    }
}

/// `tasks`: the tasks of this service (any status).
fn service_unit(
    cx: &Context<'_>,
    region: &str,
    r: &AwsRegion,
    s: &EcsService,
    tasks: &[&EcsTask],
) -> Option<Unit> {
    if matches!(s.status.as_deref(), Some("INACTIVE" | "DRAINING")) {
        return None;
    }
    if s.desired_count <= s.running_count {
        return None;
    }
    let cluster = s.cluster_name().unwrap_or("default").to_string();
    let name = &s.service_name;
    let missing = s.desired_count - s.running_count;
    let events = recent_events(s);

    // Group the problem events by kind: newest message, count, oldest time.
    struct Seen<'a> {
        newest: &'a crate::model::aws::EcsServiceEvent,
        info: ecs_events::ServiceEventInfo,
        count: i32,
        first: Option<Timestamp>,
    }
    let mut seen: Vec<Seen<'_>> = Vec::new();
    for (e, info) in &events {
        if matches!(
            info.kind,
            ServiceEventKind::Other
                | ServiceEventKind::TasksStarted { .. }
                | ServiceEventKind::TasksStopped { .. }
        ) {
            continue;
        }
        let same = |a: &ServiceEventKind, b: &ServiceEventKind| {
            std::mem::discriminant(a) == std::mem::discriminant(b)
                && match (a, b) {
                    (ServiceEventKind::UnableToPlace(x), ServiceEventKind::UnableToPlace(y)) => {
                        std::mem::discriminant(x) == std::mem::discriminant(y)
                    }
                    _ => true,
                }
        };
        if let Some(sn) = seen.iter_mut().find(|x| same(&x.info.kind, &info.kind)) {
            sn.count += 1;
            sn.first = e.created_at.map(|t| t.0).or(sn.first);
        } else {
            seen.push(Seen {
                newest: e,
                info: info.clone(),
                count: 1,
                first: e.created_at.map(|t| t.0),
            });
        }
    }

    // Recently stopped tasks of this service.
    let since_cut = cx.now.checked_sub(RECENT).ok();
    let mut stopped: Vec<(&EcsTask, StopAnalysis)> = tasks
        .iter()
        .copied()
        .filter(|t| is_stopping(t))
        .filter(|t| match (task_time(t), since_cut) {
            (Some(at), Some(cut)) => at >= cut,
            _ => true,
        })
        .map(|t| (t, analyse_stop(t)))
        .collect();
    stopped.sort_by_key(|(t, _)| std::cmp::Reverse(task_time(t)));
    let count_class = |c: StopClass| stopped.iter().filter(|(_, a)| a.class == c).count();
    let newest_of = |c: StopClass| stopped.iter().find(|(_, a)| a.class == c);

    // Container instances of the cluster (and of the service's capacity providers).
    let strategy: Vec<&str> = s
        .capacity_provider_strategy
        .iter()
        .map(|c| c.capacity_provider.as_str())
        .collect();
    let cluster_cis: Vec<&EcsContainerInstance> = r
        .container_instances
        .values()
        .filter(|(c, _)| *c == cluster)
        .map(|(_, ci)| ci)
        .collect();
    let ec2_cps: Vec<&str> = strategy
        .iter()
        .copied()
        .filter(|c| !c.starts_with("FARGATE"))
        .collect();
    let relevant_cis: Vec<&EcsContainerInstance> = cluster_cis
        .iter()
        .copied()
        .filter(|ci| {
            ec2_cps.is_empty()
                || ci
                    .capacity_provider_name
                    .as_deref()
                    .is_some_and(|n| ec2_cps.contains(&n))
        })
        .collect();

    let mut causes: Vec<Cause> = Vec::new();
    let mut verdict = Verdict::Pending;
    let mut phrase: Option<String> = None;
    let mut actions: Vec<SuggestedAction> = vec![SuggestedAction {
        title: "Show the service and its events".into(),
        command: format!(
            "aws ecs describe-services --cluster {cluster} --services {name} --region {region}"
        ),
        mutating: false,
    }];
    let mut named_ci: Option<&EcsContainerInstance> = None;
    let mut since = None;
    let mut fargate_spot_capacity = false;

    // Order: deployment-level first (symptom), then start failures, then placement.
    let order = |k: &ServiceEventKind| match k {
        ServiceEventKind::DeploymentFailed { .. } => 0,
        ServiceEventKind::DeploymentConfigBlocked => 1,
        ServiceEventKind::UnableToConsistentlyStart => 2,
        ServiceEventKind::Unhealthy { .. } => 3,
        ServiceEventKind::UnableToPlace(_) => 4,
        ServiceEventKind::Throttled => 5,
        _ => 6,
    };
    seen.sort_by_key(|x| order(&x.info.kind));
    for sn in &seen {
        since = match (since, sn.first) {
            (Some(a), Some(b)) => Some(if b < a { b } else { a }),
            (a, b) => a.or(b),
        };
        let ev = event_evidence(s, sn.newest, &sn.info.kind, sn.count, sn.first);
        let times = if sn.count > 1 {
            format!(" (x{})", sn.count)
        } else {
            String::new()
        };
        let mut set = |c: Cause, v: Verdict, p: String, causes: &mut Vec<Cause>| {
            causes.push(c);
            if v.severity() > verdict.severity() {
                verdict = v;
            }
            if phrase.is_none() {
                phrase = Some(p);
            }
        };
        match &sn.info.kind {
            ServiceEventKind::DeploymentFailed { deployment, reason } => set(
                Cause {
                    code: CauseCode::DeploymentFailed,
                    detail: format!(
                        "deployment {}failed: {reason}",
                        deployment.as_deref().map(|d| format!("{d} ")).unwrap_or_default()
                    ),
                    evidence: vec![ev],
                },
                Verdict::Stuck,
                format!("deployment failed: {reason}"),
                &mut causes,
            ),
            ServiceEventKind::DeploymentConfigBlocked => set(
                Cause {
                    code: CauseCode::DeploymentFailed,
                    detail: "deployment blocked by minimumHealthyPercent/maximumPercent: ECS may not stop or start tasks".into(),
                    evidence: vec![ev],
                },
                Verdict::Stuck,
                "deployment blocked by min/max healthy percent".into(),
                &mut causes,
            ),
            ServiceEventKind::UnableToConsistentlyStart => set(
                Cause {
                    code: CauseCode::TaskFailedToStart,
                    detail: format!("ECS is unable to consistently start tasks{times}"),
                    evidence: vec![ev],
                },
                Verdict::Stuck,
                "tasks keep failing to start".into(),
                &mut causes,
            ),
            ServiceEventKind::Unhealthy { task, target, reason, .. } => set(
                Cause {
                    code: CauseCode::HealthCheckFailed,
                    detail: format!(
                        "task {} unhealthy in {}: {}{times}",
                        task.as_deref().unwrap_or("?"),
                        target.as_deref().map(tg_name).unwrap_or("load balancer"),
                        reason.as_deref().unwrap_or("health checks failed")
                    ),
                    evidence: vec![ev],
                },
                Verdict::Crashing,
                "tasks fail load balancer health checks".into(),
                &mut causes,
            ),
            ServiceEventKind::Throttled => set(
                Cause {
                    code: CauseCode::Throttled,
                    detail: format!("ECS is throttling this service's operations{times}"),
                    evidence: vec![ev],
                },
                Verdict::Pending,
                "ECS throttling the service's operations".into(),
                &mut causes,
            ),
            ServiceEventKind::UnableToPlace(pf) => {
                let e = explain_placement(pf, r, &cluster, tasks, &ec2_cps, &strategy, &times);
                if e.ci.is_some() {
                    named_ci = e.ci;
                }
                fargate_spot_capacity |= e.fargate_spot;
                set(
                    Cause {
                        code: e.code,
                        detail: e.detail,
                        evidence: vec![ev],
                    },
                    e.verdict,
                    e.phrase,
                    &mut causes,
                );
            }
            _ => {}
        }
    }

    // Deployment rollout state.
    for d in &s.deployments {
        if d.rollout_state.as_deref() == Some("FAILED")
            && !causes.iter().any(|c| c.code == CauseCode::DeploymentFailed)
        {
            causes.insert(
                0,
                Cause {
                    code: CauseCode::DeploymentFailed,
                    detail: format!(
                        "deployment {} FAILED: {}",
                        d.id,
                        d.rollout_state_reason
                            .as_deref()
                            .unwrap_or("no reason given")
                    ),
                    evidence: vec![
                        Evidence::new(
                            "status",
                            format!("deployment/{cluster}/{name}/{}", d.id),
                            "FAILED",
                            d.rollout_state_reason.clone().unwrap_or_default(),
                        )
                        .at(d.updated_at.map(|t| t.0)),
                    ],
                },
            );
            if verdict.severity() < Verdict::Stuck.severity() {
                verdict = Verdict::Stuck;
            }
            phrase = Some("deployment failed".into());
        }
    }

    // Recent stopped tasks: the root cause of start failures and crashes, or spot losses.
    let task_roots = [
        (StopClass::FailedToStart, Verdict::Stuck),
        (StopClass::ContainerFailure, Verdict::Crashing),
        (StopClass::HealthCheck, Verdict::Crashing),
    ];
    for (class, v) in task_roots {
        if let Some((t, a)) = newest_of(class) {
            let n = count_class(class);
            if verdict.severity() < v.severity() {
                verdict = v;
            }
            let ph = if n > 1 {
                format!("{} (x{n})", a.phrase)
            } else {
                a.phrase.clone()
            };
            match &phrase {
                None => phrase = Some(ph),
                Some(p)
                    if p.starts_with("tasks keep failing")
                        || p.starts_with("deployment failed")
                        || p.starts_with("tasks fail load") =>
                {
                    phrase = Some(format!("{}: {ph}", p.split(':').next().unwrap_or(p)));
                }
                _ => {}
            }
            for c in &a.causes {
                let mut c = c.clone();
                if n > 1 {
                    c.detail = format!(
                        "{} ({n} tasks stopped like this in the last hour)",
                        c.detail
                    );
                }
                causes.push(c);
            }
            if let Some(td) = &t.task_definition_arn {
                actions.push(SuggestedAction {
                    title: "Show the task definition".into(),
                    command: format!(
                        "aws ecs describe-task-definition --task-definition {td} --region {region}"
                    ),
                    mutating: false,
                });
            }
            actions.push(SuggestedAction {
                title: format!("Show the newest failed task {}", t.short_id()),
                command: format!(
                    "aws ecs describe-tasks --cluster {cluster} --tasks {} --region {region}",
                    t.short_id()
                ),
                mutating: false,
            });
            break;
        }
    }
    let spot_stops = count_class(StopClass::Spot) + count_class(StopClass::HostLost);
    if spot_stops > 0 {
        if let Some((t, a)) = newest_of(StopClass::Spot).or_else(|| newest_of(StopClass::HostLost))
        {
            let mut c = a.causes[0].clone();
            let risky_host = placement(cx, r, t)
                .instance_id
                .is_some_and(|i| cx.host_risks.contains_key(&i));
            if risky_host {
                c.code = CauseCode::SpotInterruption;
            }
            c.detail = format!(
                "{spot_stops} task(s) of the service stopped (or stopping) for a spot interruption or host loss in the last hour; newest: {}",
                c.detail
            );
            causes.push(c);
        }
        if phrase.is_none() {
            phrase = Some(format!("{spot_stops} stopped by spot interruption"));
        }
    }

    // Container instances and capacity providers beneath.
    // Only when the tasks are missing for want of a host: not for Fargate-only
    // services, nor when a deployment, a limit or crashing tasks explain it.
    let fargate_only =
        s.launch_type.as_deref() == Some("FARGATE") || (!strategy.is_empty() && ec2_cps.is_empty());
    let host_bound = matches!(verdict, Verdict::Pending)
        && !causes.iter().any(|c| {
            matches!(
                c.code,
                CauseCode::DeploymentFailed | CauseCode::TaskLimit | CauseCode::Throttled
            )
        });
    if !fargate_only && host_bound && (!ec2_cps.is_empty() || !cluster_cis.is_empty()) {
        let active = relevant_cis
            .iter()
            .filter(|ci| {
                ci.status.as_deref() == Some("ACTIVE") && ci.agent_connected != Some(false)
            })
            .count();
        let draining: Vec<&&EcsContainerInstance> = relevant_cis
            .iter()
            .filter(|ci| ci.status.as_deref() == Some("DRAINING"))
            .collect();
        // An agent that disconnected because its EC2 host is gone (spot
        // reclaim) is that host's loss, named with the host's signal below;
        // only agents on live hosts are an agent problem of their own.
        let host_gone = |ci: &EcsContainerInstance| {
            ci.ec2_instance_id
                .as_deref()
                .and_then(|id| cx.host_risks.get(id))
                .is_some_and(|r| r.lost)
        };
        let disconnected: Vec<&&EcsContainerInstance> = relevant_cis
            .iter()
            .filter(|ci| ci.agent_connected == Some(false) && !host_gone(ci))
            .collect();
        let scope = match ec2_cps.as_slice() {
            [] => format!("cluster {cluster}"),
            cps => format!("capacity provider {}", cps.join(", ")),
        };
        if !draining.is_empty() {
            let ids: Vec<String> = draining.iter().map(|ci| abbrev(ci.short_id())).collect();
            causes.push(Cause {
                code: CauseCode::ContainerInstanceDraining,
                detail: format!(
                    "{} of {} container instances in {scope} are DRAINING ({}); {active} ACTIVE",
                    draining.len(),
                    relevant_cis.len(),
                    ids.join(", ")
                ),
                evidence: draining
                    .iter()
                    .map(|ci| container_instance_evidence(&cluster, ci))
                    .collect(),
            });
        }
        if !disconnected.is_empty() && !causes.iter().any(|c| c.code == CauseCode::NodeNotReady) {
            causes.push(Cause {
                code: CauseCode::NodeNotReady,
                detail: format!(
                    "ECS agent disconnected on {} in {scope}: ECS cannot place tasks there",
                    disconnected
                        .iter()
                        .map(|ci| match ci.ec2_instance_id.as_deref() {
                            Some(i) =>
                                format!("container instance {} (EC2 {i})", abbrev(ci.short_id())),
                            None => format!("container instance {}", abbrev(ci.short_id())),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                evidence: disconnected
                    .iter()
                    .map(|ci| container_instance_evidence(&cluster, ci))
                    .collect(),
            });
        }
        if active == 0
            && !causes
                .iter()
                .any(|c| c.code == CauseCode::NoContainerInstances)
            && !ec2_cps.is_empty()
        {
            causes.push(Cause {
                code: CauseCode::NoContainerInstances,
                detail: format!(
                    "no ACTIVE container instance in {scope} ({} known)",
                    relevant_cis.len()
                ),
                evidence: Vec::new(),
            });
            if phrase.is_none() {
                phrase = Some(format!("no ACTIVE container instances in {scope}"));
            }
        }
        // Spot signals under the container instances (the named one first).
        let mut risky: Vec<&EcsContainerInstance> = Vec::new();
        if let Some(ci) = named_ci {
            risky.push(ci);
        }
        for ci in &relevant_cis {
            if !risky
                .iter()
                .any(|x| x.container_instance_arn == ci.container_instance_arn)
            {
                risky.push(ci);
            }
        }
        let mut seen_risk = Vec::new();
        for ci in risky {
            let Some(id) = ci.ec2_instance_id.as_deref() else {
                continue;
            };
            if let Some(risk) = cx.host_risks.get(id).filter(|r| r.pressing(cx.now)) {
                if seen_risk.contains(&id) {
                    continue;
                }
                seen_risk.push(id);
                let agent = if ci.agent_connected == Some(false) && risk.lost {
                    ", ECS agent disconnected"
                } else {
                    ""
                };
                causes.push(Cause {
                    code: risk.code,
                    detail: format!(
                        "container instance {} (EC2 {id}{agent}): {}",
                        abbrev(ci.short_id()),
                        risk.detail
                    ),
                    evidence: risk.evidence.clone(),
                });
            }
        }
        if let Some(ci) = named_ci {
            if let Some(pos) = causes
                .iter()
                .position(|c| c.code == CauseCode::InsufficientResource)
            {
                causes[pos]
                    .evidence
                    .push(container_instance_evidence(&cluster, ci));
            }
            actions.push(SuggestedAction {
                title: format!("Show container instance {}", abbrev(ci.short_id())),
                command: format!(
                    "aws ecs describe-container-instances --cluster {cluster} --container-instances {} --region {region}",
                    ci.short_id()
                ),
                mutating: false,
            });
        }
    }
    for cp_name in &ec2_cps {
        let Some(cp) = r.capacity_providers.get(*cp_name) else {
            continue;
        };
        let bad_status = cp.status.as_deref().is_some_and(|st| st != "ACTIVE");
        let bad_update = cp
            .update_status
            .as_deref()
            .is_some_and(|u| u.ends_with("FAILED"));
        if bad_status || bad_update {
            causes.push(Cause {
                code: CauseCode::NoContainerInstances,
                detail: format!(
                    "capacity provider {cp_name} is {}{}",
                    cp.status.as_deref().unwrap_or("?"),
                    cp.update_status_reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
                evidence: vec![Evidence::new(
                    "status",
                    format!("capacity-provider/{cp_name}"),
                    cp.update_status
                        .clone()
                        .or(cp.status.clone())
                        .unwrap_or_default(),
                    cp.update_status_reason.clone().unwrap_or_default(),
                )],
            });
        }
        if let Some(asg) = cp
            .auto_scaling_group_provider
            .as_ref()
            .and_then(|a| a.get("autoScalingGroupArn"))
            .and_then(|v| v.as_str())
            .and_then(|arn| arn.split("autoScalingGroupName/").nth(1))
        {
            actions.push(SuggestedAction {
                title: format!("Show the Auto Scaling group behind {cp_name}"),
                command: format!("aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names {asg} --region {region}"),
                mutating: false,
            });
        }
    }
    if fargate_spot_capacity {
        actions.push(SuggestedAction {
            title: "Move the service to on-demand Fargate until Spot capacity returns".into(),
            command: format!(
                "aws ecs update-service --cluster {cluster} --service {name} --capacity-provider-strategy capacityProvider=FARGATE,weight=1 --force-new-deployment --region {region}"
            ),
            mutating: true,
        });
    }
    if stopped.iter().any(|(_, a)| a.class.is_failure()) {
        actions.push(SuggestedAction {
            title: "List the service's stopped tasks".into(),
            command: format!("aws ecs list-tasks --cluster {cluster} --service-name {name} --desired-status STOPPED --region {region}"),
            mutating: false,
        });
    }

    let phrase = phrase.unwrap_or_else(|| {
        if s.pending_count > 0 {
            format!("{} starting", s.pending_count)
        } else {
            "no service event explains it yet".into()
        }
    });
    let headline = format!("{missing} of {} tasks missing: {phrase}", s.desired_count);
    let state = if s.pending_count > 0 {
        format!(
            "{}/{} running, {} pending",
            s.running_count, s.desired_count, s.pending_count
        )
    } else {
        format!("{}/{} running", s.running_count, s.desired_count)
    };
    let deadline = causes
        .iter()
        .flat_map(|c| c.evidence.iter())
        .filter(|e| e.source == "spot-request")
        .filter_map(|e| e.at)
        .filter_map(|t| t.checked_add(SPOT_NOTICE).ok())
        .filter(|d| *d >= cx.now)
        .min();
    Some(Unit {
        id: format!("service/{region}/{}", s.service_arn),
        kind: UnitKind::EcsService,
        source: region.to_string(),
        scope: cluster,
        name: name.clone(),
        state,
        since: since.or(s.created_at.map(|t| t.0)),
        host: None,
        instance_id: None,
        diagnosis: Diagnosis {
            verdict,
            headline: clip(&headline),
            causes,
            actions,
            deadline,
        },
    })
}

/// A placement failure explained: cause, verdict, headline phrase, and the
/// container instance it names when spotcheck knows it.
struct PlacementExplained<'a> {
    code: CauseCode,
    detail: String,
    verdict: Verdict,
    phrase: String,
    ci: Option<&'a EcsContainerInstance>,
    fargate_spot: bool,
}

/// The container instance with this id (the ARN's last segment) in the cluster.
fn find_ci<'a>(r: &'a AwsRegion, cluster: &str, id: &str) -> Option<&'a EcsContainerInstance> {
    r.container_instances
        .values()
        .find(|(c, ci)| ci.short_id() == id && (c == cluster || c.is_empty()))
        .map(|(_, ci)| ci)
}

fn explain_placement<'a>(
    pf: &PlacementFailure,
    r: &'a AwsRegion,
    cluster: &str,
    tasks: &[&EcsTask],
    ec2_cps: &[&str],
    strategy: &[&str],
    times: &str,
) -> PlacementExplained<'a> {
    let pending = |code, detail, phrase, ci| PlacementExplained {
        code,
        detail,
        verdict: Verdict::Pending,
        phrase,
        ci,
        fargate_spot: false,
    };
    match pf {
        PlacementFailure::Insufficient {
            container_instance: id,
            resource,
        } => {
            let ci = find_ci(r, cluster, id);
            let cpu = resource.to_ascii_lowercase().starts_with("cpu");
            let key = if cpu { "CPU" } else { resource.as_str() };
            let unit = if cpu {
                " CPU units"
            } else if key.eq_ignore_ascii_case("memory") {
                " MiB"
            } else {
                ""
            };
            let need = task_need(tasks, cpu).filter(|_| !unit.is_empty());
            let left = match (ci.and_then(|ci| ci.remaining(key)), need) {
                (Some(left), Some(need)) => {
                    format!(" ({left}{unit} left, a task needs {need}{unit})")
                }
                (Some(left), None) => format!(" ({left}{unit} left)"),
                _ => String::new(),
            };
            pending(
                CauseCode::InsufficientResource,
                format!(
                    "closest matching container instance {id} has insufficient {resource}{left}{times}"
                ),
                format!(
                    "container-instance {} short of {}",
                    abbrev(id),
                    resource_word(resource)
                ),
                ci,
            )
        }
        PlacementFailure::PortInUse {
            container_instance: id,
        } => pending(
            CauseCode::HostPortConflict,
            format!(
                "closest matching container instance {id} already uses a port the task needs{times}"
            ),
            format!("host port taken on container-instance {}", abbrev(id)),
            find_ci(r, cluster, id),
        ),
        PlacementFailure::InstanceError {
            container_instance: id,
            error,
        } => {
            let agent = error == "AGENT";
            pending(
                if agent {
                    CauseCode::NodeNotReady
                } else {
                    CauseCode::Unknown
                },
                format!(
                    "closest matching container instance {id} encountered error {error:?}{}{times}",
                    if agent {
                        " (ECS agent disconnected or outdated)"
                    } else {
                        ""
                    }
                ),
                format!("container-instance {} error {error}", abbrev(id)),
                find_ci(r, cluster, id),
            )
        }
        PlacementFailure::MissingAttribute {
            container_instance: id,
        } => pending(
            CauseCode::NodeAffinityMismatch,
            format!(
                "no container instance has an attribute the task requires (closest: {id}){times}"
            ),
            "no container instance has a required attribute".into(),
            find_ci(r, cluster, id),
        ),
        PlacementFailure::NoContainerInstances {
            in_capacity_provider,
        } => {
            let where_ = if *in_capacity_provider {
                match ec2_cps {
                    [one] => format!("capacity provider {one}"),
                    [] => "capacity provider".to_string(),
                    many => format!("capacity providers {}", many.join(", ")),
                }
            } else {
                format!("cluster {cluster}")
            };
            pending(
                CauseCode::NoContainerInstances,
                format!("no container instances in {where_}{times}"),
                format!("no container instances in {where_}"),
                None,
            )
        }
        PlacementFailure::CapacityUnavailable => {
            let fs = strategy.contains(&"FARGATE_SPOT");
            PlacementExplained {
                fargate_spot: fs,
                ..pending(
                    CauseCode::CapacityUnavailable,
                    format!(
                        "{} capacity is unavailable at this time{times}",
                        if fs { "Fargate Spot" } else { "requested" }
                    ),
                    if fs {
                        "Fargate Spot capacity unavailable".into()
                    } else {
                        "capacity unavailable".into()
                    },
                    None,
                )
            }
        }
        PlacementFailure::Limit { text } => PlacementExplained {
            verdict: Verdict::Stuck,
            ..pending(
                CauseCode::TaskLimit,
                format!("account limit: {text}"),
                "account task/vCPU limit reached".into(),
                None,
            )
        },
        PlacementFailure::Other { text } => pending(
            CauseCode::Unknown,
            format!("unable to place a task: {text}"),
            "tasks cannot be placed".into(),
            None,
        ),
    }
}

/// The CPU or memory one task of the service asks for, from its running or stopped tasks.
fn task_need(tasks: &[&EcsTask], cpu: bool) -> Option<String> {
    tasks
        .iter()
        .find_map(|t| if cpu { t.cpu.clone() } else { t.memory.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::aws::EcsContainer;

    fn stopped(code: Option<&str>, reason: &str, containers: Vec<EcsContainer>) -> EcsTask {
        EcsTask {
            task_arn: "arn:aws:ecs:us-east-1:123456789012:task/prod/0a1b".into(),
            last_status: Some("STOPPED".into()),
            desired_status: Some("STOPPED".into()),
            stop_code: code.map(str::to_string),
            stopped_reason: Some(reason.into()),
            containers,
            ..Default::default()
        }
    }

    fn exited(name: &str, code: i64, essential: Option<bool>) -> EcsContainer {
        EcsContainer {
            name: name.into(),
            exit_code: Some(code),
            essential,
            ..Default::default()
        }
    }

    #[test]
    fn clips_to_seventy_characters() {
        let long = "x".repeat(100);
        let c = clip(&long);
        assert_eq!(c.chars().count(), 70);
        assert!(c.ends_with('…'));
        assert_eq!(clip("short"), "short");
        assert_eq!(abbrev("4f2a9c1e8b7d4e6f9a0b1c2d3e4f5a6b"), "4f2a9c1e…");
        assert_eq!(abbrev("ci-1"), "ci-1");
    }

    #[test]
    fn stop_classes() {
        let a = analyse_stop(&stopped(
            Some("TaskFailedToStart"),
            "CannotPullContainerError: pull access denied",
            vec![],
        ));
        assert_eq!(a.class, StopClass::FailedToStart);
        assert_eq!(a.causes[1].code, CauseCode::ImagePull);

        // The culprit is the essential container, not the sidecar that exited 0 or 1.
        let a = analyse_stop(&stopped(
            Some("EssentialContainerExited"),
            "Essential container in task exited",
            vec![
                exited("sidecar", 1, Some(false)),
                exited("app", 2, Some(true)),
            ],
        ));
        assert_eq!(a.class, StopClass::ContainerFailure);
        assert!(a.causes[0].detail.contains("app exited with code 2"));
        assert_eq!(a.causes.len(), 1);

        let a = analyse_stop(&stopped(
            Some("EssentialContainerExited"),
            "Essential container in task exited",
            vec![exited("app", 137, None)],
        ));
        assert_eq!(
            a.causes.iter().map(|c| c.code).collect::<Vec<_>>(),
            vec![CauseCode::EssentialContainerExited, CauseCode::OomKilled]
        );

        let a = analyse_stop(&stopped(Some("UserInitiated"), "", vec![]));
        assert_eq!(a.class, StopClass::Benign);
        assert!(a.causes.is_empty());

        let a = analyse_stop(&stopped(
            Some("ServiceSchedulerInitiated"),
            "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067)",
            vec![],
        ));
        assert_eq!(a.class, StopClass::HealthCheck);
        assert_eq!(a.phrase, "failed ELB health checks (web)");

        let a = analyse_stop(&stopped(Some("Brand-new"), "", vec![]));
        assert_eq!(a.class, StopClass::Unknown);
        assert!(a.causes[0].detail.contains("Brand-new"));
        let a = analyse_stop(&stopped(None, "", vec![]));
        assert_eq!(a.class, StopClass::Unknown);
    }
}
