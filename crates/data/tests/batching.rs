//! Splits, normalisation, batching, shuffling and the Burn dataset/batcher traits, on tiny data.

mod common;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset as _;
use burn::tensor::{Device, Tensor};
use common::{cifar_files, idx_files, write_idx};
use gradlab_data::{
    Batcher, DatasetName, ImageBatcher, Normalization, Split, channel_stats, epoch_order, load,
};
use tempfile::TempDir;

fn mnist(n_train: usize) -> gradlab_data::Dataset {
    let root = TempDir::new().unwrap();
    write_idx(root.path(), "mnist", &idx_files(n_train, 10), true);
    load(DatasetName::Mnist, root.path()).unwrap()
}

fn cifar(per_file: usize) -> gradlab_data::Dataset {
    let root = TempDir::new().unwrap();
    write_idx(
        root.path(),
        "cifar-10-batches-bin",
        &cifar_files(per_file),
        true,
    );
    load(DatasetName::Cifar10, root.path()).unwrap()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn ints(t: Tensor<1, burn::tensor::Int>) -> Vec<i64> {
    t.into_data().convert::<i64>().try_to_vec::<i64>().unwrap()
}

#[test]
fn subset_and_validation_share_bytes_and_take_the_end() {
    let data = mnist(50);
    let (train, val) = data.train.split_validation(20).unwrap();
    assert_eq!((train.len(), val.len()), (30, 20));
    assert_eq!(val.image(0), data.train.image(30));
    assert_eq!(val.label(19), data.train.label(49));
    assert!(
        std::ptr::eq(val.image(0).as_ptr(), data.train.image(30).as_ptr()),
        "shared bytes"
    );
    let sub = train.subset(7);
    assert_eq!(sub.len(), 7);
    assert_eq!(sub.labels(), &data.train.labels()[..7]);
    assert_eq!(train.subset(1000).len(), 30);
    assert!(data.train.split_validation(51).is_err());
    let (all, none) = data.train.split_validation(0).unwrap();
    assert_eq!((all.len(), none.len()), (50, 0));
}

#[test]
fn spread_validation_takes_every_class_of_a_class_ordered_split_in_proportion() {
    // 100 one-pixel images ordered by class (ten of each), pixel = index.
    let pixels: Vec<u8> = (0..100).collect();
    let labels: Vec<u8> = (0..100).map(|i| i / 10).collect();
    let all = Split::new(DatasetName::Mnist, [1, 1, 1], pixels.into(), labels.into()).unwrap();

    let (train, val) = all.split_validation_spread(20).unwrap();
    assert_eq!((train.len(), val.len()), (80, 20));
    assert_eq!(val.class_counts(), vec![2; 10]);
    assert_eq!(train.class_counts(), vec![8; 10]);
    // Every 5th image, in file order; the rest keeps file order too.
    let val_pixels: Vec<u8> = (0..20).map(|j| val.image(j)[0]).collect();
    assert_eq!(val_pixels, (0..20).map(|j| 5 * j + 4).collect::<Vec<u8>>());
    assert_eq!(
        (train.image(0)[0], train.image(3)[0], train.image(4)[0]),
        (0, 3, 5)
    );
    // Nothing lost or shared between the two.
    let mut seen: Vec<u8> = (0..80).map(|i| train.image(i)[0]).collect();
    seen.extend(val_pixels);
    seen.sort_unstable();
    assert_eq!(seen, (0..100).collect::<Vec<u8>>());

    // The last-N split would hold only classes 8 and 9 here.
    let (_, last) = all.split_validation(20).unwrap();
    assert_eq!(last.class_counts().iter().filter(|&&c| c > 0).count(), 2);

    assert!(all.split_validation_spread(101).is_err());
    let (rest, none) = all.split_validation_spread(0).unwrap();
    assert_eq!((rest.len(), none.len()), (100, 0));
    let (none, every) = all.split_validation_spread(100).unwrap();
    assert_eq!((none.len(), every.len()), (0, 100));
}

#[test]
fn batches_are_nchw_with_normalised_values() {
    let data = mnist(25);
    let device = Device::flex();
    let batcher = Batcher::new(&data.train, 10, Normalization::UnitRange, &device);
    assert_eq!(batcher.num_batches(), 3);
    let batches: Vec<_> = batcher.epoch(0).collect();
    assert_eq!(batches.len(), 3);
    let dims: Vec<_> = batches.iter().map(|(x, y)| (x.dims(), y.dims())).collect();
    assert_eq!(dims[0], ([10, 1, 28, 28], [10]));
    assert_eq!(dims[2], ([5, 1, 28, 28], [5]));
    let (x, y) = batches[0].clone();
    let x = values(x);
    let raw = data.train.image(3);
    for k in [0, 100, 783] {
        assert_eq!(x[3 * 784 + k], raw[k] as f32 / 255.0);
    }
    assert_eq!(ints(y), (0..10).collect::<Vec<i64>>());
    let dropping = Batcher::new(&data.train, 10, Normalization::UnitRange, &device).drop_last(true);
    assert_eq!(dropping.epoch(0).count(), 2);
    assert_eq!(dropping.num_batches(), 2);
}

#[test]
fn standardize_uses_the_stated_constants_per_channel() {
    let data = cifar(4);
    let device = Device::flex();
    let batcher = Batcher::new(&data.test, 4, Normalization::Standardize, &device);
    let (x, _) = batcher.batch(&[2]);
    let x = values(x);
    let raw = data.test.image(2);
    let stats = channel_stats(DatasetName::Cifar10);
    for (c, &(mean, std)) in stats.iter().enumerate() {
        let k = c * 1024 + 17;
        let want = (raw[k] as f32 / 255.0 - mean) / std;
        assert!(
            (x[k] - want).abs() < 1e-6,
            "channel {c}: {} vs {want}",
            x[k]
        );
    }
    assert_eq!(channel_stats(DatasetName::Mnist), &[(0.1307, 0.3081)]);
}

#[test]
fn shuffling_is_deterministic_and_differs_by_seed_and_epoch() {
    let a = epoch_order(1000, Some(7), 0);
    assert_eq!(a, epoch_order(1000, Some(7), 0));
    assert_ne!(a, epoch_order(1000, Some(8), 0));
    assert_ne!(a, epoch_order(1000, Some(7), 1));
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1000).collect::<Vec<_>>(), "a permutation");
    assert_eq!(epoch_order(5, None, 3), vec![0, 1, 2, 3, 4]);

    let data = mnist(40);
    let device = Device::flex();
    let batcher = Batcher::new(&data.train, 8, Normalization::UnitRange, &device).shuffle(Some(3));
    let order = batcher.epoch_order(2);
    let (_, y) = batcher.epoch(2).next().unwrap();
    let want: Vec<i64> = order[..8]
        .iter()
        .map(|&i| i64::from(data.train.label(i)))
        .collect();
    assert_eq!(ints(y), want);
    assert_eq!(batcher.epoch(2).order(), order.as_slice());
}

