//! Owners that cannot create their pods: a ReplicaSet/StatefulSet/DaemonSet/
//! Job whose FailedCreate says `exceeded quota` or that admission (PodSecurity,
//! a webhook) refuses them, a Deployment past its progress deadline, a Job
//! past its backoff limit. No pod object represents these.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Ev, K8s, Link, action, headline, latest, worst};
use crate::diagnose::{CauseCode, Diagnosis, Evidence, SuggestedAction, Unit, UnitKind, Verdict};

struct Cond<'a> {
    type_: &'a str,
    status: &'a str,
    reason: Option<&'a str>,
    message: Option<&'a str>,
    at: Option<jiff::Timestamp>,
}

impl Cond<'_> {
    fn evidence(&self, object: &str) -> Evidence {
        Evidence::new(
            "condition",
            object,
            format!(
                "{}={} {}",
                self.type_,
                self.status,
                self.reason.unwrap_or("")
            )
            .trim_end()
            .to_string(),
            self.message.unwrap_or(""),
        )
        .at(self.at)
    }
}

macro_rules! conds {
    ($obj:expr) => {
        $obj.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .map(|c| Cond {
                type_: c.type_.as_str(),
                status: c.status.as_str(),
                reason: c.reason.as_deref(),
                message: c.message.as_deref(),
                at: c.last_transition_time.as_ref().map(|t| t.0),
            })
            .collect::<Vec<Cond<'_>>>()
    };
}

/// Why a FailedCreate / ReplicaFailure happened.
fn create_link(message: &str, ev: Evidence) -> Link {
    if message.contains("exceeded quota") {
        let quota = message
            .split("exceeded quota: ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .unwrap_or("")
            .to_string();
        let what = message
            .split_once(&format!("exceeded quota: {quota}, "))
            .map(|(_, rest)| format!(" ({rest})"))
            .unwrap_or_default();
        return Link::new(
            CauseCode::QuotaExceeded,
            format!("cannot create pods: ResourceQuota {quota} exceeded{what}"),
            format!("quota {quota} exceeded"),
        )
        .with(ev);
    }
    // `pods "x" is forbidden: violates PodSecurity "baseline:latest": host
    // namespaces (hostNetwork=true), hostPath volumes (volume "proc")`
    if let Some((_, rest)) = message.split_once("violates PodSecurity ") {
        let (level, why) = rest.split_once(": ").unwrap_or((rest, ""));
        let level = level.trim_matches('"');
        return Link::new(
            CauseCode::AdmissionDenied,
            format!(
                "cannot create pods: the namespace's PodSecurity level {level} rejects them: {}",
                super::truncate(why, 200)
            ),
            format!("PodSecurity {level} rejects the pods"),
        )
        .with(ev);
    }
    // `admission webhook "validate.kyverno.svc" denied the request: …`
    if let Some((_, rest)) = message.split_once("admission webhook \"") {
        let (hook, why) = rest.split_once('"').unwrap_or((rest, ""));
        let why = why
            .trim_start_matches(" denied the request")
            .trim_start_matches(": ");
        return Link::new(
            CauseCode::AdmissionDenied,
            format!(
                "cannot create pods: admission webhook {hook} denied them: {}",
                super::truncate(why, 200)
            ),
            format!("webhook {} denies the pods", super::truncate(hook, 40)),
        )
        .with(ev);
    }
    Link::new(
        CauseCode::Unknown,
        format!("cannot create pods: {}", super::truncate(message, 240)),
        "cannot create pods",
    )
    .with(ev)
}

fn failed_create<'a>(evs: &'a [Ev<'a>]) -> Option<&'a Ev<'a>> {
    latest(evs, &["FailedCreate"])
}

/// A StatefulSet or DaemonSet (`kind`, namespace, name, metadata) with fewer
/// pods than it wants and a FailedCreate event: a Stuck unit, since no pod
/// object stands for the missing ones. `more` follows the Describe action.
fn short_of_pods<'a>(
    k: &K8s<'_>,
    (kind, ns, name, meta): (&'static str, &str, &str, &'a ObjectMeta),
    have: i32,
    desired: i32,
    more: Vec<SuggestedAction>,
) -> Option<W<'a>> {
    if have >= desired {
        return None;
    }
    let evs = k.events(kind, ns, name, meta.uid.as_deref());
    let e = failed_create(&evs)?;
    let mut actions = vec![action(
        "Describe",
        format!(
            "kubectl -n {ns} describe {} {name}",
            kind.to_ascii_lowercase()
        ),
        false,
    )];
    actions.extend(more);
    Some(W {
        kind,
        meta,
        verdict: Verdict::Stuck,
        links: vec![create_link(e.message, e.evidence())],
        actions,
        state: format!("{have}/{desired} pods"),
    })
}

