//! What the user sees while training: a progress bar per epoch, a line after each epoch, and the
//! final summary.

use std::io::IsTerminal;
use std::time::Duration;

use duograd::train::{BatchEvent, EpochMetrics, LossExploding, Observer, RunInfo, TrainMetrics};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// An [`Observer`] drawing an `indicatif` bar on stderr (only when stderr is a terminal and not
/// `quiet`), printing one line per epoch on stdout (unless `quiet`) and warnings on stderr.
pub struct Reporter {
    quiet: bool,
    show_bar: bool,
    epochs: usize,
    bar: Option<ProgressBar>,
}

impl Reporter {
    /// A reporter; `quiet` silences everything but the summary.
    pub fn new(quiet: bool) -> Self {
        Reporter {
            quiet,
            show_bar: !quiet && std::io::stderr().is_terminal(),
            epochs: 0,
            bar: None,
        }
    }

    fn new_bar(&self, epoch: usize, batches: usize) -> ProgressBar {
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30.cyan/blue}] {pos:>4}/{len} batches  {msg}  {elapsed}<{eta}",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(batches as u64), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_prefix(format!(
                "epoch {epoch:>width$}/{}",
                self.epochs,
                width = digits(self.epochs)
            ));
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    }
}

impl Observer for Reporter {
    fn on_train_start(&mut self, info: &RunInfo) {
        self.epochs = info.epochs;
    }

    fn on_epoch_start(&mut self, epoch: usize, batches: usize) {
        if self.show_bar {
            self.bar = Some(self.new_bar(epoch, batches));
        }
    }

    fn on_batch(&mut self, e: &BatchEvent) {
        if let Some(bar) = &self.bar {
            bar.set_position(e.batch as u64);
            bar.set_message(format!(
                "loss {:.4}  {} samples/s",
                e.running_loss,
                thousands(e.samples_per_sec())
            ));
        }
    }

    fn on_evaluate(&mut self, _epoch: usize) {
        if let Some(bar) = &self.bar {
            bar.set_message("evaluating…");
        }
    }

    fn on_epoch_end(&mut self, m: &EpochMetrics) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if !self.quiet {
            println!("{}", epoch_line(m, self.epochs));
        }
    }

    /// Printed even when `quiet`: a warning is not progress.
    fn on_loss_exploding(&mut self, warning: &LossExploding) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!("warning: {warning}");
    }
}

/// `epoch 1/5  train loss 0.4123 acc 88.21%  test loss 0.2345 acc 93.12%  5.2 s  11,538 samples/s`.
pub fn epoch_line(m: &EpochMetrics, epochs: usize) -> String {
    let valid = m.valid.map_or(String::new(), |v| {
        format!("  valid loss {:.4} acc {:6.2}%", v.loss, 100.0 * v.accuracy)
    });
    format!(
        "epoch {:>w$}/{epochs}  train loss {:.4} acc {:6.2}%{valid}  test loss {:.4} acc {:6.2}%  \
         {} (+{} eval)  {} samples/s",
        m.epoch,
        m.train_loss,
        100.0 * m.train_accuracy,
        m.test_loss,
        100.0 * m.test_accuracy,
        secs(m.seconds),
        secs(m.eval_seconds),
        thousands(m.samples_per_sec),
        w = digits(epochs),
    )
}

/// The closing lines: best and final accuracy, the last epoch's losses, total time, time per
/// epoch, throughput. The first two lines hold no timing: the same run gives the same text.
pub fn summary(metrics: &TrainMetrics) -> String {
    let (Some(best), Some(last)) = (metrics.best_epoch(), metrics.last_epoch()) else {
        return format!("no epoch run ({})", secs(metrics.total_seconds));
    };
    let train: f64 = metrics.epochs.iter().map(|e| e.seconds).sum();
    let eval: f64 = metrics.epochs.iter().map(|e| e.eval_seconds).sum();
    let n = metrics.epochs.len() as f64;
    let memory = metrics
        .peak_resident_bytes
        .map(|b| format!(", peak memory {} MB", b / (1 << 20)))
        .unwrap_or_default();
    let phase =
        |f: fn(&EpochMetrics) -> f64| milliseconds(metrics.epochs.iter().map(f).sum::<f64>() / n);
    format!(
        "best test accuracy {:.2}% (epoch {}), final {:.2}%\n\
         final epoch {}: train loss {:.6} acc {:.2}%, test loss {:.6} acc {:.2}%\n\
         total {}, {}/epoch ({} training + {} evaluation), {} samples/s{memory}\n\
         training time per epoch: data {}, forward {}, backward {}, optimizer {}, metrics {}, \
         other {}",
        100.0 * best.test_accuracy,
        best.epoch,
        100.0 * metrics.final_accuracy(),
        last.epoch,
        last.train_loss,
        100.0 * last.train_accuracy,
        last.test_loss,
        100.0 * last.test_accuracy,
        secs(metrics.total_seconds),
        secs(metrics.seconds_per_epoch()),
        secs(train / n),
        secs(eval / n),
        thousands(metrics.samples_per_sec()),
        phase(|e| e.phases.data),
        phase(|e| e.phases.forward),
        phase(|e| e.phases.backward),
        phase(|e| e.phases.optimizer),
        phase(|e| e.phases.metrics),
        phase(|e| e.phases.other(e.seconds)),
    )
}

/// A duration in milliseconds with about three significant digits: `0.420 ms`, `12.3 ms`.
fn milliseconds(s: f64) -> String {
    three_digits(s * 1e3, "ms")
}

/// A duration with about three significant digits: `0.042 s`, `1.25 s`, `12.3 s`.
fn secs(s: f64) -> String {
    three_digits(s, "s")
}

/// `x` with about three significant digits (at most three decimals) and its unit.
fn three_digits(x: f64, unit: &str) -> String {
    let decimals = match x {
        x if x < 1.0 => 3,
        x if x < 10.0 => 2,
        x if x < 100.0 => 1,
        _ => 0,
    };
    format!("{x:.decimals$} {unit}")
}

/// The number of decimal digits of `n`.
fn digits(n: usize) -> usize {
    n.max(1).ilog10() as usize + 1
}

/// `12345.6` → `"12,346"`.
pub fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x.max(0.0));
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
