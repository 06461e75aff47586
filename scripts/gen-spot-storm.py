#!/usr/bin/env python3
"""Generates the embedded demo recording assets/scenarios/spot-storm.jsonl.

Run from anywhere (Python 3.11+, standard library only):

    python3 scripts/gen-spot-storm.py            # writes assets/scenarios/spot-storm.jsonl
    python3 scripts/gen-spot-storm.py --check    # exits 1 if the committed file is stale
    python3 scripts/gen-spot-storm.py --stdout   # prints instead of writing

The output is deterministic: every id, uid, name suffix and hash is derived
from a SHA-256 of a fixed label, never from randomness or the clock, so
regenerating gives a byte-identical file.

The scenario is a 3 a.m. spot storm, 2026-11-30 02:50:00Z .. ~03:03Z
(see docs/demo.md for the timeline the operator should see):

* Kubernetes context "prod-eks" (us-east-1): 7 nodes, ~45 pods in 6 namespaces.
  Wave 1 (02:55): Karpenter spot node ip-10-0-13-201 gets a spot interruption
  warning, is tainted karpenter.sh/disrupted:NoSchedule, drained and deleted
  (02:57:50). Its EC2 instance also hosts an ECS container instance (a shared
  demo fleet), which goes DRAINING and disappears.
  Wave 2 (03:00): managed-node-group spot node ip-10-0-22-87 gets a spot ITN,
  aws-node-termination-handler cordons and drains it; it is gone at ~03:02:45.
* A tiny scheduler simulation decides which evicted pods find room (cpu
  requests vs allocatable) and which go Pending; FailedScheduling messages are
  computed from the node set at that moment.
* Background noise: an OOMKilled CrashLoopBackOff pod, an ImagePullBackOff
  rollout, an EC2 instance-retirement scheduled event.
* ECS cluster "orders-prod": 4 services, EC2 spot + on-demand capacity
  providers and FARGATE/FARGATE_SPOT.

Timestamps embedded inside free text are avoided on purpose: replay shifts
only strings that are whole RFC 3339 timestamps.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "scenarios" / "spot-storm.jsonl"

CTX = "prod-eks"
REGION = "us-east-1"
ACCOUNT = "123456789012"
CLUSTER = "orders-prod"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
START = datetime(2026, 11, 30, 2, 50, 0, tzinfo=timezone.utc)
END = datetime(2026, 11, 30, 3, 3, 0, tzinfo=timezone.utc)  # nothing is recorded after this
DESCRIPTION = (
    "3 a.m. spot storm on prod-eks and ECS orders-prod: two spot nodes interrupted "
    "(Karpenter, NTH), pods Pending on cpu and taints, a Multi-Attach volume, "
    "a DRAINING container instance, SpotInterruption tasks, a Fargate Spot interruption"
)

# ───────────────────────────── deterministic helpers ─────────────────────────────


def hx(*parts: object, n: int = 32) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:n]


def uid(*parts: object) -> str:
    x = hx("uid", *parts)
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{'89ab'[int(x[16], 16) % 4]}{x[17:20]}-{x[20:32]}"


ALNUM = "bcdfghjklmnpqrstvwxz2456789"  # k8s rand.SafeEncodeString alphabet


def kname(*parts: object, n: int = 5) -> str:
    d = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return "".join(ALNUM[b % len(ALNUM)] for b in d[:n])


def instance_id(label: str) -> str:
    return "i-0" + hx("instance", label, n=16)


def T(hms: str) -> datetime:
    """02:55:04 or 02:55:04.250 on the scenario day."""
    h, m, s = hms.split(":")
    sec = float(s)
    return START.replace(hour=int(h), minute=int(m), second=0) + timedelta(seconds=sec)


def kt(t: datetime) -> str:  # metav1.Time
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def mt(t: datetime) -> str:  # metav1.MicroTime
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def at_(t: datetime) -> str:  # line "at"
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += f".{t.microsecond // 1000:03d}"
    return s + "Z"


def awst(t: datetime) -> str:  # AWS CLI v2
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}000+00:00"


# ───────────────────────────── output ─────────────────────────────

LINES: list[tuple[datetime, int, dict]] = []
_seq = 0


def out(t: datetime, event: dict) -> None:
    global _seq
    if t > END:
        return  # periodic kubelet/controller noise past the end of the recording
    _seq += 1
    LINES.append((t, _seq, event))


_rv = 48_211_000


def next_rv() -> str:
    global _rv
    _rv += 7
    return str(_rv)


def kube_apply(t: datetime, obj: dict) -> None:
    o = copy.deepcopy(obj)
    o["metadata"]["resourceVersion"] = next_rv()
    out(t, {"type": "kubeApply", "context": CTX, "object": o})


def kube_delete(t: datetime, obj: dict) -> None:
    o = copy.deepcopy(obj)
    o["metadata"]["resourceVersion"] = next_rv()
    out(t, {"type": "kubeDelete", "context": CTX, "object": o})


# ───────────────────────────── Kubernetes events ─────────────────────────────

_events: dict[tuple, dict] = {}


def _involved(kind: str, ns: str | None, name: str, obj_uid: str, api: str = "v1", field: str | None = None) -> dict:
    inv = {"apiVersion": api, "kind": kind, "name": name, "uid": obj_uid}
    if ns:
        inv["namespace"] = ns
    if field:
        inv["fieldPath"] = field
    return inv


def kevent(t: datetime, inv: dict, reason: str, message: str, etype: str = "Normal",
           component: str = "kubelet", host: str | None = None, annotations: dict | None = None) -> None:
    """A core/v1 (legacy recorder) event: first/lastTimestamp + count, aggregated by message."""
    key = ("legacy", inv["kind"], inv.get("namespace"), inv["name"], reason, message, component)
    ev = _events.get(key)
    if ev is None:
        ns = inv.get("namespace") or "default"
        ev = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{inv['name']}.{hx('event', *key, n=16)}",
                "namespace": ns,
                "uid": uid("event", *key),
                "creationTimestamp": kt(t),
            },
            "involvedObject": inv,
            "reason": reason,
            "message": message,
            "type": etype,
            "source": {"component": component},
            "firstTimestamp": kt(t),
            "lastTimestamp": kt(t),
            "count": 1,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        if host:
            ev["source"]["host"] = host
        if annotations:
            ev["metadata"]["annotations"] = annotations
        _events[key] = ev
    else:
        ev["count"] += 1
        ev["lastTimestamp"] = kt(t)
    kube_apply(t, ev)


SCHED_INSTANCE = "default-scheduler-ip-172-16-61-14.ec2.internal"


def sevent(t: datetime, inv: dict, reason: str, message: str, etype: str = "Warning",
           action: str = "Scheduling", controller: str = "default-scheduler",
           instance: str = SCHED_INSTANCE) -> None:
    """An events.k8s.io style event as core/v1 shows it: eventTime + series, null first/lastTimestamp."""
    key = ("series", inv["kind"], inv.get("namespace"), inv["name"], reason, message, controller)
    ev = _events.get(key)
    if ev is None:
        ev = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{inv['name']}.{hx('event', *key, n=16)}",
                "namespace": inv.get("namespace") or "default",
                "uid": uid("event", *key),
                "creationTimestamp": kt(t),
            },
            "involvedObject": inv,
            "reason": reason,
            "message": message,
            "type": etype,
            "source": {},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "eventTime": mt(t),
            "action": action,
            "reportingComponent": controller,
            "reportingInstance": instance,
        }
        _events[key] = ev
    else:
        n = ev.get("series", {}).get("count", 1) + 1
        ev["series"] = {"count": n, "lastObservedTime": mt(t)}
    kube_apply(t, ev)


# ───────────────────────────── nodes ─────────────────────────────

OVERHEAD_CPU = 450  # daemonsets (aws-node, kube-proxy, ebs-csi-node, node-exporter) not modelled as pods


class Node:
    def __init__(self, key, name, ip, zone, itype, cpu, alloc_cpu, mem, alloc_mem, created, capacity_type,
                 *, nodepool=None, nodegroup=None, taints=(), role="general", spot_request=None):
        self.key, self.name, self.ip, self.zone, self.itype = key, name, ip, zone, itype
        self.cpu, self.alloc_cpu, self.mem, self.alloc_mem = cpu, alloc_cpu, mem, alloc_mem
        self.created, self.capacity_type = created, capacity_type
        self.nodepool, self.nodegroup, self.role = nodepool, nodegroup, role
        self.instance = instance_id(key)
        self.spot_request = spot_request
        self.taints = [dict(t) for t in taints]
        self.unschedulable = False
        self.ready = True
        self.ready_reason = ("KubeletReady", "kubelet is posting ready status")
        self.ready_since = created + timedelta(seconds=41)
        self.exists = True
        self.uid = uid("node", name)
        self.used_cpu = OVERHEAD_CPU

    @property
    def free_cpu(self):
        return self.alloc_cpu - self.used_cpu

    def render(self, now: datetime) -> dict:
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/instance-type": self.itype,
            "beta.kubernetes.io/os": "linux",
            "failure-domain.beta.kubernetes.io/region": REGION,
            "failure-domain.beta.kubernetes.io/zone": self.zone,
            "k8s.io/cloud-provider-aws": hx("cloud-provider", n=32),
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": self.itype,
            "topology.ebs.csi.aws.com/zone": self.zone,
            "topology.k8s.aws/zone-id": {"us-east-1a": "use1-az4", "us-east-1b": "use1-az6", "us-east-1c": "use1-az1"}[self.zone],
            "topology.kubernetes.io/region": REGION,
            "topology.kubernetes.io/zone": self.zone,
        }
        annotations = {
            "alpha.kubernetes.io/provided-node-ip": self.ip,
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }
        finalizers = []
        if self.nodepool:
            family = self.itype.split(".")[0]
            labels.update({
                "karpenter.sh/capacity-type": self.capacity_type,
                "karpenter.sh/nodepool": self.nodepool,
                "karpenter.sh/initialized": "true",
                "karpenter.sh/registered": "true",
                "karpenter.k8s.aws/ec2nodeclass": "default",
                "karpenter.k8s.aws/instance-category": family[0],
                "karpenter.k8s.aws/instance-family": family,
                "karpenter.k8s.aws/instance-size": self.itype.split(".")[1],
                "karpenter.k8s.aws/instance-cpu": str(self.cpu),
            })
            if self.role == "monitoring":
                labels["workload"] = "monitoring"
            annotations["karpenter.sh/nodepool-hash"] = str(int(hx("nph", self.nodepool, n=12), 16))
            annotations["karpenter.sh/nodepool-hash-version"] = "v3"
            annotations["karpenter.k8s.aws/ec2nodeclass-hash"] = str(int(hx("nch", n=12), 16))
            finalizers = ["karpenter.sh/termination"]
        if self.nodegroup:
            labels.update({
                "eks.amazonaws.com/capacityType": "SPOT" if self.capacity_type == "spot" else "ON_DEMAND",
                "eks.amazonaws.com/nodegroup": self.nodegroup,
                "eks.amazonaws.com/nodegroup-image": "ami-0a5e7b3c9d1f24688",
                "eks.amazonaws.com/sourceLaunchTemplateId": "lt-0" + hx("lt", self.nodegroup, n=16),
                "eks.amazonaws.com/sourceLaunchTemplateVersion": "4",
            })
            if self.role == "system":
                labels["node-role"] = "system"
        spec = {"providerID": f"aws:///{self.zone}/{self.instance}"}
        if self.taints:
            spec["taints"] = self.taints
        if self.unschedulable:
            spec["unschedulable"] = True
        hb = max(self.created, now - timedelta(seconds=(now.second % 40) + 3))
        ready_status = "True" if self.ready else ("Unknown" if self.ready_reason[0] == "NodeStatusUnknown" else "False")

        def cond(ctype, status, reason, message, since):
            return {"type": ctype, "status": status, "lastHeartbeatTime": kt(hb),
                    "lastTransitionTime": kt(since), "reason": reason, "message": message}

        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "uid": self.uid,
                "creationTimestamp": kt(self.created),
                "labels": labels,
                "annotations": annotations,
                **({"finalizers": finalizers} if finalizers else {}),
            },
            "spec": spec,
            "status": {
                "capacity": {"cpu": str(self.cpu), "ephemeral-storage": "104845292Ki", "hugepages-1Gi": "0",
                             "hugepages-2Mi": "0", "memory": self.mem, "pods": "58"},
                "allocatable": {"cpu": f"{self.alloc_cpu}m", "ephemeral-storage": "95551679124", "hugepages-1Gi": "0",
                                "hugepages-2Mi": "0", "memory": self.alloc_mem, "pods": "58"},
                "conditions": [
                    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", self.created + timedelta(seconds=20)),
                    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", self.created + timedelta(seconds=20)),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", self.created + timedelta(seconds=20)),
                    cond("Ready", ready_status, self.ready_reason[0], self.ready_reason[1], self.ready_since),
                ],
                "addresses": [
                    {"type": "InternalIP", "address": self.ip},
                    {"type": "InternalDNS", "address": self.name},
                    {"type": "Hostname", "address": self.name},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "architecture": "amd64",
                    "bootID": uid("boot", self.name),
                    "containerRuntimeVersion": "containerd://1.7.27",
                    "kernelVersion": "6.1.158-180.294.amzn2023.x86_64",
                    "kubeProxyVersion": "",
                    "kubeletVersion": "v1.33.5-eks-113cf36",
                    "machineID": hx("machine", self.name),
                    "operatingSystem": "linux",
                    "osImage": "Amazon Linux 2023.9.20251117",
                    "systemUUID": "ec2" + hx("sysuuid", self.name, n=5) + "-" + uid("sys", self.name)[9:],
                },
            },
        }


NODES: dict[str, Node] = {}


def add_node(n: Node) -> Node:
    NODES[n.key] = n
    return n


def node_inv(n: Node) -> dict:
    return _involved("Node", None, n.name, n.uid)


DAYS = timedelta(days=1)
HOURS = timedelta(hours=1)

# system managed node group (EKS, on-demand, CriticalAddonsOnly)
CRIT = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}
MON = {"key": "dedicated", "value": "monitoring", "effect": "NoSchedule"}
N1 = add_node(Node("N1", "ip-10-0-11-42.ec2.internal", "10.0.11.42", "us-east-1a", "m6i.large", 2, 1930,
                   "7908196Ki", "7220068Ki", START - 19 * DAYS - 5 * HOURS, "on-demand",
                   nodegroup="ng-system", taints=[CRIT], role="system"))
N2 = add_node(Node("N2", "ip-10-0-27-133.ec2.internal", "10.0.27.133", "us-east-1b", "m6i.large", 2, 1930,
                   "7908196Ki", "7220068Ki", START - 19 * DAYS - 5 * HOURS + timedelta(seconds=37), "on-demand",
                   nodegroup="ng-system", taints=[CRIT], role="system"))
N3 = add_node(Node("N3", "ip-10-0-40-17.ec2.internal", "10.0.40.17", "us-east-1c", "r6i.xlarge", 4, 3920,
                   "32408196Ki", "31391364Ki", START - 6 * DAYS - 3 * HOURS, "on-demand",
                   nodepool="monitoring", taints=[MON], role="monitoring"))
# wave 1: Karpenter spot node; its instance also backs ECS container instance CI1
N4 = add_node(Node("N4", "ip-10-0-13-201.ec2.internal", "10.0.13.201", "us-east-1a", "m5.2xlarge", 8, 7910,
                   "32386544Ki", "31369712Ki", START - 9 * HOURS - 12 * 60 * timedelta(seconds=1), "spot",
                   nodepool="spot-general", spot_request="sir-" + kname("sir", "N4", n=8)))
# wave 2: EKS managed node group spot node handled by aws-node-termination-handler
N5 = add_node(Node("N5", "ip-10-0-22-87.ec2.internal", "10.0.22.87", "us-east-1b", "c6i.2xlarge", 8, 7910,
                   "15896592Ki", "14879760Ki", START - 2 * DAYS - 7 * HOURS, "spot",
                   nodegroup="ng-spot-b", spot_request="sir-" + kname("sir", "N5", n=8)))
N6 = add_node(Node("N6", "ip-10-0-14-96.ec2.internal", "10.0.14.96", "us-east-1a", "m5a.2xlarge", 8, 7910,
                   "32386544Ki", "31369712Ki", START - 14 * HOURS - timedelta(minutes=23), "spot",
                   nodepool="spot-general", spot_request="sir-" + kname("sir", "N6", n=8)))
N7 = add_node(Node("N7", "ip-10-0-38-150.ec2.internal", "10.0.38.150", "us-east-1c", "m6i.2xlarge", 8, 7910,
                   "32386544Ki", "31369712Ki", START - 4 * DAYS - 11 * HOURS, "on-demand",
                   nodepool="on-demand-general"))
# replacement launched by Karpenter for wave 1 (spot ICE -> on-demand fallback); appears 02:58:10
N8 = Node("N8", "ip-10-0-35-61.ec2.internal", "10.0.35.61", "us-east-1c", "c6i.xlarge", 4, 3920,
          "7948292Ki", "7259140Ki", T("02:58:10"), "on-demand", nodepool="spot-general")
N8.exists = False

# ───────────────────────────── workloads ─────────────────────────────

APPS: dict[str, "App"] = {}
PODS: dict[tuple[str, str], "Pod"] = {}


class App:
    def __init__(self, ns, name, kind, replicas, cpu, mem, mem_limit, image, port, created, *,
                 tolerations=None, node_selector=None, container=None, sa=None, rollout=None):
        self.ns, self.name, self.kind, self.replicas = ns, name, kind, replicas
        self.cpu, self.mem, self.mem_limit, self.image, self.port = cpu, mem, mem_limit, image, port
        self.created = created
        self.tolerations = tolerations or []
        self.node_selector = node_selector
        self.container = container or name
        self.sa = sa or name
        self.uid = uid(kind, ns, name)
        self.rs_hash = kname("rs", ns, name, image, n=10)
        self.rs_name = f"{name}-{self.rs_hash}"
        self.rs_uid = uid("ReplicaSet", ns, self.rs_name)
        self.rs_created = rollout or created
        self.generation = 7 + int(hx("gen", name, n=2), 16) % 20
        self.new_rs = None  # (hash, name, uid, image, created) for a rollout in progress
        self.progress_failed_at = None
        APPS[f"{ns}/{name}"] = self

    def owner_ref(self, rs: bool = True, new: bool = False) -> dict:
        if self.kind == "StatefulSet":
            return {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": self.name, "uid": self.uid,
                    "controller": True, "blockOwnerDeletion": True}
        if new and self.new_rs:
            return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": self.new_rs[1], "uid": self.new_rs[2],
                    "controller": True, "blockOwnerDeletion": True}
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": self.rs_name, "uid": self.rs_uid,
                "controller": True, "blockOwnerDeletion": True}

    def labels(self) -> dict:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/part-of": self.ns}

    def pod_template(self, image: str | None = None) -> dict:
        return {
            "metadata": {"labels": self.labels()},
            "spec": self.pod_spec(image or self.image),
        }

    def pod_spec(self, image: str, node: str | None = None) -> dict:
        c = {
            "name": self.container,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "resources": {
                "requests": {"cpu": f"{self.cpu}m", "memory": self.mem},
                "limits": {"memory": self.mem_limit},
            },
        }
        if self.port:
            c["ports"] = [{"containerPort": self.port, "name": "http", "protocol": "TCP"}]
            c["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": self.port, "scheme": "HTTP"},
                                   "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
                                   "failureThreshold": 3}
        spec = {
            "containers": [c],
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "serviceAccountName": self.sa,
            "terminationGracePeriodSeconds": 30,
            "tolerations": self.tolerations + [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
        }
        if self.node_selector:
            spec["nodeSelector"] = self.node_selector
        if node:
            spec["nodeName"] = node
        return spec


class Pod:
    """One pod and the state of its single container."""

    def __init__(self, app: App, name: str, created: datetime, *, new_rs=False, volume=None):
        self.app, self.name, self.created = app, name, created
        self.ns = app.ns
        self.uid = uid("pod", app.ns, name, created.isoformat())
        self.new_rs = new_rs
        self.image = app.new_rs[3] if new_rs else app.image
        self.node: Node | None = None
        self.ip = None
        self.scheduled_at = None
        self.mode = "unscheduled"  # unscheduled|pending|creating|running|crash-running|crash-waiting|imagepull
        self.started = None
        self.ready = False
        self.ready_since = None
        self.restarts = 0
        self.last_term = None  # (started, finished)
        self.pull_reason = "ImagePullBackOff"
        self.sched_message = None
        self.sched_since = None
        self.deletion = None  # (deletionTimestamp, DisruptionTarget reason, message, at)
        self.volume = volume  # (volume name, pvc name)
        PODS[(self.ns, name)] = self

    @property
    def cpu(self):
        return self.app.cpu

    def inv(self) -> dict:
        return _involved("Pod", self.ns, self.name, self.uid)

    def cinv(self) -> dict:
        return _involved("Pod", self.ns, self.name, self.uid, field=f"spec.containers{{{self.app.container}}}")

    def healthy(self) -> bool:
        return self.mode == "running" and self.ready and self.deletion is None

    def render(self) -> dict:
        a = self.app
        meta = {
            "name": self.name,
            "namespace": self.ns,
            "uid": self.uid,
            "creationTimestamp": kt(self.created),
            "labels": dict(a.labels()),
            "ownerReferences": [a.owner_ref(new=self.new_rs)],
        }
        if a.kind == "StatefulSet":
            meta["labels"]["statefulset.kubernetes.io/pod-name"] = self.name
            meta["labels"]["apps.kubernetes.io/pod-index"] = self.name.rsplit("-", 1)[1]
            meta["labels"]["controller-revision-hash"] = f"{a.name}-{kname('crh', a.name, n=10)}"
        else:
            meta["generateName"] = self.name[:-5]
            meta["labels"]["pod-template-hash"] = (a.new_rs[0] if self.new_rs else a.rs_hash)
        spec = a.pod_spec(self.image, self.node.name if self.node else None)
        if a.kind == "StatefulSet":
            spec["hostname"] = self.name
            spec["subdomain"] = a.name
        if self.volume:
            spec["volumes"] = [{"name": self.volume[0], "persistentVolumeClaim": {"claimName": self.volume[1]}}]
            spec["containers"][0]["volumeMounts"] = [{"name": self.volume[0], "mountPath": "/data"}]
        if self.deletion:
            meta["deletionTimestamp"] = kt(self.deletion[0])
            meta["deletionGracePeriodSeconds"] = 30
        status: dict = {"qosClass": "Burstable"}
        conds = []
        sched_at = self.scheduled_at or self.created

        def c(ctype, st, since, reason=None, message=None):
            d = {"type": ctype, "status": st, "lastProbeTime": None, "lastTransitionTime": kt(since)}
            if reason:
                d["reason"] = reason
            if message:
                d["message"] = message
            return d

        cname = a.container
        if self.mode in ("unscheduled", "pending"):
            status["phase"] = "Pending"
            if self.mode == "pending":
                conds.append(c("PodScheduled", "False", self.sched_since, "Unschedulable", self.sched_message))
            status["conditions"] = conds
            return self._wrap(meta, spec, status)
        status["hostIP"] = self.node.ip
        status["hostIPs"] = [{"ip": self.node.ip}]
        status["startTime"] = kt(sched_at)
        if self.mode != "creating":
            status["podIP"] = self.ip
            status["podIPs"] = [{"ip": self.ip}]
        cid = "containerd://" + hx("container", self.uid, self.restarts, n=64)
        image_id = f"{self.image.split(':')[0]}@sha256:" + hx("digest", self.image, n=64)
        cs = {"name": cname, "image": self.image, "imageID": image_id, "ready": False,
              "restartCount": self.restarts, "started": False, "state": {}, "lastState": {}}
        ready_reason = ("ContainersNotReady", f"containers with unready status: [{cname}]")
        if self.mode == "running":
            status["phase"] = "Running"
            cs.update(containerID=cid, ready=self.ready, started=True,
                      state={"running": {"startedAt": kt(self.started)}})
            if self.deletion:
                cs["ready"] = False
        elif self.mode == "creating":
            status["phase"] = "Pending"
            cs["imageID"] = ""
            cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
        elif self.mode == "imagepull":
            status["phase"] = "Pending"
            cs["imageID"] = ""
            msg = (f'Back-off pulling image "{self.image}"' if self.pull_reason == "ImagePullBackOff"
                   else f'rpc error: code = NotFound desc = failed to pull and unpack image "{self.image}": '
                        f'failed to resolve reference "{self.image}": {self.image}: not found')
            cs["state"] = {"waiting": {"reason": self.pull_reason, "message": msg}}
        elif self.mode in ("crash-running", "crash-waiting"):
            status["phase"] = "Running"
            term = {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                   "startedAt": kt(self.last_term[0]), "finishedAt": kt(self.last_term[1]),
                                   "containerID": "containerd://" + hx("container", self.uid, self.restarts - 1, n=64)}}
            cs["lastState"] = term
            if self.mode == "crash-running":
                cs.update(containerID=cid, started=True, state={"running": {"startedAt": kt(self.started)}})
            else:
                cs["containerID"] = "containerd://" + hx("container", self.uid, self.restarts - 1, n=64)
                cs["lastState"]["terminated"]["containerID"] = cs["containerID"]
                cs["state"] = {"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 5m0s restarting failed container={cname} pod={self.name}_{self.ns}({self.uid})"}}
        ready = self.mode == "running" and self.ready and not self.deletion
        rs = self.ready_since or sched_at
        ready_to_start = self.mode != "creating"
        conds = [
            c("PodReadyToStartContainers", "True" if ready_to_start else "False", sched_at + timedelta(seconds=2)),
            c("Initialized", "True", sched_at),
            c("Ready", "True", rs) if ready else c("Ready", "False", rs, *ready_reason),
            c("ContainersReady", "True", rs) if ready else c("ContainersReady", "False", rs, *ready_reason),
            c("PodScheduled", "True", sched_at),
        ]
        if self.deletion:
            conds.insert(0, c("DisruptionTarget", "True", self.deletion[3], self.deletion[1], self.deletion[2]))
        status["conditions"] = conds
        status["containerStatuses"] = [cs]
        return self._wrap(meta, spec, status)

    @staticmethod
    def _wrap(meta, spec, status):
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def emit_pod(t: datetime, p: Pod) -> None:
    kube_apply(t, p.render())


def pod_ip(node: Node, label: str) -> str:
    a, b, c, d = node.ip.split(".")
    v = int(hx("podip", label, n=6), 16)
    return f"{a}.{b}.{int(c) + (v % 2)}.{10 + (v >> 4) % 240}"


# ───────────────────────────── controllers (status of owners) ─────────────────────────────


def pods_of(app: App, new: bool | None = None) -> list[Pod]:
    return [p for p in PODS.values() if p.app is app and (new is None or p.new_rs == new)]


def rs_obj(app: App, new: bool, t: datetime) -> dict:
    if new:
        h, name, ruid, image, created = app.new_rs
        desired = 1
    else:
        h, name, ruid, image, created = app.rs_hash, app.rs_name, app.rs_uid, app.image, app.rs_created
        desired = app.replicas
    pods = [p for p in pods_of(app, new) if p.deletion is None]
    ready = sum(1 for p in pods if p.healthy())
    labels = dict(app.labels(), **{"pod-template-hash": h})
    tmpl = app.pod_template(image)
    tmpl["metadata"]["labels"]["pod-template-hash"] = h
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name, "namespace": app.ns, "uid": ruid, "creationTimestamp": kt(created),
            "generation": 1 if new else 3, "labels": labels,
            "annotations": {"deployment.kubernetes.io/desired-replicas": str(app.replicas),
                            "deployment.kubernetes.io/max-replicas": str(app.replicas + 1),
                            "deployment.kubernetes.io/revision": str(app.generation + (1 if new else 0))},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app.name, "uid": app.uid,
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {"replicas": desired, "selector": {"matchLabels": labels}, "template": tmpl},
        "status": {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                   "availableReplicas": ready, "observedGeneration": 1 if new else 3},
    }


def deploy_obj(app: App, t: datetime) -> dict:
    pods = [p for p in pods_of(app) if p.deletion is None]
    ready = sum(1 for p in pods if p.healthy())
    max_unavail = (app.replicas * 25) // 100
    available_ok = ready >= app.replicas - max_unavail
    updated = sum(1 for p in pods if p.new_rs) if app.new_rs else len(pods)
    since = app.__dict__.setdefault("_avail_since", {True: app.created + timedelta(minutes=1), False: None})
    key = "_avail_state"
    if app.__dict__.get(key) is not None and app.__dict__[key] != available_ok:
        since[available_ok] = t
    app.__dict__[key] = available_ok
    avail_t = since[available_ok] or t
    conds = [
        {"type": "Available", "status": "True", "lastUpdateTime": kt(avail_t), "lastTransitionTime": kt(avail_t),
         "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."}
        if available_ok else
        {"type": "Available", "status": "False", "lastUpdateTime": kt(avail_t), "lastTransitionTime": kt(avail_t),
         "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."},
    ]
    if app.new_rs and app.progress_failed_at and t >= app.progress_failed_at:
        conds.append({"type": "Progressing", "status": "False", "lastUpdateTime": kt(app.progress_failed_at),
                      "lastTransitionTime": kt(app.progress_failed_at), "reason": "ProgressDeadlineExceeded",
                      "message": f'ReplicaSet "{app.new_rs[1]}" has timed out progressing.'})
    elif app.new_rs:
        conds.append({"type": "Progressing", "status": "True", "lastUpdateTime": kt(app.new_rs[4]),
                      "lastTransitionTime": kt(app.new_rs[4]), "reason": "ReplicaSetUpdated",
                      "message": f'ReplicaSet "{app.new_rs[1]}" is progressing.'})
    else:
        conds.append({"type": "Progressing", "status": "True", "lastUpdateTime": kt(app.rs_created + timedelta(seconds=48)),
                      "lastTransitionTime": kt(app.created + timedelta(seconds=2)), "reason": "NewReplicaSetAvailable",
                      "message": f'ReplicaSet "{app.rs_name}" has successfully progressed.'})
    image = app.new_rs[3] if app.new_rs else app.image
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": app.name, "namespace": app.ns, "uid": app.uid, "creationTimestamp": kt(app.created),
            "generation": app.generation + (1 if app.new_rs else 0), "labels": app.labels(),
            "annotations": {"deployment.kubernetes.io/revision": str(app.generation + (1 if app.new_rs else 0))},
        },
        "spec": {
            "replicas": app.replicas,
            "selector": {"matchLabels": app.labels()},
            "template": app.pod_template(image),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {
            "observedGeneration": app.generation + (1 if app.new_rs else 0),
            "replicas": len(pods),
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            **({"unavailableReplicas": len(pods) - ready} if len(pods) - ready > 0 else {}),
            "conditions": conds,
        },
    }


def sts_obj(app: App, t: datetime) -> dict:
    pods = [p for p in pods_of(app) if p.deletion is None]
    ready = sum(1 for p in pods if p.healthy())
    rev = f"{app.name}-{kname('crh', app.name, n=10)}"
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": app.name, "namespace": app.ns, "uid": app.uid, "creationTimestamp": kt(app.created),
                     "generation": 4, "labels": app.labels()},
        "spec": {
            "replicas": app.replicas,
            "selector": {"matchLabels": app.labels()},
            "serviceName": app.name,
            "template": app.pod_template(),
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "volumeClaimTemplates": [{
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                         "resources": {"requests": {"storage": app.__dict__.get("storage", "20Gi")}},
                         "volumeMode": "Filesystem"},
            }],
        },
        "status": {"observedGeneration": 4, "replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
                   "currentReplicas": len(pods), "updatedReplicas": len(pods), "currentRevision": rev,
                   "updateRevision": rev, "collisionCount": 0},
    }


_last_status: dict[tuple, str] = {}


def apply_if_changed(t: datetime, obj: dict) -> None:
    """Controllers write status only when it changes."""
    key = (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
    st = json.dumps(obj["status"], sort_keys=True)
    if _last_status.get(key) != st:
        _last_status[key] = st
        kube_apply(t, obj)


def refresh(app: App, t: datetime) -> None:
    t = t + timedelta(milliseconds=200)
    if app.kind == "StatefulSet":
        apply_if_changed(t, sts_obj(app, t))
        return
    apply_if_changed(t, rs_obj(app, False, t))
    if app.new_rs:
        apply_if_changed(t, rs_obj(app, True, t))
    apply_if_changed(t, deploy_obj(app, t))


# ───────────────────────────── scheduler simulation ─────────────────────────────

PENDING: list[Pod] = []
DEBUG = "--debug" in sys.argv


def live_nodes() -> list[Node]:
    return [n for n in NODES.values() if n.exists]


def tolerates(p: Pod, n: Node) -> bool:
    keys = {t.get("key") for t in p.app.tolerations}
    return all(t["key"] in keys for t in n.taints if t["effect"] in ("NoSchedule", "NoExecute")
               and t["key"] != "node.kubernetes.io/unschedulable")


def feasible(p: Pod, n: Node) -> str | None:
    """None when the pod fits, else the scheduler's per-node reason."""
    if n.unschedulable:
        return "node(s) were unschedulable"
    if not tolerates(p, n):
        return "node(s) had untolerated taint(s)"
    zone = p.app.__dict__.get("zone")
    if zone and n.zone != zone:
        return "node(s) had volume node affinity conflict"
    if p.cpu > n.free_cpu:
        return "Insufficient cpu"
    return None


