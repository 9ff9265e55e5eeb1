//! Tests of the `train_mnist` program itself: what a user sees when the data is missing, when
//! `--download` cannot be served, and when training diverges. The runs use a small synthetic
//! MNIST written as IDX files, so they take a second or two. With the `download` feature, the
//! downloader runs against servers on 127.0.0.1 (nothing leaves the machine); its one test
//! that needs `MNIST_DIR` is ignored unless asked for (`.ci/run` runs it with
//! `--features download … -- --include-ignored`).
//!
//! The example is built (or brought up to date) with the same profile and features as this
//! test before the first run.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The `train_mnist` example binary, built on first use by the cargo that runs this test.
fn train_mnist() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // target/<profile>/deps/train_mnist_cli-… → target/<profile>
        let exe = std::env::current_exe().expect("the test's own path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cargo = Command::new(env!("CARGO"));
        cargo.current_dir(env!("CARGO_MANIFEST_DIR")).args([
            "build",
            "--quiet",
            "--example",
            "train_mnist",
        ]);
        if release {
            cargo.arg("--release");
        }
        if cfg!(feature = "download") {
            cargo.args(["--features", "download"]);
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "building the train_mnist example failed");
        let bin = profile_dir
            .join("examples")
            .join(format!("train_mnist{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.is_file(), "{} was not built", bin.display());
        bin
    })
}

/// Runs `train_mnist` with `args`, without `MNIST_DIR` so only the flags say where data is.
fn run(args: &[&str]) -> Output {
    Command::new(train_mnist())
        .args(args)
        .env_remove("MNIST_DIR")
        .env_remove("DIGITS_CSV")
        .output()
        .expect("train_mnist runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_contains(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
}

/// Writes an IDX file: `magic`, the dimensions, then `bytes`.
fn write_idx(path: &Path, magic: u32, dims: &[u32], bytes: &[u8]) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&magic.to_be_bytes()).unwrap();
    for d in dims {
        f.write_all(&d.to_be_bytes()).unwrap();
    }
    f.write_all(bytes).unwrap();
}

/// A directory with the four MNIST files holding `train` and `test` synthetic 28×28 images: a
/// bright 7×7 block whose position is the label, on light noise.
fn synthetic_mnist(train: u32, test: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x2545_f491_u32;
    let mut images = |n: u32| {
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        for i in 0..n {
            let label = (i % 10) as u8;
            let (row0, col0) = (7 * (label as usize / 4), 7 * (label as usize % 4));
            for r in 0..28 {
                for c in 0..28 {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let inside = (row0..row0 + 7).contains(&r) && (col0..col0 + 7).contains(&c);
                    pixels.push(if inside { 255 } else { (state % 40) as u8 });
                }
            }
            labels.push(label);
        }
        (pixels, labels)
    };
    for (prefix, n) in [("train", train), ("t10k", test)] {
        let (pixels, labels) = images(n);
        let images_path = dir.path().join(format!("{prefix}-images-idx3-ubyte"));
        write_idx(&images_path, 2051, &[n, 28, 28], &pixels);
        let labels_path = dir.path().join(format!("{prefix}-labels-idx1-ubyte"));
        write_idx(&labels_path, 2049, &[n], &labels);
    }
    dir
}

