//! The embedded demo recording `assets/scenarios/spot-storm.jsonl` covers what
//! the demo promises (see docs/demo.md): it parses cleanly, lasts long enough,
//! and at the right moments the model holds the spot interruptions, the
//! Pending pods and their reasons, the ECS fallout and the EC2 joins.
//!
//! Regenerate the file with `python3 scripts/gen-spot-storm.py`.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Node;
use spotcheck::model::Fleet;
use spotcheck::model::join::instance_id_from_provider_id;
use spotcheck::model::objects::{Event, Pod};
use spotcheck::sources::replay::Recording;
use spotcheck::sources::{KubeObject, Observed, SourceEvent};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/scenarios/spot-storm.jsonl"
);
const CTX: &str = "prod-eks";
const REGION: &str = "us-east-1";

fn text() -> String {
    std::fs::read_to_string(PATH).expect("read the demo recording")
}

fn recording() -> Recording {
    Recording::parse(&text()).expect("the demo recording has a valid header")
}

fn events() -> Vec<Observed> {
    recording().events_shifted(SignedDuration::ZERO)
}

/// `2026-11-30T<hms>Z`.
fn at(hms: &str) -> Timestamp {
    format!("2026-11-30T{hms}Z").parse().expect("timestamp")
}

/// The fleet after every event observed at or before `until`.
fn fleet_at(until: Timestamp) -> Fleet {
    let mut fleet = Fleet::new();
    for obs in events().into_iter().filter(|o| o.at <= until) {
        fleet.apply(obs.event, obs.at);
    }
    fleet
}

fn end_fleet() -> Fleet {
    fleet_at(recording().end())
}

fn pods(f: &Fleet) -> Vec<&Pod> {
    f.kube[CTX].pods.values().map(|p| &**p).collect()
}

fn nodes(f: &Fleet) -> &BTreeMap<String, Node> {
    &f.kube[CTX].nodes
}

fn kube_events(f: &Fleet) -> Vec<&Event> {
    f.kube[CTX].events.values().map(|e| &**e).collect()
}

fn label<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

fn is_spot(node: &Node) -> bool {
    label(node, "karpenter.sh/capacity-type") == Some("spot")
        || label(node, "eks.amazonaws.com/capacityType") == Some("SPOT")
}

fn taint_keys(node: &Node) -> Vec<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|ts| ts.iter().map(|t| t.key.clone()).collect())
        .unwrap_or_default()
}

fn cordoned(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
}

fn node_instance(node: &Node) -> Option<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.provider_id.as_deref())
        .and_then(instance_id_from_provider_id)
        .map(str::to_string)
}

fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// Running, every container ready, not being deleted.
fn healthy(p: &Pod) -> bool {
    let ready = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .is_some_and(|cs| !cs.is_empty() && cs.iter().all(|c| c.ready));
    phase(p) == "Running" && ready && p.metadata.deletion_timestamp.is_none()
}

