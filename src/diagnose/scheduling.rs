//! FailedScheduling and Karpenter scheduling message parsing.
//!
//! The scheduler's message changed between Kubernetes versions (the taint text
//! alone has four generations), so it is parsed by structure: a `0/N nodes are
//! available:` prefix, per-node reasons each with its own count, then optional
//! suffixes (`no new claims to deallocate`, `preemption: …`). Anything not
//! recognised is kept verbatim as [`ReasonKind::Other`], never dropped.

use super::CauseCode;

/// A parsed `FailedScheduling` message from the default scheduler.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FailedScheduling {
    /// `0/N`: how many nodes the scheduler considered.
    pub total_nodes: Option<u32>,
    /// Per-node reasons, in message order.
    pub reasons: Vec<NodeReason>,
    /// The `preemption: …` suffix, verbatim, without the `preemption: ` prefix.
    pub preemption: Option<String>,
    /// The DRA `no new claims to deallocate` marker was present.
    pub no_claims_to_deallocate: bool,
}

/// One `<count> <reason>` item of a FailedScheduling message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeReason {
    /// How many nodes gave this reason; `None` for pod-level reasons
    /// (`pod has unbound immediate PersistentVolumeClaims`).
    pub count: Option<u32>,
    pub kind: ReasonKind,
    /// The reason text verbatim (without the count).
    pub text: String,
}

/// What a per-node reason means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReasonKind {
    /// `Insufficient <resource>`.
    Insufficient(String),
    /// `Too many pods`.
    TooManyPods,
    /// A taint the pod does not tolerate; key/value when the message names them
    /// (the newest generation, `untolerated taint(s)`, does not).
    Taint {
        key: Option<String>,
        value: Option<String>,
    },
    NodeAffinity,
    Unschedulable,
    PodAffinity,
    PodAntiAffinity,
    ExistingPodsAntiAffinity,
    TopologySpread,
    HostPorts,
    UnboundPvc,
    PvcNotFound(String),
    VolumeNodeAffinity,
    NoAvailablePv,
    NoVolumeZone,
    MaxVolumeCount,
    /// Not recognised: shown verbatim with code `unknown`.
    Other,
}

impl ReasonKind {
    pub fn cause_code(&self) -> CauseCode {
        match self {
            ReasonKind::Insufficient(_) => CauseCode::InsufficientResource,
            ReasonKind::TooManyPods => CauseCode::TooManyPods,
            ReasonKind::Taint { .. } => CauseCode::UntoleratedTaint,
            ReasonKind::NodeAffinity => CauseCode::NodeAffinityMismatch,
            ReasonKind::Unschedulable => CauseCode::NodeUnschedulable,
            ReasonKind::PodAffinity
            | ReasonKind::PodAntiAffinity
            | ReasonKind::ExistingPodsAntiAffinity => CauseCode::PodAffinity,
            ReasonKind::TopologySpread => CauseCode::TopologySpread,
            ReasonKind::HostPorts => CauseCode::HostPortConflict,
            ReasonKind::UnboundPvc | ReasonKind::PvcNotFound(_) => CauseCode::PvcUnbound,
            ReasonKind::VolumeNodeAffinity
            | ReasonKind::NoAvailablePv
            | ReasonKind::NoVolumeZone
            | ReasonKind::MaxVolumeCount => CauseCode::VolumeZoneConflict,
            ReasonKind::Other => CauseCode::Unknown,
        }
    }
}

