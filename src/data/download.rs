//! Downloading the MNIST archives from a mirror (cargo feature `download`).
//!
//! Each archive is fetched whole into memory, its SHA-256 compared with the official value, and
//! only then written, atomically (a temporary file in the same directory, then a rename), so a
//! failed or interrupted download never leaves a partial file under the real name. The first
//! failure stops everything with a [`DataError`]; a network failure's message tells the user to
//! fetch the files by hand and set `MNIST_DIR`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::checksum::{sha256_hex, verify_sha256};
use super::error::DataError;
use super::mnist::{MnistFile, MNIST_FILES};
use super::source::read_maybe_gz;

/// A public mirror of the official MNIST archives (the one torchvision uses).
pub const DEFAULT_MIRROR: &str = "https://ossci-datasets.s3.amazonaws.com/mnist";

/// Largest body accepted (the biggest MNIST archive is under 10 MB).
const MAX_BODY: u64 = 64 << 20;

/// Makes sure `dir` holds the four MNIST files, downloading the missing ones as
/// `{mirror_base_url}/{name}.gz` and checking each archive's SHA-256 against the official value.
///
/// A file already present (raw or `.gz`) whose uncompressed content has the published SHA-256
/// is kept. A present `.gz` that does not check out is downloaded again; a present raw file that
/// does not check out is reported as [`DataError::ChecksumMismatch`] (it would shadow the
/// archive), to be removed by hand. Returns the paths of the four files.
///
/// ```no_run
/// use duograd::data::{download_mnist, Mnist, DEFAULT_MIRROR};
/// let dir = Mnist::dir_from_env_or(Mnist::DEFAULT_DIR);
/// download_mnist(&dir, DEFAULT_MIRROR)?;
/// let mnist = Mnist::load(&dir)?;
/// # Ok::<(), duograd::data::DataError>(())
/// ```
pub fn download_mnist(
    dir: impl AsRef<Path>,
    mirror_base_url: &str,
) -> Result<Vec<PathBuf>, DataError> {
    let dir = dir.as_ref();
    fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let base = mirror_base_url.trim_end_matches('/');
    let mut paths = Vec::with_capacity(MNIST_FILES.len());
    for file in &MNIST_FILES {
        let raw = dir.join(file.name);
        if raw.is_file() {
            check_content(&raw, file)?;
            paths.push(raw);
            continue;
        }
        let gz = dir.join(format!("{}.gz", file.name));
        if !(gz.is_file() && check_content(&gz, file).is_ok()) {
            let url = format!("{base}/{}.gz", file.name);
            download_file(&url, &gz, file.archive_sha256)?;
        }
        paths.push(gz);
    }
    Ok(paths)
}

/// Checks a present file's uncompressed content against the published SHA-256.
fn check_content(path: &Path, file: &MnistFile) -> Result<(), DataError> {
    let content = read_maybe_gz(path)?;
    verify_sha256(
        path,
        "uncompressed content",
        &sha256_hex(&content),
        file.content_sha256,
    )
}

/// Downloads `url` to `dest` if the body's SHA-256 is `expected_sha256` (hex).
///
/// The body is held in memory (at most 64 MiB) and written atomically: a temporary file beside
/// `dest`, flushed to disk, then renamed. Connecting times out after 15 s and the whole transfer
/// after 5 minutes. Failures: [`DataError::Download`] (network or HTTP status),
/// [`DataError::ChecksumMismatch`] (nothing is written), [`DataError::Io`] (writing).
pub fn download_file(url: &str, dest: &Path, expected_sha256: &str) -> Result<(), DataError> {
    let download_error = |reason: String| DataError::Download {
        path: dest.to_path_buf(),
        url: url.to_string(),
        reason,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into();
    let response = agent
        .get(url)
        .call()
        .map_err(|e| download_error(e.to_string()))?;
    let body = response
        .into_body()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| download_error(e.to_string()))?;
    verify_sha256(dest, "archive", &sha256_hex(&body), expected_sha256)?;
    write_atomically(dest, &body)
}

/// Writes `bytes` to a temporary file beside `dest`, syncs it, and renames it to `dest`.
fn write_atomically(dest: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    let tmp = dest.with_file_name(format!(".{name}.part-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, dest)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        DataError::io(dest, e)
    })
}
