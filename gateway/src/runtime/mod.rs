//! Running a gateway: configuration, the wiring of every layer, listeners and loops.
//! - [`config`], [`limits`], [`tls`]: the TOML configuration, its `[limits]` and `[tls]`;
//! - [`launch`]: starting and stopping a gateway (index, nodes, blob store, services, listeners);
//! - [`http_server`]: the accept loop shared by the S3 and admin listeners;
//! - [`periodic`]: the loop shape of the simple background tasks;
//! - [`query`]: query strings, decoded.

pub mod config;
pub mod http_server;
pub mod launch;
pub mod limits;
pub mod periodic;
pub mod query;
pub mod tls;
