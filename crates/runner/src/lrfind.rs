//! The learning-rate range test (Smith 2015/2017, "Cyclical learning rates for training neural
//! networks"; the exponential variant popularised by fastai's `lr_find`): train a freshly
//! initialised network one batch per rate while the rate grows geometrically from `start` to
//! `end`, record the loss at each rate, and stop once the loss blows up.
//!
//! [`RangeTest`] is the bookkeeping (rates, smoothing, stopping) and [`suggest`] the reading of
//! the curve; both are pure. [`find_lr`] runs the test on a real backend for a run config.

use std::fmt;

use anyhow::{Result, bail};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use gradlab_data::Batcher;
use serde::Serialize;

use crate::backend::Backend;
use crate::config::RunConfig;
use crate::optim;
use crate::train::RunData;

/// Settings of a range test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RangeOptions {
    /// First rate (> 0).
    pub start: f64,
    /// Last rate (> start); reached at step `steps - 1` unless the test stops earlier.
    pub end: f64,
    /// Rates tried (one batch each), at least 2.
    pub steps: usize,
    /// Smoothing factor of the exponential moving average of the loss, in [0, 1).
    pub beta: f64,
    /// Stop when the smoothed loss exceeds this many times its best value (> 1).
    pub stop_factor: f64,
}

impl Default for RangeOptions {
    /// 1e-6 to 10 over 100 batches, beta 0.98, stop at 4× the best loss: fastai's `lr_find`
    /// defaults, except that fastai starts at 1e-7.
    fn default() -> Self {
        RangeOptions {
            start: 1e-6,
            end: 10.0,
            steps: 100,
            beta: 0.98,
            stop_factor: 4.0,
        }
    }
}

impl RangeOptions {
    /// Rejects settings that make no range test, naming the option and the fix.
    pub fn validate(&self) -> Result<()> {
        if !(self.start.is_finite() && self.start > 0.0) {
            bail!(
                "lr-find start = {}: the first rate must be a finite number > 0 (e.g. --start 1e-6)",
                self.start
            );
        }
        if !(self.end.is_finite() && self.end > self.start) {
            bail!(
                "lr-find end = {}: the last rate must be finite and above start = {} (e.g. --end 10)",
                self.end,
                self.start
            );
        }
        if self.steps < 2 {
            bail!(
                "lr-find steps = {}: try at least 2 rates (e.g. --steps 100)",
                self.steps
            );
        }
        if !(0.0..1.0).contains(&self.beta) {
            bail!(
                "lr-find beta = {}: the smoothing factor must be in [0, 1) (e.g. 0.98)",
                self.beta
            );
        }
        if !(self.stop_factor.is_finite() && self.stop_factor > 1.0) {
            bail!(
                "lr-find stop_factor = {}: must be a finite number > 1 (e.g. --stop-factor 4)",
                self.stop_factor
            );
        }
        Ok(())
    }
}

/// Why a range test ended.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum StopReason {
    /// The last rate (`end`) was tried.
    EndRate,
    /// At rate `lr` the smoothed loss exceeded `factor` × its best value.
    Diverged {
        /// The rate of the batch that crossed the line.
        lr: f64,
        /// The stop factor.
        factor: f64,
    },
    /// At rate `lr` the loss was NaN or infinite (that point is not in the curve).
    NonFinite {
        /// The rate of the batch whose loss was not finite.
        lr: f64,
    },
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::EndRate => write!(f, "it reached the end rate"),
            StopReason::Diverged { factor, .. } => {
                write!(f, "the smoothed loss exceeded {factor}x its best")
            }
            StopReason::NonFinite { .. } => write!(f, "the loss was not finite"),
        }
    }
}

/// One tried rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LrPoint {
    /// Batch index (0-based).
    pub step: usize,
    /// The rate of this batch's update; the loss was measured before it.
    pub lr: f64,
    /// The batch loss (always finite).
    pub loss: f64,
    /// Bias-corrected exponential moving average of the losses so far.
    pub smoothed: f64,
}

