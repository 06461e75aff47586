//! One pod: from its phase, container states, conditions, its own events and
//! the facts of its node to a verdict, a cause chain and actions.

use crate::model::objects::{ContainerStatus, Pod};
use jiff::{SignedDuration, Timestamp};

use super::nodes::ReadyState;
use super::{Ev, K8s, Link, action, headline, latest, sched, worst};
use crate::diagnose::{CauseCode, Diagnosis, Evidence, SuggestedAction, Unit, UnitKind, Verdict};
use crate::model::pod_phase_label;
use crate::model::time::format_age;

/// Restarts this recent count as a crash loop even while the container runs.
const RECENT_RESTART: SignedDuration = SignedDuration::from_secs(600);
/// ContainerCreating this long with nothing to show is stuck.
const SLOW_START: SignedDuration = SignedDuration::from_secs(300);
/// Terminating this long past the deletion deadline is stuck.
const STUCK_TERMINATING: SignedDuration = SignedDuration::from_secs(120);

const IMAGE_PULL: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "ImageInspectError",
    "RegistryUnavailable",
];

struct PodDiag {
    verdict: Verdict,
    prefix: Option<String>,
    links: Vec<Link>,
    actions: Vec<SuggestedAction>,
    deadline: Option<Timestamp>,
}

impl PodDiag {
    fn push(&mut self, v: Verdict, l: Link) {
        self.verdict = worst(self.verdict, v);
        self.links.push(l);
    }
    fn act(&mut self, a: SuggestedAction) {
        if !self.actions.iter().any(|x| x.command == a.command) {
            self.actions.push(a);
        }
    }
}

