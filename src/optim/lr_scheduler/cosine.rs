//! [`CosineAnnealingLR`]: a half cosine from the base rate down to a floor.

use std::f64::consts::PI;

use super::{check_rate, LinearLR, LrScheduler, SequentialLR};

/// The rate follows a cosine from `base_lr` at step 0 to `eta_min` at step `t_max`, and on
/// (back up over the next `t_max` steps, and so on), as PyTorch's `CosineAnnealingLR`: the
/// closed form is `eta_min + (base_lr − eta_min)·(1 + cos(π·t/t_max))/2`, computed with
/// PyTorch's recursive form so the rates are its own to the last bits.
///
/// [`CosineAnnealingLR::with_warmup`] puts a linear warm-up in front.
///
/// ```
/// use duograd::optim::lr_scheduler::{CosineAnnealingLR, LrScheduler};
/// let mut s = CosineAnnealingLR::new(1.0, 4, 0.0);
/// let lrs: Vec<f64> = (0..4).map(|_| s.step()).collect();
/// let want = [0.8535533905932737, 0.5, 0.14644660940672627, 0.0];
/// assert!(lrs.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CosineAnnealingLR {
    base_lr: f64,
    t_max: usize,
    eta_min: f64,
    lr: f64,
    steps: usize,
}

impl CosineAnnealingLR {
    /// Starts at `base_lr`, reaches `eta_min` after `t_max` steps.
    ///
    /// # Panics
    /// If `t_max` is 0 or a rate is negative or not finite.
    #[track_caller]
    pub fn new(base_lr: f64, t_max: usize, eta_min: f64) -> Self {
        check_rate("CosineAnnealingLR", "base_lr", base_lr);
        check_rate("CosineAnnealingLR", "eta_min", eta_min);
        assert!(
            t_max > 0,
            "CosineAnnealingLR: t_max must be positive, got 0"
        );
        CosineAnnealingLR {
            base_lr,
            t_max,
            eta_min,
            lr: base_lr,
            steps: 0,
        }
    }

    /// This schedule after `warmup_steps` steps of [`LinearLR`] warm-up from
    /// `base_lr · start_factor` to `base_lr`, as PyTorch's
    /// `SequentialLR([LinearLR(start_factor, 1.0, warmup_steps), this], [warmup_steps])`:
    /// the cosine starts (at its step 0) when the warm-up ends.
    ///
    /// # Panics
    /// If `start_factor` is not in `(0, 1]`.
    #[track_caller]
    pub fn with_warmup(self, warmup_steps: usize, start_factor: f64) -> SequentialLR {
        let warmup = LinearLR::new(self.base_lr, start_factor, 1.0, warmup_steps);
        SequentialLR::new(vec![Box::new(warmup), Box::new(self)], &[warmup_steps])
    }
}

impl LrScheduler for CosineAnnealingLR {
    fn lr(&self) -> f64 {
        self.lr
    }

    fn step(&mut self) -> f64 {
        self.steps += 1;
        let (t, t_max) = (self.steps as f64, self.t_max as f64);
        let span = self.base_lr - self.eta_min;
        let past_minimum =
            (self.steps as i64 - 1 - self.t_max as i64).rem_euclid(2 * self.t_max as i64);
        self.lr = if past_minimum == 0 {
            self.lr + span * (1.0 - (PI / t_max).cos()) / 2.0
        } else {
            (1.0 + (PI * t / t_max).cos()) / (1.0 + (PI * (t - 1.0) / t_max).cos())
                * (self.lr - self.eta_min)
                + self.eta_min
        };
        self.lr
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn restart(&mut self) {
        (self.lr, self.steps) = (self.base_lr, 0);
    }
}
