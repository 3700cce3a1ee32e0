//! The `floe` binary: one executable, one subcommand per role.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use floe_gateway::admin::cli::AdminArgs;
use floe_gateway::runtime::config::{GatewayConfig, GatewayOverrides};
use floe_gateway::runtime::launch::Gateway;

#[derive(Parser)]
#[command(
    name = "floe",
    version,
    about = "Floe: an S3-compatible gateway over erasure-coded storage nodes"
)]
struct Cli {
    /// Log line format on stderr: `text` for people, `json` (one object per line) for log
    /// collectors. Colour is used only when stderr is a terminal.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "FLOE_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the S3 gateway. With no storage nodes configured it starts an embedded local cluster
    /// (6 nodes, erasure code 4+2) under the data directory: a complete dev setup in one command.
    Serve {
        /// TOML config file (see deploy/gateway.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// S3 endpoint address [default: 127.0.0.1:9000].
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Directory for the metadata index (and the embedded nodes' shards) [default: ./floe-data].
        #[arg(long)]
        data: Option<PathBuf>,
        /// Storage node URLs, comma-separated (started separately with `floe node`).
        #[arg(long, value_delimiter = ',')]
        nodes: Option<Vec<String>>,
        /// Erasure code as K+M [default: 4+2].
        #[arg(long)]
        ec: Option<String>,
        /// Admin API address [default: 127.0.0.1:9001; port 0 when --listen has port 0].
        #[arg(long)]
        admin_listen: Option<SocketAddr>,
        /// Rebuild the metadata index from the storage nodes' records before serving (after
        /// the gateway's disk was lost; start on an empty data directory).
        #[arg(long)]
        rebuild_index: bool,
        /// Set the cluster's clock watermark to this machine's time, after an operator made sure
        /// the clock is right: a gateway refuses to start on a clock behind the watermark, since
        /// object lock retention is judged by it.
        #[arg(long)]
        reset_clock_watermark: bool,
        /// A shared metadata index, postgres://user:password@host:port/database, for several
        /// gateways over one cluster [default: index.redb in the data directory].
        #[arg(long)]
        index: Option<String>,
        /// Validate the configuration (file, flags, environment, data directory) and exit.
        #[arg(long)]
        check_config: bool,
    },
    /// Operate a running gateway through its admin API: status, repair, scrub, gc, drain,
    /// rebuild-index.
    Admin(AdminArgs),
    /// Run a storage node: stores shards by id on one disk.
    Node {
        /// TOML config file (listen, data_dir, cluster_secret, max_shard_bytes, [tls]).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (port 0 picks a free port; the bound address is printed).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Directory holding the shards.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Validate the configuration (file, flags, environment, data directory) and exit.
        #[arg(long)]
        check_config: bool,
        /// Print where each shard under --data lies (its pack segment or file, and the offsets
        /// of its header and payload there) as one JSON object per line, and exit. Reads only,
        /// so it is safe while the node runs: for forensics and damage drills.
        #[arg(long, requires = "data")]
        list_shards: bool,
    },
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One readable line for operators (no backtrace even when RUST_BACKTRACE is set).
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs to stderr: `RUST_LOG` filters (default `info`), colour only on a terminal (journald,
/// `docker logs` and files get plain text), or JSON lines.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(
        |_| // s3s logs every client error (a 404 included) at ERROR: the gateway logs what matters.
        tracing_subscriber::EnvFilter::new("info,s3s=off"),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_current_span(true).init(),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    init_logging(cli.log_format);
    // Every connection and every node socket is a descriptor: allow what the system allows, so
    // `max_connections` (and a node's clients) are not cut short by a soft limit of 1024.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "cannot raise the open-files limit");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve {
                config,
                listen,
                data,
                nodes,
                ec,
                admin_listen,
                rebuild_index,
                reset_clock_watermark,
                index,
                check_config,
            } => {
                let overrides = GatewayOverrides {
                    listen,
                    data_dir: data,
                    nodes,
                    ec,
                    admin_listen,
                    rebuild_index,
                    reset_clock_watermark,
                    index,
                };
                let config = GatewayConfig::resolve(config.as_deref(), overrides)?;
                config.check_data_dir()?;
                if check_config {
                    // Reads and parses the certificate, key and CA files, as startup would.
                    config.tls.load()?;
                    println!(
                        "gateway config OK: listen {}://{}, data {}, {} nodes, erasure code {}, write quorum {}",
                        scheme(&config),
                        config.listen,
                        config.data_dir.display(),
                        if config.embedded() { config.embedded_nodes } else { config.nodes.len() },
                        config.params,
                        config.write_quorum
                    );
                    return Ok(());
                }
                let gateway = Gateway::start(&config).await?;
                print_banner(&config, &gateway);
                shutdown_signal().await;
                let grace = config.shutdown_grace;
                tracing::info!(
                    grace_secs = grace.as_secs(),
                    "shutting down: no new connections, in-flight requests finishing"
                );
                if tokio::time::timeout(grace, gateway.stop()).await.is_err() {
                    // What is cut off now was never acknowledged, and the index commits an
                    // object only whole, so nothing half-written becomes visible.
                    tracing::warn!(
                        grace_secs = grace.as_secs(),
                        "requests still in flight after the shutdown grace period; exiting"
                    );
                } else {
                    tracing::info!("stopped cleanly");
                }
            }
            Command::Admin(args) => floe_gateway::admin::cli::run(args).await?,
            Command::Node {
                config,
                listen,
                data,
                check_config,
                list_shards,
            } => {
                if let Some(dir) = data.as_deref().filter(|_| list_shards) {
                    return list_shards_in(dir);
                }
                let config = floe_node::NodeConfig::resolve(config.as_deref(), listen, data)?;
                if check_config {
                    let tls = config.tls_acceptor()?;
                    println!(
                        "node config OK: listen {}://{}, data {}",
                        if tls.is_some() { "https" } else { "http" },
                        config.listen,
                        config.data_dir.display()
                    );
                    return Ok(());
                }
                floe_node::serve(config, shutdown_signal()).await?;
            }
        }
        Ok(())
    })
}