pub(crate) fn diagnose_pod(k: &K8s<'_>, ns: &str, name: &str, pod: &Pod) -> Unit {
    let object = format!("pod/{ns}/{name}");
    let uid = pod.metadata.uid.as_deref();
    // A healthy pod on a healthy node has nothing to explain: its events are
    // not even gathered (most pods of a big cluster; keeps `why` fast).
    let evs = if quiet(k, pod) {
        Vec::new()
    } else {
        k.events("Pod", ns, name, uid)
    };
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty());
    let kn = format!("kubectl -n {ns}");
    let mut d = PodDiag {
        verdict: Verdict::Running,
        prefix: None,
        links: Vec::new(),
        actions: Vec::new(),
        deadline: None,
    };
    let state = pod_phase_label(pod);

    match phase {
        "Succeeded" => {
            d.prefix = Some("Completed".into());
        }
        "Failed" => failed_pod(pod, &object, &evs, &mut d),
        _ => {
            if node.is_none() {
                d.verdict = Verdict::Pending;
                for l in sched::unscheduled_links(k, pod, &evs) {
                    d.push(Verdict::Pending, l);
                }
                // No room: say which nodes (spot reclaims) took the room away.
                if d.links.iter().any(|l| {
                    matches!(
                        l.cause.code,
                        CauseCode::InsufficientResource | CauseCode::TooManyPods
                    )
                }) {
                    for l in lost_capacity_links(k) {
                        d.push(Verdict::Pending, l);
                    }
                }
                d.act(action(
                    "Scheduler events and conditions",
                    format!("{kn} describe pod {name}"),
                    false,
                ));
                if d.links
                    .iter()
                    .any(|l| l.cause.code == CauseCode::UntoleratedTaint)
                {
                    d.act(action(
                        "Node taints",
                        "kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints[*].key",
                        false,
                    ));
                }
                if d.links
                    .iter()
                    .any(|l| l.cause.code == CauseCode::InsufficientResource)
                {
                    d.act(action(
                        "Requests vs allocatable per node",
                        "kubectl describe nodes",
                        false,
                    ));
                }
                if d.links.iter().any(|l| {
                    matches!(
                        l.cause.code,
                        CauseCode::ProvisioningFailed | CauseCode::NodeProvisioning
                    )
                }) {
                    d.act(action(
                        "Karpenter node claims",
                        "kubectl get nodeclaims -o wide",
                        false,
                    ));
                }
            } else {
                containers(k, pod, &object, &evs, &mut d, &kn, name);
                if phase == "Pending" && d.links.is_empty() {
                    starting_events(k, pod, &evs, &mut d, &kn);
                }
                if phase == "Running" && d.links.is_empty() {
                    readiness(pod, &object, &evs, &mut d);
                }
            }
        }
    }

    if phase != "Succeeded" && phase != "Failed" {
        disruption(pod, &object, &evs, &mut d);
    }

    // The node beneath: NotReady, deleted, spot and disruption signals, EC2 risk.
    let mut instance_id = None;
    if let Some(node) = node {
        let live = phase != "Succeeded" && phase != "Failed";
        match k.nodes.get(node) {
            Some(f) => {
                instance_id = f.instance_id.clone();
                if live {
                    let links = k.node_links(node);
                    if !links.is_empty() {
                        let v = if f.lost() {
                            Verdict::Stuck
                        } else {
                            Verdict::AtRisk
                        };
                        for l in links {
                            d.push(v, l.clone());
                        }
                        d.deadline = if f.lost() {
                            None // the countdown is over: the instance is gone
                        } else {
                            earliest(d.deadline, f.deadline())
                        };
                        d.act(action(
                            "Describe the node",
                            format!("kubectl describe node {node}"),
                            false,
                        ));
                        if f.lost() {
                            d.act(action(
                                "Remove the pod left on the lost node",
                                format!("{kn} delete pod {name} --force --grace-period=0"),
                                true,
                            ));
                        } else {
                            d.act(action(
                                "Move pods off the node before it goes",
                                format!("kubectl drain {node} --ignore-daemonsets --delete-emptydir-data"),
                                true,
                            ));
                        }
                    }
                }
            }
            None if !k.cluster.nodes.is_empty() && live => {
                d.push(
                    Verdict::Stuck,
                    Link::new(
                        CauseCode::NodeLost,
                        match reclaimed_instance(k, node) {
                            Some(id) => format!(
                                "node {node} no longer exists (spot instance {id}, reclaimed)"
                            ),
                            None => format!(
                                "node {node} no longer exists (deleted; a reclaimed spot instance?)"
                            ),
                        },
                        format!("node {node} gone"),
                    )
                    .with(Evidence::new(
                        "status",
                        object.clone(),
                        "spec.nodeName",
                        format!("bound to {node}, which is not in the node list"),
                    )),
                );
                d.act(action(
                    "Remove the pod left on the deleted node",
                    format!("{kn} delete pod {name} --force --grace-period=0"),
                    true,
                ));
            }
            None => {}
        }
    }

    // Terminating far past its grace period.
    if let Some(del) = pod.metadata.deletion_timestamp.as_ref().map(|t| t.0) {
        if k.now.duration_since(del) > STUCK_TERMINATING {
            d.push(
                Verdict::Stuck,
                Link::new(
                    CauseCode::StuckTerminating,
                    format!("terminating for {} past its grace period (finalizers, or a node that is gone)", format_age(k.now, del)),
                    format!("terminating for {}", format_age(k.now, del)),
                )
                .with(Evidence::new("status", object.clone(), "deletionTimestamp", del.to_string()).at(Some(del))),
            );
            d.act(action(
                "Force-remove the pod object",
                format!("{kn} delete pod {name} --force --grace-period=0"),
                true,
            ));
        } else if d.verdict == Verdict::Running {
            d.prefix.get_or_insert_with(|| "Terminating".into());
        }
    }

    // Unknown signals never vanish: a pod that is not fine but got no cause says so.
    if d.verdict == Verdict::Running && phase != "Succeeded" && phase != "Running" {
        d.verdict = Verdict::Pending;
    }
    if d.verdict != Verdict::Running || !d.links.is_empty() {
        d.act(action(
            "Events and conditions",
            format!("{kn} describe pod {name}"),
            false,
        ));
    }

    // One phrase per fact: the pod's own "spot interruption" event and its
    // node's notice are one story, told once with the node's countdown (or
    // its loss) in the place the pod's phrase had.
    let mut shorts: Vec<String> = Vec::new();
    let mut spot_at: Option<usize> = None;
    for l in &d.links {
        if l.short.is_empty() || shorts.contains(&l.short) {
            continue;
        }
        if l.cause.code == CauseCode::SpotInterruption {
            if let Some(i) = spot_at {
                shorts[i] = l.short.clone();
                continue;
            }
            spot_at = Some(shorts.len());
        }
        shorts.push(l.short.clone());
    }
    // A softer prefix ("Running, not Ready", "Terminating") only while nothing worse was found.
    let soft = d
        .prefix
        .clone()
        .filter(|_| matches!(d.verdict, Verdict::Running | Verdict::Pending));
    let prefix = soft.unwrap_or_else(|| match d.verdict {
        Verdict::AtRisk => "At risk".to_string(),
        Verdict::Running => "Running".to_string(),
        Verdict::Stopped if phase == "Succeeded" => "Completed".to_string(),
        // "Running: …" would contradict the verdict.
        Verdict::Crashing if state == "Running" => "Restarting".to_string(),
        Verdict::Stuck if state == "Running" => "Stuck".to_string(),
        _ => state.clone(),
    });
    let head = headline(&prefix, &shorts);
    // Symptom first, root cause last: pod links, then node, then instance.
    let causes = d.links.into_iter().map(|l| l.cause).collect();
    let mut actions = d.actions;
    // Read-only first, then the ones that change things.
    actions.sort_by_key(|a| a.mutating);
    Unit {
        id: format!("pod/{}/{ns}/{name}", k.context),
        kind: UnitKind::Pod,
        source: k.context.to_string(),
        scope: ns.to_string(),
        name: name.to_string(),
        state,
        since: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
        host: node.map(str::to_string),
        instance_id,
        diagnosis: Diagnosis {
            verdict: d.verdict,
            headline: head,
            causes,
            actions,
            deadline: d.deadline,
        },
    }
}

