//! The bucket side of CORS: which bucket a cross-origin request names (path or virtual host)
//! and which of its rules, if any, grants it. The front (`front/cors.rs`) asks; rules are
//! matched here as S3 matches them: the first rule whose origin (one `*` allowed), method and
//! every requested header (one `*` allowed, case-insensitive) match.

use crate::front::{Cors, CorsAsk, CorsGrant};
use crate::index::CorsRule;
use crate::objects::ObjectService;

use super::server::VirtualHosts;

/// Bucket CORS rules from the index.
pub struct BucketCors {
    svc: ObjectService,
    hosts: Option<VirtualHosts>,
}

impl BucketCors {
    pub(super) fn new(svc: ObjectService, hosts: Option<VirtualHosts>) -> Self {
        Self { svc, hosts }
    }

    fn bucket_of(&self, ask: &CorsAsk) -> Option<String> {
        if let (Some(hosts), Some(host)) = (&self.hosts, &ask.host)
            && let Some((bucket, _)) = hosts.bucket_of(host)
        {
            return Some(bucket);
        }
        let first = ask.path.trim_start_matches('/').split('/').next()?;
        (!first.is_empty()).then(|| first.to_owned())
    }
}

#[async_trait::async_trait]
impl Cors for BucketCors {
    async fn grant(&self, ask: &CorsAsk) -> Option<CorsGrant> {
        let bucket = self.bucket_of(ask)?;
        let rules = self.svc.bucket_config(&bucket).await.ok()?.cors?;
        matching(&rules, ask)
    }
}

/// Whether `pattern` (with at most one `*`, which S3 allows in CORS rules; `?` is a plain
/// character there) matches `text`.
fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.len() >= head.len() + tail.len() && text.starts_with(head) && text.ends_with(tail)
        }
    }
}

/// The grant of the first rule that matches `ask`.
pub fn matching(rules: &[CorsRule], ask: &CorsAsk) -> Option<CorsGrant> {
    rules.iter().find_map(|rule| {
        let origin = rule
            .allowed_origins
            .iter()
            .find(|o| wildcard(o, &ask.origin))?;
        rule.allowed_methods.iter().find(|m| **m == ask.method)?;
        let headers_ok = ask.headers.iter().all(|h| {
            rule.allowed_headers
                .iter()
                .any(|a| wildcard(&a.to_ascii_lowercase(), h))
        });
        if !headers_ok {
            return None;
        }
        Some(CorsGrant {
            origin: match origin.as_str() {
                "*" => "*".to_owned(),
                _ => ask.origin.clone(),
            },
            methods: rule.allowed_methods.clone(),
            headers: ask.headers.clone(),
            expose: rule.expose_headers.clone(),
            max_age: rule.max_age_seconds,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(origin: &str, method: &str, headers: &[&str]) -> CorsAsk {
        CorsAsk {
            host: None,
            path: "/b/k".into(),
            origin: origin.into(),
            method: method.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
        }
    }

    #[test]
    fn the_first_matching_rule_grants() {
        let rules = vec![
            CorsRule {
                allowed_origins: vec!["https://*.example.com".into()],
                allowed_methods: vec!["GET".into(), "PUT".into()],
                allowed_headers: vec!["Content-*".into(), "x-amz-date".into()],
                expose_headers: vec!["ETag".into()],
                max_age_seconds: Some(600),
                ..CorsRule::default()
            },
            CorsRule {
                allowed_origins: vec!["*".into()],
                allowed_methods: vec!["GET".into()],
                ..CorsRule::default()
            },
        ];
        let put = matching(
            &rules,
            &ask(
                "https://app.example.com",
                "PUT",
                &["content-type", "x-amz-date"],
            ),
        )
        .unwrap();
        assert_eq!(put.origin, "https://app.example.com");
        assert_eq!(put.expose, ["ETag"]);
        assert_eq!(put.max_age, Some(600));
        // A header the first rule does not allow: no rule for PUT is left.
        assert_eq!(
            matching(
                &rules,
                &ask("https://app.example.com", "PUT", &["x-custom"])
            ),
            None
        );
        // Another origin falls through to the public GET rule.
        let get = matching(&rules, &ask("https://evil.test", "GET", &[])).unwrap();
        assert_eq!(get.origin, "*");
        assert_eq!(
            matching(&rules, &ask("https://evil.test", "PUT", &[])),
            None
        );
        assert_eq!(
            matching(&rules, &ask("https://evil.test", "DELETE", &[])),
            None
        );
    }
}
