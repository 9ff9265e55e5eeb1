//! [`OneCycleLR`]: the 1cycle policy (a warm-up to a peak, then an annealing far below the
//! start).

use std::f64::consts::PI;

use super::{check_rate, LrScheduler};

/// How [`OneCycleLR`] moves between two rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anneal {
    /// Half a cosine (PyTorch's `anneal_strategy='cos'`, the default).
    Cos,
    /// A straight line (`anneal_strategy='linear'`).
    Linear,
}

impl Anneal {
    fn at(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            Anneal::Cos => end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0),
            Anneal::Linear => (end - start) * pct + start,
        }
    }
}

/// The 1cycle policy (Smith & Topin), as PyTorch's `OneCycleLR` with `cycle_momentum=False`:
/// from `max_lr / div_factor` up to `max_lr` over the first `pct_start` of `total_steps`, then
/// down to `max_lr / div_factor / final_div_factor` at step `total_steps − 1`. With
/// `three_phase`, the rate first comes back down to its start symmetrically, and only the last
/// phase goes below it. Defaults: `pct_start = 0.3`, [`Anneal::Cos`], `div_factor = 25`,
/// `final_div_factor = 1e4`.
///
/// Momentum is not cycled (duograd's optimizers change only their rate through a scheduler):
/// the rates equal PyTorch's with `cycle_momentum=False`. As in PyTorch, stepping past
/// `total_steps` is an error (a panic naming both counts); the step at `total_steps` itself
/// continues the last phase's curve.
///
/// ```
/// use duograd::optim::lr_scheduler::{LrScheduler, OneCycleLR};
/// let mut s = OneCycleLR::new(0.1, 100);
/// assert!((s.lr() - 0.004).abs() < 1e-12); // max_lr / 25
/// let peak = (0..29).map(|_| s.step()).last().unwrap();
/// assert!((peak - 0.1).abs() < 1e-12); // at step 0.3·100 − 1
/// let last = (29..99).map(|_| s.step()).last().unwrap();
/// assert!((last - 0.004 / 1e4).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OneCycleLR {
    max_lr: f64,
    total_steps: usize,
    pct_start: f64,
    anneal: Anneal,
    div_factor: f64,
    final_div_factor: f64,
    three_phase: bool,
    steps: usize,
}

impl OneCycleLR {
    /// A cycle of `total_steps` steps peaking at `max_lr`, with the defaults.
    ///
    /// # Panics
    /// If `total_steps` is 0 or `max_lr` is negative or not finite.
    #[track_caller]
    pub fn new(max_lr: f64, total_steps: usize) -> Self {
        check_rate("OneCycleLR", "max_lr", max_lr);
        assert!(
            total_steps > 0,
            "OneCycleLR: total_steps must be positive, got 0"
        );
        OneCycleLR {
            max_lr,
            total_steps,
            pct_start: 0.3,
            anneal: Anneal::Cos,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
            steps: 0,
        }
    }

    /// The fraction of the cycle spent going up.
    ///
    /// # Panics
    /// If it is not in `[0, 1]`.
    #[track_caller]
    pub fn pct_start(self, pct_start: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&pct_start),
            "OneCycleLR: pct_start must be in [0, 1], got {pct_start}"
        );
        OneCycleLR { pct_start, ..self }
    }

    /// The annealing curve.
    pub fn anneal(self, anneal: Anneal) -> Self {
        OneCycleLR { anneal, ..self }
    }

    /// The starting rate is `max_lr / div_factor`.
    pub fn div_factor(self, div_factor: f64) -> Self {
        OneCycleLR { div_factor, ..self }
    }

    /// The final rate is the starting rate over `final_div_factor`.
    pub fn final_div_factor(self, final_div_factor: f64) -> Self {
        OneCycleLR {
            final_div_factor,
            ..self
        }
    }

    /// Three phases (up, back down to the start, then below) instead of two.
    pub fn three_phase(self, three_phase: bool) -> Self {
        OneCycleLR {
            three_phase,
            ..self
        }
    }

    /// The phases: (last step, start rate, end rate), as PyTorch lays them out.
    fn phases(&self) -> Vec<(f64, f64, f64)> {
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let up = self.pct_start * self.total_steps as f64 - 1.0;
        let last = self.total_steps as f64 - 1.0;
        if self.three_phase {
            vec![
                (up, initial, self.max_lr),
                (
                    2.0 * self.pct_start * self.total_steps as f64 - 2.0,
                    self.max_lr,
                    initial,
                ),
                (last, initial, min),
            ]
        } else {
            vec![(up, initial, self.max_lr), (last, self.max_lr, min)]
        }
    }
}

impl LrScheduler for OneCycleLR {
    fn lr(&self) -> f64 {
        let step = self.steps as f64;
        let phases = self.phases();
        let mut start_step = 0.0;
        for (i, &(end_step, start, end)) in phases.iter().enumerate() {
            if step <= end_step || i + 1 == phases.len() {
                let pct = (step - start_step) / (end_step - start_step);
                return self.anneal.at(start, end, pct);
            }
            start_step = end_step;
        }
        unreachable!("the last phase always answers")
    }

    #[track_caller]
    fn step(&mut self) -> f64 {
        assert!(
            self.steps < self.total_steps,
            "OneCycleLR: tried to step {} times, but the cycle has total_steps = {}",
            self.steps + 1,
            self.total_steps
        );
        self.steps += 1;
        self.lr()
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn restart(&mut self) {
        self.steps = 0;
    }
}
