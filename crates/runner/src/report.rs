//! Summary tables over result folders: `results.csv` (one row per run), `summary.csv` and
//! `summary.md` (one row per grid cell: the grid's axes other than the seed, with mean and SD
//! over seeds). Folders from different shards merge because a run's id names its cell.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::Deserialize;

use crate::record::{ResultRecord, Status, read_json, write_atomic};

/// One run as the report sees it.
#[derive(Clone, Debug)]
pub struct Row {
    /// The grid values, seed included.
    pub axes: Vec<(String, String)>,
    /// Its result.
    pub result: ResultRecord,
    /// The run folder.
    pub dir: PathBuf,
}

#[derive(Deserialize)]
struct ConfigEntry {
    axes: Vec<(String, String)>,
}

/// Reads every `runs/*/` with a result under each folder; a run id seen twice keeps the first.
pub fn collect(dirs: &[PathBuf]) -> Result<Vec<Row>> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for dir in dirs {
        let runs = dir.join("runs");
        let Ok(entries) = fs::read_dir(&runs) else {
            bail!(
                "{}: no runs/ folder here; pass a sweep's output folder",
                dir.display()
            );
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let (Ok(result), Ok(config)) = (
                read_json::<ResultRecord>(&path.join("result.json")),
                read_json::<ConfigEntry>(&path.join("config.json")),
            ) else {
                continue;
            };
            rows.entry(result.run_id.clone()).or_insert(Row {
                axes: config.axes,
                result,
                dir: path,
            });
        }
    }
    let mut rows: Vec<Row> = rows.into_values().collect();
    sort_rows(&mut rows);
    Ok(rows)
}

/// Orders rows axis by axis, in each row's grid order: an axis whose values all parse as numbers
/// sorts numerically (run ids are strings, so depth 5 would otherwise land after 40); any other
/// axis keeps the order its values were first seen in (run-id order). Tables and plots follow
/// this order.
pub fn sort_rows(rows: &mut [Row]) {
    // Distinct values per axis, first-seen order.
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for row in rows.iter() {
        for (k, v) in &row.axes {
            let i = match seen.iter().position(|(name, _)| name == k) {
                Some(i) => i,
                None => {
                    seen.push((k.clone(), Vec::new()));
                    seen.len() - 1
                }
            };
            if !seen[i].1.contains(v) {
                seen[i].1.push(v.clone());
            }
        }
    }
    for (_, values) in &mut seen {
        let numbers: Option<Vec<f64>> = values.iter().map(|v| v.parse::<f64>().ok()).collect();
        if let Some(numbers) = numbers {
            let mut paired: Vec<(f64, String)> =
                numbers.into_iter().zip(values.drain(..)).collect();
            paired.sort_by(|a, b| a.0.total_cmp(&b.0));
            values.extend(paired.into_iter().map(|(_, v)| v));
        }
    }
    let rank = |k: &str, v: &str| -> (usize, usize) {
        let axis = seen.iter().position(|(name, _)| name == k).unwrap_or(0);
        let value = seen[axis].1.iter().position(|x| x == v).unwrap_or(0);
        (axis, value)
    };
    // Stable, so rows equal on every axis keep their run-id order.
    rows.sort_by_cached_key(|row| row.axes.iter().map(|(k, v)| rank(k, v)).collect::<Vec<_>>());
}

/// Mean and sample standard deviation (0 for one value); None when empty.
pub fn mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    Some((mean, var.sqrt()))
}

/// One grid cell aggregated over seeds.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Axis values other than the seed.
    pub key: Vec<(String, String)>,
    /// Runs in the cell.
    pub runs: usize,
    /// Test accuracy of non-diverged runs.
    pub accuracy: Option<(f64, f64)>,
    /// Validation accuracy of non-diverged runs (`data.validation`).
    pub val_accuracy: Option<(f64, f64)>,
    /// Mean hidden-layer sparsity.
    pub sparsity: Option<(f64, f64)>,
    /// Mean saturation.
    pub saturation: Option<(f64, f64)>,
    /// Mean convergence step over runs that converged, and how many did.
    pub convergence: Option<(f64, f64)>,
    /// Runs that reached the target.
    pub converged: usize,
    /// Diverged runs.
    pub diverged: usize,
    /// Failed runs.
    pub failed: usize,
}

/// Grid values `(key, value)` in grid order.
type Axes = Vec<(String, String)>;

