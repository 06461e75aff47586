//! Live ECS and EC2 against a real AWS API emulator: moto 5.2.5 with the
//! project's patch/fault routes (scripts/moto-env, scripts/moto_plus.py).
//!
//! scripts/test starts moto and exports SPOTCHECK_TEST_AWS_ENDPOINT; without
//! it these tests fail (they never skip). Each test works in its own region,
//! so they share one moto and run in parallel. Setup writes go through plain,
//! unguarded SDK clients; everything spotcheck reads goes through the real
//! poller with its read-only guard.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup should panic loudly

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

#[path = "support/proxy.rs"]
mod proxy;

use aws_config::BehaviorVersion;
use aws_sdk_ecs::types::{ContainerInstanceStatus, DesiredStatus};
use jiff::Timestamp;
use serde_json::{Value, json};
use spotcheck::diagnose::{CauseCode, Unit, UnitKind, Verdict, diagnose_fleet};
use spotcheck::model::Fleet;
use spotcheck::sources::aws::plan::{self, FleetSize};
use spotcheck::sources::aws::poll::{CycleReport, RegionPoller};
use spotcheck::sources::aws::{self, Clients};
use spotcheck::sources::{Health, Observed, PollHint, SourceEvent, SourceId};
use tokio::sync::mpsc;

// ───────────────────────────── support ─────────────────────────────

fn endpoint() -> String {
    std::env::var("SPOTCHECK_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "SPOTCHECK_TEST_AWS_ENDPOINT is not set: run scripts/test, or \
             `export SPOTCHECK_TEST_AWS_ENDPOINT=$(scripts/moto-env start)`"
        )
    })
}

fn creds() -> aws_sdk_ecs::config::Credentials {
    aws_sdk_ecs::config::Credentials::new("testing", "testing", None, None, "test")
}

/// Shared config for `region` at `ep`, explicit (no environment involved).
async fn sdk_config(ep: &str, region: &str) -> aws_types::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(ep)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(creds())
        .http_client(aws::http_client())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        )
        .load()
        .await
}

/// One test's region in moto, with unguarded setup clients.
struct Moto {
    ep: String,
    region: String,
    ecs: aws_sdk_ecs::Client,
    ec2: aws_sdk_ec2::Client,
}

/// What [`Moto::seed_spot_cluster`] made.
#[derive(Debug, Default)]
struct Seed {
    /// (spot request id, instance id, container instance ARN)
    hosts: Vec<(String, String, String)>,
}

impl Moto {
    async fn new(region: &str) -> Moto {
        Moto::at(&endpoint(), region).await
    }

    /// This test's region, emptied (state left by an earlier run is gone).
    async fn at(ep: &str, region: &str) -> Moto {
        let conf = sdk_config(ep, region).await;
        let m = Moto {
            ep: ep.to_string(),
            region: region.to_string(),
            ecs: aws_sdk_ecs::Client::new(&conf),
            ec2: aws_sdk_ec2::Client::new(&conf),
        };
        let (status, text) = m.post("/moto-api/x/reset-region", &json!({"region": region}));
        assert_eq!(status, 200, "reset-region: {text}");
        m.clear_faults();
        m
    }

    /// A poller with the production clients (read-only guard, counter).
    async fn poller(&self, clusters: &[&str]) -> RegionPoller {
        let conf = sdk_config(&self.ep, &self.region).await;
        RegionPoller::new(
            &self.region,
            Clients::new(&conf),
            clusters.iter().map(|c| c.to_string()).collect(),
            None,
        )
    }

    /// POST a JSON body to a moto route; returns (status, body).
    fn post(&self, path: &str, body: &Value) -> (u16, String) {
        let addr = self.ep.trim_start_matches("http://").to_string();
        let body = body.to_string();
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status = resp
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = resp
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        (status, body)
    }

    /// Sets fields moto cannot produce (see scripts/moto_plus.py).
    fn patch(&self, mut body: Value) {
        body["region"] = json!(self.region);
        let (status, text) = self.post("/moto-api/x/patch", &body);
        assert_eq!(status, 200, "patch {body}: {text}");
    }

    /// Makes a call fail in this region (see scripts/moto_plus.py).
    fn fault(&self, mut body: Value) {
        body["region"] = json!(self.region);
        let (status, text) = self.post("/moto-api/x/fault", &body);
        assert_eq!(status, 200, "fault {body}: {text}");
    }

    fn clear_faults(&self) {
        self.fault(json!({"clear": true}));
    }

