//! Plots for `report` (plotters), each as SVG and PNG:
//!
//! - `accuracy-vs-lr`: final test accuracy against learning rate, one line per series (the grid
//!   axes other than `lr` and `seed`), mean with ±1 SD error bars over seeds;
//! - `grad-first-steps-SERIES`: per-layer gradient norm over the first logged steps (first
//!   run of each series), log scale;
//! - `grad-vs-depth`: gradient norm per layer at initialisation, one line per series;
//! - `activations-over-time` (runs with `log.stats_every`): per hidden layer, mean activation
//!   ±1 SD against updates (Glorot & Bengio 2010, Fig. 2);
//! - `lr-find` (written by `gradlab lr-find`): loss and smoothed loss against the learning rate;
//! - `spectra` (written by `gradlab spectra`): each layer's eigenvalues of WᵀW against rank.
//!
//! Text layout needs a TrueType font: DejaVu Sans (Debian's `fonts-dejavu-core`) or the file
//! in `GRADLAB_FONT`. Without one, `report` writes the tables and warns that plots were skipped.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::lrfind::{LrFind, LrPoint, short};
use crate::record::{EpochRecord, StatsRecord, StepRecord, read_jsonl};
use crate::report::{Row, mean_sd};

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Registers a font for chart text once; false when none is found.
fn font() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let env = std::env::var("GRADLAB_FONT").ok();
        let bytes = env
            .iter()
            .map(String::as_str)
            .chain(FONT_PATHS)
            .find_map(|p| std::fs::read(p).ok());
        match bytes {
            // Registered fonts must live for the whole program.
            Some(b) => plotters::style::register_font(
                "sans-serif",
                FontStyle::Normal,
                Box::leak(b.into_boxed_slice()),
            )
            .is_ok(),
            None => false,
        }
    })
}

/// Test accuracies of one series, per learning rate, in first-seen order.
type AccuracyByLr = Vec<(f64, Vec<f64>)>;

/// One line: a label and (x, y, error) points.
struct Series {
    label: String,
    points: Vec<(f64, f64, f64)>,
}

fn series_label(row: &Row, skip: &[&str]) -> String {
    let parts: Vec<String> = row
        .axes
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if parts.is_empty() {
        "all".into()
    } else {
        parts.join(" ")
    }
}

/// Both backends measure text with the registered font to lay out the axes: no font, no plot.
fn require_font() -> Result<()> {
    if !font() {
        anyhow::bail!(
            "no TrueType font found ({} or $GRADLAB_FONT); install fonts-dejavu-core",
            FONT_PATHS[0]
        );
    }
    Ok(())
}

/// Which axes of a chart are logarithmic.
#[derive(Clone, Copy)]
struct Axes {
    log_x: bool,
    log_y: bool,
}

impl Axes {
    const LINEAR: Axes = Axes {
        log_x: false,
        log_y: false,
    };
    const LOG_Y: Axes = Axes {
        log_x: false,
        log_y: true,
    };
    const LOG_LOG: Axes = Axes {
        log_x: true,
        log_y: true,
    };
}

