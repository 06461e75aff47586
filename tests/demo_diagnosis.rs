//! The diagnosis of the embedded demo `spot-storm` (docs/demo.md), replayed
//! to fixed points: per notable unit its verdict, cause codes and the culprit
//! named in the headline or the chain; and headlines that read well at 3 a.m.

use jiff::Timestamp;
use spotcheck::diagnose::{CauseCode, Unit, UnitKind, Verdict, diagnose_fleet};
use spotcheck::model::Fleet;
use spotcheck::sources::replay::Recording;

const CI1: &str = "bf2694e3";
const I_WAVE1: &str = "i-0648e060ae3b7765b";
const I_WAVE2: &str = "i-02616a2b4da9858e3";
const I_RETIRING: &str = "i-0e7ec0793907cab4e";
const N_WAVE1: &str = "ip-10-0-13-201.ec2.internal";
const N_WAVE2: &str = "ip-10-0-22-87.ec2.internal";
const N_MONITORING: &str = "ip-10-0-40-17.ec2.internal";

const WAVE1_PENDING: [&str; 4] = [
    "shop/checkout-7h5dv6pdtk-jp7g4",
    "shop/product-catalog-bgjfkgbx8n-9xgjd",
    "shop/storefront-587727xcdw-w8kr4",
    "search/search-api-prf792n9fs-thb8k",
];
const WAVE2_PENDING: [&str; 9] = [
    "payments/fraud-scorer-x5dt5q6n9v-mbrlb",
    "payments/ledger-worker-njgqzmlpgs-p8d6t",
    "payments/payments-api-7rpt525ntd-nbxbh",
    "platform/api-gateway-jrqhw6th22-szghb",
    "search/search-indexer-wpqnj45l45-j5t67",
    "shop/cart-45scq42m29-b9cl6",
    "shop/cart-45scq42m29-rh9vv",
    "shop/checkout-7h5dv6pdtk-pvp67",
    "shop/storefront-587727xcdw-p2vvr",
];
/// Tasks on CI1 (the wave-1 instance) that the interruption stops.
const CI1_TASKS: [&str; 3] = [
    "d209f045f70502b258a5952e516f217d",
    "6fd008a4d0d438dcaf5dd5b0d984c35d",
    "7a74713b47d0bbeee33870fb2a7e6acd",
];
const FARGATE_SPOT_TASK: &str = "d800da6823855aec50d58e7c183716fc";

fn at(hms: &str) -> Timestamp {
    format!("2026-11-30T{hms}Z").parse().expect("timestamp")
}

/// Every unit, diagnosed at `hms` from the recording up to then.
fn units_at(hms: &str) -> Vec<Unit> {
    let text = spotcheck::sources::scenarios::find("spot-storm")
        .expect("the demo scenario is embedded")
        .text;
    let rec = Recording::parse(text).expect("the recording parses");
    let t = at(hms);
    let mut fleet = Fleet::new();
    for o in rec.events_until(t) {
        fleet.apply(o.event, o.at);
    }
    let units = diagnose_fleet(&fleet, t);
    check_headlines(hms, &units);
    units
}

/// What a tired operator reads: short headlines, no node row opening with its
/// state word, no far scheduled event making anything AtRisk.
fn check_headlines(hms: &str, units: &[Unit]) {
    for u in units {
        let h = &u.diagnosis.headline;
        assert!(h.chars().count() <= 72, "{hms} {}: too long: {h}", u.name);
        assert!(!h.is_empty(), "{hms} {}: empty headline", u.name);
        if u.kind == UnitKind::Node {
            for state in [
                "Ready:",
                "NotReady:",
                "Unknown:",
                "Ready,",
                "NotReady,",
                "Unknown,",
            ] {
                assert!(!h.starts_with(state), "{hms} {}: {h}", u.name);
            }
        }
        // The monitoring node's retirement is two days away: never AtRisk.
        if u.diagnosis.verdict == Verdict::AtRisk {
            assert!(
                !u.diagnosis
                    .codes()
                    .contains(&CauseCode::ScheduledMaintenance),
                "{hms} {} AtRisk for a far scheduled event: {}",
                u.name,
                chain(u)
            );
        }
    }
}

