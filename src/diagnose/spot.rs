//! EC2 spot and scheduled-event signals: which hosts are at risk, and the host units.
//!
//! Signals, strongest first:
//! - spot request `Status.Code` `marked-for-termination` / `marked-for-stop` /
//!   `marked-for-hibernation`: a two-minute notice (deadline = `UpdateTime` + 2 min);
//! - spot request `instance-terminated-by-price` / `-no-capacity` /
//!   `-capacity-oversubscribed`, `instance-stopped-by-price` / `-no-capacity`: already reclaimed;
//! - instance `StateReason.Code` `Server.SpotInstanceTermination` /
//!   `Server.SpotInstanceShutdown` (reclaimed) and `Server.ScheduledStop`;
//! - `describe-instance-status` scheduled `Events[]` (`instance-retirement`,
//!   `instance-stop`, `system-reboot`, …): deadline = `NotBefore`.
//!
//! Rebalance recommendations reach spotcheck only through Kubernetes (NTH or
//! Karpenter taints and events): no EC2 describe call reports them.

use std::collections::{BTreeSet, HashMap};

use jiff::{SignedDuration, Timestamp};

use super::{
    CauseCode, Context, Diagnosis, Evidence, HostRisk, SuggestedAction, Unit, UnitKind, Verdict,
};
use crate::model::Fleet;
use crate::model::aws::{Ec2Instance, EcsContainerInstance, EcsTask, SpotInstanceRequest};
use crate::model::join::Joins;
use crate::model::time::format_duration_secs;

/// A spot interruption notice gives this long before the instance goes.
pub const SPOT_NOTICE: SignedDuration = SignedDuration::from_secs(120);

/// A scheduled EC2 event (`instance-retirement`, `system-reboot`, …) further
/// away than this is shown on its host but does not make the workloads on it
/// AtRisk: AWS announces retirements days or weeks ahead, and a row per pod
/// for two days would bury what is going wrong now. Within 24 h it is AtRisk
/// with the countdown (a day is enough to drain or replace the host calmly).
pub const SCHEDULED_EVENT_HORIZON: SignedDuration = SignedDuration::from_hours(24);

/// How long after a host's loss notice ECS may still list its tasks before
/// spotcheck calls them stuck (the agent is gone; ECS notices within minutes).
pub const LOST_GRACE: SignedDuration = SignedDuration::from_secs(7 * 60);

/// The host is lost and it has been so long that workloads ECS or Kubernetes
/// still place on it are ghosts, not a transition in progress.
pub fn lost_for_long(risk: &HostRisk, now: Timestamp) -> bool {
    risk.lost
        && risk
            .notice
            .and_then(|n| n.checked_add(LOST_GRACE).ok())
            .is_none_or(|t| now >= t)
}

/// `03:04:10` (UTC).
pub fn hms(t: Timestamp) -> String {
    t.strftime("%H:%M:%S").to_string()
}

/// `in 1m42s` / `in 1m00s` (seconds shown within 10 minutes) / `in 2d` / `overdue 20s`.
pub fn until(now: Timestamp, t: Timestamp) -> String {
    let left = t.as_second() - now.as_second();
    if (60..600).contains(&left) {
        format!("in {}m{:02}s", left / 60, left % 60)
    } else if left >= 0 {
        format!("in {}", format_duration_secs(left))
    } else {
        format!("overdue {}", format_duration_secs(-left))
    }
}

/// Everything spotcheck knows of one EC2 instance id, across regions.
pub struct HostFacts<'a> {
    pub instance_id: &'a str,
    /// Region of the EC2 objects (instance, else spot request, else container instance).
    pub region: Option<&'a str>,
    pub instance: Option<&'a Ec2Instance>,
    pub spot_requests: Vec<&'a SpotInstanceRequest>,
    /// `(region, cluster, container instance)`.
    pub container_instances: Vec<(&'a str, &'a str, &'a EcsContainerInstance)>,
}

