//! The `train_mnist` program, killed after an epoch and resumed from its checkpoint, ends with
//! the same weights file and the same final metrics, byte for byte, as the same run left
//! alone: for SGD with momentum and for Adam with a cosine schedule. Also the command line's
//! `--resume` refusals and `--eval`.
//!
//! The program is an example, so cargo gives tests no path to it: it is built here with
//! `cargo build --example train_mnist` in the profile of the test itself (`--release` under
//! `cargo test --release`; a no-op when `cargo test` has built the examples) and found in
//! cargo's JSON messages. The data is a synthetic CSV in the 8×8 digits format, written to a
//! temporary directory, so the test needs no data set.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use duograd::train::Checkpoint;
use rand::{Rng, SeedableRng};

/// The `train_mnist` executable, built once for all the tests of this binary.
fn program() -> &'static Path {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let release = (!cfg!(debug_assertions)).then_some("--release");
        let output = Command::new(env!("CARGO"))
            .args(["build", "--example", "train_mnist"])
            .args(release)
            .arg("--message-format=json-render-diagnostics")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo runs");
        assert!(output.status.success(), "building train_mnist failed");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "train_mnist")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reports the train_mnist executable")
    })
}

/// A CSV in the digits format (64 values in 0..=16, then the label) with `rows` noisy samples
/// of 10 fixed patterns.
fn write_digits_csv(path: &Path, rows: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let patterns: Vec<Vec<i32>> = (0..10)
        .map(|_| (0..64).map(|_| rng.random_range(0..=16)).collect())
        .collect();
    let mut text = String::new();
    for i in 0..rows {
        let label = i % 10;
        for &v in &patterns[label] {
            let noisy = (v + rng.random_range(-16..=16)).clamp(0, 16);
            text.push_str(&format!("{noisy},"));
        }
        text.push_str(&format!("{label}\n"));
    }
    std::fs::write(path, text).unwrap();
}

/// A temporary directory with the synthetic data.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_digits_csv(&dir.path().join("digits.csv"), 3000);
        Workspace { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The program with the data and one thread (the machine's other work cannot change its
    /// numbers), and `args`.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(program());
        command
            .arg("--data-dir")
            .arg(self.path("digits.csv"))
            .args(["--threads", "1"])
            .args(args)
            .current_dir(self.dir.path());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("train_mnist runs")
    }
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "train_mnist failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The summary's lines that hold no timing: best and final accuracy, the last epoch's losses.
fn final_metrics(stdout: &str) -> String {
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("best test accuracy") || l.starts_with("final epoch"))
        .collect();
    assert_eq!(lines.len(), 2, "no final metrics in:\n{stdout}");
    lines.join("\n")
}

const EPOCHS: usize = 12;

/// Trains `run` three ways: whole; killed once its first checkpoint exists; resumed from that
/// checkpoint. The resumed run must end where the whole one did.
fn killed_and_resumed_run_ends_like_an_uninterrupted_one(run: &[&str]) {
    let ws = Workspace::new();
    let epochs = EPOCHS.to_string();
    let mut flags = vec![
        "--dataset",
        "digits",
        "--hidden",
        "256,256",
        "--batch-size",
        "16",
    ];
    flags.extend(["--epochs", &epochs]);
    flags.extend(run);

    let mut whole_args = flags.clone();
    whole_args.extend(["--save", "whole.safetensors"]);
    let whole = stdout(&ws.run(&whole_args));

    // The same run, killed once the checkpoint of its first epoch is on disk.
    let checkpoint = ws.path("run.ckpt");
    let mut killed_args = flags.clone();
    killed_args.extend(["--checkpoint", "run.ckpt"]);
    let mut child = ws
        .command(&killed_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the progress lines as they come, so that the pipe never fills.
    let lines = BufReader::new(child.stdout.take().unwrap());
    let reader = std::thread::spawn(move || lines.lines().count());
    let start = Instant::now();
    while !checkpoint.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint after two minutes"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("train_mnist exited ({status}) before writing a checkpoint");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert!(
        !status.success(),
        "the run finished before it was killed; make it longer"
    );
    let done = Checkpoint::read(&checkpoint).unwrap().state().epochs_done;
    assert!(
        (1..EPOCHS).contains(&done),
        "killed with {done} of {EPOCHS} epochs done"
    );

    let resumed = stdout(&ws.run(&["--resume", "run.ckpt", "--save", "resumed.safetensors"]));
    assert!(
        resumed.contains(&format!(
            "resuming run.ckpt: {done} of {EPOCHS} epochs done"
        )),
        "{resumed}"
    );
    assert!(
        resumed.contains(&format!("epoch {:>2}/{EPOCHS} ", done + 1))
            && !resumed.contains(&format!("epoch  1/{EPOCHS} ")),
        "the resumed run trains only the remaining epochs:\n{resumed}"
    );
    assert_eq!(final_metrics(&resumed), final_metrics(&whole));
    let whole_weights = std::fs::read(ws.path("whole.safetensors")).unwrap();
    let resumed_weights = std::fs::read(ws.path("resumed.safetensors")).unwrap();
    assert!(
        whole_weights == resumed_weights,
        "the resumed run's weights differ from the uninterrupted run's"
    );
    // The checkpoint now holds the finished run.
    let state = Checkpoint::read(&checkpoint).unwrap().state().clone();
    assert_eq!(
        (state.epochs_done, state.metrics.epochs.len()),
        (EPOCHS, EPOCHS)
    );
}

