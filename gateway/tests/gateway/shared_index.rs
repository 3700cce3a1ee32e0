//! Several gateway processes over one shared PostgreSQL index and the same 6 `floe node`
//! processes: what one acknowledges, the other serves; conditional writes race across them
//! with one winner; and the cluster's maintenance moves to the survivor when its holder dies.

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use floe_gateway::admin::AdminClient;

use crate::support;
use support::cluster::{LocalCluster, pattern, shards_on_disk};
use support::gateway::{ACCESS_KEY, ADMIN_TOKEN, SECRET_KEY, config_text};
use support::serve::{ServeProcess, client_with};

/// A `floe serve` process over `cluster` on the shared index `url`, with `extra` settings.
fn gateway(cluster: &LocalCluster, dir: &Path, url: &str, extra: &str) -> ServeProcess {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("gateway.toml");
    std::fs::write(&file, config_text(&cluster.urls(), dir, extra)).unwrap();
    let file = file.display().to_string();
    ServeProcess::start(dir, &["--config", &file, "--index", url])
}

fn s3(gw: &ServeProcess) -> aws_sdk_s3::Client {
    client_with(&gw.endpoint, ACCESS_KEY, SECRET_KEY)
}

fn admin(gw: &ServeProcess) -> AdminClient {
    AdminClient::new(&gw.admin_url, ADMIN_TOKEN).unwrap()
}

