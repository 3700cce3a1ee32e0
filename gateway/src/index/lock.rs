//! Object lock's vocabulary and rules: a version's retention and legal hold, a bucket's lock
//! configuration, and the pure decisions "may this version go now?" and "may its retention
//! change so?".
//!
//! The rules are pure functions of the lock, the change and the time, so they are tested
//! against any clock (`lock_tests`) and applied the same by every path that removes a version:
//! the S3 API, DeleteObjects, admin commands and whatever comes later (lifecycle). A version's
//! lock is part of its stamp (`object_entry`), so it is stored, listed, copied to the nodes and
//! restored with the version itself: losing the index cannot unlock anything.

use serde::{Deserialize, Serialize};

use super::UnixMillis;

/// S3's retention modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetentionMode {
    /// Removable or shortenable early, by a caller allowed to bypass governance who asks to.
    Governance,
    /// Nobody, root included, can remove it or shorten it before its date.
    Compliance,
}

impl RetentionMode {
    /// The name S3 gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Governance => "GOVERNANCE",
            Self::Compliance => "COMPLIANCE",
        }
    }
}

/// A version's retention: protected until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub mode: RetentionMode,
    pub until: UnixMillis,
}

impl Retention {
    /// Whether it still protects at `now`: up to, not including, its date.
    pub fn active(&self, now: UnixMillis) -> bool {
        now < self.until
    }
}

/// The lock state of one object version. Delete markers never carry one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLock {
    pub retention: Option<Retention>,
    pub legal_hold: bool,
}

/// Why a version may not go, or its retention may not change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockRefusal {
    #[error("the object is under legal hold")]
    LegalHold,
    #[error("the object is under COMPLIANCE retention until {0} (ms since the epoch)")]
    Compliance(UnixMillis),
    #[error(
        "the object is under GOVERNANCE retention until {0} (ms since the epoch); \
         removing it early needs x-amz-bypass-governance-retention"
    )]
    Governance(UnixMillis),
}

impl ObjectLock {
    pub const NONE: Self = Self {
        retention: None,
        legal_hold: false,
    };

    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }

    /// Whether the version may be removed for good at `now`; with `bypass_governance`, a
    /// GOVERNANCE retention does not stop it. A legal hold and COMPLIANCE always do.
    pub fn check_removal(
        &self,
        now: UnixMillis,
        bypass_governance: bool,
    ) -> Result<(), LockRefusal> {
        if self.legal_hold {
            return Err(LockRefusal::LegalHold);
        }
        match self.retention {
            Some(r) if r.active(now) => match r.mode {
                RetentionMode::Compliance => Err(LockRefusal::Compliance(r.until)),
                RetentionMode::Governance if bypass_governance => Ok(()),
                RetentionMode::Governance => Err(LockRefusal::Governance(r.until)),
            },
            _ => Ok(()),
        }
    }

    /// Whether the retention may become `new` at `now`. Lengthening (or keeping) it, and
    /// turning GOVERNANCE into COMPLIANCE, is always allowed; COMPLIANCE can never be
    /// shortened, removed or weakened; GOVERNANCE can, with `bypass_governance`. An expired
    /// retention protects nothing.
    pub fn check_retention_change(
        &self,
        new: Option<Retention>,
        now: UnixMillis,
        bypass_governance: bool,
    ) -> Result<(), LockRefusal> {
        let Some(old) = self.retention.filter(|r| r.active(now)) else {
            return Ok(());
        };
        let keeps = new.is_some_and(|n| {
            n.until >= old.until
                && (n.mode == RetentionMode::Compliance || old.mode == RetentionMode::Governance)
        });
        match (keeps, old.mode) {
            (true, _) => Ok(()),
            (false, RetentionMode::Compliance) => Err(LockRefusal::Compliance(old.until)),
            (false, RetentionMode::Governance) if bypass_governance => Ok(()),
            (false, RetentionMode::Governance) => Err(LockRefusal::Governance(old.until)),
        }
    }
}

