//! ECS service event message parsing.
//!
//! `describe-services` returns the last 100 service events, newest first, as
//! free text. The texts changed over the years (`service web …` became
//! `(service web) …`, `container-instance X` became `(container-instance X)`),
//! so this matches by structure, keeps whatever it does not recognise as
//! [`ServiceEventKind::Other`], and never panics on any input.

/// What a service event says, with the names it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEventInfo {
    /// The service name from `(service S)` / `service S`, when present.
    pub service: Option<String>,
    pub kind: ServiceEventKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceEventKind {
    /// `… has reached a steady state.`
    SteadyState,
    /// `… was unable to place a task …`
    UnableToPlace(PlacementFailure),
    /// `… is unable to consistently start tasks successfully.`
    UnableToConsistentlyStart,
    /// `… (task T) (instance I) (port P) is unhealthy in (target-group X) due to (reason R).`
    Unhealthy {
        task: Option<String>,
        instance: Option<String>,
        /// The target group ARN or load balancer name.
        target: Option<String>,
        reason: Option<String>,
    },
    /// `… operations are being throttled. Will try again later.`
    Throttled,
    /// `… was unable to stop or start tasks during a deployment because of the service deployment configuration. …`
    DeploymentConfigBlocked,
    /// `… deployment failed: tasks failed to start.`, or the circuit breaker rolling back.
    DeploymentFailed {
        deployment: Option<String>,
        reason: String,
    },
    /// `… has started N tasks: (task A) (task B).`
    TasksStarted { tasks: Vec<String> },
    /// `… has stopped N running tasks: (task A).`
    TasksStopped { tasks: Vec<String> },
    /// Anything else, kept verbatim by the caller.
    Other,
}

/// Why ECS could not place a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlacementFailure {
    /// `The closest matching (container-instance X) has insufficient memory available.`
    /// `resource` is as written: `memory`, `CPU units`, `GPU`, …
    Insufficient {
        container_instance: String,
        resource: String,
    },
    /// `The closest matching (container-instance X) is already using a port required by your task.`
    PortInUse { container_instance: String },
    /// `The closest matching (container-instance X) encountered error "AGENT".`
    InstanceError {
        container_instance: String,
        error: String,
    },
    /// `The closest matching (container-instance X) is missing an attribute required by your task.`
    MissingAttribute { container_instance: String },
    /// `Reason: No Container Instances were found in your capacity provider.` (or `cluster`).
    NoContainerInstances { in_capacity_provider: bool },
    /// `Reason: Capacity is unavailable at this time. …`
    CapacityUnavailable,
    /// `You've reached the limit on the number of tasks you can run concurrently`,
    /// `The requested CPU configuration is above your limit.`
    Limit { text: String },
    /// A reason this parser does not know, verbatim (may be empty).
    Other { text: String },
}

impl ServiceEventKind {
    /// A short label for evidence lists: `unable to place a task`, `deployment failed`, …
    pub fn label(&self) -> &'static str {
        match self {
            ServiceEventKind::SteadyState => "steady state",
            ServiceEventKind::UnableToPlace(_) => "unable to place a task",
            ServiceEventKind::UnableToConsistentlyStart => "unable to consistently start tasks",
            ServiceEventKind::Unhealthy { .. } => "unhealthy in target group",
            ServiceEventKind::Throttled => "throttled",
            ServiceEventKind::DeploymentConfigBlocked => "deployment blocked",
            ServiceEventKind::DeploymentFailed { .. } => "deployment failed",
            ServiceEventKind::TasksStarted { .. } => "started tasks",
            ServiceEventKind::TasksStopped { .. } => "stopped tasks",
            ServiceEventKind::Other => "service event",
        }
    }
}

impl PlacementFailure {
    /// The container instance id the message names, if any.
    pub fn container_instance(&self) -> Option<&str> {
        match self {
            PlacementFailure::Insufficient {
                container_instance, ..
            }
            | PlacementFailure::PortInUse { container_instance }
            | PlacementFailure::InstanceError {
                container_instance, ..
            }
            | PlacementFailure::MissingAttribute { container_instance } => Some(container_instance),
            _ => None,
        }
    }
}

