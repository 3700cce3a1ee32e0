//! Bucket configuration beyond access through aws-sdk-s3: tagging, ownership controls, CORS
//! (rules stored and returned; preflights answered from them, headers on actual responses and
//! errors), GetBucketEncryption's "none", and GetObjectAttributes, with their S3 errors.

use aws_sdk_s3::types::{
    ChecksumAlgorithm, CorsConfiguration, CorsRule, ObjectAttributes, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, Tag, Tagging,
};

use crate::s3_api::harness::*;

fn tagging(pairs: &[(&str, &str)]) -> Tagging {
    let tags = pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
        .collect();
    Tagging::builder().set_tag_set(Some(tags)).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_tagging_ownership_and_encryption() {
    let gw = TestGateway::start().await;
    gw.create_bucket("conf").await;
    let c = &gw.client;
    expect_err(
        c.get_bucket_tagging().bucket("conf").send().await,
        404,
        "NoSuchTagSet",
    );
    ok(
        c.put_bucket_tagging()
            .bucket("conf")
            .tagging(tagging(&[("team", "blue"), ("cost", "42")]))
            .send()
            .await,
        "put tags",
    );
    let got = ok(
        c.get_bucket_tagging().bucket("conf").send().await,
        "get tags",
    );
    let pairs: Vec<(&str, &str)> = got.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, [("team", "blue"), ("cost", "42")]);
    expect_err(
        c.put_bucket_tagging()
            .bucket("conf")
            .tagging(tagging(&[("a", "1"), ("a", "2")]))
            .send()
            .await,
        400,
        "InvalidTag",
    );
    let fifty_one: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
    let refs: Vec<(&str, &str)> = fifty_one
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    expect_err(
        c.put_bucket_tagging()
            .bucket("conf")
            .tagging(tagging(&refs))
            .send()
            .await,
        400,
        "InvalidTag",
    );
    ok(
        c.delete_bucket_tagging().bucket("conf").send().await,
        "delete tags",
    );
    expect_err(
        c.get_bucket_tagging().bucket("conf").send().await,
        404,
        "NoSuchTagSet",
    );
    expect_err(
        c.get_bucket_tagging().bucket("nobucket").send().await,
        404,
        "NoSuchBucket",
    );

    expect_err(
        c.get_bucket_ownership_controls()
            .bucket("conf")
            .send()
            .await,
        404,
        "OwnershipControlsNotFoundError",
    );
    let enforced = OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    ok(
        c.put_bucket_ownership_controls()
            .bucket("conf")
            .ownership_controls(enforced.clone())
            .send()
            .await,
        "ownership",
    );
    let got = ok(
        c.get_bucket_ownership_controls()
            .bucket("conf")
            .send()
            .await,
        "get",
    );
    let mode = got.ownership_controls().unwrap().rules()[0]
        .object_ownership()
        .clone();
    assert_eq!(mode, ObjectOwnership::BucketOwnerEnforced);
    // ACLs are disabled under BucketOwnerEnforced: a public bucket ACL is refused.
    expect_err(
        c.put_bucket_acl()
            .bucket("conf")
            .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
            .send()
            .await,
        400,
        "AccessControlListNotSupported",
    );
    ok(
        c.delete_bucket_ownership_controls()
            .bucket("conf")
            .send()
            .await,
        "delete",
    );
    // A public-read bucket cannot take BucketOwnerEnforced.
    ok(
        c.put_bucket_acl()
            .bucket("conf")
            .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
            .send()
            .await,
        "public-read",
    );
    expect_err(
        c.put_bucket_ownership_controls()
            .bucket("conf")
            .ownership_controls(enforced)
            .send()
            .await,
        400,
        "InvalidBucketAclWithObjectOwnership",
    );

    expect_err(
        c.get_bucket_encryption().bucket("conf").send().await,
        404,
        "ServerSideEncryptionConfigurationNotFoundError",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_rules_preflights_and_response_headers() {
    let gw = TestGateway::start().await;
    gw.create_bucket("web").await;
    gw.put("web", "k", b"v").await;
    let c = &gw.client;
    expect_err(
        c.get_bucket_cors().bucket("web").send().await,
        404,
        "NoSuchCORSConfiguration",
    );
    let addr = gw.addr;
    let preflight = move |origin: &'static str, method: &'static str| async move {
        let headers = vec![
            ("origin".to_owned(), origin.to_owned()),
            (
                "access-control-request-method".to_owned(),
                method.to_owned(),
            ),
            (
                "access-control-request-headers".to_owned(),
                "content-type".to_owned(),
            ),
        ];
        raw_request(addr, "OPTIONS", "/web/k", &headers, Vec::new()).await
    };
    assert_eq!(preflight("https://app.example", "PUT").await.status, 403);

    let rule = CorsRule::builder()
        .allowed_origins("https://*.example")
        .allowed_methods("GET")
        .allowed_methods("PUT")
        .allowed_headers("Content-Type")
        .expose_headers("ETag")
        .max_age_seconds(300)
        .build()
        .unwrap();
    ok(
        c.put_bucket_cors()
            .bucket("web")
            .cors_configuration(
                CorsConfiguration::builder()
                    .cors_rules(rule)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "put cors",
    );
    let got = ok(c.get_bucket_cors().bucket("web").send().await, "get cors");
    assert_eq!(got.cors_rules()[0].allowed_origins(), ["https://*.example"]);

    let answer = preflight("https://app.example", "PUT").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(
        answer.header("access-control-allow-methods"),
        Some("GET, PUT")
    );
    assert_eq!(
        answer.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(answer.header("access-control-max-age"), Some("300"));
    assert_eq!(preflight("https://app.example", "DELETE").await.status, 403);
    assert_eq!(preflight("https://evil.test", "GET").await.status, 403);

    // Actual requests carry the headers, errors included (here: unsigned, 403).
    let headers = vec![("origin".to_owned(), "https://app.example".to_owned())];
    let answer = raw_request(gw.addr, "GET", "/web/k", &headers, Vec::new()).await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(answer.header("access-control-expose-headers"), Some("ETag"));
    let stranger = vec![("origin".to_owned(), "https://evil.test".to_owned())];
    let answer = raw_request(gw.addr, "GET", "/web/k", &stranger, Vec::new()).await;
    assert_eq!(answer.header("access-control-allow-origin"), None);

    expect_err(
        c.put_bucket_cors()
            .bucket("web")
            .cors_configuration(
                CorsConfiguration::builder()
                    .cors_rules(
                        CorsRule::builder()
                            .allowed_origins("*")
                            .allowed_methods("PATCH")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        400,
        "InvalidRequest",
    );
    ok(
        c.delete_bucket_cors().bucket("web").send().await,
        "delete cors",
    );
    assert_eq!(preflight("https://app.example", "PUT").await.status, 403);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_attributes_with_parts_paged() {
    let gw = TestGateway::start().await;
    gw.create_bucket("attrs").await;
    let c = &gw.client;
    let body = data(5, 1000);
    ok(
        c.put_object()
            .bucket("attrs")
            .key("single")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(body.clone().into())
            .send()
            .await,
        "put",
    );
    let all = [
        ObjectAttributes::Etag,
        ObjectAttributes::Checksum,
        ObjectAttributes::ObjectParts,
        ObjectAttributes::StorageClass,
        ObjectAttributes::ObjectSize,
    ];
    let got = ok(
        c.get_object_attributes()
            .bucket("attrs")
            .key("single")
            .set_object_attributes(Some(all.to_vec()))
            .send()
            .await,
        "attributes",
    );
    // S3 sends this ETag unquoted; s3s's ETag type always quotes it.
    assert_eq!(
        got.e_tag().map(|e| e.trim_matches('"')),
        Some(etag_of(&body).trim_matches('"'))
    );
    assert_eq!(got.object_size(), Some(1000));
    assert_eq!(got.storage_class().map(|s| s.as_str()), Some("STANDARD"));
    assert_eq!(
        got.checksum().and_then(|c| c.checksum_sha256()),
        Some(checksum_b64(&ChecksumAlgorithm::Sha256, &body).as_str())
    );
    assert!(
        got.object_parts().is_none(),
        "a single-part object has no parts"
    );

    let parts = [data(6, 5 * MIB), data(7, 5 * MIB), data(8, 1000)];
    gw.multipart(
        "attrs",
        "multi",
        &parts.iter().map(Vec::as_slice).collect::<Vec<_>>(),
    )
    .await;
    let page = ok(
        c.get_object_attributes()
            .bucket("attrs")
            .key("multi")
            .object_attributes(ObjectAttributes::ObjectParts)
            .object_attributes(ObjectAttributes::ObjectSize)
            .max_parts(2)
            .send()
            .await,
        "first page",
    );
    let p = page.object_parts().unwrap();
    assert_eq!(p.total_parts_count(), Some(3));
    assert_eq!(p.is_truncated(), Some(true));
    let sizes: Vec<i64> = p.parts().iter().filter_map(|x| x.size()).collect();
    assert_eq!(sizes, [5 * MIB as i64, 5 * MIB as i64]);
    let next = p.next_part_number_marker().unwrap().to_owned();
    let page = ok(
        c.get_object_attributes()
            .bucket("attrs")
            .key("multi")
            .object_attributes(ObjectAttributes::ObjectParts)
            .part_number_marker(next)
            .send()
            .await,
        "second page",
    );
    let p = page.object_parts().unwrap();
    let numbers: Vec<i32> = p.parts().iter().filter_map(|x| x.part_number()).collect();
    assert_eq!(numbers, [3]);
    assert_eq!(p.is_truncated(), Some(false));
    expect_err(
        c.get_object_attributes()
            .bucket("attrs")
            .key("missing")
            .object_attributes(ObjectAttributes::Etag)
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    gw.stop().await;
}
