//! Loading tiny files built here: every valid form, and every way a file can be wrong.

mod common;

use std::fs;
use std::path::Path;

use common::{cifar_files, cifar_tar, gz, idx_files, write_idx};
use gradlab_data::idx::{encode_images, encode_labels};
use gradlab_data::{DataError, DatasetName, load};
use tempfile::TempDir;

fn mnist_root(gzip: bool) -> TempDir {
    let root = TempDir::new().unwrap();
    write_idx(root.path(), "mnist", &idx_files(30, 20), gzip);
    root
}

fn replace(root: &Path, folder: &str, file: &str, content: Vec<u8>) {
    fs::write(root.join(folder).join(file), content).unwrap();
}

/// Loads MNIST and returns the error's message, which must name `file`.
fn mnist_error(root: &Path, file: &str) -> String {
    let err = load(DatasetName::Mnist, root).expect_err("a bad file must be an error");
    let msg = err.to_string();
    assert!(msg.contains(file), "message {msg:?} does not name {file}");
    msg
}

#[test]
fn loads_gzip_and_plain_idx() {
    for gzip in [true, false] {
        let root = mnist_root(gzip);
        let data = load(DatasetName::Mnist, root.path()).unwrap();
        assert_eq!((data.train.len(), data.test.len()), (30, 20));
        assert_eq!(data.train.shape(), [1, 28, 28]);
        assert_eq!(data.train.label(0), 0);
        assert_eq!(data.train.label(13), 3);
        assert_eq!(data.train.image(1), &common::pixels(30, 784)[784..1568]);
        assert_eq!(data.train.class_counts(), vec![3; 10]);
    }
}

#[test]
fn gzip_is_detected_by_magic_not_name() {
    // Plain content under a .gz name, and gzip content without one.
    let root = TempDir::new().unwrap();
    let dir = root.path().join("mnist");
    fs::create_dir_all(&dir).unwrap();
    for (i, (name, content)) in idx_files(5, 5).into_iter().enumerate() {
        if i % 2 == 0 {
            fs::write(dir.join(format!("{name}.gz")), content).unwrap();
        } else {
            fs::write(dir.join(name), gz(&content)).unwrap();
        }
    }
    let data = load(DatasetName::Mnist, root.path()).unwrap();
    assert_eq!(data.train.len(), 5);
}

#[test]
fn missing_files_are_all_named_with_folders_and_fix() {
    let root = TempDir::new().unwrap();
    write_idx(root.path(), "mnist", &idx_files(3, 3)[..2], true);
    let err = load(DatasetName::Mnist, root.path()).unwrap_err();
    assert!(matches!(err, DataError::Missing { .. }));
    let msg = err.to_string();
    for needle in [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "gradlab data download mnist",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ] {
        assert!(msg.contains(needle), "{msg:?} lacks {needle}");
    }
    assert!(msg.contains(&root.path().join("mnist").display().to_string()));
    assert!(
        !msg.contains("train-images"),
        "present files are not missing: {msg}"
    );
}

#[test]
fn bad_image_magic() {
    let root = mnist_root(true);
    let mut bad = encode_images(30, 28, 28, &common::pixels(30, 784));
    bad[3] = 0x01; // 2049: a label file's magic
    replace(root.path(), "mnist", "train-images-idx3-ubyte.gz", gz(&bad));
    let msg = mnist_error(root.path(), "train-images-idx3-ubyte.gz");
    assert!(msg.contains("2051") && msg.contains("2049"), "{msg}");
}

#[test]
fn bad_label_magic() {
    let root = mnist_root(false);
    let mut bad = encode_labels(&common::cyclic_labels(20));
    bad[2] = 0x09;
    replace(root.path(), "mnist", "t10k-labels-idx1-ubyte", bad);
    mnist_error(root.path(), "t10k-labels-idx1-ubyte");
}

#[test]
fn wrong_image_dimensions() {
    let root = mnist_root(true);
    let bad = encode_images(30, 32, 32, &common::pixels(30, 1024));
    replace(root.path(), "mnist", "train-images-idx3-ubyte.gz", gz(&bad));
    let msg = mnist_error(root.path(), "train-images-idx3-ubyte.gz");
    assert!(msg.contains("28x28") && msg.contains("32x32"), "{msg}");
}

