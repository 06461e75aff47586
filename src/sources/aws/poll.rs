//! One region's poller: a cycle lists and describes everything, sends what
//! changed, and reports health; `run` repeats it on an adaptive schedule.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::Filter;
use aws_sdk_ecs::types::DesiredStatus;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use jiff::Timestamp;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::plan::{self, Backoff};
use super::{Clients, convert};
use crate::model::aws::{
    Ec2Instance, EcsCapacityProvider, EcsContainerInstance, EcsService, EcsTask, InstanceStatus,
    SpotInstanceRequest,
};
use crate::sources::{Health, Observed, PollHint, SourceEvent, SourceId, SourceTx};

/// Why a call failed, as far as the poller cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// ThrottlingException / RequestLimitExceeded: back off.
    Throttled { op: String },
    /// AccessDenied on one call: that call's data is missing, the rest works.
    Forbidden { op: String, code: String },
    /// No usable credentials (none found, expired SSO token, rejected keys).
    Credentials { detail: String },
    /// Endpoint unreachable, DNS, timeouts: retry with backoff.
    Unreachable { detail: String },
    /// Anything else on one call (HTTP 500, unknown cluster, bad response).
    Failed { op: String, detail: String },
}

impl Problem {
    /// Problems that make the rest of the cycle pointless.
    fn stops_cycle(&self) -> bool {
        matches!(
            self,
            Problem::Throttled { .. } | Problem::Credentials { .. } | Problem::Unreachable { .. }
        )
    }
}

const THROTTLE_CODES: [&str; 7] = [
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
];
const DENIED_CODES: [&str; 5] = [
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "Client.UnauthorizedOperation",
];
const CREDENTIAL_CODES: [&str; 8] = [
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
];

/// Sorts an SDK error into a [`Problem`]. `op` is e.g. `ecs:DescribeTasks`.
pub fn classify<E>(op: &str, err: &SdkError<E, HttpResponse>) -> Problem
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let text = DisplayErrorContext(err).to_string();
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = ctx.err().code().unwrap_or_default().to_string();
            let message = ctx.err().message().unwrap_or_default().to_string();
            if THROTTLE_CODES.contains(&code.as_str()) || status == 429 {
                Problem::Throttled { op: op.into() }
            } else if DENIED_CODES.contains(&code.as_str()) {
                Problem::Forbidden {
                    op: op.into(),
                    code,
                }
            } else if CREDENTIAL_CODES.contains(&code.as_str()) {
                Problem::Credentials {
                    detail: format!("{code}: {message}").trim_end_matches(": ").into(),
                }
            } else {
                let what = match (code.is_empty(), message.is_empty()) {
                    (false, false) => format!("{code}: {message}"),
                    (false, true) => code,
                    _ => format!("HTTP {status}"),
                };
                let what = if what.starts_with("HTTP") {
                    what
                } else {
                    format!("HTTP {status} {what}")
                };
                Problem::Failed {
                    op: op.into(),
                    detail: clip(&what),
                }
            }
        }
        SdkError::TimeoutError(_) => Problem::Unreachable {
            detail: format!("{op} timed out"),
        },
        SdkError::DispatchFailure(d) => {
            if is_credentials_text(&text) {
                Problem::Credentials {
                    detail: clip(&tidy(&text)),
                }
            } else if d.is_timeout() {
                Problem::Unreachable {
                    detail: format!("{op} timed out"),
                }
            } else {
                Problem::Unreachable {
                    detail: clip(&root_cause(&text)),
                }
            }
        }
        SdkError::ResponseError(r) => Problem::Failed {
            op: op.into(),
            detail: format!("HTTP {} unreadable answer", r.raw().status().as_u16()),
        },
        _ if is_credentials_text(&text) => Problem::Credentials {
            detail: clip(&tidy(&text)),
        },
        _ => Problem::Failed {
            op: op.into(),
            detail: clip(&root_cause(&text)),
        },
    }
}

/// The cluster was deleted since discovery: its objects are gone, rediscover.
fn cluster_gone<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(err, SdkError::ServiceError(ctx) if ctx.err().code() == Some("ClusterNotFoundException"))
}

fn is_credentials_text(t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    t.contains("credential") || t.contains("sso") || t.contains("token has expired")
}

/// A `DisplayErrorContext` text without the SDK's plumbing words, repeated
/// segments and the Debug tail: `dispatch failure: other: an error occurred
/// while loading credentials: an error occurred while loading credentials:
/// failed to read …` → `an error occurred while loading credentials: failed to read …`.
fn tidy(t: &str) -> String {
    const PLUMBING: [&str; 6] = [
        "dispatch failure",
        "other",
        "failed to construct request",
        "io error",
        "unhandled error",
        "client error",
    ];
    let t = strip_parens(t);
    let mut parts: Vec<&str> = Vec::new();
    for p in t.split(": ").map(str::trim) {
        if p.is_empty() || PLUMBING.contains(&p) || parts.contains(&p) {
            continue;
        }
        parts.push(p);
    }
    parts.join(": ")
}

/// Drops ` (…)` groups: the Debug dump SDK errors end with, `(Connect)`, `(os error 111)`.
fn strip_parens(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut depth = 0usize;
    for c in t.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" :", ":")
}

/// The last two causes of a `DisplayErrorContext` chain, e.g.
/// `tcp connect error: Connection refused`.
fn root_cause(t: &str) -> String {
    let t = tidy(t);
    let parts: Vec<&str> = t.split(": ").collect();
    parts[parts.len().saturating_sub(2)..].join(": ")
}

