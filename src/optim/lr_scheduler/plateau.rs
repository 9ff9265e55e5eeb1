//! [`ReduceLROnPlateau`]: lower the rate when a metric stops improving.

use super::super::Optimizer;
use super::check_rate;
use crate::backend::Backend;

/// Whether a lower or a higher metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower is better (a loss).
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How much better a metric must be to count as an improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Better than the best by a fraction `threshold` of it.
    Rel,
    /// Better than the best by `threshold`.
    Abs,
}

/// Multiplies the rate by `factor` when the metric has not improved for more than `patience`
/// steps, as PyTorch's `ReduceLROnPlateau`: after a reduction it waits `cooldown` steps before
/// counting again, never goes below `min_lr`, and skips reductions smaller than `eps`.
/// Defaults (PyTorch's): [`PlateauMode::Min`], `factor = 0.1`, `patience = 10`,
/// `threshold = 1e-4` [`ThresholdMode::Rel`], `cooldown = 0`, `min_lr = 0`, `eps = 1e-8`.
/// A NaN metric never counts as an improvement.
///
/// ```
/// use duograd::optim::lr_scheduler::ReduceLROnPlateau;
/// let mut s = ReduceLROnPlateau::new(1.0).patience(1).factor(0.5);
/// for loss in [3.0, 2.0, 2.0, 2.0] {
///     s.step(loss);
/// }
/// assert_eq!(s.lr(), 0.5); // two steps without improvement
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceLROnPlateau {
    mode: PlateauMode,
    factor: f64,
    patience: usize,
    threshold: f64,
    threshold_mode: ThresholdMode,
    cooldown: usize,
    min_lr: f64,
    eps: f64,
    lr: f64,
    best: f64,
    bad_steps: usize,
    cooldown_left: usize,
    steps: usize,
}

impl ReduceLROnPlateau {
    /// Starts at `lr`, with PyTorch's defaults.
    ///
    /// # Panics
    /// If `lr` is negative or not finite.
    #[track_caller]
    pub fn new(lr: f64) -> Self {
        check_rate("ReduceLROnPlateau", "lr", lr);
        ReduceLROnPlateau {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
            lr,
            best: f64::INFINITY,
            bad_steps: 0,
            cooldown_left: 0,
            steps: 0,
        }
    }

    /// Whether lower or higher is better (resets the best value seen).
    pub fn mode(self, mode: PlateauMode) -> Self {
        let best = match mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        };
        ReduceLROnPlateau { mode, best, ..self }
    }

    /// The factor of a reduction.
    ///
    /// # Panics
    /// If it is not below 1 (PyTorch's limit) or is negative.
    #[track_caller]
    pub fn factor(self, factor: f64) -> Self {
        assert!(
            (0.0..1.0).contains(&factor),
            "ReduceLROnPlateau: factor must be in [0, 1), got {factor}"
        );
        ReduceLROnPlateau { factor, ..self }
    }

    /// Steps without improvement tolerated before a reduction.
    pub fn patience(self, patience: usize) -> Self {
        ReduceLROnPlateau { patience, ..self }
    }

    /// What counts as an improvement.
    pub fn threshold(self, threshold: f64, threshold_mode: ThresholdMode) -> Self {
        ReduceLROnPlateau {
            threshold,
            threshold_mode,
            ..self
        }
    }

    /// Steps to wait after a reduction before counting steps without improvement again.
    pub fn cooldown(self, cooldown: usize) -> Self {
        ReduceLROnPlateau { cooldown, ..self }
    }

    /// The lowest rate.
    pub fn min_lr(self, min_lr: f64) -> Self {
        ReduceLROnPlateau { min_lr, ..self }
    }

    /// Reductions smaller than this are skipped.
    pub fn eps(self, eps: f64) -> Self {
        ReduceLROnPlateau { eps, ..self }
    }

    /// The current rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// The number of steps taken.
    pub fn steps_taken(&self) -> usize {
        self.steps
    }

    fn is_better(&self, metric: f64) -> bool {
        let (best, t) = (self.best, self.threshold);
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => metric < best * (1.0 - t),
            (PlateauMode::Min, ThresholdMode::Abs) => metric < best - t,
            (PlateauMode::Max, ThresholdMode::Rel) => metric > best * (t + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => metric > best + t,
        }
    }

    /// Records this step's `metric` (PyTorch's `scheduler.step(metric)`) and returns the rate.
    pub fn step(&mut self, metric: f64) -> f64 {
        self.steps += 1;
        if self.is_better(metric) {
            self.best = metric;
            self.bad_steps = 0;
        } else {
            self.bad_steps += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_steps = 0;
        }
        if self.bad_steps > self.patience {
            let lowered = (self.lr * self.factor).max(self.min_lr);
            if self.lr - lowered > self.eps {
                self.lr = lowered;
            }
            self.cooldown_left = self.cooldown;
            self.bad_steps = 0;
        }
        self.lr
    }

    /// [`ReduceLROnPlateau::step`], then sets `optimizer`'s rate to the new one.
    pub fn step_optimizer<B: Backend, O: Optimizer<B> + ?Sized>(
        &mut self,
        metric: f64,
        optimizer: &mut O,
    ) {
        let lr = self.step(metric);
        optimizer.set_lr(lr);
    }
}
