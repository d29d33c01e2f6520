//! Downloading a dataset's files from the canonical mirrors.
//!
//! Each file is written to `<name>.part` next to its final place and renamed only once it is
//! complete and its published checksum matches (MNIST and Fashion-MNIST `.gz` files: SHA-256;
//! CIFAR-10's `cifar-10-binary.tar.gz`: MD5). A broken transfer is retried with exponential
//! back-off and resumed where it stopped (HTTP `Range`); a mirror that fails every attempt gives
//! way to the next. When every mirror fails the `.part` file is removed: nothing partial is left.
//! A `.part` file left by a process that was killed mid-transfer is resumed by the next call.
//!
//! The base URL can be overridden with [`DownloadOptions::mirror`] or the environment variable
//! [`MIRROR_ENV`]; a file's URL is the base (with a `/` appended when missing) plus its name.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::error::DataError;
use crate::name::{CIFAR_TAR, CIFAR_TAR_MD5, DatasetName};

/// Environment variable overriding the download base URL (e.g. a local mirror).
pub const MIRROR_ENV: &str = "GRADLAB_DATA_MIRROR";

/// Progress of one file, reported while downloading.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The file's name.
    pub file: String,
    /// Bytes on disk so far (including any resumed part).
    pub done: u64,
    /// Total size when the server says so.
    pub total: Option<u64>,
}

/// How to download.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Base URL; `None`: `$GRADLAB_DATA_MIRROR`, else the dataset's canonical mirrors.
    pub mirror: Option<String>,
    /// Attempts per file and mirror (at least 1).
    pub attempts: u32,
    /// Wait before the first retry; doubled after each further failure.
    pub backoff: Duration,
    /// Limit for connecting and for the response headers to arrive.
    pub timeout: Duration,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            mirror: None,
            attempts: 4,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
        }
    }
}

/// The digest a downloaded file must have (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// SHA-256.
    Sha256(String),
    /// MD5.
    Md5(String),
}

impl Expected {
    /// Checks the file at `path` against this digest.
    pub fn check(&self, path: &Path) -> Result<(), DataError> {
        let mut file = File::open(path).map_err(|e| DataError::io(path, "opening", e))?;
        let mut buf = vec![0u8; 1 << 20];
        let (mut sha, mut md5) = (Sha256::new(), Md5::new());
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| DataError::io(path, "reading", e))?;
            if n == 0 {
                break;
            }
            match self {
                Expected::Sha256(_) => sha.update(&buf[..n]),
                Expected::Md5(_) => md5.update(&buf[..n]),
            }
        }
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let (algorithm, expected, found) = match self {
            Expected::Sha256(e) => ("sha256", e, hex(&sha.finalize())),
            Expected::Md5(e) => ("md5", e, hex(&md5.finalize())),
        };
        if found == *expected {
            Ok(())
        } else {
            let path = path.to_path_buf();
            Err(DataError::Checksum {
                path,
                algorithm,
                expected: expected.clone(),
                found,
            })
        }
    }
}

/// The files of a dataset to download: (file name, digest), and the folder they go to.
fn plan(name: DatasetName, root: &Path) -> (PathBuf, Vec<(String, Expected)>) {
    let dir = root.join(name.folder());
    let files = match name {
        DatasetName::Cifar10 => vec![(CIFAR_TAR.to_string(), Expected::Md5(CIFAR_TAR_MD5.into()))],
        _ => name
            .idx_files()
            .iter()
            .map(|f| {
                (
                    format!("{}.gz", f.name),
                    Expected::Sha256(f.gz_sha256.into()),
                )
            })
            .collect(),
    };
    (dir, files)
}

/// Downloads dataset `name` into `root` with default options (the mirror from
/// `$GRADLAB_DATA_MIRROR` when set). Files already present with the right checksum are kept.
pub fn download(
    name: DatasetName,
    root: &Path,
    progress: Option<&mut dyn FnMut(&Progress)>,
) -> Result<(), DataError> {
    download_with(name, root, &DownloadOptions::default(), progress)
}

/// Downloads dataset `name` into `root` (`<root>/<folder>/<file>`); see the module doc.
pub fn download_with(
    name: DatasetName,
    root: &Path,
    options: &DownloadOptions,
    mut progress: Option<&mut dyn FnMut(&Progress)>,
) -> Result<(), DataError> {
    let bases: Vec<String> = match options
        .mirror
        .clone()
        .or_else(|| std::env::var(MIRROR_ENV).ok().filter(|m| !m.is_empty()))
    {
        Some(m) => vec![m],
        None => name.mirrors().iter().map(|m| m.to_string()).collect(),
    };
    let (dir, files) = plan(name, root);
    fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, "creating", e))?;
    // A concrete closure re-borrows cleanly on every iteration, unlike the `Option<&mut dyn>`.
    let mut report = |p: &Progress| {
        if let Some(cb) = progress.as_mut() {
            cb(p);
        }
    };
    for (file, expected) in files {
        let urls: Vec<String> = bases
            .iter()
            .map(|b| format!("{b}{}{file}", if b.ends_with('/') { "" } else { "/" }))
            .collect();
        download_file(
            &urls,
            &dir.join(&file),
            &expected,
            options,
            Some(&mut report),
        )?;
    }
    Ok(())
}

