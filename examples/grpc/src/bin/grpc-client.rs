//! A command-line client for the customer service.
//!
//! Run with
//!
//! ```not_rust
//! export GRPC_TOKEN="$(curl -s localhost:8080/api/auth/login ... | jq -r .access)"
//! cargo run -p grpc --bin grpc-client -- list
//! cargo run -p grpc --bin grpc-client -- get 1
//! cargo run -p grpc --bin grpc-client -- --token "$OTHER_TOKEN" delete 1
//! ```

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use grpc::proto::{
    Customer, DeleteRequest, GetRequest, ListRequest, customers_client::CustomersClient,
};
use tonic::{
    Request, Status,
    metadata::{AsciiMetadataValue, errors::InvalidMetadataValue},
    transport::Channel,
};

/// Call the customer service with a bearer token.
#[derive(Debug, Parser)]
#[command(name = "grpc-client", version)]
struct Args {
    /// The server's URL.
    #[arg(long, env = "GRPC_SERVER", default_value = "http://127.0.0.1:50051")]
    server: String,

    /// The access token sent as `authorization: Bearer <token>`; without one, calls are
    /// answered UNAUTHENTICATED.
    #[arg(long, env = "GRPC_TOKEN", hide_env_values = true)]
    token: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the customers of the token's organization (needs `customer:read`).
    List {
        /// At most this many (the server caps it at 100).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Skip this many first.
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Show one customer (needs `customer:read`).
    Get {
        /// The customer's id.
        id: i64,
    },
    /// Delete one customer (needs `customer:delete` and a token that is not revoked).
    Delete {
        /// The customer's id.
        id: i64,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("grpc-client: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    let authorization = args
        .token
        .as_deref()
        .map(bearer)
        .transpose()
        .map_err(|_| "the token is not a valid header value")?;
    let channel = Channel::from_shared(args.server.clone())
        .map_err(|error| format!("bad server url {}: {error}", args.server))?
        .connect()
        .await
        .map_err(|error| format!("cannot connect to {}: {error}", args.server))?;
    let mut client = CustomersClient::with_interceptor(channel, move |mut request: Request<()>| {
        if let Some(value) = &authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    });

    match args.command {
        Command::List { limit, offset } => {
            let response = client
                .list(ListRequest { limit, offset })
                .await
                .map_err(describe)?;
            for customer in &response.get_ref().customers {
                print(customer);
            }
        }
        Command::Get { id } => {
            let response = client.get(GetRequest { id }).await.map_err(describe)?;
            print(response.get_ref());
        }
        Command::Delete { id } => {
            client
                .delete(DeleteRequest { id })
                .await
                .map_err(describe)?;
            println!("deleted customer {id}");
        }
    }
    Ok(())
}

/// `Bearer <token>`, marked sensitive so that it is never logged.
fn bearer(token: &str) -> Result<AsciiMetadataValue, InvalidMetadataValue> {
    let mut value = AsciiMetadataValue::try_from(format!("Bearer {token}"))?;
    value.set_sensitive(true);
    Ok(value)
}

fn describe(status: Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

fn print(customer: &Customer) {
    println!(
        "{}\t{}\t{}\t{}\t{}",
        customer.id, customer.name, customer.email, customer.phone, customer.company
    );
}
