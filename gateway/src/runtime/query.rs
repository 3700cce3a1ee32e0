//! Query strings of the admin API and of S3 requests (for policy condition keys): pairs with
//! their values percent-decoded.

use std::collections::HashMap;

/// `a=1&b=2` into a map; values are taken as they are (admin parameters are plain).
pub fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    query_pairs(query).collect()
}

/// Every `name=value` pair of `query` in order, names and values percent-decoded (as s3s reads
/// them: `version%49d` is `versionId`), repeats kept.
pub fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (String, String)> + '_ {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
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
        // Names are decoded too, as s3s decodes them.
        assert!(parse_query(Some("version%49d=3")).contains_key("versionId"));
        let pairs: Vec<_> = query_pairs(Some("prefix=a&pre%66ix=b")).collect();
        assert_eq!(
            pairs,
            [("prefix".into(), "a".into()), ("prefix".into(), "b".into())]
        );
    }
}
