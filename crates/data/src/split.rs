//! A split (train, validation, test or a subset) of a dataset, held in memory as bytes.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::error::DataError;
use crate::name::DatasetName;

/// A contiguous range of samples of one dataset split.
///
/// Pixels and labels live in shared [`Arc<[u8]>`] buffers: cloning a split, taking a
/// [`subset`](Split::subset) or carving a [`validation split`](Split::split_validation) shares the
/// bytes and copies nothing. Each image is stored as `c*h*w` bytes in CHW order (0..=255).
#[derive(Clone)]
pub struct Split {
    dataset: DatasetName,
    shape: [usize; 3],
    images: Arc<[u8]>,
    labels: Arc<[u8]>,
    range: Range<usize>,
}

impl Split {
    /// Makes a split from whole buffers. `images` must hold `labels.len()` images of `shape`
    /// (CHW bytes) and every label must be below the dataset's number of classes.
    pub fn new(
        dataset: DatasetName,
        shape: [usize; 3],
        images: Arc<[u8]>,
        labels: Arc<[u8]>,
    ) -> Result<Self, DataError> {
        let per = shape.iter().product::<usize>();
        if images.len() != labels.len() * per {
            return Err(DataError::Argument {
                expected: format!(
                    "{} image bytes ({} labels x {per})",
                    labels.len() * per,
                    labels.len()
                ),
                found: format!("{} image bytes", images.len()),
            });
        }
        if let Some(l) = labels
            .iter()
            .find(|&&l| l as usize >= dataset.num_classes())
        {
            return Err(DataError::Argument {
                expected: format!("labels below {}", dataset.num_classes()),
                found: format!("label {l}"),
            });
        }
        let range = 0..labels.len();
        Ok(Split {
            dataset,
            shape,
            images,
            labels,
            range,
        })
    }

    /// The dataset this split belongs to.
    pub fn dataset(&self) -> DatasetName {
        self.dataset
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether the split has no samples.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// Image shape `[channels, height, width]`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Bytes per image (`c*h*w`).
    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.dataset.num_classes()
    }

    /// The label of sample `i`.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels()[i]
    }

    /// The CHW pixel bytes of sample `i`.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        assert!(
            i < self.len(),
            "sample {i} out of range for a split of {}",
            self.len()
        );
        let per = self.image_len();
        let at = (self.range.start + i) * per;
        &self.images[at..at + per]
    }

    /// All labels of this split, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels[self.range.clone()]
    }

    /// All pixel bytes of this split, image after image.
    pub fn pixels(&self) -> &[u8] {
        let per = self.image_len();
        &self.images[self.range.start * per..self.range.end * per]
    }

    /// The first `n` samples (all of them when `n >= len`), sharing the bytes.
    pub fn subset(&self, n: usize) -> Split {
        self.slice(0..n.min(self.len()))
    }

    /// Samples `range` (relative to this split), sharing the bytes.
    ///
    /// # Panics
    /// When the range reaches past the end.
    pub fn slice(&self, range: Range<usize>) -> Split {
        assert!(
            range.start <= range.end && range.end <= self.len(),
            "slice out of range"
        );
        let start = self.range.start;
        Split {
            range: start + range.start..start + range.end,
            ..self.clone()
        }
    }

    /// Splits off the **last** `n_val` samples as a validation split, as Glorot & Bengio (2010)
    /// did with MNIST's last 10,000 training images. Returns `(train, validation)`.
    pub fn split_validation(&self, n_val: usize) -> Result<(Split, Split), DataError> {
        if n_val > self.len() {
            return Err(DataError::Argument {
                expected: format!(
                    "a validation size of at most {} (the split's size)",
                    self.len()
                ),
                found: n_val.to_string(),
            });
        }
        let cut = self.len() - n_val;
        Ok((self.slice(0..cut), self.slice(cut..self.len())))
    }

    /// Splits off `n_val` samples spread evenly through the split as a validation split:
    /// sample `floor((j + 1) * len / n_val) - 1` for `j` in `0..n_val` (every 5th of 50,000
    /// for 10,000). On a copy ordered by class (the CIFAR-10 copy in `shared/data/SOURCES.md`)
    /// that takes every class in proportion, where [`split_validation`](Split::split_validation)
    /// would take only the last classes; on a copy in random order it is as good a sample as
    /// the last `n_val`. Returns `(train, validation)`, both copied into new buffers in file
    /// order, since neither is one contiguous range.
    pub fn split_validation_spread(&self, n_val: usize) -> Result<(Split, Split), DataError> {
        let len = self.len();
        if n_val > len {
            return Err(DataError::Argument {
                expected: format!("a validation size of at most {len} (the split's size)"),
                found: n_val.to_string(),
            });
        }
        let mut is_validation = vec![false; len];
        for j in 0..n_val {
            is_validation[(j + 1) * len / n_val - 1] = true;
        }
        let (validation, train): (Vec<usize>, Vec<usize>) =
            (0..len).partition(|&i| is_validation[i]);
        Ok((self.gather(&train), self.gather(&validation)))
    }

    /// The samples at `indices` (relative to this split), copied into new buffers.
    fn gather(&self, indices: &[usize]) -> Split {
        let mut images = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        let labels: Vec<u8> = indices.iter().map(|&i| self.label(i)).collect();
        let range = 0..labels.len();
        Split {
            dataset: self.dataset,
            shape: self.shape,
            images: Arc::from(images),
            labels: Arc::from(labels),
            range,
        }
    }

    /// Number of samples of each class, indexed by label.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes()];
        for &l in self.labels() {
            counts[l as usize] += 1;
        }
        counts
    }

    /// Per-channel mean and population standard deviation of the pixel values (0..=255 scale).
    /// Used to check the normalisation constants against the data.
    pub fn channel_stats(&self) -> Vec<(f64, f64)> {
        let [c, h, w] = self.shape;
        let plane = h * w;
        let mut sums = vec![(0u64, 0u64); c];
        for image in self.pixels().chunks_exact(c * plane) {
            for (ch, px) in image.chunks_exact(plane).enumerate() {
                let (s, q) = &mut sums[ch];
                for &p in px {
                    *s += u64::from(p);
                    *q += u64::from(p) * u64::from(p);
                }
            }
        }
        let n = (self.len() * plane).max(1) as f64;
        sums.into_iter()
            .map(|(s, q)| {
                let mean = s as f64 / n;
                (mean, (q as f64 / n - mean * mean).max(0.0).sqrt())
            })
            .collect()
    }
}

impl fmt::Debug for Split {
    // Not derived: the derived form would print every pixel.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Split")
            .field("dataset", &self.dataset)
            .field("shape", &self.shape)
            .field("range", &self.range)
            .finish()
    }
}