/// `floe node --list-shards`: one JSON line per shard in data directory `dir`.
fn list_shards_in(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for shard in floe_node::inspect::shards(dir)? {
        let line = serde_json::json!({
            "chunk": shard.key.chunk.to_hex(),
            "index": shard.key.index,
            "len": shard.len,
            "path": shard.place.path,
            "header_at": shard.place.header_at,
            "payload_at": shard.place.payload_at,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

fn scheme(config: &GatewayConfig) -> &'static str {
    if config.tls.serves_https() {
        "https"
    } else {
        "http"
    }
}

/// Tells a newcomer where the endpoint is and how to reach it.
fn print_banner(config: &GatewayConfig, gateway: &Gateway) {
    let endpoint = format!("{}://{}", scheme(config), gateway.addr);
    let storage = if config.embedded() {
        format!(
            "{} embedded storage nodes under {}",
            gateway.embedded_nodes.len(),
            config.data_dir.join("nodes").display()
        )
    } else {
        format!("{} storage nodes", config.nodes.len())
    };
    // Only the dev cluster's well-known keys are printed: a real secret never reaches a
    // terminal scrollback, a journal or a CI log.
    let secret = if config.dev_credentials() {
        config.secret_key.as_str()
    } else {
        "<as configured>"
    };
    println!("Floe S3 gateway listening on {endpoint}");
    println!("  access key:   {}", config.access_key);
    println!("  secret key:   {secret}");
    println!("  region:       {}", config.region);
    println!("  storage:      {storage}, erasure code {}", config.params);
    println!("  admin API:    http://{}", gateway.admin_addr);
    println!("Try it:");
    println!(
        "  export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={secret} AWS_DEFAULT_REGION={}",
        config.access_key, config.region
    );
    // A private CA is the common case; without the flag aws cli refuses the certificate.
    let ca_flag = if config.tls.serves_https() {
        " --ca-bundle CA.pem"
    } else {
        ""
    };
    println!("  aws --endpoint-url {endpoint}{ca_flag} s3 mb s3://demo");
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests can finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
