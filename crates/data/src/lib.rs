//! MNIST, Fashion-MNIST and CIFAR-10 from their standard files, validated and batched for Burn.
//!
//! # Data root and layout
//!
//! The data root is, in order: an explicit path (a command-line flag), the environment variable
//! `GRADLAB_DATA`, or the user's cache folder (`$XDG_CACHE_HOME/gradlab`, else
//! `~/.cache/gradlab`); see [`resolve_root`]. It holds one folder per dataset:
//!
//! ```text
//! <root>/mnist/                  train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
//!                                t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
//! <root>/fashion-mnist/          the same four names
//! <root>/cifar-10-batches-bin/   data_batch_1.bin.gz .. data_batch_5.bin.gz  test_batch.bin.gz
//!                                (or cifar-10-binary.tar.gz, here or in <root>)
//! ```
//!
//! Every file may also be stored uncompressed (without `.gz`); gzip is detected by its magic
//! bytes `1f 8b`, not by the name. Fashion-MNIST is also read from
//! `/usr/share/datasets/fashion-mnist/` (Debian's `dataset-fashion-mnist`) when it is not under
//! the root. A missing file is a [`DataError::Missing`] naming every missing file, the folders
//! searched and the command or URL that gets them ([`download()`]).
//!
//! # Formats
//!
//! * IDX (MNIST, Fashion-MNIST): big-endian header, magic 2051 (images, N x 28 x 28 bytes) and
//!   2049 (labels, N bytes); see [`idx`].
//! * CIFAR-10 binary version: records of 1 label byte + 3072 pixel bytes (R, G, B planes of
//!   32x32); 10,000 records per file; see [`cifar`]. The official `cifar-10-binary.tar.gz` is
//!   read directly.
//!
//! Nothing is trusted: magic numbers, dimensions, lengths against the header, image/label count
//! agreement, label range and gzip integrity (CRC-32 and length) are checked on every load, and
//! [`verify()`] also checks published checksums. Problems are [`DataError`]s naming the file, the
//! expectation and what was found; no input makes this crate panic.
//!
//! # In memory and in batches
//!
//! [`load()`] returns a [`Dataset`] whose [`Split`]s hold the pixels as shared `Arc<[u8]>` bytes
//! (CHW per image). [`Split::subset`] and [`Split::split_validation`] (the *last* n samples, as
//! Glorot & Bengio 2010 used MNIST's last 10,000) share those bytes;
//! [`Split::split_validation_spread`] copies n samples spread evenly through the file, for copies
//! ordered by class. [`Batcher`] yields
//! `(Tensor<4>` NCHW `f32`, `Tensor<1, Int>)` batches in a deterministic order per seed and
//! epoch (ChaCha8), normalised by [`Normalization`]:
//!
//! * `UnitRange`: `x / 255`.
//! * `Standardize`: `(x / 255 - mean) / std` per channel, training-set constants: MNIST 0.1307 /
//!   0.3081 (PyTorch's MNIST example), Fashion-MNIST 0.2860 / 0.3530 (computed), CIFAR-10
//!   (0.4914, 0.4822, 0.4465) / (0.2470, 0.2435, 0.2616) (published training-set statistics);
//!   see [`norm`]. Tests recompute them from the real files.
//!
//! Models that want flat vectors flatten the NCHW batch themselves (`images.flatten(1, 3)`).
//! [`Split`] implements Burn's `Dataset` and [`ImageBatcher`] Burn's `Batcher`, so Burn's
//! `DataLoaderBuilder` works too.
//!
//! CIFAR-10 in `shared/data` is sorted by class: always shuffle it for training.

pub mod batch;
pub mod cifar;
pub mod download;
pub mod error;
pub mod idx;
pub mod load;
pub mod name;
pub mod norm;
pub mod read;
pub mod source;
pub mod split;
pub mod verify;

pub use batch::{BatchTensors, Batcher, Batches, ImageBatcher, Sample, epoch_order};
pub use download::{
    DownloadOptions, Expected, MIRROR_ENV, Progress, download, download_file, download_with,
};
pub use error::DataError;
pub use load::{Dataset, load};
pub use name::DatasetName;
pub use norm::{Normalization, channel_stats};
pub use source::{ROOT_ENV, resolve_root};
pub use split::Split;
pub use verify::{ChecksumCheck, FileCheck, VerifyReport, verify};
