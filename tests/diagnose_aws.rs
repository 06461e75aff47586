//! ECS and EC2-spot diagnosis on AWS CLI fixtures (tests/fixtures/aws/), one
//! case per row of the ECS and EC2 sections of the signal catalogue.

use jiff::Timestamp;
use spotcheck::diagnose::{CauseCode, Unit, UnitKind, Verdict, diagnose_fleet};
use spotcheck::model::Fleet;

const NOW: &str = "2026-11-30T03:05:00Z";

fn now() -> Timestamp {
    NOW.parse().expect("NOW is a timestamp")
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("a timestamp")
}

fn load(name: &str) -> Vec<Unit> {
    load_at(name, now())
}

/// The fixture diagnosed at another instant.
fn load_at(name: &str, now: Timestamp) -> Vec<Unit> {
    let path = format!("{}/tests/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture readable");
    let loaded = spotcheck::dump::aws::read(&path, &text).expect("fixture reads");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let mut fleet = Fleet::new();
    for ev in loaded.events {
        fleet.apply(ev, now);
    }
    diagnose_fleet(&fleet, now)
}

/// The task unit whose ARN ends in `id`.
fn task<'a>(units: &'a [Unit], id: &str) -> &'a Unit {
    units
        .iter()
        .find(|u| u.kind == UnitKind::EcsTask && u.id.ends_with(&format!("/{id}")))
        .unwrap_or_else(|| panic!("no task unit {id}"))
}

fn service<'a>(units: &'a [Unit], name: &str) -> &'a Unit {
    units
        .iter()
        .find(|u| u.kind == UnitKind::EcsService && u.name == name)
        .unwrap_or_else(|| panic!("no service unit {name}"))
}

fn instance<'a>(units: &'a [Unit], id: &str) -> Option<&'a Unit> {
    units
        .iter()
        .find(|u| u.kind == UnitKind::Instance && u.instance_id.as_deref() == Some(id))
}

/// All evidence and details of a unit as one text, for "names the culprit" checks.
fn text(u: &Unit) -> String {
    let mut s = format!("{} | {}", u.diagnosis.headline, u.state);
    for c in &u.diagnosis.causes {
        s.push_str(&format!(" | {}", c.detail));
        for e in &c.evidence {
            s.push_str(&format!(
                " | {} {} {} {}",
                e.source, e.object, e.reason, e.message
            ));
        }
    }
    s
}

fn assert_unit(u: &Unit, verdict: Verdict, codes: &[CauseCode], names: &[&str]) {
    assert_eq!(u.diagnosis.verdict, verdict, "{}: {}", u.name, text(u));
    for c in codes {
        assert!(
            u.diagnosis.codes().contains(c),
            "{}: missing {c:?} in {:?}",
            u.name,
            u.diagnosis.codes()
        );
    }
    let t = text(u);
    for n in names {
        assert!(t.contains(n), "{}: {n:?} not named in {t}", u.name);
    }
    assert!(
        u.diagnosis.headline.chars().count() <= 70,
        "headline too long: {}",
        u.diagnosis.headline
    );
}

// ───────────────────────── ECS tasks ─────────────────────────

#[test]
fn task_lifecycle_states() {
    let u = load("ecs-tasks.json");
    let running = task(&u, "3c49d9cc3c0c83421a1cfb921cdd4aa3");
    assert_unit(running, Verdict::Running, &[], &["i-0a1b2c3d4e5f60001"]);
    assert_eq!(running.host.as_deref(), Some("i-0a1b2c3d4e5f60001"));
    assert_eq!(running.name, "web/3c49d9cc3c0c83421a1cfb921cdd4aa3");
    assert_eq!(running.scope, "prod");
    let prov = task(&u, "db05c4eb53bb31696065b8c4b50ba9f6");
    assert_unit(prov, Verdict::Pending, &[], &["PROVISIONING"]);
    assert_eq!(prov.state, "PROVISIONING (desired RUNNING)");
    assert!(prov.diagnosis.causes.is_empty());
}

