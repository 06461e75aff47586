//! The Kubernetes diagnosis engine on realistic kubectl dumps: one fixture
//! per catalogue row (or a few rows per fixture), asserting the verdict, the
//! cause codes and the named culprit (taint key, resource, volume, node).

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use jiff::Timestamp;
use spotcheck::diagnose::{CauseCode, Unit, Verdict, diagnose_fleet};
use spotcheck::dump::kube;
use spotcheck::model::Fleet;
use spotcheck::sources::SourceEvent;

const NOW: &str = "2026-11-30T03:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn fleet_of(files: &[&str]) -> Fleet {
    let mut fleet = Fleet::new();
    for f in files {
        let path = format!("{}/tests/fixtures/k8s/{f}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let loaded = kube::read(&path, &text).unwrap();
        assert!(loaded.warnings.is_empty(), "{f}: {:?}", loaded.warnings);
        for ev in loaded.events {
            fleet.apply(ev, now());
        }
    }
    fleet
}

fn diagnose(files: &[&str]) -> Vec<Unit> {
    diagnose_fleet(&fleet_of(files), now())
}

fn unit<'a>(units: &'a [Unit], id: &str) -> &'a Unit {
    units.iter().find(|u| u.id == id).unwrap_or_else(|| {
        panic!(
            "no unit {id}; have {:?}",
            units.iter().map(|u| &u.id).collect::<Vec<_>>()
        )
    })
}

fn pod<'a>(units: &'a [Unit], ns: &str, name: &str) -> &'a Unit {
    unit(units, &format!("pod/dump/{ns}/{name}"))
}

fn node<'a>(units: &'a [Unit], name: &str) -> &'a Unit {
    unit(units, &format!("node/dump/{name}"))
}

