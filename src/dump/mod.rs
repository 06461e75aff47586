//! Reading offline dumps (`kubectl get … -o json`, AWS CLI outputs) into
//! source events, so `why -f` runs the same model and diagnosis as the TUI.

pub mod aws;
pub mod kube;

use crate::sources::SourceEvent;

/// What a dump file yielded: events to apply to a fresh `Fleet`, and
/// problems with single objects (named), which were skipped.
#[derive(Debug, Default)]
pub struct Loaded {
    pub events: Vec<SourceEvent>,
    pub warnings: Vec<String>,
}

/// A dump that cannot be read at all (not JSON/YAML, wrong shape, I/O).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DumpError {
    pub path: String,
    pub message: String,
}

/// True when a JSON document is an object of AWS CLI outputs
/// (`{"ecs_describe_tasks": …, "ec2_describe_instances": …}`) rather than a kubectl dump.
pub fn is_aws_dump(value: &serde_json::Value) -> bool {
    value.as_object().is_some_and(|m| {
        m.keys()
            .any(|k| k.starts_with("ecs_") || k.starts_with("ec2_"))
    })
}