    async fn task_definition(&self, family: &str, memory: i32) {
        self.ecs
            .register_task_definition()
            .family(family)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name(family)
                    .image(format!("{family}:1"))
                    .cpu(16)
                    .memory(memory)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// A cluster on `n` spot instances (spot requests → instances →
    /// container instances), with task definition `api`.
    async fn seed_spot_cluster(&self, cluster: &str, n: i32) -> Seed {
        self.ecs
            .create_cluster()
            .cluster_name(cluster)
            .send()
            .await
            .unwrap();
        let reqs = self
            .ec2
            .request_spot_instances()
            .spot_price("0.05")
            .instance_count(n)
            .launch_specification(
                aws_sdk_ec2::types::RequestSpotLaunchSpecification::builder()
                    .image_id("ami-12c6146b")
                    .instance_type(aws_sdk_ec2::types::InstanceType::M5Large)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let mut seed = Seed::default();
        for r in reqs.spot_instance_requests() {
            let sir = r.spot_instance_request_id().unwrap().to_string();
            let id = r.instance_id().unwrap().to_string();
            let doc = json!({"instanceId": id, "region": self.region,
                "availabilityZone": format!("{}a", self.region),
                "instanceType": "m5.large", "imageId": "ami-12c6146b"});
            let ci = self
                .ecs
                .register_container_instance()
                .cluster(cluster)
                .instance_identity_document(doc.to_string())
                .send()
                .await
                .unwrap();
            let arn = ci
                .container_instance()
                .unwrap()
                .container_instance_arn()
                .unwrap()
                .to_string();
            seed.hosts.push((sir, id, arn));
        }
        // Small tasks: moto places RunTask only where cpu and memory fit.
        self.task_definition("api", 32).await;
        seed
    }

    /// A service with `desired` tasks of which `running` run (moto starts
    /// none for services, so they are run and the counts set by hand).
    async fn service(&self, cluster: &str, name: &str, desired: i32, running: i32) -> Vec<String> {
        self.ecs
            .create_service()
            .cluster(cluster)
            .service_name(name)
            .task_definition("api")
            .desired_count(desired)
            .send()
            .await
            .unwrap();
        self.patch(
            json!({"kind": "ecs_service", "cluster": cluster, "id": name,
            "set": {"running_count": running, "pending_count": 0}}),
        );
        self.run_tasks(cluster, &format!("service:{name}"), running)
            .await
    }

    async fn run_tasks(&self, cluster: &str, group: &str, count: i32) -> Vec<String> {
        let mut arns = Vec::new();
        let mut left = count;
        while left > 0 {
            let n = left.min(10);
            let out = self
                .ecs
                .run_task()
                .cluster(cluster)
                .task_definition("api")
                .group(group)
                .started_by("ecs-svc/0123456789")
                .count(n)
                .send()
                .await
                .unwrap();
            arns.extend(
                out.tasks()
                    .iter()
                    .map(|t| t.task_arn().unwrap().to_string()),
            );
            left -= n;
        }
        arns
    }
}

/// One poll cycle: its report and the events it sent.
async fn cycle(p: &mut RegionPoller) -> (CycleReport, Vec<SourceEvent>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let report = p.cycle(&tx).await;
    drop(tx);
    let mut events = Vec::new();
    while let Some(Observed { event, .. }) = rx.recv().await {
        events.push(event);
    }
    (report, events)
}

fn apply(fleet: &mut Fleet, events: &[SourceEvent]) {
    for e in events {
        fleet.apply(e.clone(), Timestamp::now());
    }
}

fn count(events: &[SourceEvent], kind: &str) -> usize {
    events
        .iter()
        .filter(|e| {
            matches!(
                (kind, e),
                ("task", SourceEvent::EcsTask { .. })
                    | ("service", SourceEvent::EcsService { .. })
                    | ("ci", SourceEvent::EcsContainerInstance { .. })
                    | ("cp", SourceEvent::EcsCapacityProvider { .. })
                    | ("instance", SourceEvent::Ec2Instance { .. })
                    | ("spot", SourceEvent::Ec2SpotRequest { .. })
                    | ("status", SourceEvent::Ec2InstanceStatus { .. })
                    | ("gone", SourceEvent::AwsGone { .. })
            )
        })
        .count()
}

fn health_of(events: &[SourceEvent], source: &SourceId) -> Option<Health> {
    events.iter().rev().find_map(|e| match e {
        SourceEvent::Health { source: s, health } if s == source => Some(health.clone()),
        _ => None,
    })
}

fn units(fleet: &Fleet) -> Vec<Unit> {
    diagnose_fleet(fleet, Timestamp::now())
}

fn task_unit<'a>(units: &'a [Unit], arn: &str) -> &'a Unit {
    let id = arn.rsplit('/').next().unwrap();
    units
        .iter()
        .find(|u| u.kind == UnitKind::EcsTask && u.id.ends_with(id))
        .unwrap_or_else(|| panic!("no unit for task {id}"))
}

fn text(u: &Unit) -> String {
    let mut s = format!("{} | {}", u.diagnosis.headline, u.state);
    for c in &u.diagnosis.causes {
        s.push_str(&format!(" | {:?} {}", c.code, c.detail));
        for e in &c.evidence {
            s.push_str(&format!(
                " | {} {} {} {}",
                e.source, e.object, e.reason, e.message
            ));
        }
    }
    s
}

fn ops(report: &CycleReport) -> BTreeMap<&str, u64> {
    report
        .requests
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect()
}

// ───────────────────────────── tests ─────────────────────────────

