//! CORS at the front: a browser's preflight (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`) is answered here from the bucket's rules, without
//! signature (browsers never sign it), and every other response to a request with an `Origin`
//! (errors included) carries the headers the matching rule grants. Which rule matches is
//! decided behind [`Cors`] (the S3 adapter reads the bucket's rules); the front only speaks
//! HTTP.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method};

/// A cross-origin request as CORS rules judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsAsk {
    /// The `Host` header (virtual-hosted buckets), if any.
    pub host: Option<String>,
    pub path: String,
    pub origin: String,
    /// The method the browser will use (the preflight's `Access-Control-Request-Method`).
    pub method: String,
    /// Headers the browser will send (the preflight's `Access-Control-Request-Headers`),
    /// lower-cased.
    pub headers: Vec<String>,
}

/// What the matching rule lets the browser do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsGrant {
    /// `*`, or the request's origin.
    pub origin: String,
    pub methods: Vec<String>,
    /// The requested headers, all allowed.
    pub headers: Vec<String>,
    pub expose: Vec<String>,
    pub max_age: Option<i32>,
}

/// Decides a CORS request from the rules of the bucket it names.
#[async_trait::async_trait]
pub trait Cors: Send + Sync {
    async fn grant(&self, ask: &CorsAsk) -> Option<CorsGrant>;
}

/// The request's origin, if it is cross-origin (has an `Origin`).
pub fn origin(head: &Parts) -> Option<String> {
    head.headers
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The question a request with `origin` asks; for a preflight, about the method and headers
/// it announces. `None` for a preflight without `Access-Control-Request-Method`.
pub fn ask_of(head: &Parts, origin: String) -> Option<CorsAsk> {
    let header = |name| {
        head.headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let preflight = head.method == Method::OPTIONS;
    let method = match preflight {
        true => header(ACCESS_CONTROL_REQUEST_METHOD)?.trim().to_owned(),
        false => head.method.as_str().to_owned(),
    };
    let headers = match preflight {
        true => header(ACCESS_CONTROL_REQUEST_HEADERS)
            .unwrap_or("")
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect(),
        false => Vec::new(),
    };
    Some(CorsAsk {
        host: header(http::header::HOST).map(str::to_owned),
        path: head.uri.path().to_owned(),
        origin,
        method,
        headers,
    })
}

/// Adds `grant`'s headers to a response; `preflight` adds the method, header and max-age
/// answers too.
pub fn apply(headers: &mut HeaderMap, grant: &CorsGrant, preflight: bool) {
    let mut set = |name, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set(ACCESS_CONTROL_ALLOW_ORIGIN, grant.origin.clone());
    if preflight {
        set(ACCESS_CONTROL_ALLOW_METHODS, grant.methods.join(", "));
        if !grant.headers.is_empty() {
            set(ACCESS_CONTROL_ALLOW_HEADERS, grant.headers.join(", "));
        }
        if let Some(age) = grant.max_age {
            set(ACCESS_CONTROL_MAX_AGE, age.to_string());
        }
    } else if !grant.expose.is_empty() {
        set(ACCESS_CONTROL_EXPOSE_HEADERS, grant.expose.join(", "));
    }
    // The answer depends on the origin and the preflight's questions: caches must key on them.
    set(
        VARY,
        "Origin, Access-Control-Request-Headers, Access-Control-Request-Method".into(),
    );
}