/// Running and Ready, no container waiting or ever restarted, not being
/// deleted or disrupted, on a node with no signal: or Succeeded.
fn quiet(k: &K8s<'_>, pod: &Pod) -> bool {
    let Some(status) = pod.status.as_ref() else {
        return false;
    };
    match status.phase.as_deref() {
        Some("Succeeded") => return true,
        Some("Running") => {}
        _ => return false,
    }
    if pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let conds = status.conditions.as_deref().unwrap_or(&[]);
    let ready = conds
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let disrupted = conds.iter().any(|c| c.type_ == "DisruptionTarget");
    if !ready || disrupted {
        return false;
    }
    if all_statuses(pod).any(|(c, _)| {
        c.restart_count > 0 || !c.ready && c.state.as_ref().is_some_and(|s| s.waiting.is_some())
    }) {
        return false;
    }
    let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
    node.and_then(|n| k.nodes.get(n)).is_some_and(|f| {
        f.ready == ReadyState::Ready && f.signals.is_empty() && f.host_risk.is_none() && !f.cordoned
    })
}

/// Nodes of this cluster deleted in the last 30 minutes, as the likely
/// holder of a volume that cannot be attached: Kubernetes force-detaches a
/// lost node's volumes only about 6 minutes after the node is gone.
///
/// With `zone`, a node whose EC2 instance is known to be in another zone is left out.
fn recently_deleted_nodes(k: &K8s<'_>, zone: Option<&str>) -> Vec<(String, Link)> {
    let mut out = Vec::new();
    for ch in k.cx.fleet.changes.iter().rev() {
        let crate::model::Subject::Node { context, name } = &ch.subject else {
            continue;
        };
        if context != k.context || ch.what != "node deleted" {
            continue;
        }
        let ago = k.now.duration_since(ch.at);
        if ago > SignedDuration::from_mins(30) || ago < SignedDuration::ZERO {
            break;
        }
        if k.cluster.nodes.contains_key(name) || out.len() >= 3 {
            continue;
        }
        if let (Some(want), Some(was)) = (zone, instance_zone(k, name)) {
            if want != was {
                continue;
            }
        }
        let what = match reclaimed_instance(k, name) {
            Some(id) => format!("spot instance {id}, reclaimed"),
            None => "a reclaimed spot instance?".to_string(),
        };
        out.push((
            name.clone(),
            Link::new(
                CauseCode::NodeLost,
                format!(
                    "node {name} was deleted {} ago ({what}); a volume it held is force-detached about 6 minutes after the node is gone",
                    format_age(k.now, ch.at)
                ),
                format!("node {name} lost"),
            )
            .with(Evidence::new("change", format!("node/{name}"), "deleted", ch.what.clone()).at(Some(ch.at))),
        ));
    }
    out
}

/// `topology.kubernetes.io/zone` of a node.
fn node_zone(node: &k8s_openapi::api::core::v1::Node) -> Option<&str> {
    let labels = node.metadata.labels.as_ref()?;
    labels
        .get("topology.kubernetes.io/zone")
        .or_else(|| labels.get("failure-domain.beta.kubernetes.io/zone"))
        .map(String::as_str)
}

/// The zone of a (deleted) node's EC2 instance, found by private DNS name.
fn instance_zone<'f>(k: &'f K8s<'_>, node: &str) -> Option<&'f str> {
    k.cx.fleet.aws.values().find_map(|r| {
        r.instances
            .values()
            .find(|i| i.private_dns_name.as_deref() == Some(node))
            .and_then(|i| i.availability_zone())
    })
}

/// The EC2 instance of a (deleted) node, by private DNS name, when spot took it back.
fn reclaimed_instance(k: &K8s<'_>, node: &str) -> Option<String> {
    k.cx.fleet.aws.values().find_map(|r| {
        r.instances
            .values()
            .find(|i| i.private_dns_name.as_deref() == Some(node))
            .filter(|i| {
                k.cx.host_risks
                    .get(&i.instance_id)
                    .is_some_and(|h| h.lost && h.code == CauseCode::SpotInterruption)
            })
            .map(|i| i.instance_id.clone())
    })
}

/// Capacity the cluster lost recently: nodes deleted in the last 30 minutes,
/// the upstream cause of a pod that finds no room now (chain only).
fn lost_capacity_links(k: &K8s<'_>) -> Vec<Link> {
    recently_deleted_nodes(k, None)
        .into_iter()
        .map(|(name, mut l)| {
            let what = match reclaimed_instance(k, &name) {
                Some(id) => format!("spot instance {id}, reclaimed"),
                None => "deleted".to_string(),
            };
            let ago = l
                .cause
                .evidence
                .first()
                .and_then(|e| e.at)
                .map(|t| format!(" {} ago", format_age(k.now, t)))
                .unwrap_or_default();
            l.cause.detail =
                format!("the cluster lost node {name} ({what}){ago}: its capacity is gone until a replacement is Ready");
            l.short = String::new();
            l
        })
        .collect()
}

