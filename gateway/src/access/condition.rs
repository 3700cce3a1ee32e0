//! Condition operators: `StringEquals`, `StringLike`, `NumericLessThan`, `DateLessThan`,
//! `Bool`, `IpAddress`, `ArnLike`, `Null` and their negations, with the `...IfExists` suffix and
//! the `ForAnyValue:` / `ForAllValues:` set qualifiers, as AWS defines them.
//!
//! A condition block holds when every operator holds, an operator when every key holds, and a
//! key when the request's value matches any of the policy's values (for a negated operator:
//! none of them). A key the request lacks makes the operator false, unless it ends in
//! `IfExists` (then true), is `Null`, or is qualified `ForAllValues:` (vacuously true).

use std::net::IpAddr;

use super::request::Context;

/// How one value of the request is compared with one of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Order),
    Date(Order),
    Bool,
    Ip,
}

/// An ordering test for numbers and dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Equals,
    LessThan,
    LessThanEquals,
    GreaterThan,
    GreaterThanEquals,
}

/// How the request's values (a key may have several) combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    /// Single-valued keys; with several values, any may match.
    Plain,
    ForAnyValue,
    ForAllValues,
}

/// A parsed operator name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    compare: Option<Compare>,
    negated: bool,
    if_exists: bool,
    qualifier: Qualifier,
}

impl Operator {
    /// Parses an operator name; `None` for one AWS does not define.
    fn parse(name: &str) -> Option<Self> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Qualifier::ForAnyValue, r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Qualifier::ForAllValues, r)
        } else {
            (Qualifier::Plain, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        use Compare as C;
        use Order as O;
        let (compare, negated) = match base {
            "StringEquals" => (Some(C::StringEquals), false),
            "StringNotEquals" => (Some(C::StringEquals), true),
            "StringEqualsIgnoreCase" => (Some(C::StringEqualsIgnoreCase), false),
            "StringNotEqualsIgnoreCase" => (Some(C::StringEqualsIgnoreCase), true),
            "StringLike" | "ArnLike" | "ArnEquals" => (Some(C::StringLike), false),
            "StringNotLike" | "ArnNotLike" | "ArnNotEquals" => (Some(C::StringLike), true),
            "NumericEquals" => (Some(C::Numeric(O::Equals)), false),
            "NumericNotEquals" => (Some(C::Numeric(O::Equals)), true),
            "NumericLessThan" => (Some(C::Numeric(O::LessThan)), false),
            "NumericLessThanEquals" => (Some(C::Numeric(O::LessThanEquals)), false),
            "NumericGreaterThan" => (Some(C::Numeric(O::GreaterThan)), false),
            "NumericGreaterThanEquals" => (Some(C::Numeric(O::GreaterThanEquals)), false),
            "DateEquals" => (Some(C::Date(O::Equals)), false),
            "DateNotEquals" => (Some(C::Date(O::Equals)), true),
            "DateLessThan" => (Some(C::Date(O::LessThan)), false),
            "DateLessThanEquals" => (Some(C::Date(O::LessThanEquals)), false),
            "DateGreaterThan" => (Some(C::Date(O::GreaterThan)), false),
            "DateGreaterThanEquals" => (Some(C::Date(O::GreaterThanEquals)), false),
            "Bool" => (Some(C::Bool), false),
            "IpAddress" => (Some(C::Ip), false),
            "NotIpAddress" => (Some(C::Ip), true),
            // `Null` compares presence, not values; it takes no qualifier or suffix.
            "Null" if qualifier == Qualifier::Plain && !if_exists => (None, false),
            _ => return None,
        };
        Some(Self {
            compare,
            negated,
            if_exists,
            qualifier,
        })
    }
}

/// Whether `name` is a condition operator Floe evaluates.
pub fn is_known_operator(name: &str) -> bool {
    Operator::parse(name).is_some()
}

/// Whether operator `name` holds for `key` against the policy's `values` in `context`. An
/// unknown operator never holds (policies are validated before they are stored).
pub fn holds(name: &str, key: &str, values: &[String], context: &Context) -> bool {
    let Some(op) = Operator::parse(name) else {
        return false;
    };
    let present = context.get(key).filter(|v| !v.is_empty());
    let Some(compare) = op.compare else {
        // Null: "true" asks that the key be absent, "false" that it be present.
        return values
            .iter()
            .any(|v| match v.to_ascii_lowercase().as_str() {
                "true" => present.is_none(),
                "false" => present.is_some(),
                _ => false,
            });
    };
    let Some(actual) = present else {
        // As in AWS: a key the request lacks matches nothing, so a negated operator
        // (StringNotEquals, NotIpAddress...) holds, as do IfExists and ForAllValues tests.
        return op.negated || op.if_exists || op.qualifier == Qualifier::ForAllValues;
    };
    let matches = |one: &str| values.iter().any(|v| compare_one(compare, one, v));
    // A negated operator holds for a value that matches none of the policy's.
    let ok = |one: &String| matches(one) != op.negated;
    match op.qualifier {
        Qualifier::ForAllValues => actual.iter().all(ok),
        Qualifier::Plain | Qualifier::ForAnyValue => actual.iter().any(ok),
    }
}

