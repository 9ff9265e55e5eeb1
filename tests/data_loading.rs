//! Tests of `duograd::data`: IDX/MNIST validation on small files written here, the digits CSV,
//! normalization, splits and the mini-batch loader. Tests on the real data sets are ignored
//! unless asked for: `MNIST_DIR=… DIGITS_CSV=… cargo test --test data_loading -- --include-ignored`.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use duograd::data::{
    load_digits, train_test_split, DataError, DataLoader, Dataset, IdxImages, IdxLabels, Mnist,
    Normalization, MNIST_FILES,
};
use duograd::Layout;
use flate2::write::GzEncoder;
use flate2::Compression;

// ---------------------------------------------------------------- helpers

const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// An IDX image file: header (magic, count, rows, cols) then pixel `i` = `(seed + i) % 256`.
fn idx_images(magic: u32, count: u32, rows: u32, cols: u32, seed: u8) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [magic, count, rows, cols] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    let n = (count * rows * cols) as usize;
    v.extend((0..n).map(|i| (i as u8).wrapping_add(seed)));
    v
}

/// An IDX label file holding `labels`.
fn idx_labels(magic: u32, labels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&magic.to_be_bytes());
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn labels_of(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 10) as u8).collect()
}

/// The four files of a small valid MNIST-like set: (name, content).
fn small_set(n_train: u32, n_test: u32) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (TRAIN_IMAGES, idx_images(2051, n_train, 28, 28, 0)),
        (TRAIN_LABELS, idx_labels(2049, &labels_of(n_train as usize))),
        (TEST_IMAGES, idx_images(2051, n_test, 28, 28, 100)),
        (TEST_LABELS, idx_labels(2049, &labels_of(n_test as usize))),
    ]
}

/// Writes the files into a new temp dir, gzipped (as `name.gz`) or raw.
fn write_set(files: &[(&str, Vec<u8>)], gz: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        if gz {
            std::fs::write(dir.path().join(format!("{name}.gz")), gzip(content)).unwrap();
        } else {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
    }
    dir
}

/// A valid raw set with one file's content replaced.
fn set_with(name: &str, content: Vec<u8>, gz: bool) -> tempfile::TempDir {
    let mut files = small_set(5, 3);
    for f in &mut files {
        if f.0 == name {
            f.1 = content.clone();
        }
    }
    write_set(&files, gz)
}

fn file_in(dir: &tempfile::TempDir, name: &str, gz: bool) -> PathBuf {
    if gz {
        dir.path().join(format!("{name}.gz"))
    } else {
        dir.path().join(name)
    }
}

/// Asserts the error is about `path` and its message names it.
fn assert_names(err: &DataError, path: &Path) {
    assert_eq!(err.path(), path, "error path for {err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message {msg:?} does not name {}",
        path.display()
    );
}

// ---------------------------------------------------------------- MNIST / IDX: good files

#[test]
fn loads_good_raw_files() {
    let files = small_set(5, 3);
    let dir = write_set(&files, false);
    let m = Mnist::load(dir.path()).unwrap();
    assert_eq!((m.train_len, m.test_len), (5, 3));
    assert_eq!(m.train_images, files[0].1[16..]);
    assert_eq!(m.train_labels, labels_of(5));
    assert_eq!(m.test_images, files[2].1[16..]);
    assert_eq!(m.test_labels, labels_of(3));
    assert_eq!(m.train_image(1), &files[0].1[16 + 784..16 + 2 * 784]);
    assert_eq!(m.test_image(2).len(), 784);
}

#[test]
fn loads_good_gz_files_identically() {
    let files = small_set(5, 3);
    let raw = Mnist::load(write_set(&files, false).path()).unwrap();
    let gz = Mnist::load(write_set(&files, true).path()).unwrap();
    assert_eq!(raw, gz);
}

#[test]
fn loads_a_mix_of_raw_and_gz_and_prefers_raw() {
    let files = small_set(4, 2);
    let dir = write_set(&files, true);
    // A raw copy of the test labels beside its .gz: the raw one is used.
    std::fs::write(dir.path().join(TEST_LABELS), &files[3].1).unwrap();
    assert_eq!(
        Mnist::find_file(dir.path(), TEST_LABELS).unwrap(),
        dir.path().join(TEST_LABELS)
    );
    assert_eq!(
        Mnist::find_file(dir.path(), TRAIN_LABELS).unwrap(),
        dir.path().join(format!("{TRAIN_LABELS}.gz"))
    );
    let m = Mnist::load(dir.path()).unwrap();
    assert_eq!((m.train_len, m.test_len), (4, 2));
}

