//! Live Kubernetes: one watch task per (context, kind) feeding [`SourceTx`],
//! and one health task per context.
//!
//! Contexts come from the kubeconfig (`--kubeconfig`, else `$KUBECONFIG`,
//! else `~/.kube/config`) or, with none of those, from the pod's service
//! account. Every client is read-only below the UI ([`guard`]). Watches use
//! kube-runtime's watcher (paginated initial list, then a watch that resumes
//! from the last resource version, relisting after 410 Gone); nothing is
//! re-listed on a timer.

pub mod guard;
pub mod watch;

use std::path::PathBuf;
use std::sync::Arc;

use crate::model::objects::{Event, Pod};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim};
use k8s_openapi::api::events::v1::Event as EventV1;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{KubeObject, SourceTx};

/// What to watch.
#[derive(Clone, Debug, Default)]
pub struct KubeOptions {
    pub kubeconfig: Option<PathBuf>,
    /// Empty = the current context.
    pub contexts: Vec<String>,
    pub all_contexts: bool,
    /// `-n NS`: this namespace in every context.
    pub namespace: Option<String>,
    /// `-A`: all namespaces. Without `-n` and `-A`, each context's own
    /// namespace (`default` when it names none), as kubectl does.
    pub all_namespaces: bool,
    /// Whether a kubeconfig credential plugin (`users[].user.exec`, e.g.
    /// `aws eks get-token`) may use the terminal, as kubectl lets it: true
    /// for `why`. False under the TUI: EKS tokens expire every 15 minutes and
    /// the plugin runs again mid-session, where its warnings would be drawn
    /// over the screen and a prompt would read keys meant for spotcheck. Its
    /// output is captured instead and shown in the context's health.
    pub interactive_auth: bool,
}

/// A problem found before anything is watched (broken kubeconfig, unknown
/// context): reported before the TUI starts, exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// Context name used for the in-cluster (service account) configuration.
pub const IN_CLUSTER: &str = "in-cluster";

/// The kinds watched per context, in health-report order.
pub const KINDS: &[&str] = &[
    "pods",
    "nodes",
    "events",
    "replicasets",
    "deployments",
    "statefulsets",
    "daemonsets",
    "jobs",
    "persistentvolumeclaims",
];

/// One resolved context: a read-only client and the namespace to watch.
pub struct Target {
    pub context: String,
    pub client: kube::Client,
    /// `None` = all namespaces.
    pub namespace: Option<String>,
}

/// Resolves the contexts and starts one watcher task per context and kind.
/// Each sends `Health` events for its context and never ends on an error.
pub async fn start(opts: &KubeOptions, tx: SourceTx) -> Result<Vec<JoinHandle<()>>, SetupError> {
    let targets = resolve(opts).await?;
    let mut handles = Vec::new();
    for t in targets {
        handles.extend(spawn_context(t, tx.clone()));
    }
    Ok(handles)
}