#[test]
fn task_failed_to_start_rows() {
    let u = load("ecs-tasks.json");
    let pull = task(&u, "c872d5564551dae02f3833dc6ec1f0b4");
    assert_unit(
        pull,
        Verdict::Stuck,
        &[CauseCode::TaskFailedToStart, CauseCode::ImagePull],
        &["batch/report:v9", "CannotPullContainerError"],
    );
    let init = task(&u, "78fd903f7d5e7326278c6faa5407dd1a");
    assert_unit(
        init,
        Verdict::Stuck,
        &[CauseCode::TaskFailedToStart, CauseCode::ResourceInitError],
        &["secretsmanager:GetSecretValue"],
    );
    assert_eq!(init.host.as_deref(), Some("fargate"));
    for (id, prefix) in [
        (
            "9bbe7d5b73ecefbb989d098672dbd791",
            "CannotStartContainerError",
        ),
        (
            "1977c137f1d75003fa94137b3189075e",
            "ContainerRuntimeTimeoutError",
        ),
        (
            "d387fc8d57b2e3dccc525701c8a6c2c1",
            "CannotCreateVolumeError",
        ),
    ] {
        let t = task(&u, id);
        assert_unit(
            t,
            Verdict::Stuck,
            &[CauseCode::TaskFailedToStart],
            &[prefix],
        );
        assert!(t.diagnosis.actions.iter().any(|a| {
            a.command.contains("aws ecs describe-tasks --cluster prod")
                && a.command.contains("--region us-east-1")
                && !a.mutating
        }));
    }
}

#[test]
fn crash_loop_shouts_once() {
    let u = load("ecs-tasks.json");
    // Three OOM kills in the worker service: only the newest is Crashing.
    let newest = task(&u, "a17f11b2f50d4c294166eb251c655299");
    assert_unit(
        newest,
        Verdict::Crashing,
        &[CauseCode::EssentialContainerExited, CauseCode::OomKilled],
        &["worker", "137"],
    );
    assert!(newest.diagnosis.headline.contains("x3"));
    for older in [
        "94a0b4d2854896bd8ba0d2c0225dd576",
        "3652dc451c881e6cb1e6d30af5e26e49",
    ] {
        let t = task(&u, older);
        assert_unit(t, Verdict::Stopped, &[CauseCode::OomKilled], &[]);
    }
    // The sidecar that exited 0 is not blamed.
    assert!(!text(newest).contains("log-router exited"));
    let svc = service(&u, "worker");
    assert_unit(
        svc,
        Verdict::Crashing,
        &[CauseCode::EssentialContainerExited, CauseCode::OomKilled],
        &["worker", "512 MiB"],
    );
    assert_eq!(svc.state, "0/2 running");
    assert!(svc.diagnosis.headline.starts_with("2 of 2 tasks missing"));
}

#[test]
fn container_exits_and_oom_text() {
    let u = load("ecs-tasks.json");
    let oom = task(&u, "b459fe2e7053e99c5d41a037b9008801");
    assert_unit(
        oom,
        Verdict::Stopped,
        &[CauseCode::OomKilled],
        &["OutOfMemoryError", "resizer"],
    );
    let exit1 = task(&u, "c1032c7046ef1d28e5d6d3ee402c21b0");
    assert_unit(
        exit1,
        Verdict::Stopped,
        &[CauseCode::EssentialContainerExited],
        &["migrate", "code 1"],
    );
    assert!(!exit1.diagnosis.codes().contains(&CauseCode::OomKilled));
}

