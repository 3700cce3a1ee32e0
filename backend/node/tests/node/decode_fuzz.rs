//! Random-input tests for everything a node (or its client) parses from the outside: request
//! paths, list/scrub/record query strings, record and shard batches, shard keys and record ids,
//! `Range` headers, the signature headers, shard file headers, the JSON bodies the client reads
//! back, and the node's TOML configuration. Each must give a value or an error, never a panic.
//!
//! Pure random input rarely looks like a path or a query, so most strategies start from a
//! valid one and damage it (flip, insert, delete, overwrite, truncate, duplicate). The last
//! test drives a real node over a socket with signed random requests: whatever arrives, the
//! answer is a 2xx or 4xx (never a 5xx or a dropped connection) and the node keeps serving.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use floe_codec::{ChunkId, ShardHash};
use floe_node::auth::{self, AuthError, MAX_CLOCK_SKEW_SECS};
use floe_node::layout::{HEADER_LEN, decode_header, encode_header};
use floe_node::protocol::{
    LIST_MAX_LIMIT, ListQuery, RecordItem, RecordListQuery, Route, ShardItem, decode_batch,
    decode_shard_batch, encode_batch, encode_shard_batch, parse_index, parse_range, parse_version,
};
use floe_node::{
    ClusterSecret, NodeConfig, NodeStats, RecordEntry, RecordId, RecordPage, ScrubQuery,
    ScrubReport, ShardEntry, ShardInfo, ShardKey, ShardPage, sign,
};
use floe_testkit::mutation::{self, Edit, apply};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---- mutation of valid inputs ----

/// Bytes that mean something to these parsers: separators, signs, escapes, digits, hex.
fn interesting_byte() -> impl Strategy<Value = u8> + Clone {
    prop_oneof![
        prop::sample::select(b"/.&=?%+-,0123456789abcdefABCDEF \t\"\\[]{}#\n".to_vec()),
        any::<u8>(),
    ]
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    mutation::edits(prop::collection::vec(interesting_byte(), 1..12))
}

