//! One load-test server of the gRPC comparison (`benches/grpc/run.sh`): a unary call
//! (`tollgate.benches.v1.Customers/Get`, `grpc/bench.proto`) answering the HTTP comparison's
//! customer, behind one authentication stack; and the helpers the script needs.
//!
//! ```not_rust
//! bench-grpc <mode> <port>     serve on 127.0.0.1:<port>; on SIGTERM, print how many calls
//!                              reached the service, and exit
//! bench-grpc token             print the HS256 token of the load (the HTTP comparison's)
//! bench-grpc frame             write the request message as a gRPC frame (for h2load -d)
//! bench-grpc call <port> [token]
//!                              make one call, print its status code (`Ok`, `Unauthenticated`)
//! ```
//!
//! Modes: `bare` (tonic, no authentication), `verify` (tollgate's `VerifyLayer`),
//! `verify-cached` (with the verified-token cache), `verify-revocation-policy` (plus
//! `RevocationLayer` on the in-process `MemoryRevocationStore`, holding 1 000 other revoked
//! tokens, and `RequirePolicyLayer` for `customer:read`), `verify-revocation-policy-cached`
//! (the same with the cache).
//!
//! The server runs on a current-thread tokio runtime (`run.sh` pins it to one core), with
//! tonic's defaults (`Server::builder().add_service(..).serve(..)`, `TCP_NODELAY` on); the
//! layers wrap the generated service, as an application adds them to one service.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use prost::Message as _;
use tollgate::{
    RequirePolicyLayer, RevocationLayer, VerifyLayer,
    key::Algorithm,
    policy::{Authorizer, Policy},
    revocation::{MemoryRevocationStore, RevocationStore},
    verify::VerifiedCache,
};
use tollgate_benches::{Keys, now};
use tonic::{
    Request, Response, Status,
    transport::{Channel, Server},
};
use tower::ServiceBuilder;

mod proto {
    //! The code generated from `grpc/bench.proto`.
    #![allow(missing_docs, unreachable_pub, clippy::pedantic)]

    tonic::include_proto!("tollgate.benches.v1");
}

use proto::{
    Customer, GetRequest,
    customers_client::CustomersClient,
    customers_server::{Customers, CustomersServer},
};

/// The `jti` of the load's token (the HTTP comparison's).
const JTI: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

/// The service: answers the same customer to every call, and counts the calls.
#[derive(Clone, Debug, Default)]
struct Fixed {
    answered: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl Customers for Fixed {
    async fn get(&self, _request: Request<GetRequest>) -> Result<Response<Customer>, Status> {
        self.answered.fetch_add(1, Ordering::Relaxed);
        Ok(Response::new(customer()))
    }
}

/// The HTTP comparison's answer (`BODY`), as a message.
fn customer() -> Customer {
    Customer {
        id: "cus_1042".to_owned(),
        name: "Acme Corporation".to_owned(),
        email: "billing@acme.example".to_owned(),
        plan: "enterprise".to_owned(),
        seats: 250,
        owner: "user-42".to_owned(),
        created: "2026-01-15T09:30:00Z".to_owned(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let keys = Keys::new(Algorithm::HS256);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match args.as_slice() {
        ["token"] => println!("{}", keys.token(JTI)),
        ["frame"] => {
            use std::io::Write as _;
            let message = GetRequest {
                id: "cus_1042".to_owned(),
            }
            .encode_to_vec();
            // The gRPC length-prefixed message: not compressed, the length in 4 bytes.
            let mut frame = vec![0];
            frame.extend(u32::try_from(message.len()).unwrap().to_be_bytes());
            frame.extend(message);
            std::io::stdout().write_all(&frame).unwrap();
        }
        ["call", port, token @ ..] => {
            let port = port.parse().unwrap_or_else(|_| usage());
            let code = runtime.block_on(call(port, token.first().copied()));
            println!("{code:?}");
        }
        [mode, port] => {
            let port = port.parse().unwrap_or_else(|_| usage());
            let answered = runtime.block_on(serve(mode, port, &keys));
            eprintln!("answered {answered}");
        }
        _ => usage(),
    }
}

#[allow(clippy::exit)]
fn usage() -> ! {
    eprintln!(
        "usage: bench-grpc <mode> <port> | bench-grpc token | bench-grpc frame | bench-grpc call <port> [token]"
    );
    std::process::exit(2)
}

/// Serves `mode` on `port` until SIGTERM or Ctrl-C; the number of calls answered.
async fn serve(mode: &str, port: u16, keys: &Keys) -> u64 {
    let service = Fixed::default();
    let answered = Arc::clone(&service.answered);
    let customers = CustomersServer::new(service);
    let verifier = keys.verifier();
    let cached = || keys.verifier().cache(VerifiedCache::new(10_000));
    let policy = || {
        RequirePolicyLayer::new(
            &Authorizer::new(),
            Policy::permission("customer:read").unwrap(),
        )
    };
    let mut builder = Server::builder();
    let router = match mode {
        "bare" => builder.add_service(customers),
        "verify" => builder.add_service(
            ServiceBuilder::new()
                .layer(VerifyLayer::new(verifier))
                .service(customers),
        ),
        "verify-cached" => builder.add_service(
            ServiceBuilder::new()
                .layer(VerifyLayer::new(cached()))
                .service(customers),
        ),
        "verify-revocation-policy" | "verify-revocation-policy-cached" => {
            let verifier = if mode.ends_with("-cached") {
                cached()
            } else {
                verifier
            };
            let store = MemoryRevocationStore::new();
            fill(&store).await;
            builder.add_service(
                ServiceBuilder::new()
                    .layer(VerifyLayer::new(verifier))
                    .layer(RevocationLayer::new(store))
                    .layer(policy())
                    .service(customers),
            )
        }
        _ => usage(),
    };
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    eprintln!("{mode} listening on {address}");
    router
        .serve_with_shutdown(address, shutdown())
        .await
        .unwrap();
    answered.load(Ordering::Relaxed)
}

/// Revoke 1 000 other tokens, so the store is not empty.
async fn fill(store: &MemoryRevocationStore) {
    let until = now() + 3600;
    for i in 0..1_000 {
        store
            .revoke_token(&format!("{i:08x}-7425-40de-944b-e07fc1f90ae7"), until)
            .await
            .unwrap();
    }
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// One call to the server on `port`, with `token` if given: the status code.
async fn call(port: u16, token: Option<&str>) -> tonic::Code {
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = CustomersClient::new(channel);
    let mut request = Request::new(GetRequest {
        id: "cus_1042".to_owned(),
    });
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    match client.get(request).await {
        Ok(response) => {
            assert_eq!(response.into_inner(), customer(), "another answer");
            tonic::Code::Ok
        }
        Err(status) => status.code(),
    }
}