/// What to check when an endpoint's name does not resolve: a mistyped
/// region (`--region us-est-1`) looks exactly like a network without DNS.
fn dns_hint(detail: &str, region: &str) -> String {
    let d = detail.to_ascii_lowercase();
    let dns = [
        "lookup address",
        "name or service not known",
        "dns error",
        "no such host",
    ]
    .iter()
    .any(|m| d.contains(m));
    if dns {
        format!(
            " (the AWS endpoint for region {region} does not resolve: is {region} a region name, like us-east-1? is DNS or the proxy reachable?)"
        )
    } else {
        String::new()
    }
}

fn clip(s: &str) -> String {
    const MAX: usize = 200;
    let s = s.replace('\n', " ");
    if s.chars().count() <= MAX {
        s
    } else {
        let mut out: String = s.chars().take(MAX - 1).collect();
        out.push('…');
        out
    }
}

/// Problems of one source (ecs or ec2) in one cycle.
#[derive(Clone, Debug, Default)]
pub struct SourceRun {
    pub problems: Vec<Problem>,
}

impl SourceRun {
    fn fail(&mut self, p: Problem) {
        tracing::debug!(?p, "aws call failed");
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }
    /// The cycle cannot go on for this source.
    pub fn stopped(&self) -> bool {
        self.problems.iter().any(Problem::stops_cycle)
    }
    pub fn throttled(&self) -> bool {
        self.problems
            .iter()
            .any(|p| matches!(p, Problem::Throttled { .. }))
    }
}

/// What one cycle did.
#[derive(Clone, Debug, Default)]
pub struct CycleReport {
    /// Requests sent, by operation.
    pub requests: BTreeMap<String, u64>,
    pub elapsed: Duration,
    pub ecs: SourceRun,
    pub ec2: SourceRun,
    /// Something is pending, stuck or at risk: poll fast.
    pub urgent: bool,
    /// Events sent.
    pub sent: u64,
    /// Objects known after the cycle.
    pub tasks: usize,
    pub services: usize,
    pub container_instances: usize,
    pub instances: usize,
    pub spot_requests: usize,
    /// Whether the cycle ran cluster discovery.
    pub discovery: bool,
}

impl CycleReport {
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
    /// The next try must wait for the backoff, not the interval.
    pub fn needs_backoff(&self) -> bool {
        self.ecs.stopped() || self.ec2.stopped()
    }
}

/// Last value sent per object id: only changes go on the channel.
#[derive(Debug)]
struct Sent<T> {
    map: HashMap<String, T>,
}

impl<T> Default for Sent<T> {
    fn default() -> Self {
        Sent {
            map: HashMap::new(),
        }
    }
}

impl<T: PartialEq + Clone> Sent<T> {
    /// True when `value` differs from what was sent for `id` (and records it).
    fn changed(&mut self, id: &str, value: &T) -> bool {
        match self.map.get(id) {
            Some(old) if old == value => false,
            _ => {
                self.map.insert(id.to_string(), value.clone());
                true
            }
        }
    }
    /// Ids sent before and not in `seen`; forgets them.
    fn gone(&mut self, seen: &HashSet<String>) -> Vec<String> {
        let gone: Vec<String> = self
            .map
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for g in &gone {
            self.map.remove(g);
        }
        gone
    }
}

/// What one cluster's calls returned. Lists that failed leave their
/// `*_complete` false, so nothing is declared gone on a partial view.
#[derive(Debug, Default)]
struct ClusterFetch {
    /// Cluster name (the CLI shape of a container instance carries none).
    name: String,
    /// The cluster no longer exists (deleted since discovery).
    gone: bool,
    problems: Vec<Problem>,
    service_arns: Vec<String>,
    services: Vec<EcsService>,
    services_complete: bool,
    task_arns: Vec<String>,
    tasks: Vec<EcsTask>,
    tasks_complete: bool,
    ci_arns: Vec<String>,
    cis: Vec<EcsContainerInstance>,
    cis_complete: bool,
}

/// A call's outcome inside a fetch.
enum Step<T> {
    Ok(T),
    Failed(Problem),
    ClusterGone,
}

fn step<T, E>(op: &str, r: Result<T, SdkError<E, HttpResponse>>) -> Step<T>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(v) => Step::Ok(v),
        Err(e) if cluster_gone(&e) => Step::ClusterGone,
        Err(e) => Step::Failed(classify(op, &e)),
    }
}

/// Runs `f` on every batch, at most `limit` at once; results in batch order.
async fn batched<T, Fut>(
    batches: Vec<Vec<String>>,
    limit: &Arc<Semaphore>,
    f: impl Fn(Vec<String>) -> Fut,
) -> Vec<Step<T>>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = Step<T>> + Send + 'static,
{
    let mut set = JoinSet::new();
    let n = batches.len();
    for (i, b) in batches.into_iter().enumerate() {
        let fut = f(b);
        let limit = limit.clone();
        set.spawn(async move {
            // The permit is taken before the call starts (futures are lazy).
            let _permit = limit.acquire_owned().await;
            (i, fut.await)
        });
    }
    let mut out: Vec<(usize, Step<T>)> = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        match r {
            Ok(x) => out.push(x),
            Err(e) => out.push((
                usize::MAX,
                Step::Failed(Problem::Failed {
                    op: "ecs".into(),
                    detail: format!("poll task failed: {e}"),
                }),
            )),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, s)| s).collect()
}

