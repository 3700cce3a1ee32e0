//! The reusable part of `floe-conformance`, shared by its two binaries (`floe-conformance`, the
//! conformance suite, and `floe-bench`, the benchmark): `cluster` starts and controls a Floe
//! cluster made of processes, `target` is the endpoint under test and its SDK clients.

pub mod cluster;
pub mod target;