#[test]
fn sgd_with_momentum_resumes_bit_identically_after_a_kill() {
    killed_and_resumed_run_ends_like_an_uninterrupted_one(&[
        "--optimizer",
        "sgd",
        "--lr",
        "0.02",
        "--momentum",
        "0.9",
        "--schedule",
        "constant",
    ]);
}

#[test]
fn adam_with_a_cosine_schedule_resumes_bit_identically_after_a_kill() {
    killed_and_resumed_run_ends_like_an_uninterrupted_one(&[
        "--optimizer",
        "adam",
        "--lr",
        "0.002",
        "--schedule",
        "cosine",
    ]);
}

/// A short Adam run on the synthetic digits, checkpointed and saved.
fn short_run(ws: &Workspace, epochs: &str) -> String {
    stdout(&ws.run(&[
        "--dataset",
        "digits",
        "--hidden",
        "32",
        "--epochs",
        epochs,
        "--checkpoint",
        "run.ckpt",
        "--save",
        "weights.safetensors",
    ]))
}

#[test]
fn resume_refuses_flags_that_would_change_the_run_and_names_them() {
    let ws = Workspace::new();
    short_run(&ws, "2");
    let output = ws.run(&["--resume", "run.ckpt", "--lr", "0.5", "--hidden", "64"]);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("--hidden, --lr would change it") && err.contains("run.ckpt"),
        "{err}"
    );
    // The backend the run already uses may be named; another may not.
    let output = ws.run(&["--resume", "run.ckpt", "--backend", "nalgebra"]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--backend would change it"), "{err}");
    stdout(&ws.run(&["--resume", "run.ckpt", "--backend", "ndarray"]));
}

#[test]
fn resume_with_more_epochs_extends_the_run_and_says_so() {
    let ws = Workspace::new();
    short_run(&ws, "2");
    let out = stdout(&ws.run(&["--resume", "run.ckpt", "--epochs", "3"]));
    assert!(
        out.contains("--epochs 3: the run now ends after 3 epochs instead of 2"),
        "{out}"
    );
    assert!(
        out.contains("epoch 3/3 ") && !out.contains("epoch 2/3 "),
        "{out}"
    );
    let state = Checkpoint::read(ws.path("run.ckpt"))
        .unwrap()
        .state()
        .clone();
    assert_eq!((state.epochs_done, state.config.epochs), (3, 3));
    let output = ws.run(&["--resume", "run.ckpt", "--epochs", "1"]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("has already done 3 epochs"), "{err}");
}

#[test]
fn eval_reports_the_final_accuracy_of_a_checkpoint_and_of_a_weights_file() {
    let ws = Workspace::new();
    let trained = short_run(&ws, "2");
    let last = trained
        .lines()
        .find(|l| l.starts_with("final epoch 2:"))
        .expect("a final epoch line");
    // `final epoch 2: train loss … acc …%, test loss 0.123456 acc 97.12%`
    let (_, test) = last.split_once(", test loss ").unwrap();
    let (loss, acc) = test.split_once(" acc ").unwrap();
    let loss: f64 = loss.parse().unwrap();

    let eval_checkpoint = stdout(&ws.run(&["--eval", "run.ckpt"]));
    let eval_weights = stdout(&ws.run(&[
        "--eval",
        "weights.safetensors",
        "--dataset",
        "digits",
        "--hidden",
        "32",
    ]));
    for (out, kind) in [
        (&eval_checkpoint, "checkpoint after epoch 2"),
        (&eval_weights, "weights"),
    ] {
        assert!(out.contains(kind), "{out}");
        let line = out
            .lines()
            .find(|l| l.starts_with("test accuracy"))
            .unwrap_or_else(|| panic!("no accuracy in {out}"));
        assert!(
            line.starts_with(&format!("test accuracy {acc} (")),
            "{line} vs {acc}"
        );
        let printed: f64 = line.rsplit_once("test loss ").unwrap().1.parse().unwrap();
        assert!((printed - loss).abs() < 1e-4, "{printed} vs {loss}");
    }
    // A checkpoint records its model: model flags are refused.
    let output = ws.run(&["--eval", "run.ckpt", "--hidden", "64"]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--hidden cannot apply"), "{err}");
    // Weights for another model are named by tensor and shape.
    let output = ws.run(&[
        "--eval",
        "weights.safetensors",
        "--dataset",
        "digits",
        "--hidden",
        "16",
    ]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("tensor '0.weight' has shape [32, 64]") && err.contains("[16, 64]"),
        "{err}"
    );
}
