//! An in-process gateway over a [`LocalCluster`] of real node processes (`nodes = [...]`), with an
//! S3 client, an admin API client, and checks of what the nodes hold.

#![allow(dead_code)] // each test binary uses a different part of this file

use std::path::{Path, PathBuf};
use std::sync::Arc;

use floe_codec::{ChunkRef, place};
use floe_gateway::admin::AdminClient;
use floe_gateway::index::Index;
use floe_gateway::runtime::config::{GatewayConfig, GatewayOverrides};
use floe_gateway::runtime::launch::Gateway;
use floe_node::{ClientOptions, NodeClient};

use super::cluster::{LocalCluster, SECRET};

pub const ACCESS_KEY: &str = "cluster-test-access";
pub const SECRET_KEY: &str = "cluster-test-secret";
pub const ADMIN_TOKEN: &str = "cluster-test-admin-token";

/// A gateway started in this process. Its data directory (the index) is `data`.
pub struct ClusterGateway {
    gateway: Option<Gateway>,
    pub config: GatewayConfig,
    pub s3: aws_sdk_s3::Client,
    pub admin: AdminClient,
}

/// The TOML of a gateway over `urls`: erasure code 4+2, no cache (reads really hit the nodes),
/// and whatever `extra` adds (one setting per line).
pub fn config_text(urls: &[String], data: &Path, extra: &str) -> String {
    let nodes: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
    format!(
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n\
         nodes = [{}]\nec = \"4+2\"\ncache_bytes = 0\naccess_key = {ACCESS_KEY:?}\n\
         secret_key = {SECRET_KEY:?}\nadmin_token = {ADMIN_TOKEN:?}\ncluster_secret = {SECRET:?}\n\
         {extra}\n",
        data.display().to_string(),
        nodes.join(", "),
    )
}

impl ClusterGateway {
    /// Starts a gateway over `cluster`'s nodes with its index under `data`.
    pub async fn start(cluster: &LocalCluster, data: &Path, extra: &str) -> Self {
        Self::start_with(cluster, data, extra, GatewayOverrides::default()).await
    }

    /// [`start`](Self::start) with command-line overrides (e.g. `rebuild_index`).
    pub async fn start_with(
        cluster: &LocalCluster,
        data: &Path,
        extra: &str,
        overrides: GatewayOverrides,
    ) -> Self {
        std::fs::create_dir_all(data).expect("gateway data dir");
        let file = data.join("gateway.toml");
        std::fs::write(&file, config_text(&cluster.urls(), data, extra)).expect("config");
        let config = GatewayConfig::resolve(Some(&file), overrides).expect("gateway configuration");
        let gateway = Gateway::start(&config).await.expect("gateway starts");
        let s3 =
            super::serve::client_with(&format!("http://{}", gateway.addr), ACCESS_KEY, SECRET_KEY);
        let admin = AdminClient::new(&format!("http://{}", gateway.admin_addr), ADMIN_TOKEN)
            .expect("admin client");
        Self {
            gateway: Some(gateway),
            config,
            s3,
            admin,
        }
    }

    pub fn gateway(&self) -> &Gateway {
        self.gateway.as_ref().expect("gateway running")
    }

    pub fn index(&self) -> &Arc<Index> {
        self.gateway().service.index()
    }

    pub fn index_path(&self) -> PathBuf {
        self.config.data_dir.join("index.redb")
    }

    /// Waits until every committed change is copied to the nodes' metadata records.
    pub async fn wait_for_records(&self) {
        for _ in 0..100 {
            if self.admin.status().await.expect("status").records_pending == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("metadata records were not published");
    }

    pub async fn stop(mut self) {
        if let Some(gateway) = self.gateway.take() {
            gateway.stop().await;
        }
    }
}

/// Every chunk of the catalog, page by page.
pub fn catalog(index: &Index) -> Vec<ChunkRef> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map(|c: &ChunkRef| c.id);
        let page = index.chunks(after.as_ref(), 500).expect("catalog page");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// The node (index into `urls`) of each shard of `chunk`, as a gateway keyed by URL places it.
pub fn placement(chunk: &ChunkRef, urls: &[String]) -> Vec<usize> {
    placement_among(chunk, urls, &(0..urls.len()).collect::<Vec<_>>())
}

/// Like [`placement`], over the nodes `active` only (as while others drain).
pub fn placement_among(chunk: &ChunkRef, urls: &[String], active: &[usize]) -> Vec<usize> {
    let keys: Vec<&str> = active.iter().map(|&i| urls[i].as_str()).collect();
    let chosen = place(&chunk.id, &keys, chunk.params.total()).expect("placement");
    chosen.into_iter().map(|pos| active[pos]).collect()
}

pub fn clients(cluster: &LocalCluster) -> Vec<NodeClient> {
    cluster.clients(ClientOptions::default())
}

/// Fetches every shard of every chunk from its placement node among `active` and checks it
/// against the hash its chunk id commits to. Returns (chunks, shards) checked; panics on the
/// first bad shard.
pub async fn assert_fully_redundant(
    chunks: &[ChunkRef],
    cluster: &LocalCluster,
    active: &[usize],
) -> (usize, usize) {
    let urls = cluster.urls();
    let nodes = clients(cluster);
    let mut shards = 0;
    for chunk in chunks {
        for (index, node) in placement_among(chunk, &urls, active)
            .into_iter()
            .enumerate()
        {
            let info = nodes[node]
                .head_shard(&chunk.id, index as u16)
                .await
                .unwrap_or_else(|e| panic!("HEAD {} shard {index}: {e}", chunk.id));
            let info = info.unwrap_or_else(|| panic!("{} shard {index} missing", chunk.id));
            assert_eq!(
                info.hash, chunk.shard_hashes[index],
                "{} shard {index}",
                chunk.id
            );
            let bytes = nodes[node]
                .get_shard(&chunk.id, index as u16)
                .await
                .unwrap_or_else(|e| panic!("GET {} shard {index}: {e}", chunk.id));
            assert!(
                chunk.verify_shard(index, &bytes),
                "{} shard {index}",
                chunk.id
            );
            shards += 1;
        }
    }
    (chunks.len(), shards)
}

/// Puts `body` at `bucket/key`.
pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {key}: {e:?}"));
}

/// A lock bucket `bucket` holding `bodies` as `obj-0`, `obj-1`, ..., each under COMPLIANCE
/// retention for an hour; returns the retention's end in ms since the epoch (as the nodes'
/// holds give it).
pub async fn retained_objects(s3: &aws_sdk_s3::Client, bucket: &str, bodies: Vec<Vec<u8>>) -> i64 {
    use aws_sdk_s3::primitives::{ByteStream, DateTime};
    use aws_sdk_s3::types::ObjectLockMode;
    s3.create_bucket()
        .bucket(bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("lock bucket");
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
        + 3600;
    for (i, body) in bodies.into_iter().enumerate() {
        s3.put_object()
            .bucket(bucket)
            .key(format!("obj-{i}"))
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(DateTime::from_secs(until))
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT obj-{i}: {e:?}"));
    }
    until * 1000
}

/// The bytes of `bucket/key`.
pub async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {key}: {e:?}"));
    out.body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}
