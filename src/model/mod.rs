//! The merged fleet model: one owner (the app loop), no locks.
//!
//! `Fleet::apply` folds [`SourceEvent`]s into per-context Kubernetes state and
//! per-region AWS state, keeps events indexed by the object they involve, and
//! records observed transitions (a task going STOPPED, a node tainted, a spot
//! request marked for termination) so the timeline keeps them after the
//! objects themselves change or vanish.

pub mod aws;
pub mod join;
pub mod objects;
pub mod time;

use std::collections::{BTreeMap, HashMap};

use crate::model::objects::{Event, Pod};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim};

use crate::sources::{Health, KubeObject, SourceEvent, SourceId};
use aws::{
    Ec2Instance, EcsCapacityProvider, EcsContainerInstance, EcsService, EcsTask, InstanceStatus,
    SpotInstanceRequest,
};

/// `(namespace, name)`; namespace is empty for cluster-scoped objects.
pub type ObjKey = (String, String);

#[derive(Default, Debug, Clone)]
pub struct Fleet {
    pub kube: BTreeMap<String, KubeCluster>,
    pub aws: BTreeMap<String, AwsRegion>,
    pub health: BTreeMap<SourceId, Health>,
    /// Observed transitions, oldest first, capped at [`MAX_CHANGES`].
    pub changes: Vec<Change>,
    /// Bumped on every applied event; views redraw when it moves.
    pub version: u64,
}

pub const MAX_CHANGES: usize = 5_000;

#[derive(Default, Debug, Clone)]
pub struct KubeCluster {
    /// Boxed: a Pod is ~2 KB inline and B-tree nodes keep spare slots.
    pub pods: BTreeMap<ObjKey, Box<Pod>>,
    pub nodes: BTreeMap<String, Node>,
    /// Events by `(namespace, name)` of the Event object itself. Boxed: tens
    /// of thousands of them, and a rehash should move pointers, not events.
    pub events: HashMap<ObjKey, Box<Event>>,
    /// Event keys by a hash of the object they involve (`involved_hash`):
    /// diagnosis of one unit never scans all events, and indexing an event
    /// allocates nothing. Lookups check the involved object, so a hash
    /// collision cannot mix objects.
    pub events_by_object: HashMap<u64, Vec<ObjKey>>,
    pub replicasets: BTreeMap<ObjKey, ReplicaSet>,
    pub deployments: BTreeMap<ObjKey, Deployment>,
    pub statefulsets: BTreeMap<ObjKey, StatefulSet>,
    pub daemonsets: BTreeMap<ObjKey, DaemonSet>,
    pub jobs: BTreeMap<ObjKey, Job>,
    pub pvcs: BTreeMap<ObjKey, PersistentVolumeClaim>,
}

impl KubeCluster {
    /// Events about one object, unordered.
    pub fn events_for(&self, kind: &str, namespace: &str, name: &str) -> Vec<&Event> {
        let Some(keys) = self
            .events_by_object
            .get(&involved_hash(kind, namespace, name))
        else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|k| self.events.get(k))
            .filter(|e| {
                let o = &e.involved_object;
                o.kind.as_deref().unwrap_or_default() == kind
                    && o.namespace.as_deref().unwrap_or_default() == namespace
                    && o.name.as_deref().unwrap_or_default() == name
            })
            .map(|b| &**b)
            .collect()
    }

    fn put_event(&mut self, key: ObjKey, ev: Box<Event>) {
        let new_hash = event_hash(&ev);
        if let Some(old) = self.events.get_mut(&key) {
            let old_hash = event_hash(old);
            *old = ev;
            if old_hash == new_hash {
                return; // same object: the index already points here
            }
            self.unindex_event(&key, old_hash);
        } else {
            self.events.insert(key.clone(), ev);
        }
        self.events_by_object.entry(new_hash).or_default().push(key);
    }

    fn remove_event(&mut self, key: &ObjKey) {
        if let Some(old) = self.events.remove(key) {
            self.unindex_event(key, event_hash(&old));
        }
    }

    fn unindex_event(&mut self, key: &ObjKey, hash: u64) {
        if let Some(list) = self.events_by_object.get_mut(&hash) {
            list.retain(|k| k != key);
            if list.is_empty() {
                self.events_by_object.remove(&hash);
            }
        }
    }
}

