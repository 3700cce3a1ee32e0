//! A node's record log under kill -9: every record batch the node acknowledged is there, intact
//! and at least as new, after it restarts, and the node takes writes again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use floe_node::{RecordId, RecordItem};

use crate::support::cluster::{LocalCluster, no_retry_options, pattern};

/// Records are rewritten in turn, so batches overwrite each other's ids with newer versions.
const IDS: u64 = 300;
const PER_BATCH: u64 = 40;

fn id(n: u64) -> RecordId {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&n.to_be_bytes());
    RecordId(id)
}

/// What version `version` of record `n` holds: derived, so any version found can be checked.
fn payload(n: u64, version: u64) -> Bytes {
    Bytes::from(pattern(200 + (n as usize % 700), n * 1_000_003 + version))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_kill_9() {
    let mut cluster = LocalCluster::start(1);
    let client = cluster.clients(no_retry_options()).remove(0);
    // The newest version of each record the node acknowledged.
    let acked: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let writer = {
        let acked = acked.clone();
        tokio::spawn(async move {
            for batch in 0u64.. {
                let version = batch + 1;
                let numbers: Vec<u64> = (0..PER_BATCH)
                    .map(|i| (batch * PER_BATCH + i) % IDS)
                    .collect();
                let items: Vec<RecordItem> = numbers
                    .iter()
                    .map(|&n| RecordItem {
                        id: id(n),
                        version,
                        payload: payload(n, version),
                    })
                    .collect();
                if client.put_records(&items).await.is_err() {
                    return batch;
                }
                let mut acked = acked.lock().unwrap();
                for n in numbers {
                    acked.insert(n, version);
                }
            }
            unreachable!("the node is killed")
        })
    };
    while acked.lock().unwrap().len() < IDS as usize {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    cluster.nodes[0].kill();
    let batches = writer.await.unwrap();
    assert!(
        batches > IDS / PER_BATCH,
        "only {batches} batches before the kill"
    );

    cluster.nodes[0].restart().expect("node restarts");
    let client = cluster.clients(no_retry_options()).remove(0);
    let acked = acked.lock().unwrap().clone();
    for (&n, &version) in &acked {
        let (stored, bytes) = client
            .get_record(&id(n))
            .await
            .unwrap_or_else(|e| panic!("record {n} (version {version} acknowledged): {e}"));
        assert!(
            stored >= version,
            "record {n}: version {stored} < acknowledged {version}"
        );
        assert_eq!(bytes, payload(n, stored), "record {n} version {stored}");
    }
    let listed = client.list_records(None, 1000).await.unwrap();
    assert_eq!(listed.records.len(), IDS as usize);

    let after = RecordItem {
        id: id(IDS + 1),
        version: 1,
        payload: payload(IDS + 1, 1),
    };
    client.put_records(&[after]).await.unwrap();
    assert_eq!(client.get_record(&id(IDS + 1)).await.unwrap().0, 1);
}
