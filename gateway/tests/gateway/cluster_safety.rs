//! Operator mistakes against a cluster of real `floe node` processes and real `floe serve`
//! gateway processes: a gateway started on an empty data directory, nodes of another cluster in
//! the list, a rebuild with a node down. None of them may delete or lose acknowledged data.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use floe_gateway::admin::AdminClient;
use floe_node::ClientOptions;
use floe_testkit::Rng;
use support::cluster::{LocalCluster, pattern, shards_on_disk};
use support::gateway::{ACCESS_KEY, ADMIN_TOKEN, SECRET_KEY, config_text};
use support::serve::{ServeProcess, client_with};

const MB: usize = 1_000_000;

/// A `floe serve` process over `cluster`'s nodes with its index in `data`.
fn gateway(cluster: &LocalCluster, data: &Path, extra: &str) -> ServeProcess {
    std::fs::create_dir_all(data).expect("data dir");
    let file = data.join("gateway.toml");
    std::fs::write(&file, config_text(&cluster.urls(), data, extra)).expect("config");
    ServeProcess::start(data, &["--config", file.to_str().expect("utf-8")])
}

fn s3(gw: &ServeProcess) -> aws_sdk_s3::Client {
    client_with(&gw.endpoint, ACCESS_KEY, SECRET_KEY)
}

fn admin(gw: &ServeProcess) -> AdminClient {
    AdminClient::new(&gw.admin_url, ADMIN_TOKEN).expect("admin client")
}

fn log(data: &Path) -> String {
    std::fs::read_to_string(data.join("serve.log")).unwrap_or_default()
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {key}: {e:?}"));
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {key}: {e:?}"))
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

/// Waits until the nodes hold at least `copies` metadata records in all.
async fn wait_for_records(cluster: &LocalCluster, copies: u64) {
    let clients = cluster.clients(ClientOptions::default());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut held = 0;
        for c in &clients {
            held += c.cluster_info().await.map_or(0, |i| i.records);
        }
        if held >= copies {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {held} record copies on the nodes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Five 3 MB objects and one inline object, as the objects of the drill.
fn drill_objects() -> Vec<(String, Vec<u8>)> {
    let mut objects: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("big-{i}"), pattern(3 * MB, 100 + i)))
        .collect();
    objects.push(("small".into(), b"an inline object".to_vec()));
    objects
}

/// Writes the drill objects through a first gateway, then kills it (-9) once their records
/// are on the nodes.
async fn first_gateway_writes(cluster: &LocalCluster, data: &Path) -> Vec<(String, Vec<u8>)> {
    let mut first = gateway(cluster, data, "");
    let client = s3(&first);
    client
        .create_bucket()
        .bucket("drill")
        .send()
        .await
        .expect("create bucket");
    let objects = drill_objects();
    for (key, body) in &objects {
        put(&client, "drill", key, body).await;
    }
    // The bucket and every object, three copies each.
    wait_for_records(cluster, 3 * (objects.len() as u64 + 1)).await;
    first.kill();
    objects
}

/// The drill of the issue: a new gateway on an empty data directory, against nodes holding a
/// cluster's data, must not serve it as empty. It rebuilds first; then `gc` and the orphan
/// sweep delete nothing, and every object reads back byte-identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_on_an_empty_data_directory_rebuilds_before_serving() {
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().expect("tempdir");
    let objects = first_gateway_writes(&cluster, &tmp.path().join("first")).await;

    let empty = tmp.path().join("empty");
    let second = gateway(
        &cluster,
        &empty,
        "gc_grace_secs = 0\norphan_grace_secs = 0\ngc_interval_secs = 1",
    );
    let startup = log(&empty);
    assert!(
        startup.contains("rebuilding it from the nodes before serving"),
        "no rebuild announced:\n{startup}"
    );
    let client = s3(&second);
    let listed = client
        .list_objects_v2()
        .bucket("drill")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.key_count(), Some(objects.len() as i32), "{listed:?}");
    let report = admin(&second).gc(Some(0)).await.expect("gc");
    println!("gc after the rebuild: {report:?}");
    assert_eq!(report.collected.deleted, 0, "{report:?}");
    assert_eq!(report.orphans.shards_deleted, 0, "{report:?}");
    assert_eq!(
        report.orphans.paused, None,
        "the rebuilt view is complete: {report:?}"
    );
    // The background collector has had its chances too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (key, body) in &objects {
        assert!(get(&client, "drill", key).await == *body, "{key} changed");
    }
}

