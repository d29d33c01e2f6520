//! The CIFAR-10 binary version.
//!
//! Layout (from <https://www.cs.toronto.edu/~kriz/cifar.html>, "Binary version"): each file is a
//! sequence of 3073-byte records, `<1 x label><3072 x pixel>`; the pixels are 1024 red, then 1024
//! green, then 1024 blue bytes, each plane 32x32 row-major. That is already CHW order, so the
//! pixels are copied as they are. The official files hold 10,000 records each.
//!
//! The official archive `cifar-10-binary.tar.gz` holds the files under `cifar-10-batches-bin/`;
//! it is read directly, member by member, without unpacking to disk.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::DataError;
use crate::idx::check_labels;
use crate::name::CIFAR_BATCHES;
use crate::read::gunzip_reader;

/// Pixel bytes of one CIFAR-10 image (3 x 32 x 32).
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Bytes of one record: the label byte and the pixels.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;

/// Checks a batch file's content and appends its pixels to `images` and its labels to
/// `labels`. Returns the number of records. The length must be a positive multiple of
/// [`RECORD_BYTES`] and every label below 10.
pub fn parse_records(
    path: &Path,
    data: &[u8],
    images: &mut Vec<u8>,
    labels: &mut Vec<u8>,
) -> Result<usize, DataError> {
    if data.is_empty() || !data.len().is_multiple_of(RECORD_BYTES) {
        return Err(DataError::format(
            path,
            format!(
                "a positive multiple of {RECORD_BYTES} bytes (1 label + 3072 pixel bytes each)"
            ),
            format!(
                "{} bytes ({} whole records and {} bytes over)",
                data.len(),
                data.len() / RECORD_BYTES,
                data.len() % RECORD_BYTES
            ),
        ));
    }
    let n = data.len() / RECORD_BYTES;
    let first_label = labels.len();
    images.reserve(n * IMAGE_BYTES);
    labels.reserve(n);
    for record in data.chunks_exact(RECORD_BYTES) {
        labels.push(record[0]);
        images.extend_from_slice(&record[1..]);
    }
    check_labels(path, &labels[first_label..], 10, 0)?;
    Ok(n)
}

/// Builds a CIFAR-10 batch file in memory from labels and CHW pixels (for tests and tools).
pub fn encode_records(labels: &[u8], images: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.len() * RECORD_BYTES);
    for (label, image) in labels.iter().zip(images.chunks_exact(IMAGE_BYTES)) {
        out.push(*label);
        out.extend_from_slice(image);
    }
    out
}

/// Reads the six batch files out of `cifar-10-binary.tar.gz` (gzip integrity checked), in the
/// order of [`CIFAR_BATCHES`]. Each is returned with a display path `archive/member`.
pub fn read_tar(path: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, "opening", e))?;
    let gz = gunzip_reader(BufReader::with_capacity(1 << 20, file));
    let mut archive = tar::Archive::new(gz);
    let tar_err = |e: std::io::Error| tar_error(path, e);
    let mut found: HashMap<&'static str, Vec<u8>> = HashMap::new();
    for entry in archive.entries().map_err(tar_err)? {
        let mut entry = entry.map_err(tar_err)?;
        let member = entry.path().map_err(tar_err)?.into_owned();
        let Some(base) = member.file_name().and_then(|s| s.to_str()) else {
            continue;
        };
        let Some(&name) = CIFAR_BATCHES.iter().find(|&&b| b == base) else {
            continue;
        };
        let size = entry.header().size().map_err(tar_err)? as usize;
        let mut buf = Vec::with_capacity(size.min(64 << 20));
        entry.read_to_end(&mut buf).map_err(tar_err)?;
        found.insert(name, buf);
    }
    let missing: Vec<&str> = CIFAR_BATCHES
        .iter()
        .copied()
        .filter(|b| !found.contains_key(b))
        .collect();
    if !missing.is_empty() {
        return Err(DataError::format(
            path,
            format!(
                "members cifar-10-batches-bin/{{{}}}",
                CIFAR_BATCHES.join(",")
            ),
            format!("an archive without {}", missing.join(", ")),
        ));
    }
    Ok(CIFAR_BATCHES
        .iter()
        .map(|b| (path.join(b), found.remove(b).unwrap_or_default()))
        .collect())
}

/// Errors from the tar reader come from the gzip layer (corrupt or truncated stream) or the tar
/// layer (bad header); both mean a damaged archive.
fn tar_error(path: &Path, e: std::io::Error) -> DataError {
    DataError::Gzip {
        path: path.to_path_buf(),
        detail: format!("reading tar.gz archive: {e}"),
    }
}
