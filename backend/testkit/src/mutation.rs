//! Damage for the property tests: random edits of a valid encoding (flip, insert, delete,
//! overwrite, truncate, duplicate), which reach far deeper into a decoder than random bytes.
//! The fragments inserted and overwritten are the caller's: the bytes that matter to the
//! decoder under test (varint extremes, separators, XML tokens).

use proptest::prelude::*;

#[derive(Debug, Clone)]
pub enum Edit {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Overwrite(prop::sample::Index, Vec<u8>),
    Truncate(prop::sample::Index),
    Duplicate(prop::sample::Index, usize),
}

/// Bytes that make postcard varints long and lengths huge (0xff, 0x80): the allocator's worst
/// case. The default fragment to insert or overwrite with.
pub fn wild_bytes() -> impl Strategy<Value = Vec<u8>> + Clone {
    let wild = prop_oneof![Just(0xffu8), Just(0x80), Just(0), Just(1), any::<u8>()];
    prop::collection::vec(wild, 1..12)
}

/// 1 to 7 edits; inserted and overwritten fragments come from `fragment`.
pub fn edits(
    fragment: impl Strategy<Value = Vec<u8>> + Clone + 'static,
) -> impl Strategy<Value = Vec<Edit>> {
    let index = any::<prop::sample::Index>();
    let edit = prop_oneof![
        4 => (index.clone(), 1..=255u8).prop_map(|(i, x)| Edit::Flip(i, x)),
        3 => (index.clone(), fragment.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => (index.clone(), 1..16usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        2 => (index.clone(), fragment).prop_map(|(i, b)| Edit::Overwrite(i, b)),
        1 => index.clone().prop_map(Edit::Truncate),
        1 => (index, 1..64usize).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ];
    prop::collection::vec(edit, 1..8)
}

pub fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        let len = bytes.len();
        match e {
            Edit::Flip(i, x) if len > 0 => bytes[i.index(len)] ^= x,
            Edit::Insert(i, b) => {
                let p = i.index(len + 1);
                bytes.splice(p..p, b.iter().copied());
            }
            Edit::Delete(i, n) if len > 0 => {
                let p = i.index(len);
                bytes.drain(p..(p + n).min(len));
            }
            Edit::Overwrite(i, b) if len > 0 => {
                let p = i.index(len);
                for (j, &v) in b.iter().enumerate().take(len - p) {
                    bytes[p + j] = v;
                }
            }
            Edit::Truncate(i) if len > 0 => bytes.truncate(i.index(len)),
            Edit::Duplicate(i, n) if len > 0 => {
                let p = i.index(len);
                let copy = bytes[p..(p + n).min(len)].to_vec();
                bytes.splice(p..p, copy);
            }
            _ => {}
        }
    }
}
