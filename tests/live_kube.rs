//! Live Kubernetes against a REAL kube-apiserver (v1.20.2 + etcd, started by
//! `scripts/k8s-env start`; `scripts/test` does it and exports the variables).
//! Every test works in its own namespace on the one shared server; the
//! restart test runs a second kube-apiserver of its own on the same etcd.
//! Without the server these tests fail, never skip.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup should panic loudly

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use spotcheck::model::Fleet;
use spotcheck::model::objects::Pod as ModelPod;
use spotcheck::sources::kube::{KubeOptions, start};
use spotcheck::sources::{Health, Observed, SourceId};
use tokio::sync::mpsc;

#[path = "support/proxy.rs"]
mod proxy;

// ---------------------------------------------------------------- environment

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need the real kube-apiserver. Run `scripts/test`, or \
             `eval \"$(scripts/k8s-env start)\"` before `cargo test`"
        )
    })
}

fn kubeconfig() -> PathBuf {
    PathBuf::from(var("SPOTCHECK_TEST_KUBECONFIG"))
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 100_000_000;
    format!(
        "{prefix}-{}-{t}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A kubeconfig with one context per `(name, token, namespace)`, all on `server`.
fn write_kubeconfig(dir: &Path, server: &str, contexts: &[(&str, &str, &str)]) -> PathBuf {
    let ca = var("SPOTCHECK_TEST_CA");
    let mut y = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n"
    );
    for (name, token, _) in contexts {
        y.push_str(&format!("- name: {name}\n  user:\n    token: {token}\n"));
    }
    y.push_str("contexts:\n");
    for (name, _, ns) in contexts {
        y.push_str(&format!(
            "- name: {name}\n  context: {{cluster: c, user: {name}, namespace: {ns}}}\n"
        ));
    }
    y.push_str(&format!("current-context: {}\n", contexts[0].0));
    let path = dir.join(format!("kubeconfig-{}", unique("k")));
    std::fs::write(&path, y).unwrap();
    path
}

/// A writable client (the test's, not spotcheck's read-only one).
async fn admin_at(server: &str) -> kube::Client {
    let dir = tempfile::tempdir().unwrap();
    let path = write_kubeconfig(
        dir.path(),
        server,
        &[("admin", &var("SPOTCHECK_TEST_ADMIN_TOKEN"), "default")],
    );
    let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(cfg).unwrap()
}

async fn admin() -> kube::Client {
    admin_at(&var("SPOTCHECK_TEST_APISERVER")).await
}

async fn new_namespace(c: &kube::Client, prefix: &str) -> String {
    let name = unique(prefix);
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(c.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    name
}

fn pod(name: &str, extra: serde_json::Value) -> Pod {
    let mut v = json!({
        "metadata": {"name": name, "labels": {"app": "web"},
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"big\":1}"}},
        "spec": {"containers": [{"name": "app", "image": "registry.local/app:1",
                                  "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}
    });
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap()
}

fn node(name: &str, extra: serde_json::Value) -> Node {
    let mut v = json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {"providerID": "aws:///us-east-1a/i-0123456789abcdef0"}
    });
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap()
}

fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

async fn create_pod(c: &kube::Client, ns: &str, p: Pod) {
    Api::<Pod>::namespaced(c.clone(), ns)
        .create(&PostParams::default(), &p)
        .await
        .unwrap();
}

/// Creates a Ready node with exactly the taints it is given: the apiserver's
/// TaintNodesByCondition admission adds `node.kubernetes.io/not-ready`, which
/// no node controller removes here, so the test does, as the controller would.
async fn create_node(c: &kube::Client, n: Node) {
    let api = Api::<Node>::all(c.clone());
    let name = n.metadata.name.clone().unwrap();
    let taints = n
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    api.create(&PostParams::default(), &n).await.unwrap();
    api.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"taints": taints}})),
    )
    .await
    .unwrap();
    let now = jiff::Timestamp::now().to_string();
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "lastHeartbeatTime": now, "lastTransitionTime": now}],
            "capacity": {"cpu": "2", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "1930m", "memory": "7Gi", "pods": "110"},
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}})),
    )
    .await
    .unwrap();
}

