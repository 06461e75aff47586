//! Joins across sources by EC2 instance id:
//! Kubernetes node `spec.providerID` (`aws:///us-east-1a/i-0abc…`) ↔ EC2 instance
//! ↔ ECS container instance `ec2InstanceId` ↔ spot request `InstanceId`.

use std::collections::HashMap;

use super::Fleet;

/// The EC2 instance id in a node's `spec.providerID`, if it is an AWS one.
pub fn instance_id_from_provider_id(provider_id: &str) -> Option<&str> {
    let rest = provider_id.strip_prefix("aws://")?;
    let id = rest.rsplit('/').next()?;
    id.starts_with("i-").then_some(id)
}

/// Where an EC2 instance shows up in the other sources.
#[derive(Default, Debug, Clone)]
pub struct HostLinks {
    /// `(context, node name)`.
    pub nodes: Vec<(String, String)>,
    /// `(region, container instance ARN)`.
    pub container_instances: Vec<(String, String)>,
    /// `(region, spot request id)`.
    pub spot_requests: Vec<(String, String)>,
    /// Region where the EC2 instance itself is known.
    pub instance_region: Option<String>,
}

/// Index of every EC2 instance id seen anywhere in the fleet.
#[derive(Default, Debug, Clone)]
pub struct Joins {
    pub by_instance: HashMap<String, HostLinks>,
    /// `(context, node name)` → instance id.
    pub node_instance: HashMap<(String, String), String>,
    /// container-instance ARN → instance id.
    pub ci_instance: HashMap<String, String>,
}

impl Joins {
    pub fn build(fleet: &Fleet) -> Joins {
        let mut j = Joins::default();
        for (ctx, c) in &fleet.kube {
            for (name, node) in &c.nodes {
                let Some(pid) = node.spec.as_ref().and_then(|s| s.provider_id.as_deref()) else {
                    continue;
                };
                if let Some(id) = instance_id_from_provider_id(pid) {
                    j.by_instance
                        .entry(id.to_string())
                        .or_default()
                        .nodes
                        .push((ctx.clone(), name.clone()));
                    j.node_instance
                        .insert((ctx.clone(), name.clone()), id.to_string());
                }
            }
        }
        for (region, r) in &fleet.aws {
            for (arn, (_, ci)) in &r.container_instances {
                if let Some(id) = &ci.ec2_instance_id {
                    j.by_instance
                        .entry(id.clone())
                        .or_default()
                        .container_instances
                        .push((region.clone(), arn.clone()));
                    j.ci_instance.insert(arn.clone(), id.clone());
                }
            }
            for (sid, req) in &r.spot_requests {
                if let Some(id) = &req.instance_id {
                    j.by_instance
                        .entry(id.clone())
                        .or_default()
                        .spot_requests
                        .push((region.clone(), sid.clone()));
                }
            }
            for id in r.instances.keys() {
                j.by_instance.entry(id.clone()).or_default().instance_region = Some(region.clone());
            }
        }
        j
    }

    pub fn links(&self, instance_id: &str) -> Option<&HostLinks> {
        self.by_instance.get(instance_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_ids() {
        assert_eq!(
            instance_id_from_provider_id("aws:///us-east-1a/i-0123456789abcdef0"),
            Some("i-0123456789abcdef0")
        );
        assert_eq!(instance_id_from_provider_id("gce://p/z/n"), None);
        assert_eq!(
            instance_id_from_provider_id("aws:///us-east-1a/fargate-ip-10-0-0-1"),
            None
        );
    }
}