/// Headline, state and every cause with its evidence, as one text.
fn chain(u: &Unit) -> String {
    let mut s = format!("{} | {}", u.diagnosis.headline, u.state);
    for c in &u.diagnosis.causes {
        s.push_str(&format!(" | {}: {}", c.code.as_str(), c.detail));
        for e in &c.evidence {
            s.push_str(&format!(
                " [{} {} {} {}]",
                e.source, e.object, e.reason, e.message
            ));
        }
    }
    s
}

fn pod<'a>(units: &'a [Unit], ns_name: &str) -> &'a Unit {
    let (ns, name) = ns_name.split_once('/').expect("ns/name");
    units
        .iter()
        .find(|u| u.kind == UnitKind::Pod && u.scope == ns && u.name == name)
        .unwrap_or_else(|| panic!("no pod {ns_name}"))
}

fn node<'a>(units: &'a [Unit], name: &str) -> Option<&'a Unit> {
    units
        .iter()
        .find(|u| u.kind == UnitKind::Node && u.name == name)
}

fn task<'a>(units: &'a [Unit], id: &str) -> &'a Unit {
    units
        .iter()
        .find(|u| u.kind == UnitKind::EcsTask && u.id.ends_with(id))
        .unwrap_or_else(|| panic!("no task {id}"))
}

fn service<'a>(units: &'a [Unit], name: &str) -> &'a Unit {
    units
        .iter()
        .find(|u| u.kind == UnitKind::EcsService && u.name == name)
        .unwrap_or_else(|| panic!("no service unit {name}"))
}

fn ec2<'a>(units: &'a [Unit], id: &str) -> &'a Unit {
    units
        .iter()
        .find(|u| u.kind == UnitKind::Instance && u.instance_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no EC2 unit {id}"))
}

fn has(u: &Unit, verdict: Verdict, codes: &[CauseCode]) {
    assert_eq!(u.diagnosis.verdict, verdict, "{}: {}", u.name, chain(u));
    for c in codes {
        assert!(
            u.diagnosis.codes().contains(c),
            "{}: no {c:?} in {}",
            u.name,
            chain(u)
        );
    }
}

/// The background trouble that has nothing to do with spot, at every point.
fn background(units: &[Unit]) {
    let crash = pod(units, "payments/fraud-scorer-x5dt5q6n9v-5ccpx");
    has(
        crash,
        Verdict::Crashing,
        &[CauseCode::CrashLoop, CauseCode::OomKilled],
    );
    assert!(crash.diagnosis.headline.contains("OOMKilled"));
    let image = pod(units, "search/search-indexer-nbrksf5swl-stxkc");
    has(image, Verdict::Stuck, &[CauseCode::ImagePull]);
    assert!(image.diagnosis.headline.contains("indexer:v2.14.0-rc1"));
}

/// The monitoring node's instance-retirement (2026-12-02 04:00, two days
/// out): shown on the node, calmly; its pods are not AtRisk.
fn retirement_is_calm(units: &[Unit]) {
    let n = node(units, N_MONITORING).expect("monitoring node");
    has(n, Verdict::Running, &[CauseCode::ScheduledMaintenance]);
    assert_eq!(
        n.diagnosis.headline,
        "scheduled instance-retirement in 2d",
        "{}",
        chain(n)
    );
    assert!(chain(n).contains(I_RETIRING));
    let monitoring: Vec<&Unit> = units
        .iter()
        .filter(|u| u.kind == UnitKind::Pod && u.scope == "monitoring")
        .collect();
    assert_eq!(monitoring.len(), 5);
    for p in monitoring {
        assert_eq!(p.diagnosis.verdict, Verdict::Running, "{}", chain(p));
        assert!(p.diagnosis.causes.is_empty(), "{}", chain(p));
    }
}

