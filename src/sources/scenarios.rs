//! Bundled demo scenarios, compiled into the binary.

/// A bundled recording.
pub struct Scenario {
    pub name: &'static str,
    pub summary: &'static str,
    pub text: &'static str,
    /// Where the demo starts by default (offset into the recording).
    pub default_start_at: &'static str,
}

pub const SCENARIOS: &[Scenario] = &[Scenario {
    name: "spot-storm",
    summary: "3 a.m. spot reclaim: EKS nodes and ECS container instances interrupted, pods Pending, tasks stopped",
    text: include_str!("../../assets/scenarios/spot-storm.jsonl"),
    default_start_at: "4m",
}];

pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}
