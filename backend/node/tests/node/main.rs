//! The node's integration tests, in one test binary so a run links it once. Every test starts
//! its own in-process node ([`common`]) on a random port, and reaches it over real HTTP:
//!
//! - [`roundtrip`]: put, get, head, delete and list through `NodeClient`;
//! - [`records`]: versioned metadata records;
//! - [`batches`]: many shards in one put;
//! - [`integrity`]: refused puts, rotten files, crash debris, restarts;
//! - [`forms`]: packed shards and shard files in one store;
//! - [`scrub`]: re-verification, quarantine and the rate cap;
//! - [`security`]: authentication, cluster scopes, replays and input validation in raw HTTP;
//! - [`client`]: the client's retries, timeouts and reply caps against misbehaving servers;
//! - [`metrics`]: the counters of `GET /metrics`;
//! - [`tls`]: node traffic over TLS;
//! - [`decode_fuzz`]: random input to everything a node parses.

mod common;

mod batches;
mod client;
mod decode_fuzz;
mod forms;
mod holds;
mod integrity;
mod metrics;
mod records;
mod roundtrip;
mod scrub;
mod security;
mod tls;
