//! Range-read arithmetic: which chunks, and within a chunk which data shards, hold a byte range.
//!
//! Works from each chunk's own length, never from the configured chunk size, because multipart
//! objects concatenate parts whose last chunks are short. All inputs come from requests and
//! manifests, so out-of-range or empty ranges give empty answers rather than panics.

/// A half-open byte range `[start, end)` of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    /// Exclusive.
    pub end: u64,
}

impl ByteRange {
    pub fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    /// Length in bytes; 0 for an empty or inverted range.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The part of one chunk that a range covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSlice {
    pub chunk_index: usize,
    /// Offset inside the chunk.
    pub offset: usize,
    pub len: usize,
}

/// Which parts of which chunks cover `range`, given each chunk's length in order. Chunks outside
/// the range (and empty chunks) are skipped; the range is clamped to the total length.
pub fn chunk_slices(chunk_lens: &[u32], range: ByteRange) -> Vec<ChunkSlice> {
    let mut slices = Vec::new();
    let mut chunk_start = 0u64;
    for (chunk_index, &len) in chunk_lens.iter().enumerate() {
        if chunk_start >= range.end {
            break;
        }
        let chunk_end = chunk_start.saturating_add(u64::from(len));
        let start = range.start.max(chunk_start);
        let end = range.end.min(chunk_end);
        if start < end {
            // Both values are bounded by this chunk's u32 length, so they fit in usize.
            slices.push(ChunkSlice {
                chunk_index,
                offset: (start - chunk_start) as usize,
                len: (end - start) as usize,
            });
        }
        chunk_start = chunk_end;
    }
    slices
}

/// The part of one data shard that a range covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSlice {
    pub shard_index: usize,
    /// Offset inside the shard.
    pub offset: usize,
    pub len: usize,
}

/// Which data shards cover bytes `[offset, offset + len)` of a chunk, in the systematic layout
/// where data shard i holds chunk bytes `[i * shard_len, (i + 1) * shard_len)`. Lets a range read
/// fetch (or slice out of the cache) only the shards it needs.
pub fn shard_slices(shard_len: usize, offset: usize, len: usize) -> Vec<ShardSlice> {
    if shard_len == 0 {
        return Vec::new();
    }
    let end = offset.saturating_add(len);
    let mut slices = Vec::new();
    let mut pos = offset;
    while pos < end {
        let shard_index = pos / shard_len;
        let in_shard = pos % shard_len;
        let take = (shard_len - in_shard).min(end - pos);
        slices.push(ShardSlice {
            shard_index,
            offset: in_shard,
            len: take,
        });
        pos += take;
    }
    slices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_slices_span_boundaries() {
        let lens = [10, 10, 5];
        assert_eq!(
            chunk_slices(&lens, ByteRange::new(8, 22)),
            vec![
                ChunkSlice {
                    chunk_index: 0,
                    offset: 8,
                    len: 2
                },
                ChunkSlice {
                    chunk_index: 1,
                    offset: 0,
                    len: 10
                },
                ChunkSlice {
                    chunk_index: 2,
                    offset: 0,
                    len: 2
                },
            ]
        );
        assert_eq!(
            chunk_slices(&lens, ByteRange::new(20, 1000)),
            vec![ChunkSlice {
                chunk_index: 2,
                offset: 0,
                len: 5
            }]
        );
    }

    #[test]
    fn chunk_slices_empty_cases() {
        let lens = [10, 0, 10];
        assert!(chunk_slices(&lens, ByteRange::new(5, 5)).is_empty());
        assert!(chunk_slices(&lens, ByteRange::new(7, 3)).is_empty());
        assert!(chunk_slices(&lens, ByteRange::new(20, 30)).is_empty());
        assert!(chunk_slices(&[], ByteRange::new(0, 30)).is_empty());
        // The zero-length chunk in the middle contributes nothing.
        let across = chunk_slices(&lens, ByteRange::new(9, 11));
        assert_eq!(
            across.iter().map(|s| s.chunk_index).collect::<Vec<_>>(),
            [0, 2]
        );
        assert!(ByteRange::new(7, 3).is_empty());
        assert_eq!(ByteRange::new(3, 7).len(), 4);
    }

    #[test]
    fn shard_slices_split_at_shard_edges() {
        assert_eq!(
            shard_slices(4, 3, 6),
            vec![
                ShardSlice {
                    shard_index: 0,
                    offset: 3,
                    len: 1
                },
                ShardSlice {
                    shard_index: 1,
                    offset: 0,
                    len: 4
                },
                ShardSlice {
                    shard_index: 2,
                    offset: 0,
                    len: 1
                },
            ]
        );
        assert!(shard_slices(4, 3, 0).is_empty());
        assert!(shard_slices(0, 3, 10).is_empty());
        assert_eq!(shard_slices(4, 8, 4).len(), 1);
    }
}