#[test]
fn empty_sets_are_valid() {
    let m = Mnist::load(write_set(&small_set(0, 0), true).path()).unwrap();
    assert_eq!((m.train_len, m.test_len), (0, 0));
    assert!(m.train_images.is_empty());
}

#[test]
fn idx_readers_report_header_fields() {
    let dir = write_set(&small_set(2, 1), true);
    let imgs = IdxImages::read(file_in(&dir, TEST_IMAGES, true), None).unwrap();
    assert_eq!(
        (imgs.count, imgs.rows, imgs.cols, imgs.image_size()),
        (1, 28, 28, 784)
    );
    let labels = IdxLabels::read(file_in(&dir, TRAIN_LABELS, true)).unwrap();
    assert_eq!(labels.labels, vec![0, 1]);
    assert!(labels.check_range(2).is_ok());
    assert!(matches!(
        labels.check_range(1),
        Err(DataError::LabelOutOfRange { .. })
    ));
    // Other image sizes are fine when no size is required.
    let other = tempfile::tempdir().unwrap();
    let p = other.path().join("small-images");
    std::fs::write(&p, idx_images(2051, 3, 2, 5, 0)).unwrap();
    let small = IdxImages::read(&p, None).unwrap();
    assert_eq!((small.count, small.rows, small.cols), (3, 2, 5));
    assert_eq!(small.pixels.len(), 30);
}

// ---------------------------------------------------------------- MNIST / IDX: bad files