def fit_error(p: Pod) -> str:
    nodes = live_nodes()
    counts: dict[str, int] = {}
    for n in nodes:
        r = feasible(p, n)
        assert r is not None
        counts[r] = counts.get(r, 0) + 1
    parts = ", ".join(f"{counts[r]} {r}" for r in sorted(counts))
    total = len(nodes)
    return (f"0/{total} nodes are available: {parts}. preemption: 0/{total} nodes are available: "
            f"{total} Preemption is not helpful for scheduling.")


def bind(t: datetime, p: Pod, n: Node, ready_after: float) -> None:
    if DEBUG:
        print(f"  {at_(t)} {p.name} ({p.cpu}m) -> {n.key} (free {n.free_cpu})", file=sys.stderr)
    p.node = n
    n.used_cpu += p.cpu
    p.scheduled_at = t
    p.mode = "creating"
    p.ip = pod_ip(n, p.uid)
    sevent(t, p.inv(), "Scheduled", f"Successfully assigned {p.ns}/{p.name} to {n.name}", "Normal", action="Binding")
    emit_pod(t, p)
    if ready_after is None:
        return
    t1 = t + timedelta(seconds=1.5)
    if True:
        kevent(t1, p.cinv(), "Pulling", f'Pulling image "{p.image}"', host=n.name)
        kevent(t1 + timedelta(seconds=3.2), p.cinv(), "Pulled",
               f'Successfully pulled image "{p.image}" in 3.104s (3.104s including waiting). Image size: 48211793 bytes.',
               host=n.name)
    t2 = t1 + timedelta(seconds=3.4)
    kevent(t2, p.cinv(), "Created", f"Created container: {p.app.container}", host=n.name)
    kevent(t2 + timedelta(seconds=0.3), p.cinv(), "Started", f"Started container {p.app.container}", host=n.name)
    p.mode = "running"
    p.started = t2 + timedelta(seconds=0.3)
    emit_pod(p.started, p)
    refresh(p.app, p.started)
    p.ready = True
    p.ready_since = t + timedelta(seconds=ready_after)
    emit_pod(p.ready_since, p)
    refresh(p.app, p.ready_since)


