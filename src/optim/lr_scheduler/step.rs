//! Schedules that multiply the rate by a constant: every `step_size` steps ([`StepLR`]), at
//! given steps ([`MultiStepLR`]), or every step ([`ExponentialLR`]).

use super::{check_rate, LrScheduler};

/// Multiplies the rate by `gamma` every `step_size` steps, as PyTorch's `StepLR`.
///
/// ```
/// use duograd::optim::lr_scheduler::{LrScheduler, StepLR};
/// let mut s = StepLR::new(0.1, 2, 0.5);
/// let lrs: Vec<f64> = (0..5).map(|_| s.step()).collect();
/// assert_eq!(lrs, [0.1, 0.05, 0.05, 0.025, 0.025]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StepLR {
    base_lr: f64,
    step_size: usize,
    gamma: f64,
    lr: f64,
    steps: usize,
}

impl StepLR {
    /// Starts at `base_lr`.
    ///
    /// # Panics
    /// If `step_size` is 0 or a rate is negative or not finite.
    #[track_caller]
    pub fn new(base_lr: f64, step_size: usize, gamma: f64) -> Self {
        check_rate("StepLR", "base_lr", base_lr);
        check_rate("StepLR", "gamma", gamma);
        assert!(step_size > 0, "StepLR: step_size must be positive, got 0");
        StepLR {
            base_lr,
            step_size,
            gamma,
            lr: base_lr,
            steps: 0,
        }
    }
}

impl LrScheduler for StepLR {
    fn lr(&self) -> f64 {
        self.lr
    }

    fn step(&mut self) -> f64 {
        self.steps += 1;
        if self.steps.is_multiple_of(self.step_size) {
            self.lr *= self.gamma;
        }
        self.lr
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn restart(&mut self) {
        (self.lr, self.steps) = (self.base_lr, 0);
    }
}

/// Multiplies the rate by `gamma` at each of the given steps (a step listed twice multiplies
/// twice), as PyTorch's `MultiStepLR`.
///
/// ```
/// use duograd::optim::lr_scheduler::{LrScheduler, MultiStepLR};
/// let mut s = MultiStepLR::new(1.0, &[1, 3], 0.5);
/// let lrs: Vec<f64> = (0..4).map(|_| s.step()).collect();
/// assert_eq!(lrs, [0.5, 0.5, 0.25, 0.25]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MultiStepLR {
    base_lr: f64,
    milestones: Vec<usize>,
    gamma: f64,
    lr: f64,
    steps: usize,
}

impl MultiStepLR {
    /// Starts at `base_lr`.
    ///
    /// # Panics
    /// If a rate is negative or not finite.
    #[track_caller]
    pub fn new(base_lr: f64, milestones: &[usize], gamma: f64) -> Self {
        check_rate("MultiStepLR", "base_lr", base_lr);
        check_rate("MultiStepLR", "gamma", gamma);
        MultiStepLR {
            base_lr,
            milestones: milestones.to_vec(),
            gamma,
            lr: base_lr,
            steps: 0,
        }
    }
}

impl LrScheduler for MultiStepLR {
    fn lr(&self) -> f64 {
        self.lr
    }

    fn step(&mut self) -> f64 {
        self.steps += 1;
        let hits = self.milestones.iter().filter(|&&m| m == self.steps).count();
        if hits > 0 {
            self.lr *= self.gamma.powi(hits as i32);
        }
        self.lr
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn restart(&mut self) {
        (self.lr, self.steps) = (self.base_lr, 0);
    }
}

/// Multiplies the rate by `gamma` at every step, as PyTorch's `ExponentialLR`.
///
/// ```
/// use duograd::optim::lr_scheduler::{ExponentialLR, LrScheduler};
/// let mut s = ExponentialLR::new(1.0, 0.5);
/// s.step();
/// assert_eq!(s.step(), 0.25);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ExponentialLR {
    base_lr: f64,
    gamma: f64,
    lr: f64,
    steps: usize,
}

impl ExponentialLR {
    /// Starts at `base_lr`.
    ///
    /// # Panics
    /// If a rate is negative or not finite.
    #[track_caller]
    pub fn new(base_lr: f64, gamma: f64) -> Self {
        check_rate("ExponentialLR", "base_lr", base_lr);
        check_rate("ExponentialLR", "gamma", gamma);
        ExponentialLR {
            base_lr,
            gamma,
            lr: base_lr,
            steps: 0,
        }
    }
}

impl LrScheduler for ExponentialLR {
    fn lr(&self) -> f64 {
        self.lr
    }

    fn step(&mut self) -> f64 {
        self.steps += 1;
        self.lr *= self.gamma;
        self.lr
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn restart(&mut self) {
        (self.lr, self.steps) = (self.base_lr, 0);
    }
}