#[test]
fn wrong_magic_is_reported_for_images_and_labels() {
    for gz in [false, true] {
        let dir = set_with(TRAIN_IMAGES, idx_images(2049, 5, 28, 28, 0), gz);
        let err = Mnist::load(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    expected: 2051,
                    found: 2049,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_names(&err, &file_in(&dir, TRAIN_IMAGES, gz));

        let dir = set_with(TEST_LABELS, idx_labels(2051, &labels_of(3)), gz);
        let err = Mnist::load(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    expected: 2049,
                    found: 2051,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_names(&err, &file_in(&dir, TEST_LABELS, gz));
    }
}

#[test]
fn truncated_images_are_reported_with_lengths() {
    for gz in [false, true] {
        let mut content = idx_images(2051, 5, 28, 28, 0);
        content.truncate(16 + 4 * 784 + 100);
        let dir = set_with(TRAIN_IMAGES, content, gz);
        let err = Mnist::load(dir.path()).unwrap_err();
        match &err {
            DataError::Truncated {
                expected, actual, ..
            } => {
                assert_eq!(*expected, 16 + 5 * 784);
                assert_eq!(*actual, 16 + 4 * 784 + 100);
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        assert_names(&err, &file_in(&dir, TRAIN_IMAGES, gz));
    }
}

#[test]
fn truncated_header_is_reported() {
    for gz in [false, true] {
        let dir = set_with(TEST_IMAGES, vec![0, 0, 8, 3, 0], gz);
        let err = Mnist::load(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected: 16,
                    actual: 5,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_names(&err, &file_in(&dir, TEST_IMAGES, gz));
    }
}

#[test]
fn trailing_bytes_are_reported() {
    for gz in [false, true] {
        let mut content = idx_labels(2049, &labels_of(5));
        content.extend_from_slice(&[1, 2, 3]);
        let dir = set_with(TRAIN_LABELS, content, gz);
        let err = Mnist::load(dir.path()).unwrap_err();
        assert!(
            matches!(err, DataError::TrailingBytes { expected: 13, .. }),
            "{err:?}"
        );
        assert_names(&err, &file_in(&dir, TRAIN_LABELS, gz));
    }
}

#[test]
fn absurd_declared_counts_fail_without_allocating() {
    for gz in [false, true] {
        // u32::MAX images of 28×28 declared, 10 pixels present.
        let mut content = idx_images(2051, 0, 28, 28, 0);
        content[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        content.extend_from_slice(&[0; 10]);
        let dir = set_with(TRAIN_IMAGES, content, gz);
        let err = Mnist::load(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::Truncated { .. }), "{err:?}");
        assert_names(&err, &file_in(&dir, TRAIN_IMAGES, gz));
    }
    // Dimensions whose product overflows u64 (via IdxImages with no size requirement).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge");
    std::fs::write(&p, idx_images(2051, 0, 0, 0, 0)).unwrap();
    let mut content = std::fs::read(&p).unwrap();
    for w in 1..4 {
        content[4 * w..4 * w + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    }
    std::fs::write(&p, content).unwrap();
    let err = IdxImages::read(&p, None).unwrap_err();
    assert!(matches!(err, DataError::Truncated { .. }), "{err:?}");
}

#[test]
fn mismatched_counts_are_reported_with_both_files() {
    let mut files = small_set(5, 3);
    files[1].1 = idx_labels(2049, &labels_of(4));
    let dir = write_set(&files, true);
    let err = Mnist::load(dir.path()).unwrap_err();
    match &err {
        DataError::CountMismatch {
            images_path,
            labels_path,
            images,
            labels,
        } => {
            assert_eq!(images_path, &file_in(&dir, TRAIN_IMAGES, true));
            assert_eq!(labels_path, &file_in(&dir, TRAIN_LABELS, true));
            assert_eq!((*images, *labels), (5, 4));
        }
        other => panic!("expected CountMismatch, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(TRAIN_IMAGES) && msg.contains(TRAIN_LABELS),
        "{msg}"
    );
}

#[test]
fn bad_image_dimensions_are_reported() {
    let dir = set_with(TEST_IMAGES, idx_images(2051, 3, 27, 28, 0), false);
    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadDimensions {
                rows: 27,
                cols: 28,
                expected_rows: 28,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &file_in(&dir, TEST_IMAGES, false));
}

#[test]
fn label_out_of_range_is_reported() {
    let dir = set_with(TEST_LABELS, idx_labels(2049, &[0, 10, 3]), true);
    let err = Mnist::load(dir.path()).unwrap_err();
    match &err {
        DataError::LabelOutOfRange {
            location, label, ..
        } => {
            assert_eq!(location, "item 1");
            assert_eq!(label, "10");
        }
        other => panic!("expected LabelOutOfRange, got {other:?}"),
    }
    assert_names(&err, &file_in(&dir, TEST_LABELS, true));
}

#[test]
fn missing_file_is_reported_with_both_names() {
    let dir = write_set(&small_set(2, 2), true);
    std::fs::remove_file(file_in(&dir, TEST_LABELS, true)).unwrap();
    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::MissingFile { .. }), "{err:?}");
    assert_names(&err, &dir.path().join(TEST_LABELS));
    let msg = err.to_string();
    assert!(msg.contains(&format!("{TEST_LABELS}.gz")), "{msg}");
    assert!(msg.contains("MNIST_DIR"), "{msg}");

    let err = Mnist::load("/nonexistent/duograd/mnist").unwrap_err();
    assert!(matches!(err, DataError::MissingFile { .. }), "{err:?}");
}

#[test]
fn garbage_gzip_is_reported() {
    // Not gzip at all, but named .gz.
    let dir = write_set(&small_set(2, 2), true);
    let p = file_in(&dir, TRAIN_IMAGES, true);
    std::fs::write(&p, b"this is not a gzip stream at all").unwrap();
    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    assert_names(&err, &p);

    // Gzip magic followed by garbage.
    let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    bytes.extend((0..200u32).map(|i| (i * 97 % 251) as u8));
    std::fs::write(&p, &bytes).unwrap();
    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    assert_names(&err, &p);

    // A valid archive cut in half.
    let whole = gzip(&idx_images(2051, 2, 28, 28, 7));
    std::fs::write(&p, &whole[..whole.len() / 2]).unwrap();
    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    assert_names(&err, &p);

    // A valid archive with its CRC trailer damaged.
    let mut bad_crc = whole.clone();
    let n = bad_crc.len();
    bad_crc[n - 6] ^= 0xff;
    std::fs::write(&p, &bad_crc).unwrap();
    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
}

#[test]
fn every_prefix_and_header_corruption_is_an_error_not_a_panic() {
    let labels = idx_labels(2049, &labels_of(2));
    let images = idx_images(2051, 2, 28, 28, 0);
    for (name, content) in [(TRAIN_LABELS, &labels), (TRAIN_IMAGES, &images)] {
        for gz in [false, true] {
            for len in (0..content.len()).step_by(7).chain([content.len() - 1]) {
                let dir = set_with(name, content[..len].to_vec(), gz);
                let err = Mnist::load(dir.path()).unwrap_err();
                assert_eq!(err.path(), file_in(&dir, name, gz), "{err}");
            }
            for byte in 0..16.min(content.len()) {
                let mut bad = content.clone();
                bad[byte] ^= 0x5a;
                let dir = set_with(name, bad, gz);
                assert!(Mnist::load(dir.path()).is_err(), "byte {byte} of {name}");
            }
        }
    }
}

#[test]
fn verified_load_checks_content_hashes() {
    let dir = write_set(&small_set(2, 1), true);
    let err = Mnist::load_verified(dir.path()).unwrap_err();
    match &err {
        DataError::ChecksumMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, MNIST_FILES[0].content_sha256);
            assert_eq!(actual.len(), 64);
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert_names(&err, &file_in(&dir, TRAIN_IMAGES, true));
}

// ---------------------------------------------------------------- Dataset and normalization

#[test]
fn mnist_datasets_scale_pixels_and_split() {
    let m = Mnist::load(write_set(&small_set(5, 3), false).path()).unwrap();
    let train = Dataset::from_mnist_train(&m);
    let test = Dataset::from_mnist_test(&m);
    assert_eq!((train.len(), train.dim(), train.classes()), (5, 784, 10));
    assert_eq!(test.len(), 3);
    let (x, y) = train.get(1).unwrap();
    assert_eq!(y, 1);
    assert!(train.is_bytes(), "MNIST is kept as bytes");
    for (&v, &pixel) in x.iter().zip(m.train_image(1)) {
        // pixel · (1/255) in f32: within one ulp of pixel / 255, exactly 1 for 255.
        assert_eq!(v, f32::from(pixel) * (1.0 / 255.0));
        assert!((v - f32::from(pixel) / 255.0).abs() <= f32::EPSILON * v);
    }
    assert!(train.inputs().iter().all(|&v| (0.0..=1.0).contains(&v)));
    assert_eq!(
        Dataset::from_bytes(vec![255], 1.0 / 255.0, 0.0, vec![0], 1, 1).inputs()[0],
        1.0
    );
    assert!(train.get(5).is_none());

    let (a, b) = train.clone().split(3);
    assert_eq!((a.len(), b.len()), (3, 2));
    assert_eq!(a.get(2), train.get(2));
    assert_eq!(b.get(0), train.get(3));
    assert_eq!(b.labels(), &[3, 4]);
}

#[test]
fn normalization_fit_matches_hand_computed_values() {
    // Values 1..=6: mean 3.5, population variance 17.5 / 6.
    let train = Dataset::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![0, 1, 0], 2, 2);
    let norm = Normalization::fit(&train);
    assert!((norm.mean - 3.5).abs() < 1e-12);
    assert!((norm.std - (17.5f64 / 6.0).sqrt()).abs() < 1e-12);

    let mut train_n = train.clone();
    norm.apply(&mut train_n);
    let refit = Normalization::fit(&train_n);
    assert!(refit.mean.abs() < 1e-6 && (refit.std - 1.0).abs() < 1e-6);

    // Test data is transformed with the training statistics.
    let mut test = Dataset::new(vec![3.5, 3.5 + norm.std as f32], vec![1], 2, 2);
    norm.apply(&mut test);
    assert!(test.inputs()[0].abs() < 1e-6);
    assert!((test.inputs()[1] - 1.0).abs() < 1e-6);
    assert_eq!(norm.apply_value(3.5), 0.0);

    // Degenerate inputs stay finite.
    let constant = Dataset::new(vec![2.0; 4], vec![0, 0], 2, 1);
    assert_eq!(Normalization::fit(&constant).std, 1.0);
    let empty = Dataset::new(vec![], vec![], 3, 1);
    assert_eq!(
        Normalization::fit(&empty),
        Normalization {
            mean: 0.0,
            std: 1.0
        }
    );
}

#[test]
fn byte_datasets_behave_like_float_datasets_of_the_same_values() {
    let bytes: Vec<u8> = (0..40).map(|i| (i * 37 % 256) as u8).collect();
    let labels: Vec<usize> = (0..10).map(|i| i % 3).collect();
    let (scale, offset) = (0.25f32, -3.0f32);
    let values: Vec<f32> = bytes
        .iter()
        .map(|&b| f32::from(b) * scale + offset)
        .collect();
    let as_bytes = Dataset::from_bytes(bytes, scale, offset, labels.clone(), 4, 3);
    let as_floats = Dataset::new(values, labels, 4, 3);
    assert_eq!(as_bytes.inputs(), as_floats.inputs());
    assert_eq!(as_bytes.get(7), as_floats.get(7));
    assert_eq!(
        as_bytes.subset(&[9, 0, 9]).into_parts(),
        as_floats.subset(&[9, 0, 9]).into_parts()
    );
    let (a, b) = as_bytes.clone().split(6);
    assert!(a.is_bytes() && b.is_bytes());
    assert_eq!(b.get(1), as_floats.get(7));

    // Statistics of the values the bytes stand for, and the same standardization.
    let (nb, nf) = (
        Normalization::fit(&as_bytes),
        Normalization::fit(&as_floats),
    );
    assert!((nb.mean - nf.mean).abs() < 1e-12 && (nb.std - nf.std).abs() < 1e-12);
    let (mut sb, mut sf) = (as_bytes.clone(), as_floats.clone());
    nf.apply(&mut sb);
    nf.apply(&mut sf);
    for (x, y) in sb.inputs().iter().zip(sf.inputs().iter()) {
        assert!(
            (x - y).abs() <= 4.0 * f32::EPSILON * y.abs().max(1.0),
            "{x} vs {y}"
        );
    }
    let refit = Normalization::fit(&sb);
    assert!(refit.mean.abs() < 1e-6 && (refit.std - 1.0).abs() < 1e-6);

    // Batches read the same rows either way.
    let (mut gb, mut gf) = (Vec::new(), Vec::new());
    sb.gather_rows(&[3, 1], Layout::RowMajor, &mut gb);
    sf.gather_rows(&[3, 1], Layout::RowMajor, &mut gf);
    assert_eq!(gb.len(), 8);
    for (x, y) in gb.iter().zip(&gf) {
        assert!(
            (x - y).abs() <= 4.0 * f32::EPSILON * y.abs().max(1.0),
            "{x} vs {y}"
        );
    }
}

#[test]
#[should_panic(expected = "Dataset::gather_rows: row 10 of a data set of 10 rows")]
fn gathering_a_missing_row_names_it() {
    let ds = Dataset::from_bytes(vec![0; 20], 1.0, 0.0, vec![0; 10], 2, 1);
    ds.gather_rows(&[2, 10], Layout::RowMajor, &mut Vec::new());
}

// ---------------------------------------------------------------- digits CSV

fn digits_line(pixel: u32, label: &str) -> String {
    let mut fields: Vec<String> = (0..64).map(|i| ((i + pixel) % 17).to_string()).collect();
    fields.push(label.to_string());
    fields.join(",")
}

fn write_text(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    if name.ends_with(".gz") {
        std::fs::write(&p, gzip(text.as_bytes())).unwrap();
    } else {
        std::fs::write(&p, text).unwrap();
    }
    p
}

#[test]
fn digits_csv_loads_raw_and_gz() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n{}\n\n{}\n",
        digits_line(0, "3"),
        digits_line(5, "0"),
        digits_line(16, "9")
    );
    for name in ["d.csv", "d.csv.gz"] {
        let ds = load_digits(write_text(&dir, name, &text)).unwrap();
        assert_eq!((ds.len(), ds.dim(), ds.classes()), (3, 64, 10));
        assert_eq!(ds.labels(), &[3, 0, 9]);
        let (x, _) = ds.get(1).unwrap();
        assert_eq!(x[0], 5.0 / 16.0);
        assert_eq!(x[11], 1.0); // (11 + 5) % 17 = 16 → 16 / 16
        assert!(ds.inputs().iter().all(|&v| (0.0..=1.0).contains(&v)));
    }
}

#[test]
fn digits_csv_errors_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = digits_line(0, "1");

    let mut bad = digits_line(0, "2");
    bad = bad.replacen("2,", "x2,", 1); // column 3 holds "2" in line 2
    let p = write_text(&dir, "bad-value.csv", &format!("{good}\n{bad}\n"));
    let err = load_digits(&p).unwrap_err();
    match &err {
        DataError::Csv {
            line,
            column,
            value,
            ..
        } => assert_eq!((*line, *column, value.as_str()), (2, 3, "x2")),
        other => panic!("expected Csv, got {other:?}"),
    }
    assert_names(&err, &p);
    assert!(err.to_string().contains("line 2, column 3"), "{err}");

    let short = good.rsplit_once(',').unwrap().0.to_string();
    let p = write_text(
        &dir,
        "columns.csv.gz",
        &format!("{good}\n{good}\n{short}\n"),
    );
    let err = load_digits(&p).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CsvColumns {
                line: 3,
                expected: 65,
                found: 64,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &p);

    let p = write_text(
        &dir,
        "label.csv",
        &format!("{good}\n{}\n", digits_line(1, "10")),
    );
    let err = load_digits(&p).unwrap_err();
    match &err {
        DataError::LabelOutOfRange {
            location, label, ..
        } => {
            assert_eq!(location, "line 2, column 65");
            assert_eq!(label, "10");
        }
        other => panic!("expected LabelOutOfRange, got {other:?}"),
    }
    assert_names(&err, &p);

    let p = write_text(
        &dir,
        "pixel.csv",
        &digits_line(0, "1").replacen("0,", "17,", 1),
    );
    let err = load_digits(&p).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Csv {
                line: 1,
                column: 1,
                ..
            }
        ),
        "{err:?}"
    );

    let p = write_text(&dir, "fraction.csv", &digits_line(0, "1.5"));
    let err = load_digits(&p).unwrap_err();
    assert!(matches!(err, DataError::Csv { column: 65, .. }), "{err:?}");

    let missing = dir.path().join("nope.csv");
    let err = load_digits(&missing).unwrap_err();
    assert!(matches!(err, DataError::MissingFile { .. }), "{err:?}");
    assert_names(&err, &missing);
}