/// A cluster with a service on spot container instances: everything arrives,
/// both sources go Live, the joins hold, and a steady second cycle sends
/// nothing and costs exactly the planned requests.
#[tokio::test]
async fn spot_cluster_with_a_service_is_polled_live() {
    let m = Moto::new("us-west-1").await;
    let seed = m.seed_spot_cluster("alpha", 2).await;
    let tasks = m.service("alpha", "api", 2, 2).await;

    let mut p = m.poller(&[]).await;
    let (r1, ev) = cycle(&mut p).await;
    assert!(r1.ecs.problems.is_empty(), "{:?}", r1.ecs.problems);
    assert!(r1.ec2.problems.is_empty(), "{:?}", r1.ec2.problems);
    assert_eq!(
        health_of(&ev, &SourceId::ecs("us-west-1")),
        Some(Health::Live)
    );
    assert_eq!(
        health_of(&ev, &SourceId::ec2("us-west-1")),
        Some(Health::Live)
    );
    assert_eq!(count(&ev, "service"), 1);
    assert_eq!(count(&ev, "task"), 2);
    assert_eq!(count(&ev, "ci"), 2);
    assert_eq!(count(&ev, "spot"), 2);
    assert_eq!(count(&ev, "instance"), 2);
    assert!(r1.discovery);

    let mut fleet = Fleet::new();
    apply(&mut fleet, &ev);
    let region = &fleet.aws["us-west-1"];
    for (_, id, ci) in &seed.hosts {
        assert!(region.instances[id].is_spot(), "{id} is spot");
        assert_eq!(region.container_instances[ci].0, "alpha");
    }
    let units = units(&fleet);
    for t in &tasks {
        let u = task_unit(&units, t);
        assert_eq!(u.diagnosis.verdict, Verdict::Running, "{}", text(u));
        assert!(
            seed.hosts
                .iter()
                .any(|(_, id, _)| u.instance_id.as_deref() == Some(id)),
            "task joined to its instance: {:?}",
            u.instance_id
        );
    }

    // Steady state: nothing changed, nothing sent, the planned requests only.
    let (r2, ev2) = cycle(&mut p).await;
    assert!(ev2.is_empty(), "{ev2:?}");
    let want = plan::requests_per_cycle(&FleetSize {
        clusters: 1,
        services: 1,
        running_tasks: 2,
        container_instances: 2,
        spot_requests: 2,
        instances: 2,
        running_instances: 2,
        ..FleetSize::default()
    });
    assert_eq!(ops(&r2), want);
}

/// A service whose tasks cannot be placed: its service event becomes a
/// missing-tasks unit with the parsed reason.
#[tokio::test]
async fn service_that_cannot_place_tasks_is_a_missing_tasks_unit() {
    let m = Moto::new("us-west-2").await;
    let seed = m.seed_spot_cluster("bravo", 1).await;
    m.service("bravo", "big", 2, 0).await;
    let ci_id = seed.hosts[0].2.rsplit('/').next().unwrap().to_string();
    m.patch(json!({"kind": "ecs_service", "cluster": "bravo", "id": "big", "append_event":
        format!("(service big) was unable to place a task because no container instance met all \
                 of its requirements. The closest matching (container-instance {ci_id}) has \
                 insufficient memory available. For more information, see the Troubleshooting section.")}));

    let mut p = m.poller(&["bravo"]).await;
    let (r, ev) = cycle(&mut p).await;
    assert!(r.urgent, "a service short of tasks makes polling fast");
    assert!(
        !r.requests.contains_key("ListClusters"),
        "--ecs-cluster: no listing"
    );
    let mut fleet = Fleet::new();
    apply(&mut fleet, &ev);
    let units = units(&fleet);
    let svc = units
        .iter()
        .find(|u| u.kind == UnitKind::EcsService && u.name == "big")
        .expect("a unit for the missing tasks");
    assert_eq!(svc.diagnosis.verdict, Verdict::Pending, "{}", text(svc));
    assert!(
        svc.diagnosis
            .codes()
            .contains(&CauseCode::InsufficientResource),
        "{}",
        text(svc)
    );
    assert_eq!(svc.state, "0/2 running");
    let t = text(svc);
    assert!(t.contains("memory"), "{t}");
    assert!(t.contains(&ci_id[..8]), "names the container instance: {t}");
}

/// A task stopped by a spot interruption is diagnosed as such, and stays in
/// the model after AWS forgets it.
#[tokio::test]
async fn spot_interrupted_task_is_kept_after_aws_forgets_it() {
    let m = Moto::new("eu-west-1").await;
    m.seed_spot_cluster("charlie", 1).await;
    let tasks = m.service("charlie", "api", 2, 2).await;
    let victim = tasks[0].clone();
    m.ecs
        .stop_task()
        .cluster("charlie")
        .task(&victim)
        .reason("Your Spot Task was interrupted.")
        .send()
        .await
        .unwrap();
    let stopped_at = Timestamp::now() - jiff::SignedDuration::from_secs(30);
    m.patch(
        json!({"kind": "ecs_task", "cluster": "charlie", "id": victim,
        "set": {"stop_code": "SpotInterruption", "stopped_at": stopped_at.to_string(),
                "stopping_at": (stopped_at - jiff::SignedDuration::from_secs(5)).to_string(),
                "last_status": "STOPPED"},
        "containers": {"last_status": "STOPPED", "exitCode": 143,
                       "reason": "Task stopped due to spot interruption"}}),
    );

    let mut p = m.poller(&[]).await;
    let (_, ev) = cycle(&mut p).await;
    let mut fleet = Fleet::new();
    apply(&mut fleet, &ev);
    let u = units(&fleet);
    let unit = task_unit(&u, &victim);
    assert_eq!(unit.diagnosis.verdict, Verdict::Stopped, "{}", text(unit));
    assert!(
        unit.diagnosis
            .codes()
            .contains(&CauseCode::SpotInterruption),
        "{}",
        text(unit)
    );
    let t = &fleet.aws["eu-west-1"].tasks[&victim];
    assert_eq!(t.stop_code.as_deref(), Some("SpotInterruption"));
    assert_eq!(
        t.stopped_at.map(|a| a.0.as_second()),
        Some(stopped_at.as_second())
    );

    // The stopped task is described once; later cycles only list it.
    let (r2, ev2) = cycle(&mut p).await;
    assert_eq!(count(&ev2, "task"), 0);
    assert_eq!(r2.requests["DescribeTasks"], 1, "only the running task");

    // AWS forgets the stopped task (after ~1 h) and the running one vanishes.
    for arn in &tasks {
        m.patch(json!({"kind": "ecs_task", "cluster": "charlie", "id": arn, "delete": true}));
    }
    let (_, ev3) = cycle(&mut p).await;
    assert_eq!(count(&ev3, "gone"), 2, "{ev3:?}");
    apply(&mut fleet, &ev3);
    let region = &fleet.aws["eu-west-1"];
    assert!(
        region.tasks.contains_key(&victim),
        "stopped task kept for the timeline"
    );
    assert!(
        !region.tasks.contains_key(&tasks[1]),
        "the running one is gone"
    );
    assert!(
        fleet
            .changes
            .iter()
            .any(|c| c.what.contains("STOPPED (SpotInterruption)")),
        "{:?}",
        fleet.changes
    );
}