/// A gateway never writes to a node of another cluster: one whose index belongs to cluster X
/// refuses to start with a node of cluster Y in its list, naming it; a new gateway refuses a
/// list that mixes clusters; and a node refuses requests signed for another cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_of_another_cluster_are_refused() {
    let x = LocalCluster::start(6);
    let y = LocalCluster::start(6);
    let tmp = tempfile::tempdir().expect("tempdir");
    let x_data = tmp.path().join("x");
    first_gateway_writes(&x, &x_data).await;
    let y_data = tmp.path().join("y");
    let mut y_gateway = gateway(&y, &y_data, "");
    s3(&y_gateway)
        .create_bucket()
        .bucket("other")
        .send()
        .await
        .expect("bucket on y");
    y_gateway.kill();
    let (x_id, y_id) = (x.nodes[0].cluster_id(), y.nodes[0].cluster_id());
    assert!(x_id.is_some() && y_id.is_some() && x_id != y_id);
    let y_files_before = shards_on_disk(&y.nodes[0]).len();

    let mut mixed = x.urls();
    mixed[5] = y.urls()[0].clone();
    let start = |data: &Path, urls: &[String]| {
        std::fs::create_dir_all(data).expect("dir");
        let file = data.join("mixed.toml");
        std::fs::write(&file, config_text(urls, data, "")).expect("config");
        Command::new(floe_testkit::floe_binary())
            .args(["serve", "--config"])
            .arg(&file)
            .env_remove("FLOE_ROOT_ACCESS_KEY")
            .env_remove("FLOE_ROOT_SECRET_KEY")
            .env_remove("FLOE_CLUSTER_SECRET")
            .output()
            .expect("floe serve")
    };
    let refused = start(&x_data, &mixed);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "started with a foreign node");
    assert!(stderr.contains("belong to another"), "{stderr}");
    assert!(stderr.contains(&y.urls()[0]), "{stderr}");

    let fresh = start(&tmp.path().join("fresh"), &mixed);
    let stderr = String::from_utf8_lossy(&fresh.stderr);
    assert!(!fresh.status.success(), "started on a mixed node list");
    assert!(stderr.contains("different clusters"), "{stderr}");

    // At the node itself: a request for cluster X is refused by a node of cluster Y.
    let secret = floe_node::ClusterSecret::from_bytes(support::cluster::SECRET).expect("secret");
    let intruder =
        floe_node::NodeClient::new(&y.urls()[0], secret, ClientOptions::default()).expect("client");
    intruder.bind_cluster(x_id.as_deref().expect("x id"));
    let err = intruder.list_shards(None, 10).await.expect_err("refused");
    assert!(err.to_string().contains("belongs to cluster"), "{err}");
    assert_eq!(
        shards_on_disk(&y.nodes[0]).len(),
        y_files_before,
        "y's node was written to"
    );
}

/// A rebuild that cannot read every node leaves the view incomplete: garbage collection and the
/// orphan sweep delete nothing. A complete rebuild, with the node back, turns deletion on again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_rebuild_keeps_deletion_off() {
    let mut cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().expect("tempdir");
    let first_data = tmp.path().join("first");
    let mut first = gateway(&cluster, &first_data, "");
    let client = s3(&first);
    client
        .create_bucket()
        .bucket("partial")
        .send()
        .await
        .expect("bucket");
    let kept = pattern(3 * MB, 7);
    let dropped = pattern(3 * MB, 8);
    put(&client, "partial", "kept", &kept).await;
    put(&client, "partial", "dropped", &dropped).await;
    put(&client, "partial", "doomed", &pattern(3 * MB, 12)).await;
    client
        .delete_object()
        .bucket("partial")
        .key("dropped")
        .send()
        .await
        .expect("delete");
    wait_for_records(&cluster, 12).await;
    first.kill();
    let shards_before: usize = cluster.nodes.iter().map(|n| shards_on_disk(n).len()).sum();
    println!("shards before: {shards_before}");

    cluster.nodes[0].kill();
    let second_data = tmp.path().join("second");
    let second = gateway(
        &cluster,
        &second_data,
        "gc_grace_secs = 0\norphan_grace_secs = 0",
    );
    // A delete on the partial view queues the object's chunks as garbage; the collector must
    // not act on it (a record on the missing node could still reference them).
    s3(&second)
        .delete_object()
        .bucket("partial")
        .key("doomed")
        .send()
        .await
        .expect("delete on a partial view");
    let report = admin(&second).gc(Some(0)).await.expect("gc");
    println!("gc on a partial view: {report:?}");
    assert!(report.collected.paused, "{report:?}");
    assert_eq!(report.collected.deleted, 0, "{report:?}");
    assert!(report.orphans.paused.is_some(), "{report:?}");
    assert_eq!(report.orphans.shards_deleted, 0);
    let shards_after: usize = cluster.nodes[1..]
        .iter()
        .map(|n| shards_on_disk(n).len())
        .sum::<usize>()
        + shards_on_disk(&cluster.nodes[0]).len();
    assert_eq!(
        shards_after, shards_before,
        "shards deleted on a partial view"
    );
    assert!(get(&s3(&second), "partial", "kept").await == kept);

    // With every node back, a complete rebuild makes the view complete: the chunks of the
    // objects deleted are collected or swept; the kept object still reads back.
    cluster.nodes[0].restart().expect("node restarts");
    let rebuilt = admin(&second).rebuild_index().await.expect("rebuild");
    assert!(rebuilt.nodes_failed.is_empty(), "{rebuilt:?}");
    let report = admin(&second).gc(Some(0)).await.expect("gc");
    println!("gc on the complete view: {report:?}");
    assert!(
        !report.collected.paused && report.orphans.paused.is_none(),
        "{report:?}"
    );
    assert!(report.orphans.shards_deleted > 0, "{report:?}");
    assert!(report.collected.deleted > 0, "{report:?}");
    assert!(get(&s3(&second), "partial", "kept").await == kept);
}

