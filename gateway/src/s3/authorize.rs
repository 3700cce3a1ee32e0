//! Authorization of every S3 request before it acts: who signed it (the root key, a user's
//! key, or nobody), and whether the policies in force allow what it needs.
//!
//! - [`Guard::check`] runs for every request, after s3s has checked the signature: it names the
//!   caller, attaches a [`Caller`] to the request, and checks the operation's own action on
//!   its bucket or object;
//! - the per-operation hooks check what an operation needs beyond that: a copy's source, each
//!   key of a multi-object delete (a denied key becomes that key's AccessDenied, the others go
//!   on), the GOVERNANCE bypass, and canned ACLs;
//! - handlers ask the [`Caller`] about other buckets: ListBuckets shows only those the caller
//!   may list, and CreateBucket records its owner.
//!
//! Decisions are `crate::access`'s; this module gathers their inputs: the user's identity
//! policies (`identity::Directory`), the bucket's policy, ACL and public access block (the
//! index), and the condition context of the request. The root key may do everything.

use std::sync::Arc;

use s3s::access::{S3Access, S3AccessContext};
use s3s::dto::{
    BucketCannedACL, CopyObjectInput, CopySource, CreateBucketInput, CreateMultipartUploadInput,
    DeleteObjectInput, DeleteObjectsInput, ObjectCannedACL, PutBucketAclInput, PutObjectAclInput,
    PutObjectInput, PutObjectRetentionInput, UploadPartCopyInput,
};
use s3s::path::S3Path;
use s3s::{S3Request, S3Result};
use s3s_policy::model::Policy;

use crate::access::{
    AccessRequest, BYPASS_GOVERNANCE, Context, Decision, Principal, Target, action_of, bucket_arn,
    copy_source_action, decide, is_public, object_arn,
};
use crate::identity::Directory;
use crate::index::{BucketAccess, CannedAcl, IndexError};
use crate::objects::{ObjectService, now_millis};
use crate::runtime::http_server::Peer;
use crate::runtime::query::{parse_query, query_pairs};

/// The resource ARN of account-wide actions (ListBuckets).
const ALL_BUCKETS: &str = "arn:aws:s3:::*";

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// The root key of the config: may do everything.
    Root,
    /// A user of the index, with the key it signed with.
    User { name: String, key: String },
    /// No signature.
    Anonymous,
}

/// The caller of one request, attached to it by [`Guard::check`].
#[derive(Clone)]
pub struct Caller(Arc<CallerState>);

struct CallerState {
    who: Who,
    /// The user's identity policies (none for root and anonymous callers).
    policies: Vec<Policy>,
    /// An STS session's policy: it narrows what the identity may do, never widens it.
    session: Option<Policy>,
    /// Whether a policy reads `s3:ExistingObjectTag/...`, so objects' tags must be looked up.
    reads_tags: bool,
    context: Context,
    svc: ObjectService,
}

/// Multi-object delete keys refused by [`Guard`], for the handler to report per key.
#[derive(Debug, Clone, Default)]
pub struct DeniedKeys(pub Vec<(String, Option<String>)>);

impl Caller {
    pub fn who(&self) -> &Who {
        &self.0.who
    }