/// A container instance drained through the real ECS API: the change is on
/// the timeline and its tasks are at risk. The poller's own clients refuse
/// to do the same.
#[tokio::test]
async fn container_instance_set_draining_through_the_api() {
    let m = Moto::new("eu-west-2").await;
    let seed = m.seed_spot_cluster("delta", 1).await;
    let tasks = m.service("delta", "api", 1, 1).await;
    let ci = seed.hosts[0].2.clone();

    let mut p = m.poller(&[]).await;
    let (_, ev) = cycle(&mut p).await;
    let mut fleet = Fleet::new();
    apply(&mut fleet, &ev);

    // The guarded production client cannot drain it.
    let guarded = Clients::new(&sdk_config(&m.ep, &m.region).await);
    let err = guarded
        .ecs
        .update_container_instances_state()
        .cluster("delta")
        .container_instances(&ci)
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .expect_err("the read-only guard refuses");
    let msg = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&err)
    );
    assert!(
        msg.contains("refused ecs:UpdateContainerInstancesState"),
        "{msg}"
    );
    let (_, ev) = cycle(&mut p).await;
    assert_eq!(count(&ev, "ci"), 0, "still ACTIVE: nothing changed");

    // An operator drains it with the AWS API.
    m.ecs
        .update_container_instances_state()
        .cluster("delta")
        .container_instances(&ci)
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    let (r, ev) = cycle(&mut p).await;
    assert!(r.urgent);
    assert_eq!(count(&ev, "ci"), 1);
    apply(&mut fleet, &ev);
    assert_eq!(
        fleet.aws["eu-west-2"].container_instances[&ci]
            .1
            .status
            .as_deref(),
        Some("DRAINING")
    );
    assert!(
        fleet
            .changes
            .iter()
            .any(|c| c.what == "container instance ACTIVE→DRAINING"),
        "{:?}",
        fleet.changes
    );
    let u = units(&fleet);
    let t = task_unit(&u, &tasks[0]);
    assert_eq!(t.diagnosis.verdict, Verdict::AtRisk, "{}", text(t));
    assert!(
        t.diagnosis
            .codes()
            .contains(&CauseCode::ContainerInstanceDraining)
    );
}

/// A spot request marked for termination puts its instance, and the tasks on
/// the container instance it backs, at risk; a scheduled instance event is read too.
#[tokio::test]
async fn spot_request_marked_for_termination_puts_host_and_tasks_at_risk() {
    let m = Moto::new("eu-central-1").await;
    let seed = m.seed_spot_cluster("echo", 2).await;
    let tasks = m.service("echo", "api", 2, 2).await;

    let mut p = m.poller(&[]).await;
    let (r0, ev) = cycle(&mut p).await;
    assert!(!r0.urgent, "steady before the notice");
    let mut fleet = Fleet::new();
    apply(&mut fleet, &ev);

    // moto runs both tasks on one container instance: find its host.
    let ci_of_tasks = fleet.aws["eu-central-1"].tasks[&tasks[0]]
        .container_instance_arn
        .clone()
        .unwrap();
    let (sir, host, _) = seed
        .hosts
        .iter()
        .find(|(_, _, ci)| *ci == ci_of_tasks)
        .cloned()
        .unwrap();
    let notice = Timestamp::now() - jiff::SignedDuration::from_secs(10);
    m.patch(json!({"kind": "ec2_spot_request", "id": sir, "set": {
        "status_code": "marked-for-termination",
        "status_message": "Spot Instance terminated due to capacity",
        "status_update_time": notice.to_string()}}));
    let not_before = Timestamp::now() + jiff::SignedDuration::from_secs(3600);
    m.patch(json!({"kind": "ec2_instance", "id": host, "set": {"events": [{
        "InstanceEventId": "instance-event-0abc", "Code": "instance-stop",
        "Description": "The instance is scheduled for stop", "NotBefore": not_before.to_string()}]}}));

    let (r, ev) = cycle(&mut p).await;
    assert!(r.urgent);
    assert_eq!(count(&ev, "spot"), 1, "only the changed request is sent");
    assert_eq!(count(&ev, "status"), 1);
    apply(&mut fleet, &ev);
    let region = &fleet.aws["eu-central-1"];
    assert_eq!(
        region.spot_requests[&sir]
            .status
            .as_ref()
            .and_then(|s| s.update_time)
            .map(|t| t.0.as_second()),
        Some(notice.as_second())
    );
    assert_eq!(
        region.instance_status[&host].events[0].code,
        "instance-stop"
    );

    let u = units(&fleet);
    let h = u
        .iter()
        .find(|x| x.kind == UnitKind::Instance && x.instance_id.as_deref() == Some(host.as_str()))
        .expect("the instance is a unit");
    assert_eq!(h.diagnosis.verdict, Verdict::AtRisk, "{}", text(h));
    assert!(h.diagnosis.codes().contains(&CauseCode::SpotInterruption));
    assert!(text(h).contains(&sir), "{}", text(h));
    for t in &tasks {
        let tu = task_unit(&u, t);
        assert_eq!(tu.diagnosis.verdict, Verdict::AtRisk, "{}", text(tu));
        assert!(tu.diagnosis.codes().contains(&CauseCode::SpotInterruption));
        let srcs: Vec<&str> = tu
            .diagnosis
            .causes
            .iter()
            .flat_map(|c| c.evidence.iter().map(|e| e.source.as_str()))
            .collect();
        assert!(srcs.contains(&"container-instance"), "{srcs:?}");
        assert!(srcs.contains(&"spot-request"), "{srcs:?}");
    }
}