#[test]
fn train_test_split_is_seeded_and_partitions_rows() {
    let ds = Dataset::new((0..100).map(|x| x as f32).collect(), vec![0; 100], 1, 1);
    let (train, test) = train_test_split(&ds, 0.2, 7);
    assert_eq!((train.len(), test.len()), (80, 20));
    let mut all: Vec<i64> = train
        .inputs()
        .iter()
        .chain(test.inputs().iter())
        .map(|&x| x as i64)
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    assert_eq!(train_test_split(&ds, 0.2, 7), (train.clone(), test.clone()));
    assert_ne!(train_test_split(&ds, 0.2, 8).1, test);
    assert_eq!(train_test_split(&ds, 0.0, 1).1.len(), 0);
    assert_eq!(train_test_split(&ds, 1.0, 1).0.len(), 0);
}

// ---------------------------------------------------------------- DataLoader

/// `n` rows of dimension 2 where row `i` is `[i, -i]`, label `i % 3`.
fn indexed(n: usize) -> Dataset {
    let inputs = (0..n).flat_map(|i| [i as f32, -(i as f32)]).collect();
    Dataset::new(inputs, (0..n).map(|i| i % 3).collect(), 2, 3)
}

#[test]
fn each_epoch_covers_every_index_once_with_matching_rows() {
    let ds = indexed(10);
    let loader = DataLoader::new(&ds, 4).shuffle(123);
    assert_eq!(loader.num_batches(), 3);
    for epoch in 0..4 {
        let batches: Vec<_> = loader.epoch(epoch).collect();
        assert_eq!(
            batches.iter().map(|b| b.shape).collect::<Vec<_>>(),
            vec![[4, 2], [4, 2], [2, 2]]
        );
        let mut seen = Vec::new();
        for b in &batches {
            assert_eq!(b.inputs.len(), b.shape[0] * b.shape[1]);
            for (k, &i) in b.indices.iter().enumerate() {
                assert_eq!(b.inputs[2 * k], i as f32);
                assert_eq!(b.inputs[2 * k + 1], -(i as f32));
                assert_eq!(b.labels[k], i % 3);
            }
            seen.extend_from_slice(&b.indices);
        }
        assert_eq!(seen.len(), 10);
        assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 10);
        assert_eq!(loader.epoch_order(epoch), seen);
    }
}

