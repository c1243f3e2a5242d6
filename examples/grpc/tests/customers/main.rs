//! The customer service over real gRPC: the real server on 127.0.0.1, a real tonic client.
//!
//! - `layers`: each layer's answer per method, with the in-process revocation store.
//! - `redis`: the same hybrid with the Redis revocation store (real Redis).
//! - `binaries`: the `grpc-server` and `grpc-client` executables themselves.

mod binaries;
mod layers;
mod redis;
mod support;
