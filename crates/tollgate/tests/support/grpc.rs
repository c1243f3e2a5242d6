//! A small gRPC service for tests, written against tonic's codegen API by hand (no protoc):
//! `tollgate.test.WhoAmI/Get` answers the verified subject, and `/Delete` the same (a second
//! method for per-method policies).
#![allow(dead_code, unreachable_pub)]

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
};

use tollgate::{Claims, StandardClaims};
use tonic::{Status, codegen::Service};

#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Subject {
    #[prost(string, tag = "1")]
    pub sub: String,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The service: answers the `sub` of `Claims<StandardClaims>` in the request extensions.
#[derive(Clone, Debug, Default)]
pub struct WhoAmI;

impl tonic::server::NamedService for WhoAmI {
    const NAME: &'static str = "tollgate.test.WhoAmI";
}

struct Handler;

impl tonic::server::UnaryService<Empty> for Handler {
    type Response = Subject;
    type Future = BoxFuture<Result<tonic::Response<Subject>, Status>>;

    fn call(&mut self, request: tonic::Request<Empty>) -> Self::Future {
        let sub = request
            .extensions()
            .get::<Claims<StandardClaims>>()
            .map(|claims| claims.sub.as_deref().unwrap_or_default().to_owned());
        Box::pin(async move {
            sub.map(|sub| tonic::Response::new(Subject { sub }))
                .ok_or_else(|| Status::internal("no claims"))
        })
    }
}

impl Service<http::Request<tonic::body::Body>> for WhoAmI {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(Handler, request).await)
        })
    }
}

/// A client calling `method` (`Get` or `Delete`) with an optional bearer token.
pub async fn call(
    addr: SocketAddr,
    method: &'static str,
    token: Option<&str>,
) -> Result<String, Status> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();
    let mut request = tonic::Request::new(Empty {});
    if let Some(token) = token {
        let mut value: tonic::metadata::MetadataValue<_> =
            format!("Bearer {token}").parse().unwrap();
        value.set_sensitive(true);
        request.metadata_mut().insert("authorization", value);
    }
    let path = match method {
        "Get" => http::uri::PathAndQuery::from_static("/tollgate.test.WhoAmI/Get"),
        _ => http::uri::PathAndQuery::from_static("/tollgate.test.WhoAmI/Delete"),
    };
    client
        .unary::<Empty, Subject, _>(request, path, tonic_prost::ProstCodec::default())
        .await
        .map(|response| response.into_inner().sub)
}