/// A removal of a version for good, as its lock is judged: when, and whether the caller asked
/// (and may) bypass GOVERNANCE retention. Every removal in the index takes one, so none can
/// skip the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    pub now: UnixMillis,
    pub bypass_governance: bool,
}

impl Removal {
    pub fn check(&self, lock: &ObjectLock) -> Result<(), LockRefusal> {
        lock.check_removal(self.now, self.bypass_governance)
    }
}

/// A bucket's default retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetentionPeriod {
    Days(u32),
    Years(u32),
}

const DAY_MILLIS: i64 = 86_400_000;

impl RetentionPeriod {
    /// The date a version written at `now` is retained until. A year is 365 days, as AWS
    /// counts it for default retention.
    pub fn from(&self, now: UnixMillis) -> UnixMillis {
        let days = match *self {
            Self::Days(d) => i64::from(d),
            Self::Years(y) => i64::from(y) * 365,
        };
        now.saturating_add(days.saturating_mul(DAY_MILLIS))
    }
}

/// The retention every new version of a bucket gets when its write names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    pub mode: RetentionMode,
    pub period: RetentionPeriod,
}

/// A bucket's object lock configuration: present means enabled, which can never be undone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketLock {
    pub default_retention: Option<DefaultRetention>,
}

impl BucketLock {
    /// The lock a new version written at `now` gets: what its write asked for, with the
    /// bucket's default retention when it asked for none.
    pub fn lock_for(&self, asked: ObjectLock, now: UnixMillis) -> ObjectLock {
        ObjectLock {
            retention: asked.retention.or_else(|| {
                self.default_retention.map(|d| Retention {
                    mode: d.mode,
                    until: d.period.from(now),
                })
            }),
            legal_hold: asked.legal_hold,
        }
    }
}

/// A lock change asked for on an existing version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockChange {
    /// PutObjectRetention: the new retention (`None` removes it).
    Retention {
        retention: Option<Retention>,
        bypass_governance: bool,
    },
    /// PutObjectLegalHold.
    LegalHold(bool),
}