/// Each gateway's id, and which of them holds the maintenance lease (once one does).
async fn lease_holder(gws: &[ServeProcess]) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    for gw in gws {
        ids.push(admin(gw).status().await.unwrap().gateway);
    }
    loop {
        let status = admin(&gws[0]).status().await.unwrap();
        if let Some(lease) = status.leases.first() {
            let holder = ids.iter().position(|id| *id == lease.holder);
            return (ids, holder.expect("a known holder"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn body(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_serve_one_cluster() {
    let cluster = LocalCluster::start(6);
    let url = floe_testkit::postgres::fresh_database("two_gateways");
    let tmp = tempfile::tempdir().unwrap();
    let a = gateway(&cluster, &tmp.path().join("a"), &url, "");
    let b = gateway(&cluster, &tmp.path().join("b"), &url, "");
    let (sa, sb) = (s3(&a), s3(&b));

    // A bucket and objects (inline and erasure-coded) through A, read and listed through B.
    sa.create_bucket().bucket("shared").send().await.unwrap();
    let big = pattern(5 * 1024 * 1024 + 3, 1);
    for (key, data) in [("small", b"tiny".to_vec()), ("big", big.clone())] {
        sa.put_object()
            .bucket("shared")
            .key(key)
            .body(ByteStream::from(data))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(body(&sb, "shared", "small").await, b"tiny");
    assert!(body(&sb, "shared", "big").await == big);
    let listed = sb.list_objects_v2().bucket("shared").send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["big", "small"]);
    // A delete through B is seen by A.
    sb.delete_object()
        .bucket("shared")
        .key("small")
        .send()
        .await
        .unwrap();
    assert!(
        sa.head_object()
            .bucket("shared")
            .key("small")
            .send()
            .await
            .is_err()
    );

    // 50 racing If-None-Match: * PUTs of one key, split across both: exactly one wins.
    let racers = (0..50).map(|i| {
        let client = if i % 2 == 0 { sa.clone() } else { sb.clone() };
        async move {
            client
                .put_object()
                .bucket("shared")
                .key("once")
                .if_none_match("*")
                .body(ByteStream::from(format!("writer {i}").into_bytes()))
                .send()
                .await
        }
    });
    let outcomes = futures::future::join_all(racers).await;
    let won: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(won.len(), 1, "winners: {won:?}");
    for outcome in &outcomes {
        if let Err(e) = outcome {
            let status = e.raw_response().map(|r| r.status().as_u16());
            assert!(matches!(status, Some(412 | 409)), "{e:?}");
        }
    }
    let stored = body(&sa, "shared", "once").await;
    assert_eq!(stored, format!("writer {}", won[0]).into_bytes());
    assert_eq!(body(&sb, "shared", "once").await, stored);

    // Both gateways are alive and exactly one holds the maintenance lease.
    let status = admin(&a).status().await.unwrap();
    assert_eq!(status.gateways.len(), 2, "{:?}", status.gateways);
    let holders: Vec<&str> = status.leases.iter().map(|l| l.holder.as_str()).collect();
    assert_eq!(holders.len(), 1);
    assert!(
        holders[0] == status.gateway || holders[0] == admin(&b).status().await.unwrap().gateway
    );
}

/// kill -9 of the gateway holding the maintenance lease while garbage waits: the other takes the
/// lease over and collects it, deleting the shards from the nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_moves_to_a_survivor() {
    let cluster = LocalCluster::start(6);
    let url = floe_testkit::postgres::fresh_database("failover");
    let tmp = tempfile::tempdir().unwrap();
    // GC every second, after 3 s of grace.
    let extra = "gc_grace_secs = 3\ngc_interval_secs = 1";
    let mut gws = vec![
        gateway(&cluster, &tmp.path().join("a"), &url, extra),
        gateway(&cluster, &tmp.path().join("b"), &url, extra),
    ];
    let (ids, holder) = lease_holder(&gws).await;
    let survivor = 1 - holder;
    let client = s3(&gws[survivor]);
    client
        .create_bucket()
        .bucket("garbage")
        .send()
        .await
        .unwrap();
    client
        .put_object()
        .bucket("garbage")
        .key("doomed")
        .body(ByteStream::from(pattern(3 * 1024 * 1024, 9)))
        .send()
        .await
        .unwrap();
    let shards_before: usize = cluster.nodes.iter().map(|n| shards_on_disk(n).len()).sum();
    assert!(shards_before >= 6, "{shards_before} shard files");
    client
        .delete_object()
        .bucket("garbage")
        .key("doomed")
        .send()
        .await
        .unwrap();
    // The holder dies before the grace period ends: it collected nothing.
    gws[holder].kill();
    let survivor_admin = admin(&gws[survivor]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let taken_over = loop {
        let status = survivor_admin.status().await.unwrap();
        let holds = status
            .leases
            .iter()
            .any(|l| l.holder == ids[survivor] && l.expires_in_ms > 0);
        if holds && status.garbage == 0 || Instant::now() > deadline {
            break (holds, status.garbage);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        taken_over,
        (true, 0),
        "lease taken over and garbage collected"
    );
    let shards_after: usize = cluster.nodes.iter().map(|n| shards_on_disk(n).len()).sum();
    assert_eq!(shards_after, 0, "the deleted object's shards are gone");
    drop(gws);
}

/// The same content deleted and written again, round after round, through one gateway while
/// the other (the lease holder) collects garbage with no grace period: a chunk deduplicated by a
/// write in flight is either kept or written again, never lost (`index/deletion.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_racing_the_other_gateways_collector_loses_nothing() {
    let cluster = LocalCluster::start(6);
    let url = floe_testkit::postgres::fresh_database("dedup_gc");
    let tmp = tempfile::tempdir().unwrap();
    let extra = "gc_grace_secs = 0\ngc_interval_secs = 1";
    let a = gateway(&cluster, &tmp.path().join("a"), &url, extra);
    let b = gateway(&cluster, &tmp.path().join("b"), &url, extra);
    let gws = [a, b];
    // Writes go through the gateway that does not collect.
    let (_, holder) = lease_holder(&gws).await;
    let writer = &gws[1 - holder];
    let client = s3(writer);
    client.create_bucket().bucket("dedup").send().await.unwrap();
    let data = pattern(1024 * 1024 + 5, 77);
    let (mut rng, seed) = floe_testkit::Rng::from_clock();
    println!("seed {seed}");
    let mut collected = 0;
    for round in 0..20 {
        client
            .put_object()
            .bucket("dedup")
            .key("k")
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        assert!(body(&client, "dedup", "k").await == data, "round {round}");
        client
            .delete_object()
            .bucket("dedup")
            .key("k")
            .send()
            .await
            .unwrap();
        // Sometimes the collector gets to the chunk before the next write, sometimes during it.
        tokio::time::sleep(Duration::from_millis(rng.below(1500))).await;
        if admin(writer).status().await.unwrap().garbage == 0 {
            collected += 1;
        }
    }
    client
        .put_object()
        .bucket("dedup")
        .key("k")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    // Long past any collection: the last write's chunk is whole.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(body(&client, "dedup", "k").await == data);
    assert!(collected > 0, "the collector never ran between rounds");
}

/// The database lost: a gateway on a new, empty database over the same nodes rebuilds the index
/// from the nodes' records before serving, as on an empty redb file, access control included:
/// users, keys (a disabled one stays disabled, a deleted one stays deleted), stored policies and
/// bucket policies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_is_rebuilt_from_the_nodes() {
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().unwrap();
    let first = floe_testkit::postgres::fresh_database("lost");
    let mut a = gateway(&cluster, &tmp.path().join("a"), &first, "");
    let client = s3(&a);
    client.create_bucket().bucket("kept").send().await.unwrap();
    let big = pattern(2 * 1024 * 1024, 3);
    for (key, data) in [("inline", b"small".to_vec()), ("sharded", big.clone())] {
        client
            .put_object()
            .bucket("kept")
            .key(key)
            .body(ByteStream::from(data))
            .send()
            .await
            .unwrap();
    }
    let admin_a = admin(&a);
    let only_kept = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Action":["s3:GetObject","s3:ListBucket"],
      "Resource":["arn:aws:s3:::kept","arn:aws:s3:::kept/*"]}]}"#;
    admin_a.put_policy("only-kept", only_kept).await.unwrap();
    admin_a
        .put_user("reader", &["only-kept".to_owned()])
        .await
        .unwrap();
    let live = admin_a.create_key("reader", None).await.unwrap();
    let off = admin_a.create_key("reader", None).await.unwrap();
    let gone = admin_a.create_key("reader", None).await.unwrap();
    admin_a
        .set_key_enabled(&off.access_key, false)
        .await
        .unwrap();
    admin_a.delete_key(&gone.access_key).await.unwrap();
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny",
      "Principal":{"AWS":"reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::kept/sharded"}]}"#;
    client
        .put_bucket_policy()
        .bucket("kept")
        .policy(deny)
        .send()
        .await
        .unwrap();
    a.kill();
    let second = floe_testkit::postgres::fresh_database("rebuilt");
    let b = gateway(&cluster, &tmp.path().join("b"), &second, "");
    let client = s3(&b);
    assert_eq!(body(&client, "kept", "inline").await, b"small");
    assert!(body(&client, "kept", "sharded").await == big);
    let listed = client
        .list_objects_v2()
        .bucket("kept")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(2));

    let status = |r: Result<
        aws_sdk_s3::operation::get_object::GetObjectOutput,
        aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::get_object::GetObjectError>,
    >| match r {
        Ok(_) => 200,
        Err(e) => e.raw_response().map_or(0, |r| r.status().as_u16()),
    };
    let get =
        |c: &aws_sdk_s3::Client, key: &'static str| c.get_object().bucket("kept").key(key).send();
    let reader = client_with(&b.endpoint, &live.access_key, &live.secret_key);
    assert_eq!(
        status(get(&reader, "inline").await),
        200,
        "user, key and policy are back"
    );
    assert_eq!(
        status(get(&reader, "sharded").await),
        403,
        "the bucket policy is back"
    );
    for dead in [&off, &gone] {
        let c = client_with(&b.endpoint, &dead.access_key, &dead.secret_key);
        assert_eq!(
            status(get(&c, "inline").await),
            403,
            "{} stays refused",
            dead.access_key
        );
    }
    let users = admin(&b).users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].policies, ["only-kept"]);
    assert_eq!(users[0].keys.len(), 2);
}

