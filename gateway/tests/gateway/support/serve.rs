//! A `floe serve` process (gateway + embedded nodes, started by `floe_testkit`) on a port chosen
//! at run time, and aws-sdk-s3 and admin clients for it.

#![allow(dead_code)] // each test binary uses a different part of this file

use std::ops::{Deref, DerefMut};
use std::path::Path;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use floe_gateway::runtime::config::{DEV_ACCESS_KEY, DEV_SECRET_KEY};

/// A `floe serve` process (the testkit's) with an S3 client and an admin client for its dev
/// credentials. Killed (SIGKILL) when dropped.
pub struct ServeProcess(floe_testkit::ServeProcess);

impl ServeProcess {
    /// Starts `floe serve` on 127.0.0.1:0 with its data (index and embedded nodes) in `data`.
    pub fn start(data: &Path, extra_args: &[&str]) -> Self {
        let floe = floe_testkit::floe_binary();
        Self(floe_testkit::ServeProcess::start(&floe, data, extra_args).expect("floe serve starts"))
    }

    pub fn client(&self) -> aws_sdk_s3::Client {
        client(&self.endpoint)
    }

    /// An admin API client with the dev token.
    pub fn admin(&self) -> floe_gateway::admin::AdminClient {
        floe_gateway::admin::AdminClient::new(&self.admin_url, DEV_SECRET_KEY)
            .expect("admin client")
    }
}

impl Deref for ServeProcess {
    type Target = floe_testkit::ServeProcess;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for ServeProcess {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// An SDK client with default settings (checksums on) for the dev credentials.
pub fn client(endpoint: &str) -> aws_sdk_s3::Client {
    client_with(endpoint, DEV_ACCESS_KEY, DEV_SECRET_KEY)
}

/// An SDK client with default settings (checksums on) for the given credentials.
pub fn client_with(endpoint: &str, access_key: &str, secret_key: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "test"))
        .force_path_style(true)
        .behavior_version(BehaviorVersion::latest())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// `floe admin --gateway URL --token TOKEN ARGS...` against `gw`.
pub fn floe_admin(gw: &ServeProcess, token: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(floe_testkit::floe_binary())
        .args(["admin", "--gateway", &gw.admin_url, "--token", token])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("floe admin runs")
}