fn waiting_reasons(p: &Pod) -> Vec<String> {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn name(p: &Pod) -> String {
    format!(
        "{}/{}",
        p.metadata.namespace.as_deref().unwrap_or(""),
        p.metadata.name.as_deref().unwrap_or("")
    )
}

// ───────────────────────────── the file itself ─────────────────────────────

#[test]
fn recording_parses_cleanly_and_lasts_at_least_ten_minutes() {
    let text = text();
    assert!(
        text.len() < 1_500_000,
        "the demo is compiled into the binary: keep it small ({} bytes)",
        text.len()
    );
    let rec = recording();
    assert!(rec.errors.is_empty(), "line errors: {:?}", rec.errors);
    assert_eq!(rec.header.name, "spot-storm");
    assert_eq!(rec.header.version, 1);
    assert_eq!(rec.header.started, at("02:50:00"));
    assert!(!rec.header.description.is_empty());
    let length = rec.end().duration_since(rec.header.started);
    assert!(
        length >= SignedDuration::from_mins(10),
        "recording lasts only {length:#}"
    );
    // Nothing observed before the recording started (older history arrives with the initial list).
    assert!(rec.lines.iter().all(|(_, t, _)| *t >= rec.header.started));
    // Written in time order: the stable sort in `parse` kept the line order.
    let line_numbers: Vec<usize> = rec.lines.iter().map(|(n, _, _)| *n).collect();
    assert!(
        line_numbers.windows(2).all(|w| w[0] < w[1]),
        "lines are not in time order"
    );
    // Every line types, and the player owns health and reset.
    let evs = events();
    assert_eq!(evs.len(), rec.lines.len());
    assert!(
        evs.iter().all(|o| !matches!(
            o.event,
            SourceEvent::Health { .. } | SourceEvent::Reset { .. }
        )),
        "the recording must not carry health or reset events"
    );
}

#[test]
fn the_screen_keeps_moving_after_the_default_demo_start() {
    // The demo starts 4 minutes in; every later minute has something new.
    let evs = events();
    for minute in 54..=60 {
        let from = at("02:00:00") + SignedDuration::from_mins(minute);
        let to = from + SignedDuration::from_mins(1);
        let n = evs.iter().filter(|o| o.at >= from && o.at < to).count();
        assert!(n >= 3, "only {n} events in the minute from {from}");
    }
    let after = evs.iter().filter(|o| o.at >= at("03:01:00")).count();
    assert!(after >= 10, "only {after} events after 03:01");
}

#[test]
fn generator_output_is_committed() {
    // Skipped where python3 is not installed.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/gen-spot-storm.py");
    let Ok(out) = std::process::Command::new("python3")
        .arg(script)
        .arg("--check")
        .output()
    else {
        eprintln!("python3 not found: skipping the freshness check");
        return;
    };
    assert!(
        out.status.success(),
        "assets/scenarios/spot-storm.jsonl is stale: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ───────────────────────────── Kubernetes ─────────────────────────────

#[test]
fn initial_world_is_large_healthy_and_consistent() {
    let f = fleet_at(at("02:54:00"));
    let c = &f.kube[CTX];
    let all = pods(&f);
    assert!(all.len() >= 40, "{} pods", all.len());
    let namespaces: BTreeSet<&str> = all
        .iter()
        .filter_map(|p| p.metadata.namespace.as_deref())
        .collect();
    assert!(namespaces.len() >= 4, "namespaces {namespaces:?}");
    assert!(nodes(&f).len() >= 6, "{} nodes", nodes(&f).len());
    let spot = nodes(&f).values().filter(|n| is_spot(n)).count();
    assert!(spot >= 3, "{spot} spot nodes");
    let healthy_pods = all.iter().filter(|p| healthy(p)).count();
    assert!(
        healthy_pods >= all.len() - 3,
        "before the storm only the background problems are unhealthy: {healthy_pods}/{}",
        all.len()
    );

    for n in nodes(&f).values() {
        let id = node_instance(n).expect("every node has an AWS providerID");
        assert!(
            f.aws[REGION].instances.contains_key(&id),
            "node instance {id} is known to EC2"
        );
        assert!(label(n, "topology.kubernetes.io/zone").is_some());
        assert!(label(n, "node.kubernetes.io/instance-type").is_some());
        let st = n.status.as_ref().expect("node status");
        assert!(
            st.allocatable
                .as_ref()
                .is_some_and(|a| a.contains_key("cpu"))
        );
        assert!(st.capacity.as_ref().is_some_and(|a| a.contains_key("cpu")));
        let ready = st
            .conditions
            .as_ref()
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
            .expect("Ready condition");
        assert_eq!(ready.status, "True");
    }

    for p in &all {
        let m = &p.metadata;
        assert!(m.uid.is_some() && m.creation_timestamp.is_some() && m.resource_version.is_some());
        let owner = &m.owner_references.as_ref().expect("owned pod")[0];
        let ns = m.namespace.clone().unwrap_or_default();
        let key = (ns, owner.name.clone());
        match owner.kind.as_str() {
            "ReplicaSet" => {
                let rs = c.replicasets.get(&key).expect("owning ReplicaSet present");
                assert_eq!(rs.metadata.uid.as_deref(), Some(owner.uid.as_str()));
                let dep = &rs.metadata.owner_references.as_ref().expect("rs owner")[0];
                assert!(
                    c.deployments
                        .contains_key(&(key.0.clone(), dep.name.clone()))
                );
                // name-<rs hash>-<5 chars>
                let pod_name = m.name.as_deref().unwrap_or("");
                let rest = pod_name
                    .strip_prefix(&format!("{}-", owner.name))
                    .expect("pod name starts with its ReplicaSet");
                assert_eq!(rest.len(), 5, "{pod_name}");
            }
            "StatefulSet" => assert!(c.statefulsets.contains_key(&key)),
            other => panic!("unexpected owner kind {other}"),
        }
        let spec = p.spec.as_ref().expect("pod spec");
        let requests = spec.containers[0]
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .expect("requests");
        assert!(requests.contains_key("cpu") && requests.contains_key("memory"));
        if let Some(node) = &spec.node_name {
            assert!(nodes(&f).contains_key(node), "{} on unknown node", name(p));
        }
    }
    assert!(!c.pvcs.is_empty(), "PVCs present");
}

#[test]
fn two_spot_nodes_get_interruption_signals_are_tainted_or_cordoned_and_disappear() {
    let mut fleet = Fleet::new();
    let mut tainted: BTreeSet<String> = BTreeSet::new();
    let mut cordoned_nodes: BTreeSet<String> = BTreeSet::new();
    let mut taint_time = BTreeMap::new();
    let mut spot_nodes: BTreeSet<String> = BTreeSet::new();
    for obs in events() {
        let when = obs.at;
        fleet.apply(obs.event, obs.at);
        if let Some(c) = fleet.kube.get(CTX) {
            for (name, n) in &c.nodes {
                if is_spot(n) {
                    spot_nodes.insert(name.clone());
                }
                if taint_keys(n).iter().any(|k| k == "karpenter.sh/disrupted") {
                    tainted.insert(name.clone());
                    taint_time.entry(name.clone()).or_insert(when);
                }
                if cordoned(n) {
                    cordoned_nodes.insert(name.clone());
                    taint_time.entry(name.clone()).or_insert(when);
                }
            }
        }
    }
    let remaining = nodes(&fleet);
    let gone: Vec<&String> = spot_nodes
        .iter()
        .filter(|n| !remaining.contains_key(*n))
        .collect();
    assert!(
        gone.len() >= 2,
        "spot nodes gone by the end: {gone:?} of {spot_nodes:?}"
    );
    assert!(!tainted.is_empty(), "a node tainted karpenter.sh/disrupted");
    assert!(!cordoned_nodes.is_empty(), "a node cordoned (NTH style)");
    for n in &gone {
        assert!(
            tainted.contains(*n) || cordoned_nodes.contains(*n),
            "{n} disappeared without being tainted or cordoned first"
        );
        let signals: Vec<&str> = kube_events(&fleet)
            .into_iter()
            .filter(|e| e.involved_object.kind.as_deref() == Some("Node"))
            .filter(|e| e.involved_object.name.as_deref() == Some(n.as_str()))
            .filter_map(|e| e.reason.as_deref())
            .collect();
        assert!(
            signals.contains(&"SpotInterrupted") || signals.contains(&"SpotInterruption"),
            "{n} got no Karpenter/NTH interruption event: {signals:?}"
        );
    }
    // the spot notice lands at ~02:55 and the second wave at ~03:00
    let first = taint_time.values().min().expect("a taint");
    assert!(
        *first >= at("02:54:30") && *first <= at("02:56:00"),
        "{first}"
    );
    let last = taint_time.values().max().expect("a cordon");
    assert!(*last >= at("02:59:00"), "{last}");

    // the interruption is visible on both Karpenter's and NTH's node
    let evs = kube_events(&fleet);
    let msg = |reason: &str| {
        evs.iter()
            .filter(|e| e.reason.as_deref() == Some(reason))
            .filter_map(|e| e.message.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        msg("SpotInterrupted")
            .iter()
            .any(|m| m == "Spot interruption warning was triggered")
    );
    assert!(
        msg("PodEviction")
            .iter()
            .any(|m| m.starts_with("Pod evicted due to node drain (node "))
    );
}

#[test]
fn pending_pods_carry_failed_scheduling_for_cpu_and_taints() {
    let f = fleet_at(at("02:56:30"));
    let pending: Vec<&Pod> = pods(&f)
        .into_iter()
        .filter(|p| phase(p) == "Pending" && p.spec.as_ref().is_some_and(|s| s.node_name.is_none()))
        .collect();
    assert!(pending.len() >= 3, "{} pending after wave 1", pending.len());

    let f = end_fleet();
    let c = &f.kube[CTX];
    let fs: Vec<&Event> = kube_events(&f)
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("FailedScheduling"))
        .collect();
    assert!(fs.len() >= 5);
    let texts: Vec<&str> = fs.iter().filter_map(|e| e.message.as_deref()).collect();
    assert!(texts.iter().any(|m| m.contains("Insufficient cpu")));
    assert!(texts.iter().any(|m| m.contains("had untolerated taint(s)")));
    assert!(
        texts
            .iter()
            .any(|m| m.contains("node(s) were unschedulable"))
    );
    assert!(texts.iter().all(|m| m.starts_with("0/")
        && m.contains(" nodes are available: ")
        && m.contains("preemption: 0/")));
    // scheduler (events.k8s.io) style: eventTime + series, no first/lastTimestamp
    for e in &fs {
        assert!(
            e.event_time.is_some() && e.first_timestamp.is_none() && e.last_timestamp.is_none()
        );
        assert_eq!(e.reporting_component.as_deref(), Some("default-scheduler"));
    }
    assert!(
        fs.iter()
            .any(|e| e.series.as_ref().is_some_and(|s| s.count.unwrap_or(0) >= 2)),
        "repeated FailedScheduling events count up"
    );
    // the pending pods at the end mirror it in PodScheduled=False/Unschedulable
    let unschedulable: Vec<&Pod> = c
        .pods
        .values()
        .map(|p| &**p)
        .filter(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter().any(|c| {
                        c.type_ == "PodScheduled"
                            && c.status == "False"
                            && c.reason.as_deref() == Some("Unschedulable")
                    })
                })
        })
        .collect();
    assert!(unschedulable.len() >= 4, "{}", unschedulable.len());
    for p in unschedulable {
        let n = name(p);
        let ns = p.metadata.namespace.as_deref().unwrap_or("");
        let evs = c.events_for("Pod", ns, p.metadata.name.as_deref().unwrap_or(""));
        assert!(
            evs.iter()
                .any(|e| e.reason.as_deref() == Some("FailedScheduling")),
            "{n} has no FailedScheduling event"
        );
    }
}