/// Parses one service event message. Total: any text gives an answer.
pub fn parse(message: &str) -> ServiceEventInfo {
    let msg = message.trim();
    let service = service_name(msg);
    let lower = msg.to_ascii_lowercase();
    let kind = if lower.contains("has reached a steady state") {
        ServiceEventKind::SteadyState
    } else if lower.contains("was unable to place a task") {
        ServiceEventKind::UnableToPlace(placement(msg, &lower))
    } else if lower.contains("unable to consistently start tasks") {
        ServiceEventKind::UnableToConsistentlyStart
    } else if lower.contains("is unhealthy in") {
        ServiceEventKind::Unhealthy {
            task: paren_value(msg, "task"),
            instance: paren_value(msg, "instance"),
            target: paren_value(msg, "target-group").or_else(|| paren_value(msg, "elb")),
            reason: paren_value(msg, "reason"),
        }
    } else if lower.contains("operations are being throttled") {
        ServiceEventKind::Throttled
    } else if lower.contains("unable to stop or start tasks during a deployment") {
        ServiceEventKind::DeploymentConfigBlocked
    } else if let Some(i) = lower.find("deployment failed") {
        let after = msg.get(i + "deployment failed".len()..).unwrap_or("");
        let reason = after.trim_start_matches([':', ' ']).trim_end_matches('.');
        ServiceEventKind::DeploymentFailed {
            deployment: paren_value(msg, "deployment"),
            reason: reason.trim().to_string(),
        }
    } else if lower.contains("circuit breaker") {
        ServiceEventKind::DeploymentFailed {
            deployment: paren_value(msg, "deployment"),
            reason: msg
                .get(lower.find("circuit breaker").unwrap_or(0)..)
                .unwrap_or("")
                .trim_end_matches('.')
                .to_string(),
        }
    } else if lower.contains("has started") && lower.contains("tasks") {
        ServiceEventKind::TasksStarted {
            tasks: paren_values(msg, "task"),
        }
    } else if lower.contains("has stopped") && lower.contains("tasks") {
        ServiceEventKind::TasksStopped {
            tasks: paren_values(msg, "task"),
        }
    } else {
        ServiceEventKind::Other
    };
    ServiceEventInfo { service, kind }
}

/// `(service web) …` · `service (web) …` · `service web …`.
fn service_name(msg: &str) -> Option<String> {
    if let Some(v) = paren_value(msg, "service") {
        return Some(v);
    }
    let rest = msg.strip_prefix("service ")?.trim_start();
    let name = if let Some(inner) = rest.strip_prefix('(') {
        inner.split(')').next()?
    } else {
        rest.split_whitespace().next()?
    };
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

fn placement(msg: &str, lower: &str) -> PlacementFailure {
    if lower.contains("capacity is unavailable") {
        return PlacementFailure::CapacityUnavailable;
    }
    if lower.contains("no container instances were found") {
        return PlacementFailure::NoContainerInstances {
            in_capacity_provider: lower.contains("capacity provider"),
        };
    }
    if lower.contains("reached the limit") || lower.contains("above your limit") {
        return PlacementFailure::Limit {
            text: reason_text(msg, lower),
        };
    }
    if let Some(ci) = closest_instance(msg, lower) {
        let tail_start = lower
            .find("closest matching")
            .and_then(|i| after_instance_id(lower, i))
            .unwrap_or(lower.len());
        let tail = &lower[tail_start.min(lower.len())..];
        let tail_orig = msg.get(tail_start..).unwrap_or("");
        if let Some(i) = tail.find("has insufficient ") {
            let from = i + "has insufficient ".len();
            let res = tail_orig.get(from..).unwrap_or("");
            let res = match res.find(" available") {
                Some(end) => res.get(..end).unwrap_or(res),
                None => res.split('.').next().unwrap_or(res),
            };
            return PlacementFailure::Insufficient {
                container_instance: ci,
                resource: res.trim().to_string(),
            };
        }
        if tail.contains("using a port") {
            return PlacementFailure::PortInUse {
                container_instance: ci,
            };
        }
        if let Some(i) = tail.find("encountered error") {
            let rest = tail_orig.get(i + "encountered error".len()..).unwrap_or("");
            let error = rest
                .trim()
                .trim_start_matches('"')
                .split('"')
                .next()
                .unwrap_or("")
                .trim_end_matches('.')
                .to_string();
            return PlacementFailure::InstanceError {
                container_instance: ci,
                error,
            };
        }
        if tail.contains("missing an attribute") {
            return PlacementFailure::MissingAttribute {
                container_instance: ci,
            };
        }
    }
    PlacementFailure::Other {
        text: reason_text(msg, lower),
    }
}

/// The text after `Reason: `, else after `because `, up to the sentence that
/// points to the documentation.
fn reason_text(msg: &str, lower: &str) -> String {
    let start = lower
        .find("reason:")
        .map(|i| i + "reason:".len())
        .or_else(|| lower.find("because ").map(|i| i + "because ".len()))
        .unwrap_or(0);
    let text = msg.get(start..).unwrap_or("");
    let text = match text.to_ascii_lowercase().find("for more information") {
        Some(end) => text.get(..end).unwrap_or(text),
        None => text,
    };
    text.trim().to_string()
}

/// The container instance id after `closest matching`: `(container-instance X)` or `container-instance X`.
fn closest_instance(msg: &str, lower: &str) -> Option<String> {
    let i = lower.find("closest matching")?;
    let rest = msg.get(i..)?;
    let j = rest.find("container-instance")?;
    let after = rest.get(j + "container-instance".len()..)?;
    let id: String = after
        .trim_start()
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ')' && *c != '(')
        .collect();
    let id = id.trim_end_matches(['.', ',']);
    (!id.is_empty()).then(|| id.to_string())
}

