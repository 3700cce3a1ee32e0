//! The evaluator against a table: the cases of AWS's policy evaluation logic (explicit deny
//! wins, allow from either identity or bucket policy, implicit deny), wildcards, `NotAction`,
//! `NotResource`, `NotPrincipal`, policy variables, conditions, and anonymous callers.

use s3s_policy::model::Policy;

use super::evaluate::{Decision, PolicyKind, decide, validate};
use super::request::{AccessRequest, Context, Principal};

fn policy(json: &str) -> Policy {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("policy {json}: {e}"))
}

const READ_PHOTOS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":["s3:GetObject","s3:ListBucket"],
  "Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"]}]}"#;
const DENY_DELETE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny",
  "Action":"s3:DeleteObject","Resource":"*"}]}"#;
const ALL_S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":"s3:*","Resource":"*"}]}"#;
const GET_STAR: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":"s3:Get*","Resource":"arn:aws:s3:::photos/2024/???.jpg"}]}"#;
const ALL_BUT_DELETE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "NotAction":["s3:DeleteObject","s3:DeleteBucket*"],"Resource":"*"}]}"#;
const ONLY_PUBLIC: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"s3:*","Resource":"*"},
  {"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::public","arn:aws:s3:::public/*"]}]}"#;
const HOME_DIRS: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::home",
   "Condition":{"StringLike":{"s3:prefix":["${aws:username}/*"]}}},
  {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],
   "Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#;
const OFFICE_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"s3:*","Resource":"*",
   "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.1.0/24"]}}},
  {"Effect":"Deny","Action":"s3:*","Resource":"*",
   "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
const PUBLIC_READ_BUCKET: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#;
const BUCKET_GRANTS_BOB: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::000000000000:user/bob"]},
   "Action":"s3:PutObject","Resource":"arn:aws:s3:::drop/*"},
  {"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:DeleteObject",
   "Resource":"arn:aws:s3:::drop/*"}]}"#;
const BUCKET_DENIES_ALL_BUT_ADMIN: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Deny","NotPrincipal":{"AWS":"admin"},"Action":"s3:*",
   "Resource":["arn:aws:s3:::vault","arn:aws:s3:::vault/*"]}]}"#;
const NO_PUBLIC_ACL: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"s3:PutObject","Resource":"*"},
  {"Effect":"Deny","Action":"s3:PutObject","Resource":"*",
   "Condition":{"StringEquals":{"s3:x-amz-acl":["public-read","public-read-write"]}}}]}"#;
const TAGGED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":"s3:GetObject","Resource":"*",
  "Condition":{"StringEquals":{"s3:ExistingObjectTag/team":"blue"}}}]}"#;
const UNTIL_2027: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":"s3:*","Resource":"*",
  "Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"},
               "NumericLessThanEquals":{"s3:max-keys":"100"}}}]}"#;
const PRINCIPAL_IN_IDENTITY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":"*","Action":"s3:*","Resource":"*"}]}"#;

struct Case {
    name: &'static str,
    identity: &'static [&'static str],
    bucket: Option<&'static str>,
    who: Option<&'static str>,
    action: &'static str,
    resource: &'static str,
    context: &'static [(&'static str, &'static str)],
    want: Decision,
}

use Decision::{Allow, ExplicitDeny as Deny, ImplicitDeny as Implicit};