impl LockChange {
    /// `lock` after this change at `now`, or why it is refused.
    pub fn apply(&self, lock: ObjectLock, now: UnixMillis) -> Result<ObjectLock, LockRefusal> {
        match *self {
            Self::Retention {
                retention,
                bypass_governance,
            } => {
                lock.check_retention_change(retention, now, bypass_governance)?;
                Ok(ObjectLock { retention, ..lock })
            }
            Self::LegalHold(on) => Ok(ObjectLock {
                legal_hold: on,
                ..lock
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: UnixMillis = 1_800_000_000_000;

    fn retention(mode: RetentionMode, until: UnixMillis) -> ObjectLock {
        ObjectLock {
            retention: Some(Retention { mode, until }),
            legal_hold: false,
        }
    }

    /// Time travel: a retained version becomes removable exactly at its date, not a
    /// millisecond before, whatever its mode.
    #[test]
    fn a_version_becomes_removable_exactly_when_its_retention_ends() {
        for mode in [RetentionMode::Compliance, RetentionMode::Governance] {
            let lock = retention(mode, T);
            for now in [0, T - 86_400_000, T - 1] {
                assert!(lock.check_removal(now, false).is_err(), "{mode:?} at {now}");
            }
            for now in [T, T + 1, i64::MAX] {
                assert_eq!(lock.check_removal(now, false), Ok(()), "{mode:?} at {now}");
            }
        }
        // Bypass only ever lifts GOVERNANCE.
        assert_eq!(
            retention(RetentionMode::Governance, T).check_removal(T - 1, true),
            Ok(())
        );
        assert_eq!(
            retention(RetentionMode::Compliance, T).check_removal(T - 1, true),
            Err(LockRefusal::Compliance(T))
        );
    }

    #[test]
    fn a_legal_hold_protects_regardless_of_time_and_bypass() {
        let held = ObjectLock {
            retention: None,
            legal_hold: true,
        };
        assert_eq!(
            held.check_removal(i64::MAX, true),
            Err(LockRefusal::LegalHold)
        );
        let expired = ObjectLock {
            legal_hold: true,
            ..retention(RetentionMode::Governance, T)
        };
        assert_eq!(
            expired.check_removal(T + 1, true),
            Err(LockRefusal::LegalHold)
        );
        assert_eq!(ObjectLock::NONE.check_removal(0, false), Ok(()));
    }

    #[test]
    fn compliance_can_only_grow() {
        let lock = retention(RetentionMode::Compliance, T);
        let now = T - 1000;
        let later = Retention {
            mode: RetentionMode::Compliance,
            until: T + 1,
        };
        assert_eq!(lock.check_retention_change(Some(later), now, false), Ok(()));
        for bypass in [false, true] {
            let refused = [
                None,
                Some(Retention {
                    mode: RetentionMode::Compliance,
                    until: T - 1,
                }),
                Some(Retention {
                    mode: RetentionMode::Governance,
                    until: T + 1,
                }),
            ];
            for new in refused {
                assert_eq!(
                    lock.check_retention_change(new, now, bypass),
                    Err(LockRefusal::Compliance(T)),
                    "{new:?} bypass={bypass}"
                );
            }
        }
        // Once expired, it protects nothing.
        assert_eq!(lock.check_retention_change(None, T, false), Ok(()));
    }

    #[test]
    fn governance_weakens_only_with_bypass_and_may_become_compliance() {
        let lock = retention(RetentionMode::Governance, T);
        let now = T - 1000;
        let shorter = Some(Retention {
            mode: RetentionMode::Governance,
            until: T - 1,
        });
        for new in [None, shorter] {
            assert_eq!(
                lock.check_retention_change(new, now, false),
                Err(LockRefusal::Governance(T))
            );
            assert_eq!(lock.check_retention_change(new, now, true), Ok(()));
        }
        let stronger = Some(Retention {
            mode: RetentionMode::Compliance,
            until: T,
        });
        assert_eq!(lock.check_retention_change(stronger, now, false), Ok(()));
    }

    #[test]
    fn changes_apply_retention_and_hold_independently() {
        let lock = retention(RetentionMode::Compliance, T);
        let held = LockChange::LegalHold(true).apply(lock, 0).unwrap();
        assert_eq!(held.retention, lock.retention);
        assert!(held.legal_hold);
        let released = LockChange::LegalHold(false).apply(held, 0).unwrap();
        assert_eq!(released, lock);
        let removed = LockChange::Retention {
            retention: None,
            bypass_governance: true,
        };
        assert!(removed.apply(held, T - 1).is_err());
        assert_eq!(removed.apply(held, T).unwrap().retention, None);
    }

    #[test]
    fn default_retention_counts_days_and_years_from_the_write() {
        let bucket = BucketLock {
            default_retention: Some(DefaultRetention {
                mode: RetentionMode::Governance,
                period: RetentionPeriod::Years(1),
            }),
        };
        let lock = bucket.lock_for(ObjectLock::NONE, T);
        assert_eq!(lock.retention.unwrap().until, T + 365 * DAY_MILLIS);
        // A legal hold alone still gets the default retention; an explicit one wins.
        let held = ObjectLock {
            retention: None,
            legal_hold: true,
        };
        assert_eq!(
            bucket.lock_for(held, T),
            ObjectLock {
                legal_hold: true,
                ..lock
            }
        );
        let asked = retention(RetentionMode::Compliance, T + 5);
        assert_eq!(bucket.lock_for(asked, T), asked);
        assert_eq!(
            BucketLock::default().lock_for(ObjectLock::NONE, T),
            ObjectLock::NONE
        );
        assert_eq!(RetentionPeriod::Days(2).from(T), T + 2 * DAY_MILLIS);
    }
}