    /// The user a bucket made by this caller belongs to (`None` for the root key).
    pub fn user(&self) -> Option<&str> {
        match &self.0.who {
            Who::User { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The root key itself: no policy applies (its STS sessions are narrowed by theirs).
    pub fn unrestricted(&self) -> bool {
        self.0.who == Who::Root && self.0.session.is_none()
    }

    /// Whether the policies in force allow `action` on `bucket` (and `key`, for an object
    /// action, in `version` if named: its tags are the ones conditions read); `bucket` empty for
    /// account actions.
    pub async fn allows(&self, action: &str, on: On<'_>) -> S3Result<bool> {
        Ok(self.decide(action, on).await? == Decision::Allow)
    }

    /// Ok if allowed; else AccessDenied, logged and counted.
    pub async fn require(&self, action: &str, on: On<'_>) -> S3Result<()> {
        match self.allows(action, on).await? {
            true => Ok(()),
            false => Err(self.denied(action, on.bucket, on.key)),
        }
    }

    /// The AccessDenied for `action`, after the audit line and the metric.
    pub fn denied(&self, action: &str, bucket: &str, key: Option<&str>) -> s3s::S3Error {
        let resource = resource(bucket, key);
        let (user, access_key) = match &self.0.who {
            Who::User { name, key } => (name.as_str(), key.as_str()),
            Who::Root => ("root", ""),
            Who::Anonymous => ("anonymous", ""),
        };
        tracing::warn!(user, access_key, action, resource, "access denied");
        crate::metrics::metrics().observe_denial(action);
        s3s::s3_error!(AccessDenied, "Access Denied")
    }

    async fn decide(&self, action: &str, on: On<'_>) -> S3Result<Decision> {
        let On {
            bucket,
            key,
            version,
        } = on;
        let state = &self.0;
        let principal = match &state.who {
            Who::Root if state.session.is_none() => return Ok(Decision::Allow),
            Who::Root => Principal::User(crate::identity::ROOT_USER.to_owned()),
            Who::User { name, .. } => Principal::User(name.clone()),
            Who::Anonymous => Principal::Anonymous,
        };
        let access = self.bucket_access(bucket).await?;
        let block = access.public_block.unwrap_or_default();
        let bucket_policy = match access.policy.as_deref().map(serde_json::from_str::<Policy>) {
            None => None,
            Some(Ok(policy)) => Some(policy),
            Some(Err(e)) => {
                // Checked when it was put: unreadable now, its denies cannot be honoured, so
                // nothing is allowed until it is replaced.
                tracing::error!(bucket, error = %e, "stored bucket policy does not parse");
                return Ok(Decision::ExplicitDeny);
            }
        };
        let bucket_policy = bucket_policy
            // RestrictPublicBuckets: a public policy no longer speaks for anonymous callers.
            .filter(|p| {
                !(block.restrict_public_buckets
                    && principal == Principal::Anonymous
                    && is_public(p))
            });
        let mut context = state.context.clone();
        if let Some(key) = key
            && (state.reads_tags || bucket_policy.as_ref().is_some_and(reads_tags))
        {
            // The tags of the version asked for, else the current one's; a missing object (or
            // a delete marker, or a version id that is not one) has none.
            let version = version.and_then(|v| v.parse().ok());
            if let Ok((tags, _)) = state.svc.get_tags(bucket, key, version).await {
                for (name, value) in tags {
                    context = context.with(&format!("s3:ExistingObjectTag/{name}"), value);
                }
            }
        }
        let resource = resource(bucket, key);
        let identity: Vec<&Policy> = state.policies.iter().collect();
        let request = AccessRequest {
            principal: &principal,
            action,
            resource: &resource,
            context: &context,
        };
        let decision = match state.who {
            // The root key's session: only what its session policy allows.
            Who::Root => Decision::Allow,
            _ => decide(&identity, bucket_policy.as_ref(), &request),
        };
        // A session policy narrows: it must allow too, and its deny wins.
        let decision = match (&state.session, decision) {
            (Some(session), Decision::Allow) => decide(&[session], None, &request),
            (_, other) => other,
        };
        // The canned ACL public-read lets anyone list the bucket (as in S3: it grants READ on
        // the bucket, not on its objects), unless IgnorePublicAcls is set.
        let acl_grant = access.acl == CannedAcl::PublicRead
            && !block.ignore_public_acls
            && key.is_none()
            && action.eq_ignore_ascii_case("s3:ListBucket");
        Ok(match decision {
            Decision::ImplicitDeny if acl_grant => Decision::Allow,
            other => other,
        })
    }

    async fn bucket_access(&self, bucket: &str) -> S3Result<BucketAccess> {
        if bucket.is_empty() {
            return Ok(BucketAccess::default());
        }
        let name = bucket.to_owned();
        match self
            .0
            .svc
            .index()
            .call(move |ix| ix.bucket_access(&name))
            .await
        {
            Ok(access) => Ok(access),
            // The operation answers NoSuchBucket itself, if the caller may ask at all.
            Err(IndexError::NoSuchBucket) => Ok(BucketAccess::default()),
            Err(e) => Err(crate::objects::ObjectError::from(e).into()),
        }
    }
}

/// What a request acts on: a bucket (empty for the account), an object, one of its versions.
#[derive(Debug, Clone, Copy, Default)]
pub struct On<'a> {
    pub bucket: &'a str,
    pub key: Option<&'a str>,
    pub version: Option<&'a str>,
}

impl<'a> On<'a> {
    pub fn bucket(bucket: &'a str) -> Self {
        Self {
            bucket,
            ..Self::default()
        }
    }

    pub fn object(bucket: &'a str, key: &'a str, version: Option<&'a str>) -> Self {
        Self {
            bucket,
            key: Some(key),
            version,
        }
    }
}

fn resource(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => object_arn(bucket, key),
        None if bucket.is_empty() => ALL_BUCKETS.to_owned(),
        None => bucket_arn(bucket),
    }
}

fn reads_tags(policy: &Policy) -> bool {
    serde_json::to_string(policy)
        .is_ok_and(|json| json.to_ascii_lowercase().contains("existingobjecttag"))
}

/// The `s3s::access::S3Access` of Floe.
pub struct Guard {
    svc: ObjectService,
    directory: Arc<Directory>,
}

impl Guard {
    pub fn new(svc: ObjectService, directory: Arc<Directory>) -> Self {
        Self { svc, directory }
    }

