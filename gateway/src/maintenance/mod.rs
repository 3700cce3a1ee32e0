//! Work that keeps the cluster whole in the background and on an operator's request, beside the
//! request path rather than on it:
//! - [`repair`]: the repair queue and sweeps, scrub, drain and the orphan sweep;
//! - [`collector`]: garbage collection of chunks nothing references;
//! - [`lifecycle`]: buckets' lifecycle rules carried out (incomplete uploads aborted);
//! - [`lease`]: which gateway runs the cluster-wide work when several share one index;
//! - [`recovery`]: the metadata records on the nodes (publisher, rebuild), the cluster's identity
//!   and the complete-view check that every deletion depends on.

pub mod collector;
pub mod lease;
pub mod lifecycle;
pub mod recovery;
pub mod repair;
