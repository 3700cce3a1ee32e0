//! Users, keys and policies through aws-sdk-s3: three users (an admin declared in the config,
//! a read-write user confined to bucket `alpha` by a stored policy, a write-only backup user)
//! and anonymous callers, each allowed exactly what it should be and denied the rest with 403
//! AccessDenied; bucket policies, Block Public Access, canned ACLs, bucket ownership, the
//! governance bypass permission, and keys disabled, rotated and deleted.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketCannedAcl, Delete, ObjectCannedAcl, ObjectIdentifier, ObjectLockMode,
    PublicAccessBlockConfiguration,
};
use floe_gateway::runtime::config::DeclaredUser;

use crate::s3_api::harness::*;

const OPS_KEY: &str = "OPSKEY0000000001";
const OPS_SECRET: &str = "ops-secret-0123456789";

/// `alpha` only: list it, read, write and delete its objects.
const ALPHA_RW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":["s3:ListBucket","s3:GetObject","s3:PutObject","s3:DeleteObject"],
  "Resource":["arn:aws:s3:::alpha","arn:aws:s3:::alpha/*"]}]}"#;

/// A gateway with `ops` (admin) declared in its config.
async fn gateway() -> TestGateway {
    TestGateway::start_with(|c| {
        c.users = vec![DeclaredUser {
            name: "ops".into(),
            access_key: OPS_KEY.into(),
            secret_key: OPS_SECRET.into(),
            policies: vec!["admin".into()],
        }]
    })
    .await
}

/// A user made through the admin API (with the ops key), and a client signed by its new key.
async fn user(gw: &TestGateway, name: &str, policies: &[&str]) -> (Client, String, String) {
    let admin = gw.admin_as(&format!("{OPS_KEY}:{OPS_SECRET}"));
    let policies: Vec<String> = policies.iter().map(|p| p.to_string()).collect();
    admin.put_user(name, &policies).await.unwrap();
    let key = admin.create_key(name, None).await.unwrap();
    assert_eq!(key.user, name);
    (
        gw.client_with(&key.access_key, &key.secret_key),
        key.access_key,
        key.secret_key,
    )
}

fn denied<T: std::fmt::Debug, E>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    expect_err(result, 403, "AccessDenied");
}

async fn put(client: &Client, bucket: &str, key: &str) -> Result<(), String> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(format!("{bucket}/{key}").into_bytes()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(&e).to_string())
}

fn delete_of(keys: &[&str]) -> Delete {
    let objects = keys
        .iter()
        .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
        .collect();
    Delete::builder()
        .set_objects(Some(objects))
        .build()
        .unwrap()
}