#[rustfmt::skip]
const CASES: &[Case] = &[
    // The evaluation logic itself.
    Case { name: "no policy at all", identity: &[], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::photos/a.jpg", context: &[], want: Implicit },
    Case { name: "identity allow", identity: &[READ_PHOTOS], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::photos/a.jpg", context: &[], want: Allow },
    Case { name: "identity allow, other action", identity: &[READ_PHOTOS], bucket: None, who: Some("alice"), action: "s3:PutObject", resource: "arn:aws:s3:::photos/a.jpg", context: &[], want: Implicit },
    Case { name: "identity allow, other bucket", identity: &[READ_PHOTOS], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::secrets/a.jpg", context: &[], want: Implicit },
    Case { name: "explicit deny beats allow", identity: &[ALL_S3, DENY_DELETE], bucket: None, who: Some("alice"), action: "s3:DeleteObject", resource: "arn:aws:s3:::photos/a.jpg", context: &[], want: Deny },
    Case { name: "deny of another action leaves the allow", identity: &[ALL_S3, DENY_DELETE], bucket: None, who: Some("alice"), action: "s3:PutObject", resource: "arn:aws:s3:::photos/a.jpg", context: &[], want: Allow },
    Case { name: "bucket policy allows a user with no identity policy", identity: &[], bucket: Some(BUCKET_GRANTS_BOB), who: Some("bob"), action: "s3:PutObject", resource: "arn:aws:s3:::drop/x", context: &[], want: Allow },
    Case { name: "bucket policy names another user", identity: &[], bucket: Some(BUCKET_GRANTS_BOB), who: Some("carol"), action: "s3:PutObject", resource: "arn:aws:s3:::drop/x", context: &[], want: Implicit },
    Case { name: "bucket deny beats identity allow", identity: &[ALL_S3], bucket: Some(BUCKET_GRANTS_BOB), who: Some("bob"), action: "s3:DeleteObject", resource: "arn:aws:s3:::drop/x", context: &[], want: Deny },
    Case { name: "NotPrincipal deny spares the named user", identity: &[ALL_S3], bucket: Some(BUCKET_DENIES_ALL_BUT_ADMIN), who: Some("admin"), action: "s3:GetObject", resource: "arn:aws:s3:::vault/k", context: &[], want: Allow },
    Case { name: "NotPrincipal deny hits everyone else", identity: &[ALL_S3], bucket: Some(BUCKET_DENIES_ALL_BUT_ADMIN), who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::vault/k", context: &[], want: Deny },
    // Anonymous callers.
    Case { name: "anonymous read of a public-read bucket", identity: &[ALL_S3], bucket: Some(PUBLIC_READ_BUCKET), who: None, action: "s3:GetObject", resource: "arn:aws:s3:::site/index.html", context: &[], want: Allow },
    Case { name: "anonymous write to a public-read bucket", identity: &[ALL_S3], bucket: Some(PUBLIC_READ_BUCKET), who: None, action: "s3:PutObject", resource: "arn:aws:s3:::site/index.html", context: &[], want: Implicit },
    Case { name: "anonymous listing of a public-read bucket", identity: &[], bucket: Some(PUBLIC_READ_BUCKET), who: None, action: "s3:ListBucket", resource: "arn:aws:s3:::site", context: &[], want: Implicit },
    Case { name: "anonymous, no bucket policy, identity policies ignored", identity: &[ALL_S3], bucket: None, who: None, action: "s3:GetObject", resource: "arn:aws:s3:::photos/a", context: &[], want: Implicit },
    Case { name: "anonymous is not a named user", identity: &[], bucket: Some(BUCKET_GRANTS_BOB), who: None, action: "s3:PutObject", resource: "arn:aws:s3:::drop/x", context: &[], want: Implicit },
    // Wildcards.
    Case { name: "action wildcard", identity: &[GET_STAR], bucket: None, who: Some("alice"), action: "s3:GetObjectTagging", resource: "arn:aws:s3:::photos/2024/abc.jpg", context: &[], want: Allow },
    Case { name: "action wildcard is case-insensitive", identity: &[GET_STAR], bucket: None, who: Some("alice"), action: "S3:getobject", resource: "arn:aws:s3:::photos/2024/abc.jpg", context: &[], want: Allow },
    Case { name: "? is exactly one character", identity: &[GET_STAR], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::photos/2024/abcd.jpg", context: &[], want: Implicit },
    Case { name: "resources are case-sensitive", identity: &[GET_STAR], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::Photos/2024/abc.jpg", context: &[], want: Implicit },
    Case { name: "bucket/* does not cover the bucket", identity: &[PUBLIC_READ_BUCKET], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::site", context: &[], want: Implicit },
    // NotAction and NotResource.
    Case { name: "NotAction allows what it does not list", identity: &[ALL_BUT_DELETE], bucket: None, who: Some("alice"), action: "s3:PutObject", resource: "arn:aws:s3:::b/k", context: &[], want: Allow },
    Case { name: "NotAction leaves out what it lists", identity: &[ALL_BUT_DELETE], bucket: None, who: Some("alice"), action: "s3:DeleteBucketPolicy", resource: "arn:aws:s3:::b", context: &[], want: Implicit },
    Case { name: "NotResource deny spares its resources", identity: &[ONLY_PUBLIC], bucket: None, who: Some("alice"), action: "s3:PutObject", resource: "arn:aws:s3:::public/x", context: &[], want: Allow },
    Case { name: "NotResource deny hits the others", identity: &[ONLY_PUBLIC], bucket: None, who: Some("alice"), action: "s3:PutObject", resource: "arn:aws:s3:::private/x", context: &[], want: Deny },
    // Policy variables.
    Case { name: "${aws:username} in a resource", identity: &[HOME_DIRS], bucket: None, who: Some("bob"), action: "s3:PutObject", resource: "arn:aws:s3:::home/bob/notes.txt", context: &[], want: Allow },
    Case { name: "${aws:username} is not someone else", identity: &[HOME_DIRS], bucket: None, who: Some("bob"), action: "s3:GetObject", resource: "arn:aws:s3:::home/alice/notes.txt", context: &[], want: Implicit },
    Case { name: "${aws:username} in a condition", identity: &[HOME_DIRS], bucket: None, who: Some("bob"), action: "s3:ListBucket", resource: "arn:aws:s3:::home", context: &[("s3:prefix", "bob/photos/")], want: Allow },
    Case { name: "listing another home", identity: &[HOME_DIRS], bucket: None, who: Some("bob"), action: "s3:ListBucket", resource: "arn:aws:s3:::home", context: &[("s3:prefix", "alice/")], want: Implicit },
    Case { name: "listing without a prefix", identity: &[HOME_DIRS], bucket: None, who: Some("bob"), action: "s3:ListBucket", resource: "arn:aws:s3:::home", context: &[], want: Implicit },
    // Conditions.
    Case { name: "from the office over TLS", identity: &[OFFICE_ONLY], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: &[ ("aws:SourceIp", "10.3.2.1"), ("aws:SecureTransport", "true"), ], want: Allow },
    Case { name: "from elsewhere", identity: &[OFFICE_ONLY], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: &[("aws:SourceIp", "8.8.8.8"), ("aws:SecureTransport", "true")], want: Implicit },
    Case { name: "from the office in plain HTTP", identity: &[OFFICE_ONLY], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: &[ ("aws:SourceIp", "192.168.1.9"), ("aws:SecureTransport", "false"), ], want: Deny },
    Case { name: "a private PUT", identity: &[NO_PUBLIC_ACL], bucket: None, who: Some("alice"), action: "s3:PutObject", resource: "arn:aws:s3:::b/k", context: &[("s3:x-amz-acl", "private")], want: Allow },
    Case { name: "a PUT without an ACL", identity: &[NO_PUBLIC_ACL], bucket: None, who: Some("alice"), action: "s3:PutObject", resource: "arn:aws:s3:::b/k", context: &[], want: Allow },
    Case { name: "a public-read PUT", identity: &[NO_PUBLIC_ACL], bucket: None, who: Some("alice"), action: "s3:PutObject", resource: "arn:aws:s3:::b/k", context: &[("s3:x-amz-acl", "public-read")], want: Deny },
    Case { name: "an object with the team's tag", identity: &[TAGGED], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: &[("s3:ExistingObjectTag/team", "blue")], want: Allow },
    Case { name: "an object with another team's tag", identity: &[TAGGED], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: &[("s3:ExistingObjectTag/team", "red")], want: Implicit },
    Case { name: "two conditions, both hold", identity: &[UNTIL_2027], bucket: None, who: Some("alice"), action: "s3:ListBucket", resource: "arn:aws:s3:::b", context: &[ ("aws:CurrentTime", "2026-12-06T12:00:00Z"), ("s3:max-keys", "100"), ], want: Allow },
    Case { name: "two conditions, one fails", identity: &[UNTIL_2027], bucket: None, who: Some("alice"), action: "s3:ListBucket", resource: "arn:aws:s3:::b", context: &[ ("aws:CurrentTime", "2026-12-06T12:00:00Z"), ("s3:max-keys", "1000"), ], want: Implicit },
    Case { name: "after the date", identity: &[UNTIL_2027], bucket: None, who: Some("alice"), action: "s3:ListBucket", resource: "arn:aws:s3:::b", context: &[ ("aws:CurrentTime", "2027-01-01T00:00:01Z"), ("s3:max-keys", "10"), ], want: Implicit },
    // A statement in the wrong kind of policy applies to nothing.
    Case { name: "a principal in an identity policy is void", identity: &[PRINCIPAL_IN_IDENTITY], bucket: None, who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: &[], want: Implicit },
    Case { name: "no principal in a bucket policy is void", identity: &[], bucket: Some(ALL_S3), who: Some("alice"), action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: &[], want: Implicit },
];

#[test]
fn the_table_of_decisions() {
    let mut failures = Vec::new();
    for case in CASES {
        let identity: Vec<Policy> = case.identity.iter().map(|j| policy(j)).collect();
        let identity: Vec<&Policy> = identity.iter().collect();
        let bucket = case.bucket.map(policy);
        let who = match case.who {
            Some(name) => Principal::User(name.into()),
            None => Principal::Anonymous,
        };
        let context = case
            .context
            .iter()
            .fold(Context::default(), |c, (k, v)| c.with(k, *v));
        let req = AccessRequest {
            principal: &who,
            action: case.action,
            resource: case.resource,
            context: &context,
        };
        let got = decide(&identity, bucket.as_ref(), &req);
        if got != case.want {
            failures.push(format!("{}: got {got:?}, want {:?}", case.name, case.want));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn policies_are_checked_before_they_are_stored() {
    let ok = [
        (READ_PHOTOS, PolicyKind::Identity),
        (HOME_DIRS, PolicyKind::Identity),
        (UNTIL_2027, PolicyKind::Identity),
        (PUBLIC_READ_BUCKET, PolicyKind::Bucket),
        (BUCKET_DENIES_ALL_BUT_ADMIN, PolicyKind::Bucket),
    ];
    for (json, kind) in ok {
        assert_eq!(validate(&policy(json), kind), Ok(()), "{json}");
    }
    let bad = [
        (PRINCIPAL_IN_IDENTITY, PolicyKind::Identity, "principal"),
        (READ_PHOTOS, PolicyKind::Bucket, "principal"),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*"}]}"#,
            PolicyKind::Identity,
            "not an S3 action",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:sqs:::q"}]}"#,
            PolicyKind::Identity,
            "not an S3 ARN",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*",
              "Condition":{"StringSoundsLike":{"s3:prefix":"x"}}}]}"#,
            PolicyKind::Identity,
            "unknown condition operator",
        ),
    ];
    for (json, kind, why) in bad {
        let err = validate(&policy(json), kind).unwrap_err();
        assert!(err.contains(why), "{err}");
    }
}

/// Block Public Access's notion of public: a grant to everyone, unless a condition pins it to
/// fixed callers.
#[test]
fn public_policies_are_told_from_pinned_ones() {
    use super::evaluate::is_public;
    let with_condition = |condition: &str| {
        policy(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*",
              "Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*","Condition":{condition}}}]}}"#
        ))
    };
    assert!(is_public(&policy(PUBLIC_READ_BUCKET)));
    assert!(
        !is_public(&policy(BUCKET_GRANTS_BOB)),
        "a named user is not the public"
    );
    assert!(
        !is_public(&policy(BUCKET_DENIES_ALL_BUT_ADMIN)),
        "a deny grants nothing"
    );
    for (condition, public) in [
        (r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, false),
        (
            r#"{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","0.0.0.0/0"]}}"#,
            true,
        ),
        (r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, true),
        (r#"{"StringEquals":{"aws:SourceVpc":"vpc-1"}}"#, false),
        (r#"{"StringLike":{"aws:SourceVpc":"vpc-*"}}"#, true),
        (
            r#"{"StringEqualsIfExists":{"aws:SourceAccount":"1"}}"#,
            true,
        ),
        (r#"{"StringLike":{"s3:prefix":"docs/"}}"#, true),
        (r#"{"Bool":{"aws:SecureTransport":"true"}}"#, true),
    ] {
        assert_eq!(is_public(&with_condition(condition)), public, "{condition}");
    }
}
