//! Lifecycle expiration in the index: the due-date table, the write path's scheduling into it,
//! and the engine's work on one key.
//!
//! `lifecycle_due` holds rows (when, bucket, key): "look at this key's versions at `when`",
//! one per key, the earliest (`lifecycle_due_keys` finds it by key).
//! A write in a bucket whose rules expire versions adds a row at the earliest time anything it
//! made may fall due ([`schedule_write`]; tag and size filters are left to that look, so the
//! row may come early, never late). The engine reads the rows that are due, oldest first, and
//! in one transaction per page carries out what the rules say for each key, removes its row
//! and adds the key's next due time, if it has one ([`Index::lifecycle_apply`]). So a run
//! costs what falls due, never what the buckets hold, and the table is its own cursor: a
//! restart resumes where the last run stopped.
//!
//! A change of a bucket's rules must reach the keys already there: it queues the bucket in
//! `lifecycle_backfill`, and the engine walks its keys once, in key order and in pages, keeping
//! the last key walked as its cursor ([`Index::lifecycle_backfill`]).
//!
//! A version under retention or legal hold is never removed: its key is looked at again when
//! the retention ends, or a day later for a legal hold, which has no end date.

use std::collections::{BTreeSet, HashMap};
use std::ops::{AddAssign, Bound};

use serde::{Deserialize, Serialize};

use super::kv::bound::{BoundTable, Source};
use super::kv::key::Str;
use super::kv::table::Bytes;
use super::lifecycle_rules::{
    Expiration, LifecycleClock, LifecycleRule, VersionFacts, current_expiry,
};
use super::lock::{LockRefusal, Removal};
use super::object_entry::decode_version_head;
use super::objects::{Version, delete_version};
use super::refcount::RefDelta;
use super::store::{LIFECYCLE_BACKFILL, LIFECYCLE_DUE, META, Tables};
use super::versioning::VersionId;
use super::{Index, IndexError, UnixMillis};

/// Key in `meta` of the length of a lifecycle day, in ms: one clock for every gateway that
/// shares the index.
const DAY_MS: &str = "lifecycle_day_ms";

/// What the engine did to the keys it looked at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleWork {
    /// Keys looked at.
    pub examined: u64,
    /// Current versions expired: a delete marker put on top, or removed in an unversioned
    /// bucket.
    pub expired: u64,
    /// Noncurrent versions (and noncurrent delete markers) removed for good.
    pub noncurrent_removed: u64,
    /// Delete markers removed because nothing else was left of their key.
    pub markers_removed: u64,
    /// Versions found due but kept by their retention or legal hold, at each look (the key is
    /// looked at again when the lock may have ended).
    pub held: u64,
    /// Keys (or walks of a bucket) the engine failed on, logged and tried again later.
    pub failed: u64,
}

impl AddAssign for LifecycleWork {
    fn add_assign(&mut self, other: Self) {
        self.examined += other.examined;
        self.expired += other.expired;
        self.noncurrent_removed += other.noncurrent_removed;
        self.markers_removed += other.markers_removed;
        self.held += other.held;
        self.failed += other.failed;
    }
}

/// What waits for the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleBacklog {
    /// Buckets whose keys are still to be walked (their rules changed).
    pub walks: u64,
    /// Keys due now (counted up to a cap).
    pub due_now: u64,
    /// The earliest due time of any key (ms since the epoch).
    pub next_due: Option<UnixMillis>,
}

/// A row of `lifecycle_due`.
pub type DueKey = (UnixMillis, String, String);

/// The lifecycle clock of the index (a day, unless `[lifecycle] day_seconds` set another).
pub(super) fn clock<C: Source + ?Sized>(
    meta: &BoundTable<'_, Str, u64, C>,
) -> Result<LifecycleClock, IndexError> {
    Ok(match meta.get(DAY_MS)?.map(|v| v.value()) {
        Some(ms) if ms > 0 => LifecycleClock {
            day_ms: i64::try_from(ms).unwrap_or(i64::MAX),
        },
        _ => LifecycleClock::DAY,
    })
}