def try_schedule(t: datetime, p: Pod, ready_after: float = 11.0) -> bool:
    cands = [n for n in live_nodes() if n.ready and feasible(p, n) is None]
    if cands:
        n = max(cands, key=lambda n: (n.free_cpu, n.name))
        if p in PENDING:
            PENDING.remove(p)
        bind(t, p, n, ready_after)
        return True
    msg = fit_error(p)
    if DEBUG:
        print(f"  {at_(t)} {p.name} ({p.cpu}m) pending: " + " ".join(f"{n.key}={n.free_cpu}" for n in live_nodes()), file=sys.stderr)
    if p.mode != "pending" or p.sched_message != msg:
        if p.mode != "pending":
            p.sched_since = t
        p.mode = "pending"
        p.sched_message = msg
        emit_pod(t, p)
    sevent(t, p.inv(), "FailedScheduling", msg)
    if p not in PENDING:
        PENDING.append(p)
    return False


def retry_pending(t: datetime, step: float = 0.4) -> None:
    for i, p in enumerate(list(PENDING)):
        try_schedule(t + timedelta(seconds=i * step), p)


def replace_pod(t: datetime, old: Pod) -> Pod:
    """The ReplicaSet/StatefulSet controller creates a replacement for a pod being deleted."""
    app = old.app
    if app.kind == "StatefulSet":
        name = old.name
        np = Pod(app, name, t, volume=old.volume)
        kevent(t, _involved("StatefulSet", app.ns, app.name, app.uid, api="apps/v1"), "SuccessfulCreate",
               f"create Pod {name} in StatefulSet {app.name} successful", component="statefulset-controller")
    else:
        name = f"{app.rs_name}-{kname('pod', app.ns, app.name, t.isoformat(), old.name)}"
        np = Pod(app, name, t)
        kevent(t, _involved("ReplicaSet", app.ns, app.rs_name, app.rs_uid, api="apps/v1"), "SuccessfulCreate",
               f"Created pod: {name}", component="replicaset-controller")
    emit_pod(t, np)
    return np