#[test]
fn benign_and_odd_stops() {
    let u = load("ecs-tasks.json");
    let user = task(&u, "12dea96fec20593566ab75692c994959");
    assert_unit(user, Verdict::Stopped, &[], &["stopped by user"]);
    assert!(user.diagnosis.causes.is_empty());
    let scaling = task(&u, "c7711334ec435cb5a3f9ec61e1111333");
    assert_unit(scaling, Verdict::Stopped, &[], &["Scaling activity"]);
    assert!(scaling.diagnosis.causes.is_empty());
    let chc = task(&u, "6c4fe0141dc5da99eca70f9c460f78b6");
    assert_unit(
        chc,
        Verdict::Stopped,
        &[CauseCode::HealthCheckFailed],
        &["container health checks"],
    );
    let infra = task(&u, "5e03a58dc0850e5137a8ebbce2961067");
    assert_unit(
        infra,
        Verdict::Stopped,
        &[CauseCode::NodeLost],
        &["InfrastructureHealth"],
    );
    let host = task(&u, "ed9914ac843aa0c4728fa1fd7a4711dd");
    assert_unit(
        host,
        Verdict::Stopped,
        &[CauseCode::NodeLost],
        &["i-0d1e2a3d4b5c6d7e8"],
    );
    // An unknown stop code stays visible, verbatim.
    let future = task(&u, "d848c9713eb1c248d99ae01d257fe9b2");
    assert_unit(
        future,
        Verdict::Stopped,
        &[CauseCode::Unknown],
        &["QuantumFluctuation", "introduced in 2027"],
    );
    // No missing tasks, no service unit.
    assert!(
        !u.iter()
            .any(|x| x.kind == UnitKind::EcsService && x.name == "web")
    );
}

#[test]
fn running_tasks_on_troubled_container_instances() {
    let u = load("ecs-tasks.json");
    let drain = task(&u, "408d4dc8be50e4e782005f3d656bc1dd");
    assert_unit(
        drain,
        Verdict::AtRisk,
        &[CauseCode::ContainerInstanceDraining],
        &[
            "3c8f89115de732d1e0ccdac920f0c8a1",
            "i-0a1b2c3d4e5f60002",
            "Manually drained",
        ],
    );
    let agent = task(&u, "c35b121450d4c4876c93316c17438e6a");
    assert_unit(
        agent,
        Verdict::AtRisk,
        &[CauseCode::NodeNotReady],
        &["agent disconnected", "b1c685d7aba0c6392ccde46c3f617117"],
    );
    let unhealthy = task(&u, "72c567a45c561730ceb5c3f06a3f2d31");
    assert_unit(
        unhealthy,
        Verdict::AtRisk,
        &[CauseCode::HealthCheckFailed],
        &["UNHEALTHY"],
    );
}

// ───────────────────────── ECS services ─────────────────────────

#[test]
fn placement_insufficient_resources() {
    let u = load("ecs-placement.json");
    let web = service(&u, "web");
    assert_unit(
        web,
        Verdict::Pending,
        &[CauseCode::InsufficientResource],
        &[
            "8e99827ff15f4ccbf518eb17cabf5422",
            "memory",
            "512 MiB left, a task needs 2048 MiB",
        ],
    );
    assert_eq!(
        web.diagnosis.headline,
        "2 of 5 tasks missing: container-instance 8e99827f… short of memory"
    );
    assert_eq!(web.state, "3/5 running");
    assert_eq!(web.scope, "shop");
    assert!(web.id.starts_with("service/us-east-1/arn:aws:ecs:"));
    // The event repeated: counted, not listed twice.
    let c = &web.diagnosis.causes[0];
    assert_eq!(c.evidence[0].count, 2);
    assert!(web.diagnosis.actions.iter().any(|a| a.command
        == "aws ecs describe-container-instances --cluster shop --container-instances 8e99827ff15f4ccbf518eb17cabf5422 --region us-east-1"));
    assert!(web.diagnosis.actions.iter().any(|a| {
        a.command
            .contains("--auto-scaling-group-names ecs-shop-spot")
    }));

    let api = service(&u, "api");
    assert_unit(
        api,
        Verdict::Pending,
        &[CauseCode::InsufficientResource],
        &["49fc4834ec3184271615602c3bc5873f", "CPU units"],
    );
    assert!(api.diagnosis.headline.ends_with("short of CPU"));
}

