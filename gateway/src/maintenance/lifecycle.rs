//! The lifecycle engine: applies buckets' lifecycle rules, once per cluster (while this
//! gateway holds the maintenance lease), every `interval`, and on `floe admin lifecycle run`.
//!
//! Expiration (`Expiration`, `NoncurrentVersionExpiration`, expired delete markers) works from
//! the index's due-date table (`index/lifecycle_due.rs`): each run first walks the keys of
//! buckets whose rules changed, then carries out the rules on every key whose due time has
//! come, a page per transaction, so its cost is what falls due.
//!
//! `AbortIncompleteMultipartUpload`: an upload initiated more than
//! `DaysAfterInitiation` lifecycle days ago, under a rule's prefix, is aborted (its parts'
//! chunks become garbage for the collector). The uploads are read oldest first from the
//! index's initiation-time table, between the engine's cursor and the oldest cutoff of any
//! rule, so a run costs what is old, not what the buckets hold; the cursor moves past uploads
//! settled for good and survives restarts.
//!
//! A lifecycle "day" lasts `day` (`[lifecycle] day_seconds`, 86400 by default), so tests can
//! watch rules fire in seconds.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::index::{AgedUpload, Index, IndexError, LifecycleRule, LifecycleWork};
use crate::maintenance::lease::MaintenanceLease;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleReport {
    /// What expiration did to versions (keys examined, versions expired, removed, held).
    #[serde(flatten)]
    pub versions: LifecycleWork,
    /// Keys walked because their bucket's rules changed (part of `versions.examined`).
    pub keys_walked: u64,
    /// Uploads looked at.
    pub uploads_examined: u64,
    /// Uploads aborted by an AbortIncompleteMultipartUpload rule.
    pub uploads_aborted: u64,
    /// Where the next run starts (ms since the epoch, initiation time).
    pub cursor: i64,
    /// Buckets with rules.
    pub buckets: u64,
}

impl LifecycleReport {
    /// One line for people.
    pub fn summary(&self) -> String {
        let v = &self.versions;
        format!(
            "{} keys examined ({} walked after a rule change): {} current versions expired, \
             {} noncurrent versions removed, {} delete markers removed, {} held by a lock, \
             {} failed; {} uploads examined, {} aborted",
            v.examined,
            self.keys_walked,
            v.expired,
            v.noncurrent_removed,
            v.markers_removed,
            v.held,
            v.failed,
            self.uploads_examined,
            self.uploads_aborted
        )
    }
}

/// The engine.
#[derive(Clone)]
pub struct Lifecycle {
    index: Arc<Index>,
    /// The last run's report and when it ended (ms), for `floe admin status`.
    last: Arc<std::sync::Mutex<Option<(i64, LifecycleReport)>>>,
    /// How long a lifecycle day lasts.
    pub day: Duration,
    /// Uploads read per index call.
    pub batch: usize,
}

impl Lifecycle {
    pub fn new(index: Arc<Index>, day: Duration) -> Self {
        Self {
            index,
            last: Arc::default(),
            day,
            batch: 1000,
        }
    }

    /// The last run's report and when it ended (ms since the epoch).
    pub fn last_run(&self) -> Option<(i64, LifecycleReport)> {
        self.last.lock().ok().and_then(|last| *last)
    }

    fn days(&self, days: u32) -> i64 {
        i64::try_from(self.day.as_millis())
            .unwrap_or(i64::MAX)
            .saturating_mul(i64::from(days))
    }

