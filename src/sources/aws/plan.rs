//! The poll plan: page and batch sizes, how many requests one poll cycle
//! costs for a fleet, how often to poll, and how to back off.
//!
//! The poller uses these constants, so the figures computed here are what it
//! sends (checked against moto in tests/live_aws.rs and benches/aws_poll.rs).

use std::collections::BTreeMap;
use std::time::Duration;

/// `maxResults` of ListClusters/ListServices/ListTasks/ListContainerInstances (AWS maximum).
pub const ECS_LIST_PAGE: i32 = 100;
/// DescribeServices takes at most 10 services.
pub const DESCRIBE_SERVICES_BATCH: usize = 10;
/// DescribeTasks takes at most 100 tasks.
pub const DESCRIBE_TASKS_BATCH: usize = 100;
/// DescribeContainerInstances takes at most 100 container instances.
pub const DESCRIBE_CONTAINER_INSTANCES_BATCH: usize = 100;
/// DescribeClusters takes at most 100 clusters.
pub const DESCRIBE_CLUSTERS_BATCH: usize = 100;
/// DescribeCapacityProviders returns at most 10 per page.
pub const CAPACITY_PROVIDERS_PAGE: i32 = 10;
/// `MaxResults` of DescribeSpotInstanceRequests and filtered DescribeInstances.
pub const EC2_PAGE: i32 = 1000;
/// Instance ids per `instance-id` filter (EC2 accepts 200 filter values).
pub const INSTANCE_FILTER_BATCH: usize = 200;
/// DescribeInstanceStatus takes at most 100 instance ids.
pub const INSTANCE_STATUS_BATCH: usize = 100;
/// Cluster discovery (ListClusters, DescribeClusters, DescribeCapacityProviders)
/// runs on the first cycle and then every this many cycles: clusters and
/// capacity providers change rarely.
pub const DISCOVERY_EVERY: u64 = 10;

/// Calls in flight at once per region: describe batches, the three lists
/// of a cluster and several clusters overlap, within ECS's request rates.
pub const CONCURRENT_REQUESTS: usize = 4;

/// Poll interval while something is Pending/AtRisk or the operator looks at the region.
pub const FAST: Duration = Duration::from_secs(5);
/// Poll interval when everything is steady.
pub const STEADY: Duration = Duration::from_secs(30);
/// First backoff after throttling or an outage; doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_BASE: Duration = Duration::from_secs(2);
pub const BACKOFF_MAX: Duration = Duration::from_secs(120);

/// What one region holds, for counting requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FleetSize {
    /// Clusters polled (each costs its own list calls).
    pub clusters: u64,
    /// Services per cluster.
    pub services: u64,
    /// Tasks with desired status RUNNING, per cluster.
    pub running_tasks: u64,
    /// Tasks with desired status STOPPED that AWS still lists, per cluster.
    pub stopped_tasks: u64,
    /// Of those, how many the poller has not yet seen STOPPED (only these are described).
    pub new_stopped_tasks: u64,
    /// Container instances per cluster.
    pub container_instances: u64,
    /// Capacity providers named by the clusters (discovery cycles only).
    pub capacity_providers: u64,
    pub spot_requests: u64,
    /// EC2 instances behind container instances and spot requests.
    pub instances: u64,
    /// Of those, running (DescribeInstanceStatus only asks about these).
    pub running_instances: u64,
    /// Whether this is a discovery cycle.
    pub discovery: bool,
    /// Whether `--ecs-cluster` names the clusters (no ListClusters).
    pub named_clusters: bool,
}

fn pages(items: u64, page: u64) -> u64 {
    // A list call always costs one request, even when empty.
    items.div_ceil(page).max(1)
}

fn batches(items: u64, batch: u64) -> u64 {
    items.div_ceil(batch)
}