/// Body `i` of the disk-loss burst: inline, single-chunk and multi-chunk sizes.
fn burst_body(i: usize) -> Vec<u8> {
    let size = match i % 10 {
        0..=4 => 1_000 + i,
        5..=8 => 150_000 + i,
        _ => 1_500_000 + i,
    };
    pattern(size, 1_000 + i as u64 * 2)
}

/// The gateway's disk is lost right after a burst of 500 concurrent PUTs (inline, sharded and
/// multipart) and 50 DELETEs were acknowledged: a new gateway on the same nodes finds every
/// acknowledged object byte-identical, and no deleted one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_the_loss_of_the_gateway_disk() {
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().expect("tempdir");
    let lost = tmp.path().join("lost");
    let mut first = gateway(&cluster, &lost, "");
    let client = s3(&first);
    client
        .create_bucket()
        .bucket("burst")
        .send()
        .await
        .expect("bucket");
    let mut tasks = Vec::new();
    for i in 0..500 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("obj-{i:03}");
            put(&client, "burst", &key, &burst_body(i)).await;
        }));
    }
    // Multipart objects: two parts of 5 MiB and a short last one.
    for m in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("multi-{m}");
            let upload = client
                .create_multipart_upload()
                .bucket("burst")
                .key(&key)
                .send()
                .await
                .expect("create upload");
            let id = upload.upload_id().expect("upload id").to_owned();
            let mut parts = Vec::new();
            for n in 1..=3 {
                let data = multipart_part(m, n);
                let part = client
                    .upload_part()
                    .bucket("burst")
                    .key(&key)
                    .upload_id(&id)
                    .part_number(n)
                    .body(ByteStream::from(data))
                    .send()
                    .await
                    .expect("upload part");
                parts.push(
                    aws_sdk_s3::types::CompletedPart::builder()
                        .part_number(n)
                        .e_tag(part.e_tag().unwrap_or_default())
                        .build(),
                );
            }
            client
                .complete_multipart_upload()
                .bucket("burst")
                .key(&key)
                .upload_id(&id)
                .multipart_upload(
                    aws_sdk_s3::types::CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .expect("complete");
        }));
    }
    for task in tasks {
        task.await.expect("upload task");
    }
    let mut deletes = Vec::new();
    for i in (0..500).step_by(10) {
        let client = client.clone();
        deletes.push(tokio::spawn(async move {
            client
                .delete_object()
                .bucket("burst")
                .key(format!("obj-{i:03}"))
                .send()
                .await
                .expect("delete");
        }));
    }
    for task in deletes {
        task.await.expect("delete task");
    }
    // Right after the last acknowledgement: kill -9, and the data directory is gone.
    first.kill();
    std::fs::remove_dir_all(&lost).expect("lose the disk");

    let second = gateway(&cluster, &tmp.path().join("new"), "");
    let client = s3(&second);
    let mut checked = 0;
    for i in 0..500 {
        let key = format!("obj-{i:03}");
        let found = client.get_object().bucket("burst").key(&key).send().await;
        if i % 10 == 0 {
            assert!(found.is_err(), "deleted {key} came back");
            continue;
        }
        let body = found
            .unwrap_or_else(|e| panic!("acknowledged {key} lost: {e:?}"))
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes();
        assert!(body.as_ref() == burst_body(i).as_slice(), "{key} changed");
        checked += 1;
    }
    for m in 0..4 {
        let expected: Vec<u8> = (1..=3).flat_map(|n| multipart_part(m, n)).collect();
        assert!(get(&client, "burst", &format!("multi-{m}")).await == expected);
        checked += 1;
    }
    println!("after the disk loss: {checked} acknowledged objects intact, 50 deletes held");
}