/// Reads the kubeconfig and builds one read-only client per context asked for.
pub async fn resolve(opts: &KubeOptions) -> Result<Vec<Target>, SetupError> {
    let Some((kubeconfig, origin)) = read_kubeconfig(opts)? else {
        // No kubeconfig anywhere: in a pod, use the service account.
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            if let Some(c) = opts.contexts.iter().find(|c| c.as_str() != IN_CLUSTER) {
                return Err(SetupError(format!(
                    "unknown context {c:?}: no kubeconfig found; in a pod the only context is {IN_CLUSTER}"
                )));
            }
            let config = kube::Config::incluster().map_err(|e| {
                SetupError(format!("in-cluster configuration (service account): {e}"))
            })?;
            let namespace = namespace_for(opts, &config.default_namespace);
            let client = client(config, IN_CLUSTER, None)?;
            return Ok(vec![Target {
                context: IN_CLUSTER.into(),
                client,
                namespace,
            }]);
        }
        return Err(SetupError(
            "no kubeconfig: set KUBECONFIG or pass --kubeconfig PATH \
             (or --no-kube with --aws to watch AWS only)"
                .into(),
        ));
    };
    let mut kubeconfig = kubeconfig;
    if !opts.interactive_auth {
        for exec in kubeconfig
            .auth_infos
            .iter_mut()
            .filter_map(|a| a.auth_info.as_mut()?.exec.as_mut())
        {
            exec.interactive_mode = Some(kube::config::ExecInteractiveMode::Never);
        }
    }
    let names = context_names(opts, &kubeconfig, &origin)?;
    // Contexts are set up side by side: kube runs a credential plugin
    // (`aws eks get-token`, ~1 s) three times while building one client, so
    // ten EKS contexts one after the other kept the screen blank for 30 s.
    let setups = names.into_iter().map(|name| {
        let (kubeconfig, origin) = (kubeconfig.clone(), origin.clone());
        tokio::task::spawn_blocking(move || {
            tokio::runtime::Handle::current().block_on(connect(kubeconfig, name, origin))
        })
    });
    let mut out = Vec::new();
    for setup in futures::future::join_all(setups).await {
        let (context, default_namespace, client) =
            setup.map_err(|e| SetupError(format!("context setup failed: {e}")))??;
        out.push(Target {
            namespace: namespace_for(opts, &default_namespace),
            context,
            client,
        });
    }
    Ok(out)
}

/// One context's read-only client and its default namespace.
async fn connect(
    kubeconfig: Kubeconfig,
    name: String,
    origin: String,
) -> Result<(String, String, kube::Client), SetupError> {
    let options = KubeConfigOptions {
        context: Some(name.clone()),
        ..KubeConfigOptions::default()
    };
    let plugin = exec_command(&kubeconfig, &name);
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| {
            SetupError(format!(
                "context {name} in {origin}: {}",
                explain(&e, plugin.as_deref())
            ))
        })?;
    let default_namespace = config.default_namespace.clone();
    let client = client(config, &name, plugin.as_deref())?;
    Ok((name, default_namespace, client))
}

fn namespace_for(opts: &KubeOptions, context_default: &str) -> Option<String> {
    match (&opts.namespace, opts.all_namespaces) {
        (Some(ns), _) => Some(ns.clone()),
        (None, true) => None,
        (None, false) => Some(context_default.to_string()),
    }
}

/// The kubeconfig and where it came from, or `None` when there is none at all.
fn read_kubeconfig(opts: &KubeOptions) -> Result<Option<(Kubeconfig, String)>, SetupError> {
    if let Some(path) = &opts.kubeconfig {
        let shown = path.display().to_string();
        let kc = Kubeconfig::read_from(path)
            .map_err(|e| SetupError(format!("cannot read kubeconfig {shown}: {}", chain(&e))))?;
        return Ok(Some((kc, shown)));
    }
    if let Some(v) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let shown = format!("KUBECONFIG={}", v.to_string_lossy());
        let kc = Kubeconfig::from_env()
            .map_err(|e| SetupError(format!("cannot read {shown}: {}", chain(&e))))?;
        return Ok(kc.map(|kc| (kc, shown)));
    }
    let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) else {
        return Ok(None);
    };
    let path = home.join(".kube").join("config");
    if !path.exists() {
        return Ok(None);
    }
    let shown = path.display().to_string();
    let kc = Kubeconfig::read_from(&path)
        .map_err(|e| SetupError(format!("cannot read kubeconfig {shown}: {}", chain(&e))))?;
    Ok(Some((kc, shown)))
}