#[test]
fn at_02_54_30_a_rebalance_hint_and_nothing_shouting() {
    let u = units_at("02:54:30");
    background(&u);
    retirement_is_calm(&u);
    let n = node(&u, N_WAVE1).unwrap();
    has(n, Verdict::AtRisk, &[CauseCode::RebalanceRecommendation]);
    assert_eq!(n.diagnosis.headline, "spot rebalance recommendation");
    // Everything AtRisk is on the node that got the recommendation.
    let at_risk: Vec<&Unit> = u
        .iter()
        .filter(|x| x.diagnosis.verdict == Verdict::AtRisk)
        .collect();
    assert_eq!(at_risk.len(), 10, "the node and its 9 pods");
    for x in at_risk {
        assert_eq!(x.host.as_deref(), Some(N_WAVE1), "{}", chain(x));
    }
    // Nothing is Pending yet, so nothing sorts above it but real trouble.
    assert!(!u.iter().any(|x| x.diagnosis.verdict == Verdict::Pending));
}

#[test]
fn at_02_56_00_the_countdown_and_the_first_pending_pods() {
    let u = units_at("02:56:00");
    background(&u);
    retirement_is_calm(&u);
    let deadline = Some(at("02:57:00"));

    let n = node(&u, N_WAVE1).unwrap();
    has(
        n,
        Verdict::AtRisk,
        &[CauseCode::SpotInterruption, CauseCode::NodeDisrupted],
    );
    assert_eq!(n.diagnosis.deadline, deadline);
    assert_eq!(
        n.diagnosis.headline,
        "spot interruption in 1m00s: Karpenter disrupting node"
    );
    assert!(chain(n).contains("sir-6w9sdvpp"));

    for id in CI1_TASKS {
        let t = task(&u, id);
        has(
            t,
            Verdict::AtRisk,
            &[
                CauseCode::ContainerInstanceDraining,
                CauseCode::SpotInterruption,
            ],
        );
        assert_eq!(t.diagnosis.deadline, deadline);
        assert_eq!(
            t.diagnosis.headline,
            format!("host {I_WAVE1} spot reclaim in 1m00s")
        );
        assert!(chain(t).contains(CI1));
    }

    // orders-api is still 6/6, but ECS already cannot place the replacements
    // of the 2 tasks on the doomed host: AtRisk before the tasks go missing.
    let api = service(&u, "orders-api");
    has(
        api,
        Verdict::AtRisk,
        &[CauseCode::InsufficientResource, CauseCode::SpotInterruption],
    );
    assert_eq!(api.state, "6/6 running");
    assert_eq!(api.diagnosis.deadline, deadline);
    assert_eq!(
        api.diagnosis.headline,
        "2 of 6 tasks lose their host in 1m00s; replacements short of memory"
    );
    let c = chain(api);
    assert!(
        c.contains(I_WAVE1) && c.contains("e0b505119ab30917c3adaaec735833b0"),
        "{c}"
    );
    // orders-worker's replacement found room (CI4): no unit.
    assert!(
        !u.iter()
            .any(|x| x.kind == UnitKind::EcsService && x.name == "orders-worker")
    );

    let redis = pod(&u, "shop/cart-redis-0");
    has(
        redis,
        Verdict::AtRisk,
        &[CauseCode::SpotInterruption, CauseCode::Drained],
    );
    assert_eq!(redis.diagnosis.deadline, deadline);
    assert_eq!(
        redis.diagnosis.headline,
        "At risk: eviction blocked (PDB), spot interruption in 1m00s"
    );

    for name in WAVE1_PENDING {
        let p = pod(&u, name);
        has(
            p,
            Verdict::Pending,
            &[
                CauseCode::InsufficientResource,
                CauseCode::UntoleratedTaint,
                CauseCode::NodeProvisioning,
            ],
        );
        // Per key, the disruption key first; never "4 nodes tainted CriticalAddonsOnly".
        assert_eq!(
            p.diagnosis.headline,
            "Pending: 3 short of cpu; taints: karpenter.sh/disrupted (1) +2"
        );
        let c = chain(p);
        for part in [
            "karpenter.sh/disrupted on 1 node",
            "CriticalAddonsOnly on 2 nodes",
            "dedicated on 1 node",
            "nodeclaim/spot-general-5slz9",
        ] {
            assert!(c.contains(part), "{part}: {c}");
        }
    }
}