#[test]
fn drop_last_drops_only_the_short_batch() {
    let ds = indexed(10);
    let dropped = DataLoader::new(&ds, 4).shuffle(1).drop_last(true);
    assert_eq!(dropped.num_batches(), 2);
    let batches: Vec<_> = dropped.epoch(0).collect();
    assert_eq!(batches.len(), 2);
    assert!(batches.iter().all(|b| b.len() == 4));
    let seen: BTreeSet<_> = batches.iter().flat_map(|b| b.indices.clone()).collect();
    assert_eq!(seen.len(), 8);

    // Exact multiple: nothing is dropped.
    let exact = indexed(8);
    assert_eq!(
        DataLoader::new(&exact, 4).drop_last(true).epoch(0).count(),
        2
    );
    // Fewer rows than a batch: no batch at all with drop_last, one without.
    let tiny = indexed(3);
    assert_eq!(
        DataLoader::new(&tiny, 4).drop_last(true).epoch(0).count(),
        0
    );
    assert_eq!(DataLoader::new(&tiny, 4).epoch(0).count(), 1);
    // Empty data set.
    let empty = indexed(0);
    assert_eq!(DataLoader::new(&empty, 4).epoch(0).count(), 0);
}

#[test]
fn same_seed_same_batches_and_epochs_differ() {
    let ds = indexed(64);
    let a = DataLoader::new(&ds, 8).shuffle(42);
    let b = DataLoader::new(&ds, 8).shuffle(42);
    for epoch in 0..3 {
        let xa: Vec<_> = a.epoch(epoch).collect();
        let xb: Vec<_> = b.epoch(epoch).collect();
        assert_eq!(xa, xb);
    }
    // Replaying an epoch gives the same batches.
    assert_eq!(
        a.epoch(1).collect::<Vec<_>>(),
        a.epoch(1).collect::<Vec<_>>()
    );
    let orders: Vec<_> = (0..5).map(|e| a.epoch_order(e)).collect();
    for i in 0..orders.len() {
        for j in i + 1..orders.len() {
            assert_ne!(orders[i], orders[j], "epochs {i} and {j}");
        }
    }
    assert_ne!(
        DataLoader::new(&ds, 8).shuffle(43).epoch_order(0),
        orders[0]
    );
    // Shuffled orders are not the identity.
    assert_ne!(orders[0], (0..64).collect::<Vec<_>>());
}