#[test]
fn an_image_pull_back_off_pod_with_its_events() {
    for when in [at("02:54:00"), recording().end()] {
        let f = fleet_at(when);
        let c = &f.kube[CTX];
        let p = pods(&f)
            .into_iter()
            .find(|p| waiting_reasons(p).iter().any(|r| r == "ImagePullBackOff"))
            .unwrap_or_else(|| panic!("an ImagePullBackOff pod at {when}"));
        let cs = &p
            .status
            .as_ref()
            .expect("status")
            .container_statuses
            .as_ref()
            .expect("cs")[0];
        let msg = cs
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.message.clone())
            .unwrap_or_default();
        assert!(msg.starts_with("Back-off pulling image \""), "{msg}");
        let evs = c.events_for(
            "Pod",
            p.metadata.namespace.as_deref().unwrap_or(""),
            p.metadata.name.as_deref().unwrap_or(""),
        );
        assert!(evs.iter().any(|e| e.reason.as_deref() == Some("Failed")
            && e.message.as_deref().is_some_and(|m| {
                m.starts_with("Failed to pull image \"") && m.ends_with("not found")
            })));
        assert!(evs.iter().any(|e| e.reason.as_deref() == Some("BackOff")
            && e.count.unwrap_or(0) >= 2
            && e.source.as_ref().and_then(|s| s.component.as_deref()) == Some("kubelet")));
    }
}