/// More than 100 tasks and more than 10 services: lists are paged (moto_plus
/// pages like AWS) and describes are batched within AWS's limits (moto_plus
/// rejects larger batches, as AWS does).
#[tokio::test]
async fn over_100_tasks_and_10_services_are_paged_and_batched() {
    let m = Moto::new("ap-northeast-1").await;
    m.seed_spot_cluster("foxtrot", 3).await;
    let mut all = Vec::new();
    for i in 0..12 {
        let running = if i < 6 { 25 } else { 0 };
        all.extend(
            m.service("foxtrot", &format!("svc-{i:02}"), running.max(1), running)
                .await,
        );
    }
    assert_eq!(all.len(), 150);

    let mut p = m.poller(&[]).await;
    let (r, ev) = cycle(&mut p).await;
    assert!(r.ecs.problems.is_empty(), "{:?}", r.ecs.problems);
    assert_eq!(count(&ev, "service"), 12);
    assert_eq!(count(&ev, "task"), 150);
    let got = ops(&r);
    assert_eq!(got["ListServices"], 1);
    assert_eq!(got["DescribeServices"], 2, "ceil(12/10)");
    assert_eq!(
        got["ListTasks"],
        2 + 1,
        "RUNNING: 2 pages of 100, STOPPED: 1"
    );
    assert_eq!(got["DescribeTasks"], 2, "ceil(150/100)");
    assert_eq!(got["DescribeContainerInstances"], 1);

    // Stop 60: they are described once more (now STOPPED), then never again.
    for arn in &all[..60] {
        m.ecs
            .stop_task()
            .cluster("foxtrot")
            .task(arn)
            .reason("Scaling activity initiated by deployment")
            .send()
            .await
            .unwrap();
    }
    let listed = m
        .ecs
        .list_tasks()
        .cluster("foxtrot")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.task_arns().len(), 60);
    let (r2, ev2) = cycle(&mut p).await;
    assert_eq!(count(&ev2, "task"), 60);
    assert_eq!(
        ops(&r2)["DescribeTasks"],
        2,
        "90 running + 60 newly stopped"
    );
    let (r3, ev3) = cycle(&mut p).await;
    assert!(ev3.is_empty());
    let want = plan::requests_per_cycle(&FleetSize {
        clusters: 1,
        services: 12,
        running_tasks: 90,
        stopped_tasks: 60,
        new_stopped_tasks: 0,
        container_instances: 3,
        spot_requests: 3,
        instances: 3,
        running_instances: 3,
        ..FleetSize::default()
    });
    assert_eq!(ops(&r3), want, "the plan is what the poller sends");
}

