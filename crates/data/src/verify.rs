//! Checking every file of a dataset: published checksums where known, and structure.
//!
//! * MNIST and Fashion-MNIST: each file's SHA-256 must equal the published digest of the `.gz`
//!   file or, failing that, the digest of its decompressed content (so Debian's re-packed
//!   Fashion-MNIST, whose gzip headers differ, and uncompressed copies also pass). Digests are
//!   listed in `shared/data/SOURCES.md`.
//! * CIFAR-10: no digest is checked for the loose batch files, because the copy in
//!   `shared/data` holds the official records in another order (sorted by class) and so cannot
//!   match the official bytes. Its structure is checked instead: 10,000 records per file,
//!   labels in range, 5,000 / 1,000 images per class. The official `cifar-10-binary.tar.gz` is
//!   checked against its published MD5 as well.
//!
//! All files are also parsed exactly as [`crate::load()`] parses them, and the split sizes must be
//! the dataset's published sizes.

use std::path::{Path, PathBuf};

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::cifar::{RECORD_BYTES, read_tar};
use crate::error::DataError;
use crate::load::{Dataset, cifar_from_contents, idx_split};
use crate::name::{CIFAR_RECORDS_PER_FILE, CIFAR_TAR_MD5, DatasetName};
use crate::read::{decode, for_each_file, read_raw};
use crate::source::{CifarSource, locate_cifar, locate_idx};

/// How a file's checksum was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumCheck {
    /// The file's SHA-256 equals the published one of the `.gz` file.
    GzSha256,
    /// The SHA-256 of the decompressed content equals the published one.
    ContentSha256,
    /// The archive's MD5 equals the published one (official CIFAR-10 archive).
    ArchiveMd5,
    /// No published digest applies; structure only (loose CIFAR-10 batch files).
    StructureOnly,
}

/// What was checked about one file.
#[derive(Debug, Clone)]
pub struct FileCheck {
    /// The file.
    pub path: PathBuf,
    /// Its size on disk.
    pub bytes: usize,
    /// Its size decompressed.
    pub content_bytes: usize,
    /// SHA-256 of the file as stored (lower-case hex).
    pub sha256: String,
    /// How its checksum was checked.
    pub checksum: ChecksumCheck,
}

/// The result of a successful [`verify`].
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The dataset.
    pub dataset: DatasetName,
    /// One entry per file.
    pub files: Vec<FileCheck>,
    /// Training images found.
    pub train_len: usize,
    /// Test images found.
    pub test_len: usize,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads, hashes and decompresses one file.
fn read_hashed(path: &Path) -> Result<(FileCheck, Vec<u8>), DataError> {
    let raw = read_raw(path)?;
    let bytes = raw.len();
    let sha256 = hex(&Sha256::digest(&raw));
    let content = decode(path, raw)?;
    let check = FileCheck {
        path: path.to_path_buf(),
        bytes,
        content_bytes: content.len(),
        sha256,
        checksum: ChecksumCheck::StructureOnly,
    };
    Ok((check, content))
}

/// Checks every file of dataset `name` under `root`: published checksums where known (see the
/// module doc), gzip integrity, structure, counts. Returns what was checked, or the first problem.
pub fn verify(name: DatasetName, root: &Path) -> Result<VerifyReport, DataError> {
    let (files, data) = match name {
        DatasetName::Mnist | DatasetName::FashionMnist => verify_idx(name, root)?,
        DatasetName::Cifar10 => verify_cifar(root)?,
    };
    let (train_len, test_len) = (data.train.len(), data.test.len());
    let (want_train, want_test) = name.sizes();
    for (split, len, want, path) in [
        ("training", train_len, want_train, &files[0].path),
        ("test", test_len, want_test, &files[files.len() - 1].path),
    ] {
        if len != want {
            return Err(DataError::format(
                path,
                format!("{want} {split} images in {name}"),
                format!("{len}"),
            ));
        }
    }
    Ok(VerifyReport {
        dataset: name,
        files,
        train_len,
        test_len,
    })
}

fn verify_idx(name: DatasetName, root: &Path) -> Result<(Vec<FileCheck>, Dataset), DataError> {
    let paths = locate_idx(name, root)?;
    let read = for_each_file(&paths, read_hashed)?;
    let mut checks = Vec::new();
    for ((check, content), known) in read.iter().zip(name.idx_files()) {
        let mut check = check.clone();
        check.checksum = if check.sha256 == known.gz_sha256 {
            ChecksumCheck::GzSha256
        } else {
            let content_sha = hex(&Sha256::digest(content));
            if content_sha != known.raw_sha256 {
                return Err(DataError::Checksum {
                    path: check.path,
                    algorithm: "sha256",
                    expected: format!(
                        "{} (content) or {} (.gz)",
                        known.raw_sha256, known.gz_sha256
                    ),
                    found: format!("{content_sha} (content), {} (file)", check.sha256),
                });
            }
            ChecksumCheck::ContentSha256
        };
        checks.push(check);
    }
    let c = |i: usize| (&paths[i], read[i].1.as_slice());
    let train = idx_split(name, c(0).0, c(0).1, c(1).0, c(1).1)?;
    let test = idx_split(name, c(2).0, c(2).1, c(3).0, c(3).1)?;
    Ok((checks, Dataset { name, train, test }))
}

fn verify_cifar(root: &Path) -> Result<(Vec<FileCheck>, Dataset), DataError> {
    let (checks, contents) = match locate_cifar(root)? {
        CifarSource::Files(paths) => {
            let read = for_each_file(&paths, read_hashed)?;
            let (checks, contents): (Vec<_>, Vec<_>) = read.into_iter().unzip();
            let contents: Vec<(PathBuf, Vec<u8>)> = paths.into_iter().zip(contents).collect();
            (checks, contents)
        }
        CifarSource::Tar(tar) => {
            let raw = read_raw(&tar)?;
            let md5 = hex(&Md5::digest(&raw));
            if md5 != CIFAR_TAR_MD5 {
                return Err(DataError::Checksum {
                    path: tar,
                    algorithm: "md5",
                    expected: CIFAR_TAR_MD5.into(),
                    found: md5,
                });
            }
            let contents = read_tar(&tar)?;
            let check = FileCheck {
                path: tar,
                bytes: raw.len(),
                content_bytes: contents.iter().map(|(_, c)| c.len()).sum(),
                sha256: hex(&Sha256::digest(&raw)),
                checksum: ChecksumCheck::ArchiveMd5,
            };
            (vec![check], contents)
        }
    };
    for (path, content) in &contents {
        let records = content.len() / RECORD_BYTES;
        if records != CIFAR_RECORDS_PER_FILE || !content.len().is_multiple_of(RECORD_BYTES) {
            return Err(DataError::format(
                path,
                format!("{CIFAR_RECORDS_PER_FILE} records of {RECORD_BYTES} bytes"),
                format!("{} bytes", content.len()),
            ));
        }
    }
    let paths: Vec<PathBuf> = contents.iter().map(|(p, _)| p.clone()).collect();
    let data = cifar_from_contents(contents)?;
    for (split, path, per_class) in [
        (&data.train, &paths[0], 5000),
        (&data.test, &paths[5], 1000),
    ] {
        let counts = split.class_counts();
        if counts.iter().any(|&c| c != per_class) {
            return Err(DataError::format(
                path,
                format!("{per_class} images of each class"),
                format!("class counts {counts:?}"),
            ));
        }
    }
    Ok((checks, data))
}