#[test]
fn a_crash_looping_oom_killed_pod_stays_running_and_restarts_keep_growing() {
    let restarts = |when| {
        let f = fleet_at(when);
        let p = pods(&f)
            .into_iter()
            .find(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_ref())
                    .is_some_and(|cs| {
                        cs.iter().any(|c| {
                            c.last_state
                                .as_ref()
                                .and_then(|s| s.terminated.as_ref())
                                .is_some_and(|t| {
                                    t.reason.as_deref() == Some("OOMKilled") && t.exit_code == 137
                                })
                        })
                    })
            })
            .cloned()
            .unwrap_or_else(|| panic!("an OOMKilled pod at {when}"));
        assert_eq!(phase(&p), "Running", "phase stays Running in a crash loop");
        let cs = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.clone())
            .expect("cs");
        (
            p.metadata.name.clone(),
            waiting_reasons(&p),
            cs[0].restart_count,
        )
    };
    let (n1, w1, r1) = restarts(at("02:54:00"));
    let (n2, w2, r2) = restarts(recording().end());
    assert_eq!(n1, n2);
    assert_eq!(w1, vec!["CrashLoopBackOff".to_string()]);
    assert_eq!(w2, vec!["CrashLoopBackOff".to_string()]);
    assert!(r2 > r1, "restartCount grows: {r1} -> {r2}");
}