fn multipart_part(m: usize, n: i32) -> Vec<u8> {
    let len = if n == 3 { 100_000 } else { 5 * 1024 * 1024 };
    pattern(len, 50_000 + m as u64 * 10 + n as u64 * 2)
}

/// An inline object's bytes carry their blake3 hash: a bit flipped in the index file on disk is
/// caught on read, the object is served from a node's copy of its record, and the entry is
/// repaired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotten_inline_object_is_served_from_a_node_copy_and_repaired() {
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("gw");
    let mut first = gateway(&cluster, &data, "");
    let client = s3(&first);
    client
        .create_bucket()
        .bucket("rot")
        .send()
        .await
        .expect("bucket");
    let body: Vec<u8> = pattern(4000, 4242);
    put(&client, "rot", "small", &body).await;
    first.kill();

    // One bit of the body flips on its way to disk (the file's own page checks pass: the bad
    // bytes were written as they are).
    {
        let index = floe_gateway::index::Index::open(&data.join("index.redb")).expect("index");
        let stamp = index
            .object_version("rot", "small", None, false)
            .expect("read")
            .expect("object")
            .version
            .stamp();
        let (record, manifest) = index
            .object_with_manifest("rot", "small")
            .expect("read")
            .expect("object");
        let floe_codec::Body::VerifiedInline { mut data, hash } = manifest.body else {
            panic!("a new inline object carries its hash");
        };
        data[1000] ^= 0x04;
        let rotten = floe_codec::Manifest {
            body: floe_codec::Body::VerifiedInline { data, hash },
            ..manifest
        };
        index
            .repair_inline_object("rot", "small", stamp, &record, rotten)
            .expect("write the rotten entry");
    }
    let second = gateway(&cluster, &data, "");
    let client = s3(&second);
    assert!(
        get(&client, "rot", "small").await == body,
        "rotten bytes served"
    );
    assert!(
        log(&data).contains("repaired from a node copy"),
        "{}",
        log(&data)
    );
    assert!(get(&client, "rot", "small").await == body);
}

/// What a key should hold: the seed of its body, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Body(u64),
    Deleted,
}

/// One key's history as the client saw it: the last acknowledged state, and the states tried
/// since without an answer (any of them may have been committed).
#[derive(Debug, Clone)]
struct KeyModel {
    acked: Held,
    maybe: Vec<Held>,
}

fn chaos_body(seed: u64) -> Vec<u8> {
    let size = match seed % 3 {
        0 => 1_000,
        1 => 120_000,
        _ => 1_300_000,
    } + (seed % 97) as usize;
    pattern(size, seed)
}