#[test]
fn placement_port_agent_and_capacity() {
    let u = load("ecs-placement.json");
    assert_unit(
        service(&u, "edge"),
        Verdict::Pending,
        &[CauseCode::HostPortConflict],
        &["c35350c17841b450b45668013879774a", "port"],
    );
    assert_unit(
        service(&u, "jobs"),
        Verdict::Pending,
        &[CauseCode::NodeNotReady],
        &["102a65ee11eaae07919483e0611280f8", "AGENT"],
    );
    let batch = service(&u, "batch");
    assert_unit(
        batch,
        Verdict::Pending,
        &[CauseCode::NoContainerInstances],
        &["cp-batch-spot"],
    );
    assert!(batch.diagnosis.headline.starts_with("3 of 3 tasks missing"));
    let search = service(&u, "search");
    assert_unit(
        search,
        Verdict::Pending,
        &[CauseCode::CapacityUnavailable],
        &["Fargate Spot"],
    );
    // A way out: on-demand Fargate, marked as a change.
    let a = search
        .diagnosis
        .actions
        .iter()
        .find(|a| a.command.starts_with("aws ecs update-service"))
        .unwrap();
    assert!(a.mutating);
    assert!(a.command.contains("--cluster shop --service search"));
    assert!(a.command.contains("capacityProvider=FARGATE,"));
    // Fargate-only services are not blamed on EC2 container instances.
    assert!(!search.diagnosis.codes().contains(&CauseCode::NodeNotReady));
}

#[test]
fn placement_limits() {
    let u = load("ecs-placement.json");
    assert_unit(
        service(&u, "fanout"),
        Verdict::Stuck,
        &[CauseCode::TaskLimit],
        &["limit on the number of tasks"],
    );
    assert_unit(
        service(&u, "bigcpu"),
        Verdict::Stuck,
        &[CauseCode::TaskLimit],
        &["CPU configuration is above your limit"],
    );
}

#[test]
fn start_failures_and_deployments() {
    let u = load("ecs-placement.json");
    let cart = service(&u, "cart");
    assert_unit(
        cart,
        Verdict::Stuck,
        &[CauseCode::TaskFailedToStart, CauseCode::ImagePull],
        &["cart:2026.11.30", "2 tasks stopped like this"],
    );
    // The newer of the two pull failures is the loud one.
    assert_eq!(
        task(&u, "b026448b4f71b43182579ac88d98fdcb")
            .diagnosis
            .verdict,
        Verdict::Stuck
    );
    assert_eq!(
        task(&u, "c5ad4c31fff62b40fa884e47e74acc87")
            .diagnosis
            .verdict,
        Verdict::Stopped
    );
    let notify = service(&u, "notify");
    assert_unit(
        notify,
        Verdict::Stuck,
        &[
            CauseCode::DeploymentFailed,
            CauseCode::TaskFailedToStart,
            CauseCode::ResourceInitError,
        ],
        &["ecs-svc/6152831044361837262"],
    );
    // Symptom first, root cause last.
    assert_eq!(notify.diagnosis.causes[0].code, CauseCode::DeploymentFailed);
    assert_eq!(
        notify.diagnosis.causes.last().unwrap().code,
        CauseCode::ResourceInitError
    );
    assert!(
        notify
            .diagnosis
            .headline
            .starts_with("2 of 2 tasks missing: deployment failed")
    );
    assert_unit(
        service(&u, "gateway"),
        Verdict::Stuck,
        &[CauseCode::DeploymentFailed],
        &["minimumHealthyPercent"],
    );
}