#[test]
fn unshuffled_loader_is_sequential_and_converts() {
    let ds = indexed(5);
    let loader = DataLoader::new(&ds, 2);
    let batches: Vec<_> = loader.epoch(3).collect();
    assert_eq!(batches[0].indices, vec![0, 1]);
    assert_eq!(batches[2].indices, vec![4]);
    assert_eq!(loader.epoch(0).len(), 3);
    let x64: Vec<f64> = batches[1].inputs_as();
    assert_eq!(x64, vec![2.0, -2.0, 3.0, -3.0]);
    let x32 = batches[1].inputs_as::<f32>();
    assert_eq!(x32, batches[1].inputs);
    // Taking the inputs converts the same way; f32 keeps the batch's buffer.
    assert_eq!(batches[1].clone().into_inputs_as::<f64>(), x64);
    let ptr = batches[1].inputs.as_ptr();
    let owned = batches.into_iter().nth(1).unwrap().into_inputs_as::<f32>();
    assert_eq!((owned.as_ptr(), owned), (ptr, x32));
}

/// Batches gathered ahead on the worker threads are the batches gathered on demand, for both
/// storages and layouts, MNIST-sized rows, a short last batch, several epochs; and an epoch left
/// half-way (its next batch still being gathered) or copied half-way does not disturb the next.
#[test]
fn prefetched_batches_equal_batches_gathered_on_demand() {
    let (rows, dim) = (300, 784);
    let bytes: Vec<u8> = (0..rows * dim).map(|i| (i * 31 % 251) as u8).collect();
    let labels: Vec<usize> = (0..rows).map(|i| i % 10).collect();
    let stored_as_bytes = Dataset::from_bytes(bytes.clone(), 0.5, -3.0, labels.clone(), dim, 10);
    let floats = bytes.iter().map(|&b| f32::from(b) * 0.5 - 3.0).collect();
    let stored_as_floats = Dataset::new(floats, labels, dim, 10);
    for ds in [&stored_as_bytes, &stored_as_floats] {
        for layout in [Layout::RowMajor, Layout::ColMajor] {
            let loader = DataLoader::new(ds, 64).shuffle(5).layout(layout);
            let on_demand = loader.clone().prefetch(false);
            for epoch in 0..3 {
                let got: Vec<_> = loader.epoch(epoch).collect();
                assert_eq!(got.len(), 5);
                assert_eq!(
                    got,
                    on_demand.epoch(epoch).collect::<Vec<_>>(),
                    "{layout:?}"
                );
            }
            let mut left = loader.epoch(7);
            let first = left.next().unwrap();
            let copy: Vec<_> = left.clone().collect();
            drop(left);
            assert_eq!(
                std::iter::once(first).chain(copy).collect::<Vec<_>>(),
                on_demand.epoch(7).collect::<Vec<_>>()
            );
        }
    }
}