async fn delete_pod(c: &kube::Client, ns: &str, name: &str) {
    Api::<Pod>::namespaced(c.clone(), ns)
        .delete(name, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
}

async fn create_event(c: &kube::Client, ns: &str, pod: &str, reason: &str, message: &str) {
    let now = jiff::Timestamp::now().to_string();
    let ev: Event = serde_json::from_value(json!({
        "metadata": {"name": unique(pod), "namespace": ns},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": ns},
        "reason": reason, "message": message, "type": "Warning", "count": 3,
        "firstTimestamp": now, "lastTimestamp": now,
        "source": {"component": "default-scheduler"}
    }))
    .unwrap();
    Api::<Event>::namespaced(c.clone(), ns)
        .create(&PostParams::default(), &ev)
        .await
        .unwrap();
}

async fn patch_pod_status(c: &kube::Client, ns: &str, name: &str, status: serde_json::Value) {
    Api::<Pod>::namespaced(c.clone(), ns)
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .unwrap();
}

// ---------------------------------------------------------------- a session

/// spotcheck's kube sources folded into a model, as the app loop does.
struct Session {
    fleet: Fleet,
    rx: mpsc::UnboundedReceiver<Observed>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Session {
    async fn start(opts: KubeOptions) -> Session {
        let (tx, rx) = mpsc::unbounded_channel();
        let handles = start(&opts, tx).await.unwrap();
        Session {
            fleet: Fleet::new(),
            rx,
            handles,
        }
    }

    async fn namespace(kubeconfig: PathBuf, context: Option<&str>, ns: &str) -> Session {
        Session::start(KubeOptions {
            kubeconfig: Some(kubeconfig),
            contexts: context.map(|c| vec![c.to_string()]).unwrap_or_default(),
            namespace: Some(ns.to_string()),
            ..KubeOptions::default()
        })
        .await
    }

    /// Applies source events until `cond` holds; panics after `secs`.
    async fn wait(&mut self, what: &str, secs: u64, cond: impl Fn(&Fleet) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if cond(&self.fleet) {
                return;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(o)) => self.fleet.apply(o.event, o.at),
                Ok(None) => panic!("sources ended while waiting for {what}"),
                Err(_) => panic!(
                    "timed out after {secs}s waiting for {what}; health: {:?}",
                    self.fleet.health
                ),
            }
        }
    }

    /// Applies whatever arrives within `d`.
    async fn drain_for(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        while let Ok(Some(o)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.fleet.apply(o.event, o.at);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

fn health(f: &Fleet, ctx: &str) -> Option<Health> {
    f.health.get(&SourceId::kube(ctx)).cloned()
}

fn has_pod(f: &Fleet, ctx: &str, ns: &str, name: &str) -> bool {
    pod_of(f, ctx, ns, name).is_some()
}

fn pod_of<'f>(f: &'f Fleet, ctx: &str, ns: &str, name: &str) -> Option<&'f ModelPod> {
    f.kube
        .get(ctx)
        .and_then(|c| c.pods.get(&(ns.to_string(), name.to_string())))
        .map(|p| &**p)
}

fn pods_in(f: &Fleet, ctx: &str, ns: &str) -> usize {
    f.kube
        .get(ctx)
        .map(|c| c.pods.keys().filter(|(n, _)| n == ns).count())
        .unwrap_or(0)
}

fn phase(p: &ModelPod) -> String {
    spotcheck::model::pod_phase_label(p)
}

fn spotcheck_bin(args: &[&str]) -> std::process::Output {
    let log = std::env::temp_dir().join(format!("spotcheck-live-kube-{}.log", std::process::id()));
    Command::new(env!("CARGO_BIN_EXE_spotcheck"))
        .arg("--log-file")
        .arg(&log)
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
}

/// `(context, namespace, name)` of the Pod units in `why -o json` output.
fn why_pods(out: &std::process::Output) -> Vec<(String, String, String)> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "why printed no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v.as_array()
        .unwrap()
        .iter()
        .filter(|u| u["kind"] == "Pod")
        .map(|u| {
            let field = |k: &str| u[k].as_str().unwrap().to_string();
            (field("context"), field("namespace"), field("name"))
        })
        .collect()
}

