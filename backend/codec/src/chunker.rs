//! Cutting a byte stream into fixed-size chunks (stripes), push-style, so the async body reader
//! stays in charge of I/O and memory stays bounded by one chunk plus what the caller holds.
//!
//! Every chunk buffer is allocated with [`MAX_PADDING`] spare bytes so `encode_chunk` can pad it
//! into shards in place instead of reallocating and copying 4 MiB.

use crate::MAX_PADDING;

/// Default chunk (stripe) size: large enough that per-chunk overhead (k + m requests, one id)
/// is noise, small enough that a chunk is a cheap unit to cache and to retry.
pub const DEFAULT_CHUNK_SIZE: usize = 4 * 1024 * 1024;

/// Largest chunk `encode_chunk` accepts: lengths are stored as u32.
const MAX_CHUNK_SIZE: usize = u32::MAX as usize;

/// Smallest buffer a partial chunk starts with; avoids a string of tiny reallocations.
const MIN_INITIAL_CAPACITY: usize = 4096;

/// Fixed-size stripe cutter: feed bytes with [`push`](Chunker::push), collect the tail with
/// [`finish`](Chunker::finish).
#[derive(Debug)]
pub struct Chunker {
    chunk_size: usize,
    current: Vec<u8>,
    /// Bytes pushed so far, the current chunk's included.
    pushed: u64,
    /// The stream's announced length, if known (see [`expecting`](Chunker::expecting)).
    expected: Option<u64>,
}

impl Chunker {
    /// A chunker emitting chunks of `chunk_size` bytes. The size usually comes from configuration,
    /// so instead of panicking it is clamped: 0 becomes 1, and anything above `u32::MAX` (the
    /// largest chunk `encode_chunk` accepts) becomes `u32::MAX`.
    pub fn new(chunk_size: usize) -> Self {
        Self {
            chunk_size: chunk_size.clamp(1, MAX_CHUNK_SIZE),
            current: Vec::new(),
            pushed: 0,
            expected: None,
        }
    }

    /// Tells the chunker the stream will be `len` bytes long, so each chunk buffer is
    /// allocated at the size it will reach instead of doubling its way there (every doubling
    /// copies what the buffer holds: about one extra copy of the body). Only a hint: a stream
    /// that turns out longer or shorter is cut the same way.
    pub fn expecting(mut self, len: u64) -> Self {
        self.expected = Some(len);
        self
    }

    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Bytes held back waiting for the current chunk to fill.
    pub fn buffered(&self) -> usize {
        self.current.len()
    }