def evict(t: datetime, p: Pod, reason: str, message: str, grace: float, by: str) -> Pod:
    """Eviction API: DisruptionTarget, deletionTimestamp, kubelet stops the container, pod deleted after grace."""
    p.deletion = (t + timedelta(seconds=30), reason, message, t)
    if by == "karpenter":
        kevent(t, p.inv(), "Evicted", "Evicted pod: Interrupted", component="karpenter")
    elif by == "nth":
        kevent(t, p.inv(), "PodEviction", f"Pod evicted due to node drain (node {p.node.name})",
               component="aws-node-termination-handler")
    emit_pod(t, p)
    kevent(t + timedelta(seconds=0.4), p.cinv(), "Killing", f"Stopping container {p.app.container}", host=p.node.name)
    refresh(p.app, t)
    np = replace_pod(t + timedelta(seconds=0.6), p)
    gone = t + timedelta(seconds=grace)
    delete_pod(gone, p)
    return np


def delete_pod(t: datetime, p: Pod) -> None:
    kube_delete(t, p.render())
    if p.node:
        p.node.used_cpu -= p.cpu
    PODS.pop((p.ns, p.name), None)
    if p in PENDING:
        PENDING.remove(p)


# ───────────────────────────── the initial Kubernetes world ─────────────────────────────

CRIT_TOL = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
MON_TOL = [{"key": "dedicated", "operator": "Equal", "value": "monitoring", "effect": "NoSchedule"}]


def img(repo: str, tag: str) -> str:
    return f"{ECR}/{repo}:{tag}"


# (app, [node keys for each replica])
SPEC = [
    (App("shop", "storefront", "Deployment", 4, 500, "512Mi", "1Gi", img("shop/storefront", "v3.18.2"), 8080, START - 41 * DAYS,
         rollout=START - 3 * DAYS - 6 * HOURS), ["N4", "N5", "N6", "N7"]),
    (App("shop", "cart", "Deployment", 3, 500, "512Mi", "768Mi", img("shop/cart", "v2.9.0"), 8080, START - 41 * DAYS,
         rollout=START - 5 * DAYS), ["N4", "N5", "N7"]),
    (App("shop", "checkout", "Deployment", 3, 1000, "1Gi", "1536Mi", img("shop/checkout", "v5.2.1"), 8080, START - 41 * DAYS,
         rollout=START - 1 * DAYS - 9 * HOURS), ["N4", "N5", "N6"]),
    (App("shop", "product-catalog", "Deployment", 2, 750, "768Mi", "1Gi", img("shop/product-catalog", "v1.44.0"), 8080,
         START - 41 * DAYS, rollout=START - 8 * DAYS), ["N4", "N7"]),
    (App("payments", "payments-api", "Deployment", 3, 1000, "1Gi", "1536Mi", img("payments/api", "v7.3.0"), 8443,
         START - 63 * DAYS, rollout=START - 2 * DAYS - 4 * HOURS), ["N4", "N5", "N6"]),
    (App("payments", "fraud-scorer", "Deployment", 2, 1000, "768Mi", "1Gi", img("payments/fraud-scorer", "v4.1.0"), 9000,
         START - 63 * DAYS, rollout=START - 20 * HOURS), ["N5", "N6"]),
    (App("payments", "ledger-worker", "Deployment", 2, 500, "512Mi", "768Mi", img("payments/ledger-worker", "v7.3.0"), None,
         START - 63 * DAYS, rollout=START - 2 * DAYS - 4 * HOURS), ["N5", "N7"]),
    (App("search", "search-api", "Deployment", 3, 1000, "2Gi", "3Gi", img("search/api", "v2.13.4"), 8080, START - 29 * DAYS,
         rollout=START - 6 * DAYS), ["N4", "N6", "N7"]),
    (App("search", "search-indexer", "Deployment", 2, 1500, "3Gi", "4Gi", img("search/indexer", "v2.13.4"), None,
         START - 29 * DAYS, rollout=START - 6 * DAYS), ["N5", "N6"]),
    (App("platform", "api-gateway", "Deployment", 3, 500, "512Mi", "1Gi", img("platform/api-gateway", "v1.27.3"), 8080,
         START - 88 * DAYS, rollout=START - 12 * DAYS), ["N4", "N5", "N7"]),
    (App("platform", "auth", "Deployment", 2, 500, "512Mi", "768Mi", img("platform/auth", "v3.0.7"), 8080, START - 88 * DAYS,
         rollout=START - 4 * DAYS), ["N4", "N6"]),
    (App("platform", "feature-flags", "Deployment", 2, 250, "256Mi", "512Mi", img("platform/feature-flags", "v0.31.2"),
         8080, START - 88 * DAYS, rollout=START - 30 * DAYS), ["N5", "N7"]),
    (App("monitoring", "grafana", "Deployment", 1, 250, "512Mi", "1Gi", "docker.io/grafana/grafana:12.2.1", 3000,
         START - 120 * DAYS, tolerations=MON_TOL, node_selector={"workload": "monitoring"},
         rollout=START - 16 * DAYS), ["N3"]),
    (App("monitoring", "kube-state-metrics", "Deployment", 1, 100, "256Mi", "512Mi",
         "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.17.0", 8080, START - 120 * DAYS,
         tolerations=MON_TOL, node_selector={"workload": "monitoring"}, rollout=START - 16 * DAYS), ["N3"]),
    (App("monitoring", "alertmanager", "Deployment", 2, 100, "128Mi", "256Mi", "quay.io/prometheus/alertmanager:v0.29.0",
         9093, START - 120 * DAYS, tolerations=MON_TOL, node_selector={"workload": "monitoring"},
         rollout=START - 16 * DAYS), ["N3", "N3"]),
    (App("kube-system", "coredns", "Deployment", 2, 100, "70Mi", "170Mi",
         "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/coredns:v1.12.3-eksbuild.1", 53, START - 203 * DAYS,
         tolerations=CRIT_TOL, rollout=START - 19 * DAYS), ["N1", "N2"]),
    (App("kube-system", "karpenter", "Deployment", 2, 1000, "1Gi", "1Gi", "public.ecr.aws/karpenter/controller:1.8.2",
         8080, START - 203 * DAYS, tolerations=CRIT_TOL, rollout=START - 19 * DAYS), ["N1", "N2"]),
    (App("kube-system", "ebs-csi-controller", "Deployment", 2, 10, "40Mi", "256Mi",
         "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/aws-ebs-csi-driver:v1.51.1", None, START - 203 * DAYS,
         tolerations=CRIT_TOL, container="ebs-plugin", rollout=START - 19 * DAYS), ["N1", "N2"]),
    (App("kube-system", "metrics-server", "Deployment", 1, 100, "200Mi", "400Mi",
         "registry.k8s.io/metrics-server/metrics-server:v0.8.0", 10250, START - 203 * DAYS, tolerations=CRIT_TOL,
         rollout=START - 19 * DAYS), ["N2"]),
]

CART_REDIS = App("shop", "cart-redis", "StatefulSet", 1, 250, "1Gi", "1536Mi", "docker.io/library/redis:7.4.6", 6379,
                 START - 41 * DAYS, container="redis")
CART_REDIS.zone = "us-east-1a"
CART_REDIS.storage = "20Gi"
PROMETHEUS = App("monitoring", "prometheus", "StatefulSet", 1, 1000, "4Gi", "6Gi", "quay.io/prometheus/prometheus:v3.7.3",
                 9090, START - 120 * DAYS, tolerations=MON_TOL, node_selector={"workload": "monitoring"})
PROMETHEUS.zone = "us-east-1c"
PROMETHEUS.storage = "100Gi"

