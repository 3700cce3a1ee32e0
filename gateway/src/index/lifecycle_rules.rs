//! Lifecycle rules as the index keeps them (in a bucket's configuration, after S3's validation),
//! and the pure decisions made from them: which versions a rule applies to, and when each of
//! its actions falls due. The engine (`lifecycle_due`), the write path's scheduling and the
//! `x-amz-expiration` header all decide through these, so they never disagree.

use serde::{Deserialize, Serialize};

use super::{ObjectRecord, UnixMillis};

/// Which objects (or uploads) a rule applies to: all of these must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleFilter {
    pub prefix: String,
    pub tags: Vec<(String, String)>,
    pub size_greater_than: Option<u64>,
    pub size_less_than: Option<u64>,
}

/// A rule's `Expiration`: S3 takes exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiration {
    /// The current version expires this many days after its creation.
    Days(u32),
    /// The current version expires at this midnight UTC (ms since the epoch).
    Date(UnixMillis),
    /// `ExpiredObjectDeleteMarker`: a delete marker that is all that is left of a key goes.
    ExpiredMarker,
}

/// A rule's `NoncurrentVersionExpiration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentExpiration {
    /// Days a version has been noncurrent before it goes.
    pub days: u32,
    /// `NewerNoncurrentVersions`: this many newer noncurrent versions are kept whatever their
    /// age (0: none).
    pub keep_newer: u32,
}

/// One rule, as PutBucketLifecycleConfiguration gave it (after S3's validation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    pub id: String,
    pub enabled: bool,
    pub filter: LifecycleFilter,
    /// AbortIncompleteMultipartUpload's DaysAfterInitiation.
    pub abort_upload_days: Option<u32>,
    pub expiration: Option<Expiration>,
    pub noncurrent: Option<NoncurrentExpiration>,
}

/// What the rules look at in an object version.
#[derive(Debug, Clone, Copy)]
pub struct VersionFacts<'a> {
    pub size: u64,
    /// Its creation.
    pub modified: UnixMillis,
    pub tags: &'a [(String, String)],
}

impl<'a> From<&'a ObjectRecord> for VersionFacts<'a> {
    fn from(record: &'a ObjectRecord) -> Self {
        Self {
            size: record.size,
            modified: record.modified,
            tags: &record.tags,
        }
    }
}

/// How long a lifecycle day lasts (`[lifecycle] day_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleClock {
    pub day_ms: i64,
}

impl LifecycleClock {
    pub const DAY: Self = Self { day_ms: 86_400_000 };

    /// `days` days after `from`, rounded up to the start of the next day: with real days, the
    /// next midnight UTC, as S3 counts (the epoch is a midnight).
    pub fn after_days(&self, from: UnixMillis, days: u32) -> UnixMillis {
        let day = self.day_ms.max(1);
        let at = from.saturating_add(day.saturating_mul(i64::from(days)));
        match at.rem_euclid(day) {
            0 => at,
            rest => at.saturating_add(day - rest),
        }
    }
}

impl LifecycleFilter {
    /// Whether the filter can apply to some version of `key`: its prefix alone.
    pub fn may_match(&self, key: &str) -> bool {
        key.starts_with(&self.prefix)
    }

    /// Whether it applies to the object version `record` of `key`.
    pub fn matches_object(&self, key: &str, version: VersionFacts<'_>) -> bool {
        self.may_match(key)
            && self
                .tags
                .iter()
                .all(|wanted| version.tags.iter().any(|tag| tag == wanted))
            && self.size_greater_than.is_none_or(|n| version.size > n)
            && self.size_less_than.is_none_or(|n| version.size < n)
    }

    /// Whether it applies to a delete marker of `key`: a marker has no tags and no size, so
    /// only a filter by prefix alone does.
    pub fn matches_marker(&self, key: &str) -> bool {
        self.may_match(key)
            && self.tags.is_empty()
            && self.size_greater_than.is_none()
            && self.size_less_than.is_none()
    }
}

impl LifecycleRule {
    /// When the current object version `version` of `key` expires under this rule, if it does.
    pub fn current_expiry(
        &self,
        key: &str,
        version: VersionFacts<'_>,
        clock: LifecycleClock,
    ) -> Option<UnixMillis> {
        if !self.enabled || !self.filter.matches_object(key, version) {
            return None;
        }
        match self.expiration? {
            Expiration::Days(days) => Some(clock.after_days(version.modified, days)),
            Expiration::Date(date) => Some(date),
            Expiration::ExpiredMarker => None,
        }
    }

