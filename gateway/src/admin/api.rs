//! The admin API server: bearer-token check, routing and JSON answers.
//!
//! Long operations (repair, scrub, GC, drain, rebuild) run inside the request and answer with
//! their report; the repairer runs them one at a time, so a second request waits for the first.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use serde::Serialize;
use tokio::net::TcpListener;

use super::{ErrorBody, GcReport, status};
use crate::cache::CachedBlobs;
use crate::identity::same_secret;
use crate::maintenance::collector::Collector;
use crate::maintenance::repair::{RepairError, Repairer};
use crate::runtime::http_server::accept_until;
use crate::runtime::query::parse_query;

/// What the admin routes work on.
#[derive(Clone)]
pub struct AdminState {
    /// The bearer token requests may carry (or an admin's `ACCESS_KEY:SECRET`).
    pub token: String,
    /// Users and keys: admins' keys open the API, and its identity routes manage them.
    pub directory: Arc<crate::identity::Directory>,
    /// The lifecycle engine, for `POST /admin/lifecycle/run`.
    pub lifecycle: crate::maintenance::lifecycle::Lifecycle,
    pub repairer: Arc<Repairer>,
    pub collector: Collector,
    pub cache: Arc<CachedBlobs>,
    /// Scrub read rate per node when the request names none.
    pub scrub_bytes_per_sec: u64,
    /// This gateway's claim on the cluster's maintenance.
    pub lease: Arc<crate::maintenance::lease::MaintenanceLease>,
    /// Where the index lives, for status (password hidden).
    pub index_location: String,
}

pub(super) type Reply = Response<Full<Bytes>>;

/// An error answer: status and message.
pub(super) struct Failure(pub StatusCode, pub String);

impl From<RepairError> for Failure {
    fn from(e: RepairError) -> Self {
        let status = match e {
            RepairError::Invalid(_) | RepairError::Refused(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure(status, e.to_string())
    }
}

impl From<crate::index::IndexError> for Failure {
    fn from(e: crate::index::IndexError) -> Self {
        use crate::index::IndexError as E;
        let status = match &e {
            E::NoSuchBucket | E::NoSuchVersion => StatusCode::NOT_FOUND,
            // A retention or legal hold binds the admin API as it binds S3.
            E::ObjectLocked(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure(status, e.to_string())
    }
}

/// Serves the admin API on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    state: AdminState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::new(state);
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(&state, req).await) }
    });
    let graceful = accept_until("admin", listener, service, shutdown).await;
    // A long operation in a request would hold shutdown up; it is safe to cut short.
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
}

async fn handle(state: &AdminState, req: Request<Incoming>) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // Probes and the Prometheus scrape carry no secrets and need no token.
    if method == Method::GET
        && let Some(reply) = probe(state, &path)
    {
        return reply;
    }
    let Some(who) = authorized(state, &req).await else {
        return failure(Failure(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token (the admin token, or an admin's ACCESS_KEY:SECRET)"
                .into(),
        ));
    };
    let query = parse_query(req.uri().query());
    if path != "/admin/progress" {
        tracing::info!(%method, path, who, "admin request");
    }
    let body = match http_body_util::Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return failure(Failure(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("admin request bodies are at most {MAX_BODY_BYTES} bytes"),
            ));
        }
    };
    if let Some(answer) = super::users::route(state, &method, &path, &query, &body).await {
        return answer.unwrap_or_else(failure);
    }
    route(state, method, &path, &query)
        .await
        .unwrap_or_else(failure)
}

/// The largest admin request body (a stored policy).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// `/health` (the process answers), `/ready` (enough nodes answer for writes to succeed) and
/// `/metrics` (Prometheus text).
fn probe(state: &AdminState, path: &str) -> Option<Reply> {
    let text = |status: StatusCode, content_type: &'static str, body: String| {
        Response::builder()
            .status(status)
            .header(CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    };
    match path {
        "/health" => Some(text(StatusCode::OK, "text/plain", "ok\n".into())),
        "/ready" => {
            let blobs = state.cache.blobs();
            let up = blobs.nodes().len() - blobs.health().down().len();
            let needed = blobs.config().write_quorum;
            Some(if up >= needed {
                text(
                    StatusCode::OK,
                    "text/plain",
                    format!("ready: {up} nodes up\n"),
                )
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    format!("not ready: {up} nodes up, writes need {needed}\n"),
                )
            })
        }
        "/metrics" => Some(text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            crate::metrics::metrics().render(&crate::metrics::live_stats(&state.cache)),
        )),
        _ => None,
    }
}