#[test]
fn health_checks_and_throttling() {
    let u = load("ecs-placement.json");
    let checkout = service(&u, "checkout");
    assert_unit(
        checkout,
        Verdict::Crashing,
        &[CauseCode::HealthCheckFailed],
        &["checkout-tg", "[502]"],
    );
    assert_unit(
        task(&u, "6d5426b95aad742fc964542a010c386e"),
        Verdict::Crashing,
        &[CauseCode::HealthCheckFailed],
        &["ELB health checks"],
    );
    assert_unit(
        service(&u, "ledger"),
        Verdict::Pending,
        &[CauseCode::Throttled],
        &["throttling"],
    );
    // A service at its desired count is not a unit.
    assert!(
        !u.iter()
            .any(|x| x.kind == UnitKind::EcsService && x.name == "catalog")
    );
}

// ───────────────────────── EC2 spot ─────────────────────────

#[test]
fn marked_for_termination_puts_host_and_tasks_at_risk() {
    let u = load("ec2-spot.json");
    let host = instance(&u, "i-0f5e4d3c2b1a00001").unwrap();
    assert_unit(
        host,
        Verdict::AtRisk,
        &[CauseCode::SpotInterruption],
        &["sir-7da2d5ba", "marked-for-termination", "feed/9cdcee58"],
    );
    assert_eq!(host.state, "marked-for-termination");
    assert_eq!(host.diagnosis.deadline, Some(ts("2026-11-30T03:06:10Z")));
    assert_eq!(
        host.diagnosis.headline,
        "spot reclaim in 1m10s; 2 tasks on it"
    );
    // Draining the container instance is offered, and flagged as a change.
    assert!(host.diagnosis.actions.iter().any(|a| {
        a.mutating
            && a.command
                .starts_with("aws ecs update-container-instances-state --cluster spot")
            && a.command.contains("--status DRAINING --region us-east-1")
    }));
    for id in [
        "9cdcee5855fa6f77abfa51055d4c8a11",
        "90b640a6d4cd5b86697bd2c6270815fb",
    ] {
        let t = task(&u, id);
        assert_unit(
            t,
            Verdict::AtRisk,
            &[CauseCode::SpotInterruption],
            &["85e6b19edffe3a3ad3b45e743642a8cb", "sir-7da2d5ba"],
        );
        assert_eq!(t.diagnosis.deadline, Some(ts("2026-11-30T03:06:10Z")));
        assert_eq!(t.instance_id.as_deref(), Some("i-0f5e4d3c2b1a00001"));
        // Chain: container instance, then the spot request.
        let srcs: Vec<&str> = t
            .diagnosis
            .causes
            .iter()
            .flat_map(|c| c.evidence.iter().map(|e| e.source.as_str()))
            .collect();
        let ci = srcs
            .iter()
            .position(|s| *s == "container-instance")
            .unwrap();
        let sr = srcs.iter().position(|s| *s == "spot-request").unwrap();
        assert!(ci < sr, "{srcs:?}");
    }
}

#[test]
fn marked_for_stop_with_draining_container_instance() {
    let u = load("ec2-spot.json");
    let host = instance(&u, "i-0f5e4d3c2b1a00002").unwrap();
    assert_unit(
        host,
        Verdict::AtRisk,
        &[CauseCode::SpotInterruption],
        &["sir-f750af35", "marked-for-stop"],
    );
    let t = task(&u, "4b91bb0cf63e7b76cc619a824af31fb5");
    assert_unit(
        t,
        Verdict::AtRisk,
        &[
            CauseCode::ContainerInstanceDraining,
            CauseCode::SpotInterruption,
        ],
        &["e9c5d4318b49ec8325ca0af007ff0e0d", "sir-f750af35"],
    );
    assert_eq!(
        t.diagnosis.causes[0].code,
        CauseCode::ContainerInstanceDraining
    );
    assert_eq!(t.diagnosis.deadline, Some(ts("2026-11-30T03:05:30Z")));
    // A task ECS is already stopping for the interruption keeps the host's deadline.
    let stopping = task(&u, "d3e3eaf995af005a77b8b33a80f78cbd");
    assert_unit(
        stopping,
        Verdict::AtRisk,
        &[
            CauseCode::SpotInterruption,
            CauseCode::ContainerInstanceDraining,
        ],
        &["sir-f750af35", "i-0f5e4d3c2b1a00002"],
    );
    assert_eq!(stopping.state, "STOPPING (desired STOPPED)");
    assert_eq!(
        stopping.diagnosis.deadline,
        Some(ts("2026-11-30T03:05:30Z"))
    );
    assert_eq!(
        host.diagnosis.headline,
        "spot reclaim in 30s; 2 tasks on it"
    );
}

