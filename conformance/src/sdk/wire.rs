//! An SDK interceptor that records the headers of the last request it saw, so a scenario can
//! check how the SDK sent something (a checksum as a header or as an aws-chunked trailer), not
//! only what the server answered.

use std::sync::{Arc, Mutex};

use anyhow::ensure;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::types::ChecksumAlgorithm;

use super::support::checksum_header;

/// The headers of the last request sent through it.
#[derive(Debug, Clone, Default)]
pub struct Wire(Arc<Mutex<Vec<(String, String)>>>);

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "conformance-wire"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let headers = context
            .request()
            .headers()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        *self.0.lock().expect("wire headers") = headers;
        Ok(())
    }
}

impl Wire {
    pub fn get(&self, name: &str) -> Option<String> {
        let headers = self.0.lock().expect("wire headers");
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// The last request carried the checksum as a header with exactly `value`, and no trailer.
    pub fn ensure_header(
        &self,
        algorithm: &ChecksumAlgorithm,
        value: &str,
        what: &str,
    ) -> anyhow::Result<()> {
        let name = checksum_header(algorithm);
        ensure!(
            self.get(&name).as_deref() == Some(value),
            "{what}: request header {name} was {:?}",
            self.get(&name)
        );
        ensure!(
            self.get("x-amz-trailer").is_none(),
            "{what}: unexpected x-amz-trailer"
        );
        Ok(())
    }

    /// The last request announced the checksum as an aws-chunked trailer.
    pub fn ensure_trailer(&self, algorithm: &ChecksumAlgorithm, what: &str) -> anyhow::Result<()> {
        let name = checksum_header(algorithm);
        ensure!(
            self.get("x-amz-trailer").as_deref() == Some(name.as_str()),
            "{what}: x-amz-trailer was {:?}, want {name}",
            self.get("x-amz-trailer")
        );
        ensure!(
            self.get("content-encoding")
                .is_some_and(|v| v.contains("aws-chunked")),
            "{what}: Content-Encoding {:?} is not aws-chunked",
            self.get("content-encoding")
        );
        Ok(())
    }
}
