//! Live AWS polling cost, measured against moto (the project's AWS emulator):
//! - requests per poll cycle for one cluster of 20 services, 500 tasks and
//!   50 spot container instances, by operation, next to the plan's minimum
//!   (`sources::aws::plan::requests_per_cycle`): the bench fails if the
//!   poller sends more;
//! - time per cycle (cold first cycle, then steady cycles);
//! - RSS of the process with that fleet loaded (poller state + model).
//!
//! Run: `cargo bench --bench aws_poll` (about a minute after the build).
//! Uses $SPOTCHECK_TEST_AWS_ENDPOINT when set, else starts a private moto
//! with scripts/moto-env (Python 3 and network access to PyPI on first use).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use serde_json::json;
use spotcheck::model::Fleet;
use spotcheck::sources::aws::plan::{self, FleetSize};
use spotcheck::sources::aws::poll::{CycleReport, RegionPoller};
use spotcheck::sources::aws::{self, Clients};
use spotcheck::sources::{Observed, SourceEvent};

const REGION: &str = "eu-north-1";
const CLUSTER: &str = "bench";
const SERVICES: usize = 20;
const TASKS_PER_SERVICE: i32 = 25;
const INSTANCES: i32 = 50;
const STEADY_CYCLES: usize = 10;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn moto_env(state: &std::path::Path, cmd: &str) -> String {
    let out = std::process::Command::new("bash")
        .arg(format!("{}/scripts/moto-env", env!("CARGO_MANIFEST_DIR")))
        .arg(cmd)
        .env("SPOTCHECK_MOTO_STATE", state)
        .output()
        .expect("run scripts/moto-env");
    assert!(
        out.status.success(),
        "moto-env {cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn post(ep: &str, path: &str, body: &serde_json::Value) {
    use std::io::{Read, Write};
    let addr = ep.trim_start_matches("http://");
    let body = body.to_string();
    let mut s = std::net::TcpStream::connect(addr).expect("connect to moto");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    assert!(
        resp.starts_with("HTTP/1.1 200") || resp.starts_with("HTTP/1.0 200"),
        "{resp}"
    );
}

async fn config(ep: &str) -> aws_types::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(ep)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "testing", "testing", None, None, "bench",
        ))
        .http_client(aws::http_client())
        .load()
        .await
}

/// 50 spot instances as container instances, 20 services × 25 running tasks.
async fn seed(ep: &str) {
    post(ep, "/moto-api/x/reset-region", &json!({"region": REGION}));
    let conf = config(ep).await;
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .expect("create cluster");
    let reqs = ec2
        .request_spot_instances()
        .spot_price("0.05")
        .instance_count(INSTANCES)
        .launch_specification(
            aws_sdk_ec2::types::RequestSpotLaunchSpecification::builder()
                .image_id("ami-12c6146b")
                .instance_type(aws_sdk_ec2::types::InstanceType::M5Large)
                .build(),
        )
        .send()
        .await
        .expect("spot requests");
    for r in reqs.spot_instance_requests() {
        let doc = json!({"instanceId": r.instance_id().unwrap_or_default(), "region": REGION,
            "availabilityZone": "eu-north-1a", "instanceType": "m5.large", "imageId": "ami-12c6146b"});
        ecs.register_container_instance()
            .cluster(CLUSTER)
            .instance_identity_document(doc.to_string())
            .send()
            .await
            .expect("register container instance");
    }
    ecs.register_task_definition()
        .family("app")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .cpu(16)
                .memory(32)
                .build(),
        )
        .send()
        .await
        .expect("task definition");
    for i in 0..SERVICES {
        let name = format!("svc-{i:02}");
        ecs.create_service()
            .cluster(CLUSTER)
            .service_name(&name)
            .task_definition("app")
            .desired_count(TASKS_PER_SERVICE)
            .send()
            .await
            .expect("service");
        post(
            ep,
            "/moto-api/x/patch",
            &json!({"kind": "ecs_service", "region": REGION, "cluster": CLUSTER, "id": name,
                "set": {"running_count": TASKS_PER_SERVICE, "pending_count": 0}}),
        );
        let mut left = TASKS_PER_SERVICE;
        while left > 0 {
            let n = left.min(10);
            ecs.run_task()
                .cluster(CLUSTER)
                .task_definition("app")
                .group(format!("service:{name}"))
                .count(n)
                .send()
                .await
                .expect("run tasks");
            left -= n;
        }
    }
}

