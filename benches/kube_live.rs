//! Live Kubernetes performance on the REAL kube-apiserver of `scripts/k8s-env`,
//! with 10,000 pods / 200 nodes / 20,000 events loaded, all measured in one run:
//! - the raw cost of the data: a plain paginated HTTP LIST of all pods (curl, limit=500);
//! - `kubectl get pods -A`;
//! - spotcheck (release binary in tmux, 200×50): first rows on screen, complete
//!   table, RSS once loaded, CPU while idle, and the latency from a pod status
//!   patch on the server to the changed row on screen.
//!
//! Run: `scripts/bench-kube` (starts and stops its own apiserver), or with a
//! running one: `eval "$(scripts/k8s-env env)"; cargo bench --bench kube_live`.
//! Loading the data takes about a minute the first time; it stays in the
//! server for later runs (namespaces `bench-0` … `bench-9`).

#![allow(clippy::unwrap_used)] // a bench: a failed setup should panic loudly

use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

const PODS: usize = 10_000;
const NODES: usize = 200;
const EVENTS: usize = 20_000;
const NAMESPACES: usize = 10;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run scripts/bench-kube, or eval \"$(scripts/k8s-env env)\" first"
        )
    })
}

async fn admin() -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(var("SPOTCHECK_TEST_KUBECONFIG")).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(cfg).unwrap()
}

fn node_name(i: usize) -> String {
    format!("ip-10-1-{}-{}.ec2.internal", i / 250, i % 250)
}

fn pod_name(i: usize) -> String {
    format!("app-{:02}-7d9f8c6b5-{i:05}", i % 37)
}

/// What pod `i` is: mostly running, some pending, some crash-looping.
fn pod_kind(i: usize) -> &'static str {
    match i % 20 {
        0 => "pending",
        7 if i % 40 == 7 => "crash",
        _ => "running",
    }
}