#[test]
fn the_interrupted_node_counts_down_then_is_lost() {
    // During the notice: AtRisk with the deadline, the countdown leading.
    for hms in ["02:55:01", "02:55:30", "02:56:30", "02:56:59"] {
        let u = units_at(hms);
        let n = node(&u, N_WAVE1).unwrap();
        has(n, Verdict::AtRisk, &[CauseCode::SpotInterruption]);
        assert_eq!(n.diagnosis.deadline, Some(at("02:57:00")), "{hms}");
        assert!(
            n.diagnosis.headline.starts_with("spot interruption in "),
            "{hms}: {}",
            n.diagnosis.headline
        );
        // Its pods carry the same countdown, said once.
        for p in u
            .iter()
            .filter(|x| x.kind == UnitKind::Pod && x.host.as_deref() == Some(N_WAVE1))
        {
            assert_eq!(p.diagnosis.verdict, Verdict::AtRisk, "{hms}: {}", chain(p));
            assert_eq!(
                p.diagnosis.headline.matches("spot interruption").count(),
                1,
                "{hms}: {}",
                p.diagnosis.headline
            );
            assert!(p.diagnosis.deadline.is_some(), "{hms}: {}", chain(p));
        }
    }
    // Shutting down, then NotReady: the instance is gone, no countdown left.
    for hms in ["02:57:10", "02:57:30", "02:57:45"] {
        let u = units_at(hms);
        let n = node(&u, N_WAVE1).unwrap();
        has(n, Verdict::Stopped, &[CauseCode::SpotInterruption]);
        assert_eq!(n.diagnosis.deadline, None, "{hms}");
        assert!(
            n.diagnosis
                .headline
                .starts_with(&format!("spot reclaimed {I_WAVE1}")),
            "{hms}: {}",
            n.diagnosis.headline
        );
        assert!(!n.diagnosis.headline.contains("left"), "{hms}");
        // The ECS service names the host's loss, not a Kubernetes-style NotReady.
        let api = service(&u, "orders-api");
        assert!(
            !api.diagnosis.codes().contains(&CauseCode::NodeNotReady),
            "{hms}: {}",
            chain(api)
        );
        let lost = api
            .diagnosis
            .causes
            .iter()
            .filter(|c| c.code == CauseCode::SpotInterruption)
            .find(|c| c.detail.contains(CI1))
            .unwrap_or_else(|| panic!("{hms}: no host-loss link for {CI1}: {}", chain(api)));
        assert!(lost.detail.contains(I_WAVE1), "{}", lost.detail);
        assert!(
            lost.detail.contains("ECS agent disconnected"),
            "{}",
            lost.detail
        );
        assert!(!lost.detail.contains("node "), "{}", lost.detail);
    }
    // A brand-new node that is not Ready yet is joining, not stuck.
    let u = units_at("02:58:15");
    let fresh = node(&u, "ip-10-0-35-61.ec2.internal").unwrap();
    has(fresh, Verdict::Pending, &[CauseCode::NodeNotReady]);
    assert!(
        fresh.diagnosis.headline.starts_with("joining"),
        "{}",
        chain(fresh)
    );
}