struct W<'a> {
    kind: &'static str,
    meta: &'a ObjectMeta,
    verdict: Verdict,
    links: Vec<Link>,
    actions: Vec<SuggestedAction>,
    state: String,
}

pub(crate) fn workload_units(k: &K8s<'_>) -> Vec<Unit> {
    let mut out: Vec<W<'_>> = Vec::new();
    for ((ns, name), rs) in &k.cluster.replicasets {
        let desired = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let have = rs.status.as_ref().map(|s| s.replicas).unwrap_or(0);
        if desired == 0 || have >= desired {
            continue;
        }
        let object = format!("replicaset/{ns}/{name}");
        let cs = conds!(rs);
        let evs = k.events("ReplicaSet", ns, name, rs.metadata.uid.as_deref());
        let mut links = Vec::new();
        if let Some(c) = cs
            .iter()
            .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
        {
            let mut l = create_link(c.message.unwrap_or(""), c.evidence(&object));
            if let Some(e) = failed_create(&evs) {
                l = l.with(e.evidence());
            }
            links.push(l);
        } else if let Some(e) = failed_create(&evs) {
            links.push(create_link(e.message, e.evidence()));
        }
        if links.is_empty() {
            continue;
        }
        out.push(W {
            kind: "ReplicaSet",
            meta: &rs.metadata,
            verdict: Verdict::Stuck,
            links,
            actions: vec![action(
                "Quotas in the namespace",
                format!("kubectl -n {ns} describe resourcequota"),
                false,
            )],
            state: format!("{have}/{desired} pods"),
        });
    }
    for ((ns, name), dep) in &k.cluster.deployments {
        let object = format!("deployment/{ns}/{name}");
        let cs = conds!(dep);
        let mut links = Vec::new();
        let mut state = String::new();
        if let Some(c) = cs
            .iter()
            .find(|c| c.type_ == "Progressing" && c.status == "False")
        {
            state = c.reason.unwrap_or("Progressing=False").to_string();
            let code = if c.reason == Some("ProgressDeadlineExceeded") {
                CauseCode::ProgressDeadlineExceeded
            } else {
                CauseCode::Unknown
            };
            links.push(
                Link::new(
                    code,
                    format!("rollout stalled: {}", c.message.unwrap_or("")),
                    "past its progress deadline",
                )
                .with(c.evidence(&object)),
            );
        }
        if let Some(c) = cs
            .iter()
            .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
        {
            links.push(create_link(c.message.unwrap_or(""), c.evidence(&object)));
        }
        if links.is_empty() {
            continue;
        }
        // The chain goes on into its ReplicaSets that cannot create pods.
        let uid = dep.metadata.uid.as_deref();
        for ((rns, rname), rs) in k.cluster.replicasets.range((ns.clone(), String::new())..) {
            if rns != ns {
                break;
            }
            let owned = rs.metadata.owner_references.iter().flatten().any(|o| {
                o.kind == "Deployment" && (Some(o.uid.as_str()) == uid || o.name == *name)
            });
            if !owned {
                continue;
            }
            let evs = k.events("ReplicaSet", rns, rname, rs.metadata.uid.as_deref());
            if let Some(e) = failed_create(&evs) {
                if !links
                    .iter()
                    .any(|l| l.cause.code == CauseCode::QuotaExceeded)
                    || !e.message.contains("exceeded quota")
                {
                    links.push(create_link(e.message, e.evidence()));
                }
            }
        }
        if state.is_empty() {
            state = "ReplicaFailure".into();
        }
        out.push(W {
            kind: "Deployment",
            meta: &dep.metadata,
            verdict: Verdict::Stuck,
            links,
            actions: vec![
                action(
                    "Rollout status",
                    format!("kubectl -n {ns} rollout status deployment/{name}"),
                    false,
                ),
                action(
                    "Roll back to the previous version",
                    format!("kubectl -n {ns} rollout undo deployment/{name}"),
                    true,
                ),
            ],
            state,
        });
    }
    for ((ns, name), sts) in &k.cluster.statefulsets {
        let desired = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let have = sts.status.as_ref().map(|s| s.replicas).unwrap_or(0);
        let owner = ("StatefulSet", ns.as_str(), name.as_str(), &sts.metadata);
        out.extend(short_of_pods(k, owner, have, desired, Vec::new()));
    }
    for ((ns, name), ds) in &k.cluster.daemonsets {
        let Some(st) = ds.status.as_ref() else {
            continue;
        };
        let (desired, have) = (st.desired_number_scheduled, st.current_number_scheduled);
        let owner = ("DaemonSet", ns.as_str(), name.as_str(), &ds.metadata);
        let podsecurity = action(
            "The namespace's PodSecurity labels",
            format!("kubectl get namespace {ns} --show-labels"),
            false,
        );
        out.extend(short_of_pods(k, owner, have, desired, vec![podsecurity]));
    }
    for ((ns, name), job) in &k.cluster.jobs {
        let object = format!("job/{ns}/{name}");
        let cs = conds!(job);
        let mut links = Vec::new();
        let mut verdict = Verdict::Running;
        let mut state = String::new();
        if let Some(c) = cs
            .iter()
            .find(|c| c.type_ == "Failed" && c.status == "True")
        {
            let code = if c.reason == Some("BackoffLimitExceeded") {
                CauseCode::BackoffLimitExceeded
            } else {
                CauseCode::Unknown
            };
            state = c.reason.unwrap_or("Failed").to_string();
            let failed = job.status.as_ref().and_then(|s| s.failed).unwrap_or(0);
            links.push(
                Link::new(
                    code,
                    format!(
                        "job failed after {failed} failed pods: {}",
                        c.message.unwrap_or(c.reason.unwrap_or(""))
                    ),
                    format!("{} ({failed} failed pods)", c.reason.unwrap_or("failed")),
                )
                .with(c.evidence(&object)),
            );
            verdict = Verdict::Stopped;
        }
        let evs = k.events("Job", ns, name, job.metadata.uid.as_deref());
        if let Some(e) = failed_create(&evs) {
            links.push(create_link(e.message, e.evidence()));
            verdict = worst(verdict, Verdict::Stuck);
        }
        if links.is_empty() {
            continue;
        }
        if state.is_empty() {
            state = "FailedCreate".into();
        }
        out.push(W {
            kind: "Job",
            meta: &job.metadata,
            verdict,
            links,
            actions: vec![
                action(
                    "Logs of the job's pods",
                    format!("kubectl -n {ns} logs job/{name}"),
                    false,
                ),
                action(
                    "Pods of the job",
                    format!("kubectl -n {ns} get pods -l job-name={name}"),
                    false,
                ),
            ],
            state,
        });
    }
    out.into_iter()
        .map(|w| {
            let ns = w.meta.namespace.clone().unwrap_or_default();
            let name = w.meta.name.clone().unwrap_or_default();
            let shorts: Vec<String> = w.links.iter().map(|l| l.short.clone()).collect();
            let mut actions = w.actions;
            actions.sort_by_key(|a| a.mutating);
            Unit {
                id: format!("workload/{}/{}/{ns}/{name}", k.context, w.kind),
                kind: UnitKind::Workload,
                source: k.context.to_string(),
                scope: ns,
                name: format!("{}/{name}", w.kind.to_ascii_lowercase()),
                state: w.state,
                since: w.meta.creation_timestamp.as_ref().map(|t| t.0),
                host: None,
                instance_id: None,
                diagnosis: Diagnosis {
                    verdict: w.verdict,
                    headline: headline(
                        match w.kind {
                            "Deployment" => "Rollout stuck",
                            "Job" if w.verdict == Verdict::Stopped => "Job failed",
                            _ => "No pods created",
                        },
                        &shorts,
                    ),
                    causes: w.links.into_iter().map(|l| l.cause).collect(),
                    actions,
                    deadline: None,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev() -> Evidence {
        Evidence::new("event", "daemonset/x/y", "FailedCreate", "")
    }

    #[test]
    fn admission_refusals_name_who_refused_and_why() {
        let l = create_link(
            r#"Error creating: admission webhook "validate.kyverno.svc-fail" denied the request: policy disallow-latest-tag: image tag 'latest' is not allowed"#,
            ev(),
        );
        assert_eq!(l.cause.code, CauseCode::AdmissionDenied);
        assert_eq!(
            l.cause.detail,
            "cannot create pods: admission webhook validate.kyverno.svc-fail denied them: \
             policy disallow-latest-tag: image tag 'latest' is not allowed"
        );
        assert_eq!(l.short, "webhook validate.kyverno.svc-fail denies the pods");
        let l = create_link(
            r#"pods "a-1" is forbidden: violates PodSecurity "restricted:v1.33": privileged (container "a" must not set securityContext.privileged=true)"#,
            ev(),
        );
        assert_eq!(l.cause.code, CauseCode::AdmissionDenied);
        assert!(
            l.cause
                .detail
                .contains("PodSecurity level restricted:v1.33 rejects them: privileged")
        );
        // Anything else is passed on verbatim.
        let l = create_link("Error creating: Internal error occurred", ev());
        assert_eq!(l.cause.code, CauseCode::Unknown);
        assert!(l.cause.detail.contains("Internal error occurred"));
    }
}