/// The earlier of two optional instants.
fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn exit_phrase(code: i32, signal: Option<i32>) -> String {
    match (code, signal) {
        (137, _) | (_, Some(9)) => "exit 137, SIGKILL".into(),
        (143, _) | (_, Some(15)) => "exit 143, SIGTERM".into(),
        (139, _) => "exit 139, segfault".into(),
        (c, _) => format!("exit {c}"),
    }
}

fn all_statuses(pod: &Pod) -> impl Iterator<Item = (&ContainerStatus, bool)> {
    let s = pod.status.as_ref();
    s.and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .map(|c| (c, true))
        .chain(
            s.and_then(|s| s.container_statuses.as_ref())
                .into_iter()
                .flatten()
                .map(|c| (c, false)),
        )
}

fn memory_limit(pod: &Pod, container: &str) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == container)?
        .resources
        .as_ref()?
        .limits
        .as_ref()?
        .get("memory")
        .map(|q| q.0.clone())
}

/// Container waiting/terminated states and their events.
fn containers(
    k: &K8s<'_>,
    pod: &Pod,
    object: &str,
    evs: &[Ev<'_>],
    d: &mut PodDiag,
    kn: &str,
    name: &str,
) {
    for (cs, init) in all_statuses(pod) {
        let c = &cs.name;
        let kind = if init { "init container" } else { "container" };
        let cobj = format!("{object}/{c}");
        let state = cs.state.as_ref();
        let last_term = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
        if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
            let reason = w.reason.as_deref().unwrap_or("");
            let msg = w.message.clone().unwrap_or_default();
            let wev = Evidence::new("container", cobj.clone(), reason, msg.clone());
            match reason {
                "CrashLoopBackOff" => {
                    crash_links(pod, &cobj, c, kind, cs, evs, d);
                    d.act(action(
                        "Logs of the crashed container",
                        format!("{kn} logs {name} -c {c} --previous"),
                        false,
                    ));
                }
                r if IMAGE_PULL.contains(&r) => {
                    let pull = evs
                        .iter()
                        .rev()
                        .find(|e| e.reason == "Failed" && e.message.contains(&cs.image));
                    let pull = pull.or_else(|| latest(evs, &["Failed"]));
                    let why = pull
                        .map(|e| pull_reason(e.message, &cs.image))
                        .unwrap_or_else(|| msg.clone());
                    let mut l = Link::new(
                        CauseCode::ImagePull,
                        format!(
                            "{kind} {c} cannot pull image {}: {}",
                            cs.image,
                            trim_msg(&why)
                        ),
                        format!("cannot pull {}", short_image(&cs.image)),
                    )
                    .with(wev);
                    if let Some(e) = pull {
                        l = l.with(e.evidence());
                    }
                    d.push(Verdict::Stuck, l);
                    d.act(action(
                        "Check the image reference and pull secret",
                        format!("{kn} get pod {name} -o jsonpath='{{.spec.containers[*].image}}'"),
                        false,
                    ));
                }
                "CreateContainerConfigError" | "CreateContainerError" => {
                    let mut l = Link::new(
                        CauseCode::ContainerConfigError,
                        format!("{kind} {c}: {reason}: {msg}"),
                        config_short(&msg, reason),
                    )
                    .with(wev);
                    if let Some(e) = latest(evs, &["Failed"]) {
                        l = l.with(e.evidence());
                    }
                    d.push(Verdict::Stuck, l);
                }
                "RunContainerError" | "PreStartHookError" | "PostStartHookError" => {
                    let l = Link::new(
                        CauseCode::ContainerFailed,
                        format!("{kind} {c}: {reason}: {msg}"),
                        format!("{c}: {reason}"),
                    )
                    .with(wev);
                    d.push(Verdict::Stuck, l);
                }
                "ContainerCreating" | "PodInitializing" | "" => {}
                other => {
                    d.push(
                        Verdict::Stuck,
                        Link::new(
                            CauseCode::Unknown,
                            format!("{kind} {c} waiting: {other}: {msg}"),
                            format!("{c}: {other}"),
                        )
                        .with(wev),
                    );
                }
            }
            continue;
        }
        if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            // Terminated while the pod still lives: an init container that failed.
            if init && t.exit_code != 0 {
                let reason = t.reason.as_deref().unwrap_or("Error");
                let code = if reason == "OOMKilled" {
                    CauseCode::OomKilled
                } else {
                    CauseCode::ContainerFailed
                };
                d.push(
                    Verdict::Crashing,
                    Link::new(
                        code,
                        format!(
                            "init container {c} failed: {reason} ({})",
                            exit_phrase(t.exit_code, t.signal)
                        ),
                        format!("init {c} {reason}"),
                    )
                    .with(
                        Evidence::new(
                            "container",
                            cobj.clone(),
                            reason,
                            t.message.clone().unwrap_or_default(),
                        )
                        .at(t.finished_at.as_ref().map(|x| x.0)),
                    ),
                );
            }
            continue;
        }
        // Running now, but restarting often and recently.
        if let Some(t) = last_term {
            let recent = t
                .finished_at
                .as_ref()
                .is_some_and(|f| k.now.duration_since(f.0) < RECENT_RESTART);
            if recent && cs.restart_count >= 3 {
                crash_links(pod, &cobj, c, kind, cs, evs, d);
            }
        }
    }
}