/// Requests one cycle sends, by operation: the minimum the page and batch limits allow.
pub fn requests_per_cycle(s: &FleetSize) -> BTreeMap<&'static str, u64> {
    let mut m = BTreeMap::new();
    let list = ECS_LIST_PAGE as u64;
    if s.discovery {
        if !s.named_clusters {
            m.insert("ListClusters", pages(s.clusters, list));
        }
        m.insert(
            "DescribeClusters",
            batches(s.clusters, DESCRIBE_CLUSTERS_BATCH as u64),
        );
        if s.capacity_providers > 0 {
            m.insert(
                "DescribeCapacityProviders",
                pages(s.capacity_providers, CAPACITY_PROVIDERS_PAGE as u64),
            );
        }
    }
    let c = s.clusters;
    m.insert("ListServices", c * pages(s.services, list));
    m.insert(
        "DescribeServices",
        c * batches(s.services, DESCRIBE_SERVICES_BATCH as u64),
    );
    m.insert(
        "ListTasks",
        c * (pages(s.running_tasks, list) + pages(s.stopped_tasks, list)),
    );
    m.insert(
        "DescribeTasks",
        c * batches(
            s.running_tasks + s.new_stopped_tasks,
            DESCRIBE_TASKS_BATCH as u64,
        ),
    );
    m.insert(
        "ListContainerInstances",
        c * pages(s.container_instances, list),
    );
    m.insert(
        "DescribeContainerInstances",
        c * batches(
            s.container_instances,
            DESCRIBE_CONTAINER_INSTANCES_BATCH as u64,
        ),
    );
    m.insert(
        "DescribeSpotInstanceRequests",
        pages(s.spot_requests, EC2_PAGE as u64),
    );
    // Instances behind container instances and spot requests, by id filter,
    // plus one filtered call for Kubernetes nodes (by cluster tags).
    m.insert(
        "DescribeInstances",
        batches(s.instances, INSTANCE_FILTER_BATCH as u64) + 1,
    );
    m.insert(
        "DescribeInstanceStatus",
        batches(s.running_instances, INSTANCE_STATUS_BATCH as u64),
    );
    m.retain(|_, v| *v > 0);
    m
}

pub fn total(m: &BTreeMap<impl Ord, u64>) -> u64 {
    m.values().sum()
}

/// The wait before the next cycle when all went well.
pub fn interval(urgent: bool) -> Duration {
    if urgent { FAST } else { STEADY }
}

/// Exponential backoff with jitter: attempt n waits a random time in
/// `[d/2, d]` with `d = min(BASE · 2ⁿ, MAX)` ("equal jitter"), so pollers in
/// several regions and processes do not retry in step.
#[derive(Clone, Debug)]
pub struct Backoff {
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(seed: u64) -> Self {
        Backoff {
            attempt: 0,
            rng: seed | 1,
        }
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The wait before the next try.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 1u64 << self.attempt.min(16);
        let ceiling = BACKOFF_BASE.saturating_mul(factor as u32).min(BACKOFF_MAX);
        self.attempt = self.attempt.saturating_add(1);
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let half = ceiling / 2;
        let span = (ceiling - half).as_millis() as u64;
        half + Duration::from_millis(if span == 0 { 0 } else { self.rng % (span + 1) })
    }
}

