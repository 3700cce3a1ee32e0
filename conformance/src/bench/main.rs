//! `floe-bench`: drives S3 endpoints with the same workloads and compares them: Floe (6 `floe
//! node` processes and a `floe serve --ec 4+2` gateway it starts) against the plain single-disk
//! S3 server `s3s-fs` (the baseline) and, when a `garage` binary is on the PATH, a one-node
//! Garage (the second baseline), in one run. Phases, in order: multipart (a big upload and
//! its download, with the servers' RSS; first, so the gateway's RSS during the upload is not the
//! high-water mark phase 1's many concurrent 64 MiB PUTs leave behind), objects (PUT then GET
//! per size and concurrency), list, mixed; then, on Floe only, cache (GETs with the cache off)
//! and degraded (GETs with two nodes killed). Phase numbers in the output follow the order of
//! the brief (1 objects, 2 multipart, 3 list, 4 mixed, 5 cache, 6 degraded). Floe runs first,
//! then the baselines, one server alive at a time. Output: tables on stdout (progress on stderr),
//! the targets with PASS/MISS, and a JSON file of every figure.
//!
//! Env mode: with `S3_ENDPOINT` (+ `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`)
//! only that endpoint is measured: no cluster, no baseline, no Floe-only phases.
//!
//! Modules: `workload` (N ops at concurrency c), `ops` (the timed S3 calls), `objects`,
//! `multipart`, `listing`, `mixed` (the phases), `stats`, `rng`, `units`, `rss` (memory
//! sampling), `baseline` (the baselines' processes, s3s-fs), `garage`, `machine`, `results`,
//! `table` and `report`.

mod baseline;
mod cpu;
mod cpu_table;
mod garage;
mod listing;
mod machine;
mod mixed;
mod multipart;
mod objects;
mod ops;
mod report;
mod results;
mod rng;
mod rss;
mod stats;
mod table;
mod units;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use floe_conformance::cluster::{self, Cluster};
use floe_conformance::target::Target;
use serde::Serialize;

use crate::baseline::BaselineServer;
use crate::objects::{Budget, Written};
use crate::report::Report;
use crate::results::TargetResults;
use crate::rss::RssMonitor;
use crate::units::{KIB, MIB, parse_size};
use crate::workload::Done;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    Objects,
    Multipart,
    List,
    Mixed,
    Cache,
    Degraded,
}

#[derive(Parser)]
#[command(
    name = "floe-bench",
    about = "Benchmarks Floe against the single-disk S3 server s3s-fs (or, with S3_ENDPOINT set, \
             any one S3 endpoint): object PUT/GET, multipart, LIST, a mixed workload, GETs with \
             the cache off and with two nodes down."
)]
struct Cli {
    /// The `floe` binary [default: target/{debug,release}/floe next to this executable].
    #[arg(long, env = "FLOE_BIN")]
    floe: Option<PathBuf>,
    /// The `s3s-fs` binary of the baseline.
    #[arg(long = "s3s-fs", default_value = "s3s-fs")]
    s3s_fs: PathBuf,
    /// The `garage` binary of the optional second baseline [default: `garage` on the PATH; none
    /// there: Garage is not measured].
    #[arg(long)]
    garage: Option<PathBuf>,
    /// Measure Floe alone.
    #[arg(long)]
    no_baseline: bool,
    /// Run only these phases (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Option<Vec<Phase>>,
    /// Object sizes of the PUT/GET cells.
    #[arg(long, value_delimiter = ',', value_parser = parse_size, default_value = "4KiB,64KiB,1MiB,64MiB")]
    sizes: Vec<u64>,
    /// Concurrencies of the PUT/GET cells.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Bytes one PUT or GET cell moves, roughly (at least one op per worker)
    /// [default: 512MiB; --quick: 16MiB].
    #[arg(long, value_parser = parse_size)]
    bytes_per_cell: Option<u64>,
    /// At most this many ops in one PUT or GET cell [default: 4000; --quick: 500].
    #[arg(long)]
    max_ops_per_cell: Option<usize>,
    /// Size of the multipart upload [default: 1GiB; --quick: 128MiB].
    #[arg(long, value_parser = parse_size)]
    multipart_bytes: Option<u64>,
    /// Keys of the LIST phase [default: 10000; --quick: 1000].
    #[arg(long)]
    list_keys: Option<usize>,
    /// Operations of the mixed phase [default: 4000; --quick: 500].
    #[arg(long)]
    mixed_ops: Option<usize>,
    /// Concurrency at which the ratio targets are judged.
    #[arg(long, default_value_t = 8)]
    target_concurrency: usize,
    /// Seed of the mixed workload's plan.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Tiny figures for a smoke run.
    #[arg(long)]
    quick: bool,
    /// Where the JSON report goes.
    #[arg(long, default_value = "target/floe-bench.json")]
    json: PathBuf,
}

