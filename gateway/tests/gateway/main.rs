//! The gateway's integration tests, in one test binary so a run links it once. Each module is
//! one family, from the inside out:
//!
//! - [`s3_api`]: the S3 API in process (aws-sdk-s3 against a gateway with embedded nodes);
//! - [`blob_cluster`]: the blob layer over real `floe node` processes;
//! - [`self_healing`]: repair, scrub, drain and index rebuild over real nodes;
//! - [`cluster_safety`]: operator mistakes and chaos against real nodes and gateways;
//! - [`front_door`]: hostile and greedy clients against a `floe serve` process;
//! - [`gateway_crash`], [`gateway_sigterm`]: kill -9 and SIGTERM during uploads;
//! - [`metrics_scrape`]: the admin listener's metrics and probes;
//! - [`lifecycle_drill`]: lifecycle rules aborting stale uploads over real nodes, and GC after;
//! - [`object_lock_drill`]: the aws cli and `floe admin` against locked versions, over real nodes;
//! - [`shared_index`]: two gateway processes on one PostgreSQL index and one cluster;
//! - [`tls`]: HTTPS for S3 clients and between the gateway and the nodes;
//! - [`cors_browser`]: headless Chromium uploading from a page on another origin;
//! - [`users_walkthrough`]: the README's users, keys and public bucket with `floe admin` and aws cli;
//! - [`deploy_configs`]: the shipped configuration files parse and validate.
//!
//! [`support`] is the scaffolding they share (over `floe_testkit`'s processes); the benches
//! include it too.

mod support;

mod blob_cluster;
mod cluster_safety;
mod cors_browser;
mod deploy_configs;
mod front_door;
mod gateway_crash;
mod gateway_sigterm;
mod lifecycle_drill;
mod metrics_scrape;
mod object_lock_drill;
mod s3_api;
mod self_healing;
mod shared_index;
mod tls;
mod users_walkthrough;
