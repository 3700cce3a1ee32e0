//! The codec's property and random-input tests, in one test binary so a run links it once:
//!
//! - [`coding`]: any k of k + m shards give the chunk back; corruption is caught;
//! - [`object`]: chunking, manifests and range reads of whole objects;
//! - [`range`]: range arithmetic against a byte-by-byte model;
//! - [`decode_fuzz`]: random input to every entry point that reads outside bytes.

mod coding;
mod decode_fuzz;
mod object;
mod range;