fn crash_links(
    pod: &Pod,
    cobj: &str,
    c: &str,
    kind: &str,
    cs: &ContainerStatus,
    evs: &[Ev<'_>],
    d: &mut PodDiag,
) {
    let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    let (reason, exit) = last
        .map(|t| {
            (
                t.reason.clone().unwrap_or_else(|| "Error".into()),
                exit_phrase(t.exit_code, t.signal),
            )
        })
        .unwrap_or_else(|| ("unknown".into(), "no last state".into()));
    let mut l = Link::new(
        CauseCode::CrashLoop,
        format!(
            "{kind} {c} restarted {} times; last exit: {reason} ({exit})",
            cs.restart_count
        ),
        if reason == "OOMKilled" {
            format!("{c} OOMKilled, {} restarts", cs.restart_count)
        } else {
            format!("{c} crash-looping ({exit})")
        },
    );
    if let Some(t) = last {
        l = l.with(
            Evidence::new(
                "container",
                cobj,
                format!("lastState.terminated {reason}"),
                t.message.clone().unwrap_or_else(|| exit.clone()),
            )
            .at(t.finished_at.as_ref().map(|x| x.0)),
        );
    }
    if let Some(e) = evs
        .iter()
        .rev()
        .find(|e| e.reason == "BackOff" && e.message.contains(c))
    {
        l = l.with(e.evidence());
    }
    d.push(Verdict::Crashing, l);
    if reason == "OOMKilled" {
        let lim = memory_limit(pod, c)
            .map(|m| format!(" (memory limit {m})"))
            .unwrap_or_default();
        d.push(
            Verdict::Crashing,
            Link::new(
                CauseCode::OomKilled,
                format!("{kind} {c} was killed for using more memory than its limit{lim}"),
                String::new(),
            )
            .with(Evidence::new("container", cobj, "OOMKilled", exit)),
        );
    }
    let probes: Vec<&Ev<'_>> = evs
        .iter()
        .filter(|e| {
            e.reason == "Unhealthy"
                && (e.message.starts_with("Liveness") || e.message.starts_with("Startup"))
        })
        .collect();
    if let Some(p) = probes.last() {
        d.push(
            Verdict::Crashing,
            Link::new(
                CauseCode::ProbeFailing,
                format!("the kubelet restarts it: {}", trim_msg(p.message)),
                "liveness probe failing",
            )
            .with(p.evidence()),
        );
    }
}

/// The end of a pull error (`…: IMAGE: not found`), with the gRPC code:
/// `not found (NotFound)`; the whole message when it has no such shape.
fn pull_reason(message: &str, image: &str) -> String {
    let code = message
        .split("code = ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    match message.rsplit_once(&format!("{image}: ")) {
        Some((_, tail)) if !tail.is_empty() => format!("{}{code}", tail.trim()),
        _ => message.to_string(),
    }
}

fn trim_msg(m: &str) -> String {
    super::truncate(m.trim(), 240)
}

fn short_image(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    super::truncate(last, 40)
}

fn config_short(msg: &str, reason: &str) -> String {
    // `secret "db-creds" not found` / `configmap "x" not found`
    for what in ["secret", "configmap"] {
        if let Some(i) = msg.find(&format!("{what} \"")) {
            let rest = &msg[i + what.len() + 2..];
            if let Some(end) = rest.find('"') {
                return format!("{what} {} not found", &rest[..end]);
            }
        }
    }
    reason.to_string()
}

/// The quoted name after `volume "`.
fn volume_name(msg: &str) -> Option<&str> {
    let i = msg.find("volume \"")?;
    let rest = &msg[i + 8..];
    rest.find('"').map(|e| &rest[..e])
}

/// A scheduled pod that has not started: mount, attach and sandbox events.
fn starting_events(k: &K8s<'_>, pod: &Pod, evs: &[Ev<'_>], d: &mut PodDiag, kn: &str) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let me = pod.metadata.name.as_deref().unwrap_or("");
    let my_node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("");
    if let Some(e) = latest(evs, &["FailedAttachVolume"]) {
        if e.message.contains("Multi-Attach") {
            let vol = volume_name(e.message).unwrap_or("?").to_string();
            let mut l = Link::new(
                CauseCode::VolumeMultiAttach,
                format!("volume {vol} is still attached to another node (RWO EBS volume)"),
                format!("volume {} attached elsewhere", super::truncate(&vol, 24)),
            )
            .with(e.evidence());
            // Who holds it: another pod of this namespace on the same claim.
            let claim = k
                .cluster
                .pvcs
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .find(|(_, p)| {
                    p.spec.as_ref().and_then(|s| s.volume_name.as_deref()) == Some(vol.as_str())
                })
                .map(|((_, n), _)| n.clone())
                .or_else(|| {
                    pod.spec
                        .as_ref()
                        .and_then(|s| s.volumes.as_ref())
                        .into_iter()
                        .flatten()
                        .find_map(|v| {
                            v.persistent_volume_claim
                                .as_ref()
                                .map(|c| c.claim_name.clone())
                        })
                });
            let mut holder_links = Vec::new();
            if let Some(claim) = &claim {
                l.cause.detail = format!(
                    "volume {vol} (PVC {claim}) is still attached to another node (RWO EBS volume)"
                );
                for ((_, other), op) in k
                    .cluster
                    .pods
                    .range((ns.to_string(), String::new())..)
                    .take_while(|((n, _), _)| n == ns)
                {
                    if other == me {
                        continue;
                    }
                    let uses = op
                        .spec
                        .as_ref()
                        .and_then(|s| s.volumes.as_ref())
                        .into_iter()
                        .flatten()
                        .any(|v| {
                            v.persistent_volume_claim
                                .as_ref()
                                .is_some_and(|c| &c.claim_name == claim)
                        });
                    let Some(on) = op.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
                        continue;
                    };
                    if !uses || on == my_node {
                        continue;
                    }
                    let gone = !k.cluster.nodes.contains_key(on) && !k.cluster.nodes.is_empty();
                    let facts = k.nodes.get(on);
                    let not_ready = facts.is_some_and(|f| {
                        matches!(f.ready, ReadyState::NotReady | ReadyState::Unknown)
                    });
                    let lost = facts.is_some_and(|f| f.lost());
                    let how = if gone {
                        "which no longer exists"
                    } else if lost {
                        "whose instance is gone"
                    } else if not_ready {
                        "which is NotReady"
                    } else {
                        "which is still up"
                    };
                    l = l.with(Evidence::new(
                        "status",
                        format!("pod/{ns}/{other}"),
                        "holds volume",
                        format!("pod {other} on node {on} ({how}) still uses PVC {claim}"),
                    ));
                    if gone || lost || not_ready {
                        holder_links.push((
                            on.to_string(),
                            Link::new(
                                if not_ready && !gone && !lost { CauseCode::NodeNotReady } else { CauseCode::NodeLost },
                                format!("the volume was attached to node {on}, {how}; pod {other} there still holds it"),
                                format!("held by lost node {on}"),
                            )
                            .with(Evidence::new("status", format!("node/{on}"), if gone { "deleted" } else { "NotReady" }, format!("node {on} {how}"))),
                        ));
                        d.act(action(
                            format!("Release the volume: remove pod {other} from the lost node"),
                            format!("{kn} delete pod {other} --force --grace-period=0"),
                            true,
                        ));
                    }
                }
            }
            if holder_links.is_empty() {
                // An EBS volume attaches within its zone only: a node lost in
                // another zone than the pod's new node cannot be holding it.
                let zone = k.cluster.nodes.get(my_node).and_then(node_zone);
                holder_links.extend(recently_deleted_nodes(k, zone));
            }
            // One holder: the headline names it (the culprit), once.
            if let [(node, _)] = holder_links.as_slice() {
                l.short = format!("volume on lost node {node}");
                holder_links[0].1.short = String::new();
            }
            d.push(Verdict::Stuck, l);
            for (_, h) in holder_links {
                d.push(Verdict::Stuck, h);
            }
            d.act(action(
                "Where the volume is attached",
                format!("kubectl get volumeattachments -o wide | grep {vol}"),
                false,
            ));
            return;
        }
    }
    let mount = latest(evs, &["FailedMount"]);
    let attach = latest(evs, &["FailedAttachVolume"]);
    if let Some(e) = mount.or(attach) {
        let vol = volume_name(e.message).map(str::to_string);
        let what = vol
            .clone()
            .map(|v| format!("volume {v}"))
            .unwrap_or_else(|| "a volume".into());
        let short = if e.message.contains("not found") {
            config_short(e.message, "mount failed")
        } else {
            format!(
                "cannot mount {}",
                super::truncate(vol.as_deref().unwrap_or("volume"), 30)
            )
        };
        d.push(
            Verdict::Stuck,
            Link::new(
                CauseCode::MountFailed,
                format!("{what} cannot be mounted: {}", trim_msg(e.message)),
                short,
            )
            .with(e.evidence()),
        );
        return;
    }
    if let Some(e) = latest(evs, &["FailedCreatePodSandBox"]) {
        let ip = e.message.contains("failed to assign an IP address")
            || e.message.contains("no available IP")
            || e.message.contains("InsufficientFreeAddressesInSubnet");
        let (code, detail, short) = if ip {
            (
                CauseCode::IpExhaustion,
                format!(
                    "the VPC CNI cannot give the pod an IP address on node {my_node} (subnet or ENI IPs exhausted)"
                ),
                "no pod IP (CNI IP exhaustion)".to_string(),
            )
        } else {
            (
                CauseCode::Unknown,
                format!("FailedCreatePodSandBox: {}", trim_msg(e.message)),
                "pod sandbox failed".to_string(),
            )
        };
        d.push(
            Verdict::Stuck,
            Link::new(code, detail, short).with(e.evidence()),
        );
        if ip {
            d.act(action(
                "Free IPs per subnet",
                "aws ec2 describe-subnets --query 'Subnets[].[SubnetId,AvailabilityZone,AvailableIpAddressCount]' --output table",
                false,
            ));
        }
        return;
    }
    // Still creating: how long, and anything else the kubelet said.
    let since = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "True")
        })
        .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
        .or(pod.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let slow = since.is_some_and(|s| k.now.duration_since(s) > SLOW_START);
    // Warnings from before the pod got its node (FailedScheduling) are history now.
    let warning = evs.iter().rev().find(|e| {
        e.type_ == "Warning"
            && e.reason != "FailedScheduling"
            && !matches!(e.component, "default-scheduler" | "karpenter")
            && !matches!((e.last, since), (Some(l), Some(s)) if l < s)
    });
    match (warning, slow) {
        (Some(e), _) => d.push(
            Verdict::Stuck,
            Link::new(CauseCode::Unknown, format!("{}: {}", e.reason, trim_msg(e.message)), e.reason.to_string()).with(e.evidence()),
        ),
        (None, true) => d.push(
            Verdict::Stuck,
            Link::new(
                CauseCode::Unknown,
                format!("containers not started {} after scheduling, and no warning event (events expire after 1 h)", since.map(|s| format_age(k.now, s)).unwrap_or_default()),
                format!("not started after {}", since.map(|s| format_age(k.now, s)).unwrap_or_default()),
            ),
        ),
        (None, false) => {
            d.verdict = worst(d.verdict, Verdict::Pending);
        }
    }
}