async fn load(c: &kube::Client) {
    let t0 = Instant::now();
    let loaded = Api::<Pod>::all(c.clone())
        .list_metadata(&ListParams::default().labels("spotcheck-bench=1"))
        .await
        .unwrap()
        .items
        .len();
    if loaded >= PODS {
        println!("data already loaded ({loaded} bench pods)");
        return;
    }
    for n in 0..NAMESPACES {
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": format!("bench-{n}")}})).unwrap();
        let _ = Api::<Namespace>::all(c.clone())
            .create(&PostParams::default(), &ns)
            .await;
    }
    let now = jiff::Timestamp::now().to_string();
    let nodes = Api::<Node>::all(c.clone());
    futures::stream::iter(0..NODES)
        .map(|i| {
            let nodes = nodes.clone();
            let now = now.clone();
            async move {
                let name = node_name(i);
                let taints = if i % 20 == 3 {
                    json!([{"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}])
                } else {
                    json!([])
                };
                let n: Node = serde_json::from_value(json!({
                    "metadata": {"name": name, "labels": {
                        "kubernetes.io/hostname": name, "karpenter.sh/capacity-type": "spot",
                        "node.kubernetes.io/instance-type": "m5.xlarge", "topology.kubernetes.io/zone": "us-east-1a"}},
                    "spec": {"providerID": format!("aws:///us-east-1a/i-0{i:016x}")}
                }))
                .unwrap();
                let _ = nodes.create(&PostParams::default(), &n).await;
                nodes
                    .patch(&name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"taints": taints}})))
                    .await
                    .unwrap();
                nodes
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({"status": {
                        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                        "lastHeartbeatTime": now, "lastTransitionTime": now}],
                        "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                        "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110"},
                        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}})))
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    println!("{NODES} nodes in {:.1}s", t0.elapsed().as_secs_f64());
    let pending_msg = "0/200 nodes are available: 10 node(s) had untolerated taint(s), 190 Insufficient cpu. \
                       preemption: 0/200 nodes are available: 200 Preemption is not helpful for scheduling.";
    futures::stream::iter(0..PODS)
        .map(|i| {
            let c = c.clone();
            let now = now.clone();
            async move {
                let ns = format!("bench-{}", i % NAMESPACES);
                let name = pod_name(i);
                let api = Api::<Pod>::namespaced(c, &ns);
                let kind = pod_kind(i);
                let mut spec = json!({
                    "containers": [{"name": "app", "image": format!("registry.local/app-{:02}:1.4.{}", i % 37, i % 7),
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "REGION", "value": "us-east-1"}],
                        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}}],
                    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                    "terminationGracePeriodSeconds": 30
                });
                if kind != "pending" {
                    spec["nodeName"] = json!(node_name(i % NODES));
                }
                let p: Pod = serde_json::from_value(json!({
                    "metadata": {"name": name, "labels": {"app": format!("app-{:02}", i % 37), "spotcheck-bench": "1",
                                                          "pod-template-hash": "7d9f8c6b5"},
                                 "annotations": {"kubectl.kubernetes.io/restartedAt": now}},
                    "spec": spec
                }))
                .unwrap();
                if api.create(&PostParams::default(), &p).await.is_err() {
                    return; // exists from an earlier, interrupted load
                }
                let status = match kind {
                    "pending" => json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                        "reason": "Unschedulable", "message": pending_msg, "lastTransitionTime": now}]}),
                    "crash" => json!({"phase": "Running", "startTime": now, "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}],
                        "containerStatuses": [{"name": "app", "image": "registry.local/app:1", "imageID": "", "ready": false, "restartCount": 7,
                            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
                            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}}}]}),
                    _ => json!({"phase": "Running", "startTime": now, "podIP": "10.0.0.1", "hostIP": "127.0.0.1",
                        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
                        "containerStatuses": [{"name": "app", "image": "registry.local/app:1", "imageID": "", "ready": true, "restartCount": 0,
                            "started": true, "state": {"running": {"startedAt": now}}}]}),
                };
                api.patch_status(&p.metadata.name.clone().unwrap(), &PatchParams::default(), &Patch::Merge(json!({"status": status})))
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(24)
        .collect::<Vec<_>>()
        .await;
    println!("{PODS} pods in {:.1}s", t0.elapsed().as_secs_f64());
    futures::stream::iter(0..EVENTS)
        .map(|j| {
            let c = c.clone();
            let now = now.clone();
            async move {
                let i = j % PODS;
                let ns = format!("bench-{}", i % NAMESPACES);
                let pod = pod_name(i);
                let (reason, ty, message) = match (pod_kind(i), j / PODS) {
                    ("pending", _) => ("FailedScheduling", "Warning", pending_msg.to_string()),
                    ("crash", 0) => ("BackOff", "Warning", "Back-off restarting failed container".to_string()),
                    (_, 0) => ("Scheduled", "Normal", format!("Successfully assigned {ns}/{pod} to {}", node_name(i % NODES))),
                    _ => ("Started", "Normal", "Started container app".to_string()),
                };
                let ev: Event = serde_json::from_value(json!({
                    "metadata": {"name": format!("{pod}.{j:x}"), "namespace": ns},
                    "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": ns},
                    "reason": reason, "message": message, "type": ty, "count": 1 + (j % 5),
                    "firstTimestamp": now, "lastTimestamp": now,
                    "source": {"component": "default-scheduler"}, "reportingComponent": "default-scheduler"
                }))
                .unwrap();
                let _ = Api::<Event>::namespaced(c, &ns).create(&PostParams::default(), &ev).await;
            }
        })
        .buffer_unordered(24)
        .collect::<Vec<_>>()
        .await;
    println!(
        "{EVENTS} events; loaded in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
}