/// A mixed workload while nodes and the gateway are killed with -9 and restarted at random
/// moments (`FLOE_CHAOS_SECS` long, 40 s by default). At the end every acknowledged write reads
/// back with its bytes, no acknowledged delete comes back, and every listed object is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_loses_no_acknowledged_change() {
    use std::sync::{Arc, Mutex, RwLock};
    let secs: u64 = std::env::var("FLOE_CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let (_, seed) = Rng::from_clock();
    println!("chaos: {secs} s, seed {seed}");
    let cluster = Arc::new(Mutex::new(LocalCluster::start(6)));
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("gw");
    let serve = gateway(&cluster.lock().expect("cluster"), &data, "");
    let client = Arc::new(RwLock::new(s3(&serve)));
    let serve = Arc::new(Mutex::new(serve));
    let first_client = client.read().expect("client").clone();
    first_client
        .create_bucket()
        .bucket("chaos")
        .send()
        .await
        .expect("bucket");

    const WORKERS: usize = 4;
    const KEYS_PER_WORKER: usize = 12;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let client = client.clone();
        workers.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ ((w as u64 + 1) * 0x9E37_79B9));
            let mut keys = vec![
                KeyModel {
                    acked: Held::Deleted,
                    maybe: Vec::new()
                };
                KEYS_PER_WORKER
            ];
            let (mut ops, mut acks) = (0u64, 0u64);
            while Instant::now() < deadline {
                let k = rng.below(KEYS_PER_WORKER as u64) as usize;
                let key = format!("w{w}-k{k}");
                let next = if rng.below(4) == 0 {
                    Held::Deleted
                } else {
                    Held::Body(rng.below(1 << 40) + 1)
                };
                let c = client.read().expect("client").clone();
                let outcome = match next {
                    Held::Body(seed) => c
                        .put_object()
                        .bucket("chaos")
                        .key(&key)
                        .body(ByteStream::from(chaos_body(seed)))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}")),
                    Held::Deleted => c
                        .delete_object()
                        .bucket("chaos")
                        .key(&key)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}")),
                };
                ops += 1;
                match outcome {
                    Ok(()) => {
                        acks += 1;
                        keys[k] = KeyModel {
                            acked: next,
                            maybe: Vec::new(),
                        };
                    }
                    Err(_) => {
                        keys[k].maybe.push(next);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            (keys, ops, acks)
        }));
    }

    // The chaos: every 1.5-4 s, kill -9 one node (restarted 0.5-2 s later) or the gateway
    // (restarted at once on the same data).
    let mut rng = Rng::new(seed);
    let mut faults = (0u64, 0u64);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1500 + rng.below(2500))).await;
        if Instant::now() >= deadline {
            break;
        }
        if rng.below(3) == 0 {
            let mut gw = serve.lock().expect("serve");
            gw.kill();
            let restarted = gateway(&cluster.lock().expect("cluster"), &data, "");
            *client.write().expect("client") = s3(&restarted);
            *gw = restarted;
            faults.0 += 1;
        } else {
            let n = rng.below(6) as usize;
            let pause = Duration::from_millis(500 + rng.below(1500));
            cluster.lock().expect("cluster").nodes[n].kill();
            tokio::time::sleep(pause).await;
            let cluster = cluster.clone();
            tokio::task::spawn_blocking(move || {
                cluster.lock().expect("cluster").nodes[n].restart()
            })
            .await
            .expect("restart task")
            .expect("node restarts");
            faults.1 += 1;
        }
    }
    let mut models = Vec::new();
    let (mut ops, mut acks) = (0, 0);
    for worker in workers {
        let (keys, o, a) = worker.await.expect("worker");
        ops += o;
        acks += a;
        models.push(keys);
    }

    // Every node is up (the last one killed was restarted); check through the current gateway.
    let c = client.read().expect("client").clone();
    let mut checked = 0;
    for (w, keys) in models.iter().enumerate() {
        for (k, model) in keys.iter().enumerate() {
            let key = format!("w{w}-k{k}");
            let found = c.get_object().bucket("chaos").key(&key).send().await;
            let seen = match found {
                Ok(out) => {
                    let body = out.body.collect().await.expect("body").into_bytes();
                    let allowed: Vec<u64> = std::iter::once(model.acked)
                        .chain(model.maybe.iter().copied())
                        .filter_map(|h| match h {
                            Held::Body(s) => Some(s),
                            Held::Deleted => None,
                        })
                        .collect();
                    let which = allowed.iter().find(|&&s| chaos_body(s) == body.as_ref());
                    assert!(
                        which.is_some(),
                        "{key}: bytes of no write made to it ({model:?}, seed {seed})"
                    );
                    Held::Body(*which.expect("matched"))
                }
                Err(_) => Held::Deleted,
            };
            let possible = seen == model.acked || model.maybe.contains(&seen);
            assert!(
                possible,
                "{key}: holds {seen:?}, but the last acknowledged change was {:?} (unanswered \
                 since: {:?}; seed {seed})",
                model.acked, model.maybe
            );
            checked += 1;
        }
    }
    let listed = c
        .list_objects_v2()
        .bucket("chaos")
        .send()
        .await
        .expect("list");
    for object in listed.contents() {
        let key = object.key().expect("key");
        let body = get(&c, "chaos", key).await;
        assert_eq!(
            Some(body.len() as i64),
            object.size(),
            "{key} is listed but not whole"
        );
    }
    println!(
        "chaos: {ops} operations, {acks} acknowledged, {} gateway kills, {} node kills, {checked} \
         keys checked, {} listed objects whole",
        faults.0,
        faults.1,
        listed.key_count().unwrap_or(0)
    );
    assert!(acks > 0 && faults.0 + faults.1 > 0);
}