    /// The caller of request `cx` (signed or not), with its condition context.
    async fn caller(&self, cx: &S3AccessContext<'_>, peer: Option<Peer>) -> S3Result<Caller> {
        let internal =
            |e: IndexError| -> s3s::S3Error { crate::objects::ObjectError::from(e).into() };
        let (who, policies, session) = match cx.credentials() {
            None => (Who::Anonymous, Vec::new(), None),
            Some(c) if self.directory.is_root_key(&c.access_key) => (Who::Root, Vec::new(), None),
            Some(c) => {
                let signer = self
                    .directory
                    .signer(&c.access_key, now_millis())
                    .await
                    .map_err(internal)?
                    .ok_or_else(super::errors::unknown_access_key)?;
                let session = match &signer.session {
                    None => None,
                    Some(s) => {
                        self.check_session_token(cx, &c.access_key)?;
                        // Stored only after validation; unreadable, it allows nothing.
                        let policy = s.policy.as_deref().map(|json| {
                            serde_json::from_str::<Policy>(json).unwrap_or_else(|_| deny_all())
                        });
                        Some(policy.unwrap_or_else(allow_all))
                    }
                };
                match signer.user {
                    None => (Who::Root, Vec::new(), session),
                    Some(name) => {
                        let policies = self.directory.policies_of(&name).await.map_err(internal)?;
                        let key = c.access_key.clone();
                        (Who::User { name, key }, policies, session)
                    }
                }
            }
        };
        let reads_tags = policies.iter().chain(session.as_ref()).any(reads_tags);
        // The root key itself is judged by no policy: its requests need no condition context.
        let context = match (&who, &session) {
            (Who::Root, None) => Context::default(),
            _ => request_context(cx, peer, &who)?,
        };
        Ok(Caller(Arc::new(CallerState {
            who,
            policies,
            session,
            reads_tags,
            context,
            svc: self.svc.clone(),
        })))
    }
}

impl Guard {
    /// A session key's requests carry its session token (header, or query when presigned).
    fn check_session_token(&self, cx: &S3AccessContext<'_>, access_key: &str) -> S3Result<()> {
        let query = parse_query(cx.uri().query());
        let given = cx
            .headers()
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .or_else(|| query.get("X-Amz-Security-Token").map(String::as_str));
        let expected = self.directory.session_token(access_key);
        match given.is_some_and(|given| crate::identity::same_secret(given, &expected)) {
            true => Ok(()),
            false => Err(s3s::s3_error!(
                InvalidToken,
                "The provided token is malformed or otherwise invalid."
            )),
        }
    }
}

fn policy_of(json: &str) -> Policy {
    // Fixed texts that parse; a failure would be a build defect, and then nothing is allowed.
    serde_json::from_str(json).unwrap_or_else(|_| Policy {
        version: None,
        id: None,
        statement: s3s_policy::model::OneOrMore::More(Vec::new()),
    })
}

/// A session without a policy keeps the identity's rights: it narrows by nothing (the canned
/// `admin` policy allows every S3 action).
fn allow_all() -> Policy {
    crate::access::canned("admin").unwrap_or_else(deny_all)
}

/// A session whose stored policy no longer reads allows nothing.
fn deny_all() -> Policy {
    policy_of(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
    )
}

/// The condition keys of a request: where it came from, over what, when, by whom, and the
/// S3 keys its query and headers carry.
fn request_context(cx: &S3AccessContext<'_>, peer: Option<Peer>, who: &Who) -> S3Result<Context> {
    let now = now_millis();
    let mut context = Context::default()
        .with("aws:CurrentTime", iso8601(now))
        .with("aws:EpochTime", (now / 1000).to_string());
    if let Some(peer) = peer {
        context = context
            .with("aws:SourceIp", peer.addr.ip().to_string())
            .with("aws:SecureTransport", peer.tls.to_string());
    }
    match who {
        Who::User { name, .. } => {
            context = context
                .with("aws:username", name.clone())
                .with("aws:userid", name.clone())
                .with("aws:PrincipalType", "User");
        }
        Who::Anonymous => context = context.with("aws:PrincipalType", "Anonymous"),
        Who::Root => {}
    }
    for (name, value) in query_pairs(cx.uri().query()) {
        let key = match name.as_str() {
            "prefix" => "s3:prefix",
            "delimiter" => "s3:delimiter",
            "max-keys" => "s3:max-keys",
            "versionId" => "s3:versionid",
            _ => continue,
        };
        // One value each: a policy must judge the value the operation will use.
        if context.get(key).is_some() {
            return Err(s3s::s3_error!(
                InvalidArgument,
                "query parameter {name} given more than once"
            ));
        }
        context = context.with(key, value);
    }
    if let Some(acl) = cx.headers().get("x-amz-acl").and_then(|v| v.to_str().ok()) {
        context = context.with("s3:x-amz-acl", acl.to_owned());
    }
    Ok(context)
}

fn iso8601(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The bucket and key a request's path names (empty bucket: the service).
fn path_of(path: &S3Path) -> (&str, Option<&str>) {
    match path {
        S3Path::Root => ("", None),
        S3Path::Bucket { bucket } => (bucket, None),
        S3Path::Object { bucket, key } => (bucket, Some(key)),
    }
}

/// The caller [`Guard::check`] attached to `req`.
pub(super) fn caller_of<T>(req: &S3Request<T>) -> S3Result<Caller> {
    req.extensions
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| s3s::s3_error!(InternalError, "request reached an operation unchecked"))
}

/// Refuses a canned ACL on an object that would grant more than the owner's access: Floe keeps
/// ACLs on buckets only.
fn object_acl(acl: Option<&ObjectCannedACL>) -> S3Result<()> {
    match acl.map(ObjectCannedACL::as_str) {
        None | Some(ObjectCannedACL::PRIVATE | ObjectCannedACL::BUCKET_OWNER_FULL_CONTROL) => {
            Ok(())
        }
        Some(other) => Err(s3s::s3_error!(
            AccessControlListNotSupported,
            "Object ACL {other} is not supported: Floe keeps ACLs on buckets only; grant \
             public reads with a bucket policy"
        )),
    }
}

/// Checks a canned bucket ACL: `private` and `public-read` are kept; a public one needs
/// permission to be public (BlockPublicAcls refuses it, checked when it is stored).
fn bucket_acl(acl: Option<&BucketCannedACL>) -> S3Result<()> {
    match acl.map(BucketCannedACL::as_str) {
        None | Some(BucketCannedACL::PRIVATE | BucketCannedACL::PUBLIC_READ) => Ok(()),
        Some(other) => Err(s3s::s3_error!(
            AccessControlListNotSupported,
            "Bucket ACL {other} is not supported: use private or public-read, or a bucket policy"
        )),
    }
}

/// What a copy reads: the source object, in the version it names.
fn source_of(source: &CopySource) -> S3Result<On<'_>> {
    match source {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => Ok(On::object(bucket, key, version_id.as_deref())),
        _ => Err(s3s::s3_error!(
            NotImplemented,
            "access point and outpost copy sources are not supported"
        )),
    }
}