/// A plain paginated LIST of all `resource` (core/v1) with curl (limit=500): seconds, bytes.
fn raw_list(resource: &str, expect: usize) -> (f64, usize) {
    let server = var("SPOTCHECK_TEST_APISERVER");
    let auth = format!(
        "Authorization: Bearer {}",
        var("SPOTCHECK_TEST_ADMIN_TOKEN")
    );
    let ca = var("SPOTCHECK_TEST_CA");
    let t0 = Instant::now();
    let mut cont = String::new();
    let mut bytes = 0;
    let mut items = 0;
    loop {
        let mut url = format!("{server}/api/v1/{resource}?limit=500");
        if !cont.is_empty() {
            url.push_str(&format!("&continue={cont}"));
        }
        let out = Command::new("curl")
            .args(["-sf", "--cacert", &ca, "-H", &auth, &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "curl failed");
        bytes += out.stdout.len();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        items += v["items"].as_array().map(|a| a.len()).unwrap_or(0);
        match v["metadata"]["continue"].as_str() {
            Some(c) if !c.is_empty() => {
                cont = c
                    .replace('=', "%3D")
                    .replace('+', "%2B")
                    .replace('/', "%2F")
            }
            _ => break,
        }
    }
    assert!(items >= expect, "only {items} {resource} listed");
    (t0.elapsed().as_secs_f64(), bytes)
}

fn kubectl_get_pods() -> f64 {
    let t0 = Instant::now();
    let out = Command::new("kubectl")
        .args([
            "--kubeconfig",
            &var("SPOTCHECK_TEST_KUBECONFIG"),
            "get",
            "pods",
            "-A",
            "--no-headers",
        ])
        .output()
        .expect("kubectl");
    let secs = t0.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.iter().filter(|b| **b == b'\n').count() >= PODS);
    secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Tui {
    socket: String,
    pid: u32,
    started: Instant,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Tui {
    fn start() -> Tui {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("spotcheck.log");
        let socket = format!("spotcheck-kube-bench-{}", std::process::id());
        // A leftover server of an interrupted run; usually there is none.
        let _ = Command::new("tmux")
            .args(["-L", &socket, "kill-server"])
            .stderr(std::process::Stdio::null())
            .status();
        let cmd = format!(
            "exec env TERM=xterm-256color {} --kubeconfig {} -A --log-file {}",
            env!("CARGO_BIN_EXE_spotcheck"),
            var("SPOTCHECK_TEST_KUBECONFIG"),
            log.display()
        );
        let started = Instant::now();
        tmux(
            &socket,
            &[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
                &cmd,
            ],
        );
        let pid = tmux(&socket, &["list-panes", "-F", "#{pane_pid}"])
            .trim()
            .parse()
            .unwrap();
        Tui {
            socket,
            pid,
            started,
            log,
            _dir: dir,
        }
    }
    fn screen(&self) -> String {
        tmux(&self.socket, &["capture-pane", "-p"])
    }
    fn keys(&self, keys: &[&str]) {
        tmux(&self.socket, &[&["send-keys", "-t", "0"], keys].concat());
    }
    fn rss_mib(&self) -> f64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let kib: f64 = s
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap();
        kib / 1024.0
    }
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap();
        let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    }
    fn log_field(&self, message: &str, field: &str) -> Option<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let line = text.lines().find(|l| l.contains(message))?;
        let v = line.split(&format!("{field}=")).nth(1)?;
        Some(v.split_whitespace().next()?.trim_matches('"').to_string())
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn title(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains("Attention"))
        .unwrap_or("")
        .split('━')
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| c == '┏' || c == '┌' || c.is_whitespace())
        .to_string()
}

