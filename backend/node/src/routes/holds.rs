//! `POST /v1/holds` (raise a batch of retention holds) and `GET /v1/holds/<chunk>`.

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;

use floe_codec::ChunkId;

use super::{Body, Failure, blocking, json, verified_body};
use crate::holds::now_millis;
use crate::protocol::{HoldInfo, HoldItem};
use crate::server::NodeState;

pub(super) async fn raise(
    state: &NodeState,
    req: Request<Incoming>,
) -> Result<Response<Body>, Failure> {
    let body = verified_body(state, req).await?;
    let items: Vec<HoldItem> = serde_json::from_slice(&body)
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, format!("hold batch: {e}")))?;
    let holds = state.holds().clone();
    let wanted: Vec<_> = items.iter().map(|h| (h.chunk, h.until)).collect();
    blocking(move || holds.raise(&wanted)).await?;
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

pub(super) async fn get(state: &NodeState, chunk: ChunkId) -> Result<Response<Body>, Failure> {
    json(&HoldInfo {
        until: state.holds().until(&chunk, now_millis()),
    })
}
