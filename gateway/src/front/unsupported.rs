//! Headers that ask for a feature Floe does not implement. A client that sends one believes it
//! gets what it asked for (data encrypted, deletes needing MFA, shared by an ACL), so a 200
//! that silently drops the header would be a lie. Each is refused with the error AWS gives a
//! bucket or account without the feature, naming the header. When a later change implements a
//! feature, its headers leave this table and are honoured instead.

use http::{HeaderMap, StatusCode};

use super::door::Refusal;

/// Canned ACLs that grant nothing beyond the owner's own access. AWS accepts both on buckets
/// whose ACLs are disabled (Object Ownership "BucketOwnerEnforced"), which is Floe's model:
/// the single owner has full control of everything.
/// `public-read` passes too: it is kept on buckets, and the S3 adapter's guard refuses it on
/// objects (`s3/authorize.rs`).
const OWNER_ONLY_ACLS: &[&str] = &["private", "bucket-owner-full-control", "public-read"];

/// The refusal for the first header in `headers` that asks for a missing feature.
pub fn refuse_unsupported(headers: &HeaderMap) -> Option<Refusal> {
    headers.iter().find_map(|(name, value)| {
        let name = name.as_str();
        let value = value.to_str().unwrap_or("").trim();
        if name.starts_with("x-amz-server-side-encryption")
            || name.starts_with("x-amz-copy-source-server-side-encryption")
        {
            return Some(Refusal::new(
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                format!(
                    "Server-side encryption is not implemented: header {name} is refused \
                     (Floe stores objects unencrypted)."
                ),
            ));
        }
        if name == "x-amz-mfa" {
            return Some(Refusal::new(
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                format!("MFA Delete is not implemented: header {name} is refused."),
            ));
        }
        let acl = name == "x-amz-acl"
            && !OWNER_ONLY_ACLS
                .iter()
                .any(|ok| value.eq_ignore_ascii_case(ok));
        if acl || name.starts_with("x-amz-grant-") {
            return Some(Refusal::new(
                StatusCode::BAD_REQUEST,
                "AccessControlListNotSupported",
                format!("The bucket does not allow ACLs: header {name} is refused."),
            ));
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(name: &'static str, value: &'static str) -> Option<(u16, &'static str, String)> {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
        headers.insert(name, value.parse().unwrap());
        refuse_unsupported(&headers).map(|r| (r.status.as_u16(), r.code, r.message))
    }

    #[test]
    fn feature_headers_are_refused_with_aws_codes() {
        for (name, value, status, code) in [
            (
                "x-amz-server-side-encryption",
                "aws:kms",
                501,
                "NotImplemented",
            ),
            (
                "x-amz-server-side-encryption",
                "AES256",
                501,
                "NotImplemented",
            ),
            (
                "x-amz-server-side-encryption-customer-algorithm",
                "AES256",
                501,
                "NotImplemented",
            ),
            (
                "x-amz-server-side-encryption-aws-kms-key-id",
                "k",
                501,
                "NotImplemented",
            ),
            (
                "x-amz-copy-source-server-side-encryption-customer-key",
                "k",
                501,
                "NotImplemented",
            ),
            ("x-amz-mfa", "20899872 301749", 501, "NotImplemented"),
            (
                "x-amz-acl",
                "authenticated-read",
                400,
                "AccessControlListNotSupported",
            ),
            (
                "x-amz-grant-read",
                "uri=x",
                400,
                "AccessControlListNotSupported",
            ),
            (
                "x-amz-grant-full-control",
                "id=x",
                400,
                "AccessControlListNotSupported",
            ),
        ] {
            let (s, c, message) = refused(name, value).unwrap_or_else(|| panic!("{name} passed"));
            assert_eq!((s, c), (status, code), "{name}: {value}");
            assert!(message.contains(name), "{message}");
        }
    }

    #[test]
    fn harmless_values_pass() {
        assert_eq!(refused("x-amz-acl", "private"), None);
        assert_eq!(refused("x-amz-acl", "bucket-owner-full-control"), None);
        // Kept on buckets; the guard refuses it on objects.
        assert_eq!(refused("x-amz-acl", "public-read"), None);
        // Object lock is implemented: its headers pass to the handlers.
        assert_eq!(refused("x-amz-bucket-object-lock-enabled", "true"), None);
        assert_eq!(refused("x-amz-object-lock-mode", "COMPLIANCE"), None);
        assert_eq!(refused("x-amz-meta-object-lock-mode", "x"), None);
        assert_eq!(refused("x-amz-checksum-crc32", "AAAAAA=="), None);
    }
}
