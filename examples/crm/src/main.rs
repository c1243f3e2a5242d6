//! The `crm` server.
//!
//! Run with
//!
//! ```text
//! cargo run --release -p crm
//! ```
//!
//! Flags and environment variables: `crm --help` or `examples/crm/README.md`. Logs go to
//! stderr; set `CRM_LOG` (e.g. `CRM_LOG=debug` or `CRM_LOG=info,tollgate=debug`) for more (a
//! filter that does not parse stops the start, like a bad flag).

use std::process::ExitCode;

use crm::{AppState, Config, ConfigError};
use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args_os()) {
        Ok(config) => config,
        Err(ConfigError::Clap(error)) => {
            if !error.use_stderr() {
                // --help, --version
                let _ = error.print();
                return ExitCode::SUCCESS;
            }
            eprintln!("{}", one_line(&error));
            return ExitCode::from(2);
        }
        Err(ConfigError::Start(error)) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };

    let filter = match crm::config::log_filter_from_env() {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    init_tracing(filter);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

/// clap's message as one line: its first paragraph (the problem, and for a missing argument
/// the flags it lists on the lines below), without the usage and the hints after it.
fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect();
    if paragraph.is_empty() {
        "error: invalid arguments".to_owned()
    } else {
        paragraph.join(" ")
    }
}

async fn run(config: Config) -> ExitCode {
    // Bind first: a busy port is reported before anything else is logged.
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: --listen: cannot bind {}: {error}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let state = match AppState::build(&config).await {
        Ok(state) => state,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().unwrap_or(config.listen);
    tracing::info!(%address, "listening");
    let db = state.db.clone();
    let served = crm::serve(listener, crm::app(state), crm::shutdown_signal()).await;
    db.close().await;
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(filter: Targets) {
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .init();
}
