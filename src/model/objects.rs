//! Slim Kubernetes Pods and Events: only the fields spotcheck reads.
//!
//! Pods and Events are the bulk of a large cluster (10,000 pods and 20,000
//! events in the live benchmark). As k8s-openapi structs a pod costs ~4.5 KB
//! before its strings: every field of every probe, volume source and
//! security context is inline, and each resource map is a B-tree node with
//! room for 11 entries. These types keep the same field names and shapes for
//! what the diagnosis uses, so the diagnosis reads them exactly as it read the
//! k8s-openapi ones, and serde skips everything else while parsing: the
//! unneeded parts are never allocated at all, neither from a live watch nor
//! from a `kubectl get -o json` dump or a recording.
//!
//! Serialized, they are the fields kept, in the API's camelCase JSON.
//! `apiVersion` and `kind` are added by [`crate::sources::KubeObject`].

use std::collections::BTreeMap;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_with::skip_serializing_none;

pub use k8s_openapi::api::core::v1::{
    ContainerState, EventSeries, EventSource, ObjectReference, PersistentVolumeClaimVolumeSource,
    PodCondition, PodSchedulingGate, Toleration,
};
pub use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};

/// Implements k8s-openapi's `Resource` and `Metadata` (and through them
/// `kube::Resource`), so kube's watcher lists and watches these types directly.
macro_rules! resource {
    ($ty:ident, $kind:literal, $plural:literal) => {
        impl k8s_openapi::Resource for $ty {
            const API_VERSION: &'static str = "v1";
            const GROUP: &'static str = "";
            const KIND: &'static str = $kind;
            const VERSION: &'static str = "v1";
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = k8s_openapi::NamespaceResourceScope;
        }
        impl k8s_openapi::ListableResource for $ty {
            const LIST_KIND: &'static str = concat!($kind, "List");
        }
        impl k8s_openapi::Metadata for $ty {
            type Ty = ObjectMeta;
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: Option<PodSpec>,
    pub status: Option<PodStatus>,
}
resource!(Pod, "Pod", "pods");

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default, deserialize_with = "compact_vec")]
    pub containers: Vec<Container>,
    #[serde(default, deserialize_with = "compact_opt_vec")]
    pub init_containers: Option<Vec<Container>>,
    pub node_name: Option<String>,
    pub node_selector: Option<BTreeMap<String, String>>,
    pub overhead: Option<ResourceList>,
    pub priority_class_name: Option<String>,
    pub scheduler_name: Option<String>,
    /// Gates that keep the pod out of scheduling until removed.
    pub scheduling_gates: Option<Vec<PodSchedulingGate>>,
    #[serde(default, deserialize_with = "compact_opt_vec")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Only volumes backed by a claim: nothing else is ever read.
    #[serde(default, deserialize_with = "claim_volumes")]
    pub volumes: Option<Vec<Volume>>,
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    pub image: Option<String>,
    pub resources: Option<ResourceRequirements>,
    /// `Always` on an init container makes it a sidecar.
    pub restart_policy: Option<String>,
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequirements {
    pub limits: Option<ResourceList>,
    pub requests: Option<ResourceList>,
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub phase: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    #[serde(default, deserialize_with = "compact_opt_vec")]
    pub conditions: Option<Vec<PodCondition>>,
    #[serde(default, deserialize_with = "compact_opt_vec")]
    pub container_statuses: Option<Vec<ContainerStatus>>,
    #[serde(default, deserialize_with = "compact_opt_vec")]
    pub init_container_statuses: Option<Vec<ContainerStatus>>,
    pub nominated_node_name: Option<String>,
    pub start_time: Option<Time>,
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub restart_count: i32,
    pub started: Option<bool>,
    pub state: Option<ContainerState>,
    pub last_state: Option<ContainerState>,
}

/// A core/v1 Event.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub involved_object: ObjectReference,
    pub reason: Option<String>,
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub count: Option<i32>,
    pub first_timestamp: Option<Time>,
    pub last_timestamp: Option<Time>,
    pub event_time: Option<MicroTime>,
    pub series: Option<EventSeries>,
    pub source: Option<EventSource>,
    pub reporting_component: Option<String>,
    pub reporting_instance: Option<String>,
}
resource!(Event, "Event", "events");

/// A resource list (`cpu: 500m`, `memory: 1Gi`) as a vector sorted by name.
/// Read like the API's map (`get`, iteration in name order) for a fraction of
/// the memory: a `BTreeMap` allocates a node of 11 slots for one entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceList(Vec<(String, Quantity)>);

impl ResourceList {
    pub fn get(&self, name: &str) -> Option<&Quantity> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Quantity)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, Quantity)> for ResourceList {
    fn from_iter<I: IntoIterator<Item = (String, Quantity)>>(iter: I) -> Self {
        let mut v: Vec<(String, Quantity)> = iter.into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|later, earlier| later.0 == earlier.0);
        v.shrink_to_fit();
        ResourceList(v)
    }
}