/// Hash of an involved object `(kind, namespace, name)` for the event index.
pub fn involved_hash(kind: &str, namespace: &str, name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (kind, namespace, name).hash(&mut h);
    h.finish()
}

fn event_hash(ev: &Event) -> u64 {
    let o = &ev.involved_object;
    involved_hash(
        o.kind.as_deref().unwrap_or_default(),
        o.namespace.as_deref().unwrap_or_default(),
        o.name.as_deref().unwrap_or_default(),
    )
}

/// ECS and EC2 state of one region.
#[derive(Default, Debug, Clone)]
pub struct AwsRegion {
    /// By task ARN. STOPPED tasks stay after AWS forgets them (about an hour).
    pub tasks: BTreeMap<String, EcsTask>,
    /// By service ARN.
    pub services: BTreeMap<String, EcsService>,
    /// By container-instance ARN, with the cluster it belongs to.
    pub container_instances: BTreeMap<String, (String, EcsContainerInstance)>,
    pub capacity_providers: BTreeMap<String, EcsCapacityProvider>,
    /// By instance id.
    pub instances: BTreeMap<String, Ec2Instance>,
    /// By spot request id.
    pub spot_requests: BTreeMap<String, SpotInstanceRequest>,
    /// By instance id.
    pub instance_status: BTreeMap<String, InstanceStatus>,
}

/// Where a change happened, so a unit's timeline can pick its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Pod {
        context: String,
        namespace: String,
        name: String,
    },
    Node {
        context: String,
        name: String,
    },
    EcsTask {
        region: String,
        arn: String,
    },
    EcsService {
        region: String,
        arn: String,
    },
    ContainerInstance {
        region: String,
        arn: String,
    },
    Instance {
        region: String,
        id: String,
    },
}

/// An observed transition, shown on the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub at: Timestamp,
    pub source: SourceId,
    pub subject: Subject,
    /// Short label, e.g. `Pending→Running`, `DRAINING`, `marked-for-termination`.
    pub what: String,
    pub warning: bool,
}