/// AccessDenied on one ECS call and HTTP 500 on one EC2 call: those sources
/// show it (Forbidden / Degraded), everything else still arrives, and both
/// recover once the calls work again.
#[tokio::test]
async fn access_denied_and_http_500_on_one_call_degrade_only_that() {
    let m = Moto::new("ap-southeast-1").await;
    m.seed_spot_cluster("golf", 2).await;
    m.ecs
        .create_capacity_provider()
        .name("spot-m5")
        .auto_scaling_group_provider(
            aws_sdk_ecs::types::AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(
                    "arn:aws:autoscaling:ap-southeast-1:123456789012:autoScalingGroup:uuid:autoScalingGroupName/spot-m5",
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    m.ecs
        .put_cluster_capacity_providers()
        .cluster("golf")
        .capacity_providers("spot-m5")
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .unwrap();
    m.service("golf", "api", 2, 2).await;
    m.fault(json!({"action": "DescribeCapacityProviders", "status": 400,
        "code": "AccessDeniedException",
        "message": "User: arn:aws:sts::123456789012:assumed-role/oncall/me is not authorized to perform: ecs:DescribeCapacityProviders"}));
    m.fault(json!({"action": "DescribeInstanceStatus", "status": 500}));

    let mut p = m.poller(&[]).await;
    let (_, ev) = cycle(&mut p).await;
    let ecs = health_of(&ev, &SourceId::ecs("ap-southeast-1")).unwrap();
    match &ecs {
        Health::Forbidden { what } => {
            assert!(
                what.contains("ecs:DescribeCapacityProviders (AccessDeniedException)"),
                "{what}"
            )
        }
        h => panic!("ecs should be Forbidden, is {h:?}"),
    }
    assert!(!ecs.is_ok());
    let ec2 = health_of(&ev, &SourceId::ec2("ap-southeast-1")).unwrap();
    match &ec2 {
        Health::Degraded { reason, .. } => {
            assert!(
                reason.contains("ec2:DescribeInstanceStatus: HTTP 500"),
                "{reason}"
            )
        }
        h => panic!("ec2 should be Degraded, is {h:?}"),
    }
    // The rest works.
    assert_eq!(count(&ev, "task"), 2);
    assert_eq!(count(&ev, "service"), 1);
    assert_eq!(count(&ev, "ci"), 2);
    assert_eq!(count(&ev, "instance"), 2);
    assert_eq!(count(&ev, "cp"), 0);

    m.clear_faults();
    let (_, ev) = cycle(&mut p).await;
    assert_eq!(
        health_of(&ev, &SourceId::ecs("ap-southeast-1")),
        Some(Health::Live)
    );
    assert_eq!(
        health_of(&ev, &SourceId::ec2("ap-southeast-1")),
        Some(Health::Live)
    );
    assert_eq!(count(&ev, "cp"), 1, "discovery is retried after a failure");
}

/// Two clusters polled together; one is emptied and deleted (INACTIVE, as
/// AWS keeps it for a while): its service and container instance leave the
/// model at once, its stopped task stays, and the next rediscovery stops
/// polling the cluster while the other one goes on.
#[tokio::test]
async fn a_deleted_cluster_is_dropped_and_the_other_goes_on() {
    let m = Moto::new("eu-west-3").await;
    m.seed_spot_cluster("kilo", 1).await;
    let lima = m.seed_spot_cluster("lima", 1).await;
    let kept = m.service("kilo", "api", 1, 1).await;
    let doomed = m.service("lima", "web", 1, 1).await;

    let mut p = m.poller(&[]).await;
    let (r, ev) = cycle(&mut p).await;
    assert_eq!(r.requests["ListServices"], 2, "one per cluster");
    assert_eq!(count(&ev, "service"), 2);
    assert_eq!(count(&ev, "task"), 2);
    assert_eq!(count(&ev, "ci"), 2);
    let mut fleet = Fleet::new();
    apply(&mut fleet, &ev);

    m.ecs
        .stop_task()
        .cluster("lima")
        .task(&doomed[0])
        .send()
        .await
        .unwrap();
    m.ecs
        .delete_service()
        .cluster("lima")
        .service("web")
        .force(true)
        .send()
        .await
        .unwrap();
    m.ecs
        .deregister_container_instance()
        .cluster("lima")
        .container_instance(&lima.hosts[0].2)
        .force(true)
        .send()
        .await
        .unwrap();
    m.ecs.delete_cluster().cluster("lima").send().await.unwrap();

    let (r, ev) = cycle(&mut p).await;
    assert!(r.ecs.problems.is_empty(), "{:?}", r.ecs.problems);
    assert_eq!(
        count(&ev, "gone"),
        2,
        "service and container instance: {ev:?}"
    );
    assert_eq!(count(&ev, "task"), 1, "the task, now STOPPED");
    apply(&mut fleet, &ev);
    assert_eq!(fleet.aws["eu-west-3"].services.len(), 1);
    assert_eq!(fleet.aws["eu-west-3"].container_instances.len(), 1);

    // Rediscovery (every plan::DISCOVERY_EVERY cycles) drops the INACTIVE cluster.
    let mut n = 2;
    let r = loop {
        let (r, ev) = cycle(&mut p).await;
        n += 1;
        apply(&mut fleet, &ev);
        if r.discovery {
            break r;
        }
        assert!(
            n <= plan::DISCOVERY_EVERY + 1,
            "no rediscovery after {n} cycles"
        );
    };
    assert_eq!(r.requests["ListServices"], 1, "only kilo is polled now");
    let region = &fleet.aws["eu-west-3"];
    assert!(region.tasks.contains_key(&kept[0]));
    assert_eq!(
        region.tasks[&doomed[0]].last_status.as_deref(),
        Some("STOPPED"),
        "the stopped task stays on the timeline after its cluster is gone"
    );
    assert_eq!(fleet.health[&SourceId::ecs("eu-west-3")], Health::Live);
}

/// Receives events until `pred` holds for one, or panics after `within`.
async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<Observed>,
    within: Duration,
    what: &str,
    mut pred: impl FnMut(&SourceEvent) -> bool,
) -> Vec<SourceEvent> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(o)) => {
                let hit = pred(&o.event);
                seen.push(o.event);
                if hit {
                    return seen;
                }
            }
            Ok(None) => panic!("channel closed waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}; saw {seen:#?}"),
        }
    }
}

fn is_health(e: &SourceEvent, source: &SourceId, f: impl Fn(&Health) -> bool) -> bool {
    matches!(e, SourceEvent::Health { source: s, health } if s == source && f(health))
}