/// A node drained through one gateway is drained for the other too: it stops placing new shards
/// there without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_through_one_gateway_is_followed_by_the_other() {
    let cluster = LocalCluster::start(7);
    let url = floe_testkit::postgres::fresh_database("drain");
    let tmp = tempfile::tempdir().unwrap();
    let extra = "repair_interval_secs = 1";
    let a = gateway(&cluster, &tmp.path().join("a"), &url, extra);
    let b = gateway(&cluster, &tmp.path().join("b"), &url, extra);
    let node = cluster.urls()[6].clone();
    admin(&a).drain(&node).await.expect("drain through a");
    let deadline = Instant::now() + Duration::from_secs(30);
    let followed = loop {
        let status = admin(&b).status().await.unwrap();
        let draining = status.nodes.iter().any(|n| n.url == node && n.draining);
        if draining || Instant::now() > deadline {
            break draining;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(followed, "b follows the drain mark");
    // New writes through b leave the drained node alone.
    let before = shards_on_disk(&cluster.nodes[6]).len();
    let client = s3(&b);
    client.create_bucket().bucket("after").send().await.unwrap();
    client
        .put_object()
        .bucket("after")
        .key("k")
        .body(ByteStream::from(pattern(3 * 1024 * 1024, 5)))
        .send()
        .await
        .unwrap();
    assert_eq!(shards_on_disk(&cluster.nodes[6]).len(), before);
}

/// Two gateways writing versions of one key at once: every write gets its own id, no id is
/// handed out twice, both gateways list the same chain in the same order, and that order is the
/// ids' order (they come from one counter, taken in each write's transaction).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_from_two_gateways_never_collide() {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let cluster = LocalCluster::start(6);
    let url = floe_testkit::postgres::fresh_database("two_gateway_versions");
    let tmp = tempfile::tempdir().unwrap();
    let a = gateway(&cluster, &tmp.path().join("a"), &url, "");
    let b = gateway(&cluster, &tmp.path().join("b"), &url, "");
    let (sa, sb) = (s3(&a), s3(&b));
    sa.create_bucket().bucket("shared").send().await.unwrap();
    sb.put_bucket_versioning()
        .bucket("shared")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let writes = (0..40u64).map(|i| {
        let client = if i % 2 == 0 { sa.clone() } else { sb.clone() };
        async move {
            let out = client
                .put_object()
                .bucket("shared")
                .key("k")
                .body(ByteStream::from(pattern(100, i)))
                .send()
                .await
                .unwrap();
            (out.version_id().unwrap().to_owned(), i)
        }
    });
    let mut written = futures::future::join_all(writes).await;
    let mut ids: Vec<String> = written.iter().map(|(id, _)| id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "every version id is unique");

    let listed = |client: aws_sdk_s3::Client| async move {
        let out = client
            .list_object_versions()
            .bucket("shared")
            .send()
            .await
            .unwrap();
        out.versions()
            .iter()
            .map(|v| (v.version_id().unwrap().to_owned(), v.is_latest().unwrap()))
            .collect::<Vec<_>>()
    };
    let (via_a, via_b) = (listed(sa.clone()).await, listed(sb.clone()).await);
    assert_eq!(via_a, via_b, "both gateways list one chain");
    let order: Vec<String> = via_a.iter().map(|(id, _)| id.clone()).collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(order, newest_first, "listed newest first, in id order");
    assert!(via_a[0].1 && via_a[1..].iter().all(|(_, latest)| !latest));
    // Each id reads back the bytes its own write sent, through either gateway.
    written.sort();
    for (n, (id, seed)) in written.iter().enumerate() {
        let client = if n % 2 == 0 { &sb } else { &sa };
        let got = client
            .get_object()
            .bucket("shared")
            .key("k")
            .version_id(id)
            .send()
            .await
            .unwrap();
        let bytes = got.body.collect().await.unwrap().into_bytes().to_vec();
        assert_eq!(bytes, pattern(100, *seed), "version {id}");
    }
}