fn chunks(items: &[String], size: usize) -> Vec<Vec<String>> {
    items.chunks(size).map(<[String]>::to_vec).collect()
}

/// Lists and describes one cluster's services, tasks and container
/// instances; the three run concurrently, and so do their describe batches.
async fn fetch_cluster(
    ecs: aws_sdk_ecs::Client,
    cluster: String,
    stopped: Arc<HashSet<String>>,
    limit: Arc<Semaphore>,
) -> ClusterFetch {
    let mut f = ClusterFetch {
        name: crate::model::aws::arn_tail(&cluster).to_string(),
        ..ClusterFetch::default()
    };
    let (services, tasks, cis) = tokio::join!(
        fetch_services(&ecs, &cluster, &limit),
        fetch_tasks(&ecs, &cluster, &stopped, &limit),
        fetch_container_instances(&ecs, &cluster, &limit),
    );
    let (arns, items, steps) = services;
    f.services_complete = absorb(&mut f, steps);
    f.service_arns = arns;
    f.services = items;
    let (arns, items, steps) = tasks;
    f.tasks_complete = absorb(&mut f, steps);
    f.task_arns = arns;
    f.tasks = items;
    let (arns, items, steps) = cis;
    f.cis_complete = absorb(&mut f, steps);
    f.ci_arns = arns;
    f.cis = items;
    f
}

/// Records the problems of `steps`; true when every call worked.
fn absorb(f: &mut ClusterFetch, steps: Vec<Step<()>>) -> bool {
    let mut complete = true;
    for s in steps {
        match s {
            Step::Ok(()) => {}
            Step::Failed(p) => {
                complete = false;
                f.problems.push(p);
            }
            Step::ClusterGone => f.gone = true,
        }
    }
    complete
}

/// (listed ARNs, described objects, outcome of every call)
type Fetched<T> = (Vec<String>, Vec<T>, Vec<Step<()>>);

async fn fetch_services(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    limit: &Arc<Semaphore>,
) -> Fetched<EcsService> {
    let listed = {
        let _permit = limit.acquire().await;
        let r = ecs
            .list_services()
            .cluster(cluster)
            .max_results(plan::ECS_LIST_PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        step("ecs:ListServices", r)
    };
    let arns: Vec<String> = match listed {
        Step::Ok(a) => a,
        Step::Failed(p) => return (vec![], vec![], vec![Step::Failed(p)]),
        Step::ClusterGone => return (vec![], vec![], vec![Step::ClusterGone]),
    };
    let results = batched(chunks(&arns, plan::DESCRIBE_SERVICES_BATCH), limit, |b| {
        let req = ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(b));
        async move {
            match step("ecs:DescribeServices", req.send().await) {
                Step::Ok(o) => Step::Ok(o.services().iter().map(convert::service).collect()),
                Step::Failed(p) => Step::Failed(p),
                Step::ClusterGone => Step::ClusterGone,
            }
        }
    })
    .await;
    let (items, steps) = split(results);
    (arns, items, steps)
}

async fn fetch_tasks(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    stopped: &HashSet<String>,
    limit: &Arc<Semaphore>,
) -> Fetched<EcsTask> {
    // RUNNING (incl. provisioning/pending) and STOPPED (until AWS forgets them).
    let list = |status: DesiredStatus| {
        let req = ecs
            .list_tasks()
            .cluster(cluster)
            .desired_status(status)
            .max_results(plan::ECS_LIST_PAGE);
        async move {
            let _permit = limit.acquire().await;
            step(
                "ecs:ListTasks",
                req.into_paginator().items().send().try_collect().await,
            )
        }
    };
    let (running, stopped_list) =
        tokio::join!(list(DesiredStatus::Running), list(DesiredStatus::Stopped));
    let mut arns: Vec<String> = Vec::new();
    let mut steps = Vec::new();
    for r in [running, stopped_list] {
        match r {
            Step::Ok(a) => {
                for x in a {
                    if !arns.contains(&x) {
                        arns.push(x);
                    }
                }
            }
            Step::Failed(p) => steps.push(Step::Failed(p)),
            Step::ClusterGone => return (vec![], vec![], vec![Step::ClusterGone]),
        }
    }
    // A task seen STOPPED cannot change: it is only listed, not described again.
    let to_describe: Vec<String> = arns
        .iter()
        .filter(|a| !stopped.contains(*a))
        .cloned()
        .collect();
    let results = batched(
        chunks(&to_describe, plan::DESCRIBE_TASKS_BATCH),
        limit,
        |b| {
            let req = ecs.describe_tasks().cluster(cluster).set_tasks(Some(b));
            async move {
                match step("ecs:DescribeTasks", req.send().await) {
                    Step::Ok(o) => Step::Ok(o.tasks().iter().map(convert::task).collect()),
                    Step::Failed(p) => Step::Failed(p),
                    Step::ClusterGone => Step::ClusterGone,
                }
            }
        },
    )
    .await;
    let (items, more) = split(results);
    steps.extend(more);
    (arns, items, steps)
}

