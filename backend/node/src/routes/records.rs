//! The record routes: put (newest version wins), get, delete and the paginated listing, over
//! the [`RecordStore`](crate::records::RecordStore).

use http::{HeaderName, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::{
    Body, EXISTED, Failure, blocking, bytes_response, hashed_body, json, set, text, verified_body,
};

use crate::protocol::{
    BatchReply, HEADER_RECORD_VERSION, RecordId, RecordListQuery, decode_batch, parse_version,
};
use crate::records::RecordPut;
use crate::server::NodeState;

const RECORD_VERSION: HeaderName = HeaderName::from_static(HEADER_RECORD_VERSION);

pub(super) async fn put(
    state: &NodeState,
    id: RecordId,
    req: Request<Incoming>,
) -> Result<Response<Body>, Failure> {
    let version = parse_version(req.uri().query())?;
    let (hash, body) = hashed_body(state, req).await?;
    let records = state.records().clone();
    let outcome = blocking(move || records.put(&id, version, &hash, &body)).await?;
    Ok(match outcome {
        RecordPut::Stored => text(StatusCode::CREATED, ""),
        RecordPut::Newer(stored) => {
            let mut response = text(StatusCode::CONFLICT, "a newer version is stored");
            set(&mut response, RECORD_VERSION, &stored.to_string());
            response
        }
    })
}

/// A batch put: every record stored (or refused as older) with one sync for the batch.
pub(super) async fn put_batch(
    state: &NodeState,
    req: Request<Incoming>,
) -> Result<Response<Body>, Failure> {
    let body = verified_body(state, req).await?;
    let items = decode_batch(&body)?;
    let records = state.records().clone();
    let outcomes = match records.put_batch_if_idle(&items) {
        Some(outcomes) => outcomes?,
        None => blocking(move || records.put_batch(&items)).await?,
    };
    let newer = outcomes
        .into_iter()
        .map(|o| match o {
            RecordPut::Stored => None,
            RecordPut::Newer(v) => Some(v),
        })
        .collect();
    json(&BatchReply { newer })
}

pub(super) async fn get(state: &NodeState, id: RecordId) -> Result<Response<Body>, Failure> {
    let records = state.records().clone();
    let record = blocking(move || records.get(&id)).await?;
    let mut response = bytes_response(StatusCode::OK, record.payload);
    set(&mut response, RECORD_VERSION, &record.version.to_string());
    Ok(response)
}

pub(super) async fn delete(state: &NodeState, id: RecordId) -> Result<Response<Body>, Failure> {
    let records = state.records().clone();
    let existed = blocking(move || records.delete(&id)).await?;
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    set(
        &mut response,
        EXISTED,
        if existed { "true" } else { "false" },
    );
    Ok(response)
}

pub(super) async fn list(
    state: &NodeState,
    query: Option<&str>,
) -> Result<Response<Body>, Failure> {
    let query = RecordListQuery::parse(query)?;
    let records = state.records().clone();
    json(&blocking(move || records.list(query.after.as_ref(), query.limit)).await?)
}
