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

use std::{net::SocketAddr, process::ExitCode};

use crm::{AppState, Config, ConfigError, HttpMetrics, StartError};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::{
    net::{TcpListener, TcpSocket},
    sync::watch,
};
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
    let listener = match bind(config.listen) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: --listen: cannot bind {}: {error}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    // The metrics listener and its recorder before the state: the libraries record from
    // the start.
    let metrics = match config.metrics_listen.map(start_metrics).transpose() {
        Ok(metrics) => metrics,
        Err(error) => {
            eprintln!("error: {error}");
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
    // Listen for the signals before announcing the address: a supervisor (or a test) may
    // send SIGTERM as soon as it reads the line. One signal stops both listeners.
    let signal = crm::shutdown_signal();
    let (stop, stopped) = watch::channel(false);
    let draining = state.draining.clone();
    let drain_period = config.drain_period;
    tokio::spawn(async move {
        signal.await;
        if !drain_period.is_zero() {
            draining.start();
            tracing::info!(
                period = ?drain_period,
                "draining: /health answers 503 while the requests are still served"
            );
            tokio::time::sleep(drain_period).await;
        }
        stop.send_replace(true);
    });
    let db = state.db.clone();
    let app = crm::app(state);
    let http_metrics = if metrics.is_some() {
        HttpMetrics::Recorded
    } else {
        HttpMetrics::NotRecorded
    };
    let serve_metrics = async {
        if let Some((listener, handle)) = metrics {
            if let Ok(address) = listener.local_addr() {
                tracing::info!(%address, "serving /metrics");
            }
            crm::serve(
                listener,
                crm::metrics::router(handle),
                config.server,
                HttpMetrics::NotRecorded,
                stopping(stopped.clone()),
            )
            .await;
        }
    };
    let address = listener.local_addr().unwrap_or(config.listen);
    tracing::info!(%address, "listening");
    tokio::join!(
        crm::serve(
            listener,
            app,
            config.server,
            http_metrics,
            stopping(stopped.clone())
        ),
        serve_metrics,
    );
    db.close().await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Bind the `--metrics-listen` listener and install the Prometheus recorder.
fn start_metrics(address: SocketAddr) -> Result<(TcpListener, PrometheusHandle), StartError> {
    let listener = bind(address).map_err(|error| {
        StartError::flag(
            "--metrics-listen",
            format!("cannot bind {address}: {error}"),
        )
    })?;
    let handle = crm::metrics::install().map_err(|error| {
        StartError::flag(
            "--metrics-listen",
            format!("cannot install the recorder: {error}"),
        )
    })?;
    Ok((listener, handle))
}

/// Completes once `stopped` turns true (or its sender is gone).
async fn stopping(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stopped| *stopped).await;
}

/// The listen backlog: connections the kernel completes and queues while the server does not
/// accept (a burst, or `--max-connections` reached). The kernel caps it at
/// `net.core.somaxconn`; std's and tokio's 128 overflows in a burst of a few hundred, and
/// the clients whose handshake is then dropped hang until they send something.
const LISTEN_BACKLOG: u32 = 1024;

/// A listener on `address` with [`LISTEN_BACKLOG`] (and, as tokio's `bind` does on Unix,
/// `SO_REUSEADDR`, to restart at once on the same port).
fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

fn init_tracing(filter: Targets) {
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .init();
}
