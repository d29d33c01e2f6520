//! Finding the data root and a dataset's files in it.
//!
//! A data root holds one folder per dataset: `mnist/`, `fashion-mnist/`,
//! `cifar-10-batches-bin/`. Each file may be gzip-compressed (`name.gz`, preferred) or not
//! (`name`). Fashion-MNIST is also looked for in [`FASHION_SYSTEM_DIR`] (Debian's
//! `dataset-fashion-mnist`). CIFAR-10 is read from the six batch files, else from the official
//! archive `cifar-10-binary.tar.gz` in the dataset folder or in the root itself.

use std::env;
use std::path::{Path, PathBuf};

use crate::error::DataError;
use crate::name::{CIFAR_BATCHES, CIFAR_TAR, DatasetName, FASHION_SYSTEM_DIR};

/// Environment variable naming the data root.
pub const ROOT_ENV: &str = "GRADLAB_DATA";

/// The data root: `flag` when given, else `$GRADLAB_DATA` when set and non-empty, else the user's
/// cache folder (`$XDG_CACHE_HOME/gradlab`, else `~/.cache/gradlab`; on macOS
/// `~/Library/Caches/gradlab`; on Windows `%LOCALAPPDATA%\gradlab`), else `./gradlab-data`.
pub fn resolve_root(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = env::var_os(ROOT_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    user_cache_dir().map_or_else(|| PathBuf::from("gradlab-data"), |d| d.join("gradlab"))
}

fn user_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if cfg!(windows) {
        return var("LOCALAPPDATA");
    }
    // XDG Base Directory spec: a relative XDG_CACHE_HOME is invalid and must be ignored.
    if let Some(x) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(x);
    }
    let home = var("HOME")?;
    Some(if cfg!(target_os = "macos") {
        home.join("Library/Caches")
    } else {
        home.join(".cache")
    })
}

/// The folders searched for a dataset's files, in order.
pub fn search_dirs(name: DatasetName, root: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![root.join(name.folder())];
    match name {
        DatasetName::FashionMnist => dirs.push(PathBuf::from(FASHION_SYSTEM_DIR)),
        DatasetName::Cifar10 => dirs.push(root.to_path_buf()),
        DatasetName::Mnist => {}
    }
    dirs
}

/// Finds `base.gz` or `base` in the first folder of `dirs` that has either.
pub fn find_file(dirs: &[PathBuf], base: &str) -> Option<PathBuf> {
    dirs.iter()
        .flat_map(|d| [d.join(format!("{base}.gz")), d.join(base)])
        .find(|p| p.is_file())
}

/// Where CIFAR-10's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CifarSource {
    /// The six batch files, in the order of [`CIFAR_BATCHES`].
    Files(Vec<PathBuf>),
    /// The official `cifar-10-binary.tar.gz`.
    Tar(PathBuf),
}

/// Locates the four IDX files (train images, train labels, test images, test labels) of MNIST
/// or Fashion-MNIST. Errors name every missing file, the folders searched and the fix.
pub fn locate_idx(name: DatasetName, root: &Path) -> Result<Vec<PathBuf>, DataError> {
    let dirs = search_dirs(name, root);
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for f in name.idx_files() {
        match find_file(&dirs, f.name) {
            Some(p) => found.push(p),
            None => missing.push(format!("{}.gz (or {})", f.name, f.name)),
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(missing_error(name, missing, dirs))
    }
}

/// Locates CIFAR-10: all six batch files if present, else the official archive.
pub fn locate_cifar(root: &Path) -> Result<CifarSource, DataError> {
    let name = DatasetName::Cifar10;
    let dirs = search_dirs(name, root);
    let batch_dir = &dirs[..1];
    let files: Vec<Option<PathBuf>> = CIFAR_BATCHES
        .iter()
        .map(|b| find_file(batch_dir, b))
        .collect();
    if files.iter().all(Option::is_some) {
        return Ok(CifarSource::Files(files.into_iter().flatten().collect()));
    }
    if let Some(tar) = dirs.iter().map(|d| d.join(CIFAR_TAR)).find(|p| p.is_file()) {
        return Ok(CifarSource::Tar(tar));
    }
    let mut missing: Vec<String> = CIFAR_BATCHES
        .iter()
        .zip(&files)
        .filter(|(_, f)| f.is_none())
        .map(|(b, _)| format!("{b}.gz (or {b})"))
        .collect();
    missing.push(format!("{CIFAR_TAR} (instead of the batch files)"));
    Err(missing_error(name, missing, dirs))
}

fn missing_error(name: DatasetName, missing: Vec<String>, searched: Vec<PathBuf>) -> DataError {
    DataError::Missing {
        dataset: name.to_string(),
        missing,
        searched,
        fix: name.fix_hint(),
    }
}