#[test]
fn a_shuffled_epoch_mixes_sorted_classes() {
    // Training records sorted by class, as in shared/data's CIFAR-10 copy.
    let data = cifar(40);
    assert_eq!(data.train.labels()[..20], [0; 20]);
    let device = Device::flex();
    let plain = Batcher::new(&data.train, 20, Normalization::UnitRange, &device);
    let (_, y) = plain.epoch(0).next().unwrap();
    assert_eq!(ints(y), vec![0; 20], "unshuffled batches are one class");
    let batcher = plain.clone().shuffle(Some(1));
    for (b, (_, y)) in batcher.epoch(0).enumerate() {
        let mut classes = ints(y);
        classes.sort_unstable();
        classes.dedup();
        assert!(classes.len() >= 4, "batch {b} has only classes {classes:?}");
    }
}

#[test]
fn burn_dataloader_yields_the_same_batches() {
    let data = mnist(12);
    let device = Device::flex();
    let split: Split = data.train.clone();
    assert_eq!(split.get(3).unwrap().label(), 3);
    let loader = DataLoaderBuilder::new(ImageBatcher::new(Normalization::UnitRange))
        .batch_size(5)
        .set_device(device.clone())
        .build(split);
    let mut seen = Vec::new();
    for batch in loader.iter() {
        let (x, y) = batch.unwrap();
        assert_eq!(x.dims()[1..], [1, 28, 28]);
        seen.extend(ints(y));
    }
    assert_eq!(
        seen,
        data.train
            .labels()
            .iter()
            .map(|&l| i64::from(l))
            .collect::<Vec<_>>()
    );
    let (x, _) = Batcher::new(&data.train, 5, Normalization::UnitRange, &device).batch(&[0, 1]);
    let loader = DataLoaderBuilder::new(ImageBatcher::new(Normalization::UnitRange))
        .batch_size(2)
        .set_device(device)
        .build(data.train.clone());
    let (x2, _) = loader.iter().next().unwrap().unwrap();
    assert_eq!(values(x), values(x2));
}

#[test]
fn names_parse_display_and_serde() {
    for name in DatasetName::ALL {
        assert_eq!(name.to_string().parse::<DatasetName>().unwrap(), name);
    }
    assert_eq!(
        "fashion-mnist".parse::<DatasetName>().unwrap(),
        DatasetName::FashionMnist
    );
    let err = "cifar100".parse::<DatasetName>().unwrap_err().to_string();
    assert!(
        err.contains("cifar100") && err.contains("mnist, fashion-mnist, cifar10"),
        "{err}"
    );
    let json = serde_json::to_string(&DatasetName::Cifar10).unwrap();
    assert_eq!(json, "\"cifar10\"");
    let back: DatasetName = serde_json::from_str("\"fashion-mnist\"").unwrap();
    assert_eq!(back, DatasetName::FashionMnist);
}

#[test]
fn resolve_root_prefers_the_flag() {
    let p = std::path::Path::new("/some/where");
    assert_eq!(gradlab_data::resolve_root(Some(p)), p);
    // Without a flag: the variable or a cache folder ending in "gradlab"; never empty.
    let r = gradlab_data::resolve_root(None);
    match std::env::var_os("GRADLAB_DATA").filter(|v| !v.is_empty()) {
        Some(v) => assert_eq!(r, std::path::PathBuf::from(v)),
        None => assert!(
            r.ends_with("gradlab") || r.ends_with("gradlab-data"),
            "{r:?}"
        ),
    }
}