/// Throttling: the poller backs off and says so with the age of its data,
/// then recovers on its own.
#[tokio::test]
async fn throttling_backs_off_and_shows_the_data_age() {
    let m = Moto::new("ap-southeast-2").await;
    m.seed_spot_cluster("hotel", 1).await;
    m.service("hotel", "api", 1, 1).await;
    let p = m.poller(&[]).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_hint_tx, hint_rx) = tokio::sync::watch::channel(PollHint {
        urgent: true,
        focused_regions: vec![],
    });
    let handle = tokio::spawn(p.run(tx, hint_rx));
    let ecs = SourceId::ecs("ap-southeast-2");
    wait_for(&mut rx, Duration::from_secs(10), "ecs live", |e| {
        is_health(e, &ecs, |h| *h == Health::Live)
    })
    .await;
    m.fault(
        json!({"action": "ListServices", "status": 400, "code": "ThrottlingException",
        "message": "Rate exceeded", "times": 3}),
    );
    let seen = wait_for(&mut rx, Duration::from_secs(15), "throttled", |e| {
        is_health(
            e,
            &ecs,
            |h| matches!(h, Health::Degraded { reason, .. } if reason.contains("throttled")),
        )
    })
    .await;
    let reason = match seen.last() {
        Some(SourceEvent::Health {
            health: Health::Degraded { reason, .. },
            ..
        }) => reason.clone(),
        e => panic!("{e:?}"),
    };
    assert!(
        reason.starts_with("throttled (ecs:ListServices), data "),
        "{reason}"
    );
    assert!(reason.ends_with(" s old"), "{reason}");
    // Three throttled tries with backoff (1–2 s, 2–4 s, 4–8 s), then live again.
    let seen = wait_for(&mut rx, Duration::from_secs(30), "recovery", |e| {
        is_health(e, &ecs, |h| *h == Health::Live)
    })
    .await;
    let throttled_updates = seen
        .iter()
        .filter(|e| is_health(e, &ecs, |h| matches!(h, Health::Degraded { .. })))
        .count();
    assert!(throttled_updates >= 1, "{seen:#?}");
    handle.abort();
}

fn moto_env(state: &std::path::Path, port: u16, cmd: &str) -> String {
    let script = format!("{}/scripts/moto-env", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(cmd)
        .env("SPOTCHECK_MOTO_STATE", state)
        .env("SPOTCHECK_MOTO_PORT", port.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "moto-env {cmd}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Stops the private moto of a test even when the test fails.
struct PrivateMoto {
    state: tempfile::TempDir,
    port: u16,
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| moto_env(self.state.path(), self.port, "stop"));
    }
}

/// moto stopped mid-session: health shows the outage (never silently
/// stale), the poller keeps retrying, and it is live again when moto returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_stopped_mid_session_then_back() {
    let _ = endpoint(); // the shared test env must be there too
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let private = PrivateMoto {
        state: tempfile::tempdir().unwrap(),
        port,
    };
    let ep = moto_env(private.state.path(), port, "start");
    let m = Moto::at(&ep, "us-east-2").await;
    m.seed_spot_cluster("india", 1).await;
    m.service("india", "api", 1, 1).await;

    let p = m.poller(&[]).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_hint_tx, hint_rx) = tokio::sync::watch::channel(PollHint {
        urgent: true,
        focused_regions: vec!["us-east-2".into()],
    });
    let handle = tokio::spawn(p.run(tx, hint_rx));
    let ecs = SourceId::ecs("us-east-2");
    let ec2 = SourceId::ec2("us-east-2");
    wait_for(&mut rx, Duration::from_secs(10), "ec2 live", |e| {
        is_health(e, &ec2, |h| *h == Health::Live)
    })
    .await;

    moto_env(private.state.path(), port, "stop");
    let seen = wait_for(&mut rx, Duration::from_secs(20), "reconnecting", |e| {
        is_health(e, &ecs, |h| matches!(h, Health::Reconnecting { .. }))
    })
    .await;
    match seen.last() {
        Some(SourceEvent::Health {
            health: Health::Reconnecting { reason },
            ..
        }) => {
            eprintln!("while moto is down: {reason}");
            assert!(reason.contains("data "), "{reason}");
            assert!(reason.contains("Connection refused"), "{reason}");
        }
        e => panic!("{e:?}"),
    }

    // Back (empty: moto keeps its state in memory): live again, and the
    // objects it no longer has are gone from the model.
    moto_env(private.state.path(), port, "start");
    let seen = wait_for(&mut rx, Duration::from_secs(40), "live again", |e| {
        is_health(e, &ec2, |h| *h == Health::Live)
    })
    .await;
    assert!(
        seen.iter()
            .any(|e| is_health(e, &ecs, |h| *h == Health::Live)),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e, SourceEvent::AwsGone { .. }))
    );
    handle.abort();
}

// ───────────── the standard chain, in a child process with its own environment ─────────────

/// Runs `test` again in a child process of this test binary, with `env` (and
/// no AWS variables from the parent), and asserts it passed. Returns true
/// when called inside that child: the caller then does the real work.
fn in_child(test: &str, env: &[(&str, String)]) -> bool {
    if std::env::var("SPOTCHECK_LIVE_AWS_CHILD").as_deref() == Ok(test) {
        return true;
    }
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"]);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("SPOTCHECK_LIVE_AWS_CHILD", test);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child {test} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    false
}