/// The rules of `bucket` when some of them expire versions.
pub(super) fn expiring_rules<C: Source + ?Sized>(
    configs: &BoundTable<'_, Str, Bytes, C>,
    bucket: &str,
) -> Result<Option<Vec<LifecycleRule>>, IndexError> {
    let Some(stored) = configs.get(bucket)? else {
        return Ok(None);
    };
    let config = super::bucket_config::decode_config(bucket, stored.value())?;
    Ok(config
        .lifecycle
        .filter(|rules| rules.iter().any(LifecycleRule::expires_versions)))
}

/// What a write made of a key.
#[derive(Clone, Copy)]
pub(super) enum Made<'a> {
    /// A new current object version (whatever was current before is now noncurrent, or gone).
    Object(VersionFacts<'a>),
    /// A delete marker on top.
    Marker,
    /// A version removed for good (the one below may be current now, or a marker alone), a
    /// version's tags changed, or a version restored: the key is looked at now.
    Changed,
}

/// The expiring rules of `bucket`, if it still exists.
fn live_rules(t: &Tables<'_>, bucket: &str) -> Result<Option<Vec<LifecycleRule>>, IndexError> {
    match t.buckets.get(bucket)? {
        Some(_) => expiring_rules(&t.bucket_config, bucket),
        None => Ok(None),
    }
}

/// Versions one page of due keys removes at most (one transaction).
pub const PAGE_REMOVALS: u64 = 5_000;

/// Schedules `bucket/key` after a write at `now` that made `made`, if the bucket's rules may
/// act on it; returns a new current object's expiry and rule, for `x-amz-expiration`. Costs
/// one read of the bucket's configuration when it has no expiring rules.
pub(super) fn schedule_write(
    t: &mut Tables<'_>,
    bucket: &str,
    key: &str,
    now: UnixMillis,
    made: Made<'_>,
) -> Result<Option<(UnixMillis, String)>, IndexError> {
    let Some(rules) = expiring_rules(&t.bucket_config, bucket)? else {
        return Ok(None);
    };
    let clock = clock(&t.meta)?;
    let mut due: Option<UnixMillis> = None;
    let mut sooner = |at: UnixMillis| due = Some(due.map_or(at, |d| d.min(at)));
    let mut expiry = None;
    if let Made::Object(facts) = made
        && let Some((at, rule)) = current_expiry(&rules, key, facts, clock)
    {
        sooner(at);
        expiry = Some((at, rule.to_owned()));
    }
    // What was current became noncurrent now, if the bucket kept it.
    let mut demoted = None;
    for rule in rules
        .iter()
        .filter(|r| r.expires_versions() && r.filter.may_match(key))
    {
        if let (Made::Object(_) | Made::Marker, Some(noncurrent)) = (made, rule.noncurrent) {
            let kept = match demoted {
                Some(kept) => kept,
                None => *demoted.insert(kept_below(t, bucket, key, made)?),
            };
            if kept {
                sooner(clock.after_days(now, noncurrent.days));
            }
        }
        match (made, rule.expiration) {
            // A marker may be alone now: an ExpiredObjectDeleteMarker rule removes it at once,
            // a Days rule once it is as old as the rule's days.
            (Made::Marker, Some(Expiration::ExpiredMarker)) if rule.removes_expired_marker(key) => {
                sooner(now)
            }
            (Made::Marker, Some(Expiration::Days(days))) if rule.filter.matches_marker(key) => {
                sooner(clock.after_days(now, days))
            }
            (Made::Changed, _) => sooner(now),
            _ => {}
        }
    }
    if let Some(at) = due {
        schedule(t, bucket, key, at)?;
    }
    Ok(expiry)
}

/// Whether the write `made` left a version below the key's newest one: a row of
/// `object_versions` besides the marker it may have put on top.
fn kept_below(t: &Tables<'_>, bucket: &str, key: &str, made: Made<'_>) -> Result<bool, IndexError> {
    let skip = usize::from(matches!(made, Made::Marker));
    let mut rows = t
        .object_versions
        .range((bucket, key, 0)..=(bucket, key, u64::MAX))?
        .skip(skip);
    Ok(rows.next().transpose()?.is_some())
}

