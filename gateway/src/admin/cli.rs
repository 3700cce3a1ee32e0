//! `floe admin`: the subcommands, and how their answers are printed for a human.
//!
//! Long operations print a progress line to stderr every few seconds (polled from
//! `GET /admin/progress` while the operation's own request is pending), then the final report
//! to stdout.

use std::future::Future;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::client::{AdminClient, AdminError};
use super::users_cli::{KeyCommand, PolicyCommand, UserCommand};
use super::{GcReport, StatusReport};
use crate::maintenance::recovery::RebuildReport;
use crate::maintenance::repair::{DrainReport, ProgressSnapshot, RepairReport, ScrubReport};
use crate::runtime::config::DEV_SECRET_KEY;

/// Default admin API address (the embedded dev gateway's).
pub const DEFAULT_ADMIN_URL: &str = "http://127.0.0.1:9001";

/// `floe admin [--gateway URL] [--token T] COMMAND`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Admin API of the gateway.
    #[arg(long, env = "FLOE_ADMIN_URL", default_value = DEFAULT_ADMIN_URL)]
    pub gateway: String,
    /// Bearer token: the gateway's `admin_token` (its S3 secret key when that is unset), or
    /// an admin user's `ACCESS_KEY:SECRET` [default: the embedded dev cluster's secret key].
    #[arg(long, env = "FLOE_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Nodes up and down, capacity, shards per node, repair backlog.
    Status,
    /// Check every chunk against its placement and rebuild missing or corrupt shards.
    Repair,
    /// Have every node re-verify its shards, and rebuild the rotten ones.
    Scrub {
        /// Read rate per node in bytes per second, 0 for no cap [default: the gateway's
        /// scrub_bytes_per_sec].
        #[arg(long)]
        max_bytes_per_sec: Option<u64>,
    },
    /// Garbage collection: delete unreferenced chunks and orphaned shards, expire abandoned
    /// multipart uploads.
    Gc {
        /// Seconds an unreferenced chunk must have waited [default: the gateway's gc grace].
        #[arg(long)]
        grace_secs: Option<u64>,
    },
    /// Move every shard and metadata record off a node (its URL or key), so it can be removed.
    Drain { node: String },
    /// Rebuild the gateway's index from the metadata records on the nodes.
    RebuildIndex,
    /// Every version and delete marker of one key, newest first, with its lock.
    Versions { bucket: String, key: String },
    /// Remove one version of a key for good; a retention or legal hold refuses it, as in S3.
    DeleteVersion {
        bucket: String,
        key: String,
        version: String,
        /// Lift a GOVERNANCE retention (never COMPLIANCE or a legal hold).
        #[arg(long)]
        bypass_governance: bool,
    },
    /// Buckets' lifecycle rules: `run` carries them out now.
    #[command(subcommand)]
    Lifecycle(LifecycleCommand),
    /// Users: list, add (or set policies), remove.
    #[command(subcommand)]
    User(UserCommand),
    /// Access keys: list, create, disable, enable, delete.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Identity policies: list, put (from a JSON file), delete.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

/// `floe admin lifecycle ...`.
#[derive(Debug, Subcommand)]
pub enum LifecycleCommand {
    /// Apply every bucket's lifecycle rules now, instead of at the next scheduled run.
    Run,
}