fn compare_one(compare: Compare, actual: &str, wanted: &str) -> bool {
    match compare {
        Compare::StringEquals => actual == wanted,
        Compare::StringEqualsIgnoreCase => actual.eq_ignore_ascii_case(wanted),
        Compare::StringLike => glob(wanted.as_bytes(), actual.as_bytes()),
        Compare::Numeric(order) => match (actual.parse::<f64>(), wanted.parse::<f64>()) {
            (Ok(a), Ok(w)) => ordered(order, a.partial_cmp(&w)),
            _ => false,
        },
        Compare::Date(order) => match (date(actual), date(wanted)) {
            (Some(a), Some(w)) => ordered(order, a.partial_cmp(&w)),
            _ => false,
        },
        Compare::Bool => match (bool_of(actual), bool_of(wanted)) {
            (Some(a), Some(w)) => a == w,
            _ => false,
        },
        Compare::Ip => match actual.parse::<IpAddr>() {
            Ok(ip) => in_cidr(ip, wanted),
            Err(_) => false,
        },
    }
}

fn ordered(order: Order, cmp: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match (order, cmp) {
        (_, None) => false,
        (Order::Equals, Some(c)) => c == Equal,
        (Order::LessThan, Some(c)) => c == Less,
        (Order::LessThanEquals, Some(c)) => c != Greater,
        (Order::GreaterThan, Some(c)) => c == Greater,
        (Order::GreaterThanEquals, Some(c)) => c != Less,
    }
}

fn bool_of(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A date as seconds since the epoch: ISO 8601 (RFC 3339, or a bare day) or epoch seconds.
fn date(s: &str) -> Option<f64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(at) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some(at.unix_timestamp_nanos() as f64 / 1e9);
    }
    if let Ok(day) = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
    {
        return Some(day.midnight().assume_utc().unix_timestamp() as f64);
    }
    s.parse::<f64>().ok()
}

/// Whether `ip` is in `cidr` (`10.0.0.0/8`, `2001:db8::/32`, or a single address).
fn in_cidr(ip: IpAddr, cidr: &str) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((net, bits)) => match bits.parse::<u32>() {
            Ok(bits) => (net, Some(bits)),
            Err(_) => return false,
        },
        None => (cidr, None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let bits = bits.unwrap_or(32);
            bits <= 32
                && prefix_eq(
                    u128::from(ip.to_bits()),
                    u128::from(net.to_bits()),
                    32,
                    bits,
                )
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let bits = bits.unwrap_or(128);
            bits <= 128 && prefix_eq(ip.to_bits(), net.to_bits(), 128, bits)
        }
        // An IPv4 client seen through an IPv6 socket.
        (IpAddr::V6(ip), IpAddr::V4(_)) => match ip.to_ipv4_mapped() {
            Some(v4) => in_cidr(IpAddr::V4(v4), cidr),
            None => false,
        },
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

/// Whether the top `bits` of two `width`-bit numbers agree.
fn prefix_eq(a: u128, b: u128, width: u32, bits: u32) -> bool {
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (a >> shift) == (b >> shift)
}

