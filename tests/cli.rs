//! End-to-end tests of the `gradlab` binary: real MNIST (from `GRADLAB_DATA`, else the
//! workspace's `../shared/data`, else the user's data cache), tiny subsets so each test takes
//! seconds. Tests that need MNIST say "skipped" when none of those has it.

#![allow(clippy::print_stderr)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gradlab");

/// Where MNIST is: `GRADLAB_DATA` when set, else `shared/data` beside the workspace, else
/// the default data root (`~/.cache/gradlab`, where `gradlab data download mnist` puts it).
fn data_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("GRADLAB_DATA") {
        return Some(PathBuf::from(dir));
    }
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let cache = gradlab_data::resolve_root(None);
    [shared, cache]
        .into_iter()
        .find(|d| d.join("mnist").exists())
}

/// The data root for a test that trains on MNIST, or `None` (and a note) to skip it.
fn mnist() -> Option<PathBuf> {
    let dir = data_dir();
    if dir.is_none() {
        eprintln!(
            "skipped: MNIST not found; set GRADLAB_DATA or run `gradlab data download mnist`"
        );
    }
    dir
}

fn gradlab(args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args);
    if let Some(dir) = data_dir() {
        command.env("GRADLAB_DATA", dir);
    }
    command.output().expect("runs gradlab")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `gradlab -q train CONFIG --out OUT --set S1 --set S2 …`.
fn train_with(config: &Path, out: &Path, sets: &[&str]) -> Output {
    let mut args = vec!["-q", "train", s(config), "--out", s(out)];
    for set in sets {
        args.extend(["--set", set]);
    }
    gradlab(&args)
}

/// A JSON file the runner wrote, parsed.
fn json(path: &Path) -> serde_json::Value {
    let body = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&body).unwrap()
}

/// A tiny config: 784-16x2-10 on 500 MNIST images, 1 epoch.
fn tiny(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("tiny.toml");
    let body = format!(
        r#"name = "tiny"
[data]
dataset = "mnist"
train_size = 500
test_size = 200
[model]
depth = 2
width = 16
activation = "tanh"
[train]
epochs = 1
batch_size = 20
lr = 0.1
[log]
first_steps = 5
every = 5
stats_batch = 100
{extra}"#
    );
    fs::write(&path, body).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn activations_json_lists_every_activation_with_its_max_derivative() {
    let out = gradlab(&["activations", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sigmoid = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "sigmoid")
        .unwrap();
    assert_eq!(sigmoid["max_derivative"], 0.25);
    assert_eq!(rows.as_array().unwrap().len(), 13);
    let gelu = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "gelu")
        .unwrap();
    assert!(
        gelu["range"][0].as_f64().unwrap() < -0.1699,
        "JSON keeps full digits"
    );
}

#[test]
fn activations_table_prints_ranges_to_4_decimals() {
    let out = gradlab(&["activations"]);
    assert!(out.status.success(), "{}", text(&out));
    let table = text(&out);
    assert!(table.contains("(-0.1700, inf)"), "{table}");
    assert!(table.contains("(-inf, inf)"), "{table}");
}

#[test]
fn a_closed_stdout_ends_the_command_quietly_with_status_0() {
    for args in [
        &["activations"][..],
        &["activations", "--json"],
        &["eoc", "--activation", "tanh"],
    ] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs gradlab");
        // Close the only read end before the child writes: every write then fails with EPIPE.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out));
    }
    // The shell form: with bash's pipefail, the pipeline's status is gradlab's (dash, the usual
    // sh, has no pipefail).
    let Ok(out) = Command::new("bash")
        .arg("-c")
        .arg(format!("set -o pipefail; '{BIN}' activations | head -1"))
        .output()
    else {
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("activation"));
    assert!(!text(&out).contains("panicked"), "{}", text(&out));
}