#[test]
fn truncated_idx_content() {
    let root = mnist_root(true);
    let mut bad = encode_images(30, 28, 28, &common::pixels(30, 784));
    bad.truncate(bad.len() - 100);
    replace(root.path(), "mnist", "train-images-idx3-ubyte.gz", gz(&bad));
    let msg = mnist_error(root.path(), "train-images-idx3-ubyte.gz");
    assert!(
        msg.contains("23536 bytes") && msg.contains("23436 bytes"),
        "{msg}"
    );
}

#[test]
fn too_long_idx_content() {
    let root = mnist_root(false);
    let mut bad = encode_labels(&common::cyclic_labels(30));
    bad.push(1);
    replace(root.path(), "mnist", "train-labels-idx1-ubyte", bad);
    mnist_error(root.path(), "train-labels-idx1-ubyte");
}

#[test]
fn header_shorter_than_its_size() {
    let root = mnist_root(false);
    replace(
        root.path(),
        "mnist",
        "train-images-idx3-ubyte",
        vec![0, 0, 8, 3, 0],
    );
    let msg = mnist_error(root.path(), "train-images-idx3-ubyte");
    assert!(msg.contains("header"), "{msg}");
    replace(root.path(), "mnist", "train-images-idx3-ubyte", Vec::new());
    mnist_error(root.path(), "train-images-idx3-ubyte");
}

#[test]
fn truncated_gzip() {
    let root = mnist_root(true);
    let whole = gz(&encode_images(30, 28, 28, &common::pixels(30, 784)));
    for cut in [whole.len() - 3, whole.len() / 2, 12] {
        replace(
            root.path(),
            "mnist",
            "train-images-idx3-ubyte.gz",
            whole[..cut].to_vec(),
        );
        let err = load(DatasetName::Mnist, root.path()).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "cut at {cut}: {err}");
        assert!(err.to_string().contains("train-images-idx3-ubyte.gz"));
    }
}

#[test]
fn corrupt_gzip_crc() {
    let root = mnist_root(true);
    let mut bad = gz(&encode_labels(&common::cyclic_labels(30)));
    let crc_at = bad.len() - 8; // the CRC-32 of the trailer (RFC 1952)
    bad[crc_at] ^= 0xff;
    replace(root.path(), "mnist", "train-labels-idx1-ubyte.gz", bad);
    let err = load(DatasetName::Mnist, root.path()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err}");
}

#[test]
fn corrupt_deflate_data() {
    let root = mnist_root(true);
    let mut bad = gz(&encode_images(30, 28, 28, &common::pixels(30, 784)));
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 16] {
        *b ^= 0x5a;
    }
    replace(root.path(), "mnist", "train-images-idx3-ubyte.gz", bad);
    let err = load(DatasetName::Mnist, root.path()).unwrap_err();
    assert!(
        err.to_string().contains("train-images-idx3-ubyte.gz"),
        "{err}"
    );
}

#[test]
fn label_out_of_range() {
    let root = mnist_root(true);
    let mut labels = common::cyclic_labels(20);
    labels[7] = 10;
    replace(
        root.path(),
        "mnist",
        "t10k-labels-idx1-ubyte.gz",
        gz(&encode_labels(&labels)),
    );
    let msg = mnist_error(root.path(), "t10k-labels-idx1-ubyte.gz");
    assert!(msg.contains("label 10 at record 7"), "{msg}");
}

#[test]
fn image_and_label_counts_disagree() {
    let root = mnist_root(true);
    let labels = encode_labels(&common::cyclic_labels(29));
    replace(
        root.path(),
        "mnist",
        "train-labels-idx1-ubyte.gz",
        gz(&labels),
    );
    let msg = mnist_error(root.path(), "train-labels-idx1-ubyte.gz");
    assert!(msg.contains("30") && msg.contains("29 labels"), "{msg}");
}

fn cifar_root(per_file: usize, gzip: bool) -> TempDir {
    let root = TempDir::new().unwrap();
    write_idx(
        root.path(),
        "cifar-10-batches-bin",
        &cifar_files(per_file),
        gzip,
    );
    root
}