/// The recorded curve: one point per tried rate with a finite loss.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LrCurve {
    /// Points in the order tried (rates increasing).
    pub points: Vec<LrPoint>,
    /// Why the test ended (`None` while it runs).
    pub stop: Option<StopReason>,
}

impl LrCurve {
    /// `step,lr,loss,smoothed` with a header line; full precision (Rust's shortest round trip).
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("step,lr,loss,smoothed\n");
        for p in &self.points {
            csv.push_str(&format!("{},{},{},{}\n", p.step, p.lr, p.loss, p.smoothed));
        }
        csv
    }

    /// "stopped at lr X because …", or `None` while the test runs.
    pub fn stop_text(&self) -> Option<String> {
        let stop = self.stop?;
        let lr = match stop {
            StopReason::Diverged { lr, .. } | StopReason::NonFinite { lr } => lr,
            StopReason::EndRate => self.points.last()?.lr,
        };
        Some(format!("stopped at lr {} because {stop}", short(lr)))
    }
}

/// The state of a running range test: feed it one loss per rate with [`RangeTest::observe`].
#[derive(Clone, Debug)]
pub struct RangeTest {
    options: RangeOptions,
    curve: LrCurve,
    /// Observations so far (finite or not).
    seen: usize,
    /// Uncorrected moving average.
    average: f64,
    best: f64,
}

impl RangeTest {
    /// A test with validated `options`.
    pub fn new(options: RangeOptions) -> Result<RangeTest> {
        options.validate()?;
        Ok(RangeTest {
            options,
            curve: LrCurve::default(),
            seen: 0,
            average: 0.0,
            best: f64::INFINITY,
        })
    }

    /// The rate of step `i`: `start · (end/start)^(i/(steps-1))`, exactly `end` at the last step.
    pub fn lr(&self, i: usize) -> f64 {
        let o = &self.options;
        if i + 1 == o.steps {
            return o.end;
        }
        o.start * (o.end / o.start).powf(i as f64 / (o.steps - 1) as f64)
    }

    /// The rate of the next batch, or `None` once the test has stopped.
    pub fn next_lr(&self) -> Option<f64> {
        self.curve.stop.is_none().then(|| self.lr(self.seen))
    }

    /// Records the loss measured at rate [`next_lr`](RangeTest::next_lr); returns why the test
    /// stops, if it does (after that, it returns the same reason and records nothing).
    pub fn observe(&mut self, loss: f64) -> Option<StopReason> {
        if self.curve.stop.is_some() {
            return self.curve.stop;
        }
        let i = self.seen;
        let lr = self.lr(i);
        self.seen += 1;
        if !loss.is_finite() {
            self.curve.stop = Some(StopReason::NonFinite { lr });
            return self.curve.stop;
        }
        // Exponential moving average with Adam-style bias correction (the average starts at 0,
        // so early values are divided by 1 - beta^(n)); n counts the finite losses averaged.
        let beta = self.options.beta;
        let n = self.curve.points.len() as i32 + 1;
        self.average = beta * self.average + (1.0 - beta) * loss;
        let smoothed = self.average / (1.0 - beta.powi(n));
        self.curve.points.push(LrPoint {
            step: i,
            lr,
            loss,
            smoothed,
        });
        let factor = self.options.stop_factor;
        if i > 0 && smoothed > factor * self.best {
            self.curve.stop = Some(StopReason::Diverged { lr, factor });
        } else if i + 1 == self.options.steps {
            self.curve.stop = Some(StopReason::EndRate);
        }
        self.best = self.best.min(smoothed);
        self.curve.stop
    }

    /// The curve so far.
    pub fn curve(&self) -> &LrCurve {
        &self.curve
    }
}

