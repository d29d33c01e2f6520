//! Helpers shared by the integration tests: tiny valid dataset files written to temporary roots.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use gradlab_data::cifar::{IMAGE_BYTES, encode_records};
use gradlab_data::idx::{encode_images, encode_labels};

/// Gzip-compresses `data`.
pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Deterministic pixels for `n` images of `len` bytes; image i's first byte is i % 256.
pub fn pixels(n: usize, len: usize) -> Vec<u8> {
    (0..n * len)
        .map(|k| ((k / len) * 31 + (k % len) * 7) as u8)
        .collect()
}

/// Labels 0, 1, ..., 9, 0, 1, ...
pub fn cyclic_labels(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 10) as u8).collect()
}

/// The four IDX files of a tiny MNIST-like dataset: (file name, content).
pub fn idx_files(n_train: usize, n_test: usize) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "train-images-idx3-ubyte",
            encode_images(n_train, 28, 28, &pixels(n_train, 784)),
        ),
        (
            "train-labels-idx1-ubyte",
            encode_labels(&cyclic_labels(n_train)),
        ),
        (
            "t10k-images-idx3-ubyte",
            encode_images(n_test, 28, 28, &pixels(n_test, 784)),
        ),
        (
            "t10k-labels-idx1-ubyte",
            encode_labels(&cyclic_labels(n_test)),
        ),
    ]
}

/// Writes IDX files into `<root>/<folder>/`, gzip-compressed as `name.gz` when `gzip`.
pub fn write_idx(root: &Path, folder: &str, files: &[(&str, Vec<u8>)], gzip: bool) {
    let dir = root.join(folder);
    fs::create_dir_all(&dir).unwrap();
    for (name, content) in files {
        if gzip {
            fs::write(dir.join(format!("{name}.gz")), gz(content)).unwrap();
        } else {
            fs::write(dir.join(name), content).unwrap();
        }
    }
}

/// CIFAR-like batch contents: six files of `per_file` records each, sorted by class like
/// `shared/data` (training file k holds classes 2k and 2k+1; the test file cycles).
pub fn cifar_files(per_file: usize) -> Vec<(&'static str, Vec<u8>)> {
    let names = gradlab_data::name::CIFAR_BATCHES;
    names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let labels: Vec<u8> = if k < 5 {
                (0..per_file)
                    .map(|i| (2 * k + 2 * i / per_file) as u8)
                    .collect()
            } else {
                cyclic_labels(per_file)
            };
            (
                *name,
                encode_records(&labels, &pixels(per_file, IMAGE_BYTES)),
            )
        })
        .collect()
}

/// Builds an in-memory `cifar-10-binary.tar.gz` holding `files` under `cifar-10-batches-bin/`.
pub fn cifar_tar(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(
                &mut header,
                format!("cifar-10-batches-bin/{name}"),
                content.as_slice(),
            )
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// The real data root, or `None` after reporting that the test was skipped.
pub fn real_root() -> Option<std::path::PathBuf> {
    match std::env::var_os("GRADLAB_DATA").filter(|v| !v.is_empty()) {
        Some(p) => Some(p.into()),
        None => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("skipped: GRADLAB_DATA not set");
            }
            None
        }
    }
}