/// Running but not Ready: failing readiness probes.
fn readiness(pod: &Pod, object: &str, evs: &[Ev<'_>], d: &mut PodDiag) {
    let conds = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[]);
    let Some(ready) = conds.iter().find(|c| c.type_ == "Ready") else {
        return;
    };
    if ready.status == "True" {
        return;
    }
    let probe = evs
        .iter()
        .rev()
        .find(|e| e.reason == "Unhealthy" && e.message.starts_with("Readiness"));
    let cond_ev = Evidence::new(
        "condition",
        object,
        format!("Ready=False {}", ready.reason.as_deref().unwrap_or(""))
            .trim_end()
            .to_string(),
        ready.message.clone().unwrap_or_default(),
    )
    .at(ready.last_transition_time.as_ref().map(|t| t.0));
    match probe {
        Some(p) => d.push(
            Verdict::Stuck,
            Link::new(
                CauseCode::ProbeFailing,
                format!("running but not Ready: {}", trim_msg(p.message)),
                "readiness probe failing",
            )
            .with(p.evidence())
            .with(cond_ev),
        ),
        None => {
            d.verdict = worst(d.verdict, Verdict::Pending);
            d.prefix = Some("Running, not Ready".into());
            d.links.push(
                Link::new(
                    CauseCode::Unknown,
                    "running but not Ready, with no probe event",
                    String::new(),
                )
                .with(cond_ev),
            );
        }
    }
}

