//! `floe-conformance`: a black-box S3 conformance run that ends with a matrix and one count line.
//!
//! Two modes:
//! - **cluster** (default): starts 6 `floe node` processes and a `floe serve --ec 4+2` gateway on
//!   127.0.0.1 with ports chosen at run time, then runs every suite, the node-failure scenarios
//!   included;
//! - **env**: when `S3_ENDPOINT` is set, targets that endpoint with `AWS_ACCESS_KEY_ID`,
//!   `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` (default us-east-1); the Floe-only failure
//!   scenarios are skipped. This is how Floe is compared with any other S3 server.
//!
//! Modules: `target` (endpoint and clients) and `cluster` (the processes), both from the
//! library; `report` (checks and the matrix), `sdk` (aws-sdk-s3 scenarios), `clients` (aws cli,
//! rclone, s3cmd, boto3 scripts), `failure` (kill, restart and corrupt).

mod clients;
mod failure;
mod report;
mod sdk;

// From the library, under the names the suite's modules use (`crate::cluster`, `crate::target`).
use floe_conformance::{cluster, target};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::cluster::Cluster;
use crate::report::Report;
use crate::target::Target;

#[derive(Parser)]
#[command(
    name = "floe-conformance",
    about = "S3 conformance suite: SDK scenarios, real clients and failure scenarios. Starts a \
             Floe cluster, or targets S3_ENDPOINT (with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) \
             when it is set."
)]
struct Cli {
    /// The `floe` binary for cluster mode [default: target/{debug,release}/floe next to this
    /// executable].
    #[arg(long, env = "FLOE_BIN")]
    floe: Option<PathBuf>,
    /// Run only these suites (comma-separated: sdk, clients, failure).
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<String>>,
    /// Directory holding the client scripts [default: this crate's clients/].
    #[arg(long)]
    clients_dir: Option<PathBuf>,
    /// Keep the cluster's data directory (node shards, gateway index and logs) after the run.
    #[arg(long)]
    keep: bool,
}

impl Cli {
    fn wants(&self, suite: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|s| s == suite))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let report = runtime.block_on(run(cli));
    // Nothing may follow the count line: the cluster is gone, the runtime has no work left.
    drop(runtime);
    let (passed, failed) = report.counts();
    report.print_matrix();
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run(cli: Cli) -> Report {
    let mut report = Report::new();
    let mut cluster = None;
    let target = match Target::from_env() {
        Some(target) => {
            println!("env mode: targeting {} (S3_ENDPOINT)", target.endpoint);
            target
        }
        None => match start_cluster(&cli).await {
            Ok(c) => {
                let target = c.target();
                cluster = Some(c);
                target
            }
            Err(e) => {
                report.fail_setup("start the Floe cluster", &format!("{e:#}"));
                return report;
            }
        },
    };

    if cli.wants("sdk") {
        sdk::run(&target, &mut report).await;
    }
    if cli.wants("clients") {
        let dir = cli
            .clients_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/clients")));
        clients::run(&target, &dir, &mut report).await;
    }
    if cli.wants("failure") {
        match cluster.as_mut() {
            Some(c) => failure::run(c, &target, &mut report).await,
            None => {
                println!(
                    "\n== failure scenarios: SKIPPED (env mode): they kill, restart and corrupt \
                     Floe storage nodes, so they need the cluster this suite starts itself \
                     (run without S3_ENDPOINT)"
                );
                report.skip_column(report::Column::Failure);
            }
        }
    }
    target.cleanup_buckets().await;
    if let Some(c) = cluster {
        c.shutdown(cli.keep);
    }
    report
}

async fn start_cluster(cli: &Cli) -> anyhow::Result<Cluster> {
    let floe = cluster::find_floe_binary(cli.floe.as_deref())?;
    println!(
        "cluster mode: starting 6 storage nodes and a 4+2 gateway from {}",
        floe.display()
    );
    let started = std::time::Instant::now();
    let c = tokio::task::spawn_blocking(move || Cluster::start(&floe, 6, "4+2")).await??;
    println!(
        "cluster ready in {:.1}s: gateway {} (log {}), nodes {}",
        started.elapsed().as_secs_f64(),
        c.endpoint,
        c.gateway_log().display(),
        c.node_urls().join(" ")
    );
    Ok(c)
}