PV = {
    "cart-redis": "pvc-" + uid("pv", "cart-redis"),
    "prometheus": "pvc-" + uid("pv", "prometheus"),
}


def pvc_obj(app: App, node: Node) -> dict:
    name = f"data-{app.name}-0"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name, "namespace": app.ns, "uid": PV[app.name][4:], "creationTimestamp": kt(app.created),
            "labels": app.labels(),
            "annotations": {
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
                "volume.kubernetes.io/selected-node": node.name,
                "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
            },
            "finalizers": ["kubernetes.io/pvc-protection"],
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": app.storage}},
                 "storageClassName": "gp3", "volumeMode": "Filesystem", "volumeName": PV[app.name]},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": app.storage}},
    }


def initial_pod(app: App, node: Node, i: int, t0: datetime) -> Pod:
    if app.kind == "StatefulSet":
        name = f"{app.name}-{i}"
        created = START - timedelta(hours=8, minutes=40) if node is N4 else app.created + 7 * DAYS
    else:
        name = f"{app.rs_name}-{kname('pod', app.ns, app.name, i)}"
        created = max(app.rs_created, node.created + timedelta(minutes=3)) + timedelta(seconds=7 * i)
    p = Pod(app, name, created, volume=("data", f"data-{app.name}-{i}") if app.kind == "StatefulSet" else None)
    p.node = node
    node.used_cpu += app.cpu
    p.scheduled_at = created + timedelta(seconds=1)
    p.ip = pod_ip(node, p.uid)
    p.mode = "running"
    p.started = created + timedelta(seconds=9)
    p.ready = True
    p.ready_since = created + timedelta(seconds=21)
    return p


def build_world() -> None:
    t = START
    for n in NODES.values():
        kube_apply(t, n.render(t))
    t += timedelta(seconds=1)
    for app, placement in SPEC:
        for i, nk in enumerate(placement):
            initial_pod(app, NODES[nk], i, t)
    initial_pod(CART_REDIS, N4, 0, t)
    initial_pod(PROMETHEUS, N3, 0, t)

    # background trouble 1: search-indexer rollout to a tag that was never pushed (02:48:12)
    si = APPS["search/search-indexer"]
    bad = img("search/indexer", "v2.14.0-rc1")
    h = kname("rs", si.ns, si.name, bad, n=10)
    si.new_rs = (h, f"{si.name}-{h}", uid("ReplicaSet", si.ns, f"{si.name}-{h}"), bad, T("02:48:12"))
    si.progress_failed_at = T("02:58:13")
    bp = Pod(si, f"{si.name}-{h}-{kname('pod', 'bad', n=5)}", T("02:48:12"), new_rs=True)
    bp.node = N7
    N7.used_cpu += si.cpu
    bp.scheduled_at = T("02:48:12")
    bp.ip = pod_ip(N7, bp.uid)
    bp.mode = "imagepull"

    # background trouble 2: fraud-scorer pod on N6 OOMKilled in a loop since a model update (02:03)
    fs = [p for p in PODS.values() if p.app.name == "fraud-scorer" and p.node is N6][0]
    fs.mode = "crash-waiting"
    fs.restarts = 9
    fs.last_term = (T("02:44:31"), T("02:45:38"))
    fs.started = None
    fs.ready = False
    fs.ready_since = T("02:03:52")

    for p in list(PODS.values()):
        emit_pod(t, p)
    for app in list(APPS.values()):
        refresh(app, t)
    kube_apply(t, pvc_obj(CART_REDIS, N4))
    kube_apply(t, pvc_obj(PROMETHEUS, N3))

    # events that happened shortly before the recording started (still within the 1 h TTL)
    inv = bp.cinv()
    for k, s in enumerate(["02:48:13", "02:48:29", "02:48:57", "02:49:44"]):
        kevent(T(s), inv, "Pulling", f'Pulling image "{bad}"', host=N7.name)
        kevent(T(s) + timedelta(seconds=0.6), inv, "Failed",
               f'Failed to pull image "{bad}": rpc error: code = NotFound desc = failed to pull and unpack image '
               f'"{bad}": failed to resolve reference "{bad}": {bad}: not found', "Warning", host=N7.name)
        kevent(T(s) + timedelta(seconds=0.6), inv, "Failed", "Error: ErrImagePull", "Warning", host=N7.name)
        kevent(T(s) + timedelta(seconds=1.5), inv, "BackOff", f'Back-off pulling image "{bad}"', host=N7.name)
        kevent(T(s) + timedelta(seconds=1.5), inv, "Failed", "Error: ImagePullBackOff", "Warning", host=N7.name)
    kevent(T("02:48:12"), _involved("Deployment", si.ns, si.name, si.uid, api="apps/v1"), "ScalingReplicaSet",
           f"Scaled up replica set {si.new_rs[1]} from 0 to 1", component="deployment-controller")
    sevent(T("02:48:12"), bp.inv(), "Scheduled", f"Successfully assigned {bp.ns}/{bp.name} to {N7.name}", "Normal",
           action="Binding")
    finv = fs.cinv()
    for s in ["02:45:39", "02:45:52", "02:46:20", "02:47:14", "02:48:30", "02:49:55"]:
        kevent(T(s), finv, "BackOff", f"Back-off restarting failed container {fs.app.container} in pod "
                                      f"{fs.name}_{fs.ns}({fs.uid})", "Warning", host=N6.name)
    # the crash loop has been going on for most of an hour: these events aggregate
    for s in ["02:44:30"]:
        kevent(T(s), finv, "Pulled", f'Container image "{fs.image}" already present on machine', host=N6.name)
        kevent(T(s), finv, "Created", f"Created container: {fs.app.container}", host=N6.name)
        kevent(T(s), finv, "Started", f"Started container {fs.app.container}", host=N6.name)

    # EC2 scheduled event on the monitoring node: not urgent, but the operator should see it
    out(t, {"type": "ec2InstanceStatus", "region": REGION, "status": {
        "InstanceId": N3.instance, "AvailabilityZone": N3.zone,
        "Events": [{"InstanceEventId": "instance-event-0" + hx("iev", n=16), "Code": "instance-retirement",
                    "Description": "The instance is running on degraded hardware",
                    "NotBefore": awst(datetime(2026, 12, 2, 4, 0, tzinfo=timezone.utc)),
                    "NotAfter": awst(datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc))}],
        "InstanceState": {"Code": 16, "Name": "running"}}})


# ───────────────────────────── EC2 ─────────────────────────────

INSTANCES: dict[str, dict] = {}
SPOT_REQS: dict[str, dict] = {}