async fn fetch_container_instances(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    limit: &Arc<Semaphore>,
) -> Fetched<EcsContainerInstance> {
    let listed = {
        let _permit = limit.acquire().await;
        let r = ecs
            .list_container_instances()
            .cluster(cluster)
            .max_results(plan::ECS_LIST_PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await;
        step("ecs:ListContainerInstances", r)
    };
    let arns: Vec<String> = match listed {
        Step::Ok(a) => a,
        Step::Failed(p) => return (vec![], vec![], vec![Step::Failed(p)]),
        Step::ClusterGone => return (vec![], vec![], vec![Step::ClusterGone]),
    };
    let results = batched(
        chunks(&arns, plan::DESCRIBE_CONTAINER_INSTANCES_BATCH),
        limit,
        |b| {
            let req = ecs
                .describe_container_instances()
                .cluster(cluster)
                .set_container_instances(Some(b));
            async move {
                match step("ecs:DescribeContainerInstances", req.send().await) {
                    Step::Ok(o) => Step::Ok(
                        o.container_instances()
                            .iter()
                            .map(convert::container_instance)
                            .collect(),
                    ),
                    Step::Failed(p) => Step::Failed(p),
                    Step::ClusterGone => Step::ClusterGone,
                }
            }
        },
    )
    .await;
    let (items, steps) = split(results);
    (arns, items, steps)
}

/// Describe results → (objects, outcome of every call).
fn split<T>(results: Vec<Step<Vec<T>>>) -> (Vec<T>, Vec<Step<()>>) {
    let mut items = Vec::new();
    let mut steps = Vec::new();
    for r in results {
        match r {
            Step::Ok(v) => {
                items.extend(v);
                steps.push(Step::Ok(()));
            }
            Step::Failed(p) => steps.push(Step::Failed(p)),
            Step::ClusterGone => steps.push(Step::ClusterGone),
        }
    }
    (items, steps)
}

/// Polls ECS and EC2 in one region.
pub struct RegionPoller {
    region: String,
    clients: Clients,
    /// `--ecs-cluster` names; empty = every cluster.
    wanted_clusters: Vec<String>,
    profile: Option<String>,
    cycle_no: u64,
    /// Clusters to poll (names or ARNs), from the last discovery.
    clusters: Vec<String>,
    /// Capacity provider names the clusters use, from the last discovery.
    capacity_provider_names: Vec<String>,
    /// Run discovery next cycle (it failed, or a cluster vanished).
    rediscover: bool,
    tasks: Sent<EcsTask>,
    /// Tasks already seen STOPPED: they do not change, so are not described again.
    stopped: HashSet<String>,
    services: Sent<EcsService>,
    container_instances: Sent<(String, EcsContainerInstance)>,
    capacity_providers: Sent<EcsCapacityProvider>,
    instances: Sent<Ec2Instance>,
    spot_requests: Sent<SpotInstanceRequest>,
    instance_status: Sent<InstanceStatus>,
    /// Last health sent per source.
    health: HashMap<SourceId, Health>,
    /// When each source last completed a cycle without problems.
    last_good: HashMap<SourceId, Instant>,
}

struct Out<'a> {
    tx: &'a SourceTx,
    sent: u64,
}

impl Out<'_> {
    fn send(&mut self, event: SourceEvent) {
        if self
            .tx
            .send(Observed {
                at: Timestamp::now(),
                event,
            })
            .is_ok()
        {
            self.sent += 1;
        }
    }
}