#[test]
fn eoc_json_gives_the_tanh_critical_point() {
    let out = gradlab(&[
        "eoc",
        "--activation",
        "tanh",
        "--sigma-b2",
        "0.05",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = v["sigma_w2"].as_f64().unwrap();
    assert!((w - 1.76).abs() < 0.01, "sigma_w2 = {w}");
    assert!(v.get("q_star").is_some() && v.get("depth_scale").is_some());
}

#[test]
fn eoc_at_a_given_sigma_w2_reports_the_phase_and_depth_scale() {
    let out = gradlab(&[
        "eoc",
        "--activation",
        "tanh",
        "--sigma-b2",
        "0.05",
        "--sigma-w2",
        "1.0",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sigma_w2"], 1.0);
    assert_eq!(v["sigma_b2"], 0.05);
    assert!(v["chi1"].as_f64().unwrap() < 1.0, "ordered phase: {v}");
    assert_eq!(v["phase"], "ordered");
    assert_eq!(v["c_star"], 1.0);
    assert!(v["q_star"].as_f64().unwrap() > 0.0, "{v}");
    let xi = v["depth_scale"]
        .as_f64()
        .expect("finite depth scale off criticality");
    assert!(xi > 0.0 && xi.is_finite(), "{v}");
    let trainable = v["trainable_depth"].as_f64().unwrap();
    assert!((trainable - 6.0 * xi).abs() < 1e-9, "{v}");

    let text_out = gradlab(&["eoc", "--activation", "tanh", "--sigma-w2", "4"]);
    assert!(text_out.status.success(), "{}", text(&text_out));
    assert!(
        text(&text_out).contains("phase           chaotic"),
        "{}",
        text(&text_out)
    );
    let bad = gradlab(&["eoc", "--activation", "tanh", "--sigma-w2", "0"]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("--sigma-w2"), "{}", text(&bad));
}

#[test]
fn same_config_and_seed_give_identical_metrics_files() {
    let Some(_data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path(), "");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        let r = gradlab(&["-q", "train", s(&config), "--out", s(out)]);
        assert!(r.status.success(), "{}", text(&r));
    }
    for file in ["epochs.jsonl", "steps.jsonl", "config.json"] {
        let x = fs::read(a.join("runs/tiny").join(file)).unwrap();
        let y = fs::read(b.join("runs/tiny").join(file)).unwrap();
        assert!(!x.is_empty());
        assert!(x == y, "{file} differs between two identical runs");
    }
    let steps = fs::read_to_string(a.join("runs/tiny/steps.jsonl")).unwrap();
    assert_eq!(
        steps.lines().count(),
        9,
        "25 steps: 0-4, then every 5th: 5, 10, 15, 20"
    );
    assert!(a.join("runs/tiny/model.bpk").exists());
    let eval = gradlab(&["--json", "eval", s(&a.join("runs/tiny"))]);
    assert!(eval.status.success(), "{}", text(&eval));
}

#[test]
fn sweep_skips_finished_runs_records_divergence_and_reports_shards() {
    let Some(_data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // lr 1e4 on identity units blows the loss up to inf/NaN within a few steps.
    let grid = "[grid]\nlr = [0.05, 10000.0]\nseed = [1, 2]\nactivation = [\"identity\"]";
    let config = tiny(tmp.path(), grid);
    let out = tmp.path().join("out");
    let first = gradlab(&["sweep", s(&config), "--out", s(&out), "--jobs", "2"]);
    assert!(first.status.success(), "{}", text(&first));
    let results = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(results.lines().count(), 5, "{results}");
    assert_eq!(results.matches(",diverged,").count(), 2, "{results}");
    assert_eq!(results.matches(",finished,").count(), 2, "{results}");
    let summary = fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("test acc mean"), "{summary}");

    let again = gradlab(&["sweep", s(&config), "--out", s(&out)]);
    assert!(
        text(&again).contains("4 run(s) already done"),
        "{}",
        text(&again)
    );

    // Shards: each half into its own folder, merged by report.
    let dirs: Vec<PathBuf> = (1..=2)
        .map(|i| tmp.path().join(format!("shard{i}")))
        .collect();
    for (i, dir) in dirs.iter().enumerate() {
        let shard = format!("{}/2", i + 1);
        let r = gradlab(&[
            "-q",
            "sweep",
            s(&config),
            "--out",
            s(dir),
            "--shard",
            &shard,
        ]);
        assert!(r.status.success(), "{}", text(&r));
    }
    let merged = tmp.path().join("merged");
    let r = gradlab(&["report", s(&dirs[0]), s(&dirs[1]), "--out", s(&merged)]);
    assert!(r.status.success(), "{}", text(&r));
    let merged_csv = fs::read_to_string(merged.join("results.csv")).unwrap();
    assert_eq!(merged_csv.lines().count(), 5, "{merged_csv}");
}

fn rejected(extra_args: &[&str], config_extra: &str, field: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path(), config_extra);
    let out = tmp.path().join("out");
    let mut args = vec!["train", s(&config), "--out", s(&out)];
    args.extend_from_slice(extra_args);
    let r = gradlab(&args);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(
        text(&r).contains(field),
        "message should name `{field}`: {}",
        text(&r)
    );
    assert!(!out.join("runs").exists() || fs::read_dir(out.join("runs")).unwrap().count() == 0);
}

#[test]
fn bad_input_is_rejected_before_training_with_the_field_named() {
    let Some(_data) = mnist() else { return };
    rejected(&["--set", "train.colour=1"], "", "colour");
    rejected(&["--set", "model.activation=swishy"], "", "sigmoid");
    rejected(&["--set", "train.lr=0"], "", "train.lr");
    rejected(&["--set", "train.lr=-0.5"], "", "train.lr");
    rejected(&["--set", "model.depth=0"], "", "model.depth");
    rejected(&["--set", "train.optimizer=adamax"], "", "rmsprop");
    rejected(&["--set", "model.init=glorious"], "", "xavier-uniform");
    rejected(&[], "[grid]\nseed = []", "grid.seed");
    rejected(&["--set", "model.widths=[16, 8, 4]"], "", "model.widths");
    rejected(&["--set", "model.widths=[16, 0]"], "", "model.widths[1]");
    rejected(&["--set", "data.validations=100"], "", "validations");
    rejected(&["--set", "log.stats_evry=10"], "", "stats_evry");
    rejected(&["--set", "data.validation=0"], "", "data.validation");
    rejected(&["--set", "data.validation=60000"], "", "data.validation");
    rejected(&["--set", "log.stats_every=0"], "", "log.stats_every");
}

#[test]
fn validation_holds_out_the_last_images_and_report_selects_the_rate_by_it() {
    let Some(_data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // 60,000 - 59,600 leaves 400 training images (below train_size = 500): 20 steps of 20.
    let grid = "[grid]\nlr = [0.02, 0.2]";
    let config = tiny(tmp.path(), grid);
    let out = tmp.path().join("out");
    let sets = ["--set", "data.validation=59600"];
    let r = gradlab(&[&["-q", "sweep", s(&config), "--out", s(&out)][..], &sets].concat());
    assert!(r.status.success(), "{}", text(&r));

    let mut val_by_lr = Vec::new();
    for lr in ["0.02", "0.2"] {
        let run = out.join(format!("runs/lr={lr}"));
        let result = json(&run.join("result.json"));
        assert_eq!(
            result["steps"], 20,
            "400 training images at batch 20: {result}"
        );
        let val = result["val_accuracy"]
            .as_f64()
            .expect("val_accuracy recorded");
        assert!(
            val > 0.0 && val <= 1.0 && result["val_loss"].is_number(),
            "{result}"
        );
        let epochs = fs::read_to_string(run.join("epochs.jsonl")).unwrap();
        assert_eq!(epochs.matches("\"val_accuracy\"").count(), 2, "{epochs}");
        // 59,600 images: the accuracy is a multiple of 1/59,600.
        assert!(
            (val * 59_600.0 - (val * 59_600.0).round()).abs() < 1e-6,
            "{val}"
        );
        val_by_lr.push((lr, val));
    }
    let results = fs::read_to_string(out.join("results.csv")).unwrap();
    assert!(
        results
            .lines()
            .next()
            .unwrap()
            .ends_with(",val_accuracy,val_loss")
    );

    let r = gradlab(&["report", s(&out), "--select-by", "validation"]);
    assert!(r.status.success(), "{}", text(&r));
    let best = val_by_lr.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    let selection = fs::read_to_string(out.join("selection.csv")).unwrap();
    let row: Vec<&str> = selection.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row[0], best.0, "{val_by_lr:?}: {selection}");
    assert_eq!(row[1], "2", "two rates tried: {selection}");

    // Without data.validation nothing changes: no key in the config, no val fields.
    let plain = tmp.path().join("plain");
    let r = gradlab(&["-q", "train", s(&tiny(tmp.path(), "")), "--out", s(&plain)]);
    assert!(r.status.success(), "{}", text(&r));
    for file in ["config.json", "epochs.jsonl", "result.json"] {
        let body = fs::read_to_string(plain.join("runs/tiny").join(file)).unwrap();
        assert!(
            !body.contains("\"val_") && !body.contains("\"validation\""),
            "{file}: {body}"
        );
    }
    let r = gradlab(&["report", s(&plain), "--select-by", "validation"]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("data.validation"), "{}", text(&r));
}

#[test]
fn a_class_ordered_copy_needs_the_spread_validation_pick() {
    // The shared CIFAR-10 copy is ordered by class (shared/data/SOURCES.md): its last 10,000
    // training images are classes 8 and 9 only.
    let Some(dir) = data_dir().filter(|d| d.join("cifar-10-batches-bin").exists()) else {
        eprintln!("skipped: CIFAR-10 not found; set GRADLAB_DATA");
        return;
    };
    let ordered = gradlab_data::load(gradlab_data::DatasetName::Cifar10, &dir).unwrap();
    if ordered.train.label(0) != 0 || ordered.train.label(49_999) != 9 {
        eprintln!("skipped: this CIFAR-10 copy is not ordered by class");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path(), "");
    let body = fs::read_to_string(&config)
        .unwrap()
        .replace(
            "dataset = \"mnist\"\ntrain_size = 500\n",
            "dataset = \"cifar10\"\n",
        )
        .replace("batch_size = 20", "batch_size = 1000")
        .replace("depth = 2\nwidth = 16", "depth = 1\nwidth = 8");
    fs::write(&config, body).unwrap();
    let out = tmp.path().join("out");
    let run = |pick: &str| {
        let pick = format!("data.validation_pick={pick}");
        train_with(&config, &out, &["data.validation=10000", &pick])
    };

    let r = run("last");
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(
        text(&r).contains("class(es) 0, 1, 2, 3, 4, 5, 6, 7")
            && text(&r).contains("data.validation_pick = \"spread\""),
        "{}",
        text(&r)
    );

    let r = run("spread");
    assert!(r.status.success(), "{}", text(&r));
    let result = json(&out.join("runs/tiny/result.json"));
    // 40,000 training images at batch 1,000; the validation accuracy counts 10,000 images.
    assert_eq!(result["steps"], 40, "{result}");
    let val = result["val_accuracy"].as_f64().unwrap();
    assert!(
        (val * 10_000.0 - (val * 10_000.0).round()).abs() < 1e-6,
        "{val}"
    );
    let saved = json(&out.join("runs/tiny/config.json"));
    assert_eq!(
        saved["config"]["data"]["validation_pick"], "spread",
        "{saved}"
    );

    // `train_size` takes the first images of the other 40,000: on this copy, classes 0-2.
    let sets = [
        "data.validation=10000",
        "data.validation_pick=spread",
        "data.train_size=10000",
    ];
    let r = train_with(&config, &out, &sets);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(
        text(&r)
            .contains("training split of cifar10 has no image of class(es) 3, 4, 5, 6, 7, 8, 9")
            && text(&r).contains("remove data.train_size"),
        "{}",
        text(&r)
    );

    rejected(&["--set", "data.validation_pick=random"], "", "spread");
}

#[test]
fn stats_every_records_layer_statistics_every_k_steps_and_plots_them() {
    let Some(_data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path(), "");
    let out = tmp.path().join("out");
    // 500 images at batch 20: 25 steps; snapshots at steps 0 (initialisation), 10 and 20.
    let r = train_with(&config, &out, &["log.stats_every=10"]);
    assert!(r.status.success(), "{}", text(&r));
    let stats = fs::read_to_string(out.join("runs/tiny/stats.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = stats
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<u64> = lines.iter().map(|l| l["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, [0, 10, 20], "{stats}");
    for line in &lines {
        let layers = line["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 3, "2 hidden layers and the output: {line}");
        let sd = layers[0]["act_std"].as_f64().unwrap();
        assert!(sd > 0.0 && layers[0]["act_mean"].is_number(), "{line}");
    }
    let epochs = fs::read_to_string(out.join("runs/tiny/epochs.jsonl")).unwrap();
    let initial: serde_json::Value = serde_json::from_str(epochs.lines().next().unwrap()).unwrap();
    assert_eq!(
        initial["layers"], lines[0]["layers"],
        "step 0 is the epoch-0 snapshot"
    );
    if Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists() {
        assert!(out.join("activations-over-time.svg").exists());
    }
    let plain = tmp.path().join("plain");
    let r = gradlab(&["-q", "train", s(&config), "--out", s(&plain)]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(!plain.join("runs/tiny/stats.jsonl").exists());
    assert!(!plain.join("activations-over-time.svg").exists());
}

#[test]
fn per_layer_widths_train_and_bench() {
    let Some(_data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path(), "");
    let out = tmp.path().join("out");
    let r = train_with(&config, &out, &["model.widths=[16, 8]"]);
    assert!(r.status.success(), "{}", text(&r));

    let r = gradlab(&[
        "bench", "--widths", "128,64", "--steps", "2", "--batch", "8",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let line = String::from_utf8_lossy(&r.stdout);
    assert!(line.contains("784-128-64-10"), "{line}");
    let r = gradlab(&["bench", "--widths", "128,0", "--steps", "1"]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("--widths"), "{}", text(&r));
}

#[test]
fn missing_data_usage_errors_and_absent_backends_have_their_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path(), "");
    let empty = tmp.path().join("nodata");
    fs::create_dir_all(&empty).unwrap();
    let r = gradlab(&[
        "train",
        s(&config),
        "--out",
        s(&tmp.path().join("o")),
        "--data-dir",
        s(&empty),
    ]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("train-images-idx3-ubyte"), "{}", text(&r));

    assert_eq!(gradlab(&["sweep"]).status.code(), Some(2));
    assert_eq!(
        gradlab(&["train", s(&config), "--jobs", "x"]).status.code(),
        Some(2)
    );
    if !cfg!(feature = "wgpu") {
        let r = gradlab(&[
            "--backend",
            "wgpu",
            "train",
            s(&config),
            "--out",
            s(&tmp.path().join("w")),
        ]);
        assert_eq!(r.status.code(), Some(1));
        assert!(text(&r).contains("--features wgpu"), "{}", text(&r));
    }
}

/// The GPU path, run by `benches/gpu.sh` on a machine with a GPU:
/// `cargo test --release --features gradlab-runner/wgpu --test cli -- --ignored wgpu`.
/// Ignored by default because no test may need a GPU; compiled always, so it cannot rot.
#[test]
#[ignore = "needs a GPU: run with --features gradlab-runner/wgpu -- --ignored wgpu"]
fn wgpu_trains_to_the_accuracy_of_flex_and_benches() {
    let Some(_data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path(), "");
    let mut accuracy = Vec::new();
    for backend in ["flex", "wgpu"] {
        let out = tmp.path().join(backend);
        let r = gradlab(&[
            "--backend",
            backend,
            "-q",
            "train",
            s(&config),
            "--out",
            s(&out),
        ]);
        assert!(r.status.success(), "{backend}: {}", text(&r));
        let result = json(&out.join("runs/tiny/result.json"));
        assert_eq!(result["backend"], backend);
        accuracy.push(result["test_accuracy"].as_f64().unwrap());
    }
    // Same seed and data; only float summation order differs between the backends.
    assert!((accuracy[0] - accuracy[1]).abs() < 0.05, "{accuracy:?}");
    let r = gradlab(&[
        "--backend",
        "wgpu",
        "bench",
        "--depth",
        "2",
        "--width",
        "64",
        "--steps",
        "5",
    ]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("samples/s"),
        "{}",
        text(&r)
    );
}

#[test]
fn data_verify_names_a_corrupt_file() {
    let Some(data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mnist = tmp.path().join("mnist");
    fs::create_dir_all(&mnist).unwrap();
    for entry in fs::read_dir(data.join("mnist")).unwrap() {
        let p = entry.unwrap().path();
        fs::copy(&p, mnist.join(p.file_name().unwrap())).unwrap();
    }
    let ok = gradlab(&["data", "verify", "mnist", "--data-dir", s(tmp.path())]);
    assert!(ok.status.success(), "{}", text(&ok));
    let victim = mnist.join("t10k-labels-idx1-ubyte.gz");
    let bytes = fs::read(&victim).unwrap();
    fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let bad = gradlab(&["data", "verify", "mnist", "--data-dir", s(tmp.path())]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(
        text(&bad).contains("t10k-labels-idx1-ubyte"),
        "{}",
        text(&bad)
    );
}

#[test]
fn probe_prints_one_gradient_norm_per_layer() {
    let Some(_data) = mnist() else { return };
    let out = gradlab(&[
        "--json",
        "probe",
        "--activation",
        "sigmoid",
        "--depth",
        "4",
        "--batch",
        "64",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let layers: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = layers.as_array().unwrap();
    assert_eq!(layers.len(), 5);
    let first = layers[0]["grad_norm"].as_f64().unwrap();
    let last_hidden = layers[3]["grad_norm"].as_f64().unwrap();
    assert!(
        first < last_hidden,
        "sigmoid gradients shrink towards the input"
    );
}

#[test]
fn lr_find_writes_a_curve_of_increasing_rates_and_names_a_suggested_rate() {
    let Some(_data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path(), "");
    let out_dir = tmp.path().join("lr");
    let out = gradlab(&[
        "lr-find",
        s(&config),
        "--set",
        "data.train_size=2000",
        "--steps",
        "30",
        "--out",
        s(&out_dir),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let csv = fs::read_to_string(out_dir.join("lr-find.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("step,lr,loss,smoothed"));
    let rates: Vec<f64> = lines
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(rates.len() >= 2 && rates.len() <= 30, "{csv}");
    assert_eq!(rates[0], 1e-6);
    assert!(rates.windows(2).all(|w| w[1] > w[0]), "{csv}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("suggested lr "), "{stdout}");
    assert!(stdout.contains("min/10 = "), "{stdout}");
}

#[test]
fn a_grid_given_to_lr_find_names_the_pins_and_the_pins_work() {
    let Some(_data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(
        tmp.path(),
        "[grid]\nactivation = [\"tanh\", \"relu\"]\nseed = [1, 2]",
    );
    let out_dir = tmp.path().join("lr");
    let args = ["lr-find", s(&config), "--steps", "5", "--out", s(&out_dir)];
    let out = gradlab(&args);
    assert!(!out.status.success());
    let err = text(&out);
    assert!(err.contains("expands to 4 runs"), "{err}");
    assert!(
        err.contains("--set grid.activation=tanh --set grid.seed=1"),
        "{err}"
    );
    let pinned = [
        &args[..],
        &["--set", "grid.activation=relu", "--set", "grid.seed=2"],
    ]
    .concat();
    let out = gradlab(&pinned);
    assert!(out.status.success(), "{}", text(&out));
    assert!(out_dir.join("lr-find.csv").exists());
}

#[test]
fn a_run_killed_after_a_checkpoint_resumes_to_the_same_metrics() {
    let Some(data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let extra = "[grid]\nepochs = [6]\ncheckpoint_every = [1]";
    let config = tiny(
        tmp.path(),
        &extra.replace("checkpoint_every", "\"train.checkpoint_every\""),
    );
    let sets = [
        "--set",
        "data.train_size=3000",
        "--set",
        "train.batch_size=10",
    ];
    let (full, cut) = (tmp.path().join("full"), tmp.path().join("cut"));
    let mut args = vec!["-q", "train", s(&config), "--out", s(&full)];
    args.extend_from_slice(&sets);
    assert!(gradlab(&args).status.success());

    args[4] = s(&cut);
    let mut child = Command::new(BIN)
        .args(&args)
        .env("GRADLAB_DATA", &data)
        .spawn()
        .unwrap();
    let run = cut.join("runs").join("epochs=6_checkpoint_every=1");
    let state = run.join("checkpoint/state.json");
    while !state.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before its first checkpoint"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert!(!run.join("result.json").exists(), "killed before the end");

    let resumed = gradlab(&args[1..]);
    assert!(
        text(&resumed).contains("resuming after epoch"),
        "{}",
        text(&resumed)
    );
    let full_run = full.join("runs").join("epochs=6_checkpoint_every=1");
    for file in ["epochs.jsonl", "steps.jsonl"] {
        let (a, b) = (
            fs::read(full_run.join(file)).unwrap(),
            fs::read(run.join(file)).unwrap(),
        );
        assert!(
            a == b,
            "{file}: the resumed run differs from the uninterrupted one"
        );
    }
}

/// Serves the files of `dir` over HTTP/1.1 on 127.0.0.1 for at most `requests` requests (one
/// per connection), then stops: a local stand-in for a dataset mirror.
fn serve_files(dir: PathBuf, requests: usize) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut request = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Skip the headers: this server always sends the whole file.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let name = request
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let reply = match fs::read(dir.join(name)) {
                Ok(body) => {
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                    [head.into_bytes(), body].concat()
                }
                Err(_) => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&reply);
        }
    });
    url
}

#[test]
fn a_sweep_downloads_missing_data_from_the_mirror_and_trains() {
    let Some(data) = mnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path(), "");
    let root = tmp.path().join("data");
    let mirror = serve_files(data.join("mnist"), 8);
    let out = tmp.path().join("out");
    let r = Command::new(BIN)
        .args(["-q", "train", s(&config), "--out", s(&out)])
        .env("GRADLAB_DATA", &root)
        .env("GRADLAB_DATA_MIRROR", &mirror)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", text(&r));
    assert!(
        text(&r).contains("downloading train-images-idx3-ubyte.gz"),
        "{}",
        text(&r)
    );
    assert!(out.join("runs/tiny/result.json").exists());
    let verify = Command::new(BIN)
        .args(["data", "verify", "mnist"])
        .env("GRADLAB_DATA", &root)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify));
}
