//! Reading a file whole, decompressing it when it is gzip.
//!
//! Gzip is recognised by its magic bytes `1f 8b` (RFC 1952, section 2.3.1), not by the file
//! name, so `foo.gz` that is really uncompressed and `foo` that is really gzip both work.
//! [`MultiGzDecoder`] reads every member of a multi-member file and checks each member's CRC-32
//! and length trailer, so a truncated or corrupted stream is an error, never a short read.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::thread;

use flate2::read::MultiGzDecoder;

use crate::error::DataError;

/// The first two bytes of every gzip member (RFC 1952).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Upper bound on the capacity reserved from a gzip trailer's size field, so a corrupt trailer
/// cannot make us reserve absurd amounts of memory (the largest file here is 47 MB).
const MAX_SIZE_HINT: usize = 256 << 20;

/// Whether `bytes` start with the gzip magic.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Reads a file's raw bytes.
pub fn read_raw(path: &Path) -> Result<Vec<u8>, DataError> {
    fs::read(path).map_err(|e| DataError::io(path, "reading", e))
}

/// Reads a file and returns its content, decompressed when it is gzip.
pub fn read_content(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = read_raw(path)?;
    decode(path, raw)
}

/// Decompresses `raw` when it is gzip, else returns it unchanged. `path` only names the file in
/// errors.
pub fn decode(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if !is_gzip(&raw) {
        return Ok(raw);
    }
    // ISIZE, the last four bytes of a (single-member) gzip file, is the content length mod 2^32:
    // a good capacity hint that saves the decoder's repeated reallocation.
    let hint = raw
        .len()
        .checked_sub(4)
        .map(|i| u32::from_le_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]) as usize)
        .unwrap_or(0)
        .min(MAX_SIZE_HINT);
    let mut out = Vec::with_capacity(hint);
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| DataError::Gzip {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    Ok(out)
}

/// Decompresses a gzip stream from a reader (used for tar archives), checking integrity.
pub fn gunzip_reader<R: Read>(reader: R) -> MultiGzDecoder<R> {
    MultiGzDecoder::new(reader)
}

/// Applies `f` to every path on its own thread (decompression dominates loading), keeping the
/// order of `paths`; the first error wins and a panic in `f` is passed on.
pub(crate) fn for_each_file<T: Send>(
    paths: &[PathBuf],
    f: impl Fn(&Path) -> Result<T, DataError> + Sync,
) -> Result<Vec<T>, DataError> {
    let f = &f;
    thread::scope(|s| {
        let handles: Vec<_> = paths.iter().map(|p| s.spawn(move || f(p))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