// ---------------------------------------------------------------- real data (ignored by default)

fn env_path(var: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(var).unwrap_or_else(|| panic!("set {var} to run this test")))
}

#[test]
#[ignore = "needs MNIST_DIR"]
fn real_mnist_loads_with_expected_counts_and_statistics() {
    let dir = env_path("MNIST_DIR");
    let t = std::time::Instant::now();
    let m = Mnist::load(&dir).unwrap();
    eprintln!("Mnist::load: {:?}", t.elapsed());
    assert_eq!((m.train_len, m.test_len), (60_000, 10_000));
    assert_eq!(m.train_images.len(), 60_000 * 784);
    assert_eq!(m.test_labels.len(), 10_000);

    let t = std::time::Instant::now();
    let verified = Mnist::load_verified(&dir).unwrap();
    eprintln!("Mnist::load_verified: {:?}", t.elapsed());
    assert_eq!(verified, m);

    let t = std::time::Instant::now();
    let train = Dataset::from_mnist_train(&m);
    eprintln!("Dataset::from_mnist_train: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let norm = Normalization::fit(&train);
    eprintln!("Normalization::fit: {:?}; {norm:?}", t.elapsed());
    assert!((norm.mean - 0.1307).abs() < 1e-3, "{norm:?}");
    assert!((norm.std - 0.3081).abs() < 1e-3, "{norm:?}");
    let (train, valid) = train.split(50_000);
    assert_eq!((train.len(), valid.len()), (50_000, 10_000));
    let loader = DataLoader::new(&train, 64).shuffle(0).drop_last(true);
    assert_eq!(loader.epoch(0).count(), 50_000 / 64);
}

#[test]
#[ignore = "needs MNIST_DIR"]
fn real_mnist_matches_the_mnist_crate() {
    // The `mnist` crate reads raw files only: decompress into a temp dir for it.
    let dir = env_path("MNIST_DIR");
    let ours = Mnist::load(&dir).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for f in &MNIST_FILES {
        let src = Mnist::find_file(&dir, f.name).unwrap();
        let mut content = Vec::new();
        let file = std::fs::File::open(&src).unwrap();
        if src.extension().is_some_and(|e| e == "gz") {
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut content)
                .unwrap();
        } else {
            std::io::Read::read_to_end(&mut { file }, &mut content).unwrap();
        }
        std::fs::write(tmp.path().join(f.name), content).unwrap();
    }
    let t = std::time::Instant::now();
    let ours_raw = Mnist::load(tmp.path()).unwrap();
    eprintln!("Mnist::load (raw files): {:?}", t.elapsed());
    assert_eq!(ours_raw, ours);
    let base = format!("{}/", tmp.path().display());
    let t = std::time::Instant::now();
    let theirs = mnist::MnistBuilder::new()
        .base_path(&base)
        .label_format_digit()
        .training_set_length(60_000)
        .validation_set_length(0)
        .test_set_length(10_000)
        .finalize();
    eprintln!("mnist crate (raw files): {:?}", t.elapsed());
    assert_eq!(ours.train_images, theirs.trn_img);
    assert_eq!(ours.train_labels, theirs.trn_lbl);
    assert_eq!(ours.test_images, theirs.tst_img);
    assert_eq!(ours.test_labels, theirs.tst_lbl);
}