/// A Failed pod: eviction, node shutdown, or a container that failed.
fn failed_pod(pod: &Pod, object: &str, evs: &[Ev<'_>], d: &mut PodDiag) {
    let s = pod.status.as_ref();
    let reason = s.and_then(|s| s.reason.as_deref()).unwrap_or("");
    let message = s.and_then(|s| s.message.clone()).unwrap_or_default();
    let ev = Evidence::new("status", object, reason, message.clone());
    d.verdict = Verdict::Stopped;
    match reason {
        "Evicted" => {
            let res = message
                .split("low on resource: ")
                .nth(1)
                .map(|r| r.split(['.', ' ', ',']).next().unwrap_or("").to_string())
                .filter(|r| !r.is_empty());
            let short = res
                .clone()
                .map(|r| format!("evicted, node low on {r}"))
                .unwrap_or_else(|| "evicted".into());
            let mut l = Link::new(
                CauseCode::EvictedResourcePressure,
                format!("evicted by the kubelet: {}", trim_msg(&message)),
                short,
            )
            .with(ev);
            if let Some(e) = latest(evs, &["Evicted"]) {
                l = l.with(e.evidence());
            }
            d.push(Verdict::Stopped, l);
        }
        "Terminated" | "Shutdown" | "NodeShutdown" => d.push(
            Verdict::Stopped,
            Link::new(
                CauseCode::NodeShutdown,
                format!("the node shut down: {}", trim_msg(&message)),
                "node shut down",
            )
            .with(ev),
        ),
        r if r.starts_with("OutOf") => d.push(
            Verdict::Stopped,
            Link::new(
                CauseCode::InsufficientResource,
                format!("rejected by the kubelet: {r}: {}", trim_msg(&message)),
                r.to_string(),
            )
            .with(ev),
        ),
        _ => {
            let mut found = false;
            for (cs, init) in all_statuses(pod) {
                let Some(t) = cs.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
                    continue;
                };
                if t.exit_code == 0 {
                    continue;
                }
                let r = t.reason.clone().unwrap_or_else(|| "Error".into());
                let code = if r == "OOMKilled" {
                    CauseCode::OomKilled
                } else {
                    CauseCode::ContainerFailed
                };
                let kind = if init { "init container" } else { "container" };
                d.push(
                    Verdict::Stopped,
                    Link::new(
                        code,
                        format!(
                            "{kind} {} exited: {r} ({})",
                            cs.name,
                            exit_phrase(t.exit_code, t.signal)
                        ),
                        format!("{} {r} ({})", cs.name, exit_phrase(t.exit_code, t.signal)),
                    )
                    .with(
                        Evidence::new(
                            "container",
                            format!("{object}/{}", cs.name),
                            r.clone(),
                            t.message.clone().unwrap_or_default(),
                        )
                        .at(t.finished_at.as_ref().map(|x| x.0)),
                    ),
                );
                found = true;
            }
            if !found {
                d.push(
                    Verdict::Stopped,
                    Link::new(
                        CauseCode::Unknown,
                        format!(
                            "Failed: {} {}",
                            if reason.is_empty() {
                                "(no reason)"
                            } else {
                                reason
                            },
                            message
                        )
                        .trim_end()
                        .to_string(),
                        if reason.is_empty() {
                            "Failed".to_string()
                        } else {
                            reason.to_string()
                        },
                    )
                    .with(ev),
                );
            }
        }
    }
}

