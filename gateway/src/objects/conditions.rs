//! Conditional requests: `If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`,
//! evaluated with S3's precedence, and the write-side `If-None-Match: *` / `If-Match`.

use crate::index::ObjectRecord;

use super::error::ObjectError;
use super::types::{EtagMatch, ReadConditions, WriteConditions};

/// Strips quotes and a weak prefix, so `"abc"`, `W/"abc"` and `abc` compare equal.
pub fn normalize_etag(etag: &str) -> &str {
    let etag = etag.trim();
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    etag.trim_matches('"')
}

fn matches(condition: &EtagMatch, etag: &str) -> bool {
    match condition {
        EtagMatch::Any => true,
        EtagMatch::Tags(tags) => tags
            .iter()
            .any(|t| normalize_etag(t) == normalize_etag(etag)),
    }
}

/// HTTP dates have whole seconds: compare at that precision, or an object written at 10.500 s
/// would count as modified since a header that says 10 s.
fn seconds(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// GET/HEAD: If-Match (412) wins over If-Unmodified-Since; If-None-Match (304) wins over
/// If-Modified-Since.
pub fn check_read(c: &ReadConditions, record: &ObjectRecord) -> Result<(), ObjectError> {
    let modified = seconds(record.modified);
    if let Some(m) = &c.if_match {
        if !matches(m, &record.etag) {
            return Err(ObjectError::PreconditionFailed);
        }
    } else if let Some(t) = c.if_unmodified_since
        && modified > seconds(t)
    {
        return Err(ObjectError::PreconditionFailed);
    }
    let not_modified = || ObjectError::NotModified {
        etag: record.etag.clone(),
        modified: record.modified,
    };
    if let Some(m) = &c.if_none_match {
        if matches(m, &record.etag) {
            return Err(not_modified());
        }
    } else if let Some(t) = c.if_modified_since
        && modified <= seconds(t)
    {
        return Err(not_modified());
    }
    Ok(())
}

/// `x-amz-copy-source-if-*`: the same tests, but every failure is 412.
pub fn check_copy_source(c: &ReadConditions, record: &ObjectRecord) -> Result<(), ObjectError> {
    match check_read(c, record) {
        Err(ObjectError::NotModified { .. }) => Err(ObjectError::PreconditionFailed),
        other => other,
    }
}

/// PutObject / CompleteMultipartUpload: evaluated on the current record inside the commit.
pub fn write_allowed(c: &WriteConditions, current: Option<&ObjectRecord>) -> bool {
    if let Some(m) = &c.if_none_match
        && current.is_some_and(|r| matches(m, &r.etag))
    {
        return false;
    }
    if let Some(m) = &c.if_match {
        return current.is_some_and(|r| matches(m, &r.etag));
    }
    true
}

impl WriteConditions {
    pub fn is_empty(&self) -> bool {
        self.if_none_match.is_none() && self.if_match.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::ContentHeaders;

    fn record(etag: &str, modified: i64) -> ObjectRecord {
        ObjectRecord {
            size: 0,
            etag: etag.into(),
            modified,
            headers: ContentHeaders::default(),
            metadata: vec![],
            checksum: None,
            parts: vec![],
            tags: vec![],
        }
    }

    fn tags(t: &str) -> Option<EtagMatch> {
        Some(EtagMatch::Tags(vec![t.to_string()]))
    }

    #[test]
    fn s3_precedence() {
        let r = record("abc", 10_500);
        let ok = |c: ReadConditions| check_read(&c, &r);
        assert!(
            ok(ReadConditions {
                if_match: tags("\"abc\""),
                ..Default::default()
            })
            .is_ok()
        );
        assert!(matches!(
            ok(ReadConditions {
                if_match: tags("x"),
                ..Default::default()
            }),
            Err(ObjectError::PreconditionFailed)
        ));
        // If-Match true beats a failing If-Unmodified-Since.
        assert!(
            ok(ReadConditions {
                if_match: tags("abc"),
                if_unmodified_since: Some(0),
                ..Default::default()
            })
            .is_ok()
        );
        assert!(matches!(
            ok(ReadConditions {
                if_unmodified_since: Some(9_000),
                ..Default::default()
            }),
            Err(ObjectError::PreconditionFailed)
        ));
        assert!(
            ok(ReadConditions {
                if_unmodified_since: Some(10_000),
                ..Default::default()
            })
            .is_ok()
        );
        assert!(matches!(
            ok(ReadConditions {
                if_none_match: tags("W/\"abc\""),
                ..Default::default()
            }),
            Err(ObjectError::NotModified { .. })
        ));
        // If-None-Match false (no match) beats If-Modified-Since.
        assert!(
            ok(ReadConditions {
                if_none_match: tags("zzz"),
                if_modified_since: Some(99_000),
                ..Default::default()
            })
            .is_ok()
        );
        assert!(matches!(
            ok(ReadConditions {
                if_modified_since: Some(10_000),
                ..Default::default()
            }),
            Err(ObjectError::NotModified { .. })
        ));
        assert!(
            ok(ReadConditions {
                if_modified_since: Some(9_999),
                ..Default::default()
            })
            .is_ok()
        );
        assert!(matches!(
            check_copy_source(
                &ReadConditions {
                    if_none_match: tags("abc"),
                    ..Default::default()
                },
                &r
            ),
            Err(ObjectError::PreconditionFailed)
        ));
    }

    #[test]
    fn write_conditions() {
        let r = record("abc", 0);
        let none_star = WriteConditions {
            if_none_match: Some(EtagMatch::Any),
            if_match: None,
        };
        assert!(write_allowed(&none_star, None));
        assert!(!write_allowed(&none_star, Some(&r)));
        let if_match = WriteConditions {
            if_none_match: None,
            if_match: tags("abc"),
        };
        assert!(write_allowed(&if_match, Some(&r)));
        assert!(!write_allowed(&if_match, None));
        assert!(!write_allowed(
            &WriteConditions {
                if_none_match: None,
                if_match: tags("x")
            },
            Some(&r)
        ));
    }
}