/// Runs one admin command, printing its outcome.
pub async fn run(args: AdminArgs) -> Result<(), AdminError> {
    let token = args.token.as_deref().unwrap_or(DEV_SECRET_KEY);
    let client = AdminClient::new(&args.gateway, token)?;
    match args.command {
        AdminCommand::Status => print_status(&client.status().await?),
        AdminCommand::Repair => {
            let report = with_progress(&client, client.repair()).await?;
            print_repair(&report);
        }
        AdminCommand::Scrub { max_bytes_per_sec } => {
            let report = with_progress(&client, client.scrub(max_bytes_per_sec)).await?;
            print_scrub(&report);
        }
        AdminCommand::Gc { grace_secs } => {
            let report = with_progress(&client, client.gc(grace_secs)).await?;
            print_gc(&report);
        }
        AdminCommand::Drain { node } => {
            print_drain(&with_progress(&client, client.drain(&node)).await?);
        }
        AdminCommand::RebuildIndex => {
            print_rebuild(&with_progress(&client, client.rebuild_index()).await?);
        }
        AdminCommand::Versions { bucket, key } => {
            print_versions(&bucket, &key, &client.versions(&bucket, &key).await?);
        }
        AdminCommand::DeleteVersion {
            bucket,
            key,
            version,
            bypass_governance,
        } => {
            let deleted = client
                .delete_version(&bucket, &key, &version, bypass_governance)
                .await?;
            match (deleted.removed, deleted.delete_marker) {
                (false, _) => println!("{bucket}/{key}: no version {version}"),
                (true, true) => println!("{bucket}/{key}: delete marker {version} removed"),
                (true, false) => println!("{bucket}/{key}: version {version} removed"),
            }
        }
        AdminCommand::Lifecycle(LifecycleCommand::Run) => {
            let r = client.lifecycle_run().await?;
            println!(
                "lifecycle: {} buckets with rules; {}",
                r.buckets,
                r.summary()
            );
        }
        AdminCommand::User(command) => super::users_cli::user(&client, command).await?,
        AdminCommand::Key(command) => super::users_cli::key(&client, command).await?,
        AdminCommand::Policy(command) => super::users_cli::policy(&client, command).await?,
    }
    Ok(())
}

/// Awaits `operation`, printing the gateway's progress to stderr every 2 s meanwhile.
async fn with_progress<T>(
    client: &AdminClient,
    operation: impl Future<Output = Result<T, AdminError>>,
) -> Result<T, AdminError> {
    let mut operation = std::pin::pin!(operation);
    let mut ticks = tokio::time::interval(Duration::from_secs(2));
    ticks.tick().await;
    loop {
        tokio::select! {
            result = &mut operation => return result,
            _ = ticks.tick() => {
                if let Ok(Some(progress)) = client.progress().await {
                    eprintln!("{}", progress_line(&progress));
                }
            }
        }
    }
}

pub fn progress_line(p: &ProgressSnapshot) -> String {
    let count = match p.total {
        Some(total) => format!("{}/{total}", p.done),
        None => p.done.to_string(),
    };
    format!(
        "{}: {} {count} ({:.1} s)",
        p.operation,
        p.phase,
        p.elapsed_ms as f64 / 1000.0
    )
}

/// Bytes as B, KiB, MiB, GiB or TiB with one decimal.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn print_versions(bucket: &str, key: &str, lines: &[super::VersionLine]) {
    if lines.is_empty() {
        println!("{bucket}/{key}: no versions");
        return;
    }
    println!(
        "{:<18} {:<7} {:<14} {:>11} {:<36} {:<15} LOCK",
        "VERSION", "LATEST", "KIND", "SIZE", "ETAG", "MODIFIED (ms)"
    );
    for v in lines {
        let kind = if v.delete_marker {
            "delete marker"
        } else {
            "object"
        };
        let latest = if v.is_latest { "yes" } else { "" };
        let mut lock = match (&v.retention_mode, v.retain_until) {
            (Some(mode), Some(until)) => format!("{mode} until {until}"),
            _ => String::new(),
        };
        if v.legal_hold {
            lock.push_str(if lock.is_empty() {
                "legal hold"
            } else {
                ", legal hold"
            });
        }
        println!(
            "{:<18} {latest:<7} {kind:<14} {:>11} {:<36} {:<15} {lock}",
            v.version_id,
            human_bytes(v.size),
            v.etag,
            v.modified
        );
    }
    println!("{} versions of {bucket}/{key}", lines.len());
}