/// Downloads one file to `dest`, trying `urls` in order (each with retries and resumption), and
/// checks it against `expected`. A `dest` that already has the right digest is kept. On failure
/// nothing is left at `dest` or at its `.part` name.
pub fn download_file(
    urls: &[String],
    dest: &Path,
    expected: &Expected,
    options: &DownloadOptions,
    mut progress: Option<&mut dyn FnMut(&Progress)>,
) -> Result<(), DataError> {
    if dest.is_file() && expected.check(dest).is_ok() {
        return Ok(());
    }
    let file = dest
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let part = dest.with_file_name(format!("{file}.part"));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(options.timeout))
        .timeout_recv_response(Some(options.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut last = DataError::Argument {
        expected: "at least one URL".into(),
        found: "none".into(),
    };
    for url in urls {
        match fetch(&agent, url, &part, &file, options, expected, &mut progress) {
            Ok(()) => {
                return fs::rename(&part, dest).map_err(|e| DataError::io(dest, "renaming", e));
            }
            Err(e) => last = e,
        }
    }
    // Best effort: the error that matters is the download's.
    let _ = fs::remove_file(&part);
    Err(last)
}

/// Fetches `url` into `part` with retries and resumption, then checks its digest.
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    file: &str,
    options: &DownloadOptions,
    expected: &Expected,
    progress: &mut Option<&mut dyn FnMut(&Progress)>,
) -> Result<(), DataError> {
    let attempts = options.attempts.max(1);
    let mut wait = options.backoff;
    let mut detail = String::new();
    for attempt in 1..=attempts {
        let permanent = match attempt_once(agent, url, part, file, progress) {
            Ok(()) => {
                return expected.check(part).inspect_err(|_| {
                    // A wrong file must not be resumed from.
                    let _ = fs::remove_file(part);
                });
            }
            Err(Failure {
                detail: d,
                permanent,
            }) => {
                detail = d;
                permanent
            }
        };
        if permanent {
            return Err(DataError::Download {
                url: url.into(),
                path: part.into(),
                detail,
                attempts: attempt,
            });
        }
        if attempt < attempts {
            thread::sleep(wait);
            wait = wait.saturating_mul(2);
        }
    }
    Err(DataError::Download {
        url: url.into(),
        path: part.to_path_buf(),
        detail,
        attempts,
    })
}

/// One HTTP request: resumes from the length of `part` when the server allows it.
fn attempt_once(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    file: &str,
    progress: &mut Option<&mut dyn FnMut(&Progress)>,
) -> Result<(), Failure> {
    let have = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let response = request
        .call()
        .map_err(|e| Failure::transient(e.to_string()))?;
    let status = response.status().as_u16();
    let (mut done, append) = match status {
        200 => (0, false),
        206 => (have, true),
        // Range past the end: the part file is already complete (or wrong: the digest decides).
        416 if have > 0 => return Ok(()),
        // Client errors other than "timeout" and "too many requests" will not go away.
        _ => {
            let permanent = (400..500).contains(&status) && status != 408 && status != 429;
            return Err(Failure {
                detail: format!("HTTP status {status}"),
                permanent,
            });
        }
    };
    let body = response.into_body();
    let total = body.content_length().map(|n| n + done);
    let mut out = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .map_err(|e| Failure::transient(format!("opening {}: {e}", part.display())))?;
    let mut reader = body.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Failure::transient(format!("after {done} bytes: {e}")))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .map_err(|e| Failure::transient(format!("writing {}: {e}", part.display())))?;
        done += n as u64;
        if let Some(cb) = progress.as_mut() {
            cb(&Progress {
                file: file.to_string(),
                done,
                total,
            });
        }
    }
    out.sync_all()
        .map_err(|e| Failure::transient(format!("syncing {}: {e}", part.display())))?;
    match total {
        Some(t) if done < t => Err(Failure::transient(format!(
            "connection closed after {done} of {t} bytes"
        ))),
        _ => Ok(()),
    }
}

/// Why an attempt failed, and whether retrying the same URL can help.
struct Failure {
    detail: String,
    permanent: bool,
}

impl Failure {
    fn transient(detail: String) -> Self {
        Failure {
            detail,
            permanent: false,
        }
    }
}