/// Byte offset just after the container instance id that follows `closest matching` at `from`.
fn after_instance_id(lower: &str, from: usize) -> Option<usize> {
    let rest = lower.get(from..)?;
    let j = rest.find("container-instance")? + "container-instance".len();
    let after = rest.get(j..)?;
    let skip_ws = after.len() - after.trim_start().len();
    let id_len: usize = after
        .trim_start()
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ')' && *c != '(')
        .map(char::len_utf8)
        .sum();
    Some(from + j + skip_ws + id_len)
}

/// The value of the first `(key value)` group.
pub fn paren_value(msg: &str, key: &str) -> Option<String> {
    paren_values(msg, key).into_iter().next()
}

/// The values of every `(key value)` group, in order. The value ends at the
/// parenthesis that balances the opening one (reasons may hold parentheses).
pub fn paren_values(msg: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let needle = format!("({key} ");
    let mut pos = 0;
    while let Some(i) = msg.get(pos..).and_then(|s| s.find(&needle)) {
        let start = pos + i + needle.len();
        let Some(rest) = msg.get(start..) else { break };
        let mut depth = 1usize;
        let mut end = rest.len();
        for (k, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let value = rest.get(..end).unwrap_or("").trim();
        if !value.is_empty() {
            out.push(value.to_string());
        }
        pos = start + end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn place(msg: &str) -> PlacementFailure {
        match parse(msg).kind {
            ServiceEventKind::UnableToPlace(p) => p,
            other => panic!("not a placement failure: {other:?}"),
        }
    }

    #[test]
    fn insufficient_memory_both_generations() {
        let new = "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 4f2a9c1e8b7d4e6f9a0b1c2d3e4f5a6b) has insufficient memory available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";
        let info = parse(new);
        assert_eq!(info.service.as_deref(), Some("web"));
        assert_eq!(
            place(new),
            PlacementFailure::Insufficient {
                container_instance: "4f2a9c1e8b7d4e6f9a0b1c2d3e4f5a6b".into(),
                resource: "memory".into()
            }
        );
        let old = "service web was unable to place a task because no container instance met all of its requirements. The closest matching container-instance 4f2a9c1e has insufficient CPU units available.";
        assert_eq!(parse(old).service.as_deref(), Some("web"));
        assert_eq!(
            place(old),
            PlacementFailure::Insufficient {
                container_instance: "4f2a9c1e".into(),
                resource: "CPU units".into()
            }
        );
        let catalogue = "service (api) was unable to place a task because no container instance met all of its requirements. The closest matching container-instance 77aa is already using a port required by your task.";
        assert_eq!(parse(catalogue).service.as_deref(), Some("api"));
        assert_eq!(
            place(catalogue),
            PlacementFailure::PortInUse {
                container_instance: "77aa".into()
            }
        );
    }

    #[test]
    fn other_placement_reasons() {
        assert_eq!(
            place(
                "(service w) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance abc) encountered error \"AGENT\". For more information, see the Troubleshooting section."
            ),
            PlacementFailure::InstanceError {
                container_instance: "abc".into(),
                error: "AGENT".into()
            }
        );
        assert_eq!(
            place(
                "(service w) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your capacity provider. For more information, see the Troubleshooting section."
            ),
            PlacementFailure::NoContainerInstances {
                in_capacity_provider: true
            }
        );
        assert_eq!(
            place(
                "(service w) was unable to place a task. Reason: Capacity is unavailable at this time. Please try again later or in a different availability zone. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
            ),
            PlacementFailure::CapacityUnavailable
        );
        assert_eq!(
            place(
                "(service w) was unable to place a task. Reason: You've reached the limit on the number of tasks you can run concurrently. For more information, see the Troubleshooting section."
            ),
            PlacementFailure::Limit {
                text: "You've reached the limit on the number of tasks you can run concurrently."
                    .into()
            }
        );
        assert!(matches!(
            place(
                "(service w) was unable to place a task. Reason: The requested CPU configuration is above your limit."
            ),
            PlacementFailure::Limit { .. }
        ));
        assert_eq!(
            place("(service w) was unable to place a task. Reason: Something new."),
            PlacementFailure::Other {
                text: "Something new.".into()
            }
        );
    }

    #[test]
    fn service_level_messages() {
        assert_eq!(
            parse("(service web) has reached a steady state.").kind,
            ServiceEventKind::SteadyState
        );
        assert_eq!(
            parse("(service web) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.").kind,
            ServiceEventKind::UnableToConsistentlyStart
        );
        assert_eq!(
            parse("(service web) (task 0a1b) (instance i-0abc) (port 8080) is unhealthy in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067) due to (reason Health checks failed with these codes: [502])").kind,
            ServiceEventKind::Unhealthy {
                task: Some("0a1b".into()),
                instance: Some("i-0abc".into()),
                target: Some("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067".into()),
                reason: Some("Health checks failed with these codes: [502]".into()),
            }
        );
        assert_eq!(
            parse("(service web) operations are being throttled. Will try again later.").kind,
            ServiceEventKind::Throttled
        );
        assert_eq!(
            parse("(service web) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.").kind,
            ServiceEventKind::DeploymentConfigBlocked
        );
        assert_eq!(
            parse("(service web) (deployment ecs-svc/1234567890) deployment failed: tasks failed to start.").kind,
            ServiceEventKind::DeploymentFailed {
                deployment: Some("ecs-svc/1234567890".into()),
                reason: "tasks failed to start".into()
            }
        );
        assert_eq!(
            parse("(service web) has started 2 tasks: (task aa) (task bb).").kind,
            ServiceEventKind::TasksStarted {
                tasks: vec!["aa".into(), "bb".into()]
            }
        );
        assert_eq!(
            parse("(service web) registered 1 targets in (target-group arn:x)").kind,
            ServiceEventKind::Other
        );
    }

    const FRAGMENTS: [&str; 14] = [
        "(service ",
        "service ",
        ")",
        "(",
        "was unable to place a task",
        "The closest matching ",
        "(container-instance ",
        "container-instance",
        "has insufficient ",
        " available",
        "encountered error \"",
        "deployment failed",
        "is unhealthy in",
        "Reason:",
    ];

    proptest! {
        #[test]
        fn any_text_parses(s in "\\PC*") {
            let _ = parse(&s);
        }

        #[test]
        fn fragment_soup_parses(parts in proptest::collection::vec((0usize..14, "[ é(){}\"a-z0-9.:]{0,6}"), 0..12)) {
            let text: String = parts
                .iter()
                .map(|(i, junk)| format!("{}{}", FRAGMENTS[*i], junk))
                .collect();
            let info = parse(&text);
            if let ServiceEventKind::UnableToPlace(p) = &info.kind {
                if let Some(ci) = p.container_instance() {
                    prop_assert!(!ci.is_empty());
                    prop_assert!(!ci.contains(')'));
                }
            }
        }
    }
}
