//! The read-only guard below the UI: a tower layer on the kube client that
//! lets only `GET` (get, list, watch) through and refuses anything else
//! before it leaves the process (ARCHITECTURE: only `actions/` may change
//! the outside world, and even then not through this client).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::{BoxError, Layer, Service};

/// Wraps a service so that only `GET` requests reach it.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOnlyLayer;

impl<S> Layer<S> for ReadOnlyLayer {
    type Service = ReadOnly<S>;
    fn layer(&self, inner: S) -> ReadOnly<S> {
        ReadOnly { inner }
    }
}

/// See [`ReadOnlyLayer`].
#[derive(Clone, Debug)]
pub struct ReadOnly<S> {
    inner: S,
}

/// A request the read-only guard refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "refused {method} {path}: spotcheck's Kubernetes client is read-only (GET only: get, list, watch)"
)]
pub struct Refused {
    pub method: String,
    pub path: String,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<http::Request<B>> for ReadOnly<S>
where
    S: Service<http::Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.method() != http::Method::GET {
            let refused = Refused {
                method: req.method().to_string(),
                path: req.uri().path().to_string(),
            };
            tracing::error!("{refused}");
            return Box::pin(async move { Err(refused.into()) });
        }
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::model::objects::Pod;
    use kube::api::{Api, ListParams, PostParams};
    use kube::client::Body;

    use super::*;

    /// A fake API server that counts the requests reaching it and answers
    /// every one with an empty pod list.
    fn counting_client(hits: Arc<AtomicUsize>) -> kube::Client {
        let inner = tower::service_fn(move |req: http::Request<Body>| {
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                assert_eq!(
                    req.method(),
                    http::Method::GET,
                    "a write reached the server"
                );
                let body = r#"{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]}"#;
                Ok::<_, BoxError>(http::Response::new(Body::from(body.as_bytes().to_vec())))
            }
        });
        let svc = ReadOnlyLayer.layer(inner);
        kube::Client::new(svc, "default")
    }

    #[tokio::test]
    async fn post_is_refused_without_reaching_the_server() {
        let hits = Arc::new(AtomicUsize::new(0));
        let pods: Api<Pod> = Api::namespaced(counting_client(hits.clone()), "default");
        let err = pods
            .create(&PostParams::default(), &Pod::default())
            .await
            .expect_err("a POST must be refused");
        let text = err.to_string();
        assert!(text.contains("read-only"), "{text}");
        assert!(text.contains("POST"), "{text}");
        let del = pods
            .delete("x", &Default::default())
            .await
            .expect_err("a DELETE must be refused");
        assert!(del.to_string().contains("DELETE"), "{del}");
        assert_eq!(hits.load(Ordering::SeqCst), 0, "the server saw a request");
    }

    #[tokio::test]
    async fn get_goes_through() {
        let hits = Arc::new(AtomicUsize::new(0));
        let pods: Api<Pod> = Api::namespaced(counting_client(hits.clone()), "default");
        let list = pods
            .list(&ListParams::default())
            .await
            .expect("list passes");
        assert!(list.items.is_empty());
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
