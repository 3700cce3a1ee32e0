//! Versioned records over HTTP: newest version wins, listing pages in id order with versions,
//! deletes, and records survive a restart.

use crate::common;

use bytes::Bytes;
use common::{start, start_in};
use floe_node::{ClientError, RecordId, RecordItem, RecordStored};

#[tokio::test]
async fn records_keep_the_newest_version_across_restarts() {
    let node = start().await;
    let client = node.client();
    let id = RecordId([0x42; 32]);
    let put = |version: u64, body: &'static [u8]| {
        let client = client.clone();
        async move {
            client
                .put_record(&id, version, Bytes::from_static(body))
                .await
                .unwrap()
        }
    };
    assert_eq!(put(10, b"ten").await, RecordStored::Stored);
    assert_eq!(put(9, b"nine").await, RecordStored::Newer(10));
    assert_eq!(put(11, b"eleven").await, RecordStored::Stored);
    assert_eq!(
        client.get_record(&id).await.unwrap(),
        (11, Bytes::from_static(b"eleven"))
    );
    assert!(matches!(
        client.get_record(&RecordId([1; 32])).await,
        Err(ClientError::NotFound)
    ));
    for n in 0..25u8 {
        client
            .put_record(&RecordId([n; 32]), u64::from(n), Bytes::from(vec![n; 3]))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = client.list_records(after.as_ref(), 10).await.unwrap();
        seen.extend(page.records);
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 26);
    assert!(seen.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(seen.iter().find(|e| e.id == id).unwrap().version, 11);
    assert!(client.delete_record(&RecordId([3; 32])).await.unwrap());
    assert!(!client.delete_record(&RecordId([3; 32])).await.unwrap());

    let dir = node.stop().await;
    let node = start_in(dir, u64::MAX).await;
    let client = node.client();
    assert_eq!(client.get_record(&id).await.unwrap().0, 11);
    assert_eq!(
        client.list_records(None, 100).await.unwrap().records.len(),
        25
    );
    // Shards and records live apart: no shard appeared.
    assert_eq!(client.stats().await.unwrap().shards, 0);
    node.stop().await;
}

#[tokio::test]
async fn batches_store_many_records_and_keep_newer_versions() {
    let node = start().await;
    let client = node.client();
    client
        .put_record(&RecordId([7; 32]), 50, Bytes::from_static(b"fifty"))
        .await
        .unwrap();
    let items: Vec<RecordItem> = (0..100u8)
        .map(|n| RecordItem {
            id: RecordId([n; 32]),
            version: 10,
            payload: Bytes::from(vec![n; usize::from(n)]),
        })
        .collect();
    let outcomes = client.put_records(&items).await.unwrap();
    assert_eq!(outcomes.len(), 100);
    for (n, outcome) in outcomes.iter().enumerate() {
        let want = if n == 7 {
            RecordStored::Newer(50)
        } else {
            RecordStored::Stored
        };
        assert_eq!(*outcome, want, "record {n}");
    }
    assert_eq!(
        client.get_record(&RecordId([7; 32])).await.unwrap(),
        (50, Bytes::from_static(b"fifty"))
    );
    assert_eq!(
        client.get_record(&RecordId([99; 32])).await.unwrap(),
        (10, Bytes::from(vec![99; 99]))
    );
    assert!(client.put_records(&[]).await.unwrap().is_empty());
    // Survives a restart, and no temp file is left behind.
    let dir = node.stop().await;
    let node = start_in(dir, u64::MAX).await;
    let page = node.client().list_records(None, 1000).await.unwrap();
    assert_eq!(page.records.len(), 100);
}
