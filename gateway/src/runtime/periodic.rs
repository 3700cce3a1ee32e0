//! The shape of the gateway's simple background loops (garbage collection, record publishing):
//! wait an interval, run a round, log a failed round and go on, until shutdown. Shutdown also
//! cuts a running round short; every round is a series of atomic steps that the next run
//! resumes from, so nothing is left half-done.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

/// Runs `round` every `interval` until `shutdown` resolves; `what` names it in the logs.
pub fn every<F, R, T, E>(
    what: &'static str,
    interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
    mut round: F,
) -> JoinHandle<()>
where
    F: FnMut() -> R + Send + 'static,
    R: Future<Output = Result<T, E>> + Send,
    E: Display,
{
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(interval) => {}
            }
            tokio::select! {
                () = &mut shutdown => return,
                result = round() => if let Err(e) = result {
                    tracing::error!(task = what, error = %e, "background round failed");
                },
            }
        }
    })
}