impl Fleet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event into the model. `at` is when it was observed (used for
    /// transitions whose objects carry no timestamp).
    pub fn apply(&mut self, event: SourceEvent, at: Timestamp) {
        self.version += 1;
        let source = event.source();
        match event {
            SourceEvent::KubeApply { context, object } => {
                self.kube_apply(context, object, at, source)
            }
            SourceEvent::KubeDelete { context, object } => {
                self.kube_delete(context, object, at, source)
            }
            SourceEvent::EcsTask { region, task } => {
                let r = self.aws.entry(region.clone()).or_default();
                let old = r
                    .tasks
                    .get(&task.task_arn)
                    .and_then(|t| t.last_status.clone());
                let new = task.last_status.clone();
                if old != new {
                    if let Some(n) = &new {
                        let when = match n.as_str() {
                            "STOPPED" => task.stopped_at.map(|t| t.0),
                            "RUNNING" => task.started_at.map(|t| t.0),
                            "PROVISIONING" | "PENDING" => task.created_at.map(|t| t.0),
                            "STOPPING" | "DEACTIVATING" => task.stopping_at.map(|t| t.0),
                            _ => None,
                        };
                        let mut what = match &old {
                            Some(o) => format!("task {o}→{n}"),
                            None => format!("task {n}"),
                        };
                        if n == "STOPPED" {
                            if let Some(code) = &task.stop_code {
                                what.push_str(&format!(" ({code})"));
                            }
                        }
                        let warning =
                            n == "STOPPED" && task.stop_code.as_deref() != Some("UserInitiated");
                        let arn = task.task_arn.clone();
                        self.push_change(Change {
                            at: when.unwrap_or(at),
                            source,
                            subject: Subject::EcsTask {
                                region: region.clone(),
                                arn,
                            },
                            what,
                            warning,
                        });
                    }
                }
                let r = self.aws.entry(region).or_default();
                r.tasks.insert(task.task_arn.clone(), *task);
            }
            SourceEvent::EcsService { region, service } => {
                let r = self.aws.entry(region).or_default();
                r.services.insert(service.service_arn.clone(), *service);
            }
            SourceEvent::EcsContainerInstance {
                region,
                cluster,
                container_instance,
            } => {
                let r = self.aws.entry(region.clone()).or_default();
                let arn = container_instance.container_instance_arn.clone();
                let old = r
                    .container_instances
                    .get(&arn)
                    .and_then(|(_, ci)| ci.status.clone());
                let old_agent = r
                    .container_instances
                    .get(&arn)
                    .and_then(|(_, ci)| ci.agent_connected);
                let new = container_instance.status.clone();
                let new_agent = container_instance.agent_connected;
                r.container_instances
                    .insert(arn.clone(), (cluster, *container_instance));
                if old.is_some() && old != new {
                    let n = new.unwrap_or_default();
                    self.push_change(Change {
                        at,
                        source: source.clone(),
                        subject: Subject::ContainerInstance {
                            region: region.clone(),
                            arn: arn.clone(),
                        },
                        what: format!("container instance {}→{n}", old.unwrap_or_default()),
                        warning: n != "ACTIVE",
                    });
                }
                if old_agent == Some(true) && new_agent == Some(false) {
                    self.push_change(Change {
                        at,
                        source,
                        subject: Subject::ContainerInstance { region, arn },
                        what: "ECS agent disconnected".into(),
                        warning: true,
                    });
                }
            }
            SourceEvent::EcsCapacityProvider {
                region,
                capacity_provider,
            } => {
                let r = self.aws.entry(region).or_default();
                r.capacity_providers
                    .insert(capacity_provider.name.clone(), *capacity_provider);
            }
            SourceEvent::AwsGone { region, id } => {
                let r = self.aws.entry(region.clone()).or_default();
                // Stopped tasks are kept: AWS forgets them after ~1 h, the operator should not.
                let keep_task = r
                    .tasks
                    .get(&id)
                    .is_some_and(|t| t.last_status.as_deref() == Some("STOPPED"));
                if !keep_task {
                    r.tasks.remove(&id);
                }
                r.services.remove(&id);
                r.container_instances.remove(&id);
                r.capacity_providers.remove(&id);
                r.spot_requests.remove(&id);
                r.instance_status.remove(&id);
                if r.instances.remove(&id).is_some() {
                    self.push_change(Change {
                        at,
                        source,
                        subject: Subject::Instance { region, id },
                        what: "instance gone".into(),
                        warning: true,
                    });
                }
            }
            SourceEvent::Ec2Instance { region, instance } => {
                let r = self.aws.entry(region.clone()).or_default();
                let old = r
                    .instances
                    .get(&instance.instance_id)
                    .and_then(|i| i.state_name().map(str::to_string));
                let new = instance.state_name().map(str::to_string);
                let id = instance.instance_id.clone();
                let reason = instance.state_reason.as_ref().map(|s| s.code.clone());
                r.instances.insert(id.clone(), *instance);
                if old.is_some() && old != new {
                    let mut what = format!(
                        "instance {}→{}",
                        old.unwrap_or_default(),
                        new.clone().unwrap_or_default()
                    );
                    if let Some(r) = reason {
                        what.push_str(&format!(" ({r})"));
                    }
                    self.push_change(Change {
                        at,
                        source,
                        subject: Subject::Instance { region, id },
                        what,
                        warning: new.as_deref() != Some("running"),
                    });
                }
            }
            SourceEvent::Ec2SpotRequest { region, request } => {
                let r = self.aws.entry(region.clone()).or_default();
                let old = r
                    .spot_requests
                    .get(&request.spot_instance_request_id)
                    .and_then(|s| s.status_code().map(str::to_string));
                let new = request.status_code().map(str::to_string);
                let when = request
                    .status
                    .as_ref()
                    .and_then(|s| s.update_time)
                    .map(|t| t.0);
                let instance = request.instance_id.clone();
                r.spot_requests
                    .insert(request.spot_instance_request_id.clone(), *request);
                if old != new {
                    if let (Some(n), Some(id)) = (new, instance) {
                        let warning = n != "fulfilled"
                            && n != "pending-evaluation"
                            && n != "pending-fulfillment";
                        if old.is_some() || warning {
                            self.push_change(Change {
                                at: when.unwrap_or(at),
                                source,
                                subject: Subject::Instance { region, id },
                                what: format!("spot request {n}"),
                                warning,
                            });
                        }
                    }
                }
            }
            SourceEvent::Ec2InstanceStatus { region, status } => {
                let r = self.aws.entry(region).or_default();
                r.instance_status
                    .insert(status.instance_id.clone(), *status);
            }
            SourceEvent::Health { source, health } => {
                self.health.insert(source, health);
            }
            SourceEvent::Reset { .. } => {
                let health = std::mem::take(&mut self.health);
                let version = self.version;
                *self = Fleet {
                    health,
                    version,
                    ..Fleet::default()
                };
            }
        }
    }

    fn push_change(&mut self, change: Change) {
        self.changes.push(change);
        if self.changes.len() > MAX_CHANGES {
            let excess = self.changes.len() - MAX_CHANGES;
            self.changes.drain(..excess);
        }
    }

    fn kube_apply(&mut self, context: String, object: KubeObject, at: Timestamp, source: SourceId) {
        let c = self.kube.entry(context.clone()).or_default();
        let meta = object.metadata();
        let key: ObjKey = (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        );
        let mut change: Option<Change> = None;
        match object {
            KubeObject::Pod(p) => {
                let old = c.pods.get(&key).map(|p| pod_phase_label(p));
                let new = pod_phase_label(&p);
                if let Some(o) = old {
                    if o != new {
                        change = Some(Change {
                            at,
                            source,
                            subject: Subject::Pod {
                                context,
                                namespace: key.0.clone(),
                                name: key.1.clone(),
                            },
                            what: format!("pod {o}→{new}"),
                            warning: new != "Running" && new != "Succeeded",
                        });
                    }
                }
                c.pods.insert(key, p);
            }
            KubeObject::Node(n) => {
                let old_taints: Vec<String> =
                    c.nodes.get(&key.1).map(node_taint_keys).unwrap_or_default();
                let new_taints = node_taint_keys(&n);
                let existed = c.nodes.contains_key(&key.1);
                let added: Vec<&String> = new_taints
                    .iter()
                    .filter(|t| !old_taints.contains(t))
                    .collect();
                if existed && !added.is_empty() {
                    change = Some(Change {
                        at,
                        source,
                        subject: Subject::Node {
                            context,
                            name: key.1.clone(),
                        },
                        what: format!(
                            "node tainted {}",
                            added
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        warning: true,
                    });
                }
                c.nodes.insert(key.1, *n);
            }
            KubeObject::Event(e) => c.put_event(key, e),
            KubeObject::ReplicaSet(o) => {
                c.replicasets.insert(key, *o);
            }
            KubeObject::Deployment(o) => {
                c.deployments.insert(key, *o);
            }
            KubeObject::StatefulSet(o) => {
                c.statefulsets.insert(key, *o);
            }
            KubeObject::DaemonSet(o) => {
                c.daemonsets.insert(key, *o);
            }
            KubeObject::Job(o) => {
                c.jobs.insert(key, *o);
            }
            KubeObject::PersistentVolumeClaim(o) => {
                c.pvcs.insert(key, *o);
            }
        }
        if let Some(ch) = change {
            self.push_change(ch);
        }
    }

    fn kube_delete(
        &mut self,
        context: String,
        object: KubeObject,
        at: Timestamp,
        source: SourceId,
    ) {
        let c = self.kube.entry(context.clone()).or_default();
        let meta = object.metadata();
        let key: ObjKey = (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        );
        let mut change = None;
        match object {
            KubeObject::Pod(_) => {
                if c.pods.remove(&key).is_some() {
                    change = Some(Change {
                        at,
                        source,
                        subject: Subject::Pod {
                            context,
                            namespace: key.0.clone(),
                            name: key.1.clone(),
                        },
                        what: "pod deleted".into(),
                        warning: false,
                    });
                }
            }
            KubeObject::Node(_) => {
                if c.nodes.remove(&key.1).is_some() {
                    change = Some(Change {
                        at,
                        source,
                        subject: Subject::Node {
                            context,
                            name: key.1.clone(),
                        },
                        what: "node deleted".into(),
                        warning: true,
                    });
                }
            }
            KubeObject::Event(_) => c.remove_event(&key),
            KubeObject::ReplicaSet(_) => {
                c.replicasets.remove(&key);
            }
            KubeObject::Deployment(_) => {
                c.deployments.remove(&key);
            }
            KubeObject::StatefulSet(_) => {
                c.statefulsets.remove(&key);
            }
            KubeObject::DaemonSet(_) => {
                c.daemonsets.remove(&key);
            }
            KubeObject::Job(_) => {
                c.jobs.remove(&key);
            }
            KubeObject::PersistentVolumeClaim(_) => {
                c.pvcs.remove(&key);
            }
        }
        if let Some(ch) = change {
            self.push_change(ch);
        }
    }
}

/// `Pending`, `Running`, … or the waiting reason of the first waiting container.
pub fn pod_phase_label(p: &Pod) -> String {
    let status = p.status.as_ref();
    if let Some(cs) = status.and_then(|s| s.container_statuses.as_ref()) {
        for c in cs {
            if let Some(w) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
                if let Some(r) = &w.reason {
                    return r.clone();
                }
            }
        }
    }
    if p.metadata.deletion_timestamp.is_some() {
        return "Terminating".into();
    }
    status
        .and_then(|s| s.reason.clone().or_else(|| s.phase.clone()))
        .unwrap_or_else(|| "Unknown".into())
}

