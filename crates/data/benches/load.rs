//! Load and batching throughput (a benchmark, not a timed test): `cargo bench -p gradlab-data`.
//!
//! Prints, for each dataset found under `GRADLAB_DATA`, the time to read, decompress and check
//! it, the time of a full `verify`, and the batcher's batches per second (batch size 128,
//! standardised, shuffled), both filling host buffers only and building Burn tensors on the flex
//! CPU device. Without `GRADLAB_DATA` it says so and exits successfully.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use burn::tensor::Device;
use gradlab_data::{Batcher, DatasetName, Normalization, load, verify};

const BATCH: usize = 128;

fn main() {
    let Some(root) = std::env::var_os("GRADLAB_DATA").filter(|v| !v.is_empty()) else {
        println!("GRADLAB_DATA not set: nothing to benchmark (point it at a data root)");
        return;
    };
    let root = std::path::PathBuf::from(root);
    let device = Device::flex();
    println!("data root: {}", root.display());
    for name in DatasetName::ALL {
        let t = Instant::now();
        let data = match load(name, &root) {
            Ok(d) => d,
            Err(e) => {
                println!("{name}: not loaded: {e}");
                continue;
            }
        };
        let load_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let verified = verify(name, &root).map(|_| "ok").unwrap_or("FAILED");
        let verify_s = t.elapsed().as_secs_f64();
        println!(
            "{name}: load+decode {load_s:.3} s ({} train, {} test); verify {verify_s:.3} s ({verified})",
            data.train.len(),
            data.test.len()
        );

        let batcher = Batcher::new(&data.train, BATCH, Normalization::Standardize, &device)
            .shuffle(Some(0))
            .drop_last(true);
        let order = batcher.epoch_order(0);
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        let t = Instant::now();
        let mut n = 0;
        for chunk in order.chunks_exact(BATCH) {
            batcher.fill_host(chunk, &mut pixels, &mut labels);
            n += 1;
        }
        let host = n as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut checksum = 0usize;
        let limit = 200;
        for (images, _) in batcher.epoch(0).take(limit) {
            checksum += images.dims()[0];
        }
        let tensors = (checksum / BATCH) as f64 / t.elapsed().as_secs_f64();
        println!(
            "{name}: batcher (batch {BATCH}, standardised, shuffled): {host:.0} batches/s into \
             host buffers, {tensors:.0} batches/s as flex tensors ({} batches timed)",
            checksum / BATCH
        );
    }
}