/// Draws every plot into `out`; returns the files written.
pub fn draw_all(rows: &[Row], out: &Path) -> Result<Vec<PathBuf>> {
    require_font()?;
    let mut files = Vec::new();
    // Series in the rows' order (report::sort_rows: numeric axes numerically), not by label
    // string, so the legend reads depth 5, 10, 20 rather than 10, 20, 5.
    let mut by_series: Vec<(String, AccuracyByLr)> = Vec::new();
    for row in rows {
        let Some(lr) = row
            .axes
            .iter()
            .find(|(k, _)| k == "lr")
            .and_then(|(_, v)| v.parse::<f64>().ok())
        else {
            continue;
        };
        let label = series_label(row, &["lr", "seed"]);
        let cells = match by_series.iter().position(|(l, _)| *l == label) {
            Some(i) => &mut by_series[i].1,
            None => {
                by_series.push((label, Vec::new()));
                &mut by_series.last_mut().expect("just pushed").1
            }
        };
        let acc = match cells.iter().position(|(x, _)| *x == lr) {
            Some(i) => &mut cells[i],
            None => {
                cells.push((lr, Vec::new()));
                cells.last_mut().expect("just pushed")
            }
        };
        if let Some(a) = row.result.test_accuracy {
            acc.1.push(a);
        }
    }
    let acc_series: Vec<Series> = by_series
        .into_iter()
        .map(|(label, mut cells)| {
            // A line joins its points in x order whatever order the runs came in.
            cells.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                label,
                points: cells
                    .into_iter()
                    .filter_map(|(lr, v)| mean_sd(&v).map(|(m, s)| (lr, m, s)))
                    .collect(),
            }
        })
        .collect();
    if acc_series.iter().any(|s| !s.points.is_empty()) {
        files.extend(chart(
            out,
            "accuracy-vs-lr",
            "Test accuracy vs learning rate (mean ± SD over seeds)",
            "learning rate",
            "test accuracy",
            &acc_series,
            Axes::LINEAR,
        )?);
    }

    let mut first_of: Vec<(String, &Row)> = Vec::new();
    for row in rows {
        let label = series_label(row, &["seed", "lr"]);
        if !first_of.iter().any(|(l, _)| *l == label) {
            first_of.push((label, row));
        }
    }
    let mut depth_series = Vec::new();
    for (label, row) in &first_of {
        let steps: Vec<StepRecord> = read_jsonl(&row.dir.join("steps.jsonl")).unwrap_or_default();
        let first: Vec<&StepRecord> = steps.iter().take_while(|s| s.step < 15).collect();
        let layers = first.first().map_or(0, |s| s.grad_norms.len());
        let lines: Vec<Series> = (0..layers)
            .map(|l| Series {
                label: if l + 1 == layers {
                    "output".into()
                } else {
                    format!("hidden{}", l + 1)
                },
                points: first
                    .iter()
                    .map(|s| (s.step as f64, s.grad_norms[l], 0.0))
                    .collect(),
            })
            .collect();
        if !lines.is_empty() {
            let name = format!(
                "grad-first-steps-{}",
                label.replace([' ', '=', ':', ','], "_")
            );
            let title = format!(
                "Gradient norm per layer, first steps ({label}, {})",
                row.result.run_id
            );
            files.extend(chart(
                out,
                &name,
                &title,
                "step",
                "gradient norm",
                &lines,
                Axes::LOG_Y,
            )?);
        }
        let epochs: Vec<EpochRecord> =
            read_jsonl(&row.dir.join("epochs.jsonl")).unwrap_or_default();
        if let Some(init) = epochs.first() {
            let points = init
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| ((i + 1) as f64, l.grad_norm, 0.0))
                .collect();
            depth_series.push(Series {
                label: label.clone(),
                points,
            });
        }
    }
    if !depth_series.is_empty() {
        files.extend(chart(
            out,
            "grad-vs-depth",
            "Gradient norm by layer at initialisation",
            "layer (1 = input side; last = output)",
            "gradient norm",
            &depth_series,
            Axes::LOG_Y,
        )?);
    }
    Ok(files)
}

/// `lr-find.{svg,png}` in `out`: the batch loss and the smoothed loss against the rate (both
/// axes logarithmic, as the loss spikes by orders of magnitude at the end), with the suggested
/// rate as a vertical line.
pub fn draw_lr_find(found: &LrFind, out: &Path) -> Result<Vec<PathBuf>> {
    require_font()?;
    let points = &found.curve.points;
    let line = |label: &str, value: fn(&LrPoint) -> f64| Series {
        label: label.into(),
        points: points.iter().map(|p| (p.lr, value(p), 0.0)).collect(),
    };
    let mut series = vec![
        line("loss", |p| p.loss),
        line("smoothed loss", |p| p.smoothed),
    ];
    let losses = points
        .iter()
        .flat_map(|p| [p.loss, p.smoothed])
        .filter(|v| *v > 0.0);
    let (low, high) = losses.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if let Some(s) = found.suggestion.as_ref().filter(|_| low <= high) {
        series.push(Series {
            label: format!("suggested lr {}", short(s.lr)),
            points: vec![(s.lr, low, 0.0), (s.lr, high, 0.0)],
        });
    }
    chart(
        out,
        "lr-find",
        "Learning-rate range test: loss vs learning rate",
        "learning rate (log scale)",
        "loss (log scale)",
        &series,
        Axes::LOG_LOG,
    )
}

