//! One watch task per (context, kind), and one health task per context that
//! folds the kinds' states into the context's [`Health`].

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::api::Api;
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::sources::{Health, KubeObject, Observed, SourceEvent, SourceId, SourceTx};

/// Objects per page of the initial list: rows appear as pages arrive.
pub const PAGE_SIZE: u32 = 500;

/// Objects of the initial list between two progress reports.
const PROGRESS_EVERY: usize = 100;

/// Annotation prefixes the diagnosis may use; every other annotation is dropped.
const KEEP_ANNOTATIONS: &[&str] = &["karpenter.sh/", "cluster-autoscaler.kubernetes.io/"];

/// What one (context, kind) watch is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KindState {
    Connecting,
    /// Initial list (or relist) in progress.
    Loading,
    Live,
    /// 403 on this kind: the rest of the context keeps working.
    Forbidden(String),
    /// 401: the credentials were rejected.
    Unauthorized(String),
    /// The API server cannot be reached, or the watch broke; retrying.
    Reconnecting(String),
    /// Another error; retrying.
    Failed(String),
}

/// A watch task's report to its context's health task.
#[derive(Clone, Debug)]
pub struct KindReport {
    pub kind: usize,
    pub state: KindState,
    /// Objects of this kind currently known.
    pub count: u64,
}

/// Exponential backoff with a cap, reset once the watch is healthy again.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            next: min,
            min,
            max,
        }
    }
    /// The delay to wait now; doubles the next one.
    pub fn step(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// A key of an object within its kind: `(namespace, name)`.
type Key = (String, String);

fn key_of(meta: &ObjectMeta) -> Key {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// Drops what spotcheck never reads before the object is stored:
/// `managedFields` (often half of an object) and annotations such as
/// `kubectl.kubernetes.io/last-applied-configuration`.
pub fn strip(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.retain(|k, _| KEEP_ANNOTATIONS.iter().any(|p| k.starts_with(p)));
        if a.is_empty() {
            meta.annotations = None;
        }
    }
}

/// Drops the parts of nodes no diagnosis, view or timeline reads, and the
/// spare capacity of their lists (serde grows a list of one entry to room
/// for four). Pods and events need nothing here: their slim types
/// ([`crate::model::objects`]) skip what is not kept while parsing.
pub fn slim(obj: &mut KubeObject) {
    fn shrink<T>(v: &mut Option<Vec<T>>) {
        if let Some(v) = v.as_mut() {
            v.shrink_to_fit();
        }
    }
    if let KubeObject::Node(n) = obj {
        if let Some(st) = n.status.as_mut() {
            // Often dozens of image names per node; nothing reads them.
            st.images = None;
            st.volumes_attached = None;
            st.volumes_in_use = None;
            shrink(&mut st.conditions);
            shrink(&mut st.addresses);
        }
        if let Some(spec) = n.spec.as_mut() {
            shrink(&mut spec.taints);
        }
    }
}

/// How an error of the watch looks to the operator.
pub fn classify(context: &str, kind_plural: &str, err: &watcher::Error) -> KindState {
    let inner = match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e,
        watcher::Error::WatchError(status) => {
            return match status.code {
                403 => KindState::Forbidden(kind_plural.to_string()),
                401 => KindState::Unauthorized(unauthorized(context)),
                // Expired resource version: the watcher relists by itself.
                410 => KindState::Loading,
                _ => KindState::Failed(format!("{kind_plural}: {}", status.message)),
            };
        }
        watcher::Error::NoResourceVersion => {
            return KindState::Failed(format!("{kind_plural}: no resourceVersion in the answer"));
        }
    };
    match inner {
        kube::Error::Api(status) if status.code == 403 => {
            KindState::Forbidden(kind_plural.to_string())
        }
        kube::Error::Api(status) if status.code == 401 => {
            KindState::Unauthorized(unauthorized(context))
        }
        kube::Error::Api(status) if status.code == 410 => KindState::Loading,
        kube::Error::Api(status) if status.code >= 500 => KindState::Reconnecting(format!(
            "API server error {}: {}",
            status.code, status.message
        )),
        kube::Error::Api(status) => KindState::Failed(format!(
            "{kind_plural}: {} ({})",
            status.message, status.code
        )),
        // A credential plugin that fails when the token is refreshed (an
        // expired SSO session behind `aws eks get-token`).
        kube::Error::Auth(e) => match super::plugin_failure(e, None) {
            Some(why) => KindState::Unauthorized(format!(
                "credentials of context {context}: {why}; log in again (e.g. `aws sso login`), \
                 then check with `kubectl --context {context} get pods`"
            )),
            None => KindState::Unauthorized(format!("{}: {e}", unauthorized(context))),
        },
        kube::Error::HyperError(e) => KindState::Reconnecting(unreachable(e)),
        kube::Error::Service(e) => KindState::Reconnecting(unreachable(e.as_ref())),
        kube::Error::ReadEvents(e) => KindState::Reconnecting(unreachable(e)),
        other => KindState::Failed(format!("{kind_plural}: {}", short(&other.to_string()))),
    }
}

