//! [`SequentialLR`]: schedulers one after the other.

use super::LrScheduler;

/// Runs `schedulers[0]` until the first milestone, then `schedulers[1]` from its step 0, and so
/// on, as PyTorch's `SequentialLR` (warm-up then decay, typically).
///
/// ```
/// use duograd::optim::lr_scheduler::{ExponentialLR, LinearLR, LrScheduler, SequentialLR};
/// let mut s = SequentialLR::new(
///     vec![Box::new(LinearLR::new(1.0, 0.5, 1.0, 2)), Box::new(ExponentialLR::new(1.0, 0.5))],
///     &[2],
/// );
/// assert_eq!(s.lr(), 0.5);
/// let lrs: Vec<f64> = (0..4).map(|_| s.step()).collect();
/// assert_eq!(lrs, [0.75, 1.0, 0.5, 0.25]);
/// ```
pub struct SequentialLR {
    schedulers: Vec<Box<dyn LrScheduler + Send>>,
    milestones: Vec<usize>,
    steps: usize,
}

impl SequentialLR {
    /// `schedulers[i + 1]` takes over (at its step 0) at step `milestones[i]`.
    ///
    /// # Panics
    /// If there is not one milestone fewer than schedulers, or the milestones decrease.
    #[track_caller]
    pub fn new(schedulers: Vec<Box<dyn LrScheduler + Send>>, milestones: &[usize]) -> Self {
        assert!(
            !schedulers.is_empty() && milestones.len() + 1 == schedulers.len(),
            "SequentialLR: {} schedulers need {} milestones, got {}",
            schedulers.len(),
            schedulers.len().saturating_sub(1),
            milestones.len()
        );
        assert!(
            milestones.windows(2).all(|w| w[0] <= w[1]),
            "SequentialLR: milestones must not decrease, got {milestones:?}"
        );
        let mut s = SequentialLR {
            schedulers,
            milestones: milestones.to_vec(),
            steps: 0,
        };
        s.restart();
        s
    }

    /// The index of the scheduler in charge after `steps` steps.
    fn current(&self) -> usize {
        self.milestones.partition_point(|&m| m <= self.steps)
    }
}

impl LrScheduler for SequentialLR {
    fn lr(&self) -> f64 {
        self.schedulers[self.current()].lr()
    }

    fn step(&mut self) -> f64 {
        self.steps += 1;
        let i = self.current();
        if i > 0 && self.milestones[i - 1] == self.steps {
            self.schedulers[i].restart();
        } else {
            self.schedulers[i].step();
        }
        self.schedulers[i].lr()
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn restart(&mut self) {
        self.steps = 0;
        for s in &mut self.schedulers {
            s.restart();
        }
    }
}