/// `collect` (what `spotcheck why --aws` reads) through the standard chain:
/// credentials from the environment, `AWS_ENDPOINT_URL` honoured. The fleet
/// it returns holds the moto objects and diagnoses like a dump would.
#[test]
fn collect_reads_moto_through_the_standard_aws_chain() {
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("AWS_ENDPOINT_URL", endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("HOME", home.path().display().to_string()),
    ];
    if !in_child("collect_reads_moto_through_the_standard_aws_chain", &env) {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (victim, sir) = rt.block_on(async {
        let m = Moto::new("ca-central-1").await;
        let seed = m.seed_spot_cluster("juliet", 1).await;
        let tasks = m.service("juliet", "api", 2, 2).await;
        m.patch(json!({"kind": "ecs_task", "cluster": "juliet", "id": tasks[0],
            "set": {"stop_code": "SpotInterruption", "last_status": "STOPPED",
                    "desired_status": "STOPPED", "stopped_reason": "Your Spot Task was interrupted.",
                    "stopped_at": Timestamp::now().to_string()}}));
        (tasks[0].clone(), seed.hosts[0].0.clone())
    });
    drop(rt);

    let args = spotcheck::cli::LiveArgs {
        aws: true,
        no_kube: true,
        regions: vec!["ca-central-1".into()],
        ..Default::default()
    };
    let fleet = spotcheck::app::launch::collect(&args, Duration::from_secs(30)).unwrap();
    assert_eq!(fleet.health[&SourceId::ecs("ca-central-1")], Health::Live);
    assert_eq!(fleet.health[&SourceId::ec2("ca-central-1")], Health::Live);
    let region = &fleet.aws["ca-central-1"];
    assert_eq!(region.tasks.len(), 2);
    assert_eq!(region.services.len(), 1);
    assert!(region.spot_requests.contains_key(&sir));
    let u = diagnose_fleet(&fleet, Timestamp::now());
    let t = task_unit(&u, &victim);
    assert_eq!(t.diagnosis.verdict, Verdict::Stopped, "{}", text(t));
    assert!(t.diagnosis.codes().contains(&CauseCode::SpotInterruption));
}

/// No usable credentials (an SSO profile never logged in): not fatal, the
/// health says which profile and what to run. An unknown profile is a setup
/// error naming it.
#[test]
fn missing_credentials_are_shown_with_the_fix() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("aws-config");
    std::fs::write(
        &config,
        "[profile oncall]\nsso_start_url = https://example.awsapps.com/start\n\
         sso_region = us-east-1\nsso_account_id = 123456789012\n\
         sso_role_name = ReadOnly\nregion = us-east-1\n",
    )
    .unwrap();
    let env = [
        ("AWS_ENDPOINT_URL", endpoint()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("none").display().to_string(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("HOME", home.path().display().to_string()),
    ];
    if !in_child("missing_credentials_are_shown_with_the_fix", &env) {
        return;
    }
    let args = spotcheck::cli::LiveArgs {
        aws: true,
        no_kube: true,
        profile: Some("oncall".into()),
        ..Default::default()
    };
    let fleet = spotcheck::app::launch::collect(&args, Duration::from_secs(30)).unwrap();
    for source in [SourceId::ecs("us-east-1"), SourceId::ec2("us-east-1")] {
        match &fleet.health[&source] {
            Health::Degraded { reason, .. } => {
                eprintln!("{source}: {reason}");
                assert!(reason.contains("no usable AWS credentials"), "{reason}");
                assert!(
                    reason.contains("aws sso login --profile oncall"),
                    "{reason}"
                );
            }
            h => panic!("{source}: {h:?}"),
        }
    }
    let typo = spotcheck::cli::LiveArgs {
        profile: Some("on-call".into()),
        ..args
    };
    let err = spotcheck::app::launch::collect(&typo, Duration::from_secs(30)).unwrap_err();
    assert!(
        err.contains("AWS profile \"on-call\" is not defined"),
        "{err}"
    );
    assert!(err.contains("known: oncall"), "{err}");
}

/// A bastion behind a corporate proxy reaches AWS through `HTTP_PROXY` /
/// `HTTPS_PROXY` (the SDK's default client ignores them), and `NO_PROXY`
/// bypasses it. The real binary against moto, through a real proxy
/// (tests/support/proxy.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_requests_go_through_the_environment_proxy() {
    let m = Moto::new("sa-east-1").await;
    m.seed_spot_cluster("proxied", 1).await;
    let (proxy, carried) = proxy::start().await;
    let home = tempfile::tempdir().unwrap();
    let why = |no_proxy: &str| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_spotcheck"));
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.to_ascii_lowercase().ends_with("_proxy") {
                cmd.env_remove(k);
            }
        }
        cmd.arg("--log-file")
            .arg(home.path().join("log"))
            .args([
                "why",
                "--aws",
                "--no-kube",
                "--region",
                "sa-east-1",
                "-o",
                "json",
            ])
            .env("HOME", home.path())
            .env("AWS_ENDPOINT_URL", endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HTTP_PROXY", &proxy)
            .env("HTTPS_PROXY", &proxy)
            .env("NO_PROXY", no_proxy);
        cmd.output()
    };
    let out = why("").await.unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let through = carried.load(std::sync::atomic::Ordering::SeqCst);
    assert!(through > 0, "no request went through the proxy");

    let out = why("127.0.0.1").await.unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        carried.load(std::sync::atomic::Ordering::SeqCst),
        through,
        "NO_PROXY=127.0.0.1 must bypass the proxy"
    );
}
