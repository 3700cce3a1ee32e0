//! Reading Prometheus expositions (a gateway's admin listener, a node's `/metrics`) over plain
//! HTTP/1.1, and picking samples out of them.

#![allow(dead_code)] // the benches include this file too, and use none of it

use std::io::{Read, Write};
use std::net::TcpStream;

/// A plain HTTP/1.1 GET; returns (status, body).
pub fn get(base: &str, path: &str) -> (u16, String) {
    let authority = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).expect("connect to the metrics listener");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().expect("status code");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The value of the first sample whose line starts with `series`.
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