/// Classifies one reason text (without its count).
pub fn classify(text: &str) -> ReasonKind {
    let t = text.trim();
    if let Some(res) = t.strip_prefix("Insufficient ") {
        return ReasonKind::Insufficient(res.trim().to_string());
    }
    if t == "Too many pods" || t.starts_with("Too many pods") {
        return ReasonKind::TooManyPods;
    }
    if t.contains("taint") {
        let (key, value) = match (t.find('{'), t.rfind('}')) {
            (Some(a), Some(b)) if a < b => {
                let inner = &t[a + 1..b];
                match inner.split_once(':') {
                    Some((k, v)) => (
                        Some(k.trim().to_string()),
                        Some(v.trim().to_string()).filter(|v| !v.is_empty()),
                    ),
                    None => (Some(inner.trim().to_string()), None),
                }
            }
            _ => (None, None),
        };
        let key = key.filter(|k| !k.is_empty());
        return ReasonKind::Taint { key, value };
    }
    let lower = t.to_ascii_lowercase();
    if lower.contains("node affinity/selector")
        || lower.contains("node(s) didn't match node selector")
    {
        return ReasonKind::NodeAffinity;
    }
    if lower.contains("were unschedulable") || lower.contains("was unschedulable") {
        return ReasonKind::Unschedulable;
    }
    if lower.contains("satisfy existing pods anti-affinity") {
        return ReasonKind::ExistingPodsAntiAffinity;
    }
    if lower.contains("pod anti-affinity") {
        return ReasonKind::PodAntiAffinity;
    }
    if lower.contains("pod affinity") {
        return ReasonKind::PodAffinity;
    }
    if lower.contains("topology spread") {
        return ReasonKind::TopologySpread;
    }
    if lower.contains("free ports") {
        return ReasonKind::HostPorts;
    }
    if lower.contains("unbound immediate persistentvolumeclaims") {
        return ReasonKind::UnboundPvc;
    }
    if let Some(rest) = t.strip_prefix("persistentvolumeclaim \"") {
        let name = rest.split('"').next().unwrap_or_default().to_string();
        return ReasonKind::PvcNotFound(name);
    }
    if lower.contains("volume node affinity conflict") {
        return ReasonKind::VolumeNodeAffinity;
    }
    if lower.contains("available persistent volumes to bind") {
        return ReasonKind::NoAvailablePv;
    }
    if lower.contains("no available volume zone") {
        return ReasonKind::NoVolumeZone;
    }
    if lower.contains("max volume count") {
        return ReasonKind::MaxVolumeCount;
    }
    ReasonKind::Other
}

/// Splits `<count> <rest>`; the count must be followed by a space.
fn split_count(item: &str) -> (Option<u32>, &str) {
    let item = item.trim();
    let digits = item.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && digits < 10 && item[digits..].starts_with(' ') {
        if let Ok(n) = item[..digits].parse() {
            return (Some(n), item[digits + 1..].trim());
        }
    }
    (None, item)
}

/// True when `s` starts like a new counted reason (`3 Insufficient cpu`).
fn starts_counted(s: &str) -> bool {
    split_count(s).0.is_some()
}

/// Parses a default-scheduler `FailedScheduling` message (or the
/// `PodScheduled=False` condition message). `None` when it has no
/// `nodes are available` part and no recognisable reason.
pub fn parse_failed_scheduling(message: &str) -> Option<FailedScheduling> {
    let msg = message.trim();
    const MARK: &str = " nodes are available:";
    let mut out = FailedScheduling::default();
    let body_start = match msg.find(MARK) {
        Some(i) => {
            let head = &msg[..i];
            out.total_nodes = head.rsplit('/').next().and_then(|n| n.trim().parse().ok());
            i + MARK.len()
        }
        None => 0,
    };
    let rest = &msg[body_start..];
    // The reasons end at the first ". " (before the suffixes) or at the end.
    let (body, suffix) = match rest.find(". ") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest.strip_suffix('.').unwrap_or(rest), ""),
    };
    let suffix = suffix.trim();
    if suffix.contains("no new claims to deallocate") {
        out.no_claims_to_deallocate = true;
    }
    if let Some(i) = suffix.find("preemption: ") {
        let p = suffix[i + "preemption: ".len()..].trim();
        out.preemption = Some(p.strip_suffix('.').unwrap_or(p).to_string());
    }
    // Items are separated by ", " but a taint text may itself contain ", "
    // (`had taint {k: v}, that the pod didn't tolerate`): a piece that does
    // not start with a count continues the previous item.
    let mut items: Vec<String> = Vec::new();
    for piece in body.split(", ") {
        match items.last_mut() {
            Some(last) if !starts_counted(piece) => {
                last.push_str(", ");
                last.push_str(piece);
            }
            _ => items.push(piece.to_string()),
        }
    }
    for item in items {
        let (count, text) = split_count(&item);
        if text.is_empty() {
            continue;
        }
        out.reasons.push(NodeReason {
            count,
            kind: classify(text),
            text: text.to_string(),
        });
    }
    if out.total_nodes.is_none() && out.reasons.iter().all(|r| r.kind == ReasonKind::Other) {
        return None;
    }
    Some(out)
}