async fn route(
    state: &AdminState,
    method: Method,
    path: &str,
    query: &HashMap<String, String>,
) -> Result<Reply, Failure> {
    match (method, path) {
        (Method::GET, "/admin/status") => json(&status::status(state).await?),
        (Method::GET, "/admin/progress") => json(&state.repairer.progress().snapshot()),
        (Method::POST, "/admin/repair") => json(&state.repairer.sweep().await?),
        (Method::POST, "/admin/gc") => gc(state, query).await,
        (Method::GET, "/admin/versions") => {
            let (bucket, key) = bucket_and_key(query)?;
            let index = state.repairer.index().clone();
            let lines = index
                .call(move |ix| super::versions::versions_of(ix, &bucket, &key))
                .await?;
            json(&lines)
        }
        (Method::DELETE, "/admin/versions") => {
            let (bucket, key) = bucket_and_key(query)?;
            let version = query
                .get("version")
                .cloned()
                .ok_or_else(|| Failure(StatusCode::BAD_REQUEST, "version is required".into()))?;
            let bypass = query.get("bypass_governance").is_some_and(|v| v == "true");
            let index = state.repairer.index().clone();
            let deleted = index
                .call(move |ix| {
                    super::versions::delete_version(ix, &bucket, &key, &version, bypass)
                })
                .await?;
            json(&deleted)
        }
        (Method::POST, "/admin/scrub") => {
            let rate = match query.get("max_bytes_per_sec") {
                Some(v) => number(v, "max_bytes_per_sec")?,
                None => state.scrub_bytes_per_sec,
            };
            json(&state.repairer.scrub(rate).await?)
        }
        (Method::POST, "/admin/drain") => {
            let node = query
                .get("node")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| Failure(StatusCode::BAD_REQUEST, "drain needs ?node=URL".into()))?;
            json(&state.repairer.drain(node).await?)
        }
        (Method::POST, "/admin/lifecycle/run") => {
            let now = crate::objects::now_millis();
            json(&state.lifecycle.run_once(now).await?)
        }
        (Method::POST, "/admin/rebuild-index") => {
            let report = crate::maintenance::recovery::rebuild_index(&state.repairer).await?;
            json(&report)
        }
        (
            _,
            "/admin/status"
            | "/admin/progress"
            | "/admin/repair"
            | "/admin/gc"
            | "/admin/scrub"
            | "/admin/drain"
            | "/admin/rebuild-index"
            | "/admin/lifecycle/run"
            | "/admin/versions",
        ) => Err(Failure(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed".into(),
        )),
        _ => Err(Failure(StatusCode::NOT_FOUND, format!("no route {path}"))),
    }
}

fn bucket_and_key(query: &HashMap<String, String>) -> Result<(String, String), Failure> {
    match (query.get("bucket"), query.get("key")) {
        (Some(b), Some(k)) => Ok((b.clone(), k.clone())),
        _ => Err(Failure(
            StatusCode::BAD_REQUEST,
            "bucket and key are required".into(),
        )),
    }
}

async fn gc(state: &AdminState, query: &HashMap<String, String>) -> Result<Reply, Failure> {
    let grace = match query.get("grace_secs") {
        Some(v) => Duration::from_secs(number(v, "grace_secs")?),
        None => state.collector.grace,
    };
    let _exclusive = state.repairer.exclusive().await;
    let _progress = state.repairer.progress().begin("gc");
    state.repairer.progress().phase("collecting garbage", None);
    let collected = state.collector.collect_all(grace).await?;
    let orphans = state.repairer.sweep_orphans_locked(grace).await?;
    json(&GcReport {
        grace_secs: grace.as_secs(),
        collected,
        orphans,
    })
}

fn number(value: &str, name: &str) -> Result<u64, Failure> {
    value.parse().map_err(|_| {
        Failure(
            StatusCode::BAD_REQUEST,
            format!("{name} {value:?} is not a number"),
        )
    })
}

/// Who the bearer credential names: the admin token, or `ACCESS_KEY:SECRET` of the root key
/// or of an enabled key (not an STS session's) whose user has the `admin` policy (read from the index each time, so
/// disabling the key closes the API at once). `None`: refused.
async fn authorized(state: &AdminState, req: &Request<Incoming>) -> Option<String> {
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?
        .trim();
    if same_secret(given, &state.token) {
        return Some("admin token".into());
    }
    let (access_key, secret) = given.split_once(':')?;
    let signer = state
        .directory
        .signer(access_key, crate::objects::now_millis())
        .await
        .ok()??;
    // Session keys are for S3 (their token and policy are checked there), never the admin API.
    if signer.session.is_some() || !same_secret(secret, &signer.secret) {
        return None;
    }
    match signer.user {
        None => Some("root".into()),
        Some(user) => match state.directory.is_admin(&user).await {
            Ok(true) => Some(user),
            _ => None,
        },
    }
}

pub(super) fn json(value: &impl Serialize) -> Result<Reply, Failure> {
    let body = serde_json::to_vec_pretty(value)
        .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(reply(StatusCode::OK, body))
}

fn failure(Failure(status, error): Failure) -> Reply {
    if status.is_server_error() {
        tracing::error!(%status, error, "admin request failed");
    }
    let body = serde_json::to_vec(&ErrorBody { error }).unwrap_or_default();
    reply(status, body)
}

fn reply(status: StatusCode, body: Vec<u8>) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
