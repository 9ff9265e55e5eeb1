//! The optimizer updates over host slices: the CPU backends' kernels for
//! [`Backend::sgd_momentum_step`](duograd_backend::Backend::sgd_momentum_step) and
//! [`Backend::adam_step`](duograd_backend::Backend::adam_step). Each performs, per element and in
//! the same order and precision, the operations of the composed default in
//! [`duograd_backend::composed`], so it gives the same bits, in one pass over the buffers
//! instead of one per operation.

use std::sync::{Mutex, PoisonError};

use duograd_backend::{AdamStep, Element, MomentumStep};

use crate::simd::with_best_simd;
use crate::threads::{self, pool};

/// One SGD-with-momentum step over a parameter `p`, its momentum buffer `b` and its gradient
/// `g`, in place.
///
/// ```
/// use duograd_backend::MomentumStep;
/// let step = MomentumStep { lr: 0.5, momentum: 0.9, dampening: 0.0, weight_decay: 0.0, nesterov: false, maximize: false };
/// let (mut p, mut b) = ([1.0f64], [1.0]);
/// duograd_cpu::optim::sgd_momentum(&mut p, &mut b, &[2.0], &step);
/// assert_eq!((p, b), ([1.0 - 0.5 * 2.9], [2.9]));
/// ```
///
/// # Panics
/// If the slices differ in length.
pub fn sgd_momentum<E: Element>(p: &mut [E], b: &mut [E], g: &[E], step: &MomentumStep) {
    let n = p.len();
    assert!(
        b.len() == n && g.len() == n,
        "SGD: a parameter ({n} values), its momentum buffer ({}) and its gradient ({}) differ \
         in length",
        b.len(),
        g.len()
    );
    let (s, d, wd, lr) = (step.sign(), step.dampening, step.weight_decay, step.lr);
    let e = E::of;
    let kb = [e(step.momentum), e((1.0 - d) * s), e((1.0 - d) * wd)];
    let kp = if step.nesterov {
        [e(1.0 - lr * wd), e(-lr * s), e(-lr * step.momentum)]
    } else {
        [e(-lr), E::zero(), E::zero()]
    };
    // One loop per setting, so that no branch is left inside it and it vectorizes.
    match (wd != 0.0, step.nesterov) {
        (false, false) => momentum_loop::<_, false, false>(p, b, g, kb, kp),
        (true, false) => momentum_loop::<_, true, false>(p, b, g, kb, kp),
        (false, true) => momentum_loop::<_, false, true>(p, b, g, kb, kp),
        (true, true) => momentum_loop::<_, true, true>(p, b, g, kb, kp),
    }
}

/// [`sgd_momentum`]'s loop, each line one of the composed step's operations (`x + a·y` as
/// `axpy_in_place` computes it, `x·c` as a `MulScalar`).
fn momentum_loop<E: Element, const DECAY: bool, const NESTEROV: bool>(
    p: &mut [E],
    b: &mut [E],
    g: &[E],
    [momentum, a_g, a_p]: [E; 3],
    [k0, k1, k2]: [E; 3],
) {
    let n = p.len();
    let (p, b, g) = (&mut p[..n], &mut b[..n], &g[..n]);
    for i in 0..n {
        b[i] *= momentum;
        b[i] += a_g * g[i];
        if DECAY {
            b[i] += a_p * p[i];
        }
        if NESTEROV {
            if DECAY {
                p[i] *= k0;
            }
            p[i] += k1 * g[i];
            p[i] += k2 * b[i];
        } else {
            p[i] += k0 * b[i];
        }
    }
}

/// Values of a parameter from which its update is shared out over threads (fewer are not
/// worth the hand-off).
const PARALLEL_MIN: usize = 1 << 14;

/// The most values per share of a parallel update.
const SHARE: usize = 1 << 14;

