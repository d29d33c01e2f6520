//! The IDX format of MNIST and Fashion-MNIST.
//!
//! Layout (from <http://yann.lecun.com/exdb/mnist/>, "FILE FORMATS FOR THE MNIST DATABASE"):
//! a big-endian 32-bit magic number whose third byte is the element type (0x08 = unsigned
//! byte) and whose fourth byte is the number of dimensions, then one big-endian 32-bit size per
//! dimension, then the data. Images: magic 2051 (0x00000803), sizes N, rows, cols, then N*rows*cols
//! pixel bytes, row-major. Labels: magic 2049 (0x00000801), size N, then N label bytes.

use std::path::Path;

use crate::error::DataError;

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

fn be_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

fn check_header(path: &Path, data: &[u8], magic: u32, header: usize) -> Result<(), DataError> {
    if data.len() < header {
        return Err(DataError::format(
            path,
            format!("an IDX header of {header} bytes"),
            format!("a file of {} bytes", data.len()),
        ));
    }
    let found = be_u32(data, 0);
    if found != magic {
        return Err(DataError::format(
            path,
            format!("IDX magic number {magic} ({magic:#010x})"),
            format!("{found} ({found:#010x})"),
        ));
    }
    Ok(())
}

/// Parses an IDX image file, checking the magic number, that the image size is `dims`
/// (rows, cols) and that the length is exactly the header plus N*rows*cols. Returns N and the
/// pixel bytes (without the header).
pub fn parse_images<'a>(
    path: &Path,
    data: &'a [u8],
    dims: [usize; 2],
) -> Result<(usize, &'a [u8]), DataError> {
    check_header(path, data, IMAGES_MAGIC, 16)?;
    let n = be_u32(data, 4) as usize;
    let rows = be_u32(data, 8) as usize;
    let cols = be_u32(data, 12) as usize;
    if [rows, cols] != dims {
        return Err(DataError::format(
            path,
            format!("images of {}x{} pixels", dims[0], dims[1]),
            format!("{rows}x{cols}"),
        ));
    }
    let expected = n.checked_mul(rows * cols).and_then(|b| b.checked_add(16));
    if expected != Some(data.len()) {
        return Err(DataError::format(
            path,
            format!(
                "16 header bytes + {n} images x {rows}x{cols} = {} bytes",
                expected_str(expected)
            ),
            format!("{} bytes", data.len()),
        ));
    }
    Ok((n, &data[16..]))
}

/// Parses an IDX label file, checking the magic number, that the length is exactly the header
/// plus N, and that every label is below `num_classes`. Returns the label bytes.
pub fn parse_labels<'a>(
    path: &Path,
    data: &'a [u8],
    num_classes: usize,
) -> Result<&'a [u8], DataError> {
    check_header(path, data, LABELS_MAGIC, 8)?;
    let n = be_u32(data, 4) as usize;
    let expected = n.checked_add(8);
    if expected != Some(data.len()) {
        return Err(DataError::format(
            path,
            format!(
                "8 header bytes + {n} labels = {} bytes",
                expected_str(expected)
            ),
            format!("{} bytes", data.len()),
        ));
    }
    let labels = &data[8..];
    check_labels(path, labels, num_classes, 0)?;
    Ok(labels)
}

/// Checks that every label is below `num_classes`; `first_index` numbers the records in the
/// error message.
pub fn check_labels(
    path: &Path,
    labels: &[u8],
    num_classes: usize,
    first_index: usize,
) -> Result<(), DataError> {
    match labels.iter().position(|&l| l as usize >= num_classes) {
        None => Ok(()),
        Some(i) => Err(DataError::format(
            path,
            format!("labels in 0..{num_classes}"),
            format!("label {} at record {}", labels[i], first_index + i),
        )),
    }
}

fn expected_str(n: Option<usize>) -> String {
    n.map_or_else(
        || "more than the address space".to_string(),
        |n| n.to_string(),
    )
}

/// Builds an IDX image file in memory (used by tests and tools to make small files).
pub fn encode_images(n: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, n as u32, rows as u32, cols as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Builds an IDX label file in memory (used by tests and tools to make small files).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}