async fn run_tui(c: &kube::Client) -> Vec<String> {
    let mut report = Vec::new();
    let tui = Tui::start();
    // Timeline of the table title, polled as fast as tmux answers.
    let mut timeline: Vec<(f64, String, bool)> = Vec::new();
    let mut first_rows = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut live_since: Option<Instant> = None;
    while Instant::now() < deadline {
        let s = tui.screen();
        let t = tui.started.elapsed().as_secs_f64();
        let live = s.lines().next().unwrap_or("").contains("kube admin ● live");
        if first_rows.is_none() && s.lines().any(|l| l.starts_with("┃Pod ")) {
            first_rows = Some(t);
        }
        timeline.push((t, title(&s), live));
        if live {
            let since = *live_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let (_, final_title, final_live) = timeline.last().cloned().unwrap();
    assert!(final_live, "spotcheck did not become live: {final_title}");
    let complete = timeline
        .iter()
        .rev()
        .take_while(|(_, tt, live)| *tt == final_title && *live)
        .last()
        .map(|(t, _, _)| *t)
        .unwrap();
    let first_rows = first_rows.expect("no pod row appeared");
    report.push(format!(
        "spotcheck first rows on screen: {:.0} ms (target < 1000 ms)",
        first_rows * 1000.0
    ));
    report.push(format!(
        "spotcheck complete table: {:.0} ms ({final_title})",
        complete * 1000.0
    ));
    if let Some(ms) = tui.log_field("first frame", "first_frame_ms") {
        report.push(format!("spotcheck first frame (log): {ms} ms"));
    }
    if let Some(ms) = tui.log_field(
        "kube initial list done context=admin kind=\"pods\"",
        "elapsed_ms",
    ) {
        report.push(format!("spotcheck pods initial list (log): {ms} ms"));
    }
    if let Some(ms) = tui.log_field("kube context loaded", "elapsed_ms") {
        report.push(format!("spotcheck all kinds listed (log): {ms} ms"));
    }
    std::thread::sleep(Duration::from_secs(2));
    report.push(format!(
        "spotcheck RSS once loaded: {:.1} MiB (target < 150 MB)",
        tui.rss_mib()
    ));
    let window = 20.0;
    let t0 = tui.cpu_ticks();
    std::thread::sleep(Duration::from_secs_f64(window));
    let cpu = (tui.cpu_ticks() - t0) as f64 / 100.0 / window * 100.0;
    report.push(format!(
        "spotcheck CPU while idle: {cpu:.2} % of a core over {window} s (target < 2 %)"
    ));

    // Latency: show healthy units, filter to one running pod, patch its status.
    tui.keys(&["a"]);
    let mut lat = Vec::new();
    for k in 0..5 {
        let i = 1 + k * 41; // running pods
        assert_eq!(pod_kind(i), "running");
        let name = pod_name(i);
        let ns = format!("bench-{}", i % NAMESPACES);
        // Esc clears the filter; a key right after it would read as Alt+key.
        tui.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(300));
        tui.keys(&["/"]);
        tui.keys(&["-l", &format!("name:{name}")]);
        tui.keys(&["Enter"]);
        let wait = Instant::now();
        while !tui.screen().contains(&name) {
            assert!(
                wait.elapsed() < Duration::from_secs(5),
                "row {name} not shown:\n{}",
                tui.screen()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // Read back as spotcheck's slim Pod: it is a kube Resource too.
        let api = Api::<spotcheck::model::objects::Pod>::namespaced(c.clone(), &ns);
        // A state the row does not show yet (the data stays between runs).
        let current = spotcheck::model::pod_phase_label(&api.get(&name).await.unwrap());
        let reason = if current == "ImagePullBackOff" {
            "ErrImagePull"
        } else {
            "ImagePullBackOff"
        };
        let t0 = Instant::now();
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({"status": {
            "containerStatuses": [{"name": "app", "image": "registry.local/app:1", "imageID": "", "ready": false,
                "restartCount": 0, "state": {"waiting": {"reason": reason, "message": "bench"}}}]}})))
            .await
            .unwrap();
        loop {
            let s = tui.screen();
            if s.lines().any(|l| l.contains(&name) && l.contains(reason)) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "the patch never showed:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    report.push(format!(
        "spotcheck patch → row on screen: median {:.0} ms, max {:.0} ms over {} patches (target < 500 ms)",
        lat[lat.len() / 2],
        lat[lat.len() - 1],
        lat.len()
    ));
    report
}

fn main() {
    if std::env::args().any(|a| a == "--test")
        || std::env::var_os("SPOTCHECK_BENCH_QUICK").is_some()
    {
        println!("kube_live bench: skipped in test mode (run scripts/bench-kube)");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = admin().await;
        load(&c).await;
        // Let the apiserver settle after the load.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut raw = Vec::new();
        let mut bytes = 0;
        let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        for _ in 0..3 {
            let (s, b) = raw_list("pods", PODS);
            raw.push(s);
            bytes = b;
        }
        let raw = median(raw);
        let mut raw_ev = Vec::new();
        let mut ev_bytes = 0;
        for _ in 0..3 {
            let (s, b) = raw_list("events", EVENTS);
            raw_ev.push(s);
            ev_bytes = b;
        }
        let raw_ev = median(raw_ev);
        let why = median(
            (0..3)
                .map(|_| {
                    let t0 = Instant::now();
                    let out = Command::new(env!("CARGO_BIN_EXE_spotcheck"))
                        .args([
                            "--log-file",
                            "/dev/null",
                            "why",
                            "-A",
                            "-o",
                            "json",
                            "--kubeconfig",
                        ])
                        .arg(var("SPOTCHECK_TEST_KUBECONFIG"))
                        .output()
                        .unwrap();
                    assert_eq!(
                        out.status.code(),
                        Some(1),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    t0.elapsed().as_secs_f64()
                })
                .collect(),
        );
        let kubectl = median((0..3).map(|_| kubectl_get_pods()).collect());
        let tui = run_tui(&c).await;
        println!("data: {PODS} pods / {NODES} nodes / {EVENTS} events in 10 namespaces");
        println!(
            "raw paginated LIST of all pods (curl, limit=500): {:.0} ms median of 3 ({:.1} MiB)",
            raw * 1000.0,
            bytes as f64 / 1048576.0
        );
        println!(
            "raw paginated LIST of all events (curl, limit=500): {:.0} ms median of 3 ({:.1} MiB)",
            raw_ev * 1000.0,
            ev_bytes as f64 / 1048576.0
        );
        println!("kubectl get pods -A: {:.0} ms median of 3", kubectl * 1000.0);
        println!(
            "spotcheck why -A (every kind listed, diagnosed once, JSON printed): {:.0} ms median of 3",
            why * 1000.0
        );
        for line in tui {
            println!("{line}");
        }
        println!(
            "target: complete table within 1.3 × raw LIST = {:.0} ms",
            raw * 1300.0
        );
        println!(
            "load average before / after: {} / {}",
            load_before.trim(),
            std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
        );
    });
}