/// Users live in the shared index: a key made through gateway A signs on gateway B, a bucket
/// policy put through B binds A, and a key disabled through A is refused by B on its very next
/// request, with no restart (keys are read from the index on every request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_key_is_refused_on_every_gateway_at_once() {
    let cluster = LocalCluster::start(6);
    let url = floe_testkit::postgres::fresh_database("two_gateway_users");
    let tmp = tempfile::tempdir().unwrap();
    let a = gateway(&cluster, &tmp.path().join("a"), &url, "");
    let b = gateway(&cluster, &tmp.path().join("b"), &url, "");
    s3(&a)
        .create_bucket()
        .bucket("tenant")
        .send()
        .await
        .unwrap();
    admin(&a)
        .put_user("app", &["readwrite".to_owned()])
        .await
        .unwrap();
    let key = admin(&a).create_key("app", None).await.unwrap();
    let (via_a, via_b) = (
        client_with(&a.endpoint, &key.access_key, &key.secret_key),
        client_with(&b.endpoint, &key.access_key, &key.secret_key),
    );
    for (client, name) in [(&via_a, "from-a"), (&via_b, "from-b")] {
        client
            .put_object()
            .bucket("tenant")
            .key(name)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    // A deny in a bucket policy put through B binds the user on A.
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny",
      "Principal":{"AWS":"app"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::tenant/from-b"}]}"#;
    s3(&b)
        .put_bucket_policy()
        .bucket("tenant")
        .policy(deny)
        .send()
        .await
        .unwrap();
    let refused = via_a
        .get_object()
        .bucket("tenant")
        .key("from-b")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refused.raw_response().map(|r| r.status().as_u16()),
        Some(403)
    );
    assert!(
        via_a
            .get_object()
            .bucket("tenant")
            .key("from-a")
            .send()
            .await
            .is_ok()
    );

    admin(&a)
        .set_key_enabled(&key.access_key, false)
        .await
        .unwrap();
    for client in [&via_b, &via_a] {
        let err = client
            .list_objects_v2()
            .bucket("tenant")
            .send()
            .await
            .unwrap_err();
        let code = err
            .as_service_error()
            .and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::code(e).map(str::to_owned));
        assert_eq!(code.as_deref(), Some("InvalidAccessKeyId"));
    }
    admin(&b)
        .set_key_enabled(&key.access_key, true)
        .await
        .unwrap();
    assert!(
        via_a
            .list_objects_v2()
            .bucket("tenant")
            .send()
            .await
            .is_ok()
    );
}