fn cause(u: &Unit, code: CauseCode) -> &spotcheck::diagnose::Cause {
    u.diagnosis
        .causes
        .iter()
        .find(|c| c.code == code)
        .unwrap_or_else(|| panic!("{}: no {code:?} in {:#?}", u.id, u.diagnosis.causes))
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn insufficient_cpu_and_keyed_untolerated_taint() {
    let units = diagnose(&["pending-cpu-and-taint.json"]);
    let p = pod(&units, "shop", "cart-7d9f8c6b5-x2x9q");
    assert_eq!(p.diagnosis.verdict, Verdict::Pending);
    assert_eq!(
        p.diagnosis.codes(),
        vec![CauseCode::InsufficientResource, CauseCode::UntoleratedTaint]
    );
    assert_eq!(
        p.diagnosis.headline,
        "Pending: 3 short of cpu, 2 nodes tainted karpenter.sh/disrupted"
    );
    let cpu = cause(p, CauseCode::InsufficientResource);
    assert!(cpu.detail.contains("requests 1;"), "{}", cpu.detail);
    // The largest headroom among the untainted nodes: 3920m - 3500m.
    assert!(cpu.detail.contains("420m of 3.92"), "{}", cpu.detail);
    let taint = cause(p, CauseCode::UntoleratedTaint);
    assert!(taint.detail.contains("karpenter.sh/disrupted"));
    let ev = taint.evidence.iter().find(|e| e.source == "taint").unwrap();
    assert!(
        ev.message
            .contains("ip-10-0-2-21.ec2.internal, ip-10-0-2-22.ec2.internal")
    );
    // The scheduler event is an events.k8s.io series: count and times from the series.
    let sched = &cpu.evidence[0];
    assert_eq!(sched.reason, "FailedScheduling");
    assert_eq!(sched.count, 5);
    assert_eq!(sched.at, Some(ts("2026-11-30T02:58:59.123456Z")));
    // The disrupted nodes are units of their own, the others are healthy.
    let n = node(&units, "ip-10-0-2-21.ec2.internal");
    assert_eq!(n.diagnosis.verdict, Verdict::AtRisk);
    assert_eq!(n.diagnosis.codes(), vec![CauseCode::NodeDisrupted]);
    assert_eq!(
        n.instance_id.as_deref().map(|i| i.starts_with("i-0")),
        Some(true)
    );
    assert_eq!(
        node(&units, "ip-10-0-1-11.ec2.internal").diagnosis.verdict,
        Verdict::Running
    );
    assert_eq!(
        pod(&units, "batch", "worker-5f7c9-11").diagnosis.verdict,
        Verdict::Running
    );
}

#[test]
fn keyless_taint_text_is_recomputed_from_nodes() {
    let units = diagnose(&["pending-keyless-taint-spot-itn.json"]);
    let p = pod(&units, "shop", "search-6c7d8-9kq2m");
    assert_eq!(p.diagnosis.verdict, Verdict::Pending);
    assert_eq!(
        p.diagnosis.codes(),
        vec![
            CauseCode::UntoleratedTaint,
            CauseCode::InsufficientResource,
            CauseCode::InsufficientResource
        ]
    );
    let taint = cause(p, CauseCode::UntoleratedTaint);
    assert!(
        taint
            .detail
            .contains("aws-node-termination-handler/spot-itn on 2 nodes"),
        "{}",
        taint.detail
    );
    // The cordon taint is reported as unschedulable, not as a taint.
    assert!(!taint.detail.contains("node.kubernetes.io/unschedulable"));
    assert!(
        p.diagnosis
            .headline
            .contains("2 nodes tainted aws-node-termination-handler/spot-itn")
    );
    // Headroom is measured on the node the pod could use (the untainted one).
    let cpu = &p.diagnosis.causes[1];
    assert!(cpu.detail.contains("requests 1.5"), "{}", cpu.detail);
    assert!(
        cpu.detail
            .contains("130m of 1.93 on ip-10-0-3-33.ec2.internal"),
        "{}",
        cpu.detail
    );
    let mem = &p.diagnosis.causes[2];
    assert!(
        mem.detail.contains("memory") && mem.detail.contains("6Gi"),
        "{}",
        mem.detail
    );

    // NTH: taint + action labels + event → spot interruption, 2 minutes from the notice.
    let n = node(&units, "ip-10-0-3-31.ec2.internal");
    assert_eq!(n.diagnosis.verdict, Verdict::AtRisk);
    assert_eq!(n.diagnosis.codes()[0], CauseCode::SpotInterruption);
    assert_eq!(n.diagnosis.deadline, Some(ts("2026-11-30T03:00:30Z")));
    assert!(n.state.contains("SchedulingDisabled"));
    // A pod on a spot-itn node is at risk.
    let on = pod(&units, "shop", "checkout-5b8d6-qq7wz");
    assert_eq!(on.diagnosis.verdict, Verdict::AtRisk);
    assert_eq!(on.diagnosis.codes(), vec![CauseCode::SpotInterruption]);
    assert_eq!(on.host.as_deref(), Some("ip-10-0-3-32.ec2.internal"));
}

#[test]
fn every_scheduling_reason_from_a_yaml_stream() {
    let units = diagnose(&["scheduling-reasons.yaml"]);
    let codes = |name: &str| pod(&units, "web", name).diagnosis.codes();

    // Oldest generation names no key: recomputed.
    let gpu = pod(&units, "web", "gpu-infer-7f9b-2zq8x");
    assert_eq!(gpu.diagnosis.codes(), vec![CauseCode::UntoleratedTaint]);
    assert!(
        gpu.diagnosis.causes[0]
            .detail
            .contains("dedicated on 1 node"),
        "{}",
        gpu.diagnosis.causes[0].detail
    );
    assert_eq!(gpu.diagnosis.causes[0].evidence[0].count, 17);

    let sel = pod(&units, "web", "api-64d5c-selector");
    assert_eq!(
        sel.diagnosis.codes(),
        vec![
            CauseCode::NodeUnschedulable,
            CauseCode::NodeAffinityMismatch
        ]
    );
    assert!(
        sel.diagnosis.causes[0]
            .detail
            .contains("ip-10-0-5-52.ec2.internal")
    );
    assert!(
        sel.diagnosis.causes[1]
            .detail
            .contains("workload-class=memory-optimized")
    );

    // Second generation (`had taint {k: v}, that the pod didn't tolerate`) among others.
    let spread = pod(&units, "web", "api-64d5c-spread");
    assert_eq!(
        spread.diagnosis.codes(),
        vec![
            CauseCode::UntoleratedTaint,
            CauseCode::NodeUnschedulable,
            CauseCode::TopologySpread,
            CauseCode::HostPortConflict
        ]
    );
    assert!(spread.diagnosis.causes[0].detail.contains("dedicated=gpu"));

    assert_eq!(codes("api-64d5c-toomany"), vec![CauseCode::TooManyPods]);
    assert_eq!(codes("anti-64d5c-affinity"), vec![CauseCode::PodAffinity]);

    // Unknown reasons stay visible, verbatim.
    let flux = pod(&units, "web", "flux-5c6d7-q8r9s");
    assert_eq!(flux.diagnosis.codes(), vec![CauseCode::Unknown]);
    assert!(
        flux.diagnosis.causes[0]
            .detail
            .contains("node(s) had a flux capacitor fault")
    );

    let db0 = pod(&units, "web", "db-0");
    assert_eq!(db0.diagnosis.codes(), vec![CauseCode::PvcUnbound]);
    assert!(
        db0.diagnosis.causes[0]
            .detail
            .contains("data-db-0 (Pending)")
    );
    assert!(
        db0.diagnosis.causes[0]
            .evidence
            .iter()
            .any(|e| e.reason == "ProvisioningFailed" && e.message.contains("gp3-encrypted"))
    );
    assert_eq!(db0.diagnosis.headline, "Pending: PVC data-db-0 unbound");

    assert_eq!(
        codes("db-1"),
        vec![CauseCode::NodeUnschedulable, CauseCode::VolumeZoneConflict]
    );

    let gated = pod(&units, "web", "gated-7c8d9-m2n3p");
    assert_eq!(gated.diagnosis.verdict, Verdict::Pending);
    assert_eq!(gated.diagnosis.codes(), vec![CauseCode::SchedulingGated]);
    assert!(
        gated.diagnosis.causes[0]
            .detail
            .contains("example.com/quota-check")
    );

    // Karpenter: cannot launch (node pool limits) vs. a node on its way.
    let limit = pod(&units, "web", "batch-8d9e0-limit");
    let k = cause(limit, CauseCode::ProvisioningFailed);
    assert!(k.detail.contains("exceed limits for nodepool"));
    // The node pool's own event is part of the evidence.
    assert!(
        k.evidence
            .iter()
            .any(|e| e.reason == "NoCompatibleInstanceTypes" && e.object == "nodepool/default")
    );
    assert!(
        limit
            .diagnosis
            .headline
            .contains("nodepool default at its limits"),
        "{}",
        limit.diagnosis.headline
    );
    let nom = pod(&units, "web", "batch-8d9e0-nominated");
    assert!(
        cause(nom, CauseCode::NodeProvisioning)
            .detail
            .contains("nodeclaim/default-q4w8z")
    );
    // The cordoned node is a unit; the tainted (not cordoned, no spot signal) one is healthy.
    assert_eq!(
        node(&units, "ip-10-0-5-52.ec2.internal").diagnosis.codes(),
        vec![CauseCode::NodeUnschedulable]
    );
    assert_eq!(
        node(&units, "ip-10-0-5-51.ec2.internal").diagnosis.verdict,
        Verdict::Running
    );
}

#[test]
fn created_but_not_starting() {
    let units = diagnose(&["starting.json"]);
    let img = pod(&units, "shop", "img-7f8c9-pull");
    assert_eq!(img.diagnosis.verdict, Verdict::Stuck);
    assert_eq!(img.diagnosis.codes(), vec![CauseCode::ImagePull]);
    assert!(
        img.diagnosis.causes[0]
            .detail
            .contains("shop/cart:1.9.0-rc1")
    );
    assert!(img.diagnosis.causes[0].detail.contains("not found"));

    let cfg = pod(&units, "shop", "cfg-5d6e7-secret");
    assert_eq!(cfg.diagnosis.codes(), vec![CauseCode::ContainerConfigError]);
    assert_eq!(
        cfg.diagnosis.headline,
        "CreateContainerConfigError: secret db-creds not found"
    );

    // CrashLoopBackOff while the phase says Running, last termination OOMKilled.
    let oom = pod(&units, "shop", "cart-7d9f8c6b5-oom4x");
    assert_eq!(oom.diagnosis.verdict, Verdict::Crashing);
    assert_eq!(
        oom.diagnosis.codes(),
        vec![
            CauseCode::CrashLoop,
            CauseCode::OomKilled,
            CauseCode::ProbeFailing
        ]
    );
    assert!(oom.diagnosis.causes[0].detail.contains("restarted 6 times"));
    assert!(oom.diagnosis.causes[0].detail.contains("exit 137"));
    assert!(
        oom.diagnosis.causes[1]
            .detail
            .contains("memory limit 512Mi")
    );
    assert!(
        oom.diagnosis.causes[0]
            .evidence
            .iter()
            .any(|e| e.reason == "BackOff" && e.count == 52)
    );
    assert!(oom.diagnosis.actions.iter().any(|a| a.command
        == "kubectl -n shop logs cart-7d9f8c6b5-oom4x -c cart --previous"
        && !a.mutating));

    let exit1 = pod(&units, "shop", "worker-6b7c8-exit1");
    assert_eq!(exit1.diagnosis.codes(), vec![CauseCode::CrashLoop]);
    assert!(exit1.diagnosis.headline.contains("exit 1"));

    let mount = pod(&units, "shop", "tls-4c5d6-mount");
    assert_eq!(mount.diagnosis.codes(), vec![CauseCode::MountFailed]);
    assert!(mount.diagnosis.causes[0].detail.contains("volume tls"));
    assert!(
        mount
            .diagnosis
            .headline
            .contains("secret edge-tls not found")
    );

    let ip = pod(&units, "shop", "ipx-3b4c5-sandbox");
    assert_eq!(ip.diagnosis.verdict, Verdict::Stuck);
    assert_eq!(ip.diagnosis.codes(), vec![CauseCode::IpExhaustion]);

    let ready = pod(&units, "shop", "api-7e8f9-ready");
    assert_eq!(ready.diagnosis.codes(), vec![CauseCode::ProbeFailing]);
    assert!(ready.diagnosis.causes[0].detail.contains("statuscode: 503"));

    let fresh = pod(&units, "shop", "new-1a2b3-creating");
    assert_eq!(fresh.diagnosis.verdict, Verdict::Pending);
    assert!(fresh.diagnosis.causes.is_empty());

    let odd = pod(&units, "shop", "odd-9z8y7-reason");
    assert_eq!(odd.diagnosis.codes(), vec![CauseCode::Unknown]);
    assert!(
        odd.diagnosis.causes[0]
            .detail
            .contains("SignatureValidationFailed: image signature did not verify")
    );

    // An event about an earlier pod of the same name (other uid) is ignored.
    let ok = pod(&units, "shop", "cart-7d9f8c6b5-ok1");
    assert_eq!(ok.diagnosis.verdict, Verdict::Running);
    assert!(ok.diagnosis.causes.is_empty());
}

#[test]
fn spot_storm_interruptions_not_ready_and_multi_attach() {
    let units = diagnose(&["spot-storm.json"]);
    // NTH spot interruption: deadline = notice (node event) + 2 minutes.
    let a1 = pod(&units, "shop", "checkout-5b8d6-a1");
    assert_eq!(a1.diagnosis.verdict, Verdict::AtRisk);
    assert!(a1.diagnosis.codes().contains(&CauseCode::SpotInterruption));
    assert_eq!(a1.diagnosis.deadline, Some(ts("2026-11-30T03:01:00Z")));
    assert_eq!(a1.instance_id.as_deref(), Some("i-0a1b2c3d4e5f60012"));
    assert_eq!(
        a1.diagnosis.headline,
        "At risk: spot interruption in 1m00s, node draining"
    );

    // Karpenter: SpotInterrupted + karpenter.sh/disrupted.
    let b2 = pod(&units, "shop", "cart-7d9f8c6b5-b2");
    assert_eq!(
        b2.diagnosis.codes(),
        vec![CauseCode::SpotInterruption, CauseCode::NodeDisrupted]
    );
    assert_eq!(b2.diagnosis.deadline, Some(ts("2026-11-30T03:02:00Z")));
    assert!(
        b2.diagnosis.causes[0]
            .evidence
            .iter()
            .any(|e| e.reason == "SpotInterrupted")
    );
    assert!(
        b2.diagnosis
            .actions
            .iter()
            .any(|a| a.mutating && a.command.starts_with("kubectl drain ip-10-0-2-34"))
    );

    // Being evicted by NTH's drain: DisruptionTarget + PodEviction.
    let a2 = pod(&units, "shop", "checkout-5b8d6-a2");
    assert_eq!(a2.diagnosis.codes()[0], CauseCode::Drained);
    assert!(
        a2.diagnosis.causes[0]
            .evidence
            .iter()
            .any(|e| e.reason == "PodEviction")
    );

    // Node lost contact.
    let d = node(&units, "ip-10-0-4-9.ec2.internal");
    assert_eq!(d.diagnosis.verdict, Verdict::Stuck);
    assert_eq!(d.diagnosis.codes(), vec![CauseCode::NodeNotReady]);
    assert!(
        d.diagnosis.causes[0].evidence[0]
            .message
            .contains("Kubelet stopped posting node status.")
    );
    let d4 = pod(&units, "shop", "search-6c7d8-d4");
    assert_eq!(d4.diagnosis.verdict, Verdict::AtRisk);
    assert!(d4.diagnosis.codes().contains(&CauseCode::NodeNotReady));
    let d5 = pod(&units, "shop", "search-6c7d8-d5");
    assert!(
        cause(d5, CauseCode::NodeNotReady)
            .evidence
            .iter()
            .any(|e| e.reason == "TaintManagerEviction")
    );

    // RWO volume held by a pod on a deleted spot node.
    let new = pod(&units, "data", "reports-6f7a8-new");
    assert_eq!(new.diagnosis.verdict, Verdict::Stuck);
    assert_eq!(
        new.diagnosis.codes(),
        vec![CauseCode::VolumeMultiAttach, CauseCode::NodeLost]
    );
    assert!(
        new.diagnosis.causes[0]
            .detail
            .contains("pvc-0f3a9c2e-5b1d-4e8f-9a7c-2d4b6e8f0a1c")
    );
    assert!(new.diagnosis.causes[0].detail.contains("PVC reports-data"));
    assert!(
        new.diagnosis.causes[1]
            .detail
            .contains("ip-10-0-9-99.ec2.internal")
    );
    assert!(new.diagnosis.actions.iter().any(|a| a.mutating
        && a.command == "kubectl -n data delete pod reports-6f7a8-old --force --grace-period=0"));
    let old = pod(&units, "data", "reports-6f7a8-old");
    assert_eq!(old.diagnosis.verdict, Verdict::Stuck);
    assert_eq!(
        old.diagnosis.codes(),
        vec![CauseCode::NodeLost, CauseCode::StuckTerminating]
    );

    // Nodes with spot signals are units with the deadline; the healthy one is Running.
    let na = node(&units, "ip-10-0-1-12.ec2.internal");
    assert_eq!(na.diagnosis.verdict, Verdict::AtRisk);
    assert_eq!(na.diagnosis.deadline, Some(ts("2026-11-30T03:01:00Z")));
    assert_eq!(
        node(&units, "ip-10-0-3-7.ec2.internal").diagnosis.verdict,
        Verdict::Running
    );
    // Most urgent first.
    assert!(
        units
            .windows(2)
            .all(|w| w[0].diagnosis.verdict.severity() >= w[1].diagnosis.verdict.severity())
    );
}

#[test]
fn failed_pods_evicted_shutdown_and_errors() {
    let units = diagnose(&["failed-pods.json"]);
    let ev = pod(&units, "shop", "cart-7d9f8c6b5-ev1");
    assert_eq!(ev.diagnosis.verdict, Verdict::Stopped);
    assert_eq!(
        ev.diagnosis.codes(),
        vec![CauseCode::EvictedResourcePressure]
    );
    assert!(ev.diagnosis.headline.contains("low on memory"));
    let sd = pod(&units, "shop", "cart-7d9f8c6b5-sd1");
    assert_eq!(sd.diagnosis.codes(), vec![CauseCode::NodeShutdown]);
    assert!(
        sd.diagnosis.causes[0]
            .detail
            .contains("imminent node shutdown")
    );
    let rj = pod(&units, "shop", "cart-7d9f8c6b5-rj1");
    assert_eq!(rj.diagnosis.codes(), vec![CauseCode::NodeShutdown]);
    let job = pod(&units, "etl", "nightly-29012345-7xk2p");
    assert_eq!(job.diagnosis.codes(), vec![CauseCode::ContainerFailed]);
    assert!(job.diagnosis.causes[0].detail.contains("exit 2"));
    let done = pod(&units, "etl", "hourly-29012399-ok");
    assert_eq!(done.diagnosis.verdict, Verdict::Running);
    assert_eq!(done.diagnosis.headline, "Completed");
}

#[test]
fn owners_that_cannot_create_pods() {
    let units = diagnose(&["workloads.json"]);
    let rs = unit(&units, "workload/dump/ReplicaSet/shop/api-7c9d8f");
    assert_eq!(rs.diagnosis.verdict, Verdict::Stuck);
    assert_eq!(rs.diagnosis.codes(), vec![CauseCode::QuotaExceeded]);
    assert!(rs.diagnosis.causes[0].detail.contains("compute-quota"));
    assert!(
        rs.diagnosis.causes[0]
            .detail
            .contains("limited: requests.cpu=10")
    );
    assert_eq!(rs.name, "replicaset/api-7c9d8f");
    let dep = unit(&units, "workload/dump/Deployment/shop/api");
    assert_eq!(
        dep.diagnosis.codes(),
        vec![
            CauseCode::ProgressDeadlineExceeded,
            CauseCode::QuotaExceeded
        ]
    );
    assert!(
        dep.diagnosis
            .actions
            .iter()
            .any(|a| a.mutating && a.command == "kubectl -n shop rollout undo deployment/api")
    );
    let job = unit(&units, "workload/dump/Job/etl/nightly-29012345");
    assert_eq!(job.diagnosis.verdict, Verdict::Stopped);
    assert_eq!(job.diagnosis.codes(), vec![CauseCode::BackoffLimitExceeded]);
    assert!(job.diagnosis.headline.contains("7 failed pods"));
    assert!(!units.iter().any(|u| u.id.contains("hourly")));

    // A DaemonSet whose pods PodSecurity refuses: no pod object at all.
    let ds = unit(&units, "workload/dump/DaemonSet/monitoring/node-exporter");
    assert_eq!(ds.diagnosis.verdict, Verdict::Stuck);
    assert_eq!(ds.diagnosis.codes(), vec![CauseCode::AdmissionDenied]);
    assert_eq!(ds.state, "0/3 pods");
    let c = &ds.diagnosis.causes[0];
    assert!(
        c.detail
            .contains("PodSecurity level baseline:latest rejects them")
            && c.detail.contains("hostNetwork=true"),
        "{}",
        c.detail
    );
    assert!(
        c.evidence
            .iter()
            .any(|e| e.reason == "FailedCreate" && e.object.contains("node-exporter")),
        "{:?}",
        c.evidence
    );
    assert_eq!(
        ds.diagnosis.headline,
        "No pods created: PodSecurity baseline:latest rejects the pods"
    );
    assert!(!units.iter().any(|u| u.id.contains("aws-node")));
}

#[test]
fn healthy_cluster_needs_no_attention() {
    let units = diagnose(&["healthy.json"]);
    assert_eq!(units.len(), 5);
    assert!(
        units
            .iter()
            .all(|u| u.diagnosis.verdict == Verdict::Running),
        "{units:#?}"
    );
}

#[test]
fn headlines_are_short_and_every_problem_has_a_cause_or_is_pending() {
    let units = diagnose(&[
        "pending-cpu-and-taint.json",
        "scheduling-reasons.yaml",
        "starting.json",
        "spot-storm.json",
        "failed-pods.json",
        "workloads.json",
    ]);
    for u in &units {
        assert!(
            u.diagnosis.headline.chars().count() <= 72,
            "{}: {}",
            u.id,
            u.diagnosis.headline
        );
        if matches!(
            u.diagnosis.verdict,
            Verdict::Stuck | Verdict::Crashing | Verdict::Stopped | Verdict::AtRisk
        ) {
            assert!(!u.diagnosis.causes.is_empty(), "{} has no cause", u.id);
        }
        for a in &u.diagnosis.actions {
            let cmd = &a.command;
            let changes = cmd.contains(" delete ")
                || cmd.contains(" drain ")
                || cmd.contains(" cordon ")
                || cmd.contains("rollout undo");
            assert_eq!(changes, a.mutating, "{}: {cmd}", u.id);
        }
    }
}

/// A spot request marked for termination (EC2 side) flows to the pods on the
/// node backed by that instance, with the host risk's deadline.
#[test]
fn ec2_host_risk_flows_to_pods_on_the_node() {
    let mut fleet = fleet_of(&["spot-storm.json"]);
    let request: spotcheck::model::aws::SpotInstanceRequest =
        serde_json::from_value(serde_json::json!({
            "SpotInstanceRequestId": "sir-7a8b9c0d",
            "InstanceId": "i-0c3d4e5f6a7b80007",
            "State": "active",
            "Status": {
                "Code": "marked-for-termination",
                "Message": "Your Spot Instance is marked for termination.",
                "UpdateTime": "2026-11-30T02:59:30.000Z"
            },
            "Type": "one-time",
            "LaunchedAvailabilityZone": "us-east-1c"
        }))
        .unwrap();
    fleet.apply(
        SourceEvent::Ec2SpotRequest {
            region: "us-east-1".into(),
            request: Box::new(request),
        },
        now(),
    );
    let units = diagnose_fleet(&fleet, now());
    let n = node(&units, "ip-10-0-3-7.ec2.internal");
    assert_eq!(n.diagnosis.verdict, Verdict::AtRisk);
    assert_eq!(n.diagnosis.codes(), vec![CauseCode::SpotInterruption]);
    assert_eq!(n.diagnosis.deadline, Some(ts("2026-11-30T03:01:30Z")));
    assert!(
        n.diagnosis.causes[0]
            .evidence
            .iter()
            .any(|e| e.source == "spot-request")
    );
    // The pod on that node: ContainerCreating with Multi-Attach, and now the host risk too.
    let p = pod(&units, "data", "reports-6f7a8-new");
    assert!(p.diagnosis.codes().contains(&CauseCode::SpotInterruption));
    assert_eq!(p.diagnosis.deadline, Some(ts("2026-11-30T03:01:30Z")));
    // No second row for the EC2 instance beneath a Kubernetes node.
    assert!(
        !units
            .iter()
            .any(|u| u.instance_id.as_deref() == Some("i-0c3d4e5f6a7b80007")
                && u.kind == spotcheck::diagnose::UnitKind::Instance)
    );
}

#[test]
fn broken_objects_are_named_and_the_rest_is_diagnosed() {
    let path = format!(
        "{}/tests/fixtures/k8s/broken-objects.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let loaded = kube::read(
        "broken-objects.json",
        &std::fs::read_to_string(path).unwrap(),
    )
    .unwrap();
    assert_eq!(loaded.events.len(), 1);
    let w = loaded.warnings.join("\n");
    assert!(w.contains("broken-objects.json: Pod shop/broken-1:"), "{w}");
    assert!(w.contains("missing metadata.name"), "{w}");

    let trunc = format!(
        "{}/tests/fixtures/k8s/truncated.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let loaded = kube::read("truncated.json", &std::fs::read_to_string(trunc).unwrap()).unwrap();
    assert_eq!(loaded.events.len(), 3, "the 3 complete pods before the cut");
    assert!(loaded.warnings[0].contains("truncated"));

    let wrong = format!(
        "{}/tests/fixtures/k8s/wrong-kind.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let err = kube::read("wrong-kind.json", &std::fs::read_to_string(wrong).unwrap()).unwrap_err();
    assert!(err.to_string().contains("wrong-kind.json"), "{err}");
    assert!(err.to_string().contains("ConfigMap"), "{err}");
}

/// The EC2 instance under a node is already terminated by a spot reclaim: the
/// pods still shown Running there are lost (Stuck), the node unit Stopped.
#[test]
fn terminated_instance_makes_pods_lost() {
    let mut fleet = fleet_of(&["healthy.json"]);
    let instance: spotcheck::model::aws::Ec2Instance = serde_json::from_value(serde_json::json!({
        "InstanceId": "i-0c64c8e54afa02e41",
        "InstanceType": "m5.xlarge",
        "InstanceLifecycle": "spot",
        "SpotInstanceRequestId": "sir-0a1b2c3d",
        "State": {"Code": 48, "Name": "terminated"},
        "StateReason": {"Code": "Server.SpotInstanceTermination", "Message": "Server.SpotInstanceTermination: Spot instance termination"},
        "StateTransitionReason": "Service initiated (2026-11-30 02:58:10 GMT)",
        "Placement": {"AvailabilityZone": "us-east-1b"},
        "PrivateDnsName": "ip-10-0-6-62.ec2.internal"
    }))
    .unwrap();
    fleet.apply(
        SourceEvent::Ec2Instance {
            region: "us-east-1".into(),
            instance: Box::new(instance),
        },
        now(),
    );
    let units = diagnose_fleet(&fleet, now());
    let n = node(&units, "ip-10-0-6-62.ec2.internal");
    assert_eq!(n.instance_id.as_deref(), Some("i-0c64c8e54afa02e41"));
    assert_eq!(n.diagnosis.verdict, Verdict::Stopped, "{:#?}", n.diagnosis);
    // Pods 1 of 3 run on that node (odd index).
    let p = pod(&units, "shop", "cart-7d9f8c6b5-h1");
    assert_eq!(p.diagnosis.verdict, Verdict::Stuck, "{:#?}", p.diagnosis);
    assert!(
        p.diagnosis
            .causes
            .iter()
            .any(|c| c.detail.contains("i-0c64c8e54afa02e41"))
    );
    assert!(
        p.diagnosis
            .actions
            .iter()
            .any(|a| a.mutating && a.command.contains("delete pod cart-7d9f8c6b5-h1 --force"))
    );
    assert_eq!(
        pod(&units, "shop", "cart-7d9f8c6b5-h0").diagnosis.verdict,
        Verdict::Running
    );
}

/// The StatefulSet case: the pod that held the volume was recreated under
/// the same name, so no other pod holds it; the node deleted minutes ago is
/// named as the likely holder.
#[test]
fn multi_attach_names_a_recently_deleted_node() {
    use spotcheck::sources::KubeObject;
    let mut fleet = fleet_of(&["spot-storm.json"]);
    let get = |kind: &str, name: &str| -> KubeObject {
        let path = format!(
            "{}/tests/fixtures/k8s/spot-storm.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let item = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
            .unwrap()
            .clone();
        KubeObject::from_value(item).unwrap().unwrap()
    };
    let old_pod = get("Pod", "reports-6f7a8-old");
    let mut gone_node = serde_json::to_value(get("Node", "ip-10-0-3-7.ec2.internal")).unwrap();
    gone_node["metadata"]["name"] = "ip-10-0-9-99.ec2.internal".into();
    let gone_node = KubeObject::from_value(gone_node).unwrap().unwrap();
    let four_min_ago = ts("2026-11-30T02:56:00Z");
    let apply = |fleet: &mut Fleet, ev| fleet.apply(ev, four_min_ago);
    apply(
        &mut fleet,
        SourceEvent::KubeDelete {
            context: "dump".into(),
            object: old_pod,
        },
    );
    apply(
        &mut fleet,
        SourceEvent::KubeApply {
            context: "dump".into(),
            object: gone_node.clone(),
        },
    );
    apply(
        &mut fleet,
        SourceEvent::KubeDelete {
            context: "dump".into(),
            object: gone_node,
        },
    );
    let units = diagnose_fleet(&fleet, now());
    let new = pod(&units, "data", "reports-6f7a8-new");
    assert_eq!(
        new.diagnosis.codes(),
        vec![CauseCode::VolumeMultiAttach, CauseCode::NodeLost]
    );
    assert!(
        new.diagnosis.causes[1]
            .detail
            .contains("ip-10-0-9-99.ec2.internal was deleted 4m ago"),
        "{}",
        new.diagnosis.causes[1].detail
    );
}