#[test]
fn multi_attach_after_the_spot_node_is_gone() {
    // find when the stateful pod's old node disappeared
    let mut fleet = Fleet::new();
    let mut node_gone_at = None;
    let mut pvc_node = None;
    for obs in events() {
        let when = obs.at;
        if let SourceEvent::KubeDelete {
            object: KubeObject::Node(n),
            ..
        } = &obs.event
        {
            if node_gone_at.is_none() {
                node_gone_at = Some((when, n.metadata.name.clone().unwrap_or_default()));
            }
        }
        fleet.apply(obs.event, obs.at);
        if pvc_node.is_none() {
            pvc_node = fleet.kube.get(CTX).and_then(|c| {
                c.pvcs.values().find_map(|pvc| {
                    pvc.metadata
                        .annotations
                        .as_ref()?
                        .get("volume.kubernetes.io/selected-node")
                        .filter(|n| n.starts_with("ip-10-0-13-"))
                        .cloned()
                })
            });
        }
    }
    let (gone_at, gone_node) = node_gone_at.expect("a node was deleted");
    assert_eq!(
        pvc_node.as_deref(),
        Some(gone_node.as_str()),
        "the PVC's node died"
    );
    let c = &fleet.kube[CTX];
    let ma: Vec<&Event> = c
        .events
        .values()
        .map(|e| &**e)
        .filter(|e| e.reason.as_deref() == Some("FailedAttachVolume"))
        .filter(|e| e.message.as_deref().is_some_and(|m| m.starts_with("Multi-Attach error for volume \"pvc-")
            && m.ends_with("Volume is already exclusively attached to one node and can't be attached to another")))
        .collect();
    assert_eq!(ma.len(), 1);
    let e = ma[0];
    let first = e
        .first_timestamp
        .as_ref()
        .expect("kubelet-style first timestamp")
        .0;
    assert!(
        first > gone_at,
        "Multi-Attach {first} after the node went {gone_at}"
    );
    assert!(e.count.unwrap_or(0) >= 3);
    let pod_name = e.involved_object.name.clone().expect("pod");
    let ns = e.involved_object.namespace.clone().expect("ns");
    let pod = c
        .pods
        .get(&(ns.clone(), pod_name.clone()))
        .expect("the pod still exists");
    assert_eq!(phase(pod), "Pending");
    assert_eq!(waiting_reasons(pod), vec!["ContainerCreating".to_string()]);
    let claim = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .and_then(|v| v[0].persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.clone())
        .expect("pod uses a PVC");
    let pvc = c.pvcs.get(&(ns, claim)).expect("the PVC exists");
    let vol = pvc
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .expect("bound");
    assert!(e.message.as_deref().is_some_and(|m| m.contains(&vol)));
    let owner = &pod.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(owner.kind, "StatefulSet");
}

