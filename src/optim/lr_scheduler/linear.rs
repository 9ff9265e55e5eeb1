//! [`LinearLR`]: a linear ramp of the rate's factor (the usual warm-up).

use super::{check_rate, LrScheduler};

/// Scales the base rate by a factor that goes linearly from `start_factor` to `end_factor`
/// over `total_iters` steps and stays there, as PyTorch's `LinearLR` (with its recursive
/// form, so the rates are PyTorch's to the last bits).
///
/// ```
/// use duograd::optim::lr_scheduler::{LinearLR, LrScheduler};
/// let mut s = LinearLR::new(0.1, 0.5, 1.0, 2);
/// assert_eq!(s.lr(), 0.05);
/// s.step();
/// assert!((s.lr() - 0.075).abs() < 1e-15);
/// s.step();
/// assert!((s.lr() - 0.1).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LinearLR {
    base_lr: f64,
    start_factor: f64,
    end_factor: f64,
    total_iters: usize,
    lr: f64,
    steps: usize,
}

impl LinearLR {
    /// Starts at `base_lr · start_factor`.
    ///
    /// # Panics
    /// If `start_factor` is not in `(0, 1]` or `end_factor` not in `[0, 1]` (PyTorch's
    /// limits), or `base_lr` is negative or not finite.
    #[track_caller]
    pub fn new(base_lr: f64, start_factor: f64, end_factor: f64, total_iters: usize) -> Self {
        check_rate("LinearLR", "base_lr", base_lr);
        assert!(
            start_factor > 0.0 && start_factor <= 1.0,
            "LinearLR: start_factor must be in (0, 1], got {start_factor}"
        );
        assert!(
            (0.0..=1.0).contains(&end_factor),
            "LinearLR: end_factor must be in [0, 1], got {end_factor}"
        );
        LinearLR {
            base_lr,
            start_factor,
            end_factor,
            total_iters,
            lr: base_lr * start_factor,
            steps: 0,
        }
    }
}

impl LrScheduler for LinearLR {
    fn lr(&self) -> f64 {
        self.lr
    }

    fn step(&mut self) -> f64 {
        self.steps += 1;
        if self.steps <= self.total_iters {
            let slope = self.end_factor - self.start_factor;
            let at = self.total_iters as f64 * self.start_factor + (self.steps - 1) as f64 * slope;
            self.lr *= 1.0 + slope / at;
        }
        self.lr
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn restart(&mut self) {
        (self.lr, self.steps) = (self.base_lr * self.start_factor, 0);
    }
}