fn context_names(
    opts: &KubeOptions,
    kc: &Kubeconfig,
    origin: &str,
) -> Result<Vec<String>, SetupError> {
    let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
    let list = || {
        if known.is_empty() {
            "it has no contexts".to_string()
        } else {
            format!("it has: {}", known.join(", "))
        }
    };
    if opts.all_contexts {
        if known.is_empty() {
            return Err(SetupError(format!(
                "--all-contexts: {origin} has no contexts"
            )));
        }
        return Ok(known.iter().map(|s| s.to_string()).collect());
    }
    if !opts.contexts.is_empty() {
        let mut out: Vec<String> = Vec::new();
        for c in &opts.contexts {
            let c = c.trim();
            if c.is_empty() || out.iter().any(|o| o == c) {
                continue;
            }
            if !known.contains(&c) {
                return Err(SetupError(format!(
                    "unknown context {c:?} in {origin}; {}",
                    list()
                )));
            }
            out.push(c.to_string());
        }
        return Ok(out);
    }
    match kc.current_context.as_deref().filter(|c| !c.is_empty()) {
        Some(c) if known.contains(&c) => Ok(vec![c.to_string()]),
        Some(c) => Err(SetupError(format!(
            "current-context {c:?} of {origin} is not defined there; {} (pass --context NAME)",
            list()
        ))),
        None => Err(SetupError(format!(
            "{origin} sets no current-context; pass --context NAME ({})",
            list()
        ))),
    }
}

/// A client that can only read: every non-GET request is refused below kube.
fn client(
    config: kube::Config,
    context: &str,
    plugin: Option<&str>,
) -> Result<kube::Client, SetupError> {
    let builder = kube::client::ClientBuilder::try_from(config)
        .map_err(|e| SetupError(format!("context {context}: {}", explain(&e, plugin))))?;
    Ok(builder.with_layer(&guard::ReadOnlyLayer).build())
}

/// The credential plugin the context's user runs (`aws eks get-token
/// --cluster-name prod`), when it has one.
fn exec_command(kc: &Kubeconfig, context: &str) -> Option<String> {
    let user = kc
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?
        .user
        .as_deref()?;
    let exec = kc
        .auth_infos
        .iter()
        .find(|a| a.name == user)?
        .auth_info
        .as_ref()?
        .exec
        .as_ref()?;
    let mut words = vec![exec.command.clone()?];
    words.extend(exec.args.iter().flatten().cloned());
    Some(words.join(" "))
}

/// An error as the operator should read it: a failed credential plugin
/// says which command failed and what it printed (not the raw process
/// structure with its environment); anything else is the error chain.
pub(crate) fn explain(e: &(dyn std::error::Error + 'static), plugin: Option<&str>) -> String {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(auth) = err.downcast_ref::<kube::client::AuthError>() {
            if let Some(text) = plugin_failure(auth, plugin) {
                return text;
            }
        }
        cur = err.source();
    }
    chain(e)
}