#[test]
fn reclaimed_instances_are_lost() {
    let u = load("ec2-spot.json");
    for (id, sir, code) in [
        (
            "i-0f5e4d3c2b1a00004",
            "sir-62fa51dd",
            "instance-terminated-no-capacity",
        ),
        (
            "i-0f5e4d3c2b1a00005",
            "sir-d1783667",
            "instance-terminated-capacity-oversubscribed",
        ),
        (
            "i-0f5e4d3c2b1a00006",
            "sir-b9978d21",
            "instance-stopped-no-capacity",
        ),
    ] {
        let h = instance(&u, id).unwrap();
        assert_unit(
            h,
            Verdict::Stopped,
            &[CauseCode::SpotInterruption],
            &[sir, code, id],
        );
        assert_eq!(h.diagnosis.deadline, None);
    }
    // Terminated by price, with a task ECS still lists as RUNNING there.
    let h = instance(&u, "i-0f5e4d3c2b1a00003").unwrap();
    assert_unit(
        h,
        Verdict::Stuck,
        &[CauseCode::SpotInterruption],
        &[
            "sir-20462f19",
            "instance-terminated-by-price",
            "Server.SpotInstanceTermination",
        ],
    );
    let ghost = task(&u, "c4745785181de931cfd5bd79294cb168");
    assert_unit(
        ghost,
        Verdict::Stuck,
        &[CauseCode::SpotInterruption],
        &["sir-20462f19"],
    );
    let lost = task(&u, "9a52c56ac1d8bd6f7e3148e996ba9b29");
    assert_unit(
        lost,
        Verdict::Stopped,
        &[CauseCode::NodeLost, CauseCode::SpotInterruption],
        &["i-0f5e4d3c2b1a00003", "sir-20462f19"],
    );
    // No spot request in the dump: the instance's own state reason tells.
    let h = instance(&u, "i-0f5e4d3c2b1a00007").unwrap();
    assert_unit(
        h,
        Verdict::Stopped,
        &[CauseCode::SpotInterruption],
        &["Server.SpotInstanceTermination"],
    );
    assert_eq!(h.state, "shutting-down");
}

#[test]
fn just_reclaimed_is_a_transition_not_a_ghost() {
    let u = load("ec2-spot.json");
    // Notice at 03:01:30, instance shutting down: within the grace, the task
    // ECS still lists RUNNING is reported lost (Stopped), not Stuck.
    let h = instance(&u, "i-0f5e4d3c2b1a0000e").unwrap();
    assert_unit(
        h,
        Verdict::Stopped,
        &[CauseCode::SpotInterruption],
        &["marked-for-termination", "already shutting-down"],
    );
    assert_eq!(h.state, "shutting-down");
    assert_eq!(h.diagnosis.deadline, None);
    let t = task(&u, "0af9c6c25447b43f205f6899ab9d2875");
    assert_unit(
        t,
        Verdict::Stopped,
        &[CauseCode::SpotInterruption],
        &["i-0f5e4d3c2b1a0000e"],
    );
    assert!(t.diagnosis.headline.contains("reclaimed"));
}