/// DisruptionTarget, taint-manager, NTH and Karpenter eviction signals.
fn disruption(pod: &Pod, object: &str, evs: &[Ev<'_>], d: &mut PodDiag) {
    let conds = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[]);
    if let Some(c) = conds
        .iter()
        .find(|c| c.type_ == "DisruptionTarget" && c.status == "True")
    {
        let reason = c.reason.as_deref().unwrap_or("");
        let msg = c.message.clone().unwrap_or_default();
        let (code, short) = match reason {
            "PreemptionByScheduler" | "PreemptionByKubeScheduler" => {
                (CauseCode::Preempted, "preempted")
            }
            "DeletionByTaintManager" => (CauseCode::NodeNotReady, "evicted by taint manager"),
            "EvictionByEvictionAPI" => (CauseCode::Drained, "being evicted (drain)"),
            "DeletionByPodGC" => (CauseCode::NodeLost, "deleted by pod GC (node gone)"),
            "TerminationByKubelet" => {
                if msg.contains("shutdown") || msg.contains("shutting down") {
                    (CauseCode::NodeShutdown, "node shutting down")
                } else {
                    (CauseCode::EvictedResourcePressure, "evicted by kubelet")
                }
            }
            _ => (CauseCode::Unknown, "disruption target"),
        };
        d.push(
            Verdict::AtRisk,
            Link::new(
                code,
                format!("marked for disruption: {reason}: {}", trim_msg(&msg)),
                short,
            )
            .with(
                Evidence::new(
                    "condition",
                    object,
                    format!("DisruptionTarget {reason}"),
                    msg,
                )
                .at(c.last_transition_time.as_ref().map(|t| t.0)),
            ),
        );
    }
    for e in evs.iter().rev() {
        let (code, short) = match e.reason {
            "TaintManagerEviction" => (CauseCode::NodeNotReady, "evicted by taint manager"),
            "PodEviction" => (CauseCode::Drained, "evicted by node drain"),
            "FailedEviction" => (CauseCode::Drained, "eviction blocked (PDB)"),
            "SpotInterrupted" => {
                let notice = e.first.or(e.last);
                let deadline = notice.and_then(|n| n.checked_add(super::nodes::SPOT_NOTICE).ok());
                d.deadline = earliest(d.deadline, deadline);
                (CauseCode::SpotInterruption, "spot interruption")
            }
            "Preempted" => (CauseCode::Preempted, "preempted"),
            "Evicted" if e.component == "karpenter" || e.message.starts_with("Evicted pod") => {
                (CauseCode::NodeDisrupted, "evicted by Karpenter")
            }
            "Disrupted"
            | "FailedDraining"
            | "AwaitingVolumeDetachment"
            | "TerminationGracePeriodExpiring" => {
                (CauseCode::NodeDisrupted, "Karpenter disrupting its node")
            }
            _ => continue,
        };
        if let Some(l) = d.links.iter_mut().find(|l| l.cause.code == code) {
            l.cause.evidence.push(e.evidence());
            continue;
        }
        d.push(
            Verdict::AtRisk,
            Link::new(
                code,
                format!("{}: {}", e.reason, trim_msg(e.message)),
                short,
            )
            .with(e.evidence()),
        );
    }
    // An eviction through the API by Karpenter is one fact, said once.
    let by_karpenter = d
        .links
        .iter()
        .any(|l| l.cause.code == CauseCode::NodeDisrupted && l.short == "evicted by Karpenter");
    if by_karpenter {
        if let Some(l) = d
            .links
            .iter_mut()
            .find(|l| l.cause.code == CauseCode::Drained && l.short == "being evicted (drain)")
        {
            l.short = "being evicted by Karpenter".into();
            for k in d.links.iter_mut() {
                if k.cause.code == CauseCode::NodeDisrupted && k.short == "evicted by Karpenter" {
                    k.short = String::new();
                }
            }
        }
    }
}
