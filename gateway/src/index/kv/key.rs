//! Order-preserving key encoding: a tuple of typed parts becomes bytes whose byte order is the
//! tuple's order, so every store (redb, PostgreSQL's `bytea`, a `BTreeMap`) sorts keys as S3
//! does, and a listing seeks with plain range bounds (never SQL `LIKE`).
//!
//! - strings: their bytes, each `0x00` written as `0x00 0xFF`, then the terminator `0x00 0x01`.
//!   A string sorts before every longer string it prefixes, the parts after it cannot change
//!   that, and no byte of a following part can be mistaken for the string's own.
//! - unsigned integers: big-endian, fixed width; `i64`: big-endian with the sign bit flipped;
//! - chunk ids: their 32 bytes.
//!
//! "Every key whose string part starts with P" is the range from the bytes of P escaped (without
//! a terminator) up to their [`successor`], which is also how a delimiter listing skips
//! everything under a common prefix in one seek.

/// A key that failed to decode: the store holds bytes this build did not write.
#[derive(Debug, thiserror::Error)]
#[error("undecodable index key")]
pub struct KeyError;

/// One part of a key, or a tuple of parts.
pub trait KeyType {
    /// What callers pass in (borrowed).
    type Ref<'a>: Copy;
    /// What a scan hands back.
    type Owned;

    fn encode(key: Self::Ref<'_>, out: &mut Vec<u8>);
    fn decode(input: &mut &[u8]) -> Result<Self::Owned, KeyError>;
    /// A decoded key, borrowed as callers pass it.
    fn view(owned: &Self::Owned) -> Self::Ref<'_>;
}

/// A string part.
pub struct Str;

impl KeyType for Str {
    type Ref<'a> = &'a str;
    type Owned = String;

    fn encode(key: &str, out: &mut Vec<u8>) {
        escape_into(key.as_bytes(), out);
        out.extend_from_slice(&[0, 1]);
    }

    fn view(owned: &String) -> &str {
        owned
    }

    fn decode(input: &mut &[u8]) -> Result<String, KeyError> {
        let mut bytes = Vec::new();
        let mut i = 0;
        loop {
            match input.get(i) {
                None => return Err(KeyError),
                Some(0) => match input.get(i + 1) {
                    Some(0xFF) => {
                        bytes.push(0);
                        i += 2;
                    }
                    Some(1) => {
                        *input = &input[i + 2..];
                        return String::from_utf8(bytes).map_err(|_| KeyError);
                    }
                    _ => return Err(KeyError),
                },
                Some(&b) => {
                    bytes.push(b);
                    i += 1;
                }
            }
        }
    }
}

/// The escaped bytes of a string part, without its terminator: the start of every encoded string
/// that begins with `s`.
pub fn escape_into(s: &[u8], out: &mut Vec<u8>) {
    for &b in s {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

macro_rules! fixed_int {
    ($($t:ty),+) => {
        $(
            impl KeyType for $t {
                type Ref<'a> = $t;
                type Owned = $t;

                fn encode(key: $t, out: &mut Vec<u8>) {
                    out.extend_from_slice(&key.to_be_bytes());
                }

                fn view(owned: &$t) -> $t {
                    *owned
                }

                fn decode(input: &mut &[u8]) -> Result<$t, KeyError> {
                    const N: usize = std::mem::size_of::<$t>();
                    let (head, rest) = input.split_first_chunk::<N>().ok_or(KeyError)?;
                    *input = rest;
                    Ok(<$t>::from_be_bytes(*head))
                }
            }
        )+
    };
}

fixed_int!(u8, u16, u32, u64);

impl KeyType for i64 {
    type Ref<'a> = i64;
    type Owned = i64;

    fn view(owned: &i64) -> i64 {
        *owned
    }

    fn encode(key: i64, out: &mut Vec<u8>) {
        out.extend_from_slice(&((key as u64) ^ (1 << 63)).to_be_bytes());
    }

    fn decode(input: &mut &[u8]) -> Result<i64, KeyError> {
        u64::decode(input).map(|v| (v ^ (1 << 63)) as i64)
    }
}

/// A chunk id (or any 32-byte hash).
pub struct Id32;

impl KeyType for Id32 {
    type Ref<'a> = &'a [u8; 32];
    type Owned = [u8; 32];

    fn view(owned: &[u8; 32]) -> &[u8; 32] {
        owned
    }

    fn encode(key: &[u8; 32], out: &mut Vec<u8>) {
        out.extend_from_slice(key);
    }

    fn decode(input: &mut &[u8]) -> Result<[u8; 32], KeyError> {
        let (head, rest) = input.split_first_chunk::<32>().ok_or(KeyError)?;
        *input = rest;
        Ok(*head)
    }
}

impl<A: KeyType, B: KeyType> KeyType for (A, B) {
    type Ref<'a> = (A::Ref<'a>, B::Ref<'a>);
    type Owned = (A::Owned, B::Owned);

    fn encode(key: Self::Ref<'_>, out: &mut Vec<u8>) {
        A::encode(key.0, out);
        B::encode(key.1, out);
    }

    fn decode(input: &mut &[u8]) -> Result<Self::Owned, KeyError> {
        Ok((A::decode(input)?, B::decode(input)?))
    }

    fn view(owned: &Self::Owned) -> Self::Ref<'_> {
        (A::view(&owned.0), B::view(&owned.1))
    }
}

impl<A: KeyType, B: KeyType, C: KeyType> KeyType for (A, B, C) {
    type Ref<'a> = (A::Ref<'a>, B::Ref<'a>, C::Ref<'a>);
    type Owned = (A::Owned, B::Owned, C::Owned);

    fn encode(key: Self::Ref<'_>, out: &mut Vec<u8>) {
        A::encode(key.0, out);
        B::encode(key.1, out);
        C::encode(key.2, out);
    }

    fn decode(input: &mut &[u8]) -> Result<Self::Owned, KeyError> {
        Ok((A::decode(input)?, B::decode(input)?, C::decode(input)?))
    }

    fn view(owned: &Self::Owned) -> Self::Ref<'_> {
        (A::view(&owned.0), B::view(&owned.1), C::view(&owned.2))
    }
}

