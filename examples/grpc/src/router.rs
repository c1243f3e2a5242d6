//! [`RpcRouter`]: one set of layers per gRPC method.
//!
//! tonic routes by service (`/package.Service/`), so a layer added to a service applies to
//! all of its methods. To give one method more checks than the others (here: revocation and
//! `customer:delete` on `Delete` only), route on the full method path,
//! `/package.Service/Method`, to differently layered clones of the same generated server.

use std::{
    collections::HashMap,
    convert::Infallible,
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use tonic::body::Body;
use tower::{
    Service, ServiceExt,
    util::{BoxCloneSyncService, Oneshot},
};

type Route = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// A tower service that sends each gRPC call to the service registered for its method path,
/// and answers `UNIMPLEMENTED` for every path that has none.
///
/// Unrouted paths never reach a service: a method added to the `.proto` file later is
/// unreachable until it is routed, with its own layers (fail closed, instead of inheriting
/// the layers of some other method).
///
/// Each route is type-erased (a `BoxCloneSyncService`), so routes can carry different layer
/// stacks; a call costs one clone of its route and one boxed future. Every route is called
/// with `oneshot` on a clone (as axum's router does), so a route's readiness is awaited per
/// call and the router itself is always ready.
///
/// # Example
///
/// ```
/// use grpc::{DELETE, GET, LIST, Directory, RpcRouter, proto::customers_server::CustomersServer};
/// use tollgate::{RequirePolicyLayer, policy::{Authorizer, Policy}};
/// use tower::ServiceBuilder;
///
/// let authorizer = Authorizer::new();
/// let customers = CustomersServer::new(Directory::demo());
/// let read = ServiceBuilder::new()
///     .layer(RequirePolicyLayer::new(&authorizer, Policy::permission("customer:read")?))
///     .service(customers.clone());
/// let delete = ServiceBuilder::new()
///     .layer(RequirePolicyLayer::new(&authorizer, Policy::permission("customer:delete")?))
///     .service(customers);
///
/// let router = RpcRouter::new()
///     .route(LIST, read.clone())
///     .route(GET, read)
///     .route(DELETE, delete);
/// assert!(router.has_route(DELETE));
/// # Ok::<(), tollgate::ConfigError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct RpcRouter {
    routes: Arc<HashMap<Box<str>, Route>>,
    fallback: Route,
}

impl RpcRouter {
    /// A router without routes: every call is answered `UNIMPLEMENTED`.
    pub fn new() -> Self {
        Self {
            routes: Arc::new(HashMap::new()),
            fallback: BoxCloneSyncService::new(tower::service_fn(|_: Request<Body>| async {
                Ok::<_, Infallible>(
                    tonic::Status::unimplemented("no such method").into_http::<Body>(),
                )
            })),
        }
    }

    /// Send calls of `path` (`/package.Service/Method`) to `service`, replacing any service
    /// routed there before.
    ///
    /// `service` is any tower service over tonic's request type whose error is `Infallible`:
    /// a generated server (`FooServer<T>`), or one wrapped in layers whose response bodies
    /// differ from tonic's; they are converted to tonic's [`Body`] (the tollgate layers
    /// answer in tonic's body already, so theirs is taken as it is).
    pub fn route<S, B>(mut self, path: &str, service: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
        B::Error: Into<tonic::codegen::StdError>,
    {
        let route =
            BoxCloneSyncService::new(service.map_response(|response| response.map(Body::new)));
        Arc::make_mut(&mut self.routes).insert(Box::from(path), route);
        self
    }

    /// Whether calls of `path` are routed to a service.
    #[must_use]
    pub fn has_route(&self, path: &str) -> bool {
        self.routes.contains_key(path)
    }
}

impl Default for RpcRouter {
    fn default() -> Self {
        Self::new()
    }
}

impl Service<Request<Body>> for RpcRouter {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Oneshot<Route, Request<Body>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each call drives its own route to readiness (`oneshot`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let route = self
            .routes
            .get(request.uri().path())
            .unwrap_or(&self.fallback);
        route.clone().oneshot(request)
    }
}

impl fmt::Debug for RpcRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut paths: Vec<_> = self.routes.keys().collect();
        paths.sort();
        f.debug_struct("RpcRouter")
            .field("routes", &paths)
            .finish_non_exhaustive()
    }
}