async fn denials(gw: &TestGateway) -> f64 {
    let raw = raw_request(gw.admin_addr(), "GET", "/metrics", &[], Vec::new()).await;
    raw.text()
        .lines()
        .filter(|l| l.starts_with("floe_access_denials_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_users_get_exactly_their_rights() {
    let gw = gateway().await;
    let root = &gw.client;
    for bucket in ["alpha", "beta"] {
        gw.create_bucket(bucket).await;
    }
    gw.put("alpha", "one", b"alpha one").await;
    gw.put("beta", "secret", b"beta secret").await;
    let ops = gw.client_with(OPS_KEY, OPS_SECRET);
    gw.admin_as(&format!("{OPS_KEY}:{OPS_SECRET}"))
        .put_policy("alpha-rw", ALPHA_RW)
        .await
        .unwrap();
    let (web, _, _) = user(&gw, "web", &["alpha-rw"]).await;
    let (backup, _, _) = user(&gw, "backup", &["writeonly"]).await;

    // The admin may do everything.
    assert_eq!(body_of(&ops, "beta", "secret").await, b"beta secret");
    put(&ops, "beta", "by-ops").await.unwrap();

    // web: alpha, read and write; nothing of beta.
    put(&web, "alpha", "x").await.unwrap();
    assert_eq!(body_of(&web, "alpha", "x").await, b"alpha/x");
    let listed = ok(web.list_objects_v2().bucket("alpha").send().await, "list");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["one", "x"]);
    denied(web.get_object().bucket("beta").key("secret").send().await);
    expect_status(
        web.head_object().bucket("beta").key("secret").send().await,
        403,
    );
    denied(web.list_objects_v2().bucket("beta").send().await);
    assert!(
        put(&web, "beta", "y")
            .await
            .unwrap_err()
            .contains("AccessDenied")
    );
    denied(web.create_bucket().bucket("gamma").send().await);
    denied(web.delete_bucket().bucket("alpha").send().await);
    denied(
        web.put_bucket_policy()
            .bucket("alpha")
            .policy(ALPHA_RW)
            .send()
            .await,
    );
    // Copies read their source: beta -> alpha is refused, alpha -> alpha goes.
    denied(
        web.copy_object()
            .bucket("alpha")
            .key("stolen")
            .copy_source("beta/secret")
            .send()
            .await,
    );
    ok(
        web.copy_object()
            .bucket("alpha")
            .key("two")
            .copy_source("alpha/one")
            .send()
            .await,
        "copy within alpha",
    );
    // ListBuckets shows the buckets a user may list.
    let names = |out: aws_sdk_s3::operation::list_buckets::ListBucketsOutput| -> Vec<String> {
        out.buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        names(ok(web.list_buckets().send().await, "web buckets")),
        ["alpha"]
    );
    assert_eq!(
        names(ok(ops.list_buckets().send().await, "ops buckets")),
        ["alpha", "beta"]
    );

    // backup: writes anywhere (single and multipart), reads and deletes nothing, and cannot
    // set tags (nor locks) with its writes, which need their own permissions.
    put(&backup, "beta", "b1").await.unwrap();
    denied(
        backup
            .put_object()
            .bucket("beta")
            .key("tagged")
            .tagging("team=blue")
            .body(ByteStream::from_static(b"t"))
            .send()
            .await,
    );
    // An operation Floe does not serve is NotImplemented for users too, not a misleading 403.
    expect_err(
        web.get_bucket_website().bucket("alpha").send().await,
        501,
        "NotImplemented",
    );
    denied(backup.get_object().bucket("beta").key("b1").send().await);
    denied(backup.list_objects_v2().bucket("beta").send().await);
    denied(backup.delete_object().bucket("beta").key("b1").send().await);
    let upload = ok(
        backup
            .create_multipart_upload()
            .bucket("beta")
            .key("big")
            .send()
            .await,
        "backup starts an upload",
    );
    let part = ok(
        backup
            .upload_part()
            .bucket("beta")
            .key("big")
            .upload_id(upload.upload_id().unwrap())
            .part_number(1)
            .body(ByteStream::from(vec![7u8; 1000]))
            .send()
            .await,
        "backup uploads a part",
    );
    ok(
        backup
            .complete_multipart_upload()
            .bucket("beta")
            .key("big")
            .upload_id(upload.upload_id().unwrap())
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder()
                    .parts(
                        aws_sdk_s3::types::CompletedPart::builder()
                            .part_number(1)
                            .e_tag(part.e_tag().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await,
        "backup completes it",
    );
    assert_eq!(gw.get("beta", "big").await, vec![7u8; 1000]);
    assert_eq!(
        names(ok(backup.list_buckets().send().await, "backup buckets")),
        Vec::<String>::new()
    );

    // Multi-object delete is judged per key: web may delete in alpha only.
    let out = ok(
        web.delete_objects()
            .bucket("alpha")
            .delete(delete_of(&["x", "two"]))
            .send()
            .await,
        "web deletes in alpha",
    );
    assert_eq!(out.deleted().len(), 2);
    assert!(out.errors().is_empty());
    let out = ok(
        backup
            .delete_objects()
            .bucket("beta")
            .delete(delete_of(&["b1", "secret"]))
            .send()
            .await,
        "backup's multi-delete answers per key",
    );
    assert!(out.deleted().is_empty());
    let codes: Vec<(&str, &str)> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap_or(""), e.code().unwrap_or("")))
        .collect();
    assert_eq!(codes, [("b1", "AccessDenied"), ("secret", "AccessDenied")]);
    assert_eq!(gw.get("beta", "b1").await, b"beta/b1", "still there");

    // Presigned URLs carry the signer's rights.
    let presign = PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    let by_web = web
        .get_object()
        .bucket("alpha")
        .key("one")
        .presigned(presign.clone())
        .await
        .unwrap();
    let raw = send_presigned(gw.addr, &by_web, Vec::new()).await;
    assert_eq!(raw.status, 200, "{}", raw.text());
    let by_backup = backup
        .get_object()
        .bucket("beta")
        .key("b1")
        .presigned(presign.clone())
        .await
        .unwrap();
    let raw = send_presigned(gw.addr, &by_backup, Vec::new()).await;
    assert_eq!(raw.status, 403, "{}", raw.text());
    assert!(raw.text().contains("AccessDenied"));

    // Ownership: a name another user owns is BucketAlreadyExists; one's own, AlreadyOwnedByYou.
    ok(
        ops.create_bucket().bucket("ops-own").send().await,
        "ops creates a bucket",
    );
    expect_err(
        ops.create_bucket().bucket("ops-own").send().await,
        409,
        "BucketAlreadyOwnedByYou",
    );
    expect_err(
        ops.create_bucket().bucket("alpha").send().await,
        409,
        "BucketAlreadyExists",
    );
    expect_err(
        root.create_bucket().bucket("ops-own").send().await,
        409,
        "BucketAlreadyExists",
    );

    // The admin API opens to admins' keys only.
    let refused = gw
        .admin_as("web:nope")
        .users()
        .await
        .expect_err("a wrong credential");
    assert!(refused.to_string().contains("401"), "{refused}");
    let users: Vec<String> = gw
        .admin()
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(users, ["backup", "ops", "web"]);
    assert!(denials(&gw).await >= 10.0, "denials are counted");
    gw.stop().await;
}

async fn body_of(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = ok(
        client.get_object().bucket(bucket).key(key).send().await,
        "get",
    );
    body(out).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_get_what_bucket_policies_and_acls_grant() {
    let gw = gateway().await;
    let root = &gw.client;
    gw.create_bucket("site").await;
    gw.put("site", "logo.png", b"png").await;
    let anon = |path: &'static str| raw_request(gw.addr, "GET", path, &[], Vec::new());
    assert_eq!(anon("/site/logo.png").await.status, 403);

    // Public read through a bucket policy: objects only, not listing, not writing.
    let public_read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#;
    ok(
        root.put_bucket_policy()
            .bucket("site")
            .policy(public_read)
            .send()
            .await,
        "policy",
    );
    let got = ok(
        root.get_bucket_policy().bucket("site").send().await,
        "get policy",
    );
    assert_eq!(got.policy(), Some(public_read));
    let got = anon("/site/logo.png").await;
    assert_eq!((got.status, got.body.as_ref()), (200, b"png".as_slice()));
    assert_eq!(anon("/site").await.status, 403, "no listing");
    let put = raw_request(gw.addr, "PUT", "/site/x", &[], b"x".to_vec()).await;
    assert_eq!(put.status, 403);
    let status = ok(
        root.get_bucket_policy_status().bucket("site").send().await,
        "status",
    );
    assert_eq!(
        status.policy_status().and_then(|p| p.is_public()),
        Some(true)
    );

    // RestrictPublicBuckets neutralizes it; deleting the block restores it.
    let restrict = PublicAccessBlockConfiguration::builder()
        .restrict_public_buckets(true)
        .build();
    ok(
        root.put_public_access_block()
            .bucket("site")
            .public_access_block_configuration(restrict)
            .send()
            .await,
        "restrict",
    );
    assert_eq!(anon("/site/logo.png").await.status, 403);
    let status = ok(
        root.get_bucket_policy_status().bucket("site").send().await,
        "status",
    );
    assert_eq!(
        status.policy_status().and_then(|p| p.is_public()),
        Some(false)
    );
    let block = ok(
        root.get_public_access_block().bucket("site").send().await,
        "get block",
    );
    let config = block.public_access_block_configuration().unwrap();
    assert_eq!(config.restrict_public_buckets(), Some(true));
    assert_eq!(config.block_public_policy(), Some(false));
    ok(
        root.delete_public_access_block()
            .bucket("site")
            .send()
            .await,
        "unblock",
    );
    assert_eq!(anon("/site/logo.png").await.status, 200);
    expect_err(
        root.get_public_access_block().bucket("site").send().await,
        404,
        "NoSuchPublicAccessBlockConfiguration",
    );

    // BlockPublicPolicy refuses storing a public policy; DeleteBucketPolicy closes the bucket.
    ok(
        root.put_public_access_block()
            .bucket("site")
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_policy(true)
                    .build(),
            )
            .send()
            .await,
        "block policies",
    );
    denied(
        root.put_bucket_policy()
            .bucket("site")
            .policy(public_read)
            .send()
            .await,
    );
    ok(
        root.delete_bucket_policy().bucket("site").send().await,
        "delete policy",
    );
    expect_err(
        root.get_bucket_policy().bucket("site").send().await,
        404,
        "NoSuchBucketPolicy",
    );
    assert_eq!(anon("/site/logo.png").await.status, 403);
    expect_err(
        root.put_bucket_policy()
            .bucket("site")
            .policy("{not json")
            .send()
            .await,
        400,
        "MalformedPolicy",
    );

    // The canned ACL public-read lets anyone list the bucket (not read its objects, as in S3).
    ok(
        root.create_bucket()
            .bucket("listed")
            .acl(BucketCannedAcl::PublicRead)
            .send()
            .await,
        "public-read bucket",
    );
    gw.put("listed", "k", b"v").await;
    assert_eq!(anon("/listed").await.status, 200);
    assert_eq!(anon("/listed/k").await.status, 403);
    let acl = ok(root.get_bucket_acl().bucket("listed").send().await, "acl");
    let uris: Vec<&str> = acl
        .grants()
        .iter()
        .filter_map(|g| g.grantee()?.uri())
        .collect();
    assert_eq!(uris, ["http://acs.amazonaws.com/groups/global/AllUsers"]);
    ok(
        root.put_bucket_acl()
            .bucket("listed")
            .acl(BucketCannedAcl::Private)
            .send()
            .await,
        "private again",
    );
    assert_eq!(anon("/listed").await.status, 403);
    let acl = ok(
        root.get_object_acl().bucket("listed").key("k").send().await,
        "object acl",
    );
    assert_eq!(acl.grants().len(), 1, "the owner's full control");
    // Objects keep no ACL: a public one is refused, never silently dropped.
    expect_err(
        root.put_object()
            .bucket("listed")
            .key("p")
            .acl(ObjectCannedAcl::PublicRead)
            .body(ByteStream::from_static(b"p"))
            .send()
            .await,
        400,
        "AccessControlListNotSupported",
    );
    ok(
        root.put_object()
            .bucket("listed")
            .key("p")
            .acl(ObjectCannedAcl::BucketOwnerFullControl)
            .body(ByteStream::from_static(b"p"))
            .send()
            .await,
        "bucket-owner-full-control",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_disable_rotate_and_bypass_governance() {
    let gw = gateway().await;
    gw.create_bucket("data").await;
    let admin = gw.admin();
    let (rw, old_key, _) = user(&gw, "app", &["readwrite"]).await;
    put(&rw, "data", "a").await.unwrap();

    // Disabled: refused on its next request; enabled again: accepted.
    admin.set_key_enabled(&old_key, false).await.unwrap();
    expect_err(
        rw.list_objects_v2().bucket("data").send().await,
        403,
        "InvalidAccessKeyId",
    );
    admin.set_key_enabled(&old_key, true).await.unwrap();
    ok(
        rw.list_objects_v2().bucket("data").send().await,
        "enabled again",
    );

    // Rotation: a second key works beside the first; the first is deleted.
    let new = admin.create_key("app", None).await.unwrap();
    let rotated = gw.client_with(&new.access_key, &new.secret_key);
    put(&rotated, "data", "b").await.unwrap();
    let keys = admin.keys(Some("app")).await.unwrap();
    assert_eq!(keys.len(), 2);
    admin.delete_key(&old_key).await.unwrap();
    expect_err(
        rw.list_objects_v2().bucket("data").send().await,
        403,
        "InvalidAccessKeyId",
    );
    ok(
        rotated.list_objects_v2().bucket("data").send().await,
        "the new key",
    );

    // A temporary key stops at its expiry.
    let short = admin.create_key("app", Some(1)).await.unwrap();
    let temp = gw.client_with(&short.access_key, &short.secret_key);
    ok(
        temp.list_objects_v2().bucket("data").send().await,
        "before expiry",
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    expect_err(
        temp.list_objects_v2().bucket("data").send().await,
        403,
        "InvalidAccessKeyId",
    );

    // Bypassing GOVERNANCE needs s3:BypassGovernanceRetention, which readwrite lacks.
    ok(
        gw.client
            .create_bucket()
            .bucket("vault")
            .object_lock_enabled_for_bucket(true)
            .send()
            .await,
        "lock bucket",
    );
    let until = DateTime::from_secs(
        (std::time::SystemTime::now() + Duration::from_secs(3600))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    let written = ok(
        gw.client
            .put_object()
            .bucket("vault")
            .key("kept")
            .object_lock_mode(ObjectLockMode::Governance)
            .object_lock_retain_until_date(until)
            .body(ByteStream::from_static(b"kept"))
            .send()
            .await,
        "locked write",
    );
    let version = written.version_id().unwrap().to_owned();
    let delete = |client: &Client| {
        client
            .delete_object()
            .bucket("vault")
            .key("kept")
            .version_id(&version)
            .bypass_governance_retention(true)
            .send()
    };
    denied(delete(&rotated).await);
    ok(
        delete(&gw.client_with(OPS_KEY, OPS_SECRET)).await,
        "an admin may bypass",
    );

    // Deleting the user deletes its keys.
    admin.delete_user("app").await.unwrap();
    expect_err(
        rotated.list_objects_v2().bucket("data").send().await,
        403,
        "InvalidAccessKeyId",
    );
    gw.stop().await;
}