#[test]
fn healthy_units_outnumber_broken_ones_all_along() {
    let rec = recording();
    let check = |f: &Fleet, t: Timestamp| {
        let all = pods(f);
        let ok = all.iter().filter(|p| healthy(p)).count();
        let bad = all.len() - ok;
        assert!(ok > 2 * bad, "at {t}: {ok} healthy pods vs {bad} not");
        let tasks = &f.aws[REGION].tasks;
        let running = tasks
            .values()
            .filter(|t| {
                t.last_status.as_deref() == Some("RUNNING")
                    && t.desired_status.as_deref() == Some("RUNNING")
            })
            .count();
        assert!(
            running > 2 * (tasks.len() - running),
            "at {t}: {running} of {} tasks running",
            tasks.len()
        );
    };
    // one pass, checked every 30 s of scenario time
    let mut fleet = Fleet::new();
    let mut next = rec.header.started + SignedDuration::from_secs(30);
    let mut checks = 0;
    for obs in events() {
        while obs.at > next {
            check(&fleet, next);
            checks += 1;
            next += SignedDuration::from_secs(30);
        }
        fleet.apply(obs.event, obs.at);
    }
    check(&fleet, rec.end());
    assert!(checks >= 20);
    // the storm does hurt: at the end there is a real amount of trouble
    let bad = pods(&fleet).into_iter().filter(|p| !healthy(p)).count();
    assert!(bad >= 8, "only {bad} broken pods at the end");
}

// ───────────────────────────── ECS and EC2 ─────────────────────────────

#[test]
fn ecs_cluster_with_spot_and_fargate_spot_services() {
    let f = fleet_at(at("02:54:00"));
    let r = &f.aws[REGION];
    let services: Vec<_> = r
        .services
        .values()
        .filter(|s| s.cluster_name() == Some("orders-prod"))
        .collect();
    assert!(services.len() >= 3);
    let uses = |cp: &str| {
        services
            .iter()
            .filter(|s| {
                s.capacity_provider_strategy
                    .iter()
                    .any(|i| i.capacity_provider == cp)
            })
            .count()
    };
    assert!(uses("orders-spot-asg") >= 2);
    assert!(uses("FARGATE_SPOT") >= 1);
    for s in &services {
        assert_eq!(
            s.running_count, s.desired_count,
            "{} steady before the storm",
            s.service_name
        );
        assert!(!s.deployments.is_empty() && !s.events.is_empty());
    }
    assert!(r.tasks.len() >= 12);
    for t in r.tasks.values() {
        let svc = t.service_name().expect("service task");
        assert!(services.iter().any(|s| s.service_name == svc));
        assert_eq!(t.cluster_name(), Some("orders-prod"));
        assert_eq!(t.short_id().len(), 32);
        if let Some(ci) = &t.container_instance_arn {
            assert!(
                r.container_instances.contains_key(ci),
                "task on a known container instance"
            );
        }
    }
    assert!(r.container_instances.len() >= 3);
    for (_, ci) in r.container_instances.values() {
        let id = ci.ec2_instance_id.as_deref().expect("ec2InstanceId");
        assert!(r.instances.contains_key(id));
        assert!(ci.remaining("MEMORY").is_some() && ci.remaining("CPU").is_some());
    }
    assert!(
        r.tasks
            .values()
            .any(|t| t.capacity_provider_name.as_deref() == Some("FARGATE_SPOT"))
    );
}

