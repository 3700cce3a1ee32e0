//! Shared scaffolding for the gateway's integration tests and benches.

pub mod aws_cli;
pub mod cluster;
pub mod gateway;
pub mod measure;
pub mod scrape;
pub mod serve;
pub mod uploads;