/// One Adam step over a parameter `p`, its moments `m` and `v` and its gradient `g`, in place.
/// Parameters of `PARALLEL_MIN` values or more are updated in shares on the worker pool
/// ([`crate::threads`]): each value's update is independent of the others', so the result is
/// the same.
///
/// ```
/// use duograd_backend::AdamStep;
/// let step = AdamStep { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0,
///     maximize: false, bias_correction1: 0.1, bias_correction2: 0.001 };
/// let (mut p, mut m, mut v) = ([1.0f64], [0.0], [0.0]);
/// duograd_cpu::optim::adam(&mut p, &mut m, &mut v, &[2.0], &step);
/// assert!((p[0] - 0.9).abs() < 1e-6); // the first step moves by lr
/// ```
///
/// # Panics
/// If the slices differ in length.
pub fn adam<E: Element>(p: &mut [E], m: &mut [E], v: &mut [E], g: &[E], step: &AdamStep) {
    let n = p.len();
    assert!(
        m.len() == n && v.len() == n && g.len() == n,
        "Adam: a parameter ({n} values), its moments ({}, {}) and its gradient ({}) differ in \
         length",
        m.len(),
        v.len(),
        g.len()
    );
    let e = E::of;
    let k = AdamConstants {
        sign: e(step.sign()),
        wd: e(step.weight_decay),
        b1: e(step.beta1),
        one_minus_b1: e(1.0 - step.beta1),
        b2: e(step.beta2),
        one_minus_b2: e(1.0 - step.beta2),
        inv_sqrt_bc2: e(1.0 / step.bias_correction2.sqrt()),
        eps: e(step.eps),
        step: e(-step.lr / step.bias_correction1),
    };
    // One loop per setting, so that no branch is left inside it and it vectorizes.
    match (step.maximize, step.weight_decay != 0.0) {
        (false, false) => k.apply::<false, false>(p, m, v, g),
        (false, true) => k.apply::<false, true>(p, m, v, g),
        (true, false) => k.apply::<true, false>(p, m, v, g),
        (true, true) => k.apply::<true, true>(p, m, v, g),
    }
}

/// The per-element constants of [`adam`], by value.
#[derive(Clone, Copy)]
struct AdamConstants<E> {
    sign: E,
    wd: E,
    b1: E,
    one_minus_b1: E,
    b2: E,
    one_minus_b2: E,
    inv_sqrt_bc2: E,
    eps: E,
    step: E,
}

impl<E: Element> AdamConstants<E> {
    /// The update over equal-length slices, in shares on the worker pool when large.
    fn apply<const NEGATE: bool, const DECAY: bool>(
        self,
        p: &mut [E],
        m: &mut [E],
        v: &mut [E],
        g: &[E],
    ) {
        let threads = threads::num_threads();
        if p.len() < PARALLEL_MIN || threads == 1 {
            return self.apply_share::<NEGATE, DECAY>((p, m, v, g));
        }
        // As many shares as fit SHARE, rounded up to a multiple of the threads so that each
        // thread gets the same amount of work.
        let count = p.len().div_ceil(SHARE).next_multiple_of(threads);
        let share = p.len().div_ceil(count);
        let shares: Vec<_> = p
            .chunks_mut(share)
            .zip(m.chunks_mut(share))
            .zip(v.chunks_mut(share))
            .zip(g.chunks(share))
            .map(|(((p, m), v), g)| Mutex::new((p, m, v, g)))
            .collect();
        pool::run(shares.len(), threads, &|i| {
            let mut share = shares[i].lock().unwrap_or_else(PoisonError::into_inner);
            let (p, m, v, g) = &mut *share;
            self.apply_share::<NEGATE, DECAY>((p, m, v, g));
        });
    }

    /// [`AdamConstants::apply`] on one thread. The constants are locals and the slices are
    /// indexed up to a length checked once, so that the loop vectorizes, in the CPU's widest
    /// registers (a square root and a division per element: their throughput per instruction
    /// hardly depends on the width).
    #[inline]
    fn apply_share<const NEGATE: bool, const DECAY: bool>(
        self,
        (p, m, v, g): (&mut [E], &mut [E], &mut [E], &[E]),
    ) {
        let n = p.len();
        let (p, m, v, g) = (&mut p[..n], &mut m[..n], &mut v[..n], &g[..n]);
        with_best_simd(
            #[inline(always)]
            || {
                for i in 0..n {
                    let mut gi = if NEGATE { g[i] * self.sign } else { g[i] };
                    if DECAY {
                        gi += self.wd * p[i];
                    }
                    m[i] = m[i] * self.b1 + self.one_minus_b1 * gi;
                    v[i] = v[i] * self.b2 + self.one_minus_b2 * (gi * gi);
                    let denom = num_traits::Float::sqrt(v[i]) * self.inv_sqrt_bc2 + self.eps;
                    p[i] += self.step * (m[i] / denom);
                }
            },
        );
    }
}
