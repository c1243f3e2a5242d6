//! Generates the gRPC load-test service and its client from `grpc/bench.proto`, with the
//! `protoc` binary shipped by the `protoc-bin-vendored` crate (as `examples/grpc` does).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure().compile_with_config(config, &["grpc/bench.proto"], &["grpc"])?;
    Ok(())
}