fn unauthorized(context: &str) -> String {
    format!(
        "credentials of context {context} rejected (401 Unauthorized): log in again \
         (e.g. `aws sso login` / `gcloud auth login`), then check with \
         `kubectl --context {context} get pods`"
    )
}

/// `API server unreachable: Connection refused (os error 111)`: the innermost
/// cause says what is wrong (refused, timed out, certificate, DNS).
fn unreachable(e: &(dyn std::error::Error + 'static)) -> String {
    let mut root = e;
    while let Some(c) = root.source() {
        root = c;
    }
    short(&format!("API server unreachable: {root}"))
}

fn short(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

/// One kind to watch in one context.
pub struct WatchSpec<K> {
    pub context: Arc<str>,
    pub client: kube::Client,
    pub api: Api<K>,
    /// Index of this kind in the context's health task.
    pub kind: usize,
    /// `pods`, `events`, … for messages.
    pub plural: &'static str,
    pub wrap: fn(Box<K>) -> KubeObject,
    pub tx: SourceTx,
    pub report: mpsc::UnboundedSender<KindReport>,
}

/// Watches one kind until the receiver of `tx` is gone. Never ends on an
/// error: reports it, backs off, and carries on (the watcher resumes from
/// the last resource version, or relists after 410 Gone).
pub async fn run<K>(spec: WatchSpec<K>)
where
    K: Resource<DynamicType = ()> + Clone + Default + DeserializeOwned + Debug + Send + 'static,
{
    let WatchSpec {
        context,
        client,
        api,
        kind,
        plural,
        wrap,
        tx,
        report,
    } = spec;
    let cfg = watcher::Config::default().page_size(PAGE_SIZE);
    let mut stream = watcher(api, cfg).boxed();
    // Keys sent and not deleted since; `seen` collects a relist's keys.
    let mut known: HashSet<Key> = HashSet::new();
    let mut seen: HashSet<Key> = HashSet::new();
    let mut relisting = false;
    let mut state = KindState::Connecting;
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(8));
    let started = Instant::now();
    let mut first_list = true;
    let send_report = |state: &KindState, count: u64| {
        let _ = report.send(KindReport {
            kind,
            state: state.clone(),
            count,
        });
    };
    send_report(&state, 0);
    let send = |event: SourceEvent| {
        tx.send(Observed {
            at: jiff::Timestamp::now(),
            event,
        })
        .is_ok()
    };
    loop {
        // A resumed watch says nothing until an object changes: while
        // reconnecting, ask the server once a second whether it is back.
        let item = if matches!(state, KindState::Reconnecting(_)) {
            tokio::select! {
                item = stream.next() => item,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if !relisting && client.apiserver_version().await.is_ok() {
                        state = KindState::Live;
                        backoff.reset();
                        send_report(&state, known.len() as u64);
                    }
                    continue;
                }
            }
        } else {
            stream.next().await
        };
        let Some(item) = item else { break };
        match item {
            Ok(watcher::Event::Init) => {
                relisting = true;
                seen.clear();
                state = KindState::Loading;
                send_report(&state, known.len() as u64);
            }
            Ok(watcher::Event::InitApply(mut obj)) => {
                strip(obj.meta_mut());
                let key = key_of(obj.meta());
                seen.insert(key.clone());
                known.insert(key);
                let mut object = wrap(Box::new(obj));
                slim(&mut object);
                if !send(SourceEvent::KubeApply {
                    context: context.to_string(),
                    object,
                }) {
                    return;
                }
                // Progress every 100 objects, not per object: the count in
                // the header keeps up with the rows without a health change
                // per object.
                if seen.len() % PROGRESS_EVERY == 0 {
                    send_report(&state, seen.len() as u64);
                }
            }
            Ok(watcher::Event::InitDone) => {
                // Whatever was known before the relist and not listed again
                // was deleted meanwhile (e.g. while the API server was away).
                let gone: Vec<Key> = known.difference(&seen).cloned().collect();
                for (namespace, name) in &gone {
                    let mut obj = K::default();
                    *obj.meta_mut() = ObjectMeta {
                        namespace: (!namespace.is_empty()).then(|| namespace.clone()),
                        name: Some(name.clone()),
                        ..ObjectMeta::default()
                    };
                    if !send(SourceEvent::KubeDelete {
                        context: context.to_string(),
                        object: wrap(Box::new(obj)),
                    }) {
                        return;
                    }
                }
                known = std::mem::take(&mut seen);
                relisting = false;
                state = KindState::Live;
                backoff.reset();
                send_report(&state, known.len() as u64);
                let elapsed_ms = started.elapsed().as_millis() as u64;
                if first_list {
                    first_list = false;
                    tracing::info!(
                        context = %context,
                        kind = plural,
                        count = known.len(),
                        elapsed_ms,
                        "kube initial list done"
                    );
                } else {
                    tracing::info!(
                        context = %context,
                        kind = plural,
                        count = known.len(),
                        removed = gone.len(),
                        "kube relist done"
                    );
                }
            }
            Ok(watcher::Event::Apply(mut obj)) => {
                strip(obj.meta_mut());
                known.insert(key_of(obj.meta()));
                let mut object = wrap(Box::new(obj));
                slim(&mut object);
                if !send(SourceEvent::KubeApply {
                    context: context.to_string(),
                    object,
                }) {
                    return;
                }
                if state != KindState::Live && !relisting {
                    state = KindState::Live;
                    backoff.reset();
                    send_report(&state, known.len() as u64);
                }
            }
            Ok(watcher::Event::Delete(obj)) => {
                known.remove(&key_of(obj.meta()));
                if !send(SourceEvent::KubeDelete {
                    context: context.to_string(),
                    object: wrap(Box::new(obj)),
                }) {
                    return;
                }
            }
            Err(err) => {
                let new = classify(&context, plural, &err);
                let delay = match &new {
                    // 410 Gone: the watcher relists on the next poll, at once.
                    KindState::Loading => Duration::ZERO,
                    _ => backoff.step(),
                };
                tracing::warn!(
                    context = %context,
                    kind = plural,
                    retry_ms = delay.as_millis() as u64,
                    "kube watch: {err}"
                );
                if new != state {
                    state = new;
                    send_report(&state, known.len() as u64);
                }
                if tx.is_closed() {
                    return;
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Folds the states of one context's kinds into the context's [`Health`] and
/// sends it whenever it changes. Ends when every watch task has ended.
pub async fn health(
    context: Arc<str>,
    kinds: Vec<&'static str>,
    mut reports: mpsc::UnboundedReceiver<KindReport>,
    tx: SourceTx,
) {
    let source = SourceId::kube(&context);
    let mut states = vec![(KindState::Connecting, 0u64); kinds.len()];
    let mut last: Option<Health> = None;
    let started = Instant::now();
    let mut loaded_logged = false;
    while let Some(r) = reports.recv().await {
        if let Some(s) = states.get_mut(r.kind) {
            *s = (r.state, r.count);
        }
        // Coalesce a burst of reports into one health change.
        while let Ok(r) = reports.try_recv() {
            if let Some(s) = states.get_mut(r.kind) {
                *s = (r.state, r.count);
            }
        }
        let h = combine(&kinds, &states);
        if !loaded_logged
            && states
                .iter()
                .all(|(s, _)| !matches!(s, KindState::Connecting | KindState::Loading))
        {
            loaded_logged = true;
            tracing::info!(
                context = %context,
                elapsed_ms = started.elapsed().as_millis() as u64,
                objects = states.iter().map(|(_, n)| n).sum::<u64>(),
                health = %h.label(),
                "kube context loaded"
            );
        }
        if last.as_ref() != Some(&h) {
            last = Some(h.clone());
            if tx
                .send(Observed {
                    at: jiff::Timestamp::now(),
                    event: SourceEvent::Health {
                        source: source.clone(),
                        health: h,
                    },
                })
                .is_err()
            {
                return;
            }
        }
    }
}

/// One context's health from its kinds' states, worst first: rejected
/// credentials, unreachable server, loading, other errors, forbidden kinds.
pub fn combine(kinds: &[&'static str], states: &[(KindState, u64)]) -> Health {
    if let Some(msg) = states.iter().find_map(|(s, _)| match s {
        KindState::Unauthorized(m) => Some(m.clone()),
        _ => None,
    }) {
        return Health::Degraded {
            reason: msg,
            forbidden: String::new(),
        };
    }
    if let Some(reason) = states.iter().find_map(|(s, _)| match s {
        KindState::Reconnecting(r) => Some(r.clone()),
        _ => None,
    }) {
        return Health::Reconnecting { reason };
    }
    if states.iter().all(|(s, _)| *s == KindState::Connecting) {
        return Health::Connecting;
    }
    let waiting: Vec<String> = kinds
        .iter()
        .zip(states)
        .filter(|(_, (s, _))| matches!(s, KindState::Connecting | KindState::Loading))
        .map(|(k, _)| k.to_string())
        .collect();
    if !waiting.is_empty() {
        let loaded = states.iter().map(|(_, n)| n).sum();
        return Health::Loading { loaded, waiting };
    }
    let forbidden = kinds
        .iter()
        .zip(states)
        .filter(|(_, (s, _))| matches!(s, KindState::Forbidden(_)))
        .map(|(k, _)| *k)
        .collect::<Vec<&str>>()
        .join(", ");
    let failed: Vec<&str> = states
        .iter()
        .filter_map(|(s, _)| match s {
            KindState::Failed(r) => Some(r.as_str()),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        return Health::Degraded {
            reason: failed.join("; "),
            forbidden,
        };
    }
    if !forbidden.is_empty() {
        return Health::Forbidden { what: forbidden };
    }
    Health::Live
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: &[&str] = &["pods", "nodes", "events"];

    #[test]
    fn forbidden_kind_marks_the_context_but_not_the_others() {
        let s = vec![
            (KindState::Live, 3),
            (KindState::Live, 1),
            (KindState::Forbidden("events".into()), 0),
        ];
        assert_eq!(
            combine(KINDS, &s),
            Health::Forbidden {
                what: "events".into()
            }
        );
    }

    #[test]
    fn loading_counts_every_kind_and_outranks_forbidden() {
        let s = vec![
            (KindState::Loading, 500),
            (KindState::Live, 20),
            (KindState::Forbidden("events".into()), 0),
        ];
        let h = combine(KINDS, &s);
        assert_eq!(
            h,
            Health::Loading {
                loaded: 520,
                waiting: vec!["pods".into()]
            }
        );
        assert_eq!(h.label(), "loading 520 · pods");
        let s = vec![
            (KindState::Loading, 500),
            (KindState::Connecting, 0),
            (KindState::Live, 7),
        ];
        assert_eq!(combine(KINDS, &s).label(), "loading 507 · pods, nodes");
        let all = vec![(KindState::Connecting, 0); 3];
        assert_eq!(combine(KINDS, &all), Health::Connecting);
    }

    #[test]
    fn unauthorized_and_unreachable_win() {
        let s = vec![
            (KindState::Reconnecting("connection refused".into()), 3),
            (KindState::Unauthorized("log in again".into()), 1),
            (KindState::Live, 0),
        ];
        assert_eq!(
            combine(KINDS, &s),
            Health::Degraded {
                reason: "log in again".into(),
                forbidden: String::new(),
            }
        );
        let s = vec![
            (KindState::Reconnecting("connection refused".into()), 3),
            (KindState::Live, 1),
            (KindState::Loading, 0),
        ];
        assert_eq!(
            combine(KINDS, &s),
            Health::Reconnecting {
                reason: "connection refused".into()
            }
        );
    }

    /// A failing kind does not hide a forbidden one: the detail pane and
    /// `why` still name the evidence RBAC withholds.
    #[test]
    fn degraded_keeps_what_is_forbidden() {
        let s = vec![
            (KindState::Failed("pods: 500 etcd timeout".into()), 3),
            (KindState::Live, 1),
            (KindState::Forbidden("events".into()), 0),
        ];
        let h = combine(KINDS, &s);
        assert_eq!(
            h,
            Health::Degraded {
                reason: "pods: 500 etcd timeout".into(),
                forbidden: "events".into(),
            }
        );
        assert_eq!(h.forbidden(), Some("events"));
        assert_eq!(
            h.label(),
            "degraded: pods: 500 etcd timeout; forbidden: events"
        );
    }

    #[test]
    fn all_live_is_live() {
        let s = vec![(KindState::Live, 1); 3];
        assert_eq!(combine(KINDS, &s), Health::Live);
    }

    #[test]
    fn strip_drops_managed_fields_and_unneeded_annotations() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
        let mut meta = ObjectMeta {
            managed_fields: Some(vec![ManagedFieldsEntry::default()]),
            annotations: Some(
                [
                    ("kubectl.kubernetes.io/last-applied-configuration", "{…}"),
                    ("karpenter.sh/do-not-disrupt", "true"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ),
            ..ObjectMeta::default()
        };
        strip(&mut meta);
        assert!(meta.managed_fields.is_none());
        let a = meta.annotations.unwrap();
        assert_eq!(a.len(), 1);
        assert!(a.contains_key("karpenter.sh/do-not-disrupt"));
        let mut bare = ObjectMeta {
            annotations: Some(
                [("deployment.kubernetes.io/revision".to_string(), "3".into())]
                    .into_iter()
                    .collect(),
            ),
            ..ObjectMeta::default()
        };
        strip(&mut bare);
        assert!(bare.annotations.is_none());
    }

    #[test]
    fn slim_keeps_what_the_diagnosis_reads() {
        let node: k8s_openapi::api::core::v1::Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1", "labels": {"karpenter.sh/capacity-type": "spot"}},
            "spec": {"providerID": "aws:///us-east-1a/i-0abc",
                     "taints": [{"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}]},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "images": [{"names": ["registry/app:1"], "sizeBytes": 1}],
                "volumesInUse": ["kubernetes.io/csi/ebs.csi.aws.com^vol-1"]}
        }))
        .unwrap();
        let mut obj = KubeObject::Node(Box::new(node));
        slim(&mut obj);
        let KubeObject::Node(n) = obj else {
            unreachable!()
        };
        let st = n.status.unwrap();
        assert!(st.images.is_none() && st.volumes_in_use.is_none());
        assert_eq!(st.conditions.unwrap().capacity(), 1);
        let spec = n.spec.unwrap();
        assert_eq!(spec.taints.unwrap().capacity(), 1);
        assert_eq!(
            spec.provider_id.as_deref(),
            Some("aws:///us-east-1a/i-0abc")
        );
    }

    /// The real watcher against a scripted API server: list {a, b}, then the
    /// watch answers 410 Gone, the relist has only {a}: `b` must be deleted
    /// (it went away while the watch could not see it), `a` kept.
    #[tokio::test]
    async fn relist_after_410_deletes_what_is_gone() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        use crate::model::objects::Pod;
        use kube::client::Body;

        let lists = Arc::new(AtomicUsize::new(0));
        let watches = Arc::new(AtomicUsize::new(0));
        let (l, w) = (lists.clone(), watches.clone());
        let svc = tower::service_fn(move |req: http::Request<Body>| {
            let (l, w) = (l.clone(), w.clone());
            async move {
                let q = req.uri().query().unwrap_or_default().to_string();
                let pod = |n: &str, rv: &str| {
                    format!(
                        r#"{{"metadata":{{"name":"{n}","namespace":"ns","resourceVersion":"{rv}"}}}}"#
                    )
                };
                let (status, body) = if q.contains("watch=true") {
                    if w.fetch_add(1, Ordering::SeqCst) == 0 {
                        (200, r#"{"type":"ERROR","object":{"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure","message":"too old resource version","reason":"Expired","code":410}}"#.to_string() + "\n")
                    } else {
                        (500, r#"{"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure","message":"scripted","reason":"InternalError","code":500}"#.to_string())
                    }
                } else if l.fetch_add(1, Ordering::SeqCst) == 0 {
                    (
                        200,
                        format!(
                            r#"{{"apiVersion":"v1","kind":"PodList","metadata":{{"resourceVersion":"1"}},"items":[{},{}]}}"#,
                            pod("a", "1"),
                            pod("b", "1")
                        ),
                    )
                } else {
                    (
                        200,
                        format!(
                            r#"{{"apiVersion":"v1","kind":"PodList","metadata":{{"resourceVersion":"3"}},"items":[{}]}}"#,
                            pod("a", "1")
                        ),
                    )
                };
                let mut resp = http::Response::new(Body::from(body.into_bytes()));
                *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                Ok::<_, tower::BoxError>(resp)
            }
        });
        let client = kube::Client::new(svc, "default");
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (report, _reports) = mpsc::unbounded_channel();
        let task = tokio::spawn(run::<Pod>(WatchSpec {
            context: Arc::from("c"),
            api: Api::namespaced(client.clone(), "ns"),
            client,
            kind: 0,
            plural: "pods",
            wrap: KubeObject::Pod,
            tx,
            report,
        }));
        let mut applied = Vec::new();
        let deleted = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(o) = rx.recv().await {
                match o.event {
                    SourceEvent::KubeApply { object, .. } => {
                        applied.push(object.metadata().name.clone().unwrap_or_default())
                    }
                    SourceEvent::KubeDelete { object, .. } => {
                        return object.metadata().name.clone().unwrap_or_default();
                    }
                    _ => {}
                }
            }
            String::new()
        })
        .await
        .expect("no delete after the relist");
        task.abort();
        assert_eq!(deleted, "b");
        assert_eq!(applied, vec!["a", "b", "a"], "listed, then relisted");
        assert_eq!(lists.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn errors_read_as_the_operator_needs_them() {
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        assert_eq!(
            classify(
                "prod",
                "pods",
                &watcher::Error::WatchFailed(kube::Error::ReadEvents(refused))
            ),
            KindState::Reconnecting("API server unreachable: Connection refused".into())
        );
        let status = |code: u16| {
            let mut s = kube::core::Status::failure("no", "Forbidden");
            s.code = code;
            watcher::Error::InitialListFailed(kube::Error::Api(Box::new(s)))
        };
        assert_eq!(
            classify("prod", "events", &status(403)),
            KindState::Forbidden("events".into())
        );
        let KindState::Unauthorized(m) = classify("prod", "pods", &status(401)) else {
            panic!("401 is not Unauthorized")
        };
        assert!(
            m.contains("context prod") && m.contains("kubectl --context prod"),
            "{m}"
        );
        assert_eq!(classify("prod", "pods", &status(410)), KindState::Loading);
        assert!(matches!(
            classify("prod", "pods", &status(503)),
            KindState::Reconnecting(_)
        ));
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(250), Duration::from_secs(1));
        let steps: Vec<u128> = (0..5).map(|_| b.step().as_millis()).collect();
        assert_eq!(steps, vec![250, 500, 1000, 1000, 1000]);
        b.reset();
        assert_eq!(b.step(), Duration::from_millis(250));
    }
}