/// What a write asks for beyond storing bytes, each needing its own permission as in AWS: a
/// retention, a legal hold, tags.
#[derive(Debug, Clone, Copy, Default)]
struct WriteExtras {
    retention: bool,
    legal_hold: bool,
    tags: bool,
}

/// The extras a write input (PutObject, CopyObject, CreateMultipartUpload) asks for: the
/// three share these field names.
macro_rules! write_extras {
    ($input:expr) => {
        WriteExtras {
            retention: $input.object_lock_mode.is_some()
                || $input.object_lock_retain_until_date.is_some(),
            legal_hold: $input.object_lock_legal_hold_status.is_some(),
            tags: $input.tagging.is_some(),
        }
    };
}

impl Caller {
    /// A copy must be allowed to read its source.
    async fn require_source(&self, source: &CopySource) -> S3Result<()> {
        let on = source_of(source)?;
        self.require(copy_source_action(on.version.is_some()), on)
            .await
    }

    /// A request bypassing GOVERNANCE retention needs `s3:BypassGovernanceRetention`.
    async fn require_bypass(&self, bypass: Option<bool>, on: On<'_>) -> S3Result<()> {
        match bypass {
            Some(true) => self.require(BYPASS_GOVERNANCE, on).await,
            _ => Ok(()),
        }
    }