#[test]
fn no_risk_without_a_spot_signal() {
    let u = load("ec2-spot.json");
    // fulfilled, terminated by the user, a completed reboot event, a request with no instance.
    for id in [
        "i-0f5e4d3c2b1a00008",
        "i-0f5e4d3c2b1a00009",
        "i-0f5e4d3c2b1a0000b",
    ] {
        assert!(instance(&u, id).is_none(), "{id} should not be a unit");
    }
    assert_eq!(
        u.iter().filter(|x| x.kind == UnitKind::Instance).count(),
        10,
        "{:?}",
        u.iter()
            .filter(|x| x.kind == UnitKind::Instance)
            .map(|x| &x.name)
            .collect::<Vec<_>>()
    );
}

#[test]
fn scheduled_events() {
    // Two days ahead (beyond the 24 h horizon): the host shows the event, calmly;
    // the task on it is not at risk.
    let u = load("ec2-spot.json");
    let h = instance(&u, "i-0f5e4d3c2b1a0000a").unwrap();
    assert_unit(
        h,
        Verdict::Running,
        &[CauseCode::ScheduledMaintenance],
        &["instance-retirement", "instance-event-0d59937288b749b32"],
    );
    assert_eq!(h.diagnosis.deadline, Some(ts("2026-12-02T04:00:00Z")));
    assert_eq!(
        h.diagnosis.headline,
        "instance-retirement scheduled in 2d; 1 task on it"
    );
    let t = task(&u, "e59e568b848968279a31c1f190e54f49");
    assert_unit(t, Verdict::Running, &[], &[]);
    assert!(t.diagnosis.causes.is_empty(), "{}", text(t));

    // Within 24 h of NotBefore: at risk, with the countdown, host and task.
    let u = load_at("ec2-spot.json", ts("2026-12-01T20:00:00Z"));
    let h = instance(&u, "i-0f5e4d3c2b1a0000a").unwrap();
    assert_unit(
        h,
        Verdict::AtRisk,
        &[CauseCode::ScheduledMaintenance],
        &["instance-retirement", "instance-event-0d59937288b749b32"],
    );
    assert_eq!(
        h.diagnosis.headline,
        "instance-retirement scheduled in 8h; 1 task on it"
    );
    let t = task(&u, "e59e568b848968279a31c1f190e54f49");
    assert_unit(
        t,
        Verdict::AtRisk,
        &[CauseCode::ScheduledMaintenance],
        &["instance-retirement"],
    );
    assert!(
        t.diagnosis.headline.contains("scheduled maintenance in 8h"),
        "{}",
        t.diagnosis.headline
    );
    assert_eq!(t.diagnosis.deadline, Some(ts("2026-12-02T04:00:00Z")));
    let u = load("ec2-spot.json");
    let stopped = instance(&u, "i-0f5e4d3c2b1a0000c").unwrap();
    assert_unit(
        stopped,
        Verdict::Stopped,
        &[CauseCode::ScheduledMaintenance],
        &["Server.ScheduledStop"],
    );
}

#[test]
fn fargate_spot_notice_then_interruption() {
    let u = load("ec2-spot.json");
    let notice = task(&u, "61a59c4c55d75efebbef1f0d50a46192");
    assert_unit(
        notice,
        Verdict::AtRisk,
        &[CauseCode::SpotInterruption],
        &["TerminationNotice", "Your Spot Task was interrupted."],
    );
    assert_eq!(notice.diagnosis.deadline, Some(ts("2026-11-30T03:06:30Z")));
    assert_eq!(notice.host.as_deref(), Some("fargate"));
    let gone = task(&u, "1a7959f3533c2a0103dac0b4f5863c2b");
    assert_unit(
        gone,
        Verdict::Stopped,
        &[CauseCode::SpotInterruption],
        &["Fargate Spot", "SpotInterruption"],
    );
}