/// Makes `at` the key's due time unless it has an earlier one.
fn schedule(t: &mut Tables<'_>, bucket: &str, key: &str, at: UnixMillis) -> Result<(), IndexError> {
    if let Some(old) = t.lifecycle_due_keys.get((bucket, key))?.map(|v| v.value()) {
        if old <= at {
            return Ok(());
        }
        t.lifecycle_due.remove((old, bucket, key))?;
    }
    t.lifecycle_due.insert((at, bucket, key), ())?;
    t.lifecycle_due_keys.insert((bucket, key), at)?;
    Ok(())
}

/// Takes the key off the due table.
fn unschedule(t: &mut Tables<'_>, bucket: &str, key: &str) -> Result<(), IndexError> {
    if let Some(old) = t.lifecycle_due_keys.remove((bucket, key))? {
        let old = old.value();
        t.lifecycle_due.remove((old, bucket, key))?;
    }
    Ok(())
}

/// Queues a walk of `bucket`'s keys, from the start, if its rules expire versions: its rules
/// changed (or were restored).
pub(super) fn rules_changed(
    t: &mut Tables<'_>,
    bucket: &str,
    rules: Option<&[LifecycleRule]>,
) -> Result<(), IndexError> {
    if rules.is_some_and(|r| r.iter().any(LifecycleRule::expires_versions)) {
        t.lifecycle_backfill.insert(bucket, [0u8].as_slice())?;
    } else {
        t.lifecycle_backfill.remove(bucket)?;
    }
    Ok(())
}

/// When to look again at a version whose lock refused its removal at `now`.
fn retry_after(refusal: &LockRefusal, now: UnixMillis, clock: LifecycleClock) -> UnixMillis {
    match refusal {
        LockRefusal::Compliance(until) | LockRefusal::Governance(until) => (*until).max(now + 1),
        LockRefusal::LegalHold => now.saturating_add(clock.day_ms),
    }
}

/// Removes the version `id` of `bucket/key` for good as the engine does (no governance
/// bypass); the lock's refusal if it protects the version. The engine's transaction goes on
/// after a refusal, which is sound because `delete_version` checks a named version's lock
/// before it writes anything.
fn remove(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    id: VersionId,
    now: UnixMillis,
) -> Result<Result<(), LockRefusal>, IndexError> {
    let removal = Removal {
        now,
        bypass_governance: false,
    };
    match delete_version(t, delta, bucket, key, Some(id), None, removal) {
        Ok(_) => Ok(Ok(())),
        Err(IndexError::ObjectLocked(refusal)) => Ok(Err(refusal)),
        Err(e) => Err(e),
    }
}

/// Every version of `bucket/key`, newest first (the first is current).
fn chain_of(t: &Tables<'_>, bucket: &str, key: &str) -> Result<Vec<Version>, IndexError> {
    let mut out = Vec::new();
    if let Some(current) = t.objects.get((bucket, key))? {
        out.push(decode_version_head(
            format_args!("object {bucket}/{key}"),
            current.value(),
        )?);
    }
    for row in t
        .object_versions
        .range((bucket, key, 0)..=(bucket, key, u64::MAX))?
    {
        let (_, value) = row?;
        out.push(decode_version_head(
            format_args!("a version of {bucket}/{key}"),
            value.value(),
        )?);
    }
    Ok(out)
}

fn created(version: &Version) -> UnixMillis {
    match version {
        Version::Object(_, record) => record.modified,
        Version::Marker(_, marker) => marker.modified,
    }
}