    /// One run over every bucket's rules.
    pub async fn run_once(&self, now: i64) -> Result<LifecycleReport, IndexError> {
        let report = self.run(now).await?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some((crate::objects::now_millis(), report));
        }
        Ok(report)
    }

    async fn run(&self, now: i64) -> Result<LifecycleReport, IndexError> {
        // Expiration failing (a damaged entry, a store refusing) must not stop the uploads'
        // rules: both run, and the first error is reported after.
        let expired = self.expire(now).await;
        let mut report = self.abort_uploads(now).await?;
        let (versions, keys_walked) = expired?;
        report.versions = versions;
        report.keys_walked = keys_walked;
        crate::metrics::metrics().observe_lifecycle(&report);
        Ok(report)
    }

    /// Expiration: walks the buckets whose rules changed, then works on every key due by
    /// `now`; what it did, and how many keys the walks took.
    async fn expire(&self, now: i64) -> Result<(LifecycleWork, u64), IndexError> {
        let mut work = LifecycleWork::default();
        let mut walked = 0;
        let batch = self.batch;
        for bucket in self.index.call(|ix| ix.lifecycle_backfills()).await? {
            loop {
                let b = bucket.clone();
                let walk = self
                    .index
                    .call(move |ix| ix.lifecycle_backfill(&b, now, batch))
                    .await;
                match walk {
                    Ok((page, done)) => {
                        work += page;
                        walked += page.examined;
                        if done {
                            break;
                        }
                    }
                    // The walk resumes from its cursor at the next run; other buckets go on.
                    Err(e) => {
                        tracing::error!(bucket, error = %e, "lifecycle: walk of a bucket failed");
                        work.failed += 1;
                        break;
                    }
                }
            }
        }
        let mut after = None;
        loop {
            let from = after.clone();
            let due = self
                .index
                .call(move |ix| ix.lifecycle_due(from.as_ref(), now, batch))
                .await?;
            if due.is_empty() {
                break;
            }
            let page = due.clone();
            let taken = match self
                .index
                .call(move |ix| ix.lifecycle_apply(&page, now))
                .await
            {
                Ok((done, taken)) => {
                    work += done;
                    taken
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lifecycle: a page failed; retrying its keys one by one");
                    work += self.apply_one_by_one(&due, now).await?;
                    due.len()
                }
            };
            let Some(last) = due.get(taken.max(1) - 1).cloned() else {
                break;
            };
            if taken == due.len() && due.len() < batch {
                break;
            }
            after = Some(last);
        }
        if work != LifecycleWork::default() {
            tracing::info!(
                examined = work.examined,
                expired = work.expired,
                noncurrent_removed = work.noncurrent_removed,
                markers_removed = work.markers_removed,
                held = work.held,
                failed = work.failed,
                "lifecycle: expiration"
            );
        }
        Ok((work, walked))
    }

    /// The keys of a failed page, each in its own transaction; a key that fails alone is
    /// logged and looked at again a lifecycle day later.
    async fn apply_one_by_one(
        &self,
        due: &[crate::index::DueKey],
        now: i64,
    ) -> Result<LifecycleWork, IndexError> {
        let mut work = LifecycleWork::default();
        let day = self.days(1);
        for row in due {
            let one = vec![row.clone()];
            match self
                .index
                .call(move |ix| ix.lifecycle_apply(&one, now))
                .await
            {
                Ok((done, _)) => work += done,
                Err(e) => {
                    let (_, bucket, key) = row.clone();
                    tracing::error!(
                        bucket,
                        key,
                        error = %e,
                        "lifecycle: a key failed; looking at it again in a day"
                    );
                    work.failed += 1;
                    self.index
                        .call(move |ix| ix.lifecycle_postpone(&bucket, &key, now + day))
                        .await?;
                }
            }
        }
        Ok(work)
    }

    /// AbortIncompleteMultipartUpload.
    async fn abort_uploads(&self, now: i64) -> Result<LifecycleReport, IndexError> {
        let state = self.index.call(|ix| ix.lifecycle_state()).await?;
        let mut report = LifecycleReport {
            buckets: state.rules.len() as u64,
            cursor: state.cursor,
            ..LifecycleReport::default()
        };
        let by_bucket: HashMap<String, Vec<LifecycleRule>> = state.rules.into_iter().collect();
        // Nothing initiated after the most recent cutoff can be due.
        let newest_cutoff = by_bucket
            .values()
            .flatten()
            .filter(|r| r.enabled)
            .filter_map(|r| r.abort_upload_days)
            .map(|days| now.saturating_sub(self.days(days)))
            .max();
        let Some(until) = newest_cutoff else {
            return Ok(report);
        };
        let mut cursor = state.cursor;
        // Uploads not yet due under their own rule hold the cursor back.
        let mut held = false;
        // Pages go by (initiation time, upload id), so a millisecond shared by more uploads
        // than a page holds is never cut short.
        let mut after: Option<(i64, String)> = None;
        loop {
            let batch = self.batch;
            let from = after.clone();
            let page = self
                .index
                .call(move |ix| {
                    let from = match &from {
                        Some((at, id)) => (*at, Some(id.as_str())),
                        None => (state.cursor, None),
                    };
                    ix.uploads_initiated(from, until, batch)
                })
                .await?;
            for upload in &page {
                report.uploads_examined += 1;
                match self.verdict(&by_bucket, upload, now) {
                    Verdict::Due => {
                        let id = upload.id.clone();
                        match self.index.call(move |ix| ix.abort_upload(&id)).await {
                            Ok(()) => {
                                report.uploads_aborted += 1;
                                tracing::info!(
                                    upload = upload.id,
                                    bucket = upload.bucket,
                                    key = upload.key,
                                    "lifecycle: incomplete multipart upload aborted"
                                );
                            }
                            // Completed or aborted meanwhile.
                            Err(IndexError::NoSuchUpload) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Verdict::NotYet => held = true,
                    Verdict::NoRule => {}
                }
                if !held {
                    cursor = upload.initiated;
                }
            }
            match page.last() {
                Some(last) if page.len() == self.batch => {
                    after = Some((last.initiated, last.id.clone()));
                }
                _ => break,
            }
        }
        let generation = state.generation;
        // Rules changed during the run: the cursor stays where the change put it.
        if cursor > report.cursor
            && self
                .index
                .call(move |ix| ix.advance_lifecycle_cursor(cursor, generation))
                .await?
        {
            report.cursor = cursor;
        }
        Ok(report)
    }

    fn verdict(
        &self,
        rules: &HashMap<String, Vec<LifecycleRule>>,
        upload: &AgedUpload,
        now: i64,
    ) -> Verdict {
        let matching = rules.get(&upload.bucket).into_iter().flatten().filter(|r| {
            r.enabled && r.abort_upload_days.is_some() && upload.key.starts_with(&r.filter.prefix)
        });
        let mut verdict = Verdict::NoRule;
        for rule in matching {
            let days = rule.abort_upload_days.unwrap_or(u32::MAX);
            if upload.initiated < now.saturating_sub(self.days(days)) {
                return Verdict::Due;
            }
            verdict = Verdict::NotYet;
        }
        verdict
    }

    /// Runs every `interval` while this gateway holds the maintenance `lease`.
    pub fn spawn(
        self,
        interval: Duration,
        lease: Arc<MaintenanceLease>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        crate::runtime::periodic::every("lifecycle", interval, shutdown, move || {
            let this = self.clone();
            let lease = lease.clone();
            async move {
                if !lease.held() {
                    return Ok(LifecycleReport::default());
                }
                this.run_once(crate::objects::now_millis()).await
            }
        })
    }
}

enum Verdict {
    Due,
    NotYet,
    NoRule,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::LifecycleFilter;
    use crate::index::testkit::*;

    fn rule(prefix: &str, days: u32) -> LifecycleRule {
        LifecycleRule {
            id: format!("abort-{prefix}"),
            enabled: true,
            filter: LifecycleFilter {
                prefix: prefix.into(),
                ..LifecycleFilter::default()
            },
            abort_upload_days: Some(days),
            ..LifecycleRule::default()
        }
    }

    fn upload(index: &Index, bucket: &str, key: &str, initiated: i64) -> String {
        let id = format!("{bucket}-{key}-{initiated}");
        index
            .create_upload(&id, &upload_record(bucket, key, initiated))
            .unwrap();
        id
    }

    /// With 1-second days: due uploads under a rule's prefix go, others stay, an upload not
    /// yet due holds the cursor back, a rule change starts over, and pages cut inside one
    /// millisecond miss nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn incomplete_uploads_are_aborted_by_their_rules_only() {
        let (_dir, index) = temp_index();
        let index = Arc::new(index);
        index.create_bucket("a", &bucket_record()).unwrap();
        index.create_bucket("b", &bucket_record()).unwrap();
        index
            .update_bucket_config("a", |c| c.lifecycle = Some(vec![rule("tmp/", 1)]))
            .unwrap();
        index
            .update_bucket_config("b", |c| c.lifecycle = Some(vec![rule("", 5)]))
            .unwrap();
        let old_tmp = upload(&index, "a", "tmp/x", 1_000);
        let old_kept = upload(&index, "a", "keep/x", 1_000);
        let b_young = upload(&index, "b", "y", 6_000);
        let a_new = upload(&index, "a", "tmp/new", 10_500);
        let engine = Lifecycle::new(index.clone(), Duration::from_secs(1));

        let report = engine.run_once(10_000).await.unwrap();
        assert_eq!(report.uploads_aborted, 1);
        assert!(index.upload(&old_tmp).unwrap().is_none());
        for kept in [&old_kept, &b_young, &a_new] {
            assert!(index.upload(kept).unwrap().is_some(), "{kept}");
        }
        // b's upload (4 s old, rule of 5 days) is not yet due: the cursor waits before it.
        assert_eq!(report.cursor, 1_000, "{report:?}");

        let report = engine.run_once(11_500).await.unwrap();
        assert_eq!(report.uploads_aborted, 1, "b's upload is due now");
        assert!(index.upload(&b_young).unwrap().is_none());

        // A new rule for keep/ sees the old upload the cursor had passed.
        index
            .update_bucket_config("a", |c| {
                c.lifecycle = Some(vec![rule("tmp/", 1), rule("keep/", 1)])
            })
            .unwrap();
        let report = engine.run_once(20_000).await.unwrap();
        assert_eq!(report.uploads_aborted, 2, "keep/x and tmp/new");
        assert!(index.upload(&old_kept).unwrap().is_none());
        assert!(index.upload(&a_new).unwrap().is_none());

        // Five uploads in one millisecond, pages of two: all are seen.
        let same: Vec<String> = (0..5)
            .map(|i| upload(&index, "a", &format!("tmp/same-{i}"), 30_000))
            .collect();
        let mut small = Lifecycle::new(index.clone(), Duration::from_secs(1));
        small.batch = 2;
        let report = small.run_once(40_000).await.unwrap();
        assert_eq!(report.uploads_aborted, 5, "{report:?}");
        for id in &same {
            assert!(index.upload(id).unwrap().is_none(), "{id}");
        }
    }

    /// A run that read the rules before they changed does not move the cursor past uploads
    /// the new rules may take.
    #[test]
    fn a_rule_change_during_a_run_keeps_the_cursor() {
        let (_dir, index) = temp_index();
        index.create_bucket("a", &bucket_record()).unwrap();
        index
            .update_bucket_config("a", |c| c.lifecycle = Some(vec![rule("tmp/", 1)]))
            .unwrap();
        let before = index.lifecycle_state().unwrap();
        index
            .update_bucket_config("a", |c| c.lifecycle = Some(vec![rule("", 1)]))
            .unwrap();
        assert!(
            !index
                .advance_lifecycle_cursor(5_000, before.generation)
                .unwrap()
        );
        let after = index.lifecycle_state().unwrap();
        assert_eq!(after.cursor, 0);
        assert!(
            index
                .advance_lifecycle_cursor(5_000, after.generation)
                .unwrap()
        );
        // Tags do not touch the rules: the cursor stays.
        index
            .update_bucket_config("a", |c| c.tags = Some(vec![("k".into(), "v".into())]))
            .unwrap();
        assert_eq!(index.lifecycle_state().unwrap().cursor, 5_000);
    }
}