#[test]
fn container_instance_drains_and_its_tasks_stop_with_spot_interruption() {
    let f = fleet_at(at("02:56:00"));
    let r = &f.aws[REGION];
    let (_, draining) = r
        .container_instances
        .values()
        .find(|(_, ci)| ci.status.as_deref() == Some("DRAINING"))
        .expect("a DRAINING container instance at 02:56");
    let arn = draining.container_instance_arn.clone();
    let host = draining.ec2_instance_id.clone().expect("host");
    let on_it = r
        .tasks
        .values()
        .filter(|t| t.container_instance_arn.as_deref() == Some(&arn))
        .count();
    assert!(on_it >= 2);

    let f = end_fleet();
    let r = &f.aws[REGION];
    assert!(
        !r.container_instances.contains_key(&arn),
        "awsGone removed it"
    );
    let stopped: Vec<_> = r
        .tasks
        .values()
        .filter(|t| t.container_instance_arn.as_deref() == Some(&arn))
        .collect();
    assert_eq!(stopped.len(), on_it);
    for t in stopped {
        assert_eq!(t.last_status.as_deref(), Some("STOPPED"));
        assert_eq!(t.stop_code.as_deref(), Some("SpotInterruption"));
        assert_eq!(
            t.stopped_reason.as_deref(),
            Some(format!("Host EC2 (instance {host}) terminated.").as_str())
        );
        assert!(t.stopped_at.is_some() && t.stopping_at.is_some());
    }
    let inst = &r.instances[&host];
    assert_eq!(inst.state_name(), Some("terminated"));
    assert_eq!(
        inst.state_reason.as_ref().map(|s| s.code.as_str()),
        Some("Server.SpotInstanceTermination")
    );
    // the timeline saw RUNNING → STOPPING → STOPPED
    assert!(f.changes.iter().any(|c| c.what == "task RUNNING→STOPPING"));
    assert!(
        f.changes
            .iter()
            .any(|c| c.what == "task STOPPING→STOPPED (SpotInterruption)")
    );
    assert!(
        f.changes
            .iter()
            .any(|c| c.what == "container instance ACTIVE→DRAINING")
    );
}