#[test]
fn service_short_of_memory_because_spot_took_hosts() {
    let u = load("ec2-spot.json");
    let feed = service(&u, "feed");
    assert_unit(
        feed,
        Verdict::Pending,
        &[
            CauseCode::InsufficientResource,
            CauseCode::ContainerInstanceDraining,
            CauseCode::SpotInterruption,
        ],
        &[
            "85e6b19edffe3a3ad3b45e743642a8cb",
            "256 MiB left",
            "sir-7da2d5ba",
        ],
    );
    assert_eq!(
        feed.diagnosis.causes[0].code,
        CauseCode::InsufficientResource
    );
    // The nearest spot deadline among its hosts.
    assert_eq!(feed.diagnosis.deadline, Some(ts("2026-11-30T03:05:30Z")));
}

#[test]
fn unit_order_puts_the_urgent_first() {
    let u = load("ec2-spot.json");
    let sev: Vec<u8> = u.iter().map(|x| x.diagnosis.verdict.severity()).collect();
    let mut sorted = sev.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sev, sorted);
}

mod robustness {
    use super::*;
    use proptest::prelude::*;
    use spotcheck::model::aws::{EcsService, EcsServiceEvent};
    use spotcheck::sources::SourceEvent;

    const PIECES: [&str; 12] = [
        "(service web) ",
        "was unable to place a task because no container instance met all of its requirements. ",
        "The closest matching (container-instance ",
        ") has insufficient ",
        "memory available. ",
        "Reason: ",
        "Capacity is unavailable at this time. ",
        "deployment failed: ",
        "is unhealthy in (target-group ",
        "has reached a steady state.",
        "(",
        "é…",
    ];

    fn message() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,200}",
            proptest::collection::vec((0usize..PIECES.len(), "[a-z0-9 ()\"]{0,8}"), 0..10)
                .prop_map(|parts| parts
                    .into_iter()
                    .map(|(i, junk)| format!("{}{junk}", PIECES[i]))
                    .collect()),
        ]
    }

    proptest! {
        #[test]
        fn any_service_events_diagnose_without_panic(
            messages in proptest::collection::vec(message(), 0..8),
            desired in 0i64..5,
            running in 0i64..5,
        ) {
            let service = EcsService {
                service_arn: "arn:aws:ecs:us-east-1:123456789012:service/prod/web".into(),
                service_name: "web".into(),
                desired_count: desired,
                running_count: running,
                events: messages
                    .into_iter()
                    .enumerate()
                    .map(|(i, message)| EcsServiceEvent {
                        id: format!("e{i}"),
                        created_at: None,
                        message,
                    })
                    .collect(),
                ..Default::default()
            };
            let mut fleet = Fleet::new();
            fleet.apply(
                SourceEvent::EcsService { region: "us-east-1".into(), service: Box::new(service) },
                now(),
            );
            let units = diagnose_fleet(&fleet, now());
            prop_assert_eq!(units.len(), usize::from(desired > running));
            for u in &units {
                prop_assert!(u.diagnosis.headline.chars().count() <= 70);
                prop_assert!(u.diagnosis.verdict != Verdict::Running);
            }
        }

        #[test]
        fn any_json_under_known_keys_reads_without_panic(
            key in prop::sample::select(vec![
                "ecs_describe_tasks", "ecs_describe_services", "ecs_describe_container_instances",
                "ecs_describe_capacity_providers", "ec2_describe_spot_instance_requests",
                "ec2_describe_instances", "ec2_describe_instance_status",
            ]),
            inner in "[\\[\\]{}\",:a-zA-Z0-9 ]{0,60}",
        ) {
            let text = format!("{{\"{key}\": {inner}}}");
            let _ = spotcheck::dump::aws::read("prop.json", &text);
            let text = format!("{{\"{key}\": {{\"tasks\": [{inner}], \"Reservations\": [{{\"Instances\": [{inner}]}}]}}}}");
            let _ = spotcheck::dump::aws::read("prop.json", &text);
        }
    }
}