#[test]
fn missing_data_names_both_ways_forward() {
    let out = run(&["--data-dir", "/nonexistent/duograd-mnist", "--quiet"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_contains(
        &err,
        &[
            "/nonexistent/duograd-mnist",
            "not found",
            "--data-dir",
            "MNIST_DIR",
            "--download",
        ],
    );

    let empty = tempfile::tempdir().unwrap();
    let out = run(&["--data-dir", empty.path().to_str().unwrap(), "--quiet"]);
    assert!(!out.status.success());
    assert_contains(
        &stderr(&out),
        &[
            "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
             t10k-labels-idx1-ubyte (nor .gz)",
            "--data-dir",
            "MNIST_DIR",
            "--download",
        ],
    );
}

#[test]
fn arena_at_a_huge_learning_rate_stops_with_the_divergence_message() {
    let data = synthetic_mnist(1024, 100);
    let dir = data.path().to_str().unwrap();
    let out = run(&["--preset", "arena", "--lr", "1e6", "--data-dir", dir]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_contains(
        &err,
        &[
            "training diverged: the loss became ",
            " at epoch ",
            ", batch ",
            " of 2 (learning rate 1e6)",
            "try a lower learning rate, e.g. --lr 1e5",
        ],
    );
    // No result is reported for a run that diverged.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("test accuracy"), "{stdout}");
}

/// Adam's steps are bounded by the learning rate, so the default preset's loss at lr 1e6 can
/// stay finite while it explodes: either way the run must not end as a silent result.
#[test]
fn the_default_preset_at_a_huge_learning_rate_is_never_a_silent_result() {
    let data = synthetic_mnist(1024, 100);
    let dir = data.path().to_str().unwrap();
    let out = run(&["--lr", "1e6", "--quiet", "--data-dir", dir]);
    let err = stderr(&out);
    if out.status.success() {
        assert_contains(
            &err,
            &[
                "warning: the training loss is exploding: epoch 1's mean loss ",
                "times the first batch's",
                "try a lower learning rate (the run started at 1e6)",
            ],
        );
    } else {
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_contains(&err, &["training diverged", "(learning rate 1e6)"]);
    }
}

#[test]
fn the_same_data_trains_at_the_presets_learning_rate() {
    let data = synthetic_mnist(1024, 100);
    let dir = data.path().to_str().unwrap();
    let out = run(&[
        "--preset",
        "arena",
        "--epochs",
        "2",
        "--quiet",
        "--data-dir",
        dir,
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning"), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("best test accuracy"), "{stdout}");
}

#[test]
fn download_is_refused_for_the_digits() {
    let out = run(&["--download", "--dataset", "digits"]);
    assert!(!out.status.success());
    assert_contains(&stderr(&out), &["--download fetches MNIST only"]);
}

#[cfg(not(feature = "download"))]
#[test]
fn download_without_the_feature_gives_the_command_that_has_it() {
    let out = run(&["--download", "--data-dir", "some dir", "--preset", "arena"]);
    assert!(!out.status.success());
    assert_contains(
        &stderr(&out),
        &[
            "built without the `download` feature",
            "cargo run --release --features download --example train_mnist -- --download \
             --data-dir 'some dir' --preset arena",
            "--data-dir DIR",
            "MNIST_DIR",
        ],
    );
}

#[cfg(feature = "download")]
mod download {
    use super::*;
    use std::net::TcpListener;

    use crate::common::http::serve;

    #[test]
    fn offline_download_fails_with_a_clear_message() {
        // A port that was just free: nothing listens there, as no mirror answers offline.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("mnist");
        let mirror = format!("http://127.0.0.1:{port}");
        let out = run(&[
            "--download",
            "--mirror",
            &mirror,
            "--data-dir",
            target.to_str().unwrap(),
        ]);
        assert!(!out.status.success());
        assert_contains(
            &stderr(&out),
            &[
                "train-images-idx3-ubyte.gz: download from",
                "failed",
                "No network?",
                "MNIST_DIR",
            ],
        );
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    }

    #[test]
    fn a_file_with_the_wrong_checksum_is_not_kept() {
        let mirror = serve(b"not an MNIST archive".to_vec(), 1);
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("mnist");
        let out = run(&[
            "--download",
            "--mirror",
            &mirror,
            "--data-dir",
            target.to_str().unwrap(),
        ]);
        assert!(!out.status.success());
        assert_contains(
            &stderr(&out),
            &["train-images-idx3-ubyte.gz: SHA-256 mismatch (archive)"],
        );
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    }

    #[test]
    fn files_already_there_are_verified_and_not_fetched_again() {
        // The synthetic files are not MNIST: their checksums differ from the published ones,
        // so they are reported, naming the file, and nothing is downloaded over them.
        let data = synthetic_mnist(20, 10);
        let out = run(&[
            "--download",
            "--mirror",
            "http://127.0.0.1:9",
            "--data-dir",
            data.path().to_str().unwrap(),
        ]);
        assert!(!out.status.success());
        assert_contains(
            &stderr(&out),
            &["train-images-idx3-ubyte: SHA-256 mismatch (uncompressed content)"],
        );
    }

    /// A real download over loopback: three files copied from `MNIST_DIR`, the fourth (the
    /// official test-labels archive) served by a local mirror, then one epoch of training.
    #[test]
    #[ignore = "needs MNIST_DIR"]
    fn a_missing_file_is_fetched_verified_and_trained_on() {
        use duograd::data::{sha256_hex, MNIST_FILES, TEST_LABELS};
        let source = PathBuf::from(std::env::var_os("MNIST_DIR").expect("MNIST_DIR is set"));
        let archive = |name: &str| source.join(format!("{name}.gz"));
        let served = std::fs::read(archive(TEST_LABELS.name)).expect("MNIST_DIR holds .gz files");
        assert_eq!(
            sha256_hex(&served),
            TEST_LABELS.archive_sha256,
            "this test needs the official {}.gz in MNIST_DIR",
            TEST_LABELS.name
        );
        let dir = tempfile::tempdir().unwrap();
        for file in MNIST_FILES.iter().filter(|f| f.name != TEST_LABELS.name) {
            let dest = dir.path().join(format!("{}.gz", file.name));
            std::fs::copy(archive(file.name), dest).unwrap();
        }
        let mirror = serve(served.clone(), 1);
        let target = dir.path().to_str().unwrap();
        let out = run(&[
            "--download",
            "--mirror",
            &mirror,
            "--data-dir",
            target,
            "--preset",
            "arena",
            "--epochs",
            "1",
            "--quiet",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}\n{stdout}", stderr(&out));
        assert_contains(
            &stdout,
            &[
                &format!("MNIST is in {target} (SHA-256 verified):"),
                "best test accuracy",
            ],
        );
        for file in &MNIST_FILES {
            let path = dir.path().join(format!("{}.gz", file.name));
            assert_contains(&stdout, &[&format!("  {}", path.display())]);
        }
        let fetched = std::fs::read(dir.path().join(format!("{}.gz", TEST_LABELS.name))).unwrap();
        assert_eq!(fetched, served);
    }
}
