//! Downloads against a local HTTP/1.1 server started by each test: a good file, a wrong checksum,
//! a connection dropped mid-file (resumed, or failing every time), a 404. Nothing partial may be
//! left behind.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use gradlab_data::{DataError, DownloadOptions, Expected, download_file};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// What the server does with one request.
struct Reply {
    status: u16,
    body: Vec<u8>,
    /// Total length when answering a range request (206).
    range_total: Option<usize>,
    /// Close the connection after this many body bytes (Content-Length still says all).
    cut_after: Option<usize>,
}

/// A request as the server saw it: path and the start of its `Range` header.
type Seen = Arc<Mutex<Vec<(String, Option<usize>)>>>;

/// Starts a server on 127.0.0.1 answering with `handler(path, range_start, request_number)`.
/// It stops by itself after `max_requests` requests or 20 seconds.
fn serve<F>(max_requests: usize, handler: F) -> (String, Seen)
where
    F: Fn(&str, Option<usize>, usize) -> Reply + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut n = 0;
        while n < max_requests && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    answer(stream, &handler, n, &seen2);
                    n += 1;
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (base, seen)
}

/// Reads one request, records it in `seen` *before* replying (so a client that has its reply
/// finds its request already recorded) and sends `handler`'s reply.
fn answer<F>(stream: TcpStream, handler: &F, n: usize, seen: &Seen) -> Option<()>
where
    F: Fn(&str, Option<usize>, usize) -> Reply,
{
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let path = first.split_whitespace().nth(1)?.to_string();
    let mut range = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if line.trim().is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("range: bytes=") {
            range = v.trim().trim_end_matches('-').parse().ok();
        }
    }
    seen.lock().unwrap().push((path.clone(), range));
    let reply = handler(&path, range, n);
    let reason = match reply.status {
        200 => "OK",
        206 => "Partial Content",
        _ => "Not Found",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    if let (Some(total), Some(start)) = (reply.range_total, range) {
        head += &format!("Content-Range: bytes {start}-{}/{total}\r\n", total - 1);
    }
    head += "\r\n";
    let mut stream = stream;
    stream.write_all(head.as_bytes()).ok()?;
    let end = reply
        .cut_after
        .unwrap_or(reply.body.len())
        .min(reply.body.len());
    stream.write_all(&reply.body[..end]).ok()?;
    stream.flush().ok()
}

/// A file served with `Range` support.
fn ranged(content: &[u8], range: Option<usize>) -> Reply {
    match range {
        Some(start) if start < content.len() => Reply {
            status: 206,
            body: content[start..].to_vec(),
            range_total: Some(content.len()),
            cut_after: None,
        },
        _ => Reply {
            status: 200,
            body: content.to_vec(),
            range_total: None,
            cut_after: None,
        },
    }
}

fn content() -> Vec<u8> {
    common::gz(&common::pixels(300, 784))
}