/// `*` matches any run of bytes (none included), `?` any one byte; everything else itself.
pub fn glob(pattern: &[u8], input: &[u8]) -> bool {
    let (mut p, mut s) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while s < input.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some(p);
                mark = s;
                p += 1;
            }
            Some(&c) if c == b'?' || c == input[s] => {
                p += 1;
                s += 1;
            }
            _ => match star {
                Some(at) => {
                    p = at + 1;
                    mark += 1;
                    s = mark;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn globs_match_like_aws() {
        for (pattern, input, want) in [
            ("*", "", true),
            ("*", "anything", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("home/*/docs/*", "home/bob/docs/x.txt", true),
            ("*.jpg", "a/b.jpg", true),
            ("*.jpg", "a/b.jpeg", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(
                glob(pattern.as_bytes(), input.as_bytes()),
                want,
                "{pattern} {input}"
            );
        }
    }

    #[test]
    fn operators_compare_as_documented() {
        let ctx = Context::default()
            .with("aws:SourceIp", "10.1.2.3")
            .with("aws:SecureTransport", "false")
            .with("s3:max-keys", "50")
            .with("aws:CurrentTime", "2026-12-06T12:00:00Z")
            .with("s3:prefix", "home/bob/");
        let cases: &[(&str, &str, &[&str], bool)] = &[
            ("StringEquals", "s3:prefix", &["home/bob/"], true),
            ("StringEquals", "S3:PREFIX", &["home/bob/"], true),
            ("StringEquals", "s3:prefix", &["HOME/BOB/"], false),
            ("StringEqualsIgnoreCase", "s3:prefix", &["HOME/BOB/"], true),
            ("StringNotEquals", "s3:prefix", &["x", "y"], true),
            ("StringNotEquals", "s3:prefix", &["x", "home/bob/"], false),
            ("StringLike", "s3:prefix", &["home/*"], true),
            ("StringNotLike", "s3:prefix", &["home/*"], false),
            ("IpAddress", "aws:SourceIp", &["10.0.0.0/8"], true),
            (
                "IpAddress",
                "aws:SourceIp",
                &["192.168.0.0/16", "10.1.2.3/32"],
                true,
            ),
            ("IpAddress", "aws:SourceIp", &["192.168.0.0/16"], false),
            ("NotIpAddress", "aws:SourceIp", &["10.0.0.0/8"], false),
            ("Bool", "aws:SecureTransport", &["false"], true),
            ("Bool", "aws:SecureTransport", &["true"], false),
            ("NumericLessThan", "s3:max-keys", &["100"], true),
            ("NumericLessThan", "s3:max-keys", &["50"], false),
            ("NumericLessThanEquals", "s3:max-keys", &["50"], true),
            ("NumericGreaterThan", "s3:max-keys", &["10"], true),
            ("NumericEquals", "s3:max-keys", &["50.0"], true),
            ("NumericNotEquals", "s3:max-keys", &["50"], false),
            (
                "DateLessThan",
                "aws:CurrentTime",
                &["2027-01-01T00:00:00Z"],
                true,
            ),
            ("DateLessThan", "aws:CurrentTime", &["2026-12-06"], false),
            ("DateGreaterThan", "aws:CurrentTime", &["2026-12-06"], true),
            (
                "DateGreaterThanEquals",
                "aws:CurrentTime",
                &["1796558400"],
                true,
            ),
            // Absent keys: false, unless negated, IfExists or ForAllValues; Null tests presence.
            ("StringEquals", "s3:x-amz-acl", &["private"], false),
            ("StringNotEquals", "s3:x-amz-acl", &["private"], true),
            ("StringNotLike", "s3:delimiter", &["/"], true),
            ("NotIpAddress", "aws:VpcSourceIp", &["10.0.0.0/8"], true),
            ("StringEqualsIfExists", "s3:x-amz-acl", &["private"], true),
            ("StringEqualsIfExists", "s3:prefix", &["other/"], false),
            (
                "ForAllValues:StringEquals",
                "s3:x-amz-acl",
                &["private"],
                true,
            ),
            (
                "ForAnyValue:StringEquals",
                "s3:x-amz-acl",
                &["private"],
                false,
            ),
            ("Null", "s3:x-amz-acl", &["true"], true),
            ("Null", "s3:prefix", &["true"], false),
            ("Null", "s3:prefix", &["false"], true),
            // Unknown operators never hold.
            ("StringSort", "s3:prefix", &["home/bob/"], false),
            ("NullIfExists", "s3:prefix", &["false"], false),
        ];
        for &(op, key, values, want) in cases {
            assert_eq!(
                holds(op, key, &v(values), &ctx),
                want,
                "{op} {key} {values:?}"
            );
        }
    }

    #[test]
    fn set_qualifiers_look_at_every_value() {
        let tags = Context::default()
            .with("aws:TagKeys", "team")
            .with("aws:TagKeys", "cost");
        let allowed = v(&["team", "cost", "env"]);
        assert!(holds(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            &allowed,
            &tags
        ));
        assert!(!holds(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            &v(&["team"]),
            &tags
        ));
        assert!(holds(
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            &v(&["cost"]),
            &tags
        ));
        assert!(!holds(
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            &v(&["x"]),
            &tags
        ));
    }

    #[test]
    fn addresses_and_prefixes_of_both_families() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_cidr(ip("2001:db8::1"), "2001:db8::/32"));
        assert!(!in_cidr(ip("2001:db9::1"), "2001:db8::/32"));
        assert!(in_cidr(ip("::ffff:10.0.0.7"), "10.0.0.0/24"));
        assert!(!in_cidr(ip("10.0.0.7"), "2001:db8::/32"));
        assert!(in_cidr(ip("1.2.3.4"), "0.0.0.0/0"));
        assert!(!in_cidr(ip("1.2.3.4"), "1.2.3.0/33"));
        assert!(!in_cidr(ip("1.2.3.4"), "garbage"));
    }
}