/// A valid input damaged by a few edits, as (lossy) text.
fn mutated(valid: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (valid, edits()).prop_map(|(s, edits)| {
        let mut bytes = s.into_bytes();
        apply(&mut bytes, &edits);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

// ---- valid inputs ----

fn chunk_id() -> impl Strategy<Value = ChunkId> {
    any::<[u8; 32]>().prop_map(ChunkId::from_bytes)
}

fn shard_key() -> impl Strategy<Value = ShardKey> {
    (chunk_id(), any::<u16>()).prop_map(|(c, i)| ShardKey::new(c, i))
}

fn record_id() -> impl Strategy<Value = RecordId> {
    any::<[u8; 32]>().prop_map(RecordId)
}

fn valid_path() -> impl Strategy<Value = String> {
    prop_oneof![
        shard_key().prop_map(|k| k.path()),
        record_id().prop_map(|id| id.path()),
        prop::sample::select(vec![
            "/v1/health",
            "/v1/stats",
            "/v1/shards",
            "/v1/scrub",
            "/v1/records",
            "/metrics",
        ])
        .prop_map(str::to_owned),
    ]
}

fn valid_query() -> impl Strategy<Value = String> {
    (
        proptest::option::of(shard_key()),
        1..=20_000u32,
        any::<u64>(),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(|(after, limit, rate, version)| {
            let mut q = ScrubQuery {
                after,
                limit,
                max_bytes_per_sec: rate,
            }
            .path_and_query()
            .split_once('?')
            .map(|(_, q)| q.to_owned())
            .unwrap_or_default();
            if let Some(v) = version {
                q.push_str(&format!("&version={v}"));
            }
            q
        })
}

/// Paths as a client, a scanner or an attacker would send them.
fn any_path() -> impl Strategy<Value = String> {
    prop_oneof![
        mutated(valid_path()),
        "/v1/(shards|records)/[0-9a-f./%]{0,80}(/[0-9./-]{0,8})?",
        "(/[a-z0-9.%]{0,12}){0,5}",
        any::<String>(),
    ]
}

fn any_query() -> impl Strategy<Value = String> {
    prop_oneof![
        mutated(valid_query()),
        "([a-z_]{0,18}(=[0-9a-f.+-]{0,70})?&?){0,5}",
        any::<String>(),
    ]
}

// ---- protocol parsers ----

proptest! {
    #[test]
    fn routes_accept_only_canonical_paths(path in any_path()) {
        match Route::parse(&path) {
            // Every accepted key names itself exactly: no second spelling reaches the disk.
            Ok(Route::Shard(key)) => prop_assert_eq!(key.path(), path),
            Ok(Route::Record(id)) => prop_assert_eq!(id.path(), path),
            Ok(_) | Err(_) => {}
        }
    }

    #[test]
    fn keys_ids_and_indices_parse_canonically(
        s in prop_oneof![mutated(shard_key().prop_map(|k| k.to_string())), any::<String>()],
        idx in prop_oneof![mutated((0..=70_000u32).prop_map(|n| n.to_string())), "[+-]?[0-9]{0,7}"],
    ) {
        if let Ok(key) = s.parse::<ShardKey>() {
            prop_assert_eq!(key.to_string(), s.clone());
        }
        if let Ok(id) = s.parse::<RecordId>() {
            prop_assert_eq!(id.to_hex(), s);
        }
        if let Ok(i) = parse_index(&idx) {
            prop_assert_eq!(i.to_string(), idx);
        }
    }

    #[test]
    fn page_and_scrub_queries_never_panic(q in any_query(), none in any::<bool>()) {
        let q = (!none).then_some(q.as_str());
        if let Ok(list) = ListQuery::parse(q) {
            prop_assert!((1..=LIST_MAX_LIMIT).contains(&list.limit));
            let pq = list.path_and_query();
            prop_assert_eq!(ListQuery::parse(pq.split_once('?').map(|p| p.1)).unwrap(), list);
        }
        if let Ok(list) = RecordListQuery::parse(q) {
            prop_assert!((1..=LIST_MAX_LIMIT).contains(&list.limit));
            let pq = list.path_and_query();
            prop_assert_eq!(RecordListQuery::parse(pq.split_once('?').map(|p| p.1)).unwrap(), list);
        }
        if let Ok(scrub) = ScrubQuery::parse(q) {
            prop_assert!((1..=LIST_MAX_LIMIT).contains(&scrub.limit));
            let pq = scrub.path_and_query();
            prop_assert_eq!(ScrubQuery::parse(pq.split_once('?').map(|p| p.1)).unwrap(), scrub);
        }
        let _ = parse_version(q);
    }

    #[test]
    fn ranges_stay_inside_the_shard(
        header in prop_oneof![
            mutated((any::<u32>(), any::<u32>()).prop_map(|(a, b)| format!("bytes={a}-{b}"))),
            "(bytes)?=?[0-9 ,-]{0,24}",
            Just(format!("bytes={}-", u64::MAX)),
            Just(format!("bytes=-{}", u64::MAX)),
            any::<String>(),
        ],
        len in prop_oneof![Just(0u64), Just(1), Just(u64::MAX), any::<u32>().prop_map(u64::from)],
    ) {
        if let Ok((start, end)) = parse_range(&header, len) {
            prop_assert!(start <= end && end < len, "{header:?} on {len} gave {start}-{end}");
        }
    }
}

// ---- signature headers ----

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..100),
        "[0-9a-fA-F+-]{0,70}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #[test]
    fn auth_headers_never_panic_and_only_the_signed_ones_pass(
        method in prop::sample::select(vec!["GET", "PUT", "DELETE", "HEAD", "POST"]),
        path in valid_path(),
        hash in proptest::option::of(any::<[u8; 32]>().prop_map(|b| ShardHash::from_bytes(b).to_hex())),
        skew in -400i64..=400,
        which in 0..4usize,
        edits in edits(),
        random in proptest::option::of(header_value()),
    ) {
        let secret: ClusterSecret = "fuzz-secret".parse().unwrap();
        let now = 1_700_000_000u64;
        let date = now.saturating_add_signed(skew);
        let signature = sign(&secret, method, &path, date, hash.as_deref());
        let mut values: Vec<Vec<u8>> = vec![
            date.to_string().into_bytes(),
            signature.into_bytes(),
            hash.clone().unwrap_or_default().into_bytes(),
        ];
        let original = values.clone();
        if which < 3 {
            match random {
                Some(bytes) => values[which] = bytes,
                None => apply(&mut values[which], &edits),
            }
        }
        // Values that are not legal in HTTP never reach the node: they are left out.
        let sent: Vec<Option<HeaderValue>> =
            values.iter().map(|v| HeaderValue::from_bytes(v).ok()).collect();
        let mut headers = HeaderMap::new();
        for (name, value) in ["x-floe-date", "x-floe-signature", "x-floe-shard-hash"].iter().zip(&sent) {
            if let Some(v) = value {
                headers.insert(*name, v.clone());
            }
        }
        // What the node sees; an absent and an empty hash header are signed alike (as "").
        let seen: Vec<Vec<u8>> = sent
            .iter()
            .map(|v| v.as_ref().map_or(Vec::new(), |v| v.as_bytes().to_vec()))
            .collect();
        let untouched = seen == original;
        match auth::verify(&secret, method, &path, &headers, now) {
            Ok(_) => {
                prop_assert!(untouched, "{seen:?} accepted");
                prop_assert!(skew.unsigned_abs() <= MAX_CLOCK_SKEW_SECS);
            }
            Err(e) => {
                let status = e.status().as_u16();
                prop_assert!(status == 401 || status == 403, "{e:?}");
                prop_assert!(
                    !untouched || skew.unsigned_abs() > MAX_CLOCK_SKEW_SECS,
                    "untouched headers refused: {e:?}"
                );
                if e == AuthError::BadSignature {
                    prop_assert!(!untouched);
                }
            }
        }
    }
}

// ---- stored bytes and JSON bodies ----

fn json_bodies() -> impl Strategy<Value = String> {
    let entry = (shard_key(), any::<u64>(), any::<u64>())
        .prop_map(|(key, len, modified)| ShardEntry { key, len, modified });
    let shard_page = (
        prop::collection::vec(entry, 0..4),
        proptest::option::of(shard_key()),
    )
        .prop_map(|(shards, next_after)| {
            serde_json::to_string(&ShardPage { shards, next_after }).unwrap()
        });
    let record_page = (
        prop::collection::vec((record_id(), any::<u64>(), any::<u64>()), 0..4),
        proptest::option::of(record_id()),
    )
        .prop_map(|(rows, next_after)| {
            let records = rows
                .into_iter()
                .map(|(id, version, len)| RecordEntry { id, version, len })
                .collect();
            serde_json::to_string(&RecordPage {
                records,
                next_after,
            })
            .unwrap()
        });
    let stats = any::<[u64; 6]>().prop_map(|v| {
        serde_json::to_string(&NodeStats {
            shards: v[0],
            bytes: v[1],
            free_bytes: v[2],
            total_bytes: v[3],
            quarantined: v[4],
            corrupt_reads: v[5],
        })
        .unwrap()
    });
    let report = (
        any::<u64>(),
        any::<u64>(),
        prop::collection::vec(shard_key(), 0..3),
        proptest::option::of(shard_key()),
    )
        .prop_map(|(checked, bytes, corrupt, next_after)| {
            serde_json::to_string(&ScrubReport {
                checked,
                bytes,
                corrupt,
                next_after,
            })
            .unwrap()
        });
    let info = (any::<u64>(), any::<[u8; 32]>()).prop_map(|(len, h)| {
        serde_json::to_string(&ShardInfo {
            len,
            hash: ShardHash::from_bytes(h),
        })
        .unwrap()
    });
    prop_oneof![shard_page, record_page, stats, report, info]
}

/// Decodes `text` as `T`; anything accepted must serialize back to something equally accepted.
fn json_round_trip<T>(text: &str) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = serde_json::from_str::<T>(text) {
        let again: T = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
        prop_assert_eq!(again, value);
    }
    Ok(())
}

proptest! {
    #[test]
    fn json_bodies_never_panic(text in prop_oneof![3 => mutated(json_bodies()), 1 => any::<String>()]) {
        json_round_trip::<ShardPage>(&text)?;
        json_round_trip::<RecordPage>(&text)?;
        json_round_trip::<NodeStats>(&text)?;
        json_round_trip::<ScrubReport>(&text)?;
        json_round_trip::<ShardInfo>(&text)?;
    }

    #[test]
    fn shard_file_headers_never_panic(
        payload in prop::collection::vec(any::<u8>(), 0..2048),
        edits in edits(),
        random in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        let mut file = encode_header(&ShardHash::of(&payload)).to_vec();
        file.extend_from_slice(&payload);
        apply(&mut file, &edits);
        if let Ok(hash) = decode_header(&file) {
            prop_assert!(file.len() >= HEADER_LEN);
            prop_assert_eq!(hash.as_bytes(), &file[HEADER_LEN - 32..HEADER_LEN]);
        }
        let _ = decode_header(&random);
    }

    #[test]
    fn node_config_toml_never_panics(text in prop_oneof![
        3 => mutated(
            (any::<u16>(), "[a-z/]{1,20}", "[ -~]{0,20}", any::<u64>()).prop_map(|(port, dir, secret, max)| format!(
                "listen = \"127.0.0.1:{port}\"\ndata_dir = \"/{dir}\"\ncluster_secret = {secret:?}\nmax_shard_bytes = {max}\n"
            )),
        ),
        1 => "([a-z_]{1,16} *= *(\"[^\"]{0,10}\"|[0-9-]{1,22}|\\[|\\{|true)\n){0,4}",
        // Deep nesting: the parser must refuse it, not overflow its stack.
        1 => (1..3000usize, prop::sample::select(vec!["[", "{a=", "[{x=["])).prop_map(|(n, open)| format!("listen = {}", open.repeat(n))),
        1 => any::<String>(),
    ]) {
        if let Ok(config) = NodeConfig::from_toml_str(&text) {
            prop_assert!(config.max_shard_bytes > 0);
        }
    }
}

// ---- the real router, over a socket ----

/// Sends one request and returns its status; `None` if the node closed without answering.
async fn send(addr: SocketAddr, head: &str, body: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let mut request = format!("{head}Host: fuzz\r\nConnection: close\r\n");
    if !body.is_empty() {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    stream.write_all(body).await.ok()?;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response);
    text.split(' ').nth(1)?.parse().ok()
}

/// A random request: method, target (path plus optional query), optional Range and claimed
/// hash, and a small body whose hash is claimed correctly half of the time.
#[derive(Debug, Clone)]
struct Fuzzed {
    method: &'static str,
    target: String,
    range: Option<String>,
    hash: Option<String>,
    body: Vec<u8>,
}

fn fuzzed_request(stored: ShardKey) -> impl Strategy<Value = Fuzzed> {
    let target = prop_oneof![
        2 => (any_path(), proptest::option::of(any_query()))
            .prop_map(|(p, q)| q.map_or(p.clone(), |q| format!("{p}?{q}"))),
        1 => proptest::option::of(any_query()).prop_map(move |q| {
            let p = stored.path();
            q.map_or(p.clone(), |q| format!("{p}?{q}"))
        }),
    ];
    (
        prop::sample::select(vec![
            "GET", "HEAD", "PUT", "DELETE", "POST", "PATCH", "OPTIONS",
        ]),
        target,
        proptest::option::of(prop_oneof!["bytes=[0-9]{0,4}-[0-9]{0,4}", any::<String>()]),
        // No hash, the body's true hash, or a bogus one.
        prop_oneof![Just(None), Just(Some(true)), Just(Some(false))],
        "[0-9a-f]{0,70}",
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(method, target, range, claim, bogus_hash, body)| Fuzzed {
            method,
            target,
            range,
            hash: claim.map(|right| {
                if right {
                    ShardHash::of(&body).to_hex()
                } else {
                    bogus_hash
                }
            }),
            body,
        })
}

/// Makes a target sendable: a request line cannot carry spaces, controls or non-ASCII bytes
/// (they would test hyper's parser, not the node), so those are percent-escaped, which the
/// node must then refuse like any other unknown spelling.
fn on_the_wire(target: &str) -> String {
    let mut out = String::from(if target.starts_with('/') { "" } else { "/" });
    for b in target.bytes() {
        if (0x21..0x7f).contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[test]
fn random_signed_requests_get_2xx_or_4xx_and_the_node_survives() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let node = rt.block_on(common::start());
    let addr = node.addr;
    let stored = common::key(7, 1);
    let (bytes, hash) = common::shard(7, 300);
    rt.block_on(
        node.client()
            .put_shard(&stored.chunk, stored.index, &hash, bytes),
    )
    .unwrap();

    // 256 cases unless PROPTEST_CASES says otherwise, like the `proptest!` tests.
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    let secret = common::secret();
    runner
        .run(&fuzzed_request(stored), |req| {
            let target = on_the_wire(&req.target);
            let date = auth::unix_now();
            let signature = sign(&secret, req.method, &target, date, req.hash.as_deref());
            let mut head = format!(
                "{} {target} HTTP/1.1\r\nx-floe-date: {date}\r\nx-floe-signature: {signature}\r\n",
                req.method
            );
            if let Some(h) = &req.hash {
                head.push_str(&format!("x-floe-shard-hash: {h}\r\n"));
            }
            if let Some(r) = req
                .range
                .as_ref()
                .filter(|r| r.bytes().all(|b| (0x20..0x7f).contains(&b)))
            {
                head.push_str(&format!("Range: {r}\r\n"));
            }
            let status = rt.block_on(send(addr, &head, &req.body));
            let Some(status) = status else {
                return Err(TestCaseError::fail(format!("no answer to {req:?}")));
            };
            prop_assert!(
                (200..300).contains(&status) || (400..500).contains(&status),
                "{status} for {req:?}"
            );
            Ok(())
        })
        .unwrap();

    // Still alive and still serving the shard it held (unless the fuzzer deleted it).
    let client = node.client();
    rt.block_on(client.health()).unwrap();
    rt.block_on(client.stats()).unwrap();
    rt.block_on(node.stop());
}

proptest! {
    /// Record batches (`POST /v1/records`): damaged encodings are refused or decode to records
    /// whose re-encoding is exactly the input; nothing panics.
    #[test]
    fn record_batches_decode_exactly_or_not_at_all(
        items in prop::collection::vec(
            (any::<[u8; 32]>(), any::<u64>(), prop::collection::vec(any::<u8>(), 0..64)),
            0..8,
        ),
        edits in edits(),
    ) {
        let items: Vec<RecordItem> = items
            .into_iter()
            .map(|(id, version, payload)| RecordItem {
                id: RecordId(id),
                version,
                payload: bytes::Bytes::from(payload),
            })
            .collect();
        let mut body = encode_batch(&items);
        prop_assert_eq!(decode_batch(&bytes::Bytes::from(body.clone())).unwrap(), items);
        apply(&mut body, &edits);
        let body = bytes::Bytes::from(body);
        if let Ok(decoded) = decode_batch(&body) {
            prop_assert_eq!(encode_batch(&decoded), body.to_vec());
        }
    }
}

proptest! {
    /// Shard batches (`POST /v1/shards`): damaged encodings are refused or decode to shards whose
    /// re-encoding is exactly the input, with the hash of exactly its table; nothing panics.
    #[test]
    fn shard_batches_decode_exactly_or_not_at_all(
        items in prop::collection::vec(
            (any::<[u8; 32]>(), any::<u16>(), prop::collection::vec(any::<u8>(), 0..64)),
            1..8,
        ),
        edits in edits(),
    ) {
        let items: Vec<ShardItem> = items
            .into_iter()
            .map(|(chunk, index, payload)| ShardItem {
                key: ShardKey::new(ChunkId::from_bytes(chunk), index),
                hash: ShardHash::of(&payload),
                payload: bytes::Bytes::from(payload),
            })
            .collect();
        let (hash, mut body) = encode_shard_batch(&items);
        let (decoded_hash, decoded) = decode_shard_batch(&bytes::Bytes::from(body.clone())).unwrap();
        prop_assert_eq!(decoded, items);
        prop_assert_eq!(decoded_hash, hash);
        apply(&mut body, &edits);
        let body = bytes::Bytes::from(body);
        if let Ok((hash, decoded)) = decode_shard_batch(&body) {
            let (again, encoded) = encode_shard_batch(&decoded);
            prop_assert_eq!(encoded, body.to_vec());
            prop_assert_eq!(again, hash);
        }
    }
}