    /// When a version of `key` noncurrent since `since` expires under this rule, if it does
    /// (`version`: `None` for a delete marker), and how many newer noncurrent versions it must
    /// leave.
    pub fn noncurrent_expiry(
        &self,
        key: &str,
        version: Option<VersionFacts<'_>>,
        since: UnixMillis,
        clock: LifecycleClock,
    ) -> Option<(UnixMillis, u32)> {
        let rule = self.noncurrent.filter(|_| self.enabled)?;
        let applies = match version {
            Some(version) => self.filter.matches_object(key, version),
            None => self.filter.matches_marker(key),
        };
        applies.then(|| (clock.after_days(since, rule.days), rule.keep_newer))
    }

    /// Whether this rule removes a delete marker of `key` that is all that is left of it.
    pub fn removes_expired_marker(&self, key: &str) -> bool {
        self.enabled
            && self.expiration == Some(Expiration::ExpiredMarker)
            && self.filter.matches_marker(key)
    }

    /// Whether the rule acts on object versions or markers (not only on uploads).
    pub fn expires_versions(&self) -> bool {
        self.enabled && (self.expiration.is_some() || self.noncurrent.is_some())
    }
}

/// The earliest expiry of the current version `version` of `key` under `rules`, with the rule
/// that sets it: what `x-amz-expiration` reports.
pub fn current_expiry<'r>(
    rules: &'r [LifecycleRule],
    key: &str,
    version: VersionFacts<'_>,
    clock: LifecycleClock,
) -> Option<(UnixMillis, &'r str)> {
    rules
        .iter()
        .filter_map(|r| Some((r.current_expiry(key, version, clock)?, r.id.as_str())))
        .min_by_key(|(at, _)| *at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::object_record;

    fn record_with_tags(tags: &[(&str, &str)]) -> ObjectRecord {
        let mut record = object_record("e");
        record.tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        record
    }

    const CLOCK: LifecycleClock = LifecycleClock { day_ms: 1_000 };

    fn rule(filter: LifecycleFilter) -> LifecycleRule {
        LifecycleRule {
            id: "r".into(),
            enabled: true,
            filter,
            expiration: Some(Expiration::Days(2)),
            noncurrent: Some(NoncurrentExpiration {
                days: 1,
                keep_newer: 3,
            }),
            ..LifecycleRule::default()
        }
    }

    #[test]
    fn days_count_from_creation_and_round_up_to_the_next_day() {
        assert_eq!(LifecycleClock::DAY.after_days(0, 1), 86_400_000);
        // Created at 10:00 on day 0: one day later rounds up to midnight starting day 2.
        assert_eq!(
            LifecycleClock::DAY.after_days(36_000_000, 1),
            2 * 86_400_000
        );
        assert_eq!(CLOCK.after_days(2_500, 2), 5_000);
    }

    #[test]
    fn filters_match_prefix_tags_and_size_and_markers_only_by_prefix() {
        let mut object = record_with_tags(&[("k", "v"), ("x", "y")]);
        object.size = 100;
        let by_tags = LifecycleFilter {
            prefix: "logs/".into(),
            tags: vec![("k".into(), "v".into())],
            size_greater_than: Some(99),
            size_less_than: Some(101),
        };
        assert!(by_tags.matches_object("logs/a", (&object).into()));
        assert!(!by_tags.matches_object("data/a", (&object).into()));
        assert!(!by_tags.matches_marker("logs/a"));
        object.size = 101;
        assert!(
            !by_tags.matches_object("logs/a", (&object).into()),
            "bounds are strict"
        );
        object.size = 100;
        object.tags = vec![("k".into(), "other".into())];
        assert!(!by_tags.matches_object("logs/a", (&object).into()));
        assert!(LifecycleFilter::default().matches_marker("anything"));
    }

    #[test]
    fn the_earliest_matching_rule_sets_the_expiry() {
        let mut object = record_with_tags(&[]);
        object.modified = 500;
        let mut late = rule(LifecycleFilter::default());
        late.id = "late".into();
        late.expiration = Some(Expiration::Days(5));
        let mut soon = rule(LifecycleFilter {
            prefix: "tmp/".into(),
            ..LifecycleFilter::default()
        });
        soon.id = "soon".into();
        let mut off = soon.clone();
        off.enabled = false;
        off.expiration = Some(Expiration::Days(1));
        let rules = [late, soon, off];
        assert_eq!(
            current_expiry(&rules, "tmp/x", (&object).into(), CLOCK),
            Some((3_000, "soon"))
        );
        assert_eq!(
            current_expiry(&rules, "x", (&object).into(), CLOCK),
            Some((6_000, "late"))
        );
        assert_eq!(
            rules[1].noncurrent_expiry("tmp/x", None, 1_200, CLOCK),
            Some((3_000, 3))
        );
        assert!(!rules[1].removes_expired_marker("tmp/x"));
    }
}