#[test]
fn orders_api_cannot_place_its_tasks_for_lack_of_memory() {
    let f = end_fleet();
    let r = &f.aws[REGION];
    let api = r
        .services
        .values()
        .find(|s| s.service_name == "orders-api")
        .expect("orders-api");
    assert!(api.running_count < api.desired_count);
    let first = &api.events[0];
    assert!(
        first.message.starts_with("service (orders-api) was unable to place a task because no container instance met all of its requirements. The closest matching container-instance ")
            && first.message.ends_with(" has insufficient memory available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."),
        "{}", first.message
    );
    // the named container instance exists and really lacks memory for a task
    let ci_id = first
        .message
        .split("container-instance ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("id");
    let (_, ci) = r
        .container_instances
        .values()
        .find(|(_, ci)| ci.short_id() == ci_id)
        .unwrap_or_else(|| panic!("container instance {ci_id}"));
    let need: i64 = r
        .tasks
        .values()
        .find(|t| t.service_name() == Some("orders-api"))
        .and_then(|t| t.memory.as_deref())
        .and_then(|m| m.parse().ok())
        .expect("task memory");
    assert!(ci.remaining("MEMORY").expect("memory") < need);
    // events are newest first, with ids, and include steady states
    let times: Vec<_> = api
        .events
        .iter()
        .map(|e| e.created_at.expect("createdAt"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(api.events.iter().all(|e| !e.id.is_empty()));
    assert!(
        r.services
            .values()
            .flat_map(|s| &s.events)
            .any(|e| e.message.ends_with("has reached a steady state."))
    );
}

#[test]
fn a_fargate_spot_task_is_interrupted() {
    let mut saw_notice = false;
    let mut fleet = Fleet::new();
    for obs in events() {
        if let SourceEvent::EcsTask { task, .. } = &obs.event {
            if task.stop_code.as_deref() == Some("TerminationNotice") {
                saw_notice = true;
                assert_eq!(task.capacity_provider_name.as_deref(), Some("FARGATE_SPOT"));
                assert_eq!(
                    task.stopped_reason.as_deref(),
                    Some("Your Spot Task was interrupted.")
                );
            }
        }
        fleet.apply(obs.event, obs.at);
    }
    assert!(saw_notice, "TerminationNotice first");
    let t = fleet.aws[REGION]
        .tasks
        .values()
        .find(|t| t.stopped_reason.as_deref() == Some("Your Spot Task was interrupted."))
        .expect("the interrupted task");
    assert_eq!(t.last_status.as_deref(), Some("STOPPED"));
    assert_eq!(t.stop_code.as_deref(), Some("SpotInterruption"));
    assert_eq!(t.capacity_provider_name.as_deref(), Some("FARGATE_SPOT"));
    assert_eq!(t.launch_type.as_deref(), Some("FARGATE"));
    assert!(t.container_instance_arn.is_none());
}

#[test]
fn marked_for_termination_spot_requests_back_a_node_and_a_container_instance() {
    let mut fleet = Fleet::new();
    let mut marked: BTreeSet<String> = BTreeSet::new();
    let mut shared: BTreeSet<String> = BTreeSet::new();
    for obs in events() {
        fleet.apply(obs.event, obs.at);
        let Some(r) = fleet.aws.get(REGION) else {
            continue;
        };
        for req in r.spot_requests.values() {
            if req.status_code() != Some("marked-for-termination") {
                continue;
            }
            let id = req.instance_id.clone().expect("InstanceId");
            marked.insert(id.clone());
            let node = fleet.kube.get(CTX).is_some_and(|c| {
                c.nodes
                    .values()
                    .any(|n| node_instance(n).as_deref() == Some(&id))
            });
            let ci = r
                .container_instances
                .values()
                .any(|(_, ci)| ci.ec2_instance_id.as_deref() == Some(&id));
            assert!(node || ci, "marked instance {id} backs nothing");
            assert!(r.instances.get(&id).is_some_and(|i| i.is_spot()
                && i.spot_instance_request_id.as_deref()
                    == Some(req.spot_instance_request_id.as_str())));
            if node && ci {
                shared.insert(id);
            }
        }
    }
    assert!(marked.len() >= 2, "{marked:?}");
    assert!(
        !shared.is_empty(),
        "a marked instance is both a node and a container instance"
    );
    // and they end terminated for lack of capacity
    let r = &fleet.aws[REGION];
    for id in &marked {
        let req = r
            .spot_requests
            .values()
            .find(|q| q.instance_id.as_deref() == Some(id))
            .expect("request");
        assert_eq!(req.status_code(), Some("instance-terminated-no-capacity"));
        assert!(req.status.as_ref().and_then(|s| s.update_time).is_some());
    }
    assert!(
        fleet
            .changes
            .iter()
            .any(|c| c.what == "spot request marked-for-termination")
    );
}

#[test]
fn an_on_demand_instance_has_a_scheduled_retirement() {
    let f = fleet_at(at("02:54:00"));
    let r = &f.aws[REGION];
    let st = r
        .instance_status
        .values()
        .find(|s| s.events.iter().any(|e| e.code == "instance-retirement"))
        .expect("instance-retirement");
    let inst = &r.instances[&st.instance_id];
    assert!(!inst.is_spot());
    assert!(
        nodes(&f)
            .values()
            .any(|n| node_instance(n).as_deref() == Some(st.instance_id.as_str()))
    );
}

#[test]
fn every_event_refers_to_an_object_the_recording_shows() {
    // (kind, uid) of every Kubernetes object ever applied
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut refs: Vec<(String, String, String)> = Vec::new();
    for obs in events() {
        if let SourceEvent::KubeApply { object, .. } = &obs.event {
            let uid = object.metadata().uid.clone().expect("uid");
            seen.insert((object.kind().to_string(), uid));
            if let KubeObject::Event(e) = object {
                let o = &e.involved_object;
                refs.push((
                    o.kind.clone().unwrap_or_default(),
                    o.uid.clone().unwrap_or_default(),
                    o.name.clone().unwrap_or_default(),
                ));
            }
        }
    }
    assert!(refs.len() >= 100, "{} events", refs.len());
    for (kind, uid, name) in refs {
        assert!(
            seen.contains(&(kind.clone(), uid)),
            "event about {kind}/{name} whose uid was never seen"
        );
    }
}

#[test]
fn replay_shifted_to_now_keeps_every_line() {
    let rec = recording();
    let shift = Timestamp::now().duration_since(rec.header.started + SignedDuration::from_mins(4));
    let shifted = rec.events_shifted(shift);
    assert_eq!(shifted.len(), rec.lines.len());
    let first = shifted.first().expect("events").at;
    assert_eq!(first, rec.header.started + shift);
}
