//! Checks against the real files when `GRADLAB_DATA` points at a data root (CI sets it to
//! `shared/data`); each test reports "skipped: GRADLAB_DATA not set" otherwise. Expected values
//! are the published facts listed in `shared/data/SOURCES.md`.

#![allow(clippy::print_stderr)]

mod common;

use burn::tensor::Device;
use gradlab_data::{
    Batcher, ChecksumCheck, DatasetName, Normalization, channel_stats, load, verify,
};

fn assert_stats(name: DatasetName, split: &gradlab_data::Split) {
    for ((mean, std), &(c_mean, c_std)) in
        split.channel_stats().into_iter().zip(channel_stats(name))
    {
        let (mean, std) = (mean / 255.0, std / 255.0);
        assert!(
            (mean - f64::from(c_mean)).abs() < 1e-4,
            "{name} mean {mean} vs {c_mean}"
        );
        assert!(
            (std - f64::from(c_std)).abs() < 1e-4,
            "{name} std {std} vs {c_std}"
        );
    }
}

#[test]
fn mnist_matches_published_facts() {
    let Some(root) = common::real_root() else {
        return;
    };
    let data = load(DatasetName::Mnist, &root).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
    assert_eq!((data.train.label(0), data.test.label(0)), (5, 7));
    assert_eq!(
        data.train.class_counts(),
        vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        data.test.class_counts(),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_stats(DatasetName::Mnist, &data.train);
    let report = verify(DatasetName::Mnist, &root).unwrap();
    assert_eq!(report.files.len(), 4);
    assert!(
        report
            .files
            .iter()
            .all(|f| f.checksum == ChecksumCheck::GzSha256),
        "{report:?}"
    );
    // Glorot & Bengio's split: the last 10,000 training images validate.
    let (train, val) = data.train.split_validation(10_000).unwrap();
    assert_eq!((train.len(), val.len()), (50_000, 10_000));
    assert_eq!(val.label(0), data.train.label(50_000));
}

#[test]
fn fashion_mnist_matches_published_facts() {
    let Some(root) = common::real_root() else {
        return;
    };
    let data = match load(DatasetName::FashionMnist, &root) {
        Ok(d) => d,
        Err(e) => panic!("{e}\n(CI installs Debian's dataset-fashion-mnist)"),
    };
    assert_eq!(data.train.class_counts(), vec![6000; 10]);
    assert_eq!(data.test.class_counts(), vec![1000; 10]);
    assert_stats(DatasetName::FashionMnist, &data.train);
    let report = verify(DatasetName::FashionMnist, &root).unwrap();
    assert_eq!((report.train_len, report.test_len), (60_000, 10_000));
}

#[test]
fn cifar10_matches_published_facts() {
    let Some(root) = common::real_root() else {
        return;
    };
    let data = load(DatasetName::Cifar10, &root).unwrap();
    assert_eq!(data.train.class_counts(), vec![5000; 10]);
    assert_eq!(data.test.class_counts(), vec![1000; 10]);
    let stats = data.train.channel_stats();
    for ((mean, _), want) in stats.iter().zip([125.307, 122.950, 113.865]) {
        assert!((mean - want).abs() < 5e-4, "channel mean {mean} vs {want}");
    }
    for ((_, std), want) in stats.iter().zip([62.9932, 62.0887, 66.7049]) {
        assert!((std - want).abs() < 5e-4, "channel std {std} vs {want}");
    }
    assert_stats(DatasetName::Cifar10, &data.train);
    let report = verify(DatasetName::Cifar10, &root).unwrap();
    assert_eq!(report.files.len(), 6);
}

#[test]
fn shuffled_cifar10_epoch_mixes_classes() {
    let Some(root) = common::real_root() else {
        return;
    };
    let data = load(DatasetName::Cifar10, &root).unwrap();
    let device = Device::flex();
    let batcher = Batcher::new(&data.train, 128, Normalization::Standardize, &device);
    // The shared copy is sorted by class: unshuffled, the first batch is all airplanes.
    let first: Vec<u8> = batcher.epoch_order(0)[..128]
        .iter()
        .map(|&i| data.train.label(i))
        .collect();
    assert!(first.iter().all(|&l| l == 0));
    let batcher = batcher.shuffle(Some(0));
    let order = batcher.epoch_order(0);
    for chunk in order.chunks(128).take(50) {
        let mut counts = [0usize; 10];
        for &i in chunk {
            counts[data.train.label(i) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| c > 0),
            "a batch lacks a class: {counts:?}"
        );
        assert!(
            counts.iter().all(|&c| c < 40),
            "a batch is dominated by one class: {counts:?}"
        );
    }
}
