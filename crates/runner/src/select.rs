//! `gradlab report --select-by validation`: one learning rate per group of the other grid axes,
//! chosen by validation accuracy, and the test error at that rate. This is Glorot & Bengio's
//! (2010) protocol for their Table 1: every rate is chosen on a validation set (MNIST's last
//! 10,000 training images, `data.validation`), and only the test error at the chosen rate is
//! reported, so the test set never picks a hyperparameter.
//!
//! Groups come from [`report::cells`](crate::report::cells) (the grid cells aggregated over
//! seeds); this module only regroups them by every axis but `lr`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Result, bail};
use clap::ValueEnum;

use crate::record::write_atomic;
use crate::report::{Cell, Row, cells, csv_field};

/// `(axis, value)` pairs naming one group of runs.
type AxisValues = Vec<(String, String)>;

/// How `report` picks one learning rate per group of the other axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SelectBy {
    /// The highest mean validation accuracy over seeds (runs need `data.validation`).
    Validation,
}

/// The rate chosen for one group of the other axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// Axis values other than `lr` and `seed`.
    pub key: Vec<(String, String)>,
    /// The chosen learning rate, as the grid spells it.
    pub lr: String,
    /// Rates the group was trained at.
    pub rates: usize,
    /// Mean and SD over seeds of the final validation accuracy at the chosen rate.
    pub val_accuracy: (f64, f64),
    /// Mean and SD over seeds of the final test error in percent at the chosen rate.
    pub test_error: Option<(f64, f64)>,
    /// Finished (not diverged, not failed) runs at the chosen rate.
    pub finished: usize,
    /// All runs at the chosen rate.
    pub runs: usize,
}

/// Per group of the axes other than `lr` (and `seed`), the rate with the highest mean
/// validation accuracy. A rate at which some seed diverged or failed is chosen only when every
/// rate of the group had such a seed; ties go to the first rate in the table's order (the
/// smallest).
pub fn by_validation(cells: &[Cell]) -> Result<Vec<Choice>> {
    if cells.iter().all(|c| c.val_accuracy.is_none()) {
        bail!(
            "--select-by validation: no finished run has a validation accuracy; set \
             data.validation = N in the config (e.g. 10000) and rerun the sweep"
        );
    }
    if !cells.iter().any(|c| c.key.iter().any(|(k, _)| k == "lr")) {
        bail!(
            "--select-by validation: the runs have no `lr` grid axis, so there is no rate to \
             choose; sweep a grid such as [grid] lr = [0.01, 0.03, 0.1]"
        );
    }
    // (the axes other than lr, the cells of every rate tried there)
    let mut groups: Vec<(AxisValues, Vec<&Cell>)> = Vec::new();
    for cell in cells {
        let key: Vec<_> = cell
            .key
            .iter()
            .filter(|(k, _)| k != "lr")
            .cloned()
            .collect();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(cell),
            None => groups.push((key, vec![cell])),
        }
    }
    let clean = |c: &Cell| c.diverged == 0 && c.failed == 0;
    let mut choices = Vec::new();
    for (key, members) in groups {
        let any_clean = members.iter().any(|c| clean(c) && c.val_accuracy.is_some());
        let mut best: Option<(&Cell, (f64, f64))> = None;
        for &cell in &members {
            let Some(val) = cell.val_accuracy else {
                continue;
            };
            if any_clean && !clean(cell) {
                continue;
            }
            if best.is_none_or(|(_, b)| val.0 > b.0) {
                best = Some((cell, val));
            }
        }
        // A group whose every run diverged has nothing to choose from.
        let Some((cell, val_accuracy)) = best else {
            continue;
        };
        let lr = cell
            .key
            .iter()
            .find(|(k, _)| k == "lr")
            .map_or(String::new(), |(_, v)| v.clone());
        choices.push(Choice {
            key,
            lr,
            rates: members.len(),
            val_accuracy,
            test_error: cell.accuracy.map(|(m, s)| (100.0 * (1.0 - m), 100.0 * s)),
            finished: cell.runs - cell.diverged - cell.failed,
            runs: cell.runs,
        });
    }
    Ok(choices)
}

/// The choices as Markdown.
pub fn markdown(choices: &[Choice]) -> String {
    let Some(first) = choices.first() else {
        return "No group has a finished run with a validation accuracy.\n".into();
    };
    let mut header: Vec<String> = first.key.iter().map(|(k, _)| k.clone()).collect();
    header.extend(
        [
            "chosen lr",
            "rates tried",
            "val acc mean",
            "val acc SD",
            "test error % (mean ± SD)",
            "n (finished/runs)",
        ]
        .map(String::from),
    );
    let mut out = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for c in choices {
        let mut cols: Vec<String> = c.key.iter().map(|(_, v)| v.clone()).collect();
        let error = c
            .test_error
            .map_or("-".into(), |(m, s)| format!("{m:.2} ± {s:.2}"));
        cols.extend([
            c.lr.clone(),
            c.rates.to_string(),
            format!("{:.4}", c.val_accuracy.0),
            format!("{:.4}", c.val_accuracy.1),
            error,
            format!("{}/{}", c.finished, c.runs),
        ]);
        let _ = writeln!(out, "| {} |", cols.join(" | "));
    }
    out
}