#[test]
fn at_02_58_00_wave_one_fallout() {
    let u = units_at("02:58:00");
    background(&u);
    retirement_is_calm(&u);
    assert!(node(&u, N_WAVE1).is_none(), "deleted at 02:57:50");

    let redis = pod(&u, "shop/cart-redis-0");
    has(redis, Verdict::Stuck, &[]);
    assert_eq!(
        redis.diagnosis.codes(),
        vec![CauseCode::VolumeMultiAttach, CauseCode::NodeLost]
    );
    assert_eq!(
        redis.diagnosis.headline,
        format!("ContainerCreating: volume on lost node {N_WAVE1}")
    );
    assert!(chain(redis).contains(I_WAVE1));
    assert!(chain(redis).contains("pvc-96949576-0b36-495e-8273-c66938dbc40c"));

    let api = service(&u, "orders-api");
    has(
        api,
        Verdict::Pending,
        &[CauseCode::InsufficientResource, CauseCode::SpotInterruption],
    );
    assert!(
        !api.diagnosis.codes().contains(&CauseCode::NodeNotReady),
        "{}",
        chain(api)
    );
    assert_eq!(
        api.diagnosis.headline,
        "2 of 6 tasks missing: container-instance e0b50511… short of memory"
    );
    assert!(chain(api).contains("agent disconnected"));

    for id in CI1_TASKS {
        has(
            task(&u, id),
            Verdict::Stopped,
            &[CauseCode::SpotInterruption],
        );
    }
    has(
        ec2(&u, I_WAVE1),
        Verdict::Stopped,
        &[CauseCode::SpotInterruption],
    );

    for name in WAVE1_PENDING {
        let p = pod(&u, name);
        has(
            p,
            Verdict::Pending,
            &[
                CauseCode::InsufficientResource,
                CauseCode::UntoleratedTaint,
                CauseCode::NodeLost,
            ],
        );
        assert_eq!(
            p.diagnosis.headline,
            "Pending: 3 short of cpu; taints: CriticalAddonsOnly (2), dedicated (1)"
        );
        // Spot node loss upstream, named.
        let lost = p
            .diagnosis
            .causes
            .iter()
            .find(|c| c.code == CauseCode::NodeLost)
            .unwrap();
        assert!(
            lost.detail.contains(N_WAVE1) && lost.detail.contains(I_WAVE1),
            "{}",
            lost.detail
        );
    }
}

#[test]
fn karpenter_evictions_said_once_with_the_countdown() {
    let u = units_at("02:55:07");
    let evicted: Vec<&Unit> = u
        .iter()
        .filter(|x| x.kind == UnitKind::Pod && x.host.as_deref() == Some(N_WAVE1))
        .filter(|x| x.diagnosis.codes().contains(&CauseCode::Drained))
        .collect();
    assert!(!evicted.is_empty());
    for p in evicted {
        has(
            p,
            Verdict::AtRisk,
            &[CauseCode::NodeDisrupted, CauseCode::SpotInterruption],
        );
        assert!(
            p.diagnosis
                .headline
                .starts_with("At risk: being evicted by Karpenter, spot interruption in 1m5"),
            "{}",
            p.diagnosis.headline
        );
    }
}

#[test]
fn wave_one_pods_starting_on_the_replacement_are_not_stuck() {
    // 02:58:32 they are scheduled onto ip-10-0-35-61; the FailedScheduling
    // warnings from before are history, not a reason to call them Stuck.
    let u = units_at("02:58:35");
    for name in WAVE1_PENDING {
        let p = pod(&u, name);
        assert_eq!(p.state, "ContainerCreating", "{}", chain(p));
        assert_eq!(p.diagnosis.verdict, Verdict::Pending, "{}", chain(p));
        assert!(
            !p.diagnosis.codes().contains(&CauseCode::Unknown),
            "{}",
            chain(p)
        );
    }
}