/// A suggested rate and the readings behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestion {
    /// The suggested rate: at the steepest descent, or min/10 when the loss never fell.
    pub lr: f64,
    /// Rate of the steepest descent of the smoothed loss before its minimum (`None`: it never fell).
    pub steepest_lr: Option<f64>,
    /// That slope: change of the smoothed loss per decade of rate (negative).
    pub steepest_slope: Option<f64>,
    /// Rate of the minimum smoothed loss.
    pub min_lr: f64,
    /// The minimum smoothed loss.
    pub min_loss: f64,
    /// `min_lr / 10`, the common rule of thumb.
    pub min_lr_over_10: f64,
    /// Why, in words (everything after "suggested lr X: ").
    pub reason: String,
}

impl fmt::Display for Suggestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "suggested lr {}: {}", short(self.lr), self.reason)
    }
}

/// Points skipped at the start of the steepest-descent search: the debiased average there
/// rests on a handful of batches, so its wiggles read as steep slopes (fastai's plot skips as
/// many).
const SKIP_START: usize = 10;

/// Half-width, in decades of rate, of the window over which a slope is measured. A central
/// difference between neighbouring points (0.02 decades apart at 300 steps) turns batch noise of
/// 0.01 in the smoothed loss into a slope of 0.5 per decade; over ±0.1 decade the same noise
/// reads as 0.05 while a real descent keeps its slope.
const SLOPE_HALF_WINDOW: f64 = 0.1;

/// Reads a curve: the rate of the steepest descent of the smoothed loss (most negative slope
/// against log10 lr over ±[`SLOPE_HALF_WINDOW`] decades, on the part of the curve up to the
/// minimum and after its first [`SKIP_START`] points, as in fastai's `lr_find`), plus the rate
/// of the minimum and min/10. `None` below 2 points.
pub fn suggest(curve: &LrCurve) -> Option<Suggestion> {
    let p = &curve.points;
    if p.len() < 2 {
        return None;
    }
    let min = (0..p.len()).fold(0, |m, i| if p[i].smoothed < p[m].smoothed { i } else { m });
    let (min_lr, min_loss) = (p[min].lr, p[min].smoothed);
    let stop = curve
        .stop_text()
        .map_or(String::new(), |s| format!("; {s}"));
    let rule = format!("min/10 = {}", short(min_lr / 10.0));
    let steepest = (min > 0).then(|| {
        let x = |i: usize| p[i].lr.log10();
        // Rates are geometric, so one spacing holds for the whole curve.
        let spacing = (x(p.len() - 1) - x(0)) / (p.len() - 1) as f64;
        let half = ((SLOPE_HALF_WINDOW / spacing).ceil() as usize).max(1);
        // Differences over [i - half, i + half], cut to [0, min] at the ends.
        let slope = |i: usize| {
            let (a, b) = (i.saturating_sub(half), (i + half).min(min));
            (p[b].smoothed - p[a].smoothed) / (x(b) - x(a))
        };
        let first = if min > SKIP_START { SKIP_START } else { 0 };
        (first..=min)
            .map(|i| (i, slope(i)))
            .fold((first, f64::INFINITY), |m, s| if s.1 < m.1 { s } else { m })
    });
    let (lr, reason) = match steepest {
        Some((i, slope)) => (
            p[i].lr,
            format!(
                "steepest descent of the smoothed loss (slope {slope:.2} per decade); minimum \
                 at {}, {rule}{stop}",
                short(min_lr)
            ),
        ),
        None => (
            min_lr / 10.0,
            format!(
                "the smoothed loss never fell below its value at the first rate {} ({rule}); \
                 rerun with a smaller --start{stop}",
                short(min_lr)
            ),
        ),
    };
    Some(Suggestion {
        lr,
        steepest_lr: steepest.map(|(i, _)| p[i].lr),
        steepest_slope: steepest.map(|(_, s)| s),
        min_lr,
        min_loss,
        min_lr_over_10: min_lr / 10.0,
        reason,
    })
}