    /// Appends bytes; returns every chunk that became complete (each exactly `chunk_size` long).
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut complete = Vec::new();
        while !bytes.is_empty() {
            let room = self.chunk_size - self.current.len();
            let take = room.min(bytes.len());
            let (head, rest) = bytes.split_at(take);
            self.reserve(take);
            self.current.extend_from_slice(head);
            self.pushed += take as u64;
            bytes = rest;
            if self.current.len() == self.chunk_size {
                complete.push(std::mem::take(&mut self.current));
            }
        }
        complete
    }

    /// The final partial chunk, if any bytes remain (never an empty `Vec`).
    pub fn finish(self) -> Option<Vec<u8>> {
        (!self.current.is_empty()).then_some(self.current)
    }

    /// Grows the current buffer for `additional` more bytes. Growth doubles (so a trickle of
    /// small pushes is amortised) but never past one chunk, and every allocation keeps
    /// `MAX_PADDING` spare: the buffer that ends up holding a chunk can always be padded in
    /// place. A small object therefore never costs a whole chunk-sized allocation.
    fn reserve(&mut self, additional: usize) {
        let needed = self.current.len() + additional;
        if needed + MAX_PADDING <= self.current.capacity() {
            return;
        }
        // What the current chunk will hold if the stream is as long as announced.
        let announced = self.expected.map(|total| {
            let before_chunk = self.pushed - self.current.len() as u64;
            usize::try_from(total.saturating_sub(before_chunk))
                .map_or(self.chunk_size, |left| left.min(self.chunk_size))
        });
        let data_capacity = if needed == self.chunk_size {
            // The common case for large uploads: the chunk completes in this push.
            self.chunk_size
        } else if let Some(announced) = announced.filter(|&a| a >= needed) {
            announced
        } else {
            needed
                .max(self.current.len() * 2)
                .max(MIN_INITIAL_CAPACITY)
                .min(self.chunk_size)
        };
        self.current
            .reserve_exact(data_capacity + MAX_PADDING - self.current.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_exact_chunks_and_keeps_the_tail() {
        let mut c = Chunker::new(4);
        assert!(c.push(b"ab").is_empty());
        assert_eq!(c.buffered(), 2);
        assert_eq!(
            c.push(b"cdefghij"),
            vec![b"abcd".to_vec(), b"efgh".to_vec()]
        );
        assert_eq!(c.buffered(), 2);
        assert_eq!(c.finish(), Some(b"ij".to_vec()));
    }

    #[test]
    fn exact_multiple_leaves_no_tail() {
        let mut c = Chunker::new(3);
        assert_eq!(c.push(b"abcdef").len(), 2);
        assert_eq!(c.buffered(), 0);
        assert_eq!(c.finish(), None);
        assert_eq!(Chunker::new(8).finish(), None);
    }

    #[test]
    fn zero_size_is_one() {
        let mut c = Chunker::new(0);
        assert_eq!(c.chunk_size(), 1);
        assert_eq!(c.push(b"xy"), vec![b"x".to_vec(), b"y".to_vec()]);
        assert_eq!(Chunker::new(usize::MAX).chunk_size(), MAX_CHUNK_SIZE);
    }

    #[test]
    fn every_chunk_has_room_for_padding() {
        let mut c = Chunker::new(10_000);
        let mut chunks = Vec::new();
        // Trickle in odd-sized pieces so the buffer grows several times before completing.
        for piece in std::iter::repeat_n([5u8; 333], 100) {
            chunks.extend(c.push(&piece));
        }
        chunks.extend(c.finish());
        assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), 33_300);
        for chunk in &chunks {
            assert!(chunk.capacity() >= chunk.len() + MAX_PADDING);
        }
        // A small object stays small.
        let mut small = Chunker::new(DEFAULT_CHUNK_SIZE);
        small.push(b"tiny");
        let tail = small.finish().unwrap();
        assert!(tail.capacity() < 2 * MIN_INITIAL_CAPACITY);
    }

    /// Trickles `len` bytes into a chunker of 10,000-byte chunks, announced as `announced`.
    fn announced_chunks(len: usize, announced: u64) -> Vec<Vec<u8>> {
        let mut c = Chunker::new(10_000).expecting(announced);
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut chunks = Vec::new();
        for piece in body.chunks(333) {
            chunks.extend(c.push(piece));
        }
        chunks.extend(c.finish());
        assert_eq!(chunks.concat(), body);
        chunks
    }

    #[test]
    fn an_announced_length_sizes_each_buffer_once() {
        let chunks = announced_chunks(33_300, 33_300);
        let lens: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(lens, [10_000, 10_000, 10_000, 3_300]);
        for chunk in &chunks {
            // Allocated at its final size at the first push: never grown, so never copied.
            assert_eq!(chunk.capacity(), chunk.len() + MAX_PADDING);
        }
    }

    #[test]
    fn a_wrong_announced_length_still_cuts_the_stream_right() {
        for (len, announced) in [(33_300, 5_000), (33_300, 0), (5_000, 33_300), (1, u64::MAX)] {
            let chunks = announced_chunks(len, announced);
            assert!(chunks[..chunks.len() - 1].iter().all(|c| c.len() == 10_000));
            for chunk in &chunks {
                assert!(chunk.capacity() >= chunk.len() + MAX_PADDING);
                assert!(chunk.capacity() <= 10_000 + MAX_PADDING);
            }
        }
    }
}