#[test]
fn at_03_01_00_the_second_wave() {
    let u = units_at("03:01:00");
    background(&u);
    retirement_is_calm(&u);

    let n = node(&u, N_WAVE2).unwrap();
    has(
        n,
        Verdict::AtRisk,
        &[CauseCode::SpotInterruption, CauseCode::Drained],
    );
    assert_eq!(n.diagnosis.deadline, Some(at("03:01:59")));
    assert_eq!(
        n.diagnosis.headline,
        "spot interruption in 59s: cordoned and draining"
    );
    assert!(chain(n).contains(I_WAVE2) && chain(n).contains("sir-6lkd2smk"));

    for name in WAVE2_PENDING {
        let p = pod(&u, name);
        has(
            p,
            Verdict::Pending,
            &[
                CauseCode::InsufficientResource,
                CauseCode::NodeUnschedulable,
                CauseCode::UntoleratedTaint,
            ],
        );
        assert_eq!(
            p.diagnosis.headline,
            "Pending: 3 short of cpu, 1 cordoned; taints: CriticalAddonsOnly (2) +1"
        );
        let cordon = p
            .diagnosis
            .causes
            .iter()
            .find(|c| c.code == CauseCode::NodeUnschedulable)
            .unwrap();
        assert!(
            cordon
                .detail
                .contains(&format!("{N_WAVE2} (spot interruption)")),
            "{}",
            cordon.detail
        );
    }

    let f = task(&u, FARGATE_SPOT_TASK);
    has(f, Verdict::AtRisk, &[CauseCode::SpotInterruption]);
    has(
        service(&u, "checkout-events"),
        Verdict::Pending,
        &[CauseCode::CapacityUnavailable],
    );
    has(
        service(&u, "orders-api"),
        Verdict::Pending,
        &[CauseCode::InsufficientResource],
    );
    // The volume is held by the wave-1 node only.
    let redis = pod(&u, "shop/cart-redis-0");
    assert_eq!(
        redis.diagnosis.codes(),
        vec![CauseCode::VolumeMultiAttach, CauseCode::NodeLost]
    );
}

#[test]
fn at_03_03_00_the_end_state() {
    let u = units_at("03:03:00");
    background(&u);
    retirement_is_calm(&u);
    assert!(node(&u, N_WAVE2).is_none(), "deleted at 03:02:46");
    assert_eq!(u.iter().filter(|x| x.kind == UnitKind::Node).count(), 6);

    for name in WAVE2_PENDING {
        let p = pod(&u, name);
        has(
            p,
            Verdict::Pending,
            &[
                CauseCode::InsufficientResource,
                CauseCode::UntoleratedTaint,
                CauseCode::NodeLost,
            ],
        );
        assert_eq!(
            p.diagnosis.headline,
            "Pending: 3 short of cpu; taints: CriticalAddonsOnly (2), dedicated (1)"
        );
        let c = chain(p);
        assert!(c.contains(I_WAVE2) && c.contains(N_WAVE2), "{c}");
    }
    // 9 Pending pods, no more.
    assert_eq!(
        u.iter()
            .filter(|x| x.kind == UnitKind::Pod && x.diagnosis.verdict == Verdict::Pending)
            .count(),
        9
    );

    // Multi-Attach: the wave-1 node holds the volume; the wave-2 node (other
    // zone, deleted after the attach failed) is not blamed.
    let redis = pod(&u, "shop/cart-redis-0");
    has(redis, Verdict::Stuck, &[]);
    assert_eq!(
        redis.diagnosis.codes(),
        vec![CauseCode::VolumeMultiAttach, CauseCode::NodeLost]
    );
    assert!(!chain(redis).contains(N_WAVE2), "{}", chain(redis));
    assert!(redis.diagnosis.headline.contains(N_WAVE1));

    for id in CI1_TASKS.iter().chain([FARGATE_SPOT_TASK].iter()) {
        has(
            task(&u, id),
            Verdict::Stopped,
            &[CauseCode::SpotInterruption],
        );
    }
    let api = service(&u, "orders-api");
    has(api, Verdict::Pending, &[CauseCode::InsufficientResource]);
    assert!(api.diagnosis.headline.starts_with("2 of 6 tasks missing"));
    for id in [I_WAVE1, I_WAVE2] {
        let e = ec2(&u, id);
        has(e, Verdict::Stopped, &[CauseCode::SpotInterruption]);
        assert_eq!(
            e.diagnosis.headline,
            "spot reclaimed it (instance-terminated-no-capacity)"
        );
    }
    // The other services are at their desired count: no unit.
    for s in ["orders-worker", "notifications", "checkout-events"] {
        assert!(
            !u.iter()
                .any(|x| x.kind == UnitKind::EcsService && x.name == s),
            "{s}"
        );
    }
}