/// A rate with two significant digits: `0.12`, `4.5`, `12`, `1.2e-5`.
pub fn short(x: f64) -> String {
    if !(x.is_finite() && x > 0.0) {
        return x.to_string();
    }
    // The exponent after rounding to two digits, so 0.0099999 prints as 0.010, not 0.0100.
    let scientific = format!("{x:.1e}");
    let exponent: i32 = scientific
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    if (-3..3).contains(&exponent) {
        let decimals = (1 - exponent).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        scientific
    }
}

/// A finished range test: the options, the curve and what it suggests.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LrFind {
    /// The settings used.
    pub options: RangeOptions,
    /// The recorded curve and why it ended.
    pub curve: LrCurve,
    /// The suggested rate (`None` when fewer than 2 finite losses were recorded).
    pub suggestion: Option<Suggestion>,
}

/// Runs the range test for `config` on `data.train` with `backend`: a fresh network from
/// `config.train.seed`, the config's optimiser (`optim::build`: momentum, Nesterov, weight
/// decay, Adam's moments, …), its batch size and shuffling; `train.lr`, `schedule` and `warmup`
/// are replaced by the test's rates. Cycles through epochs when `steps` exceeds one epoch.
pub fn find_lr(
    config: &RunConfig,
    data: &RunData,
    backend: Backend,
    options: &RangeOptions,
) -> Result<LrFind> {
    let mut test = RangeTest::new(*options)?;
    let t = &config.train;
    let device = backend.device()?.autodiff();
    let mut net = config.architecture().init(t.seed, &device);
    let mut opt = optim::build(t);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let batcher = Batcher::new(
        &data.train,
        t.batch_size,
        config.data.normalization,
        &device,
    )
    .shuffle(Some(t.seed));
    if batcher.num_batches() == 0 {
        bail!("lr-find: the training set is empty; check data.train_size and the data files");
    }
    // Epochs numbered from 1 as in `train::train`, so the first batches are the same ones.
    let mut epoch = 1;
    'epochs: loop {
        for (images, labels) in batcher.epoch(epoch) {
            let Some(lr) = test.next_lr() else {
                break 'epochs;
            };
            let loss = loss_fn.forward(net.forward(images), labels);
            let grads = loss.backward();
            if test.observe(loss.into_scalar::<f32>() as f64).is_some() {
                break 'epochs;
            }
            let grads = GradientsParams::from_grads(grads, &net);
            net = opt.step(lr, net, grads);
        }
        epoch += 1;
    }
    let curve = test.curve().clone();
    let suggestion = suggest(&curve);
    Ok(LrFind {
        options: *options,
        curve,
        suggestion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(steps: usize) -> RangeOptions {
        RangeOptions {
            steps,
            ..RangeOptions::default()
        }
    }

    #[test]
    fn rates_are_geometric_from_start_to_exactly_end() {
        let test = RangeTest::new(options(8)).unwrap();
        assert_eq!(test.lr(0), 1e-6);
        assert_eq!(test.lr(7), 10.0);
        let ratio = 1e7f64.powf(1.0 / 7.0);
        for i in 0..7 {
            let r = test.lr(i + 1) / test.lr(i);
            assert!((r - ratio).abs() < 1e-9 * ratio, "step {i}: ratio {r}");
        }
    }

    #[test]
    fn stops_at_the_end_rate_after_exactly_steps_observations() {
        let mut test = RangeTest::new(options(5)).unwrap();
        for i in 0..4 {
            assert_eq!(test.next_lr(), Some(test.lr(i)));
            assert_eq!(test.observe(1.0), None, "step {i}");
        }
        assert_eq!(test.observe(1.0), Some(StopReason::EndRate));
        assert_eq!(test.next_lr(), None);
        assert_eq!(
            test.observe(1.0),
            Some(StopReason::EndRate),
            "stays stopped"
        );
        let curve = test.curve();
        assert_eq!(curve.points.len(), 5);
        assert_eq!(curve.points[4].lr, 10.0);
        // Bias correction: a constant loss is its own smoothed value from the first step on.
        assert!(
            curve
                .points
                .iter()
                .all(|p| (p.smoothed - 1.0).abs() < 1e-12)
        );
    }

    #[test]
    fn stops_on_a_nan_or_infinite_loss_without_recording_it() {
        for bad in [f64::NAN, f64::INFINITY] {
            let mut test = RangeTest::new(options(100)).unwrap();
            assert_eq!(test.observe(2.0), None);
            assert_eq!(test.observe(1.9), None);
            let lr = test.lr(2);
            assert_eq!(test.observe(bad), Some(StopReason::NonFinite { lr }));
            assert_eq!(test.curve().points.len(), 2);
            assert!(test.curve().stop_text().unwrap().contains("not finite"));
        }
    }

    #[test]
    fn stops_when_the_smoothed_loss_exceeds_the_factor_times_its_best() {
        let o = options(1000);
        let mut test = RangeTest::new(o).unwrap();
        let losses: Vec<f64> = (0..1000).map(|i| if i < 20 { 1.0 } else { 50.0 }).collect();
        // The same formula written out: avg_i = beta avg + (1-beta) loss, / (1 - beta^(i+1)).
        let (mut avg, mut best, mut expected) = (0.0, f64::INFINITY, None);
        for (i, &l) in losses.iter().enumerate() {
            avg = o.beta * avg + (1.0 - o.beta) * l;
            let smoothed = avg / (1.0 - o.beta.powi(i as i32 + 1));
            if smoothed > o.stop_factor * best {
                expected = Some(i);
                break;
            }
            best = best.min(smoothed);
        }
        let stop_at = expected.expect("the jump diverges");
        assert!(stop_at > 20, "smoothing delays the stop: {stop_at}");
        for (i, &l) in losses.iter().enumerate() {
            match test.observe(l) {
                None => assert!(i < stop_at),
                Some(reason) => {
                    assert_eq!(i, stop_at);
                    let lr = test.lr(i);
                    assert_eq!(reason, StopReason::Diverged { lr, factor: 4.0 });
                    break;
                }
            }
        }
        let points = &test.curve().points;
        assert_eq!(points.len(), stop_at + 1, "the crossing point is recorded");
        assert!(points[stop_at].smoothed > 4.0 && points[stop_at - 1].smoothed <= 4.0);
        assert!(
            test.curve()
                .stop_text()
                .unwrap()
                .contains("exceeded 4x its best")
        );
    }

    /// Loss against x = log10(lr): falls like -tanh around x = -2 (slope -1 per decade there,
    /// the steepest), then rises exponentially; its minimum lies in (-0.5, 0).
    fn u_shaped(lr: f64) -> f64 {
        let x = lr.log10();
        2.0 - (x + 2.0).tanh() + 0.3 * (2.0 * (x - 0.5)).exp()
    }

    #[test]
    fn suggestion_on_a_known_curve_is_its_steepest_descent() {
        // beta = 0: the smoothed curve is the curve itself, so the answer is known exactly.
        let o = RangeOptions {
            start: 1e-5,
            end: 10.0,
            steps: 121,
            beta: 0.0,
            stop_factor: 4.0,
        };
        let mut test = RangeTest::new(o).unwrap();
        while let Some(lr) = test.next_lr() {
            test.observe(u_shaped(lr));
        }
        let s = suggest(test.curve()).unwrap();
        // Rates are 0.05 decades apart: the steepest point is within one of x = -2.
        assert!(
            (10f64.powf(-2.06)..10f64.powf(-1.94)).contains(&s.lr),
            "{s:?}"
        );
        let slope = s.steepest_slope.unwrap();
        assert!((slope + 1.0).abs() < 0.05, "slope {slope}");
        assert!((10f64.powf(-0.5)..1.0).contains(&s.min_lr), "{s:?}");
        assert_eq!(s.min_lr_over_10, s.min_lr / 10.0);
        let text = s.to_string();
        assert!(
            text.starts_with("suggested lr 0.010: steepest descent"),
            "{text}"
        );
        assert!(text.contains("min/10 = "), "{text}");
        assert!(text.contains("stopped at lr"), "{text}");
    }

    #[test]
    fn default_smoothing_lags_but_stays_between_the_true_steepest_point_and_the_minimum() {
        let mut test = RangeTest::new(RangeOptions::default()).unwrap();
        while let Some(lr) = test.next_lr() {
            test.observe(u_shaped(lr));
        }
        let s = suggest(test.curve()).unwrap();
        assert!(s.lr >= 10f64.powf(-2.1) && s.lr < s.min_lr, "{s:?}");
    }

    #[test]
    fn batch_noise_at_the_start_does_not_pass_for_the_steepest_descent() {
        // A flat loss with ±0.05 batch noise until 1e-3, then the known curve: the slopes that
        // noise makes between neighbouring points are steeper than the real descent's.
        let o = RangeOptions {
            steps: 313,
            ..RangeOptions::default()
        };
        let mut test = RangeTest::new(o).unwrap();
        let mut i = 0;
        while let Some(lr) = test.next_lr() {
            let noise = if i % 2 == 0 { 0.05 } else { -0.05 };
            test.observe(u_shaped(lr) + noise);
            i += 1;
        }
        let s = suggest(test.curve()).unwrap();
        assert!(s.lr >= 10f64.powf(-2.3) && s.lr < s.min_lr, "{s:?}");
    }

    #[test]
    fn a_loss_that_never_falls_suggests_min_over_10_and_says_so() {
        let mut test = RangeTest::new(options(10)).unwrap();
        for i in 0..10 {
            test.observe(1.0 + i as f64 * 0.01);
        }
        let s = suggest(test.curve()).unwrap();
        assert_eq!((s.lr, s.steepest_lr), (1e-7, None));
        assert!(s.reason.contains("smaller --start"), "{}", s.reason);
        assert_eq!(suggest(&LrCurve::default()), None);
    }

    #[test]
    fn bad_options_are_rejected_naming_the_option_and_a_fix() {
        let cases = [
            (
                RangeOptions {
                    start: 0.0,
                    ..RangeOptions::default()
                },
                "start = 0",
                "--start 1e-6",
            ),
            (
                RangeOptions {
                    end: 1e-7,
                    ..RangeOptions::default()
                },
                "end = ",
                "--end 10",
            ),
            (options(1), "steps = 1", "--steps 100"),
            (
                RangeOptions {
                    beta: 1.0,
                    ..RangeOptions::default()
                },
                "beta = 1",
                "[0, 1)",
            ),
            (
                RangeOptions {
                    stop_factor: 1.0,
                    ..RangeOptions::default()
                },
                "stop_factor = 1",
                "--stop-factor 4",
            ),
        ];
        for (o, field, fix) in cases {
            let err = RangeTest::new(o).unwrap_err().to_string();
            assert!(err.contains(field) && err.contains(fix), "{err}");
        }
    }

    #[test]
    fn csv_has_a_header_and_one_row_per_point_and_rates_print_short() {
        let mut test = RangeTest::new(options(3)).unwrap();
        test.observe(2.5);
        let csv = test.curve().to_csv();
        assert_eq!(csv, "step,lr,loss,smoothed\n0,0.000001,2.5,2.5\n");
        assert_eq!(short(0.1234), "0.12");
        assert_eq!(short(4.51), "4.5");
        assert_eq!(short(12.3), "12");
        assert_eq!(short(1.23e-5), "1.2e-5");
    }
}
