//! Loading a whole dataset into memory, checking every file on the way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cifar::parse_records;
use crate::error::DataError;
use crate::idx::{parse_images, parse_labels};
use crate::name::DatasetName;
use crate::read::{for_each_file, read_content};
use crate::source::{CifarSource, locate_cifar, locate_idx};
use crate::split::Split;

/// A dataset in memory: its training and test splits.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Which dataset.
    pub name: DatasetName,
    /// The training split (60,000 images for MNIST and Fashion-MNIST, 50,000 for CIFAR-10).
    pub train: Split,
    /// The test split (10,000 images).
    pub test: Split,
}

/// Loads dataset `name` from the data root `root` (see [`crate::resolve_root`]).
///
/// Every file is checked (gzip integrity, magic numbers, dimensions, lengths, matching image
/// and label counts, label range); any problem is a [`DataError`] naming the file. Files are
/// decoded on parallel threads.
pub fn load(name: DatasetName, root: &Path) -> Result<Dataset, DataError> {
    match name {
        DatasetName::Mnist | DatasetName::FashionMnist => {
            let paths = locate_idx(name, root)?;
            load_idx(name, &paths)
        }
        DatasetName::Cifar10 => match locate_cifar(root)? {
            CifarSource::Files(paths) => {
                let contents = for_each_file(&paths, read_content)?;
                cifar_from_contents(paths.into_iter().zip(contents).collect())
            }
            CifarSource::Tar(tar) => cifar_from_contents(crate::cifar::read_tar(&tar)?),
        },
    }
}

/// Loads MNIST or Fashion-MNIST from its four IDX files (train images, train labels, test
/// images, test labels).
pub fn load_idx(name: DatasetName, paths: &[PathBuf]) -> Result<Dataset, DataError> {
    let contents = for_each_file(paths, read_content)?;
    let train = idx_split(name, &paths[0], &contents[0], &paths[1], &contents[1])?;
    let test = idx_split(name, &paths[2], &contents[2], &paths[3], &contents[3])?;
    Ok(Dataset { name, train, test })
}

pub(crate) fn idx_split(
    name: DatasetName,
    images_path: &Path,
    images: &[u8],
    labels_path: &Path,
    labels: &[u8],
) -> Result<Split, DataError> {
    let shape = name.shape();
    let (n, pixels) = parse_images(images_path, images, [shape[1], shape[2]])?;
    let labels = parse_labels(labels_path, labels, name.num_classes())?;
    if labels.len() != n {
        return Err(DataError::format(
            labels_path,
            format!(
                "as many labels as {} has images ({n})",
                images_path.display()
            ),
            format!("{} labels", labels.len()),
        ));
    }
    Split::new(name, shape, Arc::from(pixels), Arc::from(labels))
}

/// Builds CIFAR-10 from the contents of its six batch files (five training, then test).
pub(crate) fn cifar_from_contents(files: Vec<(PathBuf, Vec<u8>)>) -> Result<Dataset, DataError> {
    let name = DatasetName::Cifar10;
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    let mut train = None;
    for (i, (path, data)) in files.iter().enumerate() {
        if i == 5 {
            train = Some(Split::new(
                name,
                name.shape(),
                Arc::from(images),
                Arc::from(labels),
            )?);
            (images, labels) = (Vec::new(), Vec::new());
        }
        parse_records(path, data, &mut images, &mut labels)?;
    }
    let test = Split::new(name, name.shape(), Arc::from(images), Arc::from(labels))?;
    let train = train.ok_or_else(|| DataError::Argument {
        expected: "six CIFAR-10 batch files".into(),
        found: format!("{}", files.len()),
    })?;
    Ok(Dataset { name, train, test })
}