/// Groups rows by every axis except `seed`, in first-seen order.
pub fn cells(rows: &[Row]) -> Vec<Cell> {
    let mut groups: Vec<(Axes, Vec<&Row>)> = Vec::new();
    for row in rows {
        let key: Vec<_> = row
            .axes
            .iter()
            .filter(|(k, _)| k != "seed")
            .cloned()
            .collect();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(row),
            None => groups.push((key, vec![row])),
        }
    }
    groups
        .into_iter()
        .map(|(key, members)| {
            let ok: Vec<&ResultRecord> = members
                .iter()
                .map(|r| &r.result)
                .filter(|r| r.status == Status::Finished)
                .collect();
            let pick = |f: fn(&ResultRecord) -> Option<f64>| -> Vec<f64> {
                ok.iter().filter_map(|r| f(r)).collect()
            };
            let conv: Vec<f64> = pick(|r| r.convergence_step.map(|s| s as f64));
            let count = |s: Status| members.iter().filter(|r| r.result.status == s).count();
            Cell {
                key,
                runs: members.len(),
                accuracy: mean_sd(&pick(|r| r.test_accuracy)),
                val_accuracy: mean_sd(&pick(|r| r.val_accuracy)),
                sparsity: mean_sd(&pick(|r| r.sparsity)),
                saturation: mean_sd(&pick(|r| r.saturation)),
                converged: conv.len(),
                convergence: mean_sd(&conv),
                diverged: count(Status::Diverged),
                failed: count(Status::Failed),
            }
        })
        .collect()
}

fn fmt_pair(p: Option<(f64, f64)>, digits: usize) -> (String, String) {
    match p {
        Some((m, s)) => (format!("{m:.digits$}"), format!("{s:.digits$}")),
        None => ("-".into(), "-".into()),
    }
}

/// The summary table as Markdown.
pub fn markdown(cells: &[Cell]) -> String {
    let Some(first) = cells.first() else {
        return "No runs with results.\n".into();
    };
    // Validation columns only when some run has a validation split: other tables stay as they were.
    let with_val = cells.iter().any(|c| c.val_accuracy.is_some());
    let mut header: Vec<String> = first.key.iter().map(|(k, _)| k.clone()).collect();
    header.extend(["runs", "test acc mean", "test acc SD"].map(String::from));
    if with_val {
        header.extend(["val acc mean", "val acc SD"].map(String::from));
    }
    header.extend(
        [
            "sparsity mean",
            "sparsity SD",
            "saturation mean",
            "convergence step (converged)",
            "diverged",
            "failed",
        ]
        .map(String::from),
    );
    let mut out = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for c in cells {
        let mut cols: Vec<String> = c.key.iter().map(|(_, v)| v.clone()).collect();
        let (am, asd) = fmt_pair(c.accuracy, 4);
        let (sm, ssd) = fmt_pair(c.sparsity, 3);
        let (sat, _) = fmt_pair(c.saturation, 3);
        let conv = c.convergence.map_or("-".into(), |(m, _)| format!("{m:.0}"));
        cols.extend([c.runs.to_string(), am, asd]);
        if with_val {
            let (vm, vsd) = fmt_pair(c.val_accuracy, 4);
            cols.extend([vm, vsd]);
        }
        cols.extend([sm, ssd, sat]);
        cols.push(format!("{conv} ({}/{})", c.converged, c.runs));
        cols.extend([c.diverged.to_string(), c.failed.to_string()]);
        let _ = writeln!(out, "| {} |", cols.join(" | "));
    }
    out
}

/// One CSV field, quoted when it holds a comma, quote or newline (RFC 4180); grid values such
/// as `derivative:cap=10,every=50` do.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v}"))
}

/// The summary table as CSV.
pub fn summary_csv(cells: &[Cell]) -> String {
    let mut out = String::new();
    // Validation columns last and only when some run has them, so other tables keep their form.
    let with_val = cells.iter().any(|c| c.val_accuracy.is_some());
    if let Some(first) = cells.first() {
        let keys: Vec<String> = first.key.iter().map(|(k, _)| csv_field(k)).collect();
        let _ = writeln!(
            out,
            "{}runs,test_accuracy_mean,test_accuracy_sd,sparsity_mean,sparsity_sd,saturation_mean,\
             convergence_step_mean,converged,diverged,failed{}",
            keys.iter().map(|k| format!("{k},")).collect::<String>(),
            if with_val {
                ",val_accuracy_mean,val_accuracy_sd"
            } else {
                ""
            }
        );
    }
    for c in cells {
        let keys: String = c
            .key
            .iter()
            .map(|(_, v)| format!("{},", csv_field(v)))
            .collect();
        let val = match with_val {
            true => format!(
                ",{},{}",
                opt(c.val_accuracy.map(|p| p.0)),
                opt(c.val_accuracy.map(|p| p.1))
            ),
            false => String::new(),
        };
        let _ = writeln!(
            out,
            "{keys}{},{},{},{},{},{},{},{},{},{}{val}",
            c.runs,
            opt(c.accuracy.map(|p| p.0)),
            opt(c.accuracy.map(|p| p.1)),
            opt(c.sparsity.map(|p| p.0)),
            opt(c.sparsity.map(|p| p.1)),
            opt(c.saturation.map(|p| p.0)),
            opt(c.convergence.map(|p| p.0)),
            c.converged,
            c.diverged,
            c.failed
        );
    }
    out
}