/// Carries out `rules` on `bucket/key` at `now`, and schedules the key's next due time.
/// At most `budget` versions are removed (it is spent as they are); a key left with more to do
/// is due again at `now`, so one key of many versions never makes one huge transaction.
fn work_on_key(
    t: &mut Tables<'_>,
    bucket: &str,
    key: &str,
    rules: &[LifecycleRule],
    (now, clock): (UnixMillis, LifecycleClock),
    budget: &mut u64,
) -> Result<LifecycleWork, IndexError> {
    let mut work = LifecycleWork {
        examined: 1,
        ..LifecycleWork::default()
    };
    let mut delta = RefDelta::default();
    let mut next: Option<UnixMillis> = None;
    let later = |at: UnixMillis, next: &mut Option<UnixMillis>| {
        *next = Some(next.map_or(at, |n| n.min(at)));
    };

    // The current object, when its rule's day or date has come.
    let mut chain = chain_of(t, bucket, key)?;
    if let Some(Version::Object(_, record)) = chain.first()
        && let Some((at, _)) = current_expiry(rules, key, record.into(), clock)
    {
        if at <= now && *budget == 0 {
            later(now, &mut next);
        } else if at <= now {
            *budget -= 1;
            let removal = Removal {
                now,
                bypass_governance: false,
            };
            match delete_version(t, &mut delta, bucket, key, None, None, removal) {
                Ok(_) => work.expired += 1,
                // Only a bucket restored without its settings can hold a locked version and
                // be unversioned.
                Err(IndexError::ObjectLocked(refusal)) => {
                    work.held += 1;
                    later(retry_after(&refusal, now, clock), &mut next);
                }
                Err(e) => return Err(e),
            }
            chain = chain_of(t, bucket, key)?;
        } else {
            later(at, &mut next);
        }
    }

    // Noncurrent versions: each has been noncurrent since the version above it was made.
    let mut kept_newer = 0u32;
    for i in 1..chain.len() {
        if *budget == 0 {
            // The rest waits for the next page; the marker on top is not alone.
            later(now, &mut next);
            kept_newer += 1;
            break;
        }
        let since = created(&chain[i - 1]);
        let version = &chain[i];
        let facts = match version {
            Version::Object(_, record) => Some(VersionFacts::from(record)),
            Version::Marker(..) => None,
        };
        // A rule still keeping newer versions schedules nothing: the write that makes one
        // more noncurrent version schedules the key again.
        let due = rules
            .iter()
            .filter_map(|r| r.noncurrent_expiry(key, facts, since, clock))
            .filter(|(_, keep)| kept_newer >= *keep)
            .map(|(at, _)| at)
            .min();
        match due {
            Some(at) if at <= now => {
                match remove(t, &mut delta, bucket, key, version.stamp().id(), now)? {
                    Ok(()) => {
                        *budget -= 1;
                        work.noncurrent_removed += 1;
                        continue;
                    }
                    Err(refusal) => {
                        work.held += 1;
                        later(retry_after(&refusal, now, clock), &mut next);
                    }
                }
            }
            Some(at) => later(at, &mut next),
            None => {}
        }
        kept_newer += 1;
    }

    // A delete marker that is all that is left of its key: an ExpiredObjectDeleteMarker rule
    // removes it at once; a Days rule, as S3 does, once it is as old as the rule's days.
    if let Some(Version::Marker(stamp, marker)) = chain.first()
        && kept_newer == 0
    {
        let mut due = rules
            .iter()
            .filter(|r| r.removes_expired_marker(key))
            .map(|_| now)
            .chain(rules.iter().filter_map(|r| match r.expiration {
                Some(Expiration::Days(days)) if r.enabled && r.filter.matches_marker(key) => {
                    Some(clock.after_days(marker.modified, days))
                }
                _ => None,
            }))
            .min();
        if let Some(at) = due.take_if(|at| *at > now) {
            later(at, &mut next);
        } else if due.is_some() && remove(t, &mut delta, bucket, key, stamp.id(), now)?.is_ok() {
            *budget = budget.saturating_sub(1);
            work.markers_removed += 1;
        }
    }
    delta.apply(t)?;

    // This look covered everything due until now, including what its own removals scheduled.
    unschedule(t, bucket, key)?;
    if let Some(at) = next {
        schedule(t, bucket, key, at)?;
    }
    Ok(work)
}