/// What Karpenter said when it could not provision capacity for a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KarpenterFailure {
    pub kind: KarpenterKind,
    /// The error after `Failed to schedule pod, `, verbatim.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KarpenterKind {
    /// `incompatible with nodepool "x", …`: names the node pools.
    IncompatibleNodePool(Vec<String>),
    /// `did not tolerate taint (taint=k=v:NoSchedule)`: the taint key.
    Taint(String),
    /// `all available instance types exceed limits for nodepool`.
    LimitsExceeded(Option<String>),
    /// `no instance type which met the scheduling requirements and had enough resources`.
    NoInstanceType,
    Other,
}

impl KarpenterKind {
    pub fn cause_code(&self) -> CauseCode {
        match self {
            KarpenterKind::IncompatibleNodePool(_) => CauseCode::NodeAffinityMismatch,
            KarpenterKind::Taint(_) => CauseCode::UntoleratedTaint,
            KarpenterKind::LimitsExceeded(_) | KarpenterKind::NoInstanceType => {
                CauseCode::ProvisioningFailed
            }
            KarpenterKind::Other => CauseCode::Unknown,
        }
    }
}

/// Parses Karpenter's `Failed to schedule pod, <err>`; `None` for other messages.
pub fn parse_karpenter(message: &str) -> Option<KarpenterFailure> {
    let text = message
        .trim()
        .strip_prefix("Failed to schedule pod,")?
        .trim();
    let kind = if text.contains("exceed limits for nodepool") {
        let pool = quoted_after(text, "nodepool");
        KarpenterKind::LimitsExceeded(pool)
    } else if text.contains("no instance type which met the scheduling requirements") {
        KarpenterKind::NoInstanceType
    } else if let Some(i) = text.find("did not tolerate taint") {
        let after = &text[i..];
        let key = after
            .split("taint=")
            .nth(1)
            .map(|s| {
                s.split(['=', ':', ')', ';', ','])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .unwrap_or_default();
        KarpenterKind::Taint(key)
    } else if text.contains("incompatible with nodepool") {
        let mut pools = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find("nodepool \"") {
            let after = &rest[i + "nodepool \"".len()..];
            if let Some(end) = after.find('"') {
                pools.push(after[..end].to_string());
                rest = &after[end..];
            } else {
                break;
            }
        }
        KarpenterKind::IncompatibleNodePool(pools)
    } else {
        KarpenterKind::Other
    };
    Some(KarpenterFailure {
        kind,
        text: text.to_string(),
    })
}

fn quoted_after(text: &str, word: &str) -> Option<String> {
    let i = text.find(word)?;
    let after = &text[i + word.len()..];
    let a = after.find('"')?;
    let rest = &after[a + 1..];
    let b = rest.find('"')?;
    Some(rest[..b].to_string())
}

/// Parses Karpenter's `Nominated` message `Pod should schedule on: nodeclaim/x, node/y`:
/// the nodeclaim and node names, when present.
pub fn parse_nominated(message: &str) -> Option<(Option<String>, Option<String>)> {
    let rest = message.split_once("should schedule on:")?.1;
    let mut claim = None;
    let mut node = None;
    for part in rest.split(',') {
        let part = part.trim().trim_end_matches('.');
        if let Some(c) = part.strip_prefix("nodeclaim/") {
            claim = Some(c.to_string());
        } else if let Some(n) = part.strip_prefix("node/") {
            node = Some(n.to_string());
        }
    }
    Some((claim, node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_example_with_keyed_taint() {
        let m = "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {karpenter.sh/disrupted: }. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.";
        let f = parse_failed_scheduling(m).unwrap();
        assert_eq!(f.total_nodes, Some(5));
        assert_eq!(f.reasons.len(), 2);
        assert_eq!(f.reasons[0].count, Some(3));
        assert_eq!(f.reasons[0].kind, ReasonKind::Insufficient("cpu".into()));
        assert_eq!(f.reasons[1].count, Some(2));
        assert_eq!(
            f.reasons[1].kind,
            ReasonKind::Taint {
                key: Some("karpenter.sh/disrupted".into()),
                value: None
            }
        );
        assert_eq!(
            f.preemption.as_deref(),
            Some("0/5 nodes are available: 5 Preemption is not helpful for scheduling")
        );
        assert!(!f.no_claims_to_deallocate);
    }

    #[test]
    fn catalogue_example_keyless_with_claims() {
        let m = "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu, 2 Insufficient memory. no new claims to deallocate, preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
        let f = parse_failed_scheduling(m).unwrap();
        assert_eq!(f.total_nodes, Some(3));
        assert!(f.no_claims_to_deallocate);
        let kinds: Vec<_> = f.reasons.iter().map(|r| r.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                ReasonKind::Taint {
                    key: None,
                    value: None
                },
                ReasonKind::Insufficient("cpu".into()),
                ReasonKind::Insufficient("memory".into()),
            ]
        );
        assert!(f.preemption.is_some());
    }

    #[test]
    fn all_four_taint_generations() {
        let gens = [
            (
                "0/4 nodes are available: 4 node(s) had taints that the pod didn't tolerate.",
                None,
            ),
            (
                "0/4 nodes are available: 4 node(s) had taint {node.kubernetes.io/unreachable: }, that the pod didn't tolerate.",
                Some("node.kubernetes.io/unreachable"),
            ),
            (
                "0/4 nodes are available: 4 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
                Some("dedicated"),
            ),
            (
                "0/4 nodes are available: 4 node(s) had untolerated taint(s). preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
                None,
            ),
        ];
        for (m, key) in gens {
            let f = parse_failed_scheduling(m).unwrap();
            assert_eq!(f.reasons.len(), 1, "{m}");
            assert_eq!(f.reasons[0].count, Some(4));
            match &f.reasons[0].kind {
                ReasonKind::Taint { key: k, .. } => assert_eq!(k.as_deref(), key, "{m}"),
                other => panic!("{m}: {other:?}"),
            }
        }
        // The value is kept when present.
        let f = parse_failed_scheduling(gens[2].0).unwrap();
        assert_eq!(
            f.reasons[0].kind,
            ReasonKind::Taint {
                key: Some("dedicated".into()),
                value: Some("gpu".into())
            }
        );
    }

    #[test]
    fn old_taint_text_followed_by_more_reasons() {
        let m = "0/6 nodes are available: 2 node(s) had taint {aws-node-termination-handler/spot-itn: 1a2b}, that the pod didn't tolerate, 4 Insufficient memory.";
        let f = parse_failed_scheduling(m).unwrap();
        assert_eq!(f.reasons.len(), 2);
        assert_eq!(
            f.reasons[0].kind,
            ReasonKind::Taint {
                key: Some("aws-node-termination-handler/spot-itn".into()),
                value: Some("1a2b".into())
            }
        );
        assert_eq!(f.reasons[1].kind, ReasonKind::Insufficient("memory".into()));
    }

    #[test]
    fn every_catalogue_reason_is_classified() {
        let cases = [
            ("Too many pods", CauseCode::TooManyPods),
            (
                "Insufficient ephemeral-storage",
                CauseCode::InsufficientResource,
            ),
            (
                "Insufficient nvidia.com/gpu",
                CauseCode::InsufficientResource,
            ),
            (
                "node(s) didn't match Pod's node affinity/selector",
                CauseCode::NodeAffinityMismatch,
            ),
            ("node(s) were unschedulable", CauseCode::NodeUnschedulable),
            (
                "node(s) didn't match pod anti-affinity rules",
                CauseCode::PodAffinity,
            ),
            (
                "node(s) didn't match pod affinity rules",
                CauseCode::PodAffinity,
            ),
            (
                "node(s) didn't satisfy existing pods anti-affinity rules",
                CauseCode::PodAffinity,
            ),
            (
                "node(s) didn't match pod topology spread constraints",
                CauseCode::TopologySpread,
            ),
            (
                "node(s) didn't have free ports for the requested pod ports",
                CauseCode::HostPortConflict,
            ),
            (
                "pod has unbound immediate PersistentVolumeClaims",
                CauseCode::PvcUnbound,
            ),
            (
                "persistentvolumeclaim \"data-db-0\" not found",
                CauseCode::PvcUnbound,
            ),
            (
                "node(s) had volume node affinity conflict",
                CauseCode::VolumeZoneConflict,
            ),
            (
                "node(s) didn't find available persistent volumes to bind",
                CauseCode::VolumeZoneConflict,
            ),
            (
                "node(s) had no available volume zone",
                CauseCode::VolumeZoneConflict,
            ),
            (
                "node(s) exceed max volume count",
                CauseCode::VolumeZoneConflict,
            ),
            ("node(s) were out of gremlins", CauseCode::Unknown),
        ];
        for (text, code) in cases {
            assert_eq!(classify(text).cause_code(), code, "{text}");
        }
        assert_eq!(
            classify("persistentvolumeclaim \"data-db-0\" not found"),
            ReasonKind::PvcNotFound("data-db-0".into())
        );
    }

    #[test]
    fn pod_level_reason_without_count() {
        let m = "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
        let f = parse_failed_scheduling(m).unwrap();
        assert_eq!(f.reasons.len(), 1);
        assert_eq!(f.reasons[0].count, None);
        assert_eq!(f.reasons[0].kind, ReasonKind::UnboundPvc);
    }

    #[test]
    fn unknown_reason_kept_verbatim() {
        let m = "0/2 nodes are available: 2 node(s) had a flux capacitor fault.";
        let f = parse_failed_scheduling(m).unwrap();
        assert_eq!(f.reasons[0].kind, ReasonKind::Other);
        assert_eq!(f.reasons[0].text, "node(s) had a flux capacitor fault");
        assert_eq!(parse_failed_scheduling("something else entirely"), None);
    }

    #[test]
    fn karpenter_messages() {
        let k = parse_karpenter("Failed to schedule pod, incompatible with nodepool \"spot\", daemonset overhead={\"cpu\":\"200m\"}, did not tolerate taint (taint=dedicated=gpu:NoSchedule); incompatible with nodepool \"default\", no instance type satisfied resources").unwrap();
        assert_eq!(k.kind, KarpenterKind::Taint("dedicated".into()));
        let k = parse_karpenter("Failed to schedule pod, incompatible with nodepool \"default\", incompatible requirements, key topology.kubernetes.io/zone").unwrap();
        assert_eq!(
            k.kind,
            KarpenterKind::IncompatibleNodePool(vec!["default".into()])
        );
        let k = parse_karpenter("Failed to schedule pod, all available instance types exceed limits for nodepool: \"default\"").unwrap();
        assert_eq!(
            k.kind,
            KarpenterKind::LimitsExceeded(Some("default".into()))
        );
        let k = parse_karpenter("Failed to schedule pod, no instance type which met the scheduling requirements and had enough resources, incompatible with nodepool \"x\"").unwrap();
        assert_eq!(k.kind, KarpenterKind::NoInstanceType);
        assert_eq!(parse_karpenter("0/3 nodes are available"), None);
        assert_eq!(
            parse_nominated(
                "Pod should schedule on: nodeclaim/default-x7k2p, node/ip-10-0-3-7.ec2.internal"
            ),
            Some((
                Some("default-x7k2p".into()),
                Some("ip-10-0-3-7.ec2.internal".into())
            ))
        );
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}") {
            let _ = parse_failed_scheduling(&s);
            let _ = parse_karpenter(&s);
            let _ = parse_nominated(&s);
        }

        #[test]
        fn structured_messages_never_panic(
            n in 0u32..1000,
            parts in proptest::collection::vec("[0-9]{0,3} ?[A-Za-z(){}:./ ,'-]{0,40}", 0..6),
            tail in "[. a-z:0-9/]{0,60}",
        ) {
            let m = format!("0/{n} nodes are available: {}.{tail}", parts.join(", "));
            let _ = parse_failed_scheduling(&m);
            let k = format!("Failed to schedule pod, {}", parts.join(", "));
            let _ = parse_karpenter(&k);
        }
    }
}