impl RegionPoller {
    pub fn new(
        region: &str,
        clients: Clients,
        wanted_clusters: Vec<String>,
        profile: Option<String>,
    ) -> Self {
        RegionPoller {
            region: region.to_string(),
            clients,
            wanted_clusters,
            profile,
            cycle_no: 0,
            clusters: Vec::new(),
            capacity_provider_names: Vec::new(),
            rediscover: false,
            tasks: Sent::default(),
            stopped: HashSet::new(),
            services: Sent::default(),
            container_instances: Sent::default(),
            capacity_providers: Sent::default(),
            instances: Sent::default(),
            spot_requests: Sent::default(),
            instance_status: Sent::default(),
            health: HashMap::new(),
            last_good: HashMap::new(),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Polls forever: one cycle, then wait (adaptive interval, or backoff
    /// after throttling/outage), until the receiver is gone.
    pub async fn run(mut self, tx: SourceTx, mut hint: watch::Receiver<PollHint>) {
        let mut out = Out { tx: &tx, sent: 0 };
        for id in [SourceId::ecs(&self.region), SourceId::ec2(&self.region)] {
            self.set_health(&mut out, id, Health::Connecting);
        }
        let seed = Timestamp::now().as_nanosecond() as u64
            ^ self
                .region
                .bytes()
                .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b));
        let mut backoff = Backoff::new(seed);
        let mut hint_open = true;
        loop {
            let started = tokio::time::Instant::now();
            let report = self.cycle(&tx).await;
            if tx.is_closed() {
                return;
            }
            tracing::debug!(
                region = %self.region,
                requests = report.total_requests(),
                elapsed_ms = report.elapsed.as_millis() as u64,
                sent = report.sent,
                "aws poll cycle"
            );
            let backing_off = report.needs_backoff();
            let mut deadline = if backing_off {
                tokio::time::Instant::now() + backoff.next_delay()
            } else {
                backoff.reset();
                let urgent = report.urgent || self.hinted(&hint.borrow());
                started + plan::interval(urgent)
            };
            // Wait; a hint that turns urgent shortens a steady wait, and a
            // throttled source's data age in the health line keeps counting.
            loop {
                let now = tokio::time::Instant::now();
                if now >= deadline {
                    break;
                }
                let tick = (now + Duration::from_secs(5)).min(deadline);
                tokio::select! {
                    _ = tokio::time::sleep_until(tick) => {
                        if backing_off {
                            let mut out = Out { tx: &tx, sent: 0 };
                            self.refresh_waiting(&mut out, &report);
                        }
                        if tx.is_closed() {
                            return;
                        }
                    }
                    changed = hint.changed(), if hint_open => {
                        if changed.is_err() {
                            hint_open = false;
                        } else if !backing_off && self.hinted(&hint.borrow_and_update()) {
                            deadline = deadline.min(started + plan::FAST);
                        }
                    }
                }
            }
        }
    }

    fn hinted(&self, h: &PollHint) -> bool {
        h.urgent || h.focused_regions.iter().any(|r| r == &self.region)
    }

    fn set_health(&mut self, out: &mut Out<'_>, source: SourceId, health: Health) {
        if self.health.get(&source) != Some(&health) {
            self.health.insert(source.clone(), health.clone());
            out.send(SourceEvent::Health { source, health });
        }
    }

    fn data_age(&self, source: &SourceId) -> String {
        match self.last_good.get(source) {
            Some(t) => format!("data {} old", plan::age(t.elapsed())),
            None => "no data yet".into(),
        }
    }

    /// While backing off, keeps the data age in a throttled or reconnecting
    /// source's health current (never silently stale).
    fn refresh_waiting(&mut self, out: &mut Out<'_>, report: &CycleReport) {
        for (source, run) in [
            (SourceId::ecs(&self.region), &report.ecs),
            (SourceId::ec2(&self.region), &report.ec2),
        ] {
            if run.stopped() {
                let h = self.health_for(&source, run);
                self.set_health(out, source, h);
            }
        }
    }

    /// The health a source's problems amount to.
    fn health_for(&self, source: &SourceId, run: &SourceRun) -> Health {
        let profile = self.profile.as_deref();
        let first = |f: &dyn Fn(&Problem) -> bool| run.problems.iter().find(|p| f(p)).cloned();
        if let Some(Problem::Unreachable { detail }) =
            first(&|p| matches!(p, Problem::Unreachable { .. }))
        {
            return Health::Reconnecting {
                reason: format!(
                    "{detail}{}; {}",
                    dns_hint(&detail, &self.region),
                    self.data_age(source)
                ),
            };
        }
        if let Some(Problem::Credentials { detail }) =
            first(&|p| matches!(p, Problem::Credentials { .. }))
        {
            let fix = match profile {
                Some(p) => format!(
                    "profile {p:?}: run `aws sso login --profile {p}` (SSO) or check `aws sts get-caller-identity --profile {p}`"
                ),
                None => "default chain (env, ~/.aws, SSO cache, instance role): run `aws sso login` or `aws configure`, or pass --profile".into(),
            };
            return Health::Degraded {
                reason: format!("no usable AWS credentials, {fix} ({detail})"),
                forbidden: String::new(),
            };
        }
        let denied = run
            .problems
            .iter()
            .filter_map(|p| match p {
                Problem::Forbidden { op, code } => Some(format!("{op} ({code})")),
                _ => None,
            })
            .collect::<Vec<String>>()
            .join(", ");
        if let Some(Problem::Throttled { op }) = first(&|p| matches!(p, Problem::Throttled { .. }))
        {
            return Health::Degraded {
                reason: format!("throttled ({op}), {}", self.data_age(source)),
                forbidden: denied,
            };
        }
        let failed: Vec<String> = run
            .problems
            .iter()
            .filter_map(|p| match p {
                Problem::Failed { op, detail } => Some(format!("{op}: {detail}")),
                _ => None,
            })
            .collect();
        if !failed.is_empty() {
            return Health::Degraded {
                reason: failed.join("; "),
                forbidden: denied,
            };
        }
        if !denied.is_empty() {
            return Health::Forbidden { what: denied };
        }
        Health::Live
    }

    /// One poll cycle: ECS, then EC2 (which needs the container instances'
    /// instance ids). Sends changed objects, `AwsGone` for vanished ones, and
    /// each source's health once its data is in.
    pub async fn cycle(&mut self, tx: &SourceTx) -> CycleReport {
        let t0 = Instant::now();
        let _ = self.clients.counter.take();
        let mut out = Out { tx, sent: 0 };
        let mut report = CycleReport::default();
        let mut urgent = false;

        let mut ecs_run = SourceRun::default();
        let ec2_ids = self
            .ecs_cycle(&mut out, &mut ecs_run, &mut report, &mut urgent)
            .await;
        let ecs_id = SourceId::ecs(&self.region);
        if ecs_run.problems.is_empty() {
            self.last_good.insert(ecs_id.clone(), Instant::now());
        }
        let h = self.health_for(&ecs_id, &ecs_run);
        self.set_health(&mut out, ecs_id, h);

        let mut ec2_run = SourceRun::default();
        // Without ECS (credentials, outage) EC2 still goes: spot requests and
        // Kubernetes nodes need no ECS data.
        self.ec2_cycle(&mut out, &mut ec2_run, ec2_ids, &mut urgent)
            .await;
        let ec2_id = SourceId::ec2(&self.region);
        if ec2_run.problems.is_empty() {
            self.last_good.insert(ec2_id.clone(), Instant::now());
        }
        let h = self.health_for(&ec2_id, &ec2_run);
        self.set_health(&mut out, ec2_id, h);

        self.cycle_no += 1;
        report.requests = self.clients.counter.take();
        report.elapsed = t0.elapsed();
        report.ecs = ecs_run;
        report.ec2 = ec2_run;
        report.urgent = urgent;
        report.sent = out.sent;
        report.tasks = self.tasks.map.len();
        report.services = self.services.map.len();
        report.container_instances = self.container_instances.map.len();
        report.instances = self.instances.map.len();
        report.spot_requests = self.spot_requests.map.len();
        report
    }

    /// Returns the EC2 instance ids behind the container instances.
    async fn ecs_cycle(
        &mut self,
        out: &mut Out<'_>,
        run: &mut SourceRun,
        report: &mut CycleReport,
        urgent: &mut bool,
    ) -> Vec<String> {
        let ecs = self.clients.ecs.clone();
        let region = self.region.clone();
        let mut ec2_ids: Vec<String> = self
            .container_instances
            .map
            .values()
            .filter_map(|(_, ci)| ci.ec2_instance_id.clone())
            .collect();

        // ── discovery: clusters and capacity providers
        if self.cycle_no % plan::DISCOVERY_EVERY == 0 || self.clusters.is_empty() || self.rediscover
        {
            report.discovery = true;
            let problems_before = run.problems.len();
            self.rediscover = true; // until it completes
            let listed: Vec<String> = if self.wanted_clusters.is_empty() {
                match ecs
                    .list_clusters()
                    .max_results(plan::ECS_LIST_PAGE)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                {
                    Ok(v) => v,
                    Err(e) => {
                        run.fail(classify("ecs:ListClusters", &e));
                        return ec2_ids;
                    }
                }
            } else {
                self.wanted_clusters.clone()
            };
            let mut clusters = Vec::new();
            let mut cps: Vec<String> = Vec::new();
            for batch in listed.chunks(plan::DESCRIBE_CLUSTERS_BATCH) {
                match ecs
                    .describe_clusters()
                    .set_clusters(Some(batch.to_vec()))
                    .send()
                    .await
                {
                    Ok(o) => {
                        for c in o.clusters() {
                            if c.status() == Some("INACTIVE") {
                                continue;
                            }
                            if let Some(arn) = c.cluster_arn() {
                                clusters.push(arn.to_string());
                            }
                            for cp in c.capacity_providers() {
                                if !cps.contains(cp) {
                                    cps.push(cp.clone());
                                }
                            }
                        }
                        for f in o.failures() {
                            run.fail(Problem::Failed {
                                op: "ecs:DescribeClusters".into(),
                                detail: format!(
                                    "cluster {} {}",
                                    f.arn().map(crate::model::aws::arn_tail).unwrap_or("?"),
                                    f.reason().unwrap_or("failed")
                                ),
                            });
                        }
                    }
                    Err(e) => {
                        let p = classify("ecs:DescribeClusters", &e);
                        let stop = p.stops_cycle();
                        run.fail(p);
                        if stop {
                            return ec2_ids;
                        }
                        // Without DescribeClusters, poll what was listed.
                        clusters.extend(batch.iter().cloned());
                    }
                }
            }
            self.clusters = clusters;
            self.capacity_provider_names = cps;

            if !self.capacity_provider_names.is_empty() {
                // DescribeCapacityProviders has no SDK paginator: page by hand.
                let mut token: Option<String> = None;
                let mut seen = HashSet::new();
                let mut complete = true;
                loop {
                    match ecs
                        .describe_capacity_providers()
                        .set_capacity_providers(Some(self.capacity_provider_names.clone()))
                        .max_results(plan::CAPACITY_PROVIDERS_PAGE)
                        .set_next_token(token.take())
                        .send()
                        .await
                    {
                        Ok(page) => {
                            for cp in page.capacity_providers() {
                                let v = convert::capacity_provider(cp);
                                seen.insert(v.name.clone());
                                if self.capacity_providers.changed(&v.name, &v) {
                                    out.send(SourceEvent::EcsCapacityProvider {
                                        region: region.clone(),
                                        capacity_provider: Box::new(v),
                                    });
                                }
                            }
                            match page.next_token() {
                                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                                _ => break,
                            }
                        }
                        Err(e) => {
                            complete = false;
                            let p = classify("ecs:DescribeCapacityProviders", &e);
                            let stop = p.stops_cycle();
                            run.fail(p);
                            if stop {
                                return ec2_ids;
                            }
                            break;
                        }
                    }
                }
                if complete {
                    for id in self.capacity_providers.gone(&seen) {
                        out.send(SourceEvent::AwsGone {
                            region: region.clone(),
                            id,
                        });
                    }
                }
            }
            self.rediscover = run.problems.len() > problems_before;
        }

        // ── per cluster: services, tasks, container instances, fetched
        // concurrently (at most plan::CONCURRENT_REQUESTS calls at once),
        // then folded in cluster order.
        let limit = Arc::new(Semaphore::new(plan::CONCURRENT_REQUESTS));
        let stopped = Arc::new(self.stopped.clone());
        let mut set = JoinSet::new();
        for (i, cluster) in self.clusters.iter().enumerate() {
            let fetch = fetch_cluster(ecs.clone(), cluster.clone(), stopped.clone(), limit.clone());
            set.spawn(async move { (i, fetch.await) });
        }
        let mut fetched: Vec<(usize, ClusterFetch)> = Vec::new();
        let mut lost = false;
        while let Some(r) = set.join_next().await {
            match r {
                Ok(x) => fetched.push(x),
                Err(e) => {
                    lost = true;
                    run.fail(Problem::Failed {
                        op: "ecs".into(),
                        detail: format!("poll task failed: {e}"),
                    });
                }
            }
        }
        fetched.sort_by_key(|(i, _)| *i);

        let mut seen_services = HashSet::new();
        let mut seen_tasks = HashSet::new();
        let mut seen_cis = HashSet::new();
        let (mut services_ok, mut tasks_ok, mut cis_ok) = (!lost, !lost, !lost);
        let mut new_ec2_ids = Vec::new();
        for (_, f) in fetched {
            for p in f.problems {
                run.fail(p);
            }
            if f.gone {
                self.rediscover = true;
                continue;
            }
            services_ok &= f.services_complete;
            tasks_ok &= f.tasks_complete;
            cis_ok &= f.cis_complete;
            // A deleted service stays describable as INACTIVE for a while: it is gone.
            let inactive: HashSet<String> = f
                .services
                .iter()
                .filter(|v| v.status.as_deref() == Some("INACTIVE"))
                .map(|v| v.service_arn.clone())
                .collect();
            seen_services.extend(f.service_arns.into_iter().filter(|a| !inactive.contains(a)));
            seen_tasks.extend(f.task_arns);
            seen_cis.extend(f.ci_arns);
            for v in f.services {
                if inactive.contains(&v.service_arn) {
                    continue;
                }
                if v.desired_count > v.running_count {
                    *urgent = true;
                }
                if self.services.changed(&v.service_arn, &v) {
                    out.send(SourceEvent::EcsService {
                        region: region.clone(),
                        service: Box::new(v),
                    });
                }
            }
            for v in f.tasks {
                match v.last_status.as_deref() {
                    Some("STOPPED") => {
                        self.stopped.insert(v.task_arn.clone());
                    }
                    Some("RUNNING") if v.desired_status.as_deref() != Some("STOPPED") => {}
                    _ => *urgent = true,
                }
                if self.tasks.changed(&v.task_arn, &v) {
                    out.send(SourceEvent::EcsTask {
                        region: region.clone(),
                        task: Box::new(v),
                    });
                }
            }
            for v in f.cis {
                if v.status.as_deref() != Some("ACTIVE") || v.agent_connected == Some(false) {
                    *urgent = true;
                }
                if let Some(id) = &v.ec2_instance_id {
                    new_ec2_ids.push(id.clone());
                }
                let pair = (f.name.clone(), v);
                if self
                    .container_instances
                    .changed(&pair.1.container_instance_arn, &pair)
                {
                    let (cluster, ci) = pair;
                    out.send(SourceEvent::EcsContainerInstance {
                        region: region.clone(),
                        cluster,
                        container_instance: Box::new(ci),
                    });
                }
            }
        }
        if run.stopped() {
            // Throttled or cut off: what arrived is sent, nothing is declared gone.
            ec2_ids.extend(new_ec2_ids);
            return ec2_ids;
        }

        // ── gone: only where the listing was complete
        if services_ok {
            for id in self.services.gone(&seen_services) {
                out.send(SourceEvent::AwsGone {
                    region: region.clone(),
                    id,
                });
            }
        }
        if tasks_ok {
            for id in self.tasks.gone(&seen_tasks) {
                self.stopped.remove(&id);
                out.send(SourceEvent::AwsGone {
                    region: region.clone(),
                    id,
                });
            }
        }
        if cis_ok {
            for id in self.container_instances.gone(&seen_cis) {
                out.send(SourceEvent::AwsGone {
                    region: region.clone(),
                    id,
                });
            }
            ec2_ids = new_ec2_ids;
        } else {
            ec2_ids.extend(new_ec2_ids);
        }
        ec2_ids
    }

    async fn ec2_cycle(
        &mut self,
        out: &mut Out<'_>,
        run: &mut SourceRun,
        ci_instance_ids: Vec<String>,
        urgent: &mut bool,
    ) {
        let ec2 = self.clients.ec2.clone();
        let region = self.region.clone();

        // Spot requests
        let mut ids: Vec<String> = Vec::new();
        let add = |ids: &mut Vec<String>, id: &str| {
            if !id.is_empty() && !ids.iter().any(|x| x == id) {
                ids.push(id.to_string());
            }
        };
        for id in &ci_instance_ids {
            add(&mut ids, id);
        }
        match ec2
            .describe_spot_instance_requests()
            .max_results(plan::EC2_PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
        {
            Ok(reqs) => {
                let mut seen = HashSet::new();
                for r in &reqs {
                    let v = convert::spot_request(r);
                    if let Some(i) = &v.instance_id {
                        add(&mut ids, i);
                    }
                    let code = v.status_code().unwrap_or_default();
                    if code.starts_with("marked-for-") || code.contains("interrupt") {
                        *urgent = true;
                    }
                    seen.insert(v.spot_instance_request_id.clone());
                    if self.spot_requests.changed(&v.spot_instance_request_id, &v) {
                        out.send(SourceEvent::Ec2SpotRequest {
                            region: region.clone(),
                            request: Box::new(v),
                        });
                    }
                }
                for id in self.spot_requests.gone(&seen) {
                    out.send(SourceEvent::AwsGone {
                        region: region.clone(),
                        id,
                    });
                }
            }
            Err(e) => {
                run.fail(classify("ec2:DescribeSpotInstanceRequests", &e));
                if run.stopped() {
                    return;
                }
                // Keep watching the instances of the requests known so far.
                for r in self.spot_requests.map.values() {
                    if let Some(i) = &r.instance_id {
                        add(&mut ids, i);
                    }
                }
            }
        }

        // Instances: by id (an `instance-id` filter does not fail on ids
        // that are gone, unlike InstanceIds), then Kubernetes nodes by tag.
        let mut found: Vec<Ec2Instance> = Vec::new();
        let mut instances_ok = true;
        for batch in ids.chunks(plan::INSTANCE_FILTER_BATCH) {
            let filter = Filter::builder()
                .name("instance-id")
                .set_values(Some(batch.to_vec()))
                .build();
            match ec2
                .describe_instances()
                .filters(filter)
                .into_paginator()
                .send()
                .try_collect()
                .await
            {
                Ok(pages) => {
                    for p in pages {
                        for r in p.reservations() {
                            found.extend(r.instances().iter().map(convert::instance));
                        }
                    }
                }
                Err(e) => {
                    instances_ok = false;
                    run.fail(classify("ec2:DescribeInstances", &e));
                    if run.stopped() {
                        return;
                    }
                }
            }
        }
        let node_filter = Filter::builder()
            .name("tag-key")
            .values("kubernetes.io/cluster/*")
            .values("eks:cluster-name")
            .values("karpenter.sh/nodepool")
            .build();
        match ec2
            .describe_instances()
            .filters(node_filter)
            .max_results(plan::EC2_PAGE)
            .into_paginator()
            .send()
            .try_collect()
            .await
        {
            Ok(pages) => {
                for p in pages {
                    for r in p.reservations() {
                        for i in r.instances() {
                            let v = convert::instance(i);
                            if !found.iter().any(|f| f.instance_id == v.instance_id) {
                                found.push(v);
                            }
                        }
                    }
                }
            }
            Err(e) => {
                instances_ok = false;
                run.fail(classify("ec2:DescribeInstances", &e));
                if run.stopped() {
                    return;
                }
            }
        }
        let mut seen = HashSet::new();
        let mut running: Vec<String> = Vec::new();
        for v in found {
            seen.insert(v.instance_id.clone());
            match v.state_name() {
                Some("running") => running.push(v.instance_id.clone()),
                Some("pending") | Some("stopping") | Some("shutting-down") => *urgent = true,
                _ => {}
            }
            if self.instances.changed(&v.instance_id.clone(), &v) {
                out.send(SourceEvent::Ec2Instance {
                    region: region.clone(),
                    instance: Box::new(v),
                });
            }
        }
        if instances_ok {
            for id in self.instances.gone(&seen) {
                out.send(SourceEvent::AwsGone {
                    region: region.clone(),
                    id,
                });
            }
        }

        // Scheduled events (instance-stop, instance-retirement, …) of the running ones.
        let mut seen_status = HashSet::new();
        let mut status_ok = true;
        for batch in running.chunks(plan::INSTANCE_STATUS_BATCH) {
            match ec2
                .describe_instance_status()
                .set_instance_ids(Some(batch.to_vec()))
                .send()
                .await
            {
                Ok(o) => {
                    for s in o.instance_statuses() {
                        let v = convert::instance_status(s);
                        if !v.events.is_empty() {
                            *urgent = true;
                        }
                        seen_status.insert(v.instance_id.clone());
                        if self.instance_status.changed(&v.instance_id.clone(), &v) {
                            out.send(SourceEvent::Ec2InstanceStatus {
                                region: region.clone(),
                                status: Box::new(v),
                            });
                        }
                    }
                }
                Err(e) => {
                    status_ok = false;
                    run.fail(classify("ec2:DescribeInstanceStatus", &e));
                    if run.stopped() {
                        return;
                    }
                }
            }
        }
        if status_ok {
            // An instance that stopped reporting status (no longer running)
            // has no scheduled events left: clear them. `AwsGone` would drop
            // the instance itself, which is keyed by the same id.
            for id in self.instance_status.gone(&seen_status) {
                out.send(SourceEvent::Ec2InstanceStatus {
                    region: region.clone(),
                    status: Box::new(InstanceStatus {
                        instance_id: id,
                        ..InstanceStatus::default()
                    }),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_reports_changes_and_gone() {
        let mut s: Sent<u32> = Sent::default();
        assert!(s.changed("a", &1));
        assert!(!s.changed("a", &1));
        assert!(s.changed("a", &2));
        assert!(s.changed("b", &1));
        let seen: HashSet<String> = ["a".to_string()].into_iter().collect();
        assert_eq!(s.gone(&seen), vec!["b".to_string()]);
        assert!(s.gone(&seen).is_empty(), "reported once");
    }

    #[test]
    fn unresolvable_endpoint_names_the_region_to_check() {
        let h = dns_hint(
            "failed to lookup address information: Name or service not known",
            "us-est-1",
        );
        assert!(h.contains("region us-est-1 does not resolve"), "{h}");
        assert_eq!(
            dns_hint("tcp connect error: Connection refused", "us-east-1"),
            ""
        );
    }

    #[test]
    fn root_cause_and_clip() {
        assert_eq!(
            root_cause(
                "dispatch failure: io error: client error (Connect): tcp connect error: \
                 Connection refused (os error 111): Connection refused (os error 111) (DispatchFailure(..))"
            ),
            "tcp connect error: Connection refused"
        );
        let long = "x".repeat(500);
        assert_eq!(clip(&long).chars().count(), 200);
        assert_eq!(
            tidy(
                "dispatch failure: other: an error occurred while loading credentials: an error occurred while loading credentials: failed to read `/h/.aws/sso/cache/x.json` (Other(..))"
            ),
            "an error occurred while loading credentials: failed to read `/h/.aws/sso/cache/x.json`"
        );
    }
}