/// Asserts the exit code, showing stderr when it differs.
fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pod_named(pods: &[(String, String, String)], name: &str) -> bool {
    pods.iter().any(|(_, _, n)| n == name)
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_list_then_live_pods_nodes_and_events() {
    let c = admin().await;
    let ns = new_namespace(&c, "live").await;
    create_pod(&c, &ns, pod("a", json!({}))).await;
    create_pod(&c, &ns, pod("b", json!({}))).await;
    let node_name = unique("node-live");
    create_node(&c, node(&node_name, json!({}))).await;

    let mut s = Session::namespace(kubeconfig(), None, &ns).await;
    s.wait("the initial list", 30, |f| {
        health(f, "admin") == Some(Health::Live)
            && has_pod(f, "admin", &ns, "a")
            && has_pod(f, "admin", &ns, "b")
            && f.kube["admin"].nodes.contains_key(&node_name)
    })
    .await;
    // Stored without managedFields and unneeded annotations.
    let a = pod_of(&s.fleet, "admin", &ns, "a").unwrap();
    assert!(a.metadata.managed_fields.is_none());
    assert!(
        a.metadata.annotations.is_none(),
        "{:?}",
        a.metadata.annotations
    );

    // Live: create, patch status, delete.
    create_pod(&c, &ns, pod("c", json!({}))).await;
    s.wait("pod c created", 10, |f| has_pod(f, "admin", &ns, "c"))
        .await;
    patch_pod_status(
        &c,
        &ns,
        "b",
        json!({"phase": "Running", "containerStatuses": [{
            "name": "app", "image": "registry.local/app:1", "imageID": "", "ready": false,
            "restartCount": 5,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}
        }]}),
    )
    .await;
    s.wait("pod b crash-looping", 10, |f| {
        pod_of(f, "admin", &ns, "b").is_some_and(|p| phase(p) == "CrashLoopBackOff")
    })
    .await;
    delete_pod(&c, &ns, "a").await;
    s.wait("pod a deleted", 10, |f| !has_pod(f, "admin", &ns, "a"))
        .await;

    // Events are indexed by the object they involve.
    create_event(
        &c,
        &ns,
        "c",
        "FailedScheduling",
        "0/1 nodes are available: 1 Insufficient cpu.",
    )
    .await;
    s.wait("the event about pod c", 10, |f| {
        f.kube["admin"]
            .events_for("Pod", &ns, "c")
            .iter()
            .any(|e| e.reason.as_deref() == Some("FailedScheduling"))
    })
    .await;

    // Nodes: a taint shows as a change; deletion removes the node.
    Api::<Node>::all(c.clone())
        .patch(
            &node_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taints": [
                {"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}]}})),
        )
        .await
        .unwrap();
    s.wait("the node taint", 10, |f| {
        f.changes
            .iter()
            .any(|ch| ch.what.contains("karpenter.sh/disrupted"))
    })
    .await;
    Api::<Node>::all(c.clone())
        .delete(&node_name, &DeleteParams::default())
        .await
        .unwrap();
    s.wait("node deleted", 10, |f| {
        !f.kube["admin"].nodes.contains_key(&node_name)
    })
    .await;
    assert_eq!(pods_in(&s.fleet, "admin", &ns), 2);
    assert_eq!(health(&s.fleet, "admin"), Some(Health::Live));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spot_story_names_the_karpenter_taint() {
    let c = admin().await;
    let ns = new_namespace(&c, "spot").await;
    let n1 = unique("ip-10-0-1-1");
    let n2 = unique("ip-10-0-1-2");
    for n in [&n1, &n2] {
        create_node(
            &c,
            node(
                n,
                json!({"spec": {"taints": [{"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}]}}),
            ),
        )
        .await;
    }
    let msg = "0/2 nodes are available: 2 node(s) had untolerated taint(s). preemption: 0/2 nodes \
               are available: 2 Preemption is not helpful for scheduling.";
    create_pod(&c, &ns, pod("checkout-7d9-x2x4z", json!({}))).await;
    patch_pod_status(
        &c,
        &ns,
        "checkout-7d9-x2x4z",
        json!({"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg,
            "lastTransitionTime": jiff::Timestamp::now().to_string()}]}),
    )
    .await;
    create_event(&c, &ns, "checkout-7d9-x2x4z", "FailedScheduling", msg).await;

    let mut s = Session::namespace(kubeconfig(), None, &ns).await;
    s.wait("the story loaded", 30, |f| {
        health(f, "admin") == Some(Health::Live)
            && !f.kube["admin"]
                .events_for("Pod", &ns, "checkout-7d9-x2x4z")
                .is_empty()
            && f.kube["admin"].nodes.contains_key(&n2)
    })
    .await;
    let units = spotcheck::diagnose::diagnose_fleet(&s.fleet, jiff::Timestamp::now());
    let u = units
        .iter()
        .find(|u| u.name == "checkout-7d9-x2x4z")
        .expect("the pod is a unit");
    assert_eq!(u.source, "admin", "every unit carries its context");
    assert!(
        u.diagnosis.headline.contains("karpenter.sh/disrupted"),
        "{}",
        u.diagnosis.headline
    );

    // The one-shot command says the same against the live cluster.
    let kc = kubeconfig();
    let out = spotcheck_bin(&[
        "why",
        "pod/checkout-7d9-x2x4z",
        "-n",
        &ns,
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PENDING Pod"), "{stdout}");
    assert!(stdout.contains("karpenter.sh/disrupted"), "{stdout}");
    assert!(stdout.contains("[admin]"), "{stdout}");
    let out = spotcheck_bin(&[
        "why",
        "-A",
        "-o",
        "json",
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    let pods = why_pods(&out);
    assert!(
        pods.iter()
            .any(|(_, n, name)| name == "checkout-7d9-x2x4z" && *n == ns),
        "{pods:?}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn k8s_env(args: &[&str]) {
    let st = Command::new(var("SPOTCHECK_K8S_ENV"))
        .args(args)
        .env("K8S_DIR", var("SPOTCHECK_K8S_DIR"))
        .status()
        .unwrap();
    assert!(st.success(), "scripts/k8s-env {args:?} failed");
}

/// Stops the test's own apiserver even when the test fails.
struct OwnApiserver(String);
impl Drop for OwnApiserver {
    fn drop(&mut self) {
        let _ = Command::new(var("SPOTCHECK_K8S_ENV"))
            .args(["apiserver-stop", &self.0])
            .env("K8S_DIR", var("SPOTCHECK_K8S_DIR"))
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apiserver_restart_resyncs_what_changed_meanwhile() {
    // An apiserver of this test's own, on the shared etcd: killing it
    // disturbs no other test, and writes through the main one land in the
    // same store while it is down.
    let name = unique("restart");
    let port = free_port();
    let port_s = port.to_string();
    k8s_env(&["apiserver-start", &name, &port_s]);
    let _own = OwnApiserver(name.clone());
    let server = format!("https://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let c = admin().await;
    let ns = new_namespace(&c, "restart").await;
    for p in ["keep", "gone", "changed"] {
        create_pod(&c, &ns, pod(p, json!({}))).await;
    }
    let kc = write_kubeconfig(
        dir.path(),
        &server,
        &[("restart", &var("SPOTCHECK_TEST_ADMIN_TOKEN"), &ns)],
    );
    let mut s = Session::namespace(kc, None, &ns).await;
    s.wait("the initial list", 30, |f| {
        health(f, "restart") == Some(Health::Live) && pods_in(f, "restart", &ns) == 3
    })
    .await;

    k8s_env(&["apiserver-stop", &name]);
    s.wait("reconnecting", 20, |f| {
        matches!(health(f, "restart"), Some(Health::Reconnecting { .. }))
    })
    .await;
    // Changes while it is down (through the main apiserver, same etcd).
    delete_pod(&c, &ns, "gone").await;
    create_pod(&c, &ns, pod("new", json!({}))).await;
    patch_pod_status(
        &c,
        &ns,
        "changed",
        json!({"phase": "Failed", "reason": "Evicted"}),
    )
    .await;
    s.drain_for(Duration::from_secs(2)).await;
    assert!(
        matches!(
            health(&s.fleet, "restart"),
            Some(Health::Reconnecting { .. })
        ),
        "{:?}",
        s.fleet.health
    );
    assert!(
        has_pod(&s.fleet, "restart", &ns, "gone"),
        "nothing can be known while down"
    );

    k8s_env(&["apiserver-start", &name, &port_s]);
    s.wait("the resync after the restart", 60, |f| {
        health(f, "restart") == Some(Health::Live)
            && has_pod(f, "restart", &ns, "new")
            && !has_pod(f, "restart", &ns, "gone")
            && pod_of(f, "restart", &ns, "changed").is_some_and(|p| phase(p) == "Evicted")
    })
    .await;
    // Nothing stale, nothing duplicated.
    s.drain_for(Duration::from_millis(500)).await;
    let mut names: Vec<String> = s.fleet.kube["restart"]
        .pods
        .keys()
        .filter(|(n, _)| *n == ns)
        .map(|(_, p)| p.clone())
        .collect();
    names.sort();
    assert_eq!(names, vec!["changed", "keep", "new"]);
}

async fn create_json<K>(api: Api<K>, v: serde_json::Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(v).unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_forbidden_events_degrade_only_events() {
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
    let c = admin().await;
    let ns = new_namespace(&c, "rbac").await;
    create_pod(&c, &ns, pod("visible", json!({}))).await;
    create_event(
        &c,
        &ns,
        "visible",
        "BackOff",
        "Back-off restarting failed container",
    )
    .await;
    // The viewer may read everything spotcheck watches in this namespace but events.
    let role = unique("spotcheck-viewer");
    create_json(
        Api::<Role>::namespaced(c.clone(), &ns),
        json!({"metadata": {"name": role}, "rules": [
            {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["replicasets", "deployments", "statefulsets", "daemonsets"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]}]}),
    )
    .await;
    create_json(
        Api::<RoleBinding>::namespaced(c.clone(), &ns),
        json!({"metadata": {"name": role}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "viewer"}]}),
    )
    .await;
    create_json(
        Api::<ClusterRole>::all(c.clone()),
        json!({"metadata": {"name": role}, "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}]}),
    )
    .await;
    create_json(
        Api::<ClusterRoleBinding>::all(c.clone()),
        json!({"metadata": {"name": role}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "viewer"}]}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kc = write_kubeconfig(
        dir.path(),
        &var("SPOTCHECK_TEST_APISERVER"),
        &[("viewer", &var("SPOTCHECK_TEST_VIEWER_TOKEN"), &ns)],
    );
    let mut s = Session::namespace(kc.clone(), None, &ns).await;
    s.wait("events forbidden, the rest live", 30, |f| {
        health(f, "viewer")
            == Some(Health::Forbidden {
                what: "events".into(),
            })
            && has_pod(f, "viewer", &ns, "visible")
    })
    .await;
    assert!(s.fleet.kube["viewer"].events.is_empty());
    // The rest keeps working.
    create_pod(&c, &ns, pod("later", json!({}))).await;
    s.wait("a pod created later", 10, |f| {
        has_pod(f, "viewer", &ns, "later")
    })
    .await;

    let out = spotcheck_bin(&["why", "-n", &ns, "--kubeconfig", kc.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kube:viewer: forbidden by RBAC: events"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("later"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_name_the_context_and_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let kc = write_kubeconfig(
        dir.path(),
        &var("SPOTCHECK_TEST_APISERVER"),
        &[("expired", "not-a-valid-token", "default")],
    );
    let mut s = Session::namespace(kc, None, "default").await;
    s.wait("401 reported", 20, |f| {
        matches!(health(f, "expired"), Some(Health::Degraded { reason, .. })
            if reason.contains("401") && reason.contains("context expired")
               && reason.contains("kubectl --context expired"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_kubeconfig_and_unknown_context_exit_2_before_the_tui() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken");
    std::fs::write(&broken, "apiVersion: v1\nclusters: [ {name: x\n").unwrap();
    // No command = the TUI; the setup error comes first, on a normal screen.
    for args in [vec![], vec!["why"]] {
        let mut a: Vec<&str> = args.clone();
        a.extend(["--kubeconfig", broken.to_str().unwrap()]);
        let out = spotcheck_bin(&a);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {stderr}");
        assert!(stderr.contains("cannot read kubeconfig"), "{stderr}");
        assert!(stderr.contains(broken.to_str().unwrap()), "{stderr}");
    }
    let kc = kubeconfig();
    for args in [vec![], vec!["why"]] {
        let mut a: Vec<&str> = args.clone();
        a.extend(["--kubeconfig", kc.to_str().unwrap(), "--context", "prod-eu"]);
        let out = spotcheck_bin(&a);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {stderr}");
        assert!(stderr.contains("unknown context \"prod-eu\""), "{stderr}");
        assert!(stderr.contains("it has: admin, viewer"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_contexts_at_once_each_with_its_namespace() {
    let c = admin().await;
    let east = new_namespace(&c, "east").await;
    let west = new_namespace(&c, "west").await;
    create_pod(&c, &east, pod("e1", json!({}))).await;
    create_pod(&c, &west, pod("w1", json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let token = var("SPOTCHECK_TEST_ADMIN_TOKEN");
    let kc = write_kubeconfig(
        dir.path(),
        &var("SPOTCHECK_TEST_APISERVER"),
        &[("east", &token, &east), ("west", &token, &west)],
    );
    let mut s = Session::start(KubeOptions {
        kubeconfig: Some(kc.clone()),
        contexts: vec!["east".into(), "west".into()],
        ..KubeOptions::default()
    })
    .await;
    s.wait("both contexts live", 30, |f| {
        health(f, "east") == Some(Health::Live)
            && health(f, "west") == Some(Health::Live)
            && has_pod(f, "east", &east, "e1")
            && has_pod(f, "west", &west, "w1")
    })
    .await;
    assert_eq!(
        pods_in(&s.fleet, "east", &west),
        0,
        "east watches its own namespace"
    );
    assert_eq!(pods_in(&s.fleet, "west", &east), 0);
    create_pod(&c, &west, pod("w2", json!({}))).await;
    s.wait("w2 under west", 10, |f| has_pod(f, "west", &west, "w2"))
        .await;
    let units = spotcheck::diagnose::diagnose_fleet(&s.fleet, jiff::Timestamp::now());
    let src = |n: &str| units.iter().find(|u| u.name == n).map(|u| u.source.clone());
    assert_eq!(src("e1").as_deref(), Some("east"));
    assert_eq!(src("w2").as_deref(), Some("west"));

    // The same through the command line, comma-separated.
    let out = spotcheck_bin(&[
        "why",
        "--all",
        "-o",
        "json",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--context",
        "east,west",
    ]);
    let ctx: Vec<(String, String)> = why_pods(&out)
        .into_iter()
        .map(|(c, _, name)| (c, name))
        .collect();
    assert!(ctx.contains(&("east".into(), "e1".into())), "{ctx:?}");
    assert!(ctx.contains(&("west".into(), "w2".into())), "{ctx:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_through_events_k8s_io_when_core_events_are_forbidden() {
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    let c = admin().await;
    let ns = new_namespace(&c, "evv1").await;
    create_pod(&c, &ns, pod("web", json!({}))).await;
    create_event(
        &c,
        &ns,
        "web",
        "FailedScheduling",
        "0/3 nodes are available: 3 Insufficient cpu.",
    )
    .await;
    // Everything in the namespace, events only through events.k8s.io (no nodes: forbidden).
    let role = unique("spotcheck-evv1");
    create_json(
        Api::<Role>::namespaced(c.clone(), &ns),
        json!({"metadata": {"name": role}, "rules": [
            {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["replicasets", "deployments", "statefulsets", "daemonsets"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]}]}),
    )
    .await;
    create_json(
        Api::<RoleBinding>::namespaced(c.clone(), &ns),
        json!({"metadata": {"name": role}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "viewer"}]}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let kc = write_kubeconfig(
        dir.path(),
        &var("SPOTCHECK_TEST_APISERVER"),
        &[("viewer", &var("SPOTCHECK_TEST_VIEWER_TOKEN"), &ns)],
    );
    let mut s = Session::namespace(kc, None, &ns).await;
    s.wait("the event through events.k8s.io/v1", 30, |f| {
        f.kube.get("viewer").is_some_and(|k| {
            k.events_for("Pod", &ns, "web").iter().any(|e| {
                e.reason.as_deref() == Some("FailedScheduling")
                    && e.message.as_deref() == Some("0/3 nodes are available: 3 Insufficient cpu.")
            })
        })
    })
    .await;
    // Nodes are the only kind missing (this viewer has no cluster role here
    // unless another test granted one; either way events are not forbidden).
    s.wait("settled", 30, |f| {
        matches!(
            health(f, "viewer"),
            Some(Health::Live) | Some(Health::Forbidden { .. })
        )
    })
    .await;
    if let Some(Health::Forbidden { what }) = health(&s.fleet, "viewer") {
        assert!(!what.contains("events"), "{what}");
    }
    // Live updates arrive the same way.
    create_event(
        &c,
        &ns,
        "web",
        "BackOff",
        "Back-off restarting failed container",
    )
    .await;
    s.wait("a later event", 10, |f| {
        f.kube["viewer"]
            .events_for("Pod", &ns, "web")
            .iter()
            .any(|e| e.reason.as_deref() == Some("BackOff"))
    })
    .await;
}

/// The real binary in a real terminal (tmux) on the live cluster: the header
/// shows the context live, rows appear, and a status patch reaches the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_shows_the_live_cluster_and_follows_changes() {
    struct Tmux(String);
    impl Tmux {
        fn run(&self, args: &[&str]) -> String {
            let out = Command::new("tmux")
                .args(["-L", &self.0])
                .args(args)
                .output()
                .expect("tmux must be installed (scripts/test installs it)");
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
        fn screen(&self) -> String {
            self.run(&["capture-pane", "-p", "-t", "live"])
        }
        fn wait(&self, what: &str, cond: impl Fn(&str) -> bool) {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            loop {
                let s = self.screen();
                if cond(&s) {
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "no {what} on screen:\n{s}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    impl Drop for Tmux {
        fn drop(&mut self) {
            self.run(&["kill-server"]);
        }
    }
    let c = admin().await;
    let ns = new_namespace(&c, "tui").await;
    create_pod(&c, &ns, pod("web-1", json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("spotcheck.log");
    let tmux = Tmux(unique("spotcheck-live-tui"));
    let cmd = format!(
        "exec env TERM=xterm-256color {} --kubeconfig {} -n {ns} --log-file {}",
        env!("CARGO_BIN_EXE_spotcheck"),
        kubeconfig().display(),
        log.display()
    );
    tmux.run(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "live",
        "-x",
        "160",
        "-y",
        "40",
        &cmd,
    ]);
    tmux.wait("live header and the pending pod", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("kube admin ● live"))
            && s.lines()
                .any(|l| l.contains("web-1") && l.contains("Pending"))
    });
    patch_pod_status(
        &c,
        &ns,
        "web-1",
        json!({"phase": "Running", "containerStatuses": [{
            "name": "app", "image": "registry.local/app:1", "imageID": "", "ready": false,
            "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
    )
    .await;
    tmux.wait("the crash-looping row", |s| {
        s.lines()
            .any(|l| l.contains("web-1") && l.contains("CrashLoopBackOff"))
    });
    // Other tests' nodes (cluster-scoped, shown in every namespace) may fill
    // the table: filter to this test's pods, as an operator would.
    tmux.run(&["send-keys", "-t", "live", "/", "web-", "Enter"]);
    tmux.wait("the filter", |s| s.contains("/web-"));
    create_pod(&c, &ns, pod("web-2", json!({}))).await;
    tmux.wait("the new pod", |s| s.lines().any(|l| l.contains("web-2")));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("kube context loaded"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_from_the_environment_and_its_current_context() {
    let c = admin().await;
    let ns = new_namespace(&c, "envkc").await;
    create_pod(&c, &ns, pod("from-env", json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    // Current context `here` names the namespace: no -n needed, as with kubectl.
    let kc = write_kubeconfig(
        dir.path(),
        &var("SPOTCHECK_TEST_APISERVER"),
        &[("here", &var("SPOTCHECK_TEST_ADMIN_TOKEN"), &ns)],
    );
    let log = dir.path().join("log");
    let out = Command::new(env!("CARGO_BIN_EXE_spotcheck"))
        .arg("--log-file")
        .arg(&log)
        .args(["why", "-o", "json"])
        .env("KUBECONFIG", &kc)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let pods = why_pods(&out);
    assert_eq!(pods, vec![("here".into(), ns.clone(), "from-env".into())]);
}

/// Run in a pod: no kubeconfig anywhere, `KUBERNETES_SERVICE_HOST` set, and
/// the service account's token, CA and namespace at their fixed paths under
/// /var/run/secrets. The files are put there in a private mount namespace
/// (`unshare -rm` and a tmpfs over /run), so nothing outside the one
/// spotcheck process sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_cluster_service_account_and_its_namespace() {
    let c = admin().await;
    let ns = new_namespace(&c, "incluster").await;
    let other = new_namespace(&c, "incluster-other").await;
    create_pod(&c, &ns, pod("in-pod", json!({}))).await;
    create_pod(&c, &other, pod("elsewhere", json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, var("SPOTCHECK_TEST_ADMIN_TOKEN")).unwrap();
    let server = var("SPOTCHECK_TEST_APISERVER");
    let port = server.rsplit(':').next().unwrap().to_string();
    let script = r#"set -e
mount -t tmpfs tmpfs /run
sa=/var/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$sa"
cp "$SA_TOKEN" "$sa/token"
cp "$SA_CA" "$sa/ca.crt"
printf %s "$SA_NAMESPACE" > "$sa/namespace"
exec "$SPOTCHECK" --log-file "$SA_LOG" why -o json"#;
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", script])
        .env_remove("KUBECONFIG")
        .env("HOME", dir.path())
        .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBERNETES_SERVICE_PORT", &port)
        .env("SA_TOKEN", &token)
        .env("SA_CA", var("SPOTCHECK_TEST_CA"))
        .env("SA_NAMESPACE", &ns)
        .env("SA_LOG", dir.path().join("log"))
        .env("SPOTCHECK", env!("CARGO_BIN_EXE_spotcheck"))
        .output()
        .expect("unshare (util-linux) runs");
    assert_exit(&out, 1);
    let pods = why_pods(&out);
    // The service account's namespace only, as kubectl in a pod does.
    assert_eq!(
        pods,
        vec![("in-cluster".into(), ns.clone(), "in-pod".into())]
    );
}

/// `why` over two contexts, one of them unreachable: the reachable one's
/// diagnosis is printed, the other is named on stderr after 10 s, exit 2 —
/// not a 60 s wait that ends with nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn why_prints_what_it_could_read_when_one_context_is_down() {
    let c = admin().await;
    let ns = new_namespace(&c, "halfdown").await;
    create_pod(&c, &ns, pod("still-here", json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n\
             - name: up\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n\
             - name: down\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\n\
             users:\n- name: u\n  user:\n    token: {token}\n\
             contexts:\n- name: up\n  context: {{cluster: up, user: u, namespace: {ns}}}\n\
             - name: down\n  context: {{cluster: down, user: u}}\n\
             current-context: up\n",
            server = var("SPOTCHECK_TEST_APISERVER"),
            ca = var("SPOTCHECK_TEST_CA"),
            token = var("SPOTCHECK_TEST_ADMIN_TOKEN"),
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_spotcheck"))
        .arg("--log-file")
        .arg(dir.path().join("log"))
        .args(["why", "-o", "json", "--context", "up,down", "--kubeconfig"])
        .arg(&kc)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("kube:down") && err.contains("reconnecting"),
        "{err}"
    );
    let pods = why_pods(&out);
    assert!(
        pods.iter().any(|(c, _, n)| c == "up" && n == "still-here"),
        "{pods:?}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// EKS kubeconfigs get their token from a credential plugin (`aws eks
/// get-token`). It works; when it cannot run or fails, the error names the
/// command and what it printed; and under the TUI it never gets the
/// terminal (its stderr is captured into the message instead).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_plugins_work_and_their_failures_are_explained() {
    let c = admin().await;
    let ns = new_namespace(&c, "execauth").await;
    create_pod(&c, &ns, pod("via-plugin", json!({}))).await;
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("get-token");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\necho 'WARNING: a noisy plugin' >&2\n\
             case \"$1\" in ok) ;; *) echo 'Error loading SSO Token: Token for acme does not exist' >&2; exit 255;; esac\n\
             printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"%s\"}}}}' '{}'\n",
            var("SPOTCHECK_TEST_ADMIN_TOKEN")
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x"])
        .arg(&plugin)
        .status()
        .unwrap();
    let kc = |name: &str, command: &str, arg: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority: {}\n\
                 users:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {command}\n      args: [{arg}]\n\
                 contexts:\n- name: prod-eks\n  context: {{cluster: c, user: u, namespace: {ns}}}\ncurrent-context: prod-eks\n",
                var("SPOTCHECK_TEST_APISERVER"),
                var("SPOTCHECK_TEST_CA"),
            ),
        )
        .unwrap();
        path
    };
    let run = |args: &[&str], config: &Path| {
        Command::new(env!("CARGO_BIN_EXE_spotcheck"))
            .arg("--log-file")
            .arg(dir.path().join("log"))
            .args(args)
            .arg("--kubeconfig")
            .arg(config)
            .env_remove("KUBECONFIG")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let plugin = plugin.display().to_string();

    // The plugin's token reads the cluster.
    let out = run(&["why", "-o", "json"], &kc("ok", &plugin, "ok"));
    assert_exit(&out, 1);
    let pods = why_pods(&out);
    assert!(pod_named(&pods, "via-plugin"), "{pods:?}");

    // Not installed: which command, and what to check.
    let out = run(&["why"], &kc("missing", "aws-not-installed", "eks"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("context prod-eks: cannot run the credential plugin `aws-not-installed eks`")
            && err.contains("on PATH"),
        "{err}"
    );

    // Fails under the TUI: exit 2 before the TUI, the plugin's own last
    // line in the message (captured, not written to the terminal), and no
    // process structure or KUBERNETES_EXEC_INFO dump.
    let out = run(&["-A"], &kc("expired", &plugin, "expired"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "failed (exit code 255): Error loading SSO Token: Token for acme does not exist"
        ),
        "{err}"
    );
    assert!(
        !err.contains("KUBERNETES_EXEC_INFO") && !err.contains("noisy"),
        "{err}"
    );
}

/// A bastion behind a corporate proxy: `HTTPS_PROXY` is honoured (CONNECT
/// through the proxy), and `NO_PROXY` bypasses it. The proxy is a minimal
/// real one (tests/support/proxy.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_and_no_proxy_are_honoured() {
    let c = admin().await;
    let ns = new_namespace(&c, "proxy").await;
    create_pod(&c, &ns, pod("behind-proxy", json!({}))).await;

    let (proxy, connects) = proxy::start().await;

    let dir = tempfile::tempdir().unwrap();
    let kc = write_kubeconfig(
        dir.path(),
        &var("SPOTCHECK_TEST_APISERVER"),
        &[("admin", &var("SPOTCHECK_TEST_ADMIN_TOKEN"), &ns)],
    );
    let why = |no_proxy: &str| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_spotcheck"));
        cmd.arg("--log-file")
            .arg(dir.path().join("log"))
            .args(["why", "-o", "json", "--kubeconfig"])
            .arg(&kc)
            .env_remove("KUBECONFIG")
            .env_remove("https_proxy")
            .env_remove("no_proxy")
            .env("HTTPS_PROXY", &proxy)
            .env("NO_PROXY", no_proxy);
        cmd.output()
    };
    let out = why("").await.unwrap();
    assert_exit(&out, 1);
    let pods = why_pods(&out);
    assert!(pod_named(&pods, "behind-proxy"), "{pods:?}");
    let through = connects.load(Ordering::SeqCst);
    assert!(through > 0, "no CONNECT reached the proxy");

    let out = why("127.0.0.1").await.unwrap();
    assert_exit(&out, 1);
    assert_eq!(
        connects.load(Ordering::SeqCst),
        through,
        "NO_PROXY=127.0.0.1 must bypass the proxy"
    );
}
