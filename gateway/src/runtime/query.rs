//! Query strings of the admin API and of S3 requests (for policy condition keys): pairs with
//! their values percent-decoded.

use std::collections::HashMap;

/// `a=1&b=2` into a map; values are taken as they are (admin parameters are plain).
pub fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), percent_decode(v))
        })
        .collect()
}

/// Minimal percent-decoding for node URLs passed as query values (`http%3A%2F%2F...`).
pub fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| value.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded() {
        let q = parse_query(Some("node=http%3A%2F%2F127.0.0.1%3A9100&grace_secs=0&flag"));
        assert_eq!(q["node"], "http://127.0.0.1:9100");
        assert_eq!(q["grace_secs"], "0");
        assert_eq!(q["flag"], "");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz+x"), "%zz x");
    }
}
