//! A kubectl dump and an AWS dump joined: one spot request marked for
//! termination under an instance that is both a Kubernetes node (with pods)
//! and an ECS container instance (with tasks).

use jiff::Timestamp;
use spotcheck::diagnose::{CauseCode, Unit, UnitKind, Verdict, diagnose_fleet, spot};
use spotcheck::model::Fleet;
use spotcheck::model::join::Joins;

const INSTANCE: &str = "i-0c0ffee0c0ffee001";
const NODE: &str = "ip-10-0-3-21.ec2.internal";
const SPOT_REQUEST: &str = "sir-0mixed01";

fn now() -> Timestamp {
    "2026-11-30T03:05:00Z".parse().expect("a timestamp")
}

fn deadline() -> Timestamp {
    "2026-11-30T03:06:10Z".parse().expect("a timestamp")
}

fn fleet() -> Fleet {
    let dir = format!("{}/tests/fixtures/aws", env!("CARGO_MANIFEST_DIR"));
    let mut fleet = Fleet::new();
    let kube_path = format!("{dir}/mixed-kube.json");
    let kube_text = std::fs::read_to_string(&kube_path).expect("kube fixture");
    let kube = spotcheck::dump::kube::read(&kube_path, &kube_text).expect("kube dump reads");
    let aws_path = format!("{dir}/mixed-aws.json");
    let aws_text = std::fs::read_to_string(&aws_path).expect("aws fixture");
    let aws = spotcheck::dump::aws::read(&aws_path, &aws_text).expect("aws dump reads");
    assert!(aws.warnings.is_empty(), "{:?}", aws.warnings);
    for ev in kube.events.into_iter().chain(aws.events) {
        fleet.apply(ev, now());
    }
    fleet
}

/// Details and evidence of the chain, in order, as one text.
fn chain(u: &Unit) -> String {
    let mut s = String::new();
    for c in &u.diagnosis.causes {
        s.push_str(&format!("[{}] {}", c.code.as_str(), c.detail));
        for e in &c.evidence {
            s.push_str(&format!(
                " <{} {} {} {}>",
                e.source, e.object, e.reason, e.message
            ));
        }
        s.push('\n');
    }
    s
}

fn pod<'a>(units: &'a [Unit], name: &str) -> &'a Unit {
    units
        .iter()
        .find(|u| u.kind == UnitKind::Pod && u.name == name)
        .unwrap_or_else(|| panic!("no pod {name}"))
}

fn task<'a>(units: &'a [Unit], id: &str) -> &'a Unit {
    units
        .iter()
        .find(|u| u.kind == UnitKind::EcsTask && u.id.ends_with(id))
        .unwrap_or_else(|| panic!("no task {id}"))
}

#[test]
fn one_host_risk_from_the_spot_request() {
    let fleet = fleet();
    let joins = Joins::build(&fleet);
    let links = joins.links(INSTANCE).unwrap();
    assert_eq!(links.nodes.len(), 1);
    assert_eq!(links.container_instances.len(), 1);
    assert_eq!(links.spot_requests.len(), 1);
    let risks = spot::host_risks(&fleet, &joins, now());
    assert_eq!(risks.len(), 1, "{:?}", risks.keys());
    let r = &risks[INSTANCE];
    assert_eq!(r.code, CauseCode::SpotInterruption);
    assert!(!r.lost);
    assert_eq!(r.notice, Some("2026-11-30T03:04:10Z".parse().unwrap()));
    assert_eq!(r.deadline, Some(deadline()));
    assert!(r.detail.contains(SPOT_REQUEST));
    assert!(
        r.evidence
            .iter()
            .any(|e| e.source == "spot-request" && e.reason == "marked-for-termination")
    );
}

#[test]
fn ecs_tasks_on_the_instance_are_at_risk() {
    let units = diagnose_fleet(&fleet(), now());
    for id in [
        "5f1668a75fb7328e24df0be783baa34e",
        "f4a056888f5c6ab614160c9ae194ddca",
    ] {
        let t = task(&units, id);
        assert_eq!(t.diagnosis.verdict, Verdict::AtRisk, "{}", chain(t));
        assert_eq!(t.diagnosis.deadline, Some(deadline()));
        assert_eq!(t.instance_id.as_deref(), Some(INSTANCE));
        let c = chain(t);
        let ci = c
            .find("container-instance/hybrid/")
            .expect("container instance in chain");
        let sr = c.find(SPOT_REQUEST).expect("spot request in chain");
        assert!(ci < sr, "{c}");
        assert!(
            t.diagnosis.headline.contains("1m10s"),
            "{}",
            t.diagnosis.headline
        );
    }
    // The task on the on-demand instance is fine.
    let safe = task(&units, "67f13d96e545946210e005e224fb25d4");
    assert_eq!(safe.diagnosis.verdict, Verdict::Running);
}

#[test]
fn the_node_unit_stands_for_the_instance() {
    let units = diagnose_fleet(&fleet(), now());
    // Rule: an instance that backs a node has no EC2 unit of its own.
    assert!(
        !units
            .iter()
            .any(|u| u.kind == UnitKind::Instance && u.instance_id.as_deref() == Some(INSTANCE)),
        "the Node unit covers {INSTANCE}"
    );
    let node = units
        .iter()
        .find(|u| u.kind == UnitKind::Node && u.name == NODE)
        .expect("a Node unit for the reclaimed node");
    assert_eq!(node.diagnosis.verdict, Verdict::AtRisk, "{}", chain(node));
    assert!(
        node.diagnosis
            .codes()
            .contains(&CauseCode::SpotInterruption)
    );
    assert!(chain(node).contains(SPOT_REQUEST), "{}", chain(node));
    assert_eq!(node.diagnosis.deadline, Some(deadline()));
}

#[test]
fn pods_on_the_node_are_at_risk_with_the_full_chain() {
    let units = diagnose_fleet(&fleet(), now());
    for name in ["cart-7d9f8b6c5-x2k4q", "search-5c6d7e8f9-7hj2m"] {
        let p = pod(&units, name);
        let c = chain(p);
        assert_eq!(p.diagnosis.verdict, Verdict::AtRisk, "{name}: {c}");
        assert_eq!(p.diagnosis.deadline, Some(deadline()), "{name}");
        assert!(p.diagnosis.codes().contains(&CauseCode::SpotInterruption));
        // pod → node → instance → spot request
        let node = c
            .find(NODE)
            .unwrap_or_else(|| panic!("{name}: node not in chain: {c}"));
        let inst = c
            .find(INSTANCE)
            .unwrap_or_else(|| panic!("{name}: instance not in chain: {c}"));
        let sr = c
            .find(SPOT_REQUEST)
            .unwrap_or_else(|| panic!("{name}: spot request not in chain: {c}"));
        assert!(
            node <= inst && inst <= sr,
            "{name}: chain out of order: {c}"
        );
    }
    let safe = pod(&units, "cart-7d9f8b6c5-p9r8s");
    assert_eq!(safe.diagnosis.verdict, Verdict::Running);
}