#[test]
#[ignore = "needs DIGITS_CSV"]
fn real_digits_load_and_split() {
    let path = env_path("DIGITS_CSV");
    let ds = load_digits(&path).unwrap();
    assert_eq!((ds.len(), ds.dim(), ds.classes()), (1797, 64, 10));
    let mut counts = [0usize; 10];
    for &l in ds.labels() {
        counts[l] += 1;
    }
    assert!(counts.iter().all(|&c| c > 150), "{counts:?}");
    let (train, test) = train_test_split(&ds, 0.2, 0);
    assert_eq!((train.len(), test.len()), (1438, 359));
}

// ---------------------------------------------------------------- downloader (feature `download`)

#[cfg(feature = "download")]
mod download {
    use super::*;
    use duograd::data::{download_file, download_mnist, sha256_hex};
    use std::net::TcpListener;

    use crate::common::http::serve;

    #[test]
    fn unreachable_mirror_fails_at_once_pointing_to_mnist_dir() {
        // A port that was just free: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let t = std::time::Instant::now();
        let err = download_mnist(dir.path(), &format!("http://127.0.0.1:{port}")).unwrap_err();
        assert!(t.elapsed() < std::time::Duration::from_secs(10));
        eprintln!("{err}");
        assert!(matches!(err, DataError::Download { .. }), "{err:?}");
        assert!(err.to_string().contains("MNIST_DIR"), "{err}");
        assert_names(&err, &dir.path().join(format!("{TRAIN_IMAGES}.gz")));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn wrong_archive_checksum_writes_nothing() {
        let url = serve(b"not the real archive".to_vec(), 1);
        let dir = tempfile::tempdir().unwrap();
        let err = download_mnist(dir.path(), &url).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::ChecksumMismatch {
                    what: "archive",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn download_file_writes_verified_body_atomically() {
        let body = gzip(b"hello");
        let url = serve(body.clone(), 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("hello.gz");
        download_file(&format!("{url}/hello.gz"), &dest, &sha256_hex(&body)).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), body);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