impl<'a> HostFacts<'a> {
    pub fn gather(fleet: &'a Fleet, joins: &'a Joins, instance_id: &'a str) -> HostFacts<'a> {
        let mut f = HostFacts {
            instance_id,
            region: None,
            instance: None,
            spot_requests: Vec::new(),
            container_instances: Vec::new(),
        };
        for (region, r) in &fleet.aws {
            if let Some(i) = r.instances.get(instance_id) {
                f.instance = Some(i);
                f.region = Some(region);
            }
        }
        if let Some(links) = joins.links(instance_id) {
            for (region, sid) in &links.spot_requests {
                if let Some(req) = fleet.aws.get(region).and_then(|r| r.spot_requests.get(sid)) {
                    f.spot_requests.push(req);
                    f.region = f.region.or(Some(region));
                }
            }
            for (region, arn) in &links.container_instances {
                if let Some((region, (cluster, ci))) = fleet
                    .aws
                    .get_key_value(region)
                    .and_then(|(k, r)| r.container_instances.get(arn).map(|v| (k, v)))
                {
                    f.container_instances.push((region, cluster, ci));
                    f.region = f.region.or(Some(region));
                }
            }
        }
        f
    }

    /// Tasks placed on this instance that are not STOPPED, with their region.
    pub fn tasks(&self, fleet: &'a Fleet) -> Vec<(&'a str, &'a EcsTask)> {
        let mut out = Vec::new();
        for (region, _, ci) in &self.container_instances {
            if let Some(r) = fleet.aws.get(*region) {
                out.extend(
                    r.tasks
                        .values()
                        .filter(|t| {
                            t.container_instance_arn.as_deref()
                                == Some(ci.container_instance_arn.as_str())
                                && t.last_status.as_deref() != Some("STOPPED")
                        })
                        .map(|t| (*region, t)),
                );
            }
        }
        out
    }

    fn instance_state(&self) -> Option<&'a str> {
        self.instance.and_then(Ec2Instance::state_name)
    }

    /// The instance is terminated, stopped, or on its way there.
    pub fn instance_down(&self) -> bool {
        matches!(
            self.instance_state(),
            Some("shutting-down" | "terminated" | "stopping" | "stopped")
        )
    }
}

/// One signal on a host, before they are merged into a [`HostRisk`].
struct Signal {
    code: CauseCode,
    /// Lower is stronger.
    rank: u8,
    state: String,
    detail: String,
    notice: Option<Timestamp>,
    deadline: Option<Timestamp>,
    lost: bool,
    evidence: Evidence,
}

/// A host's risk with the raw state label for its unit.
pub struct Assessment {
    pub risk: HostRisk,
    /// Spot status code, instance state or event code, as AWS says it.
    pub state: String,
}

/// Every EC2 instance with a spot or scheduled-maintenance signal, by instance id.
pub fn host_risks(fleet: &Fleet, joins: &Joins, now: Timestamp) -> HashMap<String, HostRisk> {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    for r in fleet.aws.values() {
        ids.extend(r.instances.keys().map(String::as_str));
        ids.extend(r.instance_status.keys().map(String::as_str));
        ids.extend(
            r.spot_requests
                .values()
                .filter_map(|s| s.instance_id.as_deref()),
        );
    }
    ids.into_iter()
        .filter_map(|id| assess(fleet, joins, id, now).map(|a| (id.to_string(), a.risk)))
        .collect()
}

