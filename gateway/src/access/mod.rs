//! Who may do what: S3 requests as AWS's policy language sees them, and the evaluation of
//! identity and bucket policies the way AWS evaluates them within one account (an explicit Deny
//! anywhere wins, then an Allow from either kind of policy, else the implicit deny).
//!
//! Pure: no I/O and no clock (a request carries its time as the `aws:CurrentTime` context key),
//! and no S3 wire types. Policies are parsed by `s3s-policy`; matching and conditions are here.
//!
//! - [`request`]: the request (principal, action, resource ARN) and its condition context;
//! - [`actions`]: the IAM action each S3 operation needs, and on what;
//! - [`canned`]: the policies users start from (`readonly`, `readwrite`, `writeonly`, `admin`);
//! - [`condition`]: the condition operators and their set qualifiers;
//! - [`evaluate`]: statements, policies, and the decision for a request.

pub mod actions;
pub mod canned;
pub mod condition;
pub mod evaluate;
pub mod request;

#[cfg(test)]
mod evaluate_tests;

pub use actions::{BYPASS_GOVERNANCE, Needed, Target, action_of, copy_source_action};
pub use canned::{CANNED, canned};
pub use evaluate::{Decision, PolicyKind, decide, is_public, policy_effect, validate};
pub use request::{AccessRequest, Context, Principal, bucket_arn, object_arn};
