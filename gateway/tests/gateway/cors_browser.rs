//! CORS in a real browser: headless Chromium loads a page from another origin (a second local
//! port), which uploads a file with a presigned PUT to a `floe serve` process and reads it back
//! with `fetch`. With a CORS rule for that origin both succeed; without one the browser blocks
//! them.

use crate::support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use floe_gateway::admin::client::percent_encode;
use support::serve::ServeProcess;

/// Serves `page` to every request on a port of its own, until the process ends.
fn serve_page() -> String {
    let page = PAGE;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n",
                page.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(page.as_bytes());
        }
    });
    origin
}

/// The page: PUT then GET through the presigned URLs in its query (`put`, `get`), the outcome
/// written into the DOM.
const PAGE: &str = r#"<html><body><div id="out">pending</div><script>
(async () => {
  const out = document.getElementById('out');
  const q = new URLSearchParams(location.search);
  try {
    const put = await fetch(q.get('put'), {method: 'PUT', body: 'from the browser',
      headers: {'Content-Type': 'text/plain'}});
    const got = await fetch(q.get('get'));
    out.textContent = 'put:' + put.status + ' get:' + got.status + ' body:' + await got.text()
      + ' etag:' + (got.headers.get('ETag') ? 'exposed' : 'hidden');
  } catch (e) {
    out.textContent = 'blocked:' + e;
  }
})();
</script></body></html>"#;

/// Runs headless Chromium on `url` and returns the DOM after the scripts ran.
fn chromium_dom(url: &str) -> String {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ])
        .output()
        .expect("running chromium: install Debian's chromium package (.ci/run does)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn presigned(s3: &aws_sdk_s3::Client, key: &str) -> (String, String) {
    let ttl = PresigningConfig::expires_in(Duration::from_secs(600)).expect("ttl");
    let put = s3
        .put_object()
        .bucket("web")
        .key(key)
        .content_type("text/plain")
        .presigned(ttl.clone())
        .await
        .expect("presign put");
    let get = s3
        .get_object()
        .bucket("web")
        .key(key)
        .presigned(ttl)
        .await
        .expect("presign get");
    (put.uri().to_owned(), get.uri().to_owned())
}

/// The page at `origin` run in Chromium against fresh presigned URLs for `key`.
async fn run_page(s3: &aws_sdk_s3::Client, origin: &str, key: &str) -> String {
    let (put, get) = presigned(s3, key).await;
    chromium_dom(&format!(
        "{origin}/page.html?put={}&get={}",
        percent_encode(&put),
        percent_encode(&get)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_uploads_and_reads_back_only_with_a_rule() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let gw = ServeProcess::start(tmp.path(), &[]);
    let s3 = gw.client();
    s3.create_bucket()
        .bucket("web")
        .send()
        .await
        .expect("bucket");
    let (origin, other) = (serve_page(), serve_page());

    // No rule: the browser refuses to send the PUT (its preflight fails).
    let dom = run_page(&s3, &origin, "blocked.txt").await;
    assert!(dom.contains("blocked:"), "without a rule: {dom}");
    assert!(
        s3.head_object()
            .bucket("web")
            .key("blocked.txt")
            .send()
            .await
            .is_err(),
        "nothing was stored"
    );

    // A rule for the page's origin: both go through, and ETag is exposed.
    let rule = CorsRule::builder()
        .allowed_origins(&origin)
        .allowed_methods("PUT")
        .allowed_methods("GET")
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(60)
        .build()
        .expect("rule");
    s3.put_bucket_cors()
        .bucket("web")
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(rule)
                .build()
                .expect("cors"),
        )
        .send()
        .await
        .expect("put cors");
    let dom = run_page(&s3, &origin, "allowed.txt").await;
    assert!(
        dom.contains("put:200 get:200 body:from the browser etag:exposed"),
        "with the rule: {dom}"
    );
    // The rule names that origin only: a page on another port is still refused.
    let dom = run_page(&s3, &other, "other.txt").await;
    assert!(dom.contains("blocked:"), "another origin: {dom}");
    assert!(
        s3.head_object()
            .bucket("web")
            .key("other.txt")
            .send()
            .await
            .is_err()
    );
}