    /// A write that sets a lock or tags needs the permissions to set them.
    async fn require_extras(&self, extras: WriteExtras, on: On<'_>) -> S3Result<()> {
        for (asked, action) in [
            (extras.retention, "s3:PutObjectRetention"),
            (extras.legal_hold, "s3:PutObjectLegalHold"),
            (extras.tags, "s3:PutObjectTagging"),
        ] {
            if asked {
                self.require(action, on).await?;
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl S3Access for Guard {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let peer = cx.extensions_mut().get::<Peer>().copied();
        let caller = self.caller(cx, peer).await?;
        cx.extensions_mut().insert(caller.clone());
        if caller.unrestricted() {
            return Ok(());
        }
        let op = cx.s3_op().name().to_owned();
        let (bucket, key) = path_of(cx.s3_path());
        let (bucket, key) = (bucket.to_owned(), key.map(str::to_owned));
        let version = parse_query(cx.uri().query()).remove("versionId");
        // Judged key by key in `delete_objects` below, each refusal answered in the result. An
        // unsigned caller must first be let in by a bucket policy on the bucket's objects, so
        // that nobody's body is read for nothing.
        if op == "DeleteObjects" {
            if caller.who() == &Who::Anonymous {
                let on = On::object(&bucket, "*", None);
                caller.require("s3:DeleteObject", on).await?;
            }
            return Ok(());
        }
        let Some(needed) = action_of(&op, version.is_some()) else {
            // Nothing to authorize: Floe does not serve it, and says so to everyone.
            return Err(s3s::s3_error!(NotImplemented, "{op} is not implemented"));
        };
        let on = match needed.target {
            Target::Object => On::object(&bucket, key.as_deref().unwrap_or(""), version.as_deref()),
            Target::Bucket => On::bucket(&bucket),
            Target::Account => On::default(),
        };
        if op == "ListBuckets" && caller.user().is_some() {
            // Any user may ask: the answer holds only the buckets it may list (as MinIO does),
            // so s3:ListAllMyBuckets need not be granted; an explicit Deny of it still refuses.
            return match caller.decide(needed.action, on).await? {
                Decision::ExplicitDeny => Err(caller.denied(needed.action, "", None)),
                _ => Ok(()),
            };
        }
        caller.require(needed.action, on).await
    }

    async fn copy_object(&self, req: &mut S3Request<CopyObjectInput>) -> S3Result<()> {
        let input = &req.input;
        object_acl(input.acl.as_ref())?;
        let caller = caller_of(req)?;
        caller.require_source(&input.copy_source).await?;
        let extras = write_extras!(input);
        caller
            .require_extras(extras, On::object(&input.bucket, &input.key, None))
            .await
    }

    async fn upload_part_copy(&self, req: &mut S3Request<UploadPartCopyInput>) -> S3Result<()> {
        caller_of(req)?.require_source(&req.input.copy_source).await
    }

    async fn put_object(&self, req: &mut S3Request<PutObjectInput>) -> S3Result<()> {
        let input = &req.input;
        object_acl(input.acl.as_ref())?;
        let extras = write_extras!(input);
        caller_of(req)?
            .require_extras(extras, On::object(&input.bucket, &input.key, None))
            .await
    }

    async fn create_multipart_upload(
        &self,
        req: &mut S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<()> {
        let input = &req.input;
        object_acl(input.acl.as_ref())?;
        let extras = write_extras!(input);
        caller_of(req)?
            .require_extras(extras, On::object(&input.bucket, &input.key, None))
            .await
    }

    async fn put_object_acl(&self, req: &mut S3Request<PutObjectAclInput>) -> S3Result<()> {
        object_acl(req.input.acl.as_ref())
    }

    /// A public ACL at creation needs `s3:PutBucketAcl`, and object lock at creation the
    /// permissions to configure it, as in AWS.
    async fn create_bucket(&self, req: &mut S3Request<CreateBucketInput>) -> S3Result<()> {
        let input = &req.input;
        bucket_acl(input.acl.as_ref())?;
        let caller = caller_of(req)?;
        let on = On::bucket(&input.bucket);
        let public = input
            .acl
            .as_ref()
            .is_some_and(|a| a.as_str() != BucketCannedACL::PRIVATE);
        if public {
            caller.require("s3:PutBucketAcl", on).await?;
        }
        if input.object_lock_enabled_for_bucket == Some(true) {
            caller
                .require("s3:PutBucketObjectLockConfiguration", on)
                .await?;
            caller.require("s3:PutBucketVersioning", on).await?;
        }
        Ok(())
    }

    async fn put_bucket_acl(&self, req: &mut S3Request<PutBucketAclInput>) -> S3Result<()> {
        bucket_acl(req.input.acl.as_ref())
    }

    async fn delete_object(&self, req: &mut S3Request<DeleteObjectInput>) -> S3Result<()> {
        let input = &req.input;
        let on = On::object(&input.bucket, &input.key, input.version_id.as_deref());
        caller_of(req)?
            .require_bypass(input.bypass_governance_retention, on)
            .await
    }

    async fn put_object_retention(
        &self,
        req: &mut S3Request<PutObjectRetentionInput>,
    ) -> S3Result<()> {
        let input = &req.input;
        let on = On::object(&input.bucket, &input.key, input.version_id.as_deref());
        caller_of(req)?
            .require_bypass(input.bypass_governance_retention, on)
            .await
    }

    /// Each key is its own DeleteObject (or DeleteObjectVersion): denied keys leave the
    /// request and are answered AccessDenied by the handler; the others go on.
    async fn delete_objects(&self, req: &mut S3Request<DeleteObjectsInput>) -> S3Result<()> {
        let caller = caller_of(req)?;
        let bucket = req.input.bucket.clone();
        let objects = std::mem::take(&mut req.input.delete.objects);
        let mut denied = DeniedKeys::default();
        let bypass = req.input.bypass_governance_retention == Some(true);
        for object in objects {
            let action = match object.version_id.is_some() {
                true => "s3:DeleteObjectVersion",
                false => "s3:DeleteObject",
            };
            let on = On::object(&bucket, &object.key, object.version_id.as_deref());
            let mut allowed = caller.allows(action, on).await?;
            if allowed && bypass {
                allowed = caller.allows(BYPASS_GOVERNANCE, on).await?;
            }
            match allowed {
                true => req.input.delete.objects.push(object),
                false => {
                    let _ = caller.denied(action, &bucket, Some(&object.key));
                    denied.0.push((object.key, object.version_id));
                }
            }
        }
        req.extensions.insert(denied);
        Ok(())
    }
}
