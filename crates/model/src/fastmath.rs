//! Branch-free f32 `exp`, sigmoid and tanh over slices, written so that the compiler vectorises
//! them (AVX-512 or AVX2 chosen at run time through `pulp`), and split across threads.
//!
//! Why: Burn's CPU backends evaluate sigmoid and tanh one element at a time through the C
//! library's `expf` on one thread, and its autodiff evaluates the sigmoid a second time in the
//! backward pass. In a 784-1000×5-10 sigmoid MLP that was 40 % of a training step (see
//! docs/PERFORMANCE.md). The polynomials are those of Cephes' `expf` and `tanhf` (S. Moshier,
//! Cephes Math Library, 1984–1992): `exp` to within 2 ulp over its whole range, tanh to within
//! 3 ulp; the tests in `tests/fastmath.rs` check both against the C library on a dense grid.

use rayon::prelude::*;

/// Elements per task: small enough to spread a 64×1000 activation over two threads, large
/// enough that rayon's scheduling costs well under 1 % of the work.
const CHUNK: usize = 16 * 1024;

/// Below this many elements one thread does everything: spawning costs more than it saves.
const PARALLEL_MIN: usize = 2 * CHUNK;

// exp(x) = 2^n · e^r with n = round(x / ln 2) and |r| ≤ ln 2 / 2; ln 2 is split in two so that
// n · ln 2 is exact in f32 for every n that does not overflow (Cody & Waite 1980).
const LOG2_E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Largest x with a finite f32 e^x, and the smallest with a normal one.
const EXP_MAX: f32 = 88.722_83;
const EXP_MIN: f32 = -87.336_55;
/// Cephes `expf`: e^r ≈ 1 + r + r²·P(r) on [−ln 2 / 2, ln 2 / 2].
const EXP_P: [f32; 6] = [
    1.987_569_2e-4,
    1.398_2e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5,
];
/// Cephes `tanhf` for |x| < 0.625: tanh x ≈ x + x³·Q(x²).
const TANH_Q: [f32; 5] = [
    -5.704_988_7e-3,
    2.063_909e-2,
    -5.373_971_6e-2,
    1.333_144_2e-1,
    -3.333_328e-1,
];
const TANH_SMALL: f32 = 0.625;

/// `e^x` in f32, without branches: inputs above [`EXP_MAX`] give `+inf`, below [`EXP_MIN`]
/// give 0 (subnormal results are flushed), NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let clamped = x.clamp(EXP_MIN, EXP_MAX);
    // floor(·+½) rather than round(): it maps to one vector instruction.
    let n = (clamped * LOG2_E + 0.5).floor();
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let p = EXP_P.iter().fold(0.0f32, |acc, &c| acc * r + c);
    let er = p * r * r + r + 1.0;
    // 2^n by building the exponent field; n is in [−126, 128] after the clamp.
    let n = n as i32;
    // 2^n as two factors, so n = 128 (e^88.7 ≈ 2^128 · 0.5…) does not overflow the field.
    let half = n / 2;
    let scale_a = f32::from_bits(((half + 127) as u32) << 23);
    let scale_b = f32::from_bits(((n - half + 127) as u32) << 23);
    let y = er * scale_a * scale_b;
    let y = if x > EXP_MAX { f32::INFINITY } else { y };
    let y = if x < EXP_MIN { 0.0 } else { y };
    if x.is_nan() { x } else { y }
}

/// Logistic sigmoid `1 / (1 + e^{-x})`: no cancellation anywhere, so relative accuracy follows
/// [`exp`]'s; saturates to exactly 0 below x ≈ −88.7 (true values there are subnormal) and to 1 above
/// x ≈ 17.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Hyperbolic tangent: the Cephes polynomial for |x| < 0.625, else `1 − 2 / (e^{2|x|} + 1)`
/// with the sign of x (no cancellation there, since tanh(0.625) > 0.55).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let q = TANH_Q.iter().fold(0.0f32, |acc, &c| acc * z + c);
    // copysign keeps tanh(−0) = −0, which the sum alone rounds to +0.
    let small = (q * z * x + x).copysign(x);
    let large = (1.0 - 2.0 / (exp(2.0 * a) + 1.0)).copysign(x);
    if a < TANH_SMALL { small } else { large }
}

/// Applies `f` to every element of `data` in place, vectorised for the CPU it runs on and split
/// over rayon's threads for large slices.
fn map_in_place(data: &mut [f32], f: impl Fn(f32) -> f32 + Send + Sync + Copy) {
    let run = move |chunk: &mut [f32]| {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            move || {
                for v in chunk.iter_mut() {
                    *v = f(*v);
                }
            },
        )
    };
    if data.len() < PARALLEL_MIN {
        run(data);
    } else {
        data.par_chunks_mut(CHUNK).for_each(run);
    }
}

/// `out[i] = f(out[i], other[i])` in place, vectorised and threaded like [`map_in_place`].
fn zip_in_place(out: &mut [f32], other: &[f32], f: impl Fn(f32, f32) -> f32 + Send + Sync + Copy) {
    assert_eq!(out.len(), other.len(), "zip_in_place: lengths differ");
    let run = move |(chunk, other): (&mut [f32], &[f32])| {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            move || {
                for (v, &o) in chunk.iter_mut().zip(other) {
                    *v = f(*v, o);
                }
            },
        )
    };
    if out.len() < PARALLEL_MIN {
        run((out, other));
    } else {
        out.par_chunks_mut(CHUNK)
            .zip(other.par_chunks(CHUNK))
            .for_each(run);
    }
}

/// Sigmoid of every element, in place.
pub fn sigmoid_in_place(data: &mut [f32]) {
    map_in_place(data, sigmoid);
}

/// Tanh of every element, in place.
pub fn tanh_in_place(data: &mut [f32]) {
    map_in_place(data, tanh);
}

/// The sigmoid's backward pass from its output `s`: `grad ← grad · s (1 − s)`, in place.
pub fn sigmoid_backward_in_place(grad: &mut [f32], s: &[f32]) {
    zip_in_place(grad, s, |g, s| g * (s * (1.0 - s)));
}

/// Tanh's backward pass from its output `t`: `grad ← grad · (1 − t²)`, in place.
pub fn tanh_backward_in_place(grad: &mut [f32], t: &[f32]) {
    zip_in_place(grad, t, |g, t| g * (1.0 - t * t));
}