/// `activations-over-time.{svg,png}` for a run with a `stats.jsonl` (`log.stats_every`): per
/// hidden layer, the mean activation on the statistics batch against the number of updates,
/// with ±1 SD bars, as in Glorot & Bengio (2010), Fig. 2. With several such runs, one chart
/// each, named `activations-over-time-RUN_ID`. Nothing (and no font needed) without one.
pub fn draw_activations_over_time(rows: &[Row], out: &Path) -> Result<Vec<PathBuf>> {
    let with_stats: Vec<&Row> = rows
        .iter()
        .filter(|row| row.dir.join("stats.jsonl").exists())
        .collect();
    if with_stats.is_empty() {
        return Ok(Vec::new());
    }
    require_font()?;
    let mut files = Vec::new();
    for row in &with_stats {
        let stats: Vec<StatsRecord> = read_jsonl(&row.dir.join("stats.jsonl"))?;
        // Hidden layers only: the output layer has no activation statistics.
        let names: Vec<String> = stats.first().map_or(Vec::new(), |s| {
            let hidden = s.layers.iter().filter(|l| l.act_mean.is_some());
            hidden.map(|l| l.name.clone()).collect()
        });
        let series: Vec<Series> = names
            .iter()
            .map(|name| Series {
                label: name.clone(),
                points: stats
                    .iter()
                    .filter_map(|s| {
                        let layer = s.layers.iter().find(|l| l.name == *name)?;
                        let (mean, sd) = (layer.act_mean?, layer.act_std?);
                        Some((s.step as f64, mean, sd))
                    })
                    .collect(),
            })
            .collect();
        let name = match with_stats.len() {
            1 => "activations-over-time".to_string(),
            _ => format!("activations-over-time-{}", row.result.run_id),
        };
        let title = format!(
            "Activation mean ± SD per hidden layer ({})",
            row.result.run_id
        );
        files.extend(chart(
            out,
            &name,
            &title,
            "updates (mini-batches)",
            "activation value (mean ± SD, stats batch)",
            &series,
            Axes::LINEAR,
        )?);
    }
    Ok(files)
}

/// `NAME.{svg,png}` in `out` for `gradlab spectra`: each layer's eigenvalues of WᵀW against
/// their rank, both axes logarithmic (a power-law tail `p(λ) ∝ λ^{-α}` is a straight line of
/// slope −1/(α−1)); `layers` holds (legend label, eigenvalues largest first). Zero eigenvalues
/// are left out.
pub fn draw_spectra(layers: &[(String, Vec<f64>)], out: &Path, name: &str) -> Result<Vec<PathBuf>> {
    require_font()?;
    let series: Vec<Series> = layers
        .iter()
        .map(|(label, eigenvalues)| Series {
            label: label.clone(),
            points: (eigenvalues.iter().enumerate())
                .filter(|(_, l)| **l > 0.0)
                .map(|(rank, l)| ((rank + 1) as f64, *l, 0.0))
                .collect(),
        })
        .collect();
    chart(
        out,
        name,
        "Spectrum of WᵀW per layer: eigenvalue vs rank",
        "rank (1 = largest; log scale)",
        "eigenvalue λ (log scale)",
        &series,
        Axes::LOG_LOG,
    )
}

/// Draws one chart as SVG and PNG.
fn chart(
    out: &Path,
    name: &str,
    title: &str,
    x: &str,
    y: &str,
    series: &[Series],
    axes: Axes,
) -> Result<Vec<PathBuf>> {
    let svg = out.join(format!("{name}.svg"));
    draw(
        SVGBackend::new(&svg, (900, 600)).into_drawing_area(),
        title,
        x,
        y,
        series,
        axes,
    )?;
    let mut files = vec![svg];
    {
        let png = out.join(format!("{name}.png"));
        draw(
            BitMapBackend::new(&png, (900, 600)).into_drawing_area(),
            title,
            x,
            y,
            series,
            axes,
        )?;
        files.push(png);
    }
    Ok(files)
}