fn sha256(data: &[u8]) -> Expected {
    Expected::Sha256(
        Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

fn options() -> DownloadOptions {
    DownloadOptions {
        mirror: None,
        attempts: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(5),
    }
}

fn assert_nothing_left(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn good_file_is_downloaded_and_checked() {
    let data = content();
    let served = data.clone();
    let (base, seen) = serve(1, move |_, range, _| ranged(&served, range));
    let dir = TempDir::new().unwrap();
    let dest = dir.path().join("file.gz");
    let mut last = 0;
    let mut progress = |p: &gradlab_data::Progress| last = p.done;
    let urls = [format!("{base}file.gz")];
    download_file(
        &urls,
        &dest,
        &sha256(&data),
        &options(),
        Some(&mut progress),
    )
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(last, data.len() as u64);
    assert!(!dir.path().join("file.gz.part").exists());
    assert_eq!(seen.lock().unwrap()[0], ("/file.gz".to_string(), None));
    // Present with the right digest: kept without any request (this URL is closed).
    download_file(
        &["http://127.0.0.1:9/x".into()],
        &dest,
        &sha256(&data),
        &options(),
        None,
    )
    .unwrap();
}

#[test]
fn md5_digests_are_checked_too() {
    let data = content();
    let served = data.clone();
    let (base, _) = serve(2, move |_, range, _| ranged(&served, range));
    let dir = TempDir::new().unwrap();
    let urls = [format!("{base}a.tar.gz")];
    let md5 = |d: &[u8]| {
        md5::Md5::digest(d)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let dest = dir.path().join("a.tar.gz");
    download_file(&urls, &dest, &Expected::Md5(md5(&data)), &options(), None).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let wrong = Expected::Md5(md5(b"other"));
    let err = download_file(
        &urls,
        &dir.path().join("b.tar.gz"),
        &wrong,
        &options(),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Checksum {
                algorithm: "md5",
                ..
            }
        ),
        "{err}"
    );
    assert!(!dir.path().join("b.tar.gz").exists() && !dir.path().join("b.tar.gz.part").exists());
}

#[test]
fn wrong_checksum_leaves_nothing() {
    let data = content();
    let mut wrong = data.clone();
    wrong[100] ^= 1;
    let (base, _) = serve(3, move |_, range, _| ranged(&wrong, range));
    let dir = TempDir::new().unwrap();
    let urls = [format!("{base}file.gz")];
    let err = download_file(
        &urls,
        &dir.path().join("file.gz"),
        &sha256(&data),
        &options(),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, DataError::Checksum { .. }), "{err}");
    assert_nothing_left(dir.path());
}

#[test]
fn dropped_connection_is_resumed() {
    let data = content();
    let served = data.clone();
    let half = data.len() / 2;
    let (base, seen) = serve(2, move |_, range, n| {
        let mut r = ranged(&served, range);
        if n == 0 {
            r.cut_after = Some(half);
        }
        r
    });
    let dir = TempDir::new().unwrap();
    let dest = dir.path().join("file.gz");
    download_file(
        &[format!("{base}file.gz")],
        &dest,
        &sha256(&data),
        &options(),
        None,
    )
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].1, Some(half), "the retry asked for the rest only");
    assert!(!dir.path().join("file.gz.part").exists());
}

#[test]
fn connection_dropped_every_time_leaves_nothing() {
    let data = content();
    let served = data.clone();
    let (base, seen) = serve(3, move |_, range, _| {
        let mut r = ranged(&served, range);
        r.cut_after = Some(r.body.len() / 3);
        r
    });
    let dir = TempDir::new().unwrap();
    let urls = [format!("{base}file.gz")];
    let err = download_file(
        &urls,
        &dir.path().join("file.gz"),
        &sha256(&data),
        &options(),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, DataError::Download { attempts: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("file.gz"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert_nothing_left(dir.path());
}

#[test]
fn not_found_falls_back_to_the_next_mirror() {
    let data = content();
    let served = data.clone();
    // Three requests: a 404 is not retried, so bad, good, bad.
    let (base, seen) = serve(3, move |path, range, _| {
        if path.starts_with("/good/") {
            ranged(&served, range)
        } else {
            Reply {
                status: 404,
                body: b"no".to_vec(),
                range_total: None,
                cut_after: None,
            }
        }
    });
    let dir = TempDir::new().unwrap();
    let dest = dir.path().join("file.gz");
    let urls = [format!("{base}bad/file.gz"), format!("{base}good/file.gz")];
    download_file(&urls, &dest, &sha256(&data), &options(), None).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let err = download_file(
        &urls[..1],
        &dir.path().join("other.gz"),
        &sha256(&data),
        &options(),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, DataError::Download { attempts: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("404"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert!(!dir.path().join("other.gz.part").exists());
}

#[test]
fn real_mnist_through_a_local_mirror() {
    // Serves the real MNIST files (published checksums) and downloads the whole dataset.
    let Some(real) = common::real_root() else {
        return;
    };
    let src = real.join("mnist");
    let (base, _) = serve(4, move |path, range, _| {
        match std::fs::read(src.join(path.trim_start_matches('/'))) {
            Ok(content) => ranged(&content, range),
            Err(_) => Reply {
                status: 404,
                body: Vec::new(),
                range_total: None,
                cut_after: None,
            },
        }
    });
    let root = TempDir::new().unwrap();
    let opts = DownloadOptions {
        mirror: Some(base),
        ..options()
    };
    gradlab_data::download_with(gradlab_data::DatasetName::Mnist, root.path(), &opts, None)
        .unwrap();
    let report = gradlab_data::verify(gradlab_data::DatasetName::Mnist, root.path()).unwrap();
    assert_eq!((report.train_len, report.test_len), (60_000, 10_000));
    assert!(
        report
            .files
            .iter()
            .all(|f| f.checksum == gradlab_data::ChecksumCheck::GzSha256)
    );
}