/// The resolved figures of this run (recorded in the JSON).
#[derive(Debug, Clone, Serialize)]
struct Settings {
    mode: &'static str,
    quick: bool,
    phases: Vec<Phase>,
    sizes: Vec<u64>,
    concurrency: Vec<usize>,
    bytes_per_cell: u64,
    max_ops_per_cell: usize,
    multipart_bytes: u64,
    multipart_part_bytes: u64,
    multipart_parts_in_flight: usize,
    list_keys: usize,
    mixed_ops: usize,
    mixed_keys: usize,
    mixed_object_bytes: u64,
    mixed_concurrency: usize,
    seed: u64,
    target_concurrency: usize,
    floe_ec: &'static str,
    floe_nodes: usize,
    degraded_nodes_killed: usize,
}

const ALL_PHASES: [Phase; 6] = [
    Phase::Objects,
    Phase::Multipart,
    Phase::List,
    Phase::Mixed,
    Phase::Cache,
    Phase::Degraded,
];

impl Settings {
    fn resolve(cli: &Cli, env_mode: bool) -> Self {
        let pick = |given: Option<u64>, full: u64, quick: u64| {
            given.unwrap_or(if cli.quick { quick } else { full })
        };
        Settings {
            mode: if env_mode { "env" } else { "cluster" },
            quick: cli.quick,
            phases: cli.only.clone().unwrap_or_else(|| ALL_PHASES.to_vec()),
            sizes: cli.sizes.clone(),
            concurrency: cli.concurrency.clone(),
            bytes_per_cell: pick(cli.bytes_per_cell, 512 * MIB, 16 * MIB),
            max_ops_per_cell: pick(cli.max_ops_per_cell.map(|n| n as u64), 4000, 500) as usize,
            multipart_bytes: pick(cli.multipart_bytes, 1024 * MIB, 128 * MIB),
            multipart_part_bytes: 16 * MIB,
            multipart_parts_in_flight: 4,
            list_keys: pick(cli.list_keys.map(|n| n as u64), 10_000, 1000) as usize,
            mixed_ops: pick(cli.mixed_ops.map(|n| n as u64), 4000, 500) as usize,
            mixed_keys: 1000,
            mixed_object_bytes: 64 * KIB,
            mixed_concurrency: 16,
            seed: cli.seed,
            target_concurrency: cli.target_concurrency,
            floe_ec: "4+2",
            floe_nodes: 6,
            degraded_nodes_killed: 2,
        }
    }

    fn budget(&self) -> Budget {
        Budget {
            bytes_per_cell: self.bytes_per_cell,
            max_ops: self.max_ops_per_cell,
        }
    }

