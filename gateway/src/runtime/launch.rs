//! Starting a gateway: metadata index, storage nodes (remote, or an embedded local cluster),
//! blob store, cache, object service, repairer, the S3 server and the admin API, wired together
//! and stopped together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use floe_node::{ClientOptions, ClusterSecret, NodeClient, NodeConfig, NodeState};
use futures::future::join_all;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::AdminState;
use crate::blobs::{BlobStore, ClusterConfig};
use crate::cache::CachedBlobs;
use crate::index::Index;
use crate::maintenance::collector::Collector;
use crate::maintenance::lease::MaintenanceLease;
use crate::maintenance::recovery::Publisher;
use crate::maintenance::repair::{RepairSchedule, Repairer};
use crate::objects::{ObjectService, ServiceConfig};
use crate::runtime::config::GatewayConfig;
use crate::runtime::config::IndexLocation;
use crate::runtime::http_server::Listener;

/// How often committed changes are copied to the nodes' metadata records.
const RECORD_PUBLISH_INTERVAL: Duration = Duration::from_millis(500);
/// How often a running gateway raises the clock watermark (see `index/clock.rs`).
const CLOCK_WATERMARK_INTERVAL: Duration = Duration::from_secs(60);
use crate::front::MemoryModel;
use crate::identity::Directory;
use crate::maintenance::lifecycle::Lifecycle;
use crate::s3::server::{S3Settings, build_service, run};

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cluster secret: {0}")]
    Secret(#[source] floe_node::AuthError),
    #[error(transparent)]
    Tls(#[from] floe_node::TlsError),
    #[error("embedded storage node: {0}")]
    Node(#[source] floe_node::NodeError),
    #[error("node client for {url}: {message}")]
    Client { url: String, message: String },
    #[error("blob store: {0}")]
    Blobs(#[from] crate::blobs::BlobError),
    #[error("metadata index: {0}")]
    Index(#[from] crate::index::IndexError),
    #[error(transparent)]
    Identity(#[from] crate::maintenance::recovery::IdentityError),
    #[error(transparent)]
    Clock(#[from] crate::index::ClockBehind),
    #[error(transparent)]
    ClockAhead(#[from] crate::index::ClockAhead),
    #[error("[[users]]: {0}")]
    Users(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running gateway (and its embedded nodes, if any).
pub struct Gateway {
    /// Where the S3 endpoint listens.
    pub addr: SocketAddr,
    pub service: ObjectService,
    /// URLs of the embedded nodes (empty with remote nodes).
    pub embedded_nodes: Vec<String>,
    /// The garbage collector (also running in the background every `gc_interval`).
    pub collector: Collector,
    /// Repair, scrub and the other maintenance passes (their loop runs in the background).
    pub repairer: Arc<Repairer>,
    /// Where the admin API listens.
    pub admin_addr: SocketAddr,
    /// Stops the S3 and admin listeners, which then drain their in-flight requests.
    stop_front: watch::Sender<bool>,
    front_tasks: Vec<JoinHandle<()>>,
    /// Stops what those requests depend on: background loops and the embedded nodes.
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// A remote node's name for placement: its address, written as the `http://` url it had before
/// TLS existed. Moving a node from http:// to https:// changes how it is reached, not what it
/// stores, so it must not move every chunk to a new placement.
fn placement_key(url: &str) -> String {
    match url.strip_prefix("https://") {
        Some(authority) => format!("http://{authority}"),
        None => url.to_string(),
    }
}

/// What one request can make this gateway hold (see `s3::admission`). An upload holds the
/// chunk being filled plus `write_ahead` chunks being encoded and sent, each with its parity,
/// and the hashing queue; a read holds `read_ahead` chunks plus the one being sent.
fn memory_model(config: &GatewayConfig) -> MemoryModel {
    let defaults = ClusterConfig::new(config.params);
    let chunk = config.chunk_size as u64;
    let coded = chunk * config.params.total() as u64 / config.params.k() as u64;
    MemoryModel {
        upload_window: chunk + defaults.write_ahead as u64 * coded + 16 * 512 * 1024,
        read_window: (defaults.read_ahead as u64 + 1) * chunk,
        max_xml_body: config.limits.max_xml_body_bytes as u64,
    }
}

/// Resolves once the gateway is told to stop.
async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

impl Gateway {
    pub async fn start(config: &GatewayConfig) -> Result<Gateway, LaunchError> {
        let mut tasks = Vec::new();
        match Self::launch(config, &mut tasks).await {
            Ok(mut gateway) => {
                gateway.tasks = tasks;
                Ok(gateway)
            }
            Err(e) => {
                // The failed launch dropped its stop signal, so what it started is ending. An
                // embedded node holds its data directory's lock until its task ends: wait, so
                // that a retry in this process (after the operator fixed what was refused)
                // finds the directories free.
                for task in tasks {
                    if tokio::time::timeout(Duration::from_secs(10), task)
                        .await
                        .is_err()
                    {
                        tracing::warn!("a task of the failed launch did not stop within 10 s");
                    }
                }
                Err(e)
            }
        }
    }

    /// Starts everything; the tasks that `stop` ends go into `tasks`, for the caller to wait
    /// for if the launch fails.
    async fn launch(
        config: &GatewayConfig,
        tasks: &mut Vec<JoinHandle<()>>,
    ) -> Result<Gateway, LaunchError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| LaunchError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let secret = ClusterSecret::from_bytes(config.cluster_secret.as_bytes())
            .map_err(LaunchError::Secret)?;
        // Before anything is started: a bad certificate or CA file stops the launch here.
        let tls = config.tls.load()?;
        let (stop, stop_rx) = watch::channel(false);
        let (stop_front, front_rx) = watch::channel(false);
        let mut front_tasks = Vec::new();

        let (urls, keys) = if config.embedded() {
            let mut urls = Vec::new();
            for i in 0..config.embedded_nodes {
                let dir = config.data_dir.join("nodes").join(format!("node-{i}"));
                let node_config = NodeConfig::new(dir, secret.clone());
                let state = Arc::new(NodeState::open(&node_config).map_err(LaunchError::Node)?);
                let addr = SocketAddr::from(([127, 0, 0, 1], 0));
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| LaunchError::Bind { addr, source })?;
                let local = listener
                    .local_addr()
                    .map_err(|source| LaunchError::Bind { addr, source })?;
                urls.push(format!("http://{local}"));
                let shutdown = stopped(stop_rx.clone());
                tasks.push(tokio::spawn(async move {
                    if let Err(e) = floe_node::run(listener, state, shutdown).await {
                        tracing::error!(error = %e, "embedded node stopped");
                    }
                }));
            }
            // Embedded nodes get new ports every run: place by stable names instead of URLs.
            let keys = (0..urls.len())
                .map(|i| format!("embedded-node-{i}"))
                .collect();
            (urls, keys)
        } else {
            (config.nodes.clone(), config.nodes.clone())
        };

        let options = ClientOptions {
            timeout: Duration::from_secs(10),
            ..ClientOptions::default()
        };
        let clients = urls
            .iter()
            .map(|url| {
                NodeClient::with_trust(url, secret.clone(), options.clone(), tls.nodes.as_ref())
                    .map_err(|e| LaunchError::Client {
                        url: url.clone(),
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let keys = if config.embedded() {
            keys
        } else {
            clients.iter().map(|c| placement_key(c.url())).collect()
        };
        let mut cluster = ClusterConfig::new(config.params);
        cluster.write_quorum = config.write_quorum;
        cluster.chunk_size = config.chunk_size;
        let blobs = Arc::new(BlobStore::with_keys(clients, keys, cluster)?);

        let index = Arc::new(match &config.index {
            IndexLocation::Embedded => Index::open(&config.data_dir.join("index.redb"))?,
            IndexLocation::Postgres(url) => {
                let kv = crate::index::kv::PostgresKv::connect(url)?;
                Index::on(Arc::new(kv))?
            }
        });
        // Checked before anything starts, and again after a rebuild below.
        if config.reset_clock_watermark {
            let (was, now) = (index.clock_watermark()?, crate::objects::now_millis());
            tracing::warn!(
                watermark = was,
                now,
                "clock watermark reset to this machine's time by --reset-clock-watermark"
            );
            index.reset_clock_watermark(now)?;
        }
        crate::index::check_clock(crate::objects::now_millis(), index.clock_watermark()?)?;
        let node_clocks = join_all(blobs.nodes().iter().map(|node| async move {
            match tokio::time::timeout(Duration::from_secs(3), node.clock()).await {
                Ok(Ok(Some(secs))) => Some(secs.saturating_mul(1000)),
                _ => None,
            }
        }))
        .await;
        let node_clocks: Vec<i64> = node_clocks.into_iter().flatten().collect();
        crate::index::check_against_nodes(crate::objects::now_millis(), &node_clocks)?;
        let lease = MaintenanceLease::new();
        let mut collector = Collector::new(index.clone(), blobs.clone(), config.gc_grace);
        collector.upload_expiry = config.upload_expiry;
        tasks.push(collector.clone().spawn(
            config.gc_interval,
            lease.clone(),
            stopped(stop_rx.clone()),
        ));
        // One lifecycle clock for every gateway of the index: due times are stored with it.
        index.set_lifecycle_day(config.lifecycle_day)?;
        let lifecycle = Lifecycle::new(index.clone(), config.lifecycle_day);
        tasks.push(lifecycle.clone().spawn(
            config.lifecycle_interval,
            lease.clone(),
            stopped(stop_rx.clone()),
        ));
        for key in index.draining_nodes()? {
            match blobs
                .node_by_name(&key)
                .map(|n| blobs.set_draining(n, true))
            {
                Some(Ok(())) => tracing::info!(node = key, "node is draining"),
                Some(Err(e)) => tracing::warn!(node = key, error = %e, "drain mark not applied"),
                None => tracing::info!(node = key, "drained node is no longer configured"),
            }
        }
        let repairer = Arc::new(Repairer::new(index.clone(), blobs.clone()));
        // Before anything writes to a node: which cluster this is, and an index that has seen
        // all of it (see `recovery::identity`).
        let settled = crate::maintenance::recovery::settle(&repairer, config.rebuild_index).await?;
        if let Some(report) = &settled.rebuilt {
            tracing::info!(?report, "index rebuilt from the nodes' records");
        }
        tracing::info!(
            cluster = %settled.cluster,
            created = settled.created,
            complete_view = settled.complete,
            "cluster identity settled"
        );
        // Retention is judged by this clock: never start on one that went back, even behind
        // the newest record a rebuild just read (see `index/clock.rs`); then keep the
        // watermark moving while this gateway runs.
        let now = crate::objects::now_millis();
        crate::index::check_clock(now, index.clock_watermark()?)?;
        index.raise_clock_watermark(now)?;
        tasks.push(crate::runtime::periodic::every(
            "clock watermark",
            CLOCK_WATERMARK_INTERVAL,
            stopped(stop_rx.clone()),
            {
                let index = index.clone();
                move || {
                    let index = index.clone();
                    async move {
                        tokio::task::spawn_blocking(move || {
                            index.raise_clock_watermark(crate::objects::now_millis())
                        })
                        .await
                        .map_err(crate::index::IndexError::from)?
                    }
                }
            },
        ));
        let publisher = Publisher::new(index.clone(), blobs.clone());
        tasks.push(
            publisher
                .clone()
                .spawn(RECORD_PUBLISH_INTERVAL, stopped(stop_rx.clone())),
        );
        tasks.push(repairer.clone().spawn(
            RepairSchedule {
                queue_interval: config.repair_interval,
                sweep_interval: config.repair_sweep_interval,
                scrub_interval: config.scrub_interval,
                scrub_bytes_per_sec: config.scrub_bytes_per_sec,
                orphan_grace: config.orphan_grace,
            },
            lease.clone(),
            stopped(stop_rx.clone()),
        ));
        let reader = Arc::new(CachedBlobs::new(
            blobs,
            config.cache_bytes,
            config.cache_max_object_bytes,
        ));
        let service = ObjectService::new(
            index,
            reader,
            ServiceConfig {
                inline_threshold: config.inline_threshold,
                min_part_size: config.limits.min_part_bytes,
                max_put_size: config.limits.max_part_bytes,
                max_object_size: config.limits.max_object_bytes,
                max_key_len: config.limits.max_key_bytes,
                max_metadata_size: config.limits.max_metadata_bytes,
                max_part_number: config.limits.max_part_count,
            },
        )
        .with_replication(Arc::new(publisher.clone()));
        let directory = Arc::new(Directory::new(
            service.index().clone(),
            Arc::new(publisher),
            &config.access_key,
            &config.secret_key,
            &config.seal_secret,
        ));
        directory
            .apply_declared(&config.users, crate::objects::now_millis())
            .await
            .map_err(|e| LaunchError::Users(e.to_string()))?;
        let s3 = build_service(
            service.clone(),
            &S3Settings {
                directory: directory.clone(),
                domains: config.domains.clone(),
                max_xml_body_bytes: config.limits.max_xml_body_bytes,
                max_concurrent_requests: config.limits.max_concurrent_requests,
                max_inflight_bytes: config
                    .limits
                    .max_inflight_bytes
                    .unwrap_or_else(crate::runtime::limits::machine_inflight_budget),
                memory: memory_model(config),
                body_idle_timeout: config.limits.body_idle_timeout,
                allow_sigv2: config.allow_sigv2,
            },
        );
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| LaunchError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| LaunchError::Bind {
            addr: config.listen,
            source,
        })?;
        let admin_listener = tokio::net::TcpListener::bind(config.admin_listen)
            .await
            .map_err(|source| LaunchError::Bind {
                addr: config.admin_listen,
                source,
            })?;
        let admin_addr = admin_listener
            .local_addr()
            .map_err(|source| LaunchError::Bind {
                addr: config.admin_listen,
                source,
            })?;
        let admin = AdminState {
            token: config.admin_token.clone(),
            directory,
            lifecycle,
            repairer: repairer.clone(),
            collector: collector.clone(),
            cache: service.cache().clone(),
            scrub_bytes_per_sec: config.scrub_bytes_per_sec,
            lease: lease.clone(),
            index_location: config.index.to_string(),
        };
        lease.set_addresses(addr.to_string(), admin_addr.to_string());
        tasks.push(
            lease
                .clone()
                .spawn(service.index().clone(), stopped(stop_rx.clone())),
        );
        let shutdown = stopped(front_rx.clone());
        front_tasks.push(tokio::spawn(async move {
            if let Err(e) = crate::admin::run(admin_listener, admin, shutdown).await {
                tracing::error!(error = %e, "admin API stopped");
            }
        }));
        let shutdown = stopped(front_rx);
        let listener = Listener::new(listener, tls.s3)
            .with_max_header_bytes(config.limits.max_header_bytes)
            .with_max_connections(config.limits.max_connections)
            .with_header_read_timeout(config.limits.header_read_timeout);
        front_tasks.push(tokio::spawn(async move {
            if let Err(e) = run(listener, s3, shutdown).await {
                tracing::error!(error = %e, "S3 server stopped");
            }
        }));
        Ok(Gateway {
            addr,
            service,
            embedded_nodes: if config.embedded() { urls } else { Vec::new() },
            collector,
            repairer,
            admin_addr,
            stop_front,
            front_tasks,
            stop,
            // Handed over by `start`.
            tasks: Vec::new(),
        })
    }

    /// Stops accepting, lets in-flight requests finish, then stops the background loops and
    /// the embedded nodes (which those requests may still be writing to) and waits for them.
    pub async fn stop(self) {
        let _ = self.stop_front.send(true);
        for task in self.front_tasks {
            let _ = task.await;
        }
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
