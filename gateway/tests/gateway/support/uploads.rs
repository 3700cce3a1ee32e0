//! Concurrent uploads to interrupt (kill -9, SIGTERM) and the checks after a restart: every
//! acknowledged object reads back byte-identical with its ETag, and every listed object is whole.

#![allow(dead_code)] // each test binary uses a different part of this file

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use tokio::task::JoinHandle;

use super::cluster::pattern;

/// Body of upload `i`: sizes from inline (a few KiB) to several chunks, so both storage paths
/// are crossed.
pub fn body(i: usize) -> Vec<u8> {
    let size = match i % 4 {
        0 => 3_000 + i,
        1 => 300_000 + i,
        2 => 5 * 1024 * 1024 + i,
        _ => 9 * 1024 * 1024 + i,
    };
    pattern(size, i as u64 + 1)
}

/// Key of upload `i`; [`index_of`] reads `i` back.
pub fn key(i: usize) -> String {
    format!("obj-{i:02}")
}

pub fn index_of(key: &str) -> usize {
    key[4..].parse().expect("an upload key")
}

/// The quoted hex MD5 a single PUT of `data` must answer as its ETag.
pub fn etag_of(data: &[u8]) -> String {
    use md5::Digest;
    format!("\"{}\"", hex::encode(md5::Md5::digest(data)))
}

/// `count` PUTs started at once; each acknowledged one is recorded (key → ETag) after its
/// ETag was checked.
pub struct Uploads {
    acked: Arc<Mutex<HashMap<String, String>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Uploads {
    pub fn start(client: &Client, bucket: &str, count: usize) -> Self {
        let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        // Bodies are made first, so that every upload is on the wire at once when the test
        // interrupts the gateway (not still computing its body on a loaded machine).
        let bodies: Vec<(Vec<u8>, String)> = (0..count)
            .map(|i| {
                let data = body(i);
                let etag = etag_of(&data);
                (data, etag)
            })
            .collect();
        let tasks = bodies
            .into_iter()
            .enumerate()
            .map(|(i, (data, etag))| {
                let (client, acked, bucket) = (client.clone(), acked.clone(), bucket.to_owned());
                tokio::spawn(async move {
                    let put = client
                        .put_object()
                        .bucket(bucket)
                        .key(key(i))
                        .body(ByteStream::from(data))
                        .send()
                        .await;
                    if let Ok(out) = put {
                        assert_eq!(out.e_tag(), Some(etag.as_str()), "{}", key(i));
                        acked.lock().unwrap().insert(key(i), etag);
                    }
                })
            })
            .collect();
        Self { acked, tasks }
    }

    /// The acknowledged uploads so far.
    pub fn acked(&self) -> HashMap<String, String> {
        self.acked.lock().unwrap().clone()
    }

    /// Waits for every upload to succeed or fail; the acknowledged ones.
    pub async fn finish(self) -> HashMap<String, String> {
        let acked = self.acked.clone();
        for task in self.tasks {
            task.await.expect("upload task");
        }
        acked.lock().unwrap().clone()
    }
}

/// GETs `key` whole: its ETag and its bytes.
async fn read_back(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<(Option<String>, bytes::Bytes), String> {
    let got = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let etag = got.e_tag().map(str::to_owned);
    let bytes = got.body.collect().await.map_err(|e| e.to_string())?;
    Ok((etag, bytes.into_bytes()))
}

/// Every acknowledged upload reads back byte-identical, with its ETag.
pub async fn assert_acked_intact(client: &Client, bucket: &str, acked: &HashMap<String, String>) {
    for (key, etag) in acked {
        let (got_etag, bytes) = read_back(client, bucket, key)
            .await
            .unwrap_or_else(|e| panic!("acknowledged {key} lost: {e}"));
        assert_eq!(got_etag.as_deref(), Some(etag.as_str()), "{key}");
        assert!(
            bytes.as_ref() == body(index_of(key)).as_slice(),
            "{key} differs"
        );
    }
}

/// Every listed object is a whole upload: nothing half-written is visible.
pub async fn assert_listed_whole(client: &Client, bucket: &str) {
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    for object in listed.contents() {
        let key = object.key().unwrap();
        let want = body(index_of(key));
        assert_eq!(object.size(), Some(want.len() as i64), "listed {key}");
        let (_, bytes) = read_back(client, bucket, key).await.unwrap();
        assert!(
            bytes.as_ref() == want.as_slice(),
            "listed {key} is not whole"
        );
    }
}