    fn wants(&self, phase: Phase) -> bool {
        self.phases.contains(&phase)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env_target = Target::from_env();
    let settings = Settings::resolve(&cli, env_target.is_some());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let report = runtime.block_on(run(&cli, &settings, env_target));
    drop(runtime);
    print!("{}", report.render());
    match report.write_json(&cli.json) {
        Ok(()) => println!("\njson: {}", cli.json.display()),
        Err(e) => eprintln!("writing {}: {e:#}", cli.json.display()),
    }
    let measured = report.targets.iter().any(|t| t.failures.is_empty());
    if measured {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run(cli: &Cli, s: &Settings, env_target: Option<Target>) -> Report {
    let started = Instant::now();
    let rss = RssMonitor::start();
    let mut targets = Vec::new();
    if let Some(target) = env_target {
        eprintln!("env mode: benchmarking {} (S3_ENDPOINT)", target.endpoint);
        if s.wants(Phase::Cache) || s.wants(Phase::Degraded) {
            eprintln!("env mode: the Floe-only phases (cache, degraded) are skipped");
        }
        let mut res = TargetResults::new("endpoint", &target.endpoint);
        bench_common(&target, s, &rss, &mut res).await;
        eprintln!("cleaning up the buckets of this run");
        cleanup(&target).await;
        targets.push(res);
    } else {
        let (floe, floe_data) = bench_floe(cli, s, &rss).await;
        targets.push(floe);
        if !cli.no_baseline {
            flush_page_cache_writes();
            eprintln!("\nstarting the baseline {}", cli.s3s_fs.display());
            let s3s_fs = BaselineServer::s3s_fs(&cli.s3s_fs);
            targets.push(bench_baseline("s3s-fs", s3s_fs, s, &rss).await);
            if let Some(bin) = garage::find(cli.garage.as_deref()) {
                flush_page_cache_writes();
                eprintln!("\nstarting the second baseline {}", bin.display());
                targets.push(bench_baseline("garage", garage::start(&bin), s, &rss).await);
            }
        }
        // Floe's data goes only now: ext4 avoids reusing inodes freed in the last ~30 s, and
        // with no journal it scans past them on every file it creates, so a big deletion just
        // before the baseline ran would have slowed the baseline's writes.
        drop(floe_data);
    }
    let checks = match (s.mode, targets.first()) {
        ("cluster", Some(floe)) => report::evaluate(floe, targets.get(1), s.target_concurrency),
        _ => Vec::new(),
    };
    let ratios = match targets.split_first() {
        Some((floe, baselines)) => baselines
            .iter()
            .flat_map(|base| report::ratios(floe, base))
            .collect(),
        None => Vec::new(),
    };
    let now = machine::unix_now();
    Report {
        timestamp: machine::rfc3339_utc(now),
        unix_time: now,
        git_commit: machine::git_commit(),
        machine: machine::Machine::probe(),
        settings: serde_json::to_value(s).unwrap_or_default(),
        wall_secs: started.elapsed().as_secs_f64(),
        targets,
        ratios,
        checks,
    }
}

/// The phases every endpoint runs. Returns what phase 1 wrote (the Floe-only phases reread it).
async fn bench_common(
    target: &Target,
    s: &Settings,
    rss: &RssMonitor,
    res: &mut TargetResults,
) -> Option<Written> {
    let client = ops::client(target);
    let label = res.name.clone();
    let needs_objects = s.wants(Phase::Objects)
        || (s.mode == "cluster" && (s.wants(Phase::Cache) || s.wants(Phase::Degraded)));
    let mut written = None;
    if needs_objects {
        match target.create_bucket("obj").await {
            Ok(bucket) => written = Some(Written::new(&bucket)),
            Err(e) => res.failures.push(format!("objects: {e:#}")),
        }
    }
    if s.wants(Phase::Multipart) {
        eprintln!("\n[{label}] phase 2: multipart upload and download");
        match target.create_bucket("mpu").await {
            Ok(bucket) => {
                let m = multipart::run(
                    &client,
                    &bucket,
                    s.multipart_bytes,
                    s.multipart_part_bytes,
                    s.multipart_parts_in_flight,
                    rss,
                    &label,
                )
                .await;
                res.multipart = Some(m);
            }
            Err(e) => res.failures.push(format!("multipart: {e:#}")),
        }
    }
    if let (true, Some(w)) = (s.wants(Phase::Objects), written.as_mut()) {
        eprintln!("\n[{label}] phase 1: PUT then GET");
        objects::run(
            &client,
            rss,
            w,
            &s.sizes,
            &s.concurrency,
            s.budget(),
            &label,
            &mut res.objects,
        )
        .await;
    }
    if s.wants(Phase::List) {
        eprintln!("\n[{label}] phase 3: LIST");
        match target.create_bucket("list").await {
            Ok(bucket) => {
                res.list = Some(listing::run(&client, &bucket, s.list_keys, &label).await)
            }
            Err(e) => res.failures.push(format!("list: {e:#}")),
        }
    }
    if s.wants(Phase::Mixed) {
        eprintln!("\n[{label}] phase 4: mixed workload");
        match target.create_bucket("mixed").await {
            Ok(bucket) => {
                let m = mixed::run(
                    &client,
                    &bucket,
                    s.mixed_keys,
                    s.mixed_object_bytes,
                    s.mixed_ops,
                    s.mixed_concurrency,
                    s.seed,
                    &label,
                )
                .await;
                res.mixed = Some(m);
            }
            Err(e) => res.failures.push(format!("mixed: {e:#}")),
        }
    }
    written
}

/// GET cells of the cache-off phase, and of the degraded phase (a subset).
const CACHE_OFF_CELLS: [(u64, usize); 4] = [(4 * KIB, 8), (MIB, 8), (64 * MIB, 1), (64 * MIB, 8)];
const DEGRADED_CELLS: [(u64, usize); 3] = [(64 * MIB, 1), (64 * MIB, 8), (MIB, 8)];

/// Runs every phase on a fresh Floe cluster; returns the results and the cluster's data
/// directory, still on disk (removed when dropped).
async fn bench_floe(
    cli: &Cli,
    s: &Settings,
    rss: &RssMonitor,
) -> (TargetResults, Option<tempfile::TempDir>) {
    let mut res = TargetResults::new("floe", "");
    let floe = match cluster::find_floe_binary(cli.floe.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            res.failures.push(format!("{e:#}"));
            return (res, None);
        }
    };
    eprintln!(
        "starting 6 storage nodes and a 4+2 gateway from {}",
        floe.display()
    );
    let (nodes, ec) = (s.floe_nodes, s.floe_ec);
    let mut cluster =
        match tokio::task::spawn_blocking(move || Cluster::start(&floe, nodes, ec)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                res.failures.push(format!("starting the cluster: {e:#}"));
                return (res, None);
            }
            Err(e) => {
                res.failures.push(format!("starting the cluster: {e}"));
                return (res, None);
            }
        };
    res.endpoint = cluster.endpoint.clone();
    eprintln!(
        "cluster ready: gateway {} (log {})",
        cluster.endpoint,
        cluster.gateway_log().display()
    );
    watch_cluster(&cluster, rss);
    let mut written = bench_common(&cluster.target(), s, rss, &mut res).await;
    let floe_only_phases = s.wants(Phase::Cache) || s.wants(Phase::Degraded);
    if let (true, Some(w)) = (floe_only_phases, written.as_mut())
        && let Err(e) = floe_only(&mut cluster, s, rss, &mut res, w).await
    {
        eprintln!("[floe] Floe-only phases failed: {e:#}");
        res.failures.push(format!("{e:#}"));
    }
    res.peak_rss = rss
        .overall()
        .into_iter()
        .filter(|(name, _)| name == "gateway" || name.starts_with("node"))
        .collect();
    for name in (0..cluster.nodes.len())
        .map(|i| format!("node{i}"))
        .chain(["gateway".into()])
    {
        rss.unwatch(&name);
    }
    let data = cluster.stop();
    (res, data)
}

fn watch_cluster(cluster: &Cluster, rss: &RssMonitor) {
    if let Some(pid) = cluster.gateway_pid() {
        rss.watch("gateway", pid);
    }
    for (i, pid) in cluster.node_pids().into_iter().enumerate() {
        if let Some(pid) = pid {
            rss.watch(&format!("node{i}"), pid);
        }
    }
}

/// Phases 5 and 6: restart the gateway with the cache off, reread; kill two nodes, reread.
async fn floe_only(
    cluster: &mut Cluster,
    s: &Settings,
    rss: &RssMonitor,
    res: &mut TargetResults,
    written: &mut Written,
) -> anyhow::Result<()> {
    let client = ops::client(&cluster.target());
    let cells: Vec<(u64, usize)> = if s.wants(Phase::Cache) {
        CACHE_OFF_CELLS.to_vec()
    } else {
        DEGRADED_CELLS.to_vec()
    };
    for &(size, c) in &cells {
        objects::ensure(&client, rss, written, size, c, s.budget()).await;
    }
    eprintln!("\n[floe] phase 5: restarting the gateway with cache_bytes = 0");
    let config = cluster.root().join("bench-cache-off.toml");
    std::fs::write(
        &config,
        "# floe-bench: GETs with the chunk cache off\ncache_bytes = 0\n",
    )?;
    tokio::task::block_in_place(|| cluster.restart_gateway(Some(&config)))?;
    if let Some(pid) = cluster.gateway_pid() {
        rss.watch("gateway", pid);
    }
    let client = ops::client(&cluster.target());
    // Healthy, cache-off figures: the cache phase itself, or the reference for the degraded one.
    res.cache_off =
        objects::rerun_gets(&client, rss, written, &cells, s.budget(), "floe cache off").await;
    if !s.wants(Phase::Degraded) {
        return Ok(());
    }
    let killed: Vec<usize> = (0..s.degraded_nodes_killed).collect();
    eprintln!("\n[floe] phase 6: SIGKILL of nodes {killed:?}, GETs with the cache off");
    for &i in &killed {
        cluster.nodes[i].kill();
        rss.unwatch(&format!("node{i}"));
    }
    res.nodes_killed = killed;
    tokio::time::sleep(Duration::from_secs(1)).await;
    res.degraded = objects::rerun_gets(
        &client,
        rss,
        written,
        &DEGRADED_CELLS,
        s.budget(),
        "floe degraded",
    )
    .await;
    Ok(())
}

async fn bench_baseline(
    name: &str,
    server: anyhow::Result<BaselineServer>,
    s: &Settings,
    rss: &RssMonitor,
) -> TargetResults {
    let mut res = TargetResults::new(name, "");
    let server = match server {
        Ok(server) => server,
        Err(e) => {
            eprintln!("{name} not measured: {e:#}");
            res.failures.push(format!("starting {name}: {e:#}"));
            return res;
        }
    };
    res.endpoint = server.endpoint.clone();
    rss.watch(name, server.pid());
    bench_common(&server.target(), s, rss, &mut res).await;
    res.peak_rss = rss
        .overall()
        .into_iter()
        .filter(|(watched, _)| watched == name)
        .collect();
    rss.unwatch(name);
    drop(server);
    res
}

/// Writes the previous server left in the page cache must not be flushed on the next one's time.
fn flush_page_cache_writes() {
    let _ = std::process::Command::new("sync").status();
}

/// Env mode: empties (concurrently) and deletes the buckets this run created.
async fn cleanup(target: &Target) {
    let client = ops::client(target);
    for purpose in ["obj", "mpu", "list", "mixed"] {
        let bucket = target.bucket_name(purpose);
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let Ok(page) = client
                .list_objects_v2()
                .bucket(&bucket)
                .set_continuation_token(token.take())
                .send()
                .await
            else {
                break;
            };
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        let keys = std::sync::Arc::new(keys);
        let (c, b, k) = (
            client.clone(),
            std::sync::Arc::<str>::from(bucket.as_str()),
            keys.clone(),
        );
        workload::run(keys.len(), 32, 1, move |i| {
            let (client, bucket, keys) = (c.clone(), b.clone(), k.clone());
            async move { Done::one(ops::delete(&client, &bucket, &keys[i]).await) }
        })
        .await;
    }
    target.cleanup_buckets().await;
}