/// The smallest byte string greater than every string that starts with `prefix`; `None` when
/// there is none (all bytes 0xFF: the range is open-ended).
pub fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// Encodes a key of type `K` (a helper for callers building bounds by hand).
pub fn encode<K: KeyType>(key: K::Ref<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    K::encode(key, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc2(a: &str, b: &str) -> Vec<u8> {
        encode::<(Str, Str)>((a, b))
    }

    #[test]
    fn strings_sort_as_their_bytes_whatever_follows() {
        let keys = [
            "", "\0", "\0\0", "a", "a\0", "a\0b", "a\u{1}", "ab", "b", "é",
        ];
        for pair in keys.windows(2) {
            assert!(enc2(pair[0], "zzz") < enc2(pair[1], ""), "{pair:?}");
        }
    }

    #[test]
    fn integers_keep_their_order() {
        let ints = [i64::MIN, -2, -1, 0, 1, i64::MAX];
        for w in ints.windows(2) {
            assert!(encode::<i64>(w[0]) < encode::<i64>(w[1]));
        }
        assert!(encode::<u32>(255) < encode::<u32>(256));
    }

    #[test]
    fn successor_bounds_a_prefix() {
        assert_eq!(successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(successor(&[0xFF, 0xFF]), None);
    }

    proptest! {
        #[test]
        fn tuples_round_trip_and_keep_order(
            a in any::<String>(), b in any::<String>(), n in any::<u32>(),
            c in any::<String>(), d in any::<String>(), m in any::<u32>(),
        ) {
            let x = encode::<(Str, (Str, u32))>((&a, (&b, n)));
            let y = encode::<(Str, (Str, u32))>((&c, (&d, m)));
            let mut input = x.as_slice();
            prop_assert_eq!(<(Str, (Str, u32))>::decode(&mut input).unwrap(), (a.clone(), (b.clone(), n)));
            prop_assert!(input.is_empty());
            prop_assert_eq!(x.cmp(&y), (a.as_bytes(), b.as_bytes(), n).cmp(&(c.as_bytes(), d.as_bytes(), m)));
        }

        #[test]
        fn a_prefix_range_holds_exactly_the_keys_with_that_prefix(
            bucket in "[a-c]{0,2}", key in "[\\x00ab/]{0,4}", prefix in "[\\x00ab/]{0,3}",
        ) {
            let mut lo = encode::<Str>(&bucket);
            escape_into(prefix.as_bytes(), &mut lo);
            let hi = successor(&lo);
            let k = enc2(&bucket, &key);
            let inside = k >= lo && hi.as_ref().is_none_or(|hi| &k < hi);
            prop_assert_eq!(inside, key.starts_with(&prefix));
        }
    }
}