fn print_status(s: &StatusReport) {
    println!(
        "Floe cluster: erasure code {}, write quorum {}",
        s.erasure_code, s.write_quorum
    );
    println!(
        "{:<20} {:<28} {:<9} {:>9} {:>11} {:>11} {:>11}",
        "NODE", "URL", "STATE", "SHARDS", "USED", "FREE", "SIZE"
    );
    for node in &s.nodes {
        let state = match (node.up, node.draining) {
            (true, false) => "up",
            (true, true) => "draining",
            (false, _) => "DOWN",
        };
        let (shards, used, free, size) = match &node.stats {
            Some(st) => (
                st.shards.to_string(),
                human_bytes(st.bytes),
                human_bytes(st.free_bytes),
                human_bytes(st.total_bytes),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<20} {:<28} {:<9} {shards:>9} {used:>11} {free:>11} {size:>11}",
            node.key, node.url, state
        );
        if let Some(error) = &node.error {
            println!("  ! {error}");
        }
    }
    let up = s.nodes.iter().filter(|n| n.up).count();
    let used: u64 = s
        .nodes
        .iter()
        .filter_map(|n| n.stats.as_ref())
        .map(|st| st.bytes)
        .sum();
    let free: u64 = s
        .nodes
        .iter()
        .filter_map(|n| n.stats.as_ref())
        .map(|st| st.free_bytes)
        .sum();
    println!(
        "{up} of {} nodes up; {} stored, {} free",
        s.nodes.len(),
        human_bytes(used),
        human_bytes(free)
    );
    println!(
        "Objects: {} in {} buckets; chunks: {} ({} waiting for GC); {} metadata records to copy",
        s.objects, s.buckets, s.chunks, s.garbage, s.records_pending
    );
    let l = &s.lifecycle;
    println!(
        "Lifecycle: {} buckets with rules; {} keys due now, {} buckets to walk after a rule change",
        l.buckets, l.backlog.due_now, l.backlog.walks
    );
    match l.last_run {
        Some(run) => println!(
            "  last run here {} s ago: {}",
            l.last_run_at
                .map_or(0, |at| (crate::objects::now_millis() - at) / 1000),
            run.summary()
        ),
        None => println!("  no run on this gateway yet"),
    }
    println!(
        "Index: {}; this gateway: {}; gateways alive: {}",
        if s.index.is_empty() { "?" } else { &s.index },
        s.gateway,
        s.gateways.len()
    );
    for g in &s.gateways {
        println!(
            "  gateway {} (S3 {}, admin {}) seen {} ms ago",
            g.id, g.s3, g.admin, g.seen_ms_ago
        );
    }
    for l in &s.leases {
        println!(
            "  lease {} held by {} (expires in {} ms)",
            l.name, l.holder, l.expires_in_ms
        );
    }
    let r = &s.repair;
    println!(
        "Repair backlog: {} (queued faults {}, sweep remaining {}); since start: {} chunks checked, \
         {} shards rebuilt ({}), {} failures",
        r.backlog,
        r.queued,
        r.sweep_remaining,
        r.chunks_checked,
        r.shards_rebuilt,
        human_bytes(r.bytes_rebuilt),
        r.failures
    );
    println!(
        "Cache: {} chunks, {}; {} hits, {} misses",
        s.cache.entries,
        human_bytes(s.cache.bytes),
        s.cache.hits,
        s.cache.misses
    );
    if let Some(running) = &s.running {
        println!("Running: {}", progress_line(running));
    }
}

fn print_repair(r: &RepairReport) {
    println!(
        "Repair: {} chunks checked, {} repaired, {} shards rebuilt ({}) in {:.1} s ({:.1} MiB/s)",
        r.chunks_checked,
        r.chunks_repaired,
        r.shards_rebuilt,
        human_bytes(r.bytes_rebuilt),
        r.elapsed_ms as f64 / 1000.0,
        r.mib_per_sec()
    );
    if r.chunks_failed > 0 || r.shards_unreachable > 0 {
        println!(
            "  incomplete: {} chunks could not be fully repaired, {} shards on unreachable nodes",
            r.chunks_failed, r.shards_unreachable
        );
    }
}