/// "40 s", "3 min", "2 h": the age of data in the health line.
pub fn age(d: Duration) -> String {
    let s = d.as_secs();
    if s < 120 {
        format!("{s} s")
    } else if s < 2 * 3600 {
        format!("{} min", s / 60)
    } else {
        format!("{} h", s / 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The benchmark fleet: 20 services, 500 tasks, 50 container
    /// instances on spot, in one cluster, steady state.
    fn bench_fleet() -> FleetSize {
        FleetSize {
            clusters: 1,
            services: 20,
            running_tasks: 500,
            stopped_tasks: 40,
            new_stopped_tasks: 0,
            container_instances: 50,
            capacity_providers: 2,
            spot_requests: 50,
            instances: 50,
            running_instances: 50,
            discovery: false,
            named_clusters: false,
        }
    }

    #[test]
    fn steady_cycle_of_20_services_500_tasks_50_container_instances() {
        let m = requests_per_cycle(&bench_fleet());
        let want: BTreeMap<&str, u64> = [
            ("ListServices", 1),
            ("DescribeServices", 2), // ceil(20/10)
            ("ListTasks", 5 + 1),    // RUNNING 5 pages, STOPPED 1 page
            ("DescribeTasks", 5),    // ceil(500/100), known STOPPED ones skipped
            ("ListContainerInstances", 1),
            ("DescribeContainerInstances", 1), // ceil(50/100)
            ("DescribeSpotInstanceRequests", 1),
            ("DescribeInstances", 2), // 50 ids in one filter + Kubernetes nodes
            ("DescribeInstanceStatus", 1),
        ]
        .into_iter()
        .collect();
        assert_eq!(m, want);
        assert_eq!(total(&m), 20);
    }

    #[test]
    fn discovery_and_new_stopped_tasks_cost_extra() {
        let mut f = bench_fleet();
        f.discovery = true;
        f.new_stopped_tasks = 40;
        let m = requests_per_cycle(&f);
        assert_eq!(m["ListClusters"], 1);
        assert_eq!(m["DescribeClusters"], 1);
        assert_eq!(m["DescribeCapacityProviders"], 1);
        assert_eq!(m["DescribeTasks"], 6, "ceil((500 + 40)/100)");
        assert_eq!(total(&m), 24);
        f.named_clusters = true;
        assert!(!requests_per_cycle(&f).contains_key("ListClusters"));
    }

    #[test]
    fn batch_edges() {
        let mut f = FleetSize {
            clusters: 1,
            services: 10,
            running_tasks: 100,
            container_instances: 100,
            ..FleetSize::default()
        };
        let m = requests_per_cycle(&f);
        assert_eq!(m["DescribeServices"], 1);
        assert_eq!(m["DescribeTasks"], 1);
        assert_eq!(m["DescribeContainerInstances"], 1);
        assert_eq!(m["ListTasks"], 2, "one page each for RUNNING and STOPPED");
        assert!(!m.contains_key("DescribeInstanceStatus"));
        f.services = 11;
        f.running_tasks = 101;
        f.container_instances = 101;
        let m = requests_per_cycle(&f);
        assert_eq!(m["DescribeServices"], 2);
        assert_eq!(m["DescribeTasks"], 2);
        assert_eq!(m["DescribeContainerInstances"], 2);
        assert_eq!(m["ListTasks"], 3);
        assert_eq!(m["ListContainerInstances"], 2);
        // Two clusters cost twice the per-cluster calls.
        f.clusters = 2;
        assert_eq!(requests_per_cycle(&f)["DescribeTasks"], 4);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let mut b = Backoff::new(42);
        let mut prev_ceiling = Duration::ZERO;
        for n in 0..12 {
            let d = b.next_delay();
            let ceiling = (BACKOFF_BASE * (1 << n)).min(BACKOFF_MAX);
            assert!(d >= ceiling / 2 && d <= ceiling, "attempt {n}: {d:?}");
            assert!(ceiling >= prev_ceiling);
            prev_ceiling = ceiling;
        }
        assert_eq!(b.attempts(), 12);
        b.reset();
        assert!(b.next_delay() <= BACKOFF_BASE);
        // Two seeds do not retry in step.
        let (mut x, mut y) = (Backoff::new(1), Backoff::new(2));
        let xs: Vec<_> = (0..5).map(|_| x.next_delay()).collect();
        let ys: Vec<_> = (0..5).map(|_| y.next_delay()).collect();
        assert_ne!(xs, ys);
    }

    #[test]
    fn intervals_and_ages() {
        assert!(interval(true) < interval(false));
        assert!(interval(true) <= Duration::from_secs(5));
        assert_eq!(age(Duration::from_secs(40)), "40 s");
        assert_eq!(age(Duration::from_secs(600)), "10 min");
        assert_eq!(age(Duration::from_secs(3 * 3600)), "3 h");
    }
}