#[test]
fn loads_cifar_batches() {
    for gzip in [true, false] {
        let root = cifar_root(20, gzip);
        let data = load(DatasetName::Cifar10, root.path()).unwrap();
        assert_eq!((data.train.len(), data.test.len()), (100, 20));
        assert_eq!(data.train.shape(), [3, 32, 32]);
        assert_eq!(data.train.class_counts(), vec![10; 10]);
        assert_eq!(data.train.label(0), 0);
        assert_eq!(data.train.label(99), 9);
        // Record layout: label byte, then the CHW pixels unchanged.
        let expected = common::pixels(20, 3072);
        assert_eq!(data.train.image(21), &expected[3072..6144]);
    }
}

#[test]
fn loads_cifar_from_official_tar() {
    let root = TempDir::new().unwrap();
    let dir = root.path().join("cifar-10-batches-bin");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("cifar-10-binary.tar.gz"),
        cifar_tar(&cifar_files(10)),
    )
    .unwrap();
    let data = load(DatasetName::Cifar10, root.path()).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (50, 10));
    // Also from the root itself.
    let root2 = TempDir::new().unwrap();
    fs::write(
        root2.path().join("cifar-10-binary.tar.gz"),
        cifar_tar(&cifar_files(10)),
    )
    .unwrap();
    assert_eq!(
        load(DatasetName::Cifar10, root2.path()).unwrap().test.len(),
        10
    );
}

#[test]
fn cifar_tar_missing_member_or_truncated() {
    let root = TempDir::new().unwrap();
    let files = cifar_files(4);
    let path = root.path().join("cifar-10-binary.tar.gz");
    fs::write(&path, cifar_tar(&files[..5])).unwrap();
    let msg = load(DatasetName::Cifar10, root.path())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("test_batch.bin") && msg.contains("cifar-10-binary.tar.gz"),
        "{msg}"
    );
    let whole = cifar_tar(&files);
    fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    let err = load(DatasetName::Cifar10, root.path()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err}");
}

#[test]
fn cifar_partial_record() {
    let root = cifar_root(5, true);
    let mut files = cifar_files(5);
    files[2].1.truncate(3073 * 4 + 100);
    replace(
        root.path(),
        "cifar-10-batches-bin",
        "data_batch_3.bin.gz",
        gz(&files[2].1),
    );
    let err = load(DatasetName::Cifar10, root.path()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("data_batch_3.bin.gz") && msg.contains("4 whole records"),
        "{msg}"
    );
}

#[test]
fn cifar_label_out_of_range() {
    let root = cifar_root(5, false);
    let mut files = cifar_files(5);
    files[5].1[3073 * 2] = 200;
    replace(
        root.path(),
        "cifar-10-batches-bin",
        "test_batch.bin",
        files[5].1.clone(),
    );
    let msg = load(DatasetName::Cifar10, root.path())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("test_batch.bin") && msg.contains("label 200 at record 2"),
        "{msg}"
    );
}

#[test]
fn cifar_missing_names_batches_and_tar() {
    let root = TempDir::new().unwrap();
    write_idx(
        root.path(),
        "cifar-10-batches-bin",
        &cifar_files(2)[1..],
        true,
    );
    let msg = load(DatasetName::Cifar10, root.path())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("data_batch_1.bin") && msg.contains("cifar-10-binary.tar.gz"),
        "{msg}"
    );
    assert!(
        msg.contains("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"),
        "{msg}"
    );
}

#[test]
fn verify_rejects_tiny_copies() {
    // Structure is fine but the published checksums cannot match.
    let root = mnist_root(true);
    let err = gradlab_data::verify(DatasetName::Mnist, root.path()).unwrap_err();
    assert!(matches!(err, DataError::Checksum { .. }), "{err}");
    let root = cifar_root(5, true);
    let err = gradlab_data::verify(DatasetName::Cifar10, root.path()).unwrap_err();
    assert!(err.to_string().contains("10000 records"), "{err}");
}

#[test]
fn verify_checks_the_official_tar_md5() {
    let root = TempDir::new().unwrap();
    fs::write(
        root.path().join("cifar-10-binary.tar.gz"),
        cifar_tar(&cifar_files(3)),
    )
    .unwrap();
    let err = gradlab_data::verify(DatasetName::Cifar10, root.path()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            DataError::Checksum {
                algorithm: "md5",
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("c32a1d4ab5d03f1284b67883e8d87530"), "{msg}");
}
