//! Pixel normalisation: bytes 0..=255 to `f32`.
//!
//! Constants are the training sets' per-channel mean and population standard deviation of
//! `pixel / 255`:
//!
//! | dataset | mean | std | source |
//! | --- | --- | --- | --- |
//! | MNIST | 0.1307 | 0.3081 | PyTorch's `examples/mnist/main.py`; computed here: 0.13066, 0.30811 |
//! | Fashion-MNIST | 0.2860 | 0.3530 | computed from the 60,000 training images: 0.28604, 0.35302 |
//! | CIFAR-10 | 0.4914, 0.4822, 0.4465 | 0.2470, 0.2435, 0.2616 | training-set means 125.307, 122.950, 113.865 and stds 62.993, 62.089, 66.705 (of 255), as published and re-computed in `shared/data/SOURCES.md` |
//!
//! The tests recompute all of them from the real files when `GRADLAB_DATA` is set.

use serde::{Deserialize, Serialize};

use crate::name::DatasetName;

/// How pixel bytes become floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalization {
    /// `x / 255`, in [0, 1].
    #[default]
    UnitRange,
    /// `(x / 255 - mean[c]) / std[c]` with the training set's per-channel constants
    /// ([`channel_stats`]).
    Standardize,
}

/// Per-channel (mean, std) of `pixel / 255` over the training set (see the module doc for
/// sources). One entry per channel.
pub fn channel_stats(name: DatasetName) -> &'static [(f32, f32)] {
    match name {
        DatasetName::Mnist => &[(0.1307, 0.3081)],
        DatasetName::FashionMnist => &[(0.2860, 0.3530)],
        // 125.306918046875/255, 122.950394140625/255, 113.86538318359375/255 and
        // 62.9932/255, 62.0887/255, 66.7049/255.
        DatasetName::Cifar10 => &[
            (0.491_399_7, 0.247_032_2),
            (0.482_158_4, 0.243_485_1),
            (0.446_530_9, 0.261_587_8),
        ],
    }
}

/// A lookup table per channel: `table[c][byte]` is the normalised value. Converting through a
/// table costs one load per pixel, and gives bit-identical values on every platform.
pub fn lookup_tables(name: DatasetName, norm: Normalization) -> Vec<[f32; 256]> {
    channel_stats(name)
        .iter()
        .map(|&(mean, std)| {
            let mut table = [0f32; 256];
            for (b, v) in table.iter_mut().enumerate() {
                let x = b as f32 / 255.0;
                *v = match norm {
                    Normalization::UnitRange => x,
                    Normalization::Standardize => (x - mean) / std,
                };
            }
            table
        })
        .collect()
}
