//! Live ECS and EC2 polling.
//!
//! One poller task per region ([`poll::RegionPoller`]) lists and describes
//! the ECS clusters, services, tasks, container instances and capacity
//! providers, then the EC2 spot requests, instances and scheduled instance
//! events beneath them; it converts the SDK types into the project's serde
//! model ([`convert`]) and sends [`SourceEvent`](super::SourceEvent)s, only for
//! objects that changed, plus `AwsGone` for objects no longer listed.
//!
//! Credentials, region and endpoint come from the standard AWS chain
//! (aws-config: environment incl. `AWS_ENDPOINT_URL`, profiles, SSO cache,
//! instance role). Every client carries the [`guard::ReadOnly`] interceptor.
//! Errors never end a poller: they show as the source's health and the poller
//! retries with backoff.

pub mod convert;
pub mod guard;
pub mod plan;
pub mod poll;

use std::borrow::Cow;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::SdkConfig;

use super::{PollHint, SourceTx};

#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    /// Empty = the profile's region.
    pub regions: Vec<String>,
    /// Empty = every cluster in the region.
    pub ecs_clusters: Vec<String>,
}

/// A problem found before polling starts (no region, profile unknown):
/// reported before the TUI starts, exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// The HTTP client of every AWS client: hyper with rustls on ring, through
/// the proxy of `HTTPS_PROXY`/`HTTP_PROXY` unless `NO_PROXY` says otherwise
/// (the AWS CLI's behaviour; the SDK's default client ignores them, and a
/// bastion behind a corporate proxy then cannot reach AWS at all).
pub fn http_client() -> SharedHttpClient {
    use aws_smithy_http_client::{Connector, proxy::ProxyConfig, tls};
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut builder = Connector::builder()
            .proxy_config(ProxyConfig::from_env())
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ));
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.build()
    })
}

/// Loads the shared AWS configuration through the standard chain.
pub async fn load_config(profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        // The pollers retry on their own schedule (with backoff, shown in
        // health); SDK retries would only hide throttling and outages.
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        );
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_string()));
    }
    loader.load().await
}

/// Read-only ECS and EC2 clients for one region, with a request counter.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub counter: guard::RequestCounter,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        let counter = guard::RequestCounter::default();
        let ecs = aws_sdk_ecs::config::Builder::from(config)
            .interceptor(guard::ReadOnly)
            .interceptor(counter.clone())
            .build();
        let ec2 = aws_sdk_ec2::config::Builder::from(config)
            .interceptor(guard::ReadOnly)
            .interceptor(counter.clone())
            .build();
        Clients {
            ecs: aws_sdk_ecs::Client::from_conf(ecs),
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            counter,
        }
    }
}

/// Fails early on a profile that no config or credentials file defines
/// (a typo would otherwise surface later as a vague credentials error).
async fn check_profile(profile: &str) -> Result<(), SetupError> {
    use aws_runtime::env_config::file::EnvConfigFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    let set = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &EnvConfigFiles::default(),
        Some(Cow::Owned(profile.to_string())),
    )
    .await
    .map_err(|e| SetupError(format!("cannot read the AWS config files: {e}")))?;
    if set.get_profile(profile).is_some() {
        return Ok(());
    }
    let mut known: Vec<&str> = set.profiles().collect();
    known.sort_unstable();
    Err(SetupError(format!(
        "AWS profile {profile:?} is not defined in ~/.aws/config or ~/.aws/credentials \
         (known: {}); run `aws configure --profile {profile}` or `aws configure sso`",
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    )))
}

/// Starts one poller per region. `hint` says how urgent polling is now.
pub async fn start(
    opts: &AwsOptions,
    tx: SourceTx,
    hint: tokio::sync::watch::Receiver<PollHint>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, SetupError> {
    if let Some(p) = &opts.profile {
        check_profile(p).await?;
    }
    let mut regions: Vec<String> = Vec::new();
    for r in &opts.regions {
        let r = r.trim();
        if r.is_empty() || regions.iter().any(|x| x == r) {
            continue;
        }
        if !r
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(SetupError(format!(
                "--region {r:?} is not a region name (like us-east-1)"
            )));
        }
        regions.push(r.to_string());
    }
    if regions.is_empty() {
        let config = load_config(opts.profile.as_deref(), None).await;
        match config.region() {
            Some(r) => regions.push(r.to_string()),
            None => {
                let profile = opts.profile.as_deref().unwrap_or("default");
                return Err(SetupError(format!(
                    "no AWS region: pass --region, set AWS_REGION, or set `region` in profile {profile:?}"
                )));
            }
        }
    }
    let mut handles = Vec::new();
    for region in regions {
        let config = load_config(opts.profile.as_deref(), Some(&region)).await;
        let poller = poll::RegionPoller::new(
            &region,
            Clients::new(&config),
            opts.ecs_clusters.clone(),
            opts.profile.clone(),
        );
        handles.push(tokio::spawn(poller.run(tx.clone(), hint.clone())));
    }
    Ok(handles)
}
