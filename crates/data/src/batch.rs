//! Turning a [`Split`] into Burn tensors, batch by batch.
//!
//! [`Batcher`] is the fast path: it owns the epoch's index order (deterministic from a seed) and
//! builds each batch with one `Vec<f32>` and one `Vec<i64>` allocation, converting bytes through a
//! per-channel lookup table. [`Split`] also implements Burn's `Dataset` and [`ImageBatcher`]
//! Burn's `Batcher`, so the same data feeds Burn's `DataLoader` and any Burn training loop.

use burn::data::dataloader::batcher::Batcher as BurnBatcher;
use burn::data::dataset::{Dataset as BurnDataset, DatasetError};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::norm::{Normalization, lookup_tables};
use crate::split::Split;

/// Images `[n, c, h, w]` (f32, normalised) and labels `[n]` (Int).
pub type BatchTensors = (Tensor<4>, Tensor<1, Int>);

/// The index order of one epoch: `0..len` when `seed` is `None`, else a Fisher–Yates shuffle
/// driven by ChaCha8 seeded with `seed`, on stream `epoch` (so each epoch differs and the same
/// `(seed, epoch)` always gives the same order, on every platform).
pub fn epoch_order(len: usize, seed: Option<u64>, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    if let Some(seed) = seed {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(epoch);
        order.shuffle(&mut rng);
    }
    order
}

/// Converts the images `indices` of `split` into one host buffer (NCHW f32) and labels.
fn fill(
    split: &Split,
    tables: &[[f32; 256]],
    indices: &[usize],
    pixels: &mut Vec<f32>,
    labels: &mut Vec<i64>,
) {
    let plane = split.shape()[1] * split.shape()[2];
    pixels.clear();
    labels.clear();
    pixels.reserve(indices.len() * split.image_len());
    labels.reserve(indices.len());
    for &i in indices {
        for (table, px) in tables.iter().zip(split.image(i).chunks_exact(plane)) {
            pixels.extend(px.iter().map(|&b| table[b as usize]));
        }
        labels.push(i64::from(split.label(i)));
    }
}

fn to_tensors(
    shape: [usize; 3],
    pixels: Vec<f32>,
    labels: Vec<i64>,
    device: &Device,
) -> BatchTensors {
    let n = labels.len();
    let [c, h, w] = shape;
    let images = Tensor::<4>::from_data(TensorData::new(pixels, [n, c, h, w]), device);
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device);
    (images, labels)
}

/// Batches of one split on one device, with optional deterministic shuffling.
///
/// ```no_run
/// # use gradlab_data::*;
/// # fn f(train: &Split) {
/// let device = burn::tensor::Device::flex();
/// let batcher = Batcher::new(train, 128, Normalization::Standardize, &device).shuffle(Some(42));
/// for epoch in 0..3 {
///     for (images, labels) in batcher.epoch(epoch) { /* images: [n, c, h, w] */ }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Batcher {
    split: Split,
    batch_size: usize,
    seed: Option<u64>,
    drop_last: bool,
    tables: Vec<[f32; 256]>,
    device: Device,
}

impl Batcher {
    /// A batcher over `split` in file order (no shuffling), keeping a short last batch.
    /// A `batch_size` of 0 is treated as 1.
    pub fn new(split: &Split, batch_size: usize, norm: Normalization, device: &Device) -> Self {
        Batcher {
            split: split.clone(),
            batch_size: batch_size.max(1),
            seed: None,
            drop_last: false,
            tables: lookup_tables(split.dataset(), norm),
            device: device.clone(),
        }
    }

    /// Shuffles each epoch from `seed` (`None`: file order). Needed for CIFAR-10 from
    /// `shared/data`, whose records are sorted by class.
    pub fn shuffle(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
        self
    }

    /// Drops a last batch shorter than the batch size.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// The split batched.
    pub fn split(&self) -> &Split {
        &self.split
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        let n = self.split.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// The sample order of epoch `epoch` (see [`epoch_order`]).
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        epoch_order(self.split.len(), self.seed, epoch)
    }

