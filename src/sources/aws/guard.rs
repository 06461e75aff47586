//! Transport-level guards on every AWS client the sources build.
//!
//! [`ReadOnly`] refuses, before anything is serialized or sent, any operation
//! whose name does not start with `Describe`, `List` or `Get` (ARCHITECTURE.md:
//! "AWS: an interceptor that lets only Describe*/List*/Get* operations
//! through"). A bug in a poller therefore cannot change an account.
//! [`RequestCounter`] counts the requests put on the wire, per operation, for
//! the poll-cycle figures in health, tests and the benchmark.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Operation name prefixes a read-only client may call.
pub const READ_PREFIXES: [&str; 3] = ["Describe", "List", "Get"];

/// True when `operation` (e.g. `DescribeTasks`) only reads.
pub fn is_read_only(operation: &str) -> bool {
    READ_PREFIXES.iter().any(|p| {
        operation
            .strip_prefix(p)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    })
}

/// The refusal a mutating call gets.
#[derive(Debug, thiserror::Error)]
#[error("spotcheck is read-only here: refused {service}:{operation} before sending it")]
pub struct Refused {
    pub service: String,
    pub operation: String,
}

/// Refuses every operation that is not Describe*/List*/Get*.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadOnly;

impl Intercept for ReadOnly {
    fn name(&self) -> &'static str {
        "spotcheck::ReadOnly"
    }

    // Not `read_before_execution`: client-level interceptors run that hook
    // before the operation's configuration (which names the operation) is
    // applied. This hook runs once per call, before the request is
    // serialized, let alone sent.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Fail closed: an operation we cannot name is not let through.
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_ascii_lowercase(), m.name().to_string()))
            .unwrap_or_else(|| ("unknown".into(), "unknown operation".into()));
        if is_read_only(&operation) {
            Ok(())
        } else {
            Err(Box::new(Refused { service, operation }))
        }
    }
}

/// Requests sent (each attempt, retries included), by operation name.
#[derive(Debug, Default, Clone)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RequestCounter {
    /// Returns the counts so far and starts again from zero.
    pub fn take(&self) -> BTreeMap<String, u64> {
        match self.counts.lock() {
            Ok(mut m) => std::mem::take(&mut *m),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "spotcheck::RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        let mut m = match self.counts.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        *m.entry(op).or_default() += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::Duration;

    use super::*;

    #[test]
    fn names() {
        for ok in [
            "DescribeTasks",
            "ListClusters",
            "GetConsoleOutput",
            "DescribeSpotInstanceRequests",
        ] {
            assert!(is_read_only(ok), "{ok}");
        }
        for no in [
            "UpdateContainerInstancesState",
            "StopTask",
            "TerminateInstances",
            "DeleteService",
            "Describe",
            "Listen",
            "Getaway",
            "",
        ] {
            assert!(!is_read_only(no), "{no}");
        }
    }

    /// A local socket that records whether anything connected.
    fn listener() -> (TcpListener, String) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let ep = format!("http://{}", l.local_addr().unwrap());
        (l, ep)
    }

    fn connected(l: &TcpListener, wait: Duration) -> bool {
        let end = std::time::Instant::now() + wait;
        loop {
            match l.accept() {
                Ok((mut s, _)) => {
                    // Drain what was sent, so the check is about a real request.
                    s.set_read_timeout(Some(Duration::from_millis(200))).ok();
                    let mut buf = [0u8; 64];
                    let _ = s.read(&mut buf);
                    return true;
                }
                Err(_) if std::time::Instant::now() < end => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(_) => return false,
            }
        }
    }

    fn guarded_client(endpoint: &str) -> aws_sdk_ecs::Client {
        let conf = aws_sdk_ecs::Config::builder()
            .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
            .region(aws_sdk_ecs::config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_ecs::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_millis(500))
                    .build(),
            )
            .http_client(super::super::http_client())
            .interceptor(ReadOnly)
            .build();
        aws_sdk_ecs::Client::from_conf(conf)
    }

    #[tokio::test]
    async fn a_mutating_call_is_refused_before_sending() {
        let (l, ep) = listener();
        let client = guarded_client(&ep);
        let err = client
            .update_container_instances_state()
            .cluster("prod")
            .container_instances("0123")
            .status(aws_sdk_ecs::types::ContainerInstanceStatus::Draining)
            .send()
            .await
            .expect_err("refused");
        let text = format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&err)
        );
        assert!(
            text.contains("refused ecs:UpdateContainerInstancesState"),
            "{text}"
        );
        assert!(!connected(&l, Duration::from_millis(300)), "nothing sent");

        // The same client does send a read (so the check above can fail).
        let read = client.list_clusters().send();
        let (res, seen) = tokio::join!(read, async {
            tokio::task::spawn_blocking(move || connected(&l, Duration::from_secs(3)))
                .await
                .unwrap()
        });
        assert!(seen, "a read reaches the wire");
        assert!(res.is_err(), "the fake server answers nothing");
    }
}