/// Where a bucket's walk stands: after the key stored behind a format byte (0). (Walks
/// queued by builds of this round that walked in two phases resume from their key too; what
/// they walked again is harmless.)
fn decode_walk(value: &[u8]) -> String {
    match value.split_first() {
        Some((_, rest)) => String::from_utf8_lossy(rest).into_owned(),
        None => String::new(),
    }
}

fn encode_walk(after: &str) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(after.as_bytes());
    out
}

/// Up to `limit` distinct keys of `bucket` after `after`, in key order, whether their newest
/// version is an object (`objects`) or a marker (`object_versions` only). The first `limit`
/// keys of each table hold the first `limit` of both together.
fn walk_keys(
    t: &Tables<'_>,
    bucket: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<String>, IndexError> {
    let mut keys = BTreeSet::new();
    let start = Bound::Excluded((bucket, after));
    for row in t.objects.range((start, Bound::Unbounded))?.take(limit) {
        let (k, _) = row?;
        let (b, key) = k.value();
        if b != bucket {
            break;
        }
        keys.insert(key.to_owned());
    }
    let start = Bound::Excluded((bucket, after, u64::MAX));
    let (mut distinct, mut last) = (0, String::new());
    for row in t.object_versions.range((start, Bound::Unbounded))? {
        let (k, _) = row?;
        let (b, key, _) = k.value();
        if b != bucket {
            break;
        }
        if key != last {
            if distinct == limit {
                break;
            }
            distinct += 1;
            key.clone_into(&mut last);
            keys.insert(key.to_owned());
        }
    }
    Ok(keys.into_iter().take(limit).collect())
}

impl Index {
    /// Sets the length of a lifecycle day for every gateway sharing this index.
    pub fn set_lifecycle_day(&self, day: std::time::Duration) -> Result<(), IndexError> {
        let ms = u64::try_from(day.as_millis()).unwrap_or(u64::MAX).max(1);
        let stored = {
            let txn = self.read()?;
            txn.open_table(META)?.get(DAY_MS)?.map(|v| v.value())
        };
        if stored == Some(ms) {
            return Ok(());
        }
        self.write(|t| {
            t.meta.insert(DAY_MS, ms)?;
            Ok(())
        })
    }

    /// Up to `limit` rows of `lifecycle_due` due at `now`, oldest first, after `after` (the
    /// last row of the previous page).
    pub fn lifecycle_due(
        &self,
        after: Option<&DueKey>,
        now: UnixMillis,
        limit: usize,
    ) -> Result<Vec<DueKey>, IndexError> {
        let txn = self.read()?;
        let due = txn.open_table(LIFECYCLE_DUE)?;
        let start = match after {
            Some((at, bucket, key)) => Bound::Excluded((*at, bucket.as_str(), key.as_str())),
            None => Bound::Included((i64::MIN, "", "")),
        };
        let end = Bound::Excluded((now.saturating_add(1), "", ""));
        let mut out = Vec::new();
        for row in due.range((start, end))?.take(limit) {
            let (k, _) = row?;
            let (at, bucket, key) = k.value();
            out.push((at, bucket.to_owned(), key.to_owned()));
        }
        Ok(out)
    }

    /// Carries out the rules on the keys of `due` (rows of `lifecycle_due`) at `now`, in one
    /// transaction: each row goes, and its key's next due time, if any, takes its place. Stops
    /// once [`PAGE_REMOVALS`] versions are removed; returns what it did and how many rows it
    /// took (the engine's next page starts after the last of them).
    pub fn lifecycle_apply(
        &self,
        due: &[DueKey],
        now: UnixMillis,
    ) -> Result<(LifecycleWork, usize), IndexError> {
        self.lifecycle_apply_within(due, now, PAGE_REMOVALS)
    }

    /// [`Index::lifecycle_apply`] removing at most `removals` versions.
    pub(super) fn lifecycle_apply_within(
        &self,
        due: &[DueKey],
        now: UnixMillis,
        removals: u64,
    ) -> Result<(LifecycleWork, usize), IndexError> {
        self.write(|t| {
            let clock = clock(&t.meta)?;
            let mut rules: HashMap<&str, Option<Vec<LifecycleRule>>> = HashMap::new();
            let mut work = LifecycleWork::default();
            let mut budget = removals;
            let mut taken = 0;
            for (_, bucket, key) in due {
                if budget == 0 {
                    break;
                }
                taken += 1;
                unschedule(t, bucket, key)?;
                if !rules.contains_key(bucket.as_str()) {
                    rules.insert(bucket, live_rules(t, bucket)?);
                }
                // Rules removed since the row was written: nothing to do.
                if let Some(Some(rules)) = rules.get(bucket.as_str()) {
                    work += work_on_key(t, bucket, key, rules, (now, clock), &mut budget)?;
                }
            }
            Ok((work, taken))
        })
    }

    /// Looks at `bucket/key` again at `at` (instead of when it was due): for a key the engine
    /// failed on.
    pub fn lifecycle_postpone(
        &self,
        bucket: &str,
        key: &str,
        at: UnixMillis,
    ) -> Result<(), IndexError> {
        self.write(|t| {
            unschedule(t, bucket, key)?;
            schedule(t, bucket, key, at)
        })
    }

    /// What waits for the engine at `now`: buckets to walk, keys due (counted up to `cap`),
    /// and the earliest due time.
    pub fn lifecycle_backlog(
        &self,
        now: UnixMillis,
        cap: usize,
    ) -> Result<LifecycleBacklog, IndexError> {
        let txn = self.read()?;
        let walks = txn.open_table(LIFECYCLE_BACKFILL)?.range(..)?.count() as u64;
        let due = txn.open_table(LIFECYCLE_DUE)?;
        let mut backlog = LifecycleBacklog {
            walks,
            ..LifecycleBacklog::default()
        };
        for row in due.range(..)?.take(cap) {
            let (at, _, _) = row?.0.value();
            backlog.next_due.get_or_insert(at);
            if at > now {
                break;
            }
            backlog.due_now += 1;
        }
        Ok(backlog)
    }

    /// The buckets whose keys the engine must walk (their rules changed).
    pub fn lifecycle_backfills(&self) -> Result<Vec<String>, IndexError> {
        let txn = self.read()?;
        let table = txn.open_table(LIFECYCLE_BACKFILL)?;
        let mut out = Vec::new();
        for row in table.range(..)? {
            out.push(row?.0.value().to_owned());
        }
        Ok(out)
    }

    /// Walks the next `limit` keys of `bucket`'s walk at `now`, carrying out its rules on each,
    /// in one transaction; whether the walk is over.
    pub fn lifecycle_backfill(
        &self,
        bucket: &str,
        now: UnixMillis,
        limit: usize,
    ) -> Result<(LifecycleWork, bool), IndexError> {
        self.write(|t| {
            let Some(stored) = t.lifecycle_backfill.get(bucket)? else {
                return Ok((LifecycleWork::default(), true));
            };
            let after = decode_walk(stored.value());
            drop(stored);
            let Some(rules) = live_rules(t, bucket)? else {
                t.lifecycle_backfill.remove(bucket)?;
                return Ok((LifecycleWork::default(), true));
            };
            let clock = clock(&t.meta)?;
            let keys = walk_keys(t, bucket, &after, limit)?;
            let mut work = LifecycleWork::default();
            // A walk's page is bounded by its keys; its removals are not.
            let mut budget = u64::MAX;
            for key in &keys {
                work += work_on_key(t, bucket, key, &rules, (now, clock), &mut budget)?;
            }
            let done = match keys.last() {
                Some(last) if keys.len() == limit => {
                    t.lifecycle_backfill
                        .insert(bucket, encode_walk(last).as_slice())?;
                    false
                }
                _ => {
                    t.lifecycle_backfill.remove(bucket)?;
                    true
                }
            };
            Ok((work, done))
        })
    }
}