fn print_scrub(r: &ScrubReport) {
    println!(
        "Scrub: {} nodes, {} shards ({}) verified in {:.1} s ({:.1} MiB/s); {} corrupt",
        r.nodes_scrubbed,
        r.shards_checked,
        human_bytes(r.bytes_checked),
        r.elapsed_ms as f64 / 1000.0,
        r.mib_per_sec(),
        r.corrupt_shards
    );
    for failed in &r.nodes_failed {
        println!("  ! not scrubbed: {failed}");
    }
    if r.corrupt_shards > 0 {
        print_repair(&r.repair);
        if r.corrupt_unknown > 0 {
            println!(
                "  {} corrupt shards belong to no stored chunk (left for gc)",
                r.corrupt_unknown
            );
        }
    }
}

fn print_gc(r: &GcReport) {
    let c = &r.collected;
    println!(
        "GC (grace {} s): {} garbage chunks deleted, {} revived, {} deferred; {} multipart \
         uploads expired",
        r.grace_secs, c.deleted, c.revived, c.deferred, c.uploads_expired
    );
    let o = &r.orphans;
    println!(
        "Orphans: {} shards listed, {} orphaned shards of {} chunks deleted; kept {} young, \
         {} in use",
        o.shards_listed, o.shards_deleted, o.chunks_deleted, o.young_skipped, o.pinned_skipped
    );
    if o.misplaced_deleted + o.misplaced_kept > 0 {
        println!(
            "Rebalance: {} copies no longer at their placement deleted, {} kept (new copy not \
             confirmed)",
            o.misplaced_deleted, o.misplaced_kept
        );
    }
    for failed in &o.nodes_failed {
        println!("  ! not swept: {failed}");
    }
}

fn print_drain(r: &DrainReport) {
    println!(
        "Drain of {} ({}): {} shards copied or rebuilt elsewhere, {} removed from it, {} kept; \
         {} records moved ({} failed); {} orphaned shards left for gc; {:.1} s",
        r.node,
        r.url,
        r.repair.shards_rebuilt,
        r.shards_removed,
        r.shards_kept,
        r.records_moved,
        r.records_failed,
        r.orphans_left,
        r.elapsed_ms as f64 / 1000.0
    );
    if let Some(error) = &r.node_error {
        println!("  the node itself did not answer ({error}): its data was rebuilt elsewhere");
    }
    if r.shards_kept > 0 || r.repair.chunks_failed > 0 || r.records_failed > 0 {
        println!("  incomplete: run the drain again once every other node is up");
    } else {
        println!("  it holds nothing the cluster needs: remove it from `nodes`");
    }
}

fn print_rebuild(r: &RebuildReport) {
    println!(
        "Index rebuilt from {} nodes ({} failed): {} records found, {} buckets and {} objects \
         restored, {} deleted, {} already current, {} unreadable; {:.1} s",
        r.nodes_listed,
        r.nodes_failed.len(),
        r.records_found,
        r.restored.buckets,
        r.restored.objects,
        r.restored.deleted,
        r.restored.skipped,
        r.records_unreadable,
        r.elapsed_ms as f64 / 1000.0
    );
    for failed in &r.nodes_failed {
        println!("  ! not listed: {failed}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }

    #[test]
    fn progress_lines() {
        let p = ProgressSnapshot {
            operation: "repair".into(),
            phase: "checking chunks".into(),
            done: 5,
            total: Some(10),
            elapsed_ms: 1500,
        };
        assert_eq!(progress_line(&p), "repair: checking chunks 5/10 (1.5 s)");
    }
}