def ec2_instance(t: datetime, key: str, iid: str, itype: str, zone: str, ip: str, launched: datetime, spot_req: str | None,
                 tags: dict, state: tuple[int, str] = (16, "running")) -> dict:
    inst = {
        "InstanceId": iid,
        "InstanceType": itype,
        "State": {"Code": state[0], "Name": state[1]},
        "StateTransitionReason": "",
        "Placement": {"AvailabilityZone": zone},
        "PrivateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal",
        "PrivateIpAddress": ip,
        "LaunchTime": awst(launched),
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if spot_req:
        inst["InstanceLifecycle"] = "spot"
        inst["SpotInstanceRequestId"] = spot_req
    INSTANCES[key] = inst
    out(t, {"type": "ec2Instance", "region": REGION, "instance": copy.deepcopy(inst)})
    return inst


def ec2_update(t: datetime, key: str, state: tuple[int, str], reason: tuple[str, str] | None = None) -> None:
    inst = INSTANCES[key]
    inst["State"] = {"Code": state[0], "Name": state[1]}
    if reason:
        inst["StateReason"] = {"Code": reason[0], "Message": reason[1]}
        inst["StateTransitionReason"] = "Service initiated"
    out(t, {"type": "ec2Instance", "region": REGION, "instance": copy.deepcopy(inst)})


SPOT_MSG = {
    "fulfilled": ("active", "Your spot request is fulfilled."),
    "marked-for-termination": ("active", "Spot Instance is marked for termination due to no available capacity."),
    "instance-terminated-no-capacity": ("closed", "Spot Instance terminated due to no available capacity."),
}


def spot_request(t: datetime, sir: str, iid: str, zone: str, created: datetime, code: str, updated: datetime) -> None:
    state, msg = SPOT_MSG[code]
    req = {
        "SpotInstanceRequestId": sir,
        "InstanceId": iid,
        "State": state,
        "Status": {"Code": code, "Message": msg, "UpdateTime": awst(updated)},
        "Type": "one-time",
        "LaunchedAvailabilityZone": zone,
        "CreateTime": awst(created),
        "InstanceInterruptionBehavior": "terminate",
        "ProductDescription": "Linux/UNIX",
    }
    SPOT_REQS[sir] = req
    out(t, {"type": "ec2SpotRequest", "region": REGION, "request": req})


def node_tags(n: Node) -> dict:
    tags = {"Name": n.name if n.nodegroup else f"{n.nodepool}/{kname('nc', n.key, n=5)}",
            "eks:cluster-name": CTX, f"kubernetes.io/cluster/{CTX}": "owned"}
    if n.nodepool:
        tags.update({"karpenter.sh/nodepool": n.nodepool, "karpenter.sh/nodeclaim": f"{n.nodepool}-{kname('nc', n.key, n=5)}",
                     "karpenter.k8s.aws/ec2nodeclass": "default"})
    if n.nodegroup:
        tags.update({"eks:nodegroup-name": n.nodegroup,
                     "aws:autoscaling:groupName": f"eks-{n.nodegroup}-{uid('asg', n.nodegroup)}"})
    return tags


# ───────────────────────────── ECS ─────────────────────────────

ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
CLUSTER_ARN = f"{ARN}:cluster/{CLUSTER}"
TASKS: dict[str, dict] = {}
SERVICES: dict[str, dict] = {}
CIS: dict[str, dict] = {}


class Ci:
    def __init__(self, key, instance_key, iid, itype, zone, ip, cp, cpu, mem, registered, spot_req=None):
        self.key, self.instance_key, self.iid, self.itype, self.zone, self.ip = key, instance_key, iid, itype, zone, ip
        self.cp, self.cpu, self.mem, self.registered, self.spot_req = cp, cpu, mem, registered, spot_req
        self.id = hx("ci", key)
        self.arn = f"{ARN}:container-instance/{CLUSTER}/{self.id}"
        self.status = "ACTIVE"
        self.agent = True
        self.tasks: list[str] = []

    def render(self) -> dict:
        running = [TASKS[a] for a in self.tasks if TASKS[a]["lastStatus"] not in ("STOPPED",)]
        used_cpu = sum(int(t["cpu"]) for t in running)
        used_mem = sum(int(t["memory"]) for t in running)
        res = lambda cpu, mem: [  # noqa: E731
            {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": mem},
            {"name": "PORTS", "type": "STRINGSET"},
            {"name": "PORTS_UDP", "type": "STRINGSET"},
        ]
        return {
            "containerInstanceArn": self.arn,
            "ec2InstanceId": self.iid,
            "capacityProviderName": self.cp,
            "status": self.status,
            "agentConnected": self.agent,
            "runningTasksCount": sum(1 for t in running if t["lastStatus"] == "RUNNING"),
            "pendingTasksCount": sum(1 for t in running if t["lastStatus"] in ("PENDING", "PROVISIONING")),
            "remainingResources": res(self.cpu - used_cpu, self.mem - used_mem),
            "registeredResources": res(self.cpu, self.mem),
            "registeredAt": awst(self.registered),
        }


def emit_ci(t: datetime, ci: Ci) -> None:
    CIS[ci.key] = ci.render()
    out(t, {"type": "ecsContainerInstance", "region": REGION, "cluster": CLUSTER,
            "containerInstance": copy.deepcopy(CIS[ci.key])})


class Svc:
    def __init__(self, name, desired, cpu, mem, revision, strategy, created, image, port, launch_type=None):
        self.name, self.desired, self.cpu, self.mem, self.revision = name, desired, cpu, mem, revision
        self.strategy, self.created, self.image, self.port = strategy, created, image, port
        self.launch_type = launch_type
        self.arn = f"{ARN}:service/{CLUSTER}/{name}"
        self.td = f"{ARN}:task-definition/{name}:{revision}"
        self.deployment = "ecs-svc/" + str(int(hx("dep", name, n=15), 16))[:19].rjust(19, "4")
        self.dep_created = created
        self.events: list[dict] = []
        self.tasks: list[str] = []

    def event(self, t: datetime, message: str) -> None:
        self.events.insert(0, {"id": uid("svc-event", self.name, t.isoformat(), message), "createdAt": awst(t),
                               "message": message})
        del self.events[100:]

    def render(self) -> dict:
        live = [TASKS[a] for a in self.tasks]
        running = sum(1 for t in live if t["lastStatus"] == "RUNNING")
        pending = sum(1 for t in live if t["lastStatus"] in ("PROVISIONING", "PENDING", "ACTIVATING"))
        svc = {
            "serviceArn": self.arn,
            "serviceName": self.name,
            "clusterArn": CLUSTER_ARN,
            "status": "ACTIVE",
            "desiredCount": self.desired,
            "runningCount": running,
            "pendingCount": pending,
            "capacityProviderStrategy": self.strategy,
            "deployments": [{
                "id": self.deployment, "status": "PRIMARY", "desiredCount": self.desired, "runningCount": running,
                "pendingCount": pending, "failedTasks": 0, "rolloutState": "COMPLETED",
                "rolloutStateReason": f"ECS deployment {self.deployment} completed.",
                "createdAt": awst(self.dep_created), "updatedAt": awst(self.dep_created + timedelta(minutes=4, seconds=12)),
            }],
            "events": copy.deepcopy(self.events),
            "createdAt": awst(self.created),
        }
        if self.launch_type:
            svc["launchType"] = self.launch_type
        return svc


def emit_svc(t: datetime, s: Svc) -> None:
    SERVICES[s.name] = s.render()
    out(t, {"type": "ecsService", "region": REGION, "service": copy.deepcopy(SERVICES[s.name])})


def new_task(svc: Svc, label: str, created: datetime, ci: Ci | None, cp: str, zone: str, status: str = "RUNNING") -> dict:
    tid = hx("task", svc.name, label)
    arn = f"{ARN}:task/{CLUSTER}/{tid}"
    task = {
        "taskArn": arn,
        "clusterArn": CLUSTER_ARN,
        "taskDefinitionArn": svc.td,
        "lastStatus": status,
        "desiredStatus": "RUNNING",
        "launchType": "FARGATE" if ci is None else "EC2",
        "capacityProviderName": cp,
        "group": f"service:{svc.name}",
        "startedBy": svc.deployment,
        "availabilityZone": zone,
        "cpu": str(svc.cpu),
        "memory": str(svc.mem),
        "createdAt": awst(created),
        "containers": [{
            "containerArn": f"{ARN}:container/{CLUSTER}/{tid}/{uid('container', tid)}",
            "name": svc.name,
            "image": svc.image,
            "lastStatus": status if status in ("RUNNING", "PENDING", "STOPPED") else "PENDING",
            "healthStatus": "HEALTHY" if status == "RUNNING" else "UNKNOWN",
        }],
    }
    if ci is not None:
        task["containerInstanceArn"] = ci.arn
        ci.tasks.append(arn)
    if status == "RUNNING":
        task["pullStartedAt"] = awst(created + timedelta(seconds=2.1))
        task["startedAt"] = awst(created + timedelta(seconds=14.6))
        task["healthStatus"] = "HEALTHY"
    else:
        task["healthStatus"] = "UNKNOWN"
    TASKS[arn] = task
    svc.tasks.append(arn)
    return task


def emit_task(t: datetime, task: dict) -> None:
    out(t, {"type": "ecsTask", "region": REGION, "task": copy.deepcopy(task)})


# ───────────────────────────── the scenario ─────────────────────────────


def main() -> list[str]:
    build_world()
    t0 = START

    # EC2: every node's instance, and spot requests for the spot ones
    for n in list(NODES.values()):
        ec2_instance(t0, n.key, n.instance, n.itype, n.zone, n.ip, n.created - timedelta(seconds=48), n.spot_request,
                     node_tags(n))
        if n.spot_request:
            spot_request(t0, n.spot_request, n.instance, n.zone, n.created - timedelta(seconds=50), "fulfilled",
                         n.created - timedelta(seconds=48))

    # ECS: the cluster's capacity providers
    asg = lambda name: f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:{uid('asg', name)}:autoScalingGroupName/{name}"  # noqa: E731
    for cp_name, asg_name in [("orders-spot-asg", "orders-prod-spot"), ("orders-ondemand-asg", "orders-prod-ondemand")]:
        out(t0, {"type": "ecsCapacityProvider", "region": REGION, "capacityProvider": {
            "capacityProviderArn": f"{ARN}:capacity-provider/{cp_name}", "name": cp_name, "status": "ACTIVE",
            "autoScalingGroupProvider": {
                "autoScalingGroupArn": asg(asg_name),
                "managedScaling": {"status": "ENABLED", "targetCapacity": 100, "minimumScalingStepSize": 1,
                                   "maximumScalingStepSize": 4, "instanceWarmupPeriod": 180},
                "managedTerminationProtection": "DISABLED", "managedDraining": "ENABLED"},
            "updateStatus": "UPDATE_COMPLETE"}})
    for cp_name in ["FARGATE", "FARGATE_SPOT"]:
        out(t0, {"type": "ecsCapacityProvider", "region": REGION, "capacityProvider": {"name": cp_name, "status": "ACTIVE"}})

    # ECS container instances. CI1 is the same EC2 instance as Kubernetes node N4 (shared demo fleet).
    ci1 = Ci("CI1", "N4", N4.instance, "m5.2xlarge", "us-east-1a", N4.ip, "orders-spot-asg", 8192, 31482,
             N4.created + timedelta(minutes=2, seconds=10), N4.spot_request)
    ci2_inst, ci3_inst, ci4_inst = instance_id("CI2"), instance_id("CI3"), instance_id("CI4")
    ci2 = Ci("CI2", "CI2", ci2_inst, "m5.xlarge", "us-east-1b", "10.0.24.19", "orders-spot-asg", 4096, 15731,
             START - 1 * DAYS - 2 * HOURS, "sir-" + kname("sir", "CI2", n=8))
    ci3 = Ci("CI3", "CI3", ci3_inst, "m5a.xlarge", "us-east-1c", "10.0.41.230", "orders-spot-asg", 4096, 15731,
             START - 17 * HOURS, "sir-" + kname("sir", "CI3", n=8))
    ci4 = Ci("CI4", "CI4", ci4_inst, "m5.xlarge", "us-east-1a", "10.0.12.77", "orders-ondemand-asg", 4096, 15731,
             START - 9 * DAYS)
    for ci in (ci2, ci3, ci4):
        ec2_instance(t0, ci.instance_key, ci.iid, ci.itype, ci.zone, ci.ip, ci.registered - timedelta(seconds=75),
                     ci.spot_req, {"Name": f"{CLUSTER}-ecs", "aws:autoscaling:groupName":
                                   "orders-prod-spot" if ci.spot_req else "orders-prod-ondemand",
                                   "AmazonECSManaged": ""})
        if ci.spot_req:
            spot_request(t0, ci.spot_req, ci.iid, ci.zone, ci.registered - timedelta(seconds=80), "fulfilled",
                         ci.registered - timedelta(seconds=76))

    spot_strat = [{"capacityProvider": "orders-spot-asg", "weight": 1, "base": 0}]
    api = Svc("orders-api", 6, 1024, 6144, 42, spot_strat, START - 210 * DAYS,
              f"{ECR}/orders/api:2026.11.27-3", 8080)
    worker = Svc("orders-worker", 4, 512, 2048, 18,
                 [{"capacityProvider": "orders-spot-asg", "weight": 3, "base": 0},
                  {"capacityProvider": "orders-ondemand-asg", "weight": 1, "base": 1}],
                 START - 210 * DAYS, f"{ECR}/orders/worker:2026.11.27-3", None)
    notif = Svc("notifications", 2, 256, 1024, 9, [{"capacityProvider": "orders-ondemand-asg", "weight": 1, "base": 2}],
                START - 150 * DAYS, f"{ECR}/orders/notifications:1.8.0", 8080)
    checkout_ev = Svc("checkout-events", 3, 512, 1024, 27,
                      [{"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                       {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0}],
                      START - 95 * DAYS, f"{ECR}/orders/checkout-events:3.4.2", 8080)
    api.dep_created = START - 2 * DAYS - 19 * HOURS
    worker.dep_created = START - 2 * DAYS - 19 * HOURS
    notif.dep_created = START - 12 * DAYS
    checkout_ev.dep_created = START - 6 * DAYS

    tasks_api = [new_task(api, f"a{i}", ci.registered + timedelta(minutes=3 + i), ci, "orders-spot-asg", ci.zone)
                 for i, ci in enumerate([ci1, ci1, ci2, ci2, ci3, ci3])]
    tasks_worker = [new_task(worker, f"w{i}", max(ci.registered, worker.dep_created) + timedelta(minutes=4 + i), ci, ci.cp,
                             ci.zone) for i, ci in enumerate([ci1, ci2, ci3, ci4])]
    for i in range(2):
        new_task(notif, f"n{i}", ci4.registered + timedelta(minutes=5 + i), ci4, "orders-ondemand-asg", ci4.zone)
    fg = [new_task(checkout_ev, f"f{i}", START - timedelta(hours=5 + 3 * i, minutes=11 * i), None, cp, zone)
          for i, (cp, zone) in enumerate([("FARGATE", "us-east-1a"), ("FARGATE_SPOT", "us-east-1b"),
                                          ("FARGATE_SPOT", "us-east-1c")])]

    # service event history (newest first once inserted)
    for s in (api, worker, notif, checkout_ev):
        s.event(s.dep_created + timedelta(minutes=4, seconds=12), f"service ({s.name}) has reached a steady state.")
        s.event(s.dep_created + timedelta(minutes=4, seconds=13), f"service ({s.name}) (deployment {s.deployment}) deployment completed.")
        for k in (3, 2, 1):
            s.event(START - timedelta(hours=6 * k, minutes=int(hx("m", s.name, k, n=2), 16) % 50),
                    f"service ({s.name}) has reached a steady state.")

    e_t = START + timedelta(seconds=2)
    for task in TASKS.values():
        emit_task(e_t, task)
    for ci in (ci1, ci2, ci3, ci4):
        emit_ci(e_t, ci)
    for s in (api, worker, notif, checkout_ev):
        emit_svc(e_t, s)

    # ─────────── 02:50–02:53 calm: the crash loop keeps going ───────────
    fs = [p for p in PODS.values() if p.app.name == "fraud-scorer" and p.mode.startswith("crash")][0]
    bp = [p for p in PODS.values() if p.mode == "imagepull"][0]

    def crash_cycle(restart_at: datetime, oom_after: float) -> None:
        finv = fs.cinv()
        fs.restarts += 1
        kevent(restart_at, finv, "Pulled", f'Container image "{fs.image}" already present on machine', host=N6.name)
        kevent(restart_at + timedelta(seconds=0.1), finv, "Created", f"Created container: {fs.app.container}", host=N6.name)
        kevent(restart_at + timedelta(seconds=0.3), finv, "Started", f"Started container {fs.app.container}", host=N6.name)
        fs.mode = "crash-running"
        fs.started = restart_at + timedelta(seconds=0.3)
        emit_pod(fs.started, fs)
        died = fs.started + timedelta(seconds=oom_after)
        fs.last_term = (fs.started, died)
        fs.mode = "crash-waiting"
        emit_pod(died, fs)
        for s in (1, 14, 40, 97, 158, 219, 281):
            kevent(died + timedelta(seconds=s), finv, "BackOff",
                   f"Back-off restarting failed container {fs.app.container} in pod {fs.name}_{fs.ns}({fs.uid})",
                   "Warning", host=N6.name)

    # kubelet's back-off is capped at 5 minutes: restart, OOM after ~70 s, wait 5 min, restart
    crash_cycle(T("02:50:40"), 68.0)  # dies 02:51:48
    crash_cycle(T("02:56:50"), 71.5)  # dies 02:58:01; next restart would be 03:03:03

    def pull_cycle(s: str) -> None:
        inv = bp.cinv()
        bad = bp.image
        bp.pull_reason = "ErrImagePull"
        kevent(T(s), inv, "Pulling", f'Pulling image "{bad}"', host=N7.name)
        kevent(T(s) + timedelta(seconds=0.6), inv, "Failed",
               f'Failed to pull image "{bad}": rpc error: code = NotFound desc = failed to pull and unpack image '
               f'"{bad}": failed to resolve reference "{bad}": {bad}: not found', "Warning", host=N7.name)
        kevent(T(s) + timedelta(seconds=0.6), inv, "Failed", "Error: ErrImagePull", "Warning", host=N7.name)
        emit_pod(T(s) + timedelta(seconds=0.6), bp)
        bp.pull_reason = "ImagePullBackOff"
        kevent(T(s) + timedelta(seconds=1.5), inv, "BackOff", f'Back-off pulling image "{bad}"', host=N7.name)
        kevent(T(s) + timedelta(seconds=1.5), inv, "Failed", "Error: ImagePullBackOff", "Warning", host=N7.name)
        emit_pod(T(s) + timedelta(seconds=1.5), bp)
        for k in (44, 103, 171, 236):
            kevent(T(s) + timedelta(seconds=k), inv, "BackOff", f'Back-off pulling image "{bad}"', host=N7.name)
            kevent(T(s) + timedelta(seconds=k), inv, "Failed", "Error: ImagePullBackOff", "Warning", host=N7.name)

    for s in ["02:51:10", "02:56:14", "03:01:19"]:
        pull_cycle(s)
    apply_if_changed(T("02:58:13"), deploy_obj(APPS["search/search-indexer"], T("02:58:13")))

    # ─────────── 02:54 rebalance recommendation for N4 ───────────
    kevent(T("02:54:21"), node_inv(N4), "SpotRebalanceRecommendation", "Spot rebalance recommendation was triggered",
           component="karpenter")

    # ─────────── 02:55 WAVE 1: spot interruption notice for N4 / CI1 ───────────
    spot_request(T("02:55:01"), N4.spot_request, N4.instance, N4.zone, N4.created - timedelta(seconds=50),
                 "marked-for-termination", T("02:55:00"))
    kevent(T("02:55:03"), node_inv(N4), "SpotInterrupted", "Spot interruption warning was triggered", "Warning",
           component="karpenter")
    n4_pods = sorted([p for p in PODS.values() if p.node is N4], key=lambda p: (p.app.ns, p.name))
    for p in n4_pods:
        kevent(T("02:55:03"), p.inv(), "SpotInterrupted",
               "Pod will be evicted from the node due to a spot interruption warning", "Warning", component="karpenter")
    kevent(T("02:55:04"), node_inv(N4), "TerminatingOnInterruption", "Interruption triggered termination for the Node",
           "Warning", component="karpenter")
    N4.taints.append({"key": "karpenter.sh/disrupted", "effect": "NoSchedule", "timeAdded": kt(T("02:55:04"))})
    kube_apply(T("02:55:04"), N4.render(T("02:55:04")))
    kevent(T("02:55:05"), node_inv(N4), "DisruptionBlocked", "Node is deleting or marked for deletion",
           component="karpenter")

    # ECS agent (ECS_ENABLE_SPOT_INSTANCE_DRAINING) sets the container instance DRAINING
    ci1.status = "DRAINING"
    emit_ci(T("02:55:06"), ci1)

    # Karpenter drains: evict everything but cart-redis-0 (its PDB allows 0 disruptions)
    replacements = []
    redis0 = None
    t = T("02:55:06")
    for p in n4_pods:
        if p.app is CART_REDIS:
            redis0 = p
            continue
        np = evict(t, p, "EvictionByEvictionAPI", "Eviction API: evicting", 4.0 + (hash_int(p.name) % 20), "karpenter")
        replacements.append(np)
        t += timedelta(seconds=0.7)
    # the scheduler sees the replacements
    t = T("02:55:08")
    for np in replacements:
        try_schedule(t, np)
        t += timedelta(seconds=0.3)
    for s in ["02:55:12", "02:55:27", "02:55:57", "02:56:42", "02:57:27"]:
        kevent(T(s), node_inv(N4), "FailedDraining", "Failed to drain node, 1 pods are waiting to be evicted", "Warning",
               component="karpenter")
        kevent(T(s), redis0.inv(), "FailedEviction",
               "Cannot evict pod as it would violate the pod's disruption budget.", "Warning", component="karpenter")
    # Karpenter nominates the pending pods for a new NodeClaim (spot ICE, will fall back to on-demand)
    nc1 = f"spot-general-{kname('nc', 'N8', n=5)}"
    for i, p in enumerate(list(PENDING)):
        kevent(T("02:55:14") + timedelta(seconds=0.2 * i), p.inv(), "Nominated", f"Pod should schedule on: nodeclaim/{nc1}",
               component="karpenter")

    # ECS: replacements for CI1's tasks. orders-worker fits on CI4; orders-api fits nowhere in its spot capacity provider.
    w_new = new_task(worker, "w-repl-1", T("02:55:09"), ci4, "orders-ondemand-asg", ci4.zone, status="PENDING")
    w_new["desiredStatus"] = "RUNNING"
    emit_task(T("02:55:09"), w_new)
    emit_ci(T("02:55:09"), ci4)
    worker.event(T("02:55:09"), f"service (orders-worker) has started 1 tasks: (task {w_new['taskArn'].rsplit('/', 1)[1]}).")
    emit_svc(T("02:55:09"), worker)
    w_new.update(lastStatus="RUNNING", pullStartedAt=awst(T("02:55:10.4")), startedAt=awst(T("02:55:24.8")),
                 healthStatus="HEALTHY")
    w_new["containers"][0].update(lastStatus="RUNNING", healthStatus="HEALTHY")
    emit_task(T("02:55:25"), w_new)
    emit_ci(T("02:55:25"), ci4)
    emit_svc(T("02:55:25"), worker)

    ci2_id = ci2.id
    mem_msg = (f"service (orders-api) was unable to place a task because no container instance met all of its "
               f"requirements. The closest matching container-instance {ci2_id} has insufficient memory available. "
               f"For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.")
    api.event(T("02:55:10"), mem_msg)
    emit_svc(T("02:55:10"), api)

    # 02:56: the crash loop and image pull continue (above); scheduler retries
    retry_pending(T("02:56:10"))

    # ─────────── 02:57 instance A terminates ───────────
    ec2_update(T("02:57:00"), "N4", (32, "shutting-down"),
               ("Server.SpotInstanceTermination", "Server.SpotInstanceTermination: Spot instance termination"))
    kevent(T("02:57:01"), node_inv(N4), "InstanceTerminating", "Instance is terminating", "Warning",
           component="karpenter")
    ci1.agent = False
    emit_ci(T("02:57:01"), ci1)
    # tasks on the host die
    stopping = T("02:57:02")
    dead = [a for a in ci1.tasks if TASKS[a]["lastStatus"] == "RUNNING"]
    for i, a in enumerate(dead):
        task = TASKS[a]
        task.update(lastStatus="STOPPING", desiredStatus="STOPPED", stopCode="SpotInterruption",
                    stoppedReason=f"Host EC2 (instance {N4.instance}) terminated.",
                    stoppingAt=awst(stopping + timedelta(seconds=0.2 * i)), healthStatus="UNKNOWN")
        task["containers"][0].update(healthStatus="UNKNOWN")
        emit_task(stopping + timedelta(seconds=0.2 * i), task)
    for s in (api, worker):
        emit_svc(T("02:57:03"), s)
    # node goes NotReady
    N4.ready = False
    N4.ready_reason = ("NodeStatusUnknown", "Kubelet stopped posting node status.")
    N4.ready_since = T("02:57:41")
    N4.taints.append({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": kt(T("02:57:41"))})
    kube_apply(T("02:57:41"), N4.render(T("02:57:41")))
    kevent(T("02:57:41"), node_inv(N4), "NodeNotReady", f"Node {N4.name} status is now: NodeNotReady",
           component="node-controller")
    ec2_update(T("02:57:44"), "N4", (48, "terminated"),
               ("Server.SpotInstanceTermination", "Server.SpotInstanceTermination: Spot instance termination"))
    spot_request(T("02:57:44"), N4.spot_request, N4.instance, N4.zone, N4.created - timedelta(seconds=50),
                 "instance-terminated-no-capacity", T("02:57:43"))
    for i, a in enumerate(dead):
        task = TASKS[a]
        task.update(lastStatus="STOPPED", stoppedAt=awst(T("02:57:46") + timedelta(seconds=0.2 * i)))
        task["containers"][0].update(lastStatus="STOPPED")
        emit_task(T("02:57:46") + timedelta(seconds=0.2 * i), task)
    # Karpenter removes the node once the instance is gone
    kevent(T("02:57:49"), node_inv(N4), "RemovingNode", f"Node {N4.name} event: Removing Node {N4.name} from Controller",
           component="node-controller")
    N4.exists = False
    kube_delete(T("02:57:50"), N4.render(T("02:57:50")))
    N4.used_cpu = 0
    # pod GC removes the orphaned cart-redis-0; the StatefulSet recreates it
    redis0.deletion = (T("02:57:52"), "DeletionByPodGC", "PodGC: node no longer exists", T("02:57:52"))
    emit_pod(T("02:57:52"), redis0)
    kube_delete(T("02:57:53"), redis0.render())
    PODS.pop((redis0.ns, redis0.name))
    refresh(CART_REDIS, T("02:57:53"))
    new_redis = replace_pod(T("02:57:54"), redis0)
    # it fits on N6 (same zone as its EBS volume), but the volume is still attached to the dead node
    n6 = N6
    new_redis.node = n6
    n6.used_cpu += new_redis.cpu
    new_redis.scheduled_at = T("02:57:55")
    new_redis.mode = "creating"
    new_redis.ip = pod_ip(n6, new_redis.uid)
    sevent(T("02:57:55"), new_redis.inv(), "Scheduled", f"Successfully assigned shop/cart-redis-0 to {n6.name}", "Normal",
           action="Binding")
    emit_pod(T("02:57:55"), new_redis)
    refresh(CART_REDIS, T("02:57:55"))
    ma = (f'Multi-Attach error for volume "{PV["cart-redis"]}" Volume is already exclusively attached to one node '
          f"and can't be attached to another")
    for s in ["02:57:56", "02:57:57", "02:57:59", "02:58:03", "02:58:11", "02:58:27", "02:58:59", "03:00:03",
              "03:02:11"]:
        kevent(T(s), new_redis.inv(), "FailedAttachVolume", ma, "Warning", component="attachdetach-controller")
    fm = ("Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data], failed to process "
          "volumes=[]: timed out waiting for the condition")
    for s in ["02:59:58", "03:02:12"]:
        kevent(T(s), new_redis.inv(), "FailedMount", fm, "Warning", host=n6.name)

    # ECS: CI1 deregistered; orders-worker steady again; orders-api still short
    api.event(T("02:57:45"), mem_msg)
    emit_svc(T("02:57:45"), api)
    out(T("02:58:30"), {"type": "awsGone", "region": REGION, "id": ci1.arn})
    worker.event(T("02:58:14"), "service (orders-worker) has reached a steady state.")
    emit_svc(T("02:58:14"), worker)

    # the scheduler re-evaluates after the node is gone
    retry_pending(T("02:57:51"))

    # ─────────── 02:58 Karpenter's replacement node (on-demand fallback) registers ───────────
    ec2_instance(T("02:56:34"), "N8", N8.instance, N8.itype, N8.zone, N8.ip, T("02:56:31"), None, node_tags(N8),
                 state=(0, "pending"))
    ec2_update(T("02:56:52"), "N8", (16, "running"))
    NODES["N8"] = N8
    N8.exists = True
    N8.ready = False
    N8.ready_reason = ("KubeletNotReady", "container runtime network not ready: NetworkReady=false "
                                          "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized")
    N8.ready_since = T("02:58:10")
    N8.taints = [{"key": "karpenter.sh/unregistered", "effect": "NoExecute"},
                 {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]
    kube_apply(T("02:58:10"), N8.render(T("02:58:10")))
    kevent(T("02:58:11"), node_inv(N8), "RegisteredNode", f"Node {N8.name} event: Registered Node {N8.name} in Controller",
           component="node-controller")
    retry_pending(T("02:58:12"))
    N8.taints = [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]
    kube_apply(T("02:58:15"), N8.render(T("02:58:15")))
    N8.ready = True
    N8.ready_reason = ("KubeletReady", "kubelet is posting ready status")
    N8.ready_since = T("02:58:31")
    N8.taints = []
    kube_apply(T("02:58:31"), N8.render(T("02:58:31")))
    kevent(T("02:58:31"), node_inv(N8), "NodeReady", f"Node {N8.name} status is now: NodeReady", host=N8.name)
    retry_pending(T("02:58:32"), step=0.5)
    retry_pending(T("02:59:20"))

    # ─────────── 03:00 WAVE 2: spot ITN for N5 (NTH) + a Fargate Spot task ───────────
    spot_request(T("03:00:00"), N5.spot_request, N5.instance, N5.zone, N5.created - timedelta(seconds=50),
                 "marked-for-termination", T("02:59:59"))
    nth_ann = {"account-id": ACCOUNT, "availability-zone": N5.zone, "instance-id": N5.instance,
               "instance-type": N5.itype, "local-hostname": N5.name, "local-ipv4": N5.ip, "region": REGION}
    kevent(T("03:00:02"), node_inv(N5), "SpotInterruption", "Spot ITN received. Instance will be interrupted",
           "Warning", component="aws-node-termination-handler", annotations=nth_ann)
    N5.unschedulable = True
    N5.taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": kt(T("03:00:03"))})
    kube_apply(T("03:00:03"), N5.render(T("03:00:03")))
    n5_pods = sorted([p for p in PODS.values() if p.node is N5 and p.deletion is None], key=lambda p: (p.app.ns, p.name))
    repl2 = []
    t = T("03:00:04")
    for p in n5_pods:
        repl2.append(evict(t, p, "EvictionByEvictionAPI", "Eviction API: evicting", 3.0 + (hash_int(p.name) % 25), "nth"))
        t += timedelta(seconds=0.5)
    t = T("03:00:06")
    for np in repl2:
        try_schedule(t, np)
        t += timedelta(seconds=0.3)
    kevent(T("03:00:41"), node_inv(N5), "CordonAndDrain", "Node successfully cordoned and drained",
           component="aws-node-termination-handler", annotations=nth_ann)
    nc2 = f"spot-general-{kname('nc', 'N9', n=5)}"
    for i, p in enumerate(list(PENDING)):
        kevent(T("03:00:14") + timedelta(seconds=0.2 * i), p.inv(), "Nominated",
               f"Pod should schedule on: nodeclaim/{nc2}", component="karpenter")

    # Fargate Spot interruption of one checkout-events task
    fs_task = fg[2]
    fs_task.update(lastStatus="DEACTIVATING", desiredStatus="STOPPED", stopCode="TerminationNotice",
                   stoppedReason="Your Spot Task was interrupted.", stoppingAt=awst(T("03:00:05")))
    emit_task(T("03:00:05"), fs_task)
    emit_svc(T("03:00:06"), checkout_ev)
    checkout_ev.event(T("03:00:24"), "service (checkout-events) was unable to place a task. Reason: Capacity is "
                                     "unavailable at this time. Please try again later or in a different availability zone.")
    emit_svc(T("03:00:24"), checkout_ev)
    fs_task["lastStatus"] = "STOPPING"
    emit_task(T("03:00:36"), fs_task)

    api.event(T("03:00:51"), mem_msg)
    emit_svc(T("03:00:51"), api)
    retry_pending(T("03:01:05"))

    fg_new = new_task(checkout_ev, "f-repl-1", T("03:01:16"), None, "FARGATE_SPOT", "us-east-1a", status="PROVISIONING")
    emit_task(T("03:01:16"), fg_new)
    checkout_ev.event(T("03:01:16"), f"service (checkout-events) has started 1 tasks: (task {fg_new['taskArn'].rsplit('/', 1)[1]}).")
    emit_svc(T("03:01:16"), checkout_ev)
    fg_new["lastStatus"] = "PENDING"
    fg_new["pullStartedAt"] = awst(T("03:01:38"))
    emit_task(T("03:01:38"), fg_new)
    fg_new.update(lastStatus="RUNNING", startedAt=awst(T("03:02:14")), healthStatus="UNKNOWN")
    fg_new["containers"][0]["lastStatus"] = "RUNNING"
    emit_task(T("03:02:14"), fg_new)
    fs_task.update(lastStatus="STOPPED", stopCode="SpotInterruption", stoppedAt=awst(T("03:02:05")))
    fs_task["containers"][0].update(lastStatus="STOPPED", exitCode=143, healthStatus="UNKNOWN")
    emit_task(T("03:02:05"), fs_task)
    emit_svc(T("03:02:15"), checkout_ev)
    fg_new.update(healthStatus="HEALTHY")
    fg_new["containers"][0]["healthStatus"] = "HEALTHY"
    emit_task(T("03:02:44"), fg_new)
    checkout_ev.event(T("03:02:50"), "service (checkout-events) has reached a steady state.")
    emit_svc(T("03:02:50"), checkout_ev)

    # ─────────── 03:02 instance B terminates, NTH's node disappears ───────────
    ec2_update(T("03:02:00"), "N5", (32, "shutting-down"),
               ("Server.SpotInstanceTermination", "Server.SpotInstanceTermination: Spot instance termination"))
    N5.ready = False
    N5.ready_reason = ("NodeStatusUnknown", "Kubelet stopped posting node status.")
    N5.ready_since = T("03:02:40")
    N5.taints.append({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": kt(T("03:02:40"))})
    kube_apply(T("03:02:40"), N5.render(T("03:02:40")))
    kevent(T("03:02:40"), node_inv(N5), "NodeNotReady", f"Node {N5.name} status is now: NodeNotReady",
           component="node-controller")
    ec2_update(T("03:02:42"), "N5", (48, "terminated"),
               ("Server.SpotInstanceTermination", "Server.SpotInstanceTermination: Spot instance termination"))
    spot_request(T("03:02:42"), N5.spot_request, N5.instance, N5.zone, N5.created - timedelta(seconds=50),
                 "instance-terminated-no-capacity", T("03:02:41"))
    kevent(T("03:02:45"), node_inv(N5), "DeletingNode",
           f"Deleting node {N5.name} because it does not exist in the cloud provider",
           component="cloud-node-lifecycle-controller")
    N5.exists = False
    kube_delete(T("03:02:46"), N5.render(T("03:02:46")))
    kevent(T("03:02:47"), node_inv(N5), "RemovingNode", f"Node {N5.name} event: Removing Node {N5.name} from Controller",
           component="node-controller")
    retry_pending(T("03:02:48"))

    # ─────────── render ───────────
    LINES.sort(key=lambda x: (x[0], x[1]))
    # Things that happened before the recording started are observed by the
    # initial list at START: keep only the last version of each such object.
    early: dict[tuple, int] = {}
    for i, (t, _, ev) in enumerate(LINES):
        if t < START and ev["type"] == "kubeApply":
            m = ev["object"]["metadata"]
            early[(ev["object"]["kind"], m.get("namespace"), m["name"])] = i
    keep = set(early.values())
    LINES[:] = [(max(t, START), n, ev) for i, (t, n, ev) in enumerate(LINES) if t >= START or i in keep]
    LINES.sort(key=lambda x: (x[0], x[1]))
    # resourceVersions grow with time, as the API server hands them out
    rv = 48_211_000
    for _, _, ev in LINES:
        if ev["type"] in ("kubeApply", "kubeDelete"):
            rv += 1 + int(hx("rvstep", rv, n=2), 16) % 9
            ev["object"]["metadata"]["resourceVersion"] = str(rv)
    header = {"format": "spotcheck-recording", "version": 1, "started": at_(START), "name": "spot-storm",
              "description": DESCRIPTION}
    text = [json.dumps(header, separators=(",", ":"))]
    for t, _, ev in LINES:
        text.append(json.dumps({"at": at_(t), "event": ev}, separators=(",", ":"), ensure_ascii=False))
    return text


def hash_int(s: str) -> int:
    return int(hx("int", s, n=8), 16)


if __name__ == "__main__":
    lines = main()
    data = "\n".join(lines) + "\n"
    if "--stdout" in sys.argv:
        sys.stdout.write(data)
    elif "--check" in sys.argv:
        if OUT.read_text() != data:
            print(f"{OUT} is stale: run python3 scripts/gen-spot-storm.py", file=sys.stderr)
            sys.exit(1)
    else:
        OUT.write_text(data)
        print(f"wrote {OUT.relative_to(ROOT)}: {len(lines) - 1} events, {len(data)} bytes", file=sys.stderr)
        if "--summary" in sys.argv or True:
            for n in NODES.values():
                print(f"  {n.key} {n.name:32} exists={n.exists} free_cpu={n.free_cpu}", file=sys.stderr)
            print(f"  pods={len(PODS)} pending={len(PENDING)} "
                  f"unhealthy={sum(1 for p in PODS.values() if not p.healthy())}", file=sys.stderr)