/// The risk of one instance, if it has any signal.
pub fn assess(fleet: &Fleet, joins: &Joins, id: &str, now: Timestamp) -> Option<Assessment> {
    let facts = HostFacts::gather(fleet, joins, id);
    let mut signals: Vec<Signal> = Vec::new();
    let down = facts.instance_down();
    let inst_label = instance_label(&facts);

    for req in &facts.spot_requests {
        let Some(status) = &req.status else { continue };
        let code = status.code.as_str();
        let at = status.update_time.map(|t| t.0);
        let sid = &req.spot_instance_request_id;
        let evidence = Evidence::new(
            "spot-request",
            format!("spot-request/{sid}"),
            code,
            status.message.clone().unwrap_or_default(),
        )
        .at(at);
        if code.starts_with("marked-for-") {
            let deadline = at.and_then(|t| t.checked_add(SPOT_NOTICE).ok());
            let when = at.map(|t| format!(" at {}", hms(t))).unwrap_or_default();
            let by = match (down, deadline) {
                (true, _) => format!(
                    "; {inst_label} is already {}",
                    facts.instance_state().unwrap_or("gone")
                ),
                (false, Some(d)) => format!("; {inst_label} goes by {}", hms(d)),
                (false, None) => format!("; {inst_label} goes within 2 minutes"),
            };
            signals.push(Signal {
                code: CauseCode::SpotInterruption,
                rank: 0,
                state: code.to_string(),
                detail: format!("spot request {sid} {code}{when}{by}"),
                notice: at,
                deadline,
                lost: down,
                evidence,
            });
        } else if is_reclaimed_code(code) {
            let when = at.map(|t| format!(" at {}", hms(t))).unwrap_or_default();
            signals.push(Signal {
                code: CauseCode::SpotInterruption,
                rank: 1,
                state: code.to_string(),
                detail: format!("spot request {sid} {code}{when}: EC2 reclaimed {inst_label}"),
                notice: at,
                deadline: None,
                lost: true,
                evidence,
            });
        }
    }

    if let Some(inst) = facts.instance {
        if let Some(reason) = &inst.state_reason {
            let running = matches!(facts.instance_state(), Some("running" | "pending"));
            let code = match reason.code.as_str() {
                "Server.SpotInstanceTermination" | "Server.SpotInstanceShutdown" => {
                    Some(CauseCode::SpotInterruption)
                }
                "Server.ScheduledStop" => Some(CauseCode::ScheduledMaintenance),
                _ => None,
            };
            if let (Some(code), false) = (code, running) {
                let at = inst
                    .state_transition_reason
                    .as_deref()
                    .and_then(transition_time);
                let state = facts.instance_state().unwrap_or("unknown");
                let msg = reason.message.clone().unwrap_or_default();
                signals.push(Signal {
                    code,
                    rank: 2,
                    state: state.to_string(),
                    detail: format!("{inst_label} {state}: {}", reason.code),
                    notice: at,
                    deadline: None,
                    lost: down,
                    evidence: Evidence::new(
                        "instance",
                        format!("instance/{id}"),
                        reason.code.clone(),
                        if msg.is_empty() {
                            format!("state {state}")
                        } else {
                            msg
                        },
                    )
                    .at(at),
                });
            }
        }
    }

    for r in fleet.aws.values() {
        let Some(st) = r.instance_status.get(id) else {
            continue;
        };
        for ev in &st.events {
            let desc = ev.description.clone().unwrap_or_default();
            if desc.starts_with("[Completed]") || desc.starts_with("[Canceled]") {
                continue;
            }
            if ev.not_after.is_some_and(|t| t.0 < now) {
                continue;
            }
            let nb = ev.not_before.map(|t| t.0);
            let when = nb
                .map(|t| format!(" not before {}", t.strftime("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default();
            let object = ev
                .instance_event_id
                .as_deref()
                .map(|e| format!("instance-event/{e}"))
                .unwrap_or_else(|| format!("instance/{id}"));
            signals.push(Signal {
                code: CauseCode::ScheduledMaintenance,
                rank: 3,
                state: ev.code.clone(),
                detail: format!("scheduled {} for {inst_label}{when}", ev.code),
                notice: None,
                deadline: nb,
                lost: down,
                evidence: Evidence::new("instance-event", object, ev.code.clone(), desc).at(nb),
            });
        }
    }

    if signals.is_empty() {
        return None;
    }
    signals.sort_by_key(|s| s.rank);
    let lost = signals.iter().any(|s| s.lost) || down;
    let primary = &signals[0];
    let mut evidence: Vec<Evidence> = signals.iter().map(|s| s.evidence.clone()).collect();
    if let Some(inst) = facts.instance {
        if !evidence.iter().any(|e| e.source == "instance") {
            let state = inst.state_name().unwrap_or("unknown");
            evidence.push(Evidence::new(
                "instance",
                format!("instance/{id}"),
                state,
                format!(
                    "{}{}",
                    inst.instance_type.as_deref().unwrap_or("instance"),
                    if inst.is_spot() { " (spot)" } else { "" }
                ),
            ));
        }
    }
    let notice = signals.iter().find_map(|s| s.notice);
    Some(Assessment {
        state: if down && primary.rank == 0 {
            facts.instance_state().unwrap_or("gone").to_string()
        } else {
            primary.state.clone()
        },
        risk: HostRisk {
            instance_id: id.to_string(),
            code: primary.code,
            detail: primary.detail.clone(),
            notice: primary.notice.or(notice),
            deadline: if lost { None } else { primary.deadline },
            evidence,
            lost,
        },
    })
}

/// Spot request codes that mean EC2 already took the instance back.
fn is_reclaimed_code(code: &str) -> bool {
    (code.starts_with("instance-terminated-") || code.starts_with("instance-stopped-"))
        && !code.ends_with("-by-user")
}

/// `instance i-0abc (c5.xlarge, us-east-1a)`.
fn instance_label(f: &HostFacts<'_>) -> String {
    let mut extra: Vec<&str> = Vec::new();
    if let Some(i) = f.instance {
        extra.extend(i.instance_type.as_deref());
        extra.extend(i.availability_zone());
    }
    if extra.is_empty() {
        format!("instance {}", f.instance_id)
    } else {
        format!("instance {} ({})", f.instance_id, extra.join(", "))
    }
}

/// The time in `StateTransitionReason`: `Service initiated (2026-11-30 03:06:12 GMT)`.
pub fn transition_time(reason: &str) -> Option<Timestamp> {
    let open = reason.rfind('(')?;
    let inner = reason.get(open + 1..)?.split(')').next()?.trim();
    let inner = inner.strip_suffix("GMT").unwrap_or(inner).trim();
    format!("{}Z", inner.replacen(' ', "T", 1)).parse().ok()
}

/// One unit per at-risk EC2 instance that no Kubernetes node stands for.
pub fn host_units(cx: &Context<'_>) -> Vec<Unit> {
    let mut ids: Vec<&String> = cx.host_risks.keys().collect();
    ids.sort();
    let mut units = Vec::new();
    for id in ids {
        let Some(risk) = cx.host_risks.get(id) else {
            continue;
        };
        if cx.joins.links(id).is_some_and(|l| !l.nodes.is_empty()) {
            continue; // the Kubernetes Node unit covers it
        }
        units.push(host_unit(cx, id, risk));
    }
    units
}

fn host_unit(cx: &Context<'_>, id: &str, risk: &HostRisk) -> Unit {
    let facts = HostFacts::gather(cx.fleet, cx.joins, id);
    let state = assess(cx.fleet, cx.joins, id, cx.now)
        .map(|a| a.state)
        .unwrap_or_else(|| risk.code.as_str());
    let region = facts.region.unwrap_or("aws").to_string();
    let tasks = facts.tasks(cx.fleet);
    let task_names: Vec<String> = tasks
        .iter()
        .map(|(_, t)| match t.service_name() {
            Some(s) => format!("{s}/{}", t.short_id()),
            None => t.short_id().to_string(),
        })
        .collect();
    let n = tasks.len();
    let what = match n {
        0 => "no tasks on it".to_string(),
        1 => "1 task on it".to_string(),
        n => format!("{n} tasks on it"),
    };

    let verdict = if !risk.pressing(cx.now) {
        Verdict::Running
    } else if !risk.lost {
        Verdict::AtRisk
    } else if n > 0 && lost_for_long(risk, cx.now) {
        Verdict::Stuck
    } else {
        Verdict::Stopped
    };
    let headline = match (risk.code, risk.lost) {
        (CauseCode::SpotInterruption, false) => match risk.deadline {
            Some(d) => format!("spot reclaim {}; {what}", until(cx.now, d)),
            None => format!("spot interruption notice; {what}"),
        },
        (CauseCode::SpotInterruption, true) if n > 0 => {
            format!("spot reclaimed it ({state}); ECS still lists {n} task(s)")
        }
        (CauseCode::SpotInterruption, true) => format!("spot reclaimed it ({state})"),
        (_, false) => match risk.deadline {
            Some(d) => format!("{state} scheduled {}; {what}", until(cx.now, d)),
            None => format!("{state} scheduled; {what}"),
        },
        (_, true) => format!("instance {state} for scheduled maintenance; {what}"),
    };

    // Chain: the instance (with its container instances and workloads), then the signal.
    let mut host_evidence: Vec<Evidence> = Vec::new();
    if let Some(inst) = facts.instance {
        host_evidence.push(Evidence::new(
            "instance",
            format!("instance/{id}"),
            inst.state_name().unwrap_or("unknown"),
            format!(
                "{}{}{}",
                inst.instance_type.as_deref().unwrap_or("instance"),
                if inst.is_spot() { ", spot" } else { "" },
                inst.availability_zone()
                    .map(|z| format!(", {z}"))
                    .unwrap_or_default()
            ),
        ));
    }
    for (_, cluster, ci) in &facts.container_instances {
        host_evidence.push(container_instance_evidence(cluster, ci));
    }
    let mut detail = format!("instance {id}");
    if let Some((_, cluster, ci)) = facts.container_instances.first() {
        detail.push_str(&format!(
            " is ECS container instance {} in cluster {cluster} ({})",
            ci.short_id(),
            ci.status.as_deref().unwrap_or("status unknown")
        ));
    }
    if task_names.is_empty() {
        detail.push_str("; no workloads on it");
    } else {
        detail.push_str(&format!("; workloads: {}", task_names.join(", ")));
    }
    let causes = vec![
        super::Cause {
            code: risk.code,
            detail,
            evidence: host_evidence,
        },
        super::Cause {
            code: risk.code,
            detail: risk.detail.clone(),
            evidence: risk.evidence.clone(),
        },
    ];

    let mut actions = Vec::new();
    if !risk.lost {
        for (region, cluster, ci) in &facts.container_instances {
            if ci.status.as_deref() == Some("ACTIVE") {
                actions.push(SuggestedAction {
                    title: format!(
                        "Drain container instance {} so ECS moves its tasks now",
                        ci.short_id()
                    ),
                    command: format!(
                        "aws ecs update-container-instances-state --cluster {cluster} --container-instances {} --status DRAINING --region {region}",
                        ci.container_instance_arn
                    ),
                    mutating: true,
                });
            }
        }
    } else {
        for (region, cluster, ci) in &facts.container_instances {
            if n > 0 {
                actions.push(SuggestedAction {
                    title: "List the tasks ECS still places on it".into(),
                    command: format!(
                        "aws ecs list-tasks --cluster {cluster} --container-instance {} --region {region}",
                        ci.container_instance_arn
                    ),
                    mutating: false,
                });
            }
        }
    }
    for req in &facts.spot_requests {
        actions.push(SuggestedAction {
            title: "Show the spot request".into(),
            command: format!(
                "aws ec2 describe-spot-instance-requests --spot-instance-request-ids {} --region {region}",
                req.spot_instance_request_id
            ),
            mutating: false,
        });
    }
    if risk.code == CauseCode::ScheduledMaintenance {
        actions.push(SuggestedAction {
            title: "Show the scheduled events".into(),
            command: format!(
                "aws ec2 describe-instance-status --instance-ids {id} --include-all-instances --region {region}"
            ),
            mutating: false,
        });
    }
    actions.push(SuggestedAction {
        title: "Show the instance".into(),
        command: format!("aws ec2 describe-instances --instance-ids {id} --region {region}"),
        mutating: false,
    });

    Unit {
        id: format!("instance/{region}/{id}"),
        kind: UnitKind::Instance,
        source: region.clone(),
        scope: facts
            .container_instances
            .first()
            .map(|(_, c, _)| c.to_string())
            .unwrap_or_default(),
        name: match facts.instance.and_then(|i| i.tag("Name")) {
            Some(name) => format!("{id} ({name})"),
            None => id.to_string(),
        },
        state,
        since: facts.instance.and_then(|i| i.launch_time).map(|t| t.0),
        host: Some(id.to_string()),
        instance_id: Some(id.to_string()),
        diagnosis: Diagnosis {
            verdict,
            headline: super::ecs::clip(&headline),
            causes,
            actions,
            deadline: risk.deadline,
        },
    }
}

/// Evidence line for a container instance: status, agent, remaining resources.
pub fn container_instance_evidence(cluster: &str, ci: &EcsContainerInstance) -> Evidence {
    let mut msg = Vec::new();
    if let Some(r) = &ci.status_reason {
        msg.push(r.clone());
    }
    if ci.agent_connected == Some(false) {
        msg.push("ECS agent disconnected".into());
    }
    if let Some(id) = &ci.ec2_instance_id {
        msg.push(format!("EC2 {id}"));
    }
    msg.push(format!(
        "{} running, {} pending tasks",
        ci.running_tasks_count, ci.pending_tasks_count
    ));
    if let (Some(cpu), Some(mem)) = (ci.remaining("CPU"), ci.remaining("MEMORY")) {
        msg.push(format!("remaining {cpu} CPU units, {mem} MiB"));
    }
    Evidence::new(
        "container-instance",
        format!("container-instance/{cluster}/{}", ci.short_id()),
        ci.status.clone().unwrap_or_else(|| "unknown".into()),
        msg.join("; "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_times() {
        assert_eq!(
            transition_time("Service initiated (2026-11-30 03:06:12 GMT)"),
            Some("2026-11-30T03:06:12Z".parse().unwrap())
        );
        assert_eq!(transition_time("User initiated"), None);
        assert_eq!(transition_time("(garbage"), None);
    }

    #[test]
    fn reclaimed_codes() {
        assert!(is_reclaimed_code("instance-terminated-by-price"));
        assert!(is_reclaimed_code("instance-terminated-no-capacity"));
        assert!(is_reclaimed_code(
            "instance-terminated-capacity-oversubscribed"
        ));
        assert!(is_reclaimed_code("instance-stopped-no-capacity"));
        assert!(!is_reclaimed_code("instance-terminated-by-user"));
        assert!(!is_reclaimed_code("fulfilled"));
    }

    #[test]
    fn countdown_words() {
        let now: Timestamp = "2026-11-30T03:00:00Z".parse().unwrap();
        assert_eq!(
            until(now, "2026-11-30T03:01:42Z".parse().unwrap()),
            "in 1m42s"
        );
        assert_eq!(
            until(now, "2026-11-30T03:01:00Z".parse().unwrap()),
            "in 1m00s"
        );
        assert_eq!(until(now, "2026-12-02T04:00:00Z".parse().unwrap()), "in 2d");
        assert_eq!(
            until(now, "2026-11-30T02:59:40Z".parse().unwrap()),
            "overdue 20s"
        );
    }
}