fn draw<DB: DrawingBackend>(
    area: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x: &str,
    y: &str,
    series: &[Series],
    axes: Axes,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing {title}: {e:?}");
    area.fill(&WHITE).map_err(err)?;
    let all: Vec<&(f64, f64, f64)> = series
        .iter()
        .flat_map(|s| &s.points)
        .filter(|p| p.1.is_finite() && (p.0 > 0.0 || !axes.log_x))
        .collect();
    let (mut x0, mut x1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (mut y0, mut y1) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), p| {
        (a.min(p.1 - p.2), b.max(p.1 + p.2))
    });
    if all.is_empty() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if axes.log_x && all.is_empty() {
        (x0, x1) = (1.0, 10.0);
    }
    if x1 <= x0 {
        x1 = if axes.log_x { x0 * 10.0 } else { x0 + 1.0 };
    }
    // 5 % of the span on each side: of the span in decades on a log axis.
    let (x0, x1) = if axes.log_x {
        let pad = (x1 / x0).powf(0.05);
        (x0 / pad, x1 * pad)
    } else {
        let pad = (x1 - x0) * 0.05;
        (x0 - pad, x1 + pad)
    };
    let mut builder = ChartBuilder::on(&area);
    builder
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70);
    let x_log = (x0..x1).log_scale();
    if axes.log_y {
        let y0 = all
            .iter()
            .map(|p| p.1)
            .filter(|v| *v > 0.0)
            .fold(f64::MAX, f64::min)
            .min(1.0)
            * 0.5;
        let y1 = y1.max(y0 * 4.0) * 2.0;
        let y_log = (y0..y1).log_scale();
        match axes.log_x {
            true => draw_lines(
                builder.build_cartesian_2d(x_log, y_log).map_err(err)?,
                (x, y),
                series,
            ),
            false => draw_lines(
                builder.build_cartesian_2d(x0..x1, y_log).map_err(err)?,
                (x, y),
                series,
            ),
        }
        .map_err(err)?;
    } else {
        let span = (y1 - y0).max(1e-3);
        let y_lin = (y0 - 0.05 * span)..(y1 + 0.05 * span);
        match axes.log_x {
            true => draw_lines(
                builder.build_cartesian_2d(x_log, y_lin).map_err(err)?,
                (x, y),
                series,
            ),
            false => draw_lines(
                builder.build_cartesian_2d(x0..x1, y_lin).map_err(err)?,
                (x, y),
                series,
            ),
        }
        .map_err(err)?;
    }
    area.present().map_err(err)?;
    Ok(())
}

/// Grid with axis names, one line per series, legend: the same on linear or log axes.
fn draw_lines<'a, DB, X, Y>(
    mut chart: ChartContext<'a, DB, Cartesian2d<X, Y>>,
    (x, y): (&str, &str),
    series: &[Series],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>
        + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>
        + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x)
        .y_desc(y)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .draw()?;
    lines(&mut chart, series)?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
}

/// An axis label: up to 4 significant digits without trailing zeros between 0.001 and 10⁵
/// (`0.5`, `0.001`, `5000`), one digit in scientific notation outside (`1e-6`), `0` below
/// 1e-14. Plotters' own labels print log-axis ticks such as 1e-5 as `9.999999999999999e-6`.
fn tick(v: &f64) -> String {
    let v = *v;
    // Plotters computes a linear axis's 0 tick as a sum of steps, e.g. -1e-16: that is 0.
    if v.abs() < 1e-14 || !v.is_finite() {
        return if v.is_finite() {
            "0".into()
        } else {
            format!("{v}")
        };
    }
    let magnitude = v.abs().log10().floor();
    if !(-3.0..5.0).contains(&magnitude) {
        return format!("{v:.0e}");
    }
    let decimals = (3.0 - magnitude).max(0.0) as usize;
    let text = format!("{v:.decimals$}");
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

fn lines<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    series: &[Series],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|p| (p.0, p.1))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        let bars = s.points.iter().filter(|p| p.2 > 0.0 && p.1.is_finite());
        chart.draw_series(bars.map(|p| {
            PathElement::new(
                vec![(p.0, p.1 - p.2), (p.0, p.1 + p.2)],
                color.stroke_width(1),
            )
        }))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn ticks_are_short_on_log_and_linear_axes() {
        assert_eq!(tick(&9.999999999999999e-6), "1e-5");
        assert_eq!(tick(&1e-6), "1e-6");
        assert_eq!(tick(&0.001), "0.001");
        assert_eq!(tick(&0.5), "0.5");
        assert_eq!(tick(&0.30000000000000004), "0.3");
        assert_eq!(tick(&1.0), "1");
        assert_eq!(tick(&2500.0), "2500");
        assert_eq!(tick(&0.0), "0");
        assert_eq!(tick(&-1.1102230246251565e-16), "0");
        assert_eq!(tick(&1e-12), "1e-12");
        assert_eq!(tick(&-0.25), "-0.25");
        assert_eq!(tick(&1e6), "1e6");
    }
}
