//! The learning curves as an SVG: training loss per batch (top) and accuracy per epoch
//! (bottom).

use std::path::Path;

use duograd::train::{activation_name, Architecture, TrainMetrics};
use plotters::prelude::*;

/// Batches averaged by the smoothed loss curve drawn over the raw one.
const SMOOTHING: usize = 25;

/// Draws the curves of `metrics` into an SVG file at `path`.
///
/// # Errors
/// A message if the file cannot be written.
pub fn plot_curves(metrics: &TrainMetrics, path: &Path) -> Result<(), String> {
    draw(metrics, path).map_err(|e| format!("{}: cannot write the plot: {e}", path.display()))
}

fn draw(metrics: &TrainMetrics, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1000, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let sizes: Vec<String> = metrics.layer_sizes.iter().map(usize::to_string).collect();
    let network = match metrics.config.model {
        Architecture::Mlp => format!(
            "{} {}",
            sizes.join("-"),
            activation_name(metrics.config.activation)
        ),
        conv => conv.to_string(),
    };
    let title = format!(
        "{} {network}, {}, batch {} — {} {}",
        metrics.config.dataset,
        metrics.config.optimizer,
        metrics.config.batch_size,
        metrics.backend,
        metrics.precision
    );
    let root = root.titled(&title, ("sans-serif", 22))?;
    let (top, bottom) = root.split_vertically(400);

    // Batch losses on an epoch axis; log scale, as the loss falls by orders of magnitude.
    let per_epoch = metrics.batches_per_epoch.max(1) as f64;
    let losses: Vec<(f64, f64)> = metrics
        .batch_losses
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_finite() && **l > 0.0)
        .map(|(i, &l)| ((i + 1) as f64 / per_epoch, l))
        .collect();
    let epochs = metrics.config.epochs.max(1) as f64;
    let (lo, hi) = losses
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &(_, l)| {
            (lo.min(l), hi.max(l))
        });
    let (lo, hi) = if losses.is_empty() {
        (0.01, 10.0)
    } else {
        (lo * 0.9, hi * 1.1)
    };
    let mut chart = ChartBuilder::on(&top)
        .caption("training loss per batch", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(
            0.0..epochs,
            (lo..hi).log_scale().with_key_points(one_two_five(lo, hi)),
        )?;
    chart
        .configure_mesh()
        .max_light_lines(1)
        .x_label_formatter(&|x| format!("{}", (x * 1e6).round() / 1e6))
        .y_label_formatter(&|y| format!("{}", (y * 1e6).round() / 1e6))
        .x_desc("epoch")
        .y_desc("cross-entropy (log scale)")
        .draw()?;
    chart
        .draw_series(LineSeries::new(losses.iter().copied(), BLUE.mix(0.25)))?
        .label("batch")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.mix(0.25)));
    chart
        .draw_series(LineSeries::new(
            smooth(&losses, SMOOTHING),
            BLUE.stroke_width(2),
        ))?
        .label(format!("mean of {SMOOTHING} batches"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    // Accuracies per epoch, in percent.
    let series = |f: fn(&duograd::train::EpochMetrics) -> Option<f64>| -> Vec<(f64, f64)> {
        metrics
            .epochs
            .iter()
            .filter_map(|e| f(e).map(|a| (e.epoch as f64, 100.0 * a)))
            .collect()
    };
    let test = series(|e| Some(e.test_accuracy));
    let train = series(|e| Some(e.train_accuracy));
    let valid = series(|e| e.valid.map(|v| v.accuracy));
    let low = test
        .iter()
        .chain(&train)
        .chain(&valid)
        .map(|p| p.1)
        .fold(100.0f64, f64::min);
    let y_min = (low - 2.0).clamp(0.0, 99.0).floor();
    let mut chart = ChartBuilder::on(&bottom)
        .caption("accuracy per epoch", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(0.5..epochs + 0.5, y_min..100.0)?;
    chart
        .configure_mesh()
        .max_light_lines(1)
        .x_labels(metrics.config.epochs.clamp(1, 20))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc("epoch")
        .y_desc("accuracy (%)")
        .draw()?;
    for (points, color, name) in [
        (&test, RED, "test"),
        (&train, GREEN, "train (running)"),
        (&valid, MAGENTA, "validation"),
    ] {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The values 1, 2, 5 × 10ᵏ between `lo` and `hi`: tick marks for a log axis.
fn one_two_five(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let t = m * decade;
            if (lo..=hi).contains(&t) {
                ticks.push(t);
            }
        }
        decade *= 10.0;
    }
    ticks
}

/// The trailing mean of each point's `window` last values.
fn smooth(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let mut sum = 0.0;
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            sum += y;
            if i >= window {
                sum -= points[i - window].1;
            }
            (x, sum / (i + 1).min(window) as f64)
        })
        .collect()
}