    /// The batches of epoch `epoch`, in [`epoch_order`](Batcher::epoch_order).
    pub fn epoch(&self, epoch: u64) -> Batches<'_> {
        self.batches_in_order(self.epoch_order(epoch))
    }

    /// The batches for a given sample order (e.g. one the caller stored).
    pub fn batches_in_order(&self, order: Vec<usize>) -> Batches<'_> {
        Batches {
            batcher: self,
            order,
            next: 0,
        }
    }

    /// One batch of the given samples.
    ///
    /// # Panics
    /// When an index is out of range.
    pub fn batch(&self, indices: &[usize]) -> BatchTensors {
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        self.fill_host(indices, &mut pixels, &mut labels);
        to_tensors(self.split.shape(), pixels, labels, &self.device)
    }

    /// Writes the normalised NCHW pixels and the labels of `indices` into host buffers (cleared
    /// first, reused when large enough).
    pub fn fill_host(&self, indices: &[usize], pixels: &mut Vec<f32>, labels: &mut Vec<i64>) {
        fill(&self.split, &self.tables, indices, pixels, labels);
    }
}

/// Iterator over one epoch's batches; see [`Batcher::epoch`].
#[derive(Debug)]
pub struct Batches<'a> {
    batcher: &'a Batcher,
    order: Vec<usize>,
    next: usize,
}

impl Batches<'_> {
    /// The epoch's sample order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

impl Iterator for Batches<'_> {
    type Item = BatchTensors;

    fn next(&mut self) -> Option<BatchTensors> {
        let rest = self.order.len() - self.next;
        let bs = self.batcher.batch_size;
        if rest == 0 || (self.batcher.drop_last && rest < bs) {
            return None;
        }
        let take = rest.min(bs);
        let indices = &self.order[self.next..self.next + take];
        self.next += take;
        Some(self.batcher.batch(indices))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let rest = self.order.len() - self.next;
        let bs = self.batcher.batch_size;
        let n = if self.batcher.drop_last {
            rest / bs
        } else {
            rest.div_ceil(bs)
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Batches<'_> {}

/// One sample as Burn's `Dataset` hands it out: a cheap handle (shared bytes, no pixel copy).
#[derive(Debug, Clone)]
pub struct Sample {
    split: Split,
    index: usize,
}

impl Sample {
    /// The CHW pixel bytes.
    pub fn image(&self) -> &[u8] {
        self.split.image(self.index)
    }

    /// The label.
    pub fn label(&self) -> u8 {
        self.split.label(self.index)
    }
}

impl BurnDataset<Sample> for Split {
    /// # Panics
    /// When `index >= len()`, as Burn's `Dataset` contract requires.
    fn get(&self, index: usize) -> Result<Sample, DatasetError> {
        assert!(
            index < self.len(),
            "index {index} out of range for a split of {}",
            self.len()
        );
        Ok(Sample {
            split: self.clone(),
            index,
        })
    }

    fn len(&self) -> usize {
        Split::len(self)
    }
}

/// Burn `Batcher` from [`Sample`]s to [`BatchTensors`], for Burn's `DataLoaderBuilder`.
#[derive(Debug, Clone)]
pub struct ImageBatcher {
    norm: Normalization,
}

impl ImageBatcher {
    /// A batcher applying `norm` (the constants follow each sample's dataset).
    pub fn new(norm: Normalization) -> Self {
        ImageBatcher { norm }
    }
}

impl BurnBatcher<Sample, BatchTensors> for ImageBatcher {
    fn batch(&self, items: Vec<Sample>, device: &Device) -> BatchTensors {
        let Some(first) = items.first() else {
            return to_tensors([1, 1, 1], Vec::new(), Vec::new(), device);
        };
        let shape = first.split.shape();
        let tables = lookup_tables(first.split.dataset(), self.norm);
        let plane = shape[1] * shape[2];
        let mut pixels = Vec::with_capacity(items.len() * first.split.image_len());
        let mut labels = Vec::with_capacity(items.len());
        for s in &items {
            for (table, px) in tables.iter().zip(s.image().chunks_exact(plane)) {
                pixels.extend(px.iter().map(|&b| table[b as usize]));
            }
            labels.push(i64::from(s.label()));
        }
        to_tensors(shape, pixels, labels, device)
    }
}