/// One row per run.
pub fn results_csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "run_id,axes,status,test_accuracy,test_loss,best_test_accuracy,train_loss,sparsity,\
         saturation,convergence_step,diverged_step,epochs,steps,wall_s,samples_per_s,backend,\
         config_hash,error",
    );
    // Validation columns last and only when some run has them, so other tables keep their form.
    let with_val = rows.iter().any(|r| r.result.val_accuracy.is_some());
    out.push_str(if with_val {
        ",val_accuracy,val_loss\n"
    } else {
        "\n"
    });
    for row in rows {
        let r = &row.result;
        let val = match with_val {
            true => format!(",{},{}", opt(r.val_accuracy), opt(r.val_loss)),
            false => String::new(),
        };
        let axes: Vec<String> = row.axes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            out,
            "{},{},{:?},{},{},{},{},{},{},{},{},{},{},{:.3},{:.1},{},{},{}{val}",
            csv_field(&r.run_id),
            csv_field(&axes.join(" ")),
            r.status,
            opt(r.test_accuracy),
            opt(r.test_loss),
            opt(r.best_test_accuracy),
            opt(r.train_loss),
            opt(r.sparsity),
            opt(r.saturation),
            r.convergence_step.map_or(String::new(), |s| s.to_string()),
            r.diverged_step.map_or(String::new(), |s| s.to_string()),
            r.epochs,
            r.steps,
            r.wall_s,
            r.samples_per_s,
            r.backend,
            r.config_hash,
            csv_field(r.error.as_deref().unwrap_or(""))
        );
    }
    out.replace(",Finished,", ",finished,")
        .replace(",Diverged,", ",diverged,")
        .replace(",Failed,", ",failed,")
}

/// Writes results.csv, summary.csv and summary.md into `out`; returns the Markdown table.
pub fn write(rows: &[Row], out: &Path) -> Result<String> {
    fs::create_dir_all(out)?;
    let cells = cells(rows);
    let md = markdown(&cells);
    write_atomic(&out.join("results.csv"), results_csv(rows).as_bytes())?;
    write_atomic(&out.join("summary.csv"), summary_csv(&cells).as_bytes())?;
    let doc = format!(
        "# Summary\n\n{} runs. Accuracy, sparsity and saturation are over finished runs \
         (mean and SD across seeds); diverged runs are counted, not averaged.\n\n{md}",
        rows.len()
    );
    write_atomic(&out.join("summary.md"), doc.as_bytes())?;
    // A plot that cannot be drawn must not cost the tables.
    if let Err(e) = crate::plot::draw_all(rows, out) {
        eprintln!("warning: plots not drawn: {e:#}");
    }
    if let Err(e) = crate::plot::draw_activations_over_time(rows, out) {
        eprintln!("warning: activations-over-time not drawn: {e:#}");
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(depth: &str, activation: &str, seed: &str) -> Row {
        let axes: Vec<(String, String)> =
            [("depth", depth), ("activation", activation), ("seed", seed)]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let id = axes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("_");
        Row {
            axes,
            result: ResultRecord {
                test_accuracy: Some(0.5),
                ..crate::record::blank_result(id)
            },
            dir: PathBuf::new(),
        }
    }

    #[test]
    fn numeric_axes_sort_as_numbers_and_others_keep_first_seen_order() {
        // Run-id (string) order, as collect() reads them.
        let mut rows = Vec::new();
        for depth in ["10", "20", "40", "5", "60"] {
            for activation in ["tanh", "relu"] {
                for seed in ["1", "10", "2"] {
                    rows.push(row(depth, activation, seed));
                }
            }
        }
        sort_rows(&mut rows);
        let cells = cells(&rows);
        let keys: Vec<String> = cells
            .iter()
            .map(|c| format!("{}/{}", c.key[0].1, c.key[1].1))
            .collect();
        assert_eq!(
            keys,
            [
                "5/tanh", "5/relu", "10/tanh", "10/relu", "20/tanh", "20/relu", "40/tanh",
                "40/relu", "60/tanh", "60/relu"
            ]
        );
        let seeds: Vec<&str> = rows[..3].iter().map(|r| r.axes[2].1.as_str()).collect();
        assert_eq!(seeds, ["1", "2", "10"]);
        let csv = summary_csv(&cells);
        let depths: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| &l[..l.find(',').unwrap()])
            .collect();
        assert_eq!(
            depths,
            ["5", "5", "10", "10", "20", "20", "40", "40", "60", "60"]
        );
        let md = markdown(&cells);
        assert!(md.find("| 5 | tanh").unwrap() < md.find("| 10 | tanh").unwrap());
    }
}