fn node_taint_keys(n: &Node) -> Vec<String> {
    n.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|ts| ts.iter().map(|t| t.key.clone()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn event(name: &str, kind: &str, ns: &str, obj: &str, reason: &str) -> SourceEvent {
        SourceEvent::KubeApply {
            context: "c".into(),
            object: KubeObject::Event(Box::new(Event {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    namespace: Some(ns.into()),
                    ..Default::default()
                },
                involved_object: ObjectReference {
                    kind: Some(kind.into()),
                    namespace: Some(ns.into()),
                    name: Some(obj.into()),
                    ..Default::default()
                },
                reason: Some(reason.into()),
                ..Default::default()
            })),
        }
    }

    fn reasons(f: &Fleet, kind: &str, ns: &str, name: &str) -> Vec<String> {
        let mut r: Vec<String> = f.kube["c"]
            .events_for(kind, ns, name)
            .iter()
            .filter_map(|e| e.reason.clone())
            .collect();
        r.sort();
        r
    }

    #[test]
    fn events_are_indexed_by_involved_object_through_updates_and_deletes() {
        let t: Timestamp = "2026-11-30T03:00:00Z".parse().unwrap();
        let mut f = Fleet::new();
        f.apply(event("e1", "Pod", "shop", "cart", "FailedScheduling"), t);
        f.apply(event("e2", "Pod", "shop", "cart", "BackOff"), t);
        f.apply(event("e3", "Pod", "shop", "checkout", "BackOff"), t);
        assert_eq!(
            reasons(&f, "Pod", "shop", "cart"),
            ["BackOff", "FailedScheduling"]
        );
        // An update of the same event replaces it, never duplicates it.
        f.apply(event("e1", "Pod", "shop", "cart", "Scheduled"), t);
        assert_eq!(reasons(&f, "Pod", "shop", "cart"), ["BackOff", "Scheduled"]);
        // An event whose involved object changed moves in the index.
        f.apply(event("e2", "Pod", "shop", "checkout", "Pulled"), t);
        assert_eq!(reasons(&f, "Pod", "shop", "cart"), ["Scheduled"]);
        assert_eq!(
            reasons(&f, "Pod", "shop", "checkout"),
            ["BackOff", "Pulled"]
        );
        // Same name, other kind or namespace: not mixed.
        assert!(reasons(&f, "Node", "shop", "cart").is_empty());
        assert!(reasons(&f, "Pod", "payments", "cart").is_empty());
        let SourceEvent::KubeApply { object, .. } = event("e1", "Pod", "shop", "cart", "x") else {
            unreachable!()
        };
        f.apply(
            SourceEvent::KubeDelete {
                context: "c".into(),
                object,
            },
            t,
        );
        assert!(reasons(&f, "Pod", "shop", "cart").is_empty());
        assert_eq!(f.kube["c"].events.len(), 2);
    }
}
