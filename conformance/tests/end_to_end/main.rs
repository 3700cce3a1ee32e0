//! The whole product from outside, in one test binary:
//!
//! - [`cluster`]: the conformance runner against 6 `floe node` processes and a 4+2 gateway;
//! - [`readme`]: the README's two commands, as written;
//! - [`s3s_e2e`]: s3s's aws-sdk-s3 conformance runner, 18 cases.
//!
//! Both are heavy (the README test builds a release binary), so they take turns ([`one_at_a_time`]):
//! run side by side on 2 cores, the build would starve the cluster's timeouts.

mod cluster;
mod readme;
mod s3s_e2e;

use std::sync::{Mutex, MutexGuard};

/// Held by each test for its whole run.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    // A test that panicked while holding the turn has already failed; the next may still run.
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}