impl<'a> IntoIterator for &'a ResourceList {
    type Item = (&'a String, &'a Quantity);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Quantity)>,
        fn(&'a (String, Quantity)) -> (&'a String, &'a Quantity),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for ResourceList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ResourceList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResourceList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of resource names to quantities")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ResourceList, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(2).min(16));
                while let Some(entry) = map.next_entry::<String, Quantity>()? {
                    v.push(entry);
                }
                Ok(v.into_iter().collect())
            }
        }
        d.deserialize_map(V)
    }
}

/// A list without the spare capacity serde's growth leaves (a list of one
/// grows to room for four).
fn compact_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    let mut v = Vec::<T>::deserialize(d)?;
    v.shrink_to_fit();
    Ok(v)
}

fn compact_opt_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    let mut v = Option::<Vec<T>>::deserialize(d)?;
    if let Some(v) = v.as_mut() {
        v.shrink_to_fit();
    }
    Ok(v)
}

/// The pod's volumes that name a claim; projected tokens, config maps and
/// empty dirs are skipped while parsing.
fn claim_volumes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Volume>>, D::Error> {
    let Some(mut v) = Option::<Vec<Volume>>::deserialize(d)? else {
        return Ok(None);
    };
    v.retain(|v| v.persistent_volume_claim.is_some());
    v.shrink_to_fit();
    Ok((!v.is_empty()).then_some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_kubectl_pod_and_skips_what_is_not_kept() {
        let p: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {
                "nodeName": "n1",
                "containers": [{"name": "app", "image": "web:1", "env": [{"name": "A", "value": "b"}],
                    "livenessProbe": {"httpGet": {"path": "/", "port": 80}},
                    "resources": {"requests": {"memory": "1Gi", "cpu": "500m"}, "limits": {"memory": "2Gi"}}}],
                "volumes": [
                    {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}},
                    {"name": "kube-api-access", "projected": {"sources": []}}
                ],
                "tolerations": [{"key": "spot", "operator": "Exists"}]
            },
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "app", "image": "web:1", "imageID": "x", "ready": true, "restartCount": 3,
                 "state": {"running": {"startedAt": "2026-11-30T03:00:00Z"}}}]}
        }))
        .unwrap();
        let spec = p.spec.as_ref().unwrap();
        let req = spec.containers[0]
            .resources
            .as_ref()
            .unwrap()
            .requests
            .as_ref()
            .unwrap();
        assert_eq!(req.get("cpu").unwrap().0, "500m");
        assert_eq!(req.get("memory").unwrap().0, "1Gi");
        assert_eq!(req.get("gpu"), None);
        let names: Vec<&String> = req.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["cpu", "memory"]);
        let vols = spec.volumes.as_ref().unwrap();
        assert_eq!(vols.len(), 1);
        assert_eq!(
            vols[0].persistent_volume_claim.as_ref().unwrap().claim_name,
            "data-web-1"
        );
        let cs = &p
            .status
            .as_ref()
            .unwrap()
            .container_statuses
            .as_ref()
            .unwrap()[0];
        assert_eq!((cs.restart_count, cs.ready), (3, true));
        assert_eq!(spec.containers.capacity(), 1);

        // Round trip through JSON keeps what is kept.
        let back: Pod = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let json = serde_json::to_value(&p).unwrap();
        assert!(json["spec"].get("affinity").is_none(), "{json}");
        assert_eq!(
            json["spec"]["containers"][0]["resources"]["limits"]["memory"],
            "2Gi"
        );
    }

    #[test]
    fn no_claim_volumes_means_none() {
        let s: PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [], "volumes": [{"name": "tmp", "emptyDir": {}}]
        }))
        .unwrap();
        assert_eq!(s.volumes, None);
    }

    #[test]
    fn event_type_field_and_nulls() {
        let e: Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "e1", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop"},
            "reason": "BackOff", "type": "Warning", "message": null, "count": 7
        }))
        .unwrap();
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert_eq!(e.message, None);
        assert_eq!(e.count, Some(7));
        assert_eq!(e.involved_object.name.as_deref(), Some("web-1"));
    }

    #[test]
    fn slim_pods_are_much_smaller_than_k8s_openapi_ones() {
        use std::mem::size_of;
        assert!(
            size_of::<Pod>() * 2 < size_of::<k8s_openapi::api::core::v1::Pod>(),
            "{} vs {}",
            size_of::<Pod>(),
            size_of::<k8s_openapi::api::core::v1::Pod>()
        );
        assert!(size_of::<Container>() * 4 < size_of::<k8s_openapi::api::core::v1::Container>());
    }
}