async fn cycle(p: &mut RegionPoller, fleet: &mut Fleet) -> (CycleReport, usize) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Observed>();
    let report = p.cycle(&tx).await;
    drop(tx);
    let mut n = 0;
    while let Some(o) = rx.recv().await {
        if !matches!(o.event, SourceEvent::Health { .. }) {
            n += 1;
        }
        fleet.apply(o.event, o.at);
    }
    (report, n)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let private = std::env::var("SPOTCHECK_TEST_AWS_ENDPOINT").is_err();
    let state = tempfile::tempdir().expect("tempdir");
    let ep = match std::env::var("SPOTCHECK_TEST_AWS_ENDPOINT") {
        Ok(ep) => ep,
        Err(_) => moto_env(state.path(), "start"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let t = Instant::now();
    rt.block_on(seed(&ep));
    println!(
        "seeded moto at {ep}: {SERVICES} services, {} tasks, {INSTANCES} spot container instances ({:.1} s)",
        SERVICES as i32 * TASKS_PER_SERVICE,
        t.elapsed().as_secs_f64()
    );

    let rss_before = rss_kib();
    let (cold, steady, fleet) = rt.block_on(async {
        let conf = aws::load_config(None, Some(REGION)).await;
        // Same clients as production, but at moto with its credentials.
        let conf = conf
            .into_builder()
            .endpoint_url(&ep)
            .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
                aws_sdk_ecs::config::Credentials::new("testing", "testing", None, None, "bench"),
            ))
            .build();
        let mut p = RegionPoller::new(REGION, Clients::new(&conf), vec![], None);
        let mut fleet = Fleet::new();
        let cold = cycle(&mut p, &mut fleet).await;
        let mut steady = Vec::new();
        for _ in 0..STEADY_CYCLES {
            steady.push(cycle(&mut p, &mut fleet).await);
        }
        (cold, steady, fleet)
    });
    let rss_after = rss_kib();

    let region = &fleet.aws[REGION];
    assert_eq!(region.tasks.len(), SERVICES * TASKS_PER_SERVICE as usize);
    assert_eq!(region.services.len(), SERVICES);
    assert_eq!(region.container_instances.len(), INSTANCES as usize);
    assert!(cold.0.ecs.problems.is_empty() && cold.0.ec2.problems.is_empty());

    let size = FleetSize {
        clusters: 1,
        services: SERVICES as u64,
        running_tasks: (SERVICES as i32 * TASKS_PER_SERVICE) as u64,
        container_instances: INSTANCES as u64,
        spot_requests: INSTANCES as u64,
        instances: INSTANCES as u64,
        running_instances: INSTANCES as u64,
        ..FleetSize::default()
    };
    let plan_steady = plan::requests_per_cycle(&size);
    let measured = &steady[0].0.requests;
    println!("\nrequests per steady cycle (measured vs. plan minimum):");
    let mut ops: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (k, v) in measured {
        ops.entry(k.as_str()).or_default().0 = *v;
    }
    for (k, v) in &plan_steady {
        ops.entry(k).or_default().1 = *v;
    }
    for (k, (m, p)) in &ops {
        println!("  {k:<30} {m:>4} {p:>4}");
    }
    let total: u64 = measured.values().sum();
    println!(
        "  {:<30} {total:>4} {:>4}",
        "total",
        plan::total(&plan_steady)
    );
    println!(
        "cold first cycle (discovery, every object described): {} requests, {} objects sent",
        cold.0.total_requests(),
        cold.1
    );

    let mut times: Vec<Duration> = steady.iter().map(|(r, _)| r.elapsed).collect();
    times.sort();
    let sent: usize = steady.iter().map(|(_, n)| n).sum();
    println!("\ntime per cycle against moto:");
    println!("  cold   {}", ms(cold.0.elapsed));
    println!(
        "  steady median {}, min {}, max {} over {STEADY_CYCLES} cycles ({sent} objects re-sent)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    println!(
        "\nRSS: {} MiB before polling, {} MiB with the fleet loaded (+{} MiB)",
        rss_before / 1024,
        rss_after / 1024,
        rss_after.saturating_sub(rss_before) / 1024
    );

    println!(
        "every {}th cycle also rediscovers clusters: +ListClusters +DescribeClusters \
         (+DescribeCapacityProviders when clusters name any)",
        plan::DISCOVERY_EVERY
    );
    for (r, _) in &steady {
        let got: BTreeMap<&str, u64> = r.requests.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let want = plan::requests_per_cycle(&FleetSize {
            discovery: r.discovery,
            ..size.clone()
        });
        assert_eq!(got, want, "a cycle sent other requests than the plan");
    }
    drop(rt);
    if private {
        moto_env(state.path(), "stop");
    }
}