/// The choices as CSV.
pub fn csv(choices: &[Choice]) -> String {
    let mut out = String::new();
    let Some(first) = choices.first() else {
        return out;
    };
    for (k, _) in &first.key {
        let _ = write!(out, "{k},");
    }
    out.push_str(
        "lr,rates,val_accuracy_mean,val_accuracy_sd,test_error_pct_mean,test_error_pct_sd,\
         finished,runs\n",
    );
    for c in choices {
        for (_, v) in &c.key {
            let _ = write!(out, "{},", csv_field(v));
        }
        let (em, es) = c
            .test_error
            .map_or((String::new(), String::new()), |(m, s)| {
                (m.to_string(), s.to_string())
            });
        let _ = writeln!(
            out,
            "{},{},{},{},{em},{es},{},{}",
            csv_field(&c.lr),
            c.rates,
            c.val_accuracy.0,
            c.val_accuracy.1,
            c.finished,
            c.runs
        );
    }
    out
}

/// Writes `selection.md` and `selection.csv` into `out`; returns the Markdown table.
pub fn write(rows: &[Row], by: SelectBy, out: &Path) -> Result<String> {
    let SelectBy::Validation = by;
    let choices = by_validation(&cells(rows))?;
    let md = markdown(&choices);
    fs::create_dir_all(out)?;
    write_atomic(&out.join("selection.csv"), csv(&choices).as_bytes())?;
    let doc = format!(
        "# Learning rate chosen by validation accuracy\n\n\
         Per group of the other axes, the rate with the highest mean final validation accuracy \
         over seeds (rates where a seed diverged only when every rate had one); test error at \
         that rate, mean ± SD over its finished seeds. {} runs.\n\n{md}",
        rows.len()
    );
    write_atomic(&out.join("selection.md"), doc.as_bytes())?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::record::{ResultRecord, Status};
    use crate::report::sort_rows;

    fn row(activation: &str, lr: &str, seed: &str, val: f64, test: f64, status: Status) -> Row {
        let axes: Vec<(String, String)> = [("activation", activation), ("lr", lr), ("seed", seed)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let finished = status == Status::Finished;
        Row {
            result: ResultRecord {
                status,
                test_accuracy: finished.then_some(test),
                val_accuracy: finished.then_some(val),
                ..crate::record::blank_result(format!(
                    "activation={activation}_lr={lr}_seed={seed}"
                ))
            },
            axes,
            dir: PathBuf::new(),
        }
    }

    #[test]
    fn picks_the_rate_with_the_best_mean_validation_accuracy_and_reports_its_test_error() {
        use Status::{Diverged, Finished};
        let mut rows = vec![
            // tanh: 0.03 has the best validation accuracy; 0.1 the best *test* accuracy, which
            // must not matter.
            row("tanh", "0.01", "1", 0.970, 0.970, Finished),
            row("tanh", "0.01", "2", 0.972, 0.971, Finished),
            row("tanh", "0.03", "1", 0.981, 0.980, Finished),
            row("tanh", "0.03", "2", 0.983, 0.982, Finished),
            row("tanh", "0.1", "1", 0.975, 0.990, Finished),
            row("tanh", "0.1", "2", 0.977, 0.990, Finished),
            // sigmoid: 0.1 is best on validation but one seed diverged, so 0.03 is chosen.
            row("sigmoid", "0.01", "1", 0.950, 0.950, Finished),
            row("sigmoid", "0.03", "1", 0.960, 0.958, Finished),
            row("sigmoid", "0.1", "1", 0.990, 0.990, Finished),
            row("sigmoid", "0.1", "2", 0.0, 0.0, Diverged),
        ];
        sort_rows(&mut rows);
        let choices = by_validation(&cells(&rows)).unwrap();
        assert_eq!(choices.len(), 2);
        let tanh = &choices[0];
        assert_eq!(tanh.key, vec![("activation".into(), "tanh".into())]);
        assert_eq!((tanh.lr.as_str(), tanh.rates), ("0.03", 3));
        assert!((tanh.val_accuracy.0 - 0.982).abs() < 1e-12);
        let (error, sd) = tanh.test_error.unwrap();
        assert!((error - 1.9).abs() < 1e-9, "{error}");
        assert!((sd - 100.0 * 0.002_f64 / 2f64.sqrt()).abs() < 1e-9, "{sd}");
        assert_eq!((tanh.finished, tanh.runs), (2, 2));
        let sigmoid = &choices[1];
        assert_eq!(sigmoid.lr, "0.03");

        let md = markdown(&choices);
        assert!(md.contains("| tanh | 0.03 | 3 | 0.9820 |"), "{md}");
        assert!(md.contains("1.90 ± 0.14"), "{md}");
        assert_eq!(csv(&choices).lines().count(), 3);
    }

    #[test]
    fn csv_quotes_values_that_hold_commas() {
        let choice = Choice {
            key: vec![("policy".into(), "derivative:cap=10,every=50".into())],
            lr: "0.1".into(),
            rates: 2,
            val_accuracy: (0.9, 0.01),
            test_error: Some((10.0, 1.0)),
            finished: 5,
            runs: 5,
        };
        let text = csv(&[choice]);
        let row = text.lines().nth(1).unwrap();
        assert!(
            row.starts_with("\"derivative:cap=10,every=50\",0.1,2,"),
            "{row}"
        );
    }

    #[test]
    fn runs_without_validation_or_without_an_lr_axis_are_refused_with_the_fix() {
        let mut no_val = row("tanh", "0.1", "1", 0.9, 0.9, Status::Finished);
        no_val.result.val_accuracy = None;
        let err = by_validation(&cells(&[no_val])).unwrap_err().to_string();
        assert!(err.contains("data.validation"), "{err}");

        let mut no_lr = row("tanh", "0.1", "1", 0.9, 0.9, Status::Finished);
        no_lr.axes.retain(|(k, _)| k != "lr");
        let err = by_validation(&cells(&[no_lr])).unwrap_err().to_string();
        assert!(err.contains("lr"), "{err}");
    }
}