/// What a failed credential plugin means, or `None` for other auth errors.
pub(crate) fn plugin_failure(e: &kube::client::AuthError, plugin: Option<&str>) -> Option<String> {
    use kube::client::AuthError;
    let what = match plugin {
        Some(p) => format!("the credential plugin `{p}`"),
        None => "the kubeconfig's credential plugin".to_string(),
    };
    match e {
        AuthError::AuthExecStart(io) => Some(format!(
            "cannot run {what}: {io} (is it installed and on PATH?)"
        )),
        AuthError::AuthExecRun { out, .. } => {
            let said = |b: &[u8]| {
                String::from_utf8_lossy(b)
                    .lines()
                    .map(str::trim)
                    .rfind(|l| !l.is_empty())
                    .map(str::to_string)
            };
            let said = said(&out.stderr).or_else(|| said(&out.stdout));
            let code = out
                .status
                .code()
                .map_or_else(|| out.status.to_string(), |c| format!("exit code {c}"));
            Some(match said {
                Some(line) => format!("{what} failed ({code}): {line}"),
                None => format!("{what} failed ({code})"),
            })
        }
        _ => None,
    }
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Starts the watch tasks and the health task of one context.
pub fn spawn_context(t: Target, tx: SourceTx) -> Vec<JoinHandle<()>> {
    let context: Arc<str> = Arc::from(t.context.as_str());
    let (report, reports) = mpsc::unbounded_channel();
    let mut handles = vec![tokio::spawn(watch::health(
        context.clone(),
        KINDS.to_vec(),
        reports,
        tx.clone(),
    ))];
    tracing::info!(
        context = %context,
        namespace = t.namespace.as_deref().unwrap_or("<all>"),
        "kube: watching"
    );
    let ns = t.namespace.as_deref();
    let c = &t.client;
    let mut spawn = |h: JoinHandle<()>| handles.push(h);
    macro_rules! kind {
        ($ty:ty, $idx:expr, $api:expr, $wrap:expr) => {
            spawn(tokio::spawn(watch::run::<$ty>(watch::WatchSpec {
                context: context.clone(),
                client: c.clone(),
                api: $api,
                kind: $idx,
                plural: KINDS[$idx],
                wrap: $wrap,
                tx: tx.clone(),
                report: report.clone(),
            })))
        };
    }
    kind!(Pod, 0, scoped(c, ns), KubeObject::Pod);
    kind!(Node, 1, Api::all(c.clone()), KubeObject::Node);
    // Events: core/v1, or events.k8s.io/v1 where core/v1 is forbidden but
    // the newer API is served and allowed (the same objects, mapped back).
    {
        let (context, client, ns) = (context.clone(), c.clone(), t.namespace.clone());
        let (tx, report) = (tx.clone(), report.clone());
        spawn(tokio::spawn(async move {
            if prefer_events_v1(&client, ns.as_deref()).await {
                tracing::info!(context = %context, "events: core/v1 forbidden; watching events.k8s.io/v1");
                watch::run::<EventV1>(watch::WatchSpec {
                    context,
                    api: scoped(&client, ns.as_deref()),
                    client,
                    kind: 2,
                    plural: KINDS[2],
                    wrap: core_event,
                    tx,
                    report,
                })
                .await
            } else {
                watch::run::<Event>(watch::WatchSpec {
                    context,
                    api: scoped(&client, ns.as_deref()),
                    client,
                    kind: 2,
                    plural: KINDS[2],
                    wrap: KubeObject::Event,
                    tx,
                    report,
                })
                .await
            }
        }));
    }
    kind!(ReplicaSet, 3, scoped(c, ns), KubeObject::ReplicaSet);
    kind!(Deployment, 4, scoped(c, ns), KubeObject::Deployment);
    kind!(StatefulSet, 5, scoped(c, ns), KubeObject::StatefulSet);
    kind!(DaemonSet, 6, scoped(c, ns), KubeObject::DaemonSet);
    kind!(Job, 7, scoped(c, ns), KubeObject::Job);
    kind!(
        PersistentVolumeClaim,
        8,
        scoped(c, ns),
        KubeObject::PersistentVolumeClaim
    );
    handles
}

/// Whether to read events through events.k8s.io/v1: only when core/v1
/// events are forbidden (403) and the newer API answers.
async fn prefer_events_v1(client: &kube::Client, namespace: Option<&str>) -> bool {
    let one = kube::api::ListParams::default().limit(1);
    match scoped::<Event>(client, namespace).list_metadata(&one).await {
        Err(kube::Error::Api(s)) if s.code == 403 => scoped::<EventV1>(client, namespace)
            .list_metadata(&one)
            .await
            .is_ok(),
        _ => false,
    }
}

/// An events.k8s.io/v1 Event as the core/v1 Event the model keeps, with the
/// API server's own field mapping (regarding → involvedObject, note → message,
/// deprecated* → count/first/last timestamps/source).
pub fn core_event(e: Box<EventV1>) -> KubeObject {
    let e = *e;
    KubeObject::Event(Box::new(Event {
        metadata: e.metadata,
        involved_object: e.regarding.unwrap_or_default(),
        reason: e.reason,
        message: e.note,
        type_: e.type_,
        count: e.deprecated_count,
        first_timestamp: e.deprecated_first_timestamp,
        last_timestamp: e.deprecated_last_timestamp,
        source: e.deprecated_source,
        event_time: e.event_time,
        series: e.series.map(|s| k8s_openapi::api::core::v1::EventSeries {
            count: Some(s.count),
            last_observed_time: Some(s.last_observed_time),
        }),
        reporting_component: e.reporting_controller,
        reporting_instance: e.reporting_instance,
    }))
}

fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kc(yaml: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(yaml).expect("valid kubeconfig")
    }

    const TWO: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: a\n  context: {cluster: c, user: u, namespace: shop}\n- name: b\n  context: {cluster: c, user: u}\ncurrent-context: a\n";

    #[test]
    fn current_context_by_default() {
        let names = context_names(&KubeOptions::default(), &kc(TWO), "x").unwrap();
        assert_eq!(names, vec!["a"]);
    }

    #[test]
    fn named_all_and_unknown_contexts() {
        let o = KubeOptions {
            contexts: vec!["b".into(), "a".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(context_names(&o, &kc(TWO), "x").unwrap(), vec!["b", "a"]);
        let o = KubeOptions {
            all_contexts: true,
            ..Default::default()
        };
        assert_eq!(context_names(&o, &kc(TWO), "x").unwrap(), vec!["a", "b"]);
        let o = KubeOptions {
            contexts: vec!["prod".into()],
            ..Default::default()
        };
        let e = context_names(&o, &kc(TWO), "/k").unwrap_err().to_string();
        assert!(e.contains("unknown context \"prod\" in /k"), "{e}");
        assert!(e.contains("it has: a, b"), "{e}");
    }

    #[test]
    fn namespace_like_kubectl() {
        let mut o = KubeOptions::default();
        assert_eq!(namespace_for(&o, "shop").as_deref(), Some("shop"));
        o.all_namespaces = true;
        assert_eq!(namespace_for(&o, "shop"), None);
        o.namespace = Some("web".into());
        assert_eq!(namespace_for(&o, "shop").as_deref(), Some("web"));
    }

    #[test]
    fn events_v1_map_to_core_events() {
        let e: EventV1 = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web.1", "namespace": "shop"},
            "eventTime": "2026-11-30T03:00:00.000000Z",
            "regarding": {"kind": "Pod", "name": "web", "namespace": "shop"},
            "reason": "FailedScheduling", "note": "0/3 nodes are available", "type": "Warning",
            "reportingController": "default-scheduler", "reportingInstance": "s-1",
            "series": {"count": 4, "lastObservedTime": "2026-11-30T03:03:00.000000Z"},
            "deprecatedCount": 4
        }))
        .unwrap();
        let KubeObject::Event(c) = core_event(Box::new(e)) else {
            unreachable!()
        };
        assert_eq!(c.involved_object.name.as_deref(), Some("web"));
        assert_eq!(c.message.as_deref(), Some("0/3 nodes are available"));
        assert_eq!(c.reason.as_deref(), Some("FailedScheduling"));
        assert_eq!(c.count, Some(4));
        assert_eq!(c.series.unwrap().count, Some(4));
        assert_eq!(c.reporting_component.as_deref(), Some("default-scheduler"));
    }

    #[tokio::test]
    async fn contexts_resolve_with_their_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, TWO).unwrap();
        let o = KubeOptions {
            kubeconfig: Some(path),
            all_contexts: true,
            ..Default::default()
        };
        let t = resolve(&o).await.unwrap();
        let got: Vec<(String, Option<String>)> =
            t.into_iter().map(|t| (t.context, t.namespace)).collect();
        assert_eq!(
            got,
            vec![
                ("a".to_string(), Some("shop".to_string())),
                ("b".to_string(), Some("default".to_string()))
            ]
        );
    }

    #[tokio::test]
    async fn broken_kubeconfig_is_a_setup_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "clusters: [ this is not yaml").unwrap();
        let o = KubeOptions {
            kubeconfig: Some(path.clone()),
            ..Default::default()
        };
        let e = resolve(&o).await.err().unwrap().to_string();
        assert!(e.contains("cannot read kubeconfig"), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
    }
}
