//! SHA-256 checks of data files (published hashes of MNIST content and archives).

use std::path::Path;

use sha2::{Digest, Sha256};

use super::error::DataError;

/// SHA-256 of `bytes` as 64 lowercase hex digits.
///
/// ```
/// use duograd::data::sha256_hex;
/// assert_eq!(
///     sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha256_hex_parts(&[bytes])
}

/// SHA-256 of the concatenation of `parts`, without building it.
pub(crate) fn sha256_hex_parts(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks that `actual_hex` (as returned by [`sha256_hex`]) equals `expected_hex`
/// (case-insensitive), else returns [`DataError::ChecksumMismatch`] naming `path`.
///
/// `what` says what was hashed, e.g. `"archive"` or `"uncompressed content"`.
///
/// ```
/// use duograd::data::{sha256_hex, verify_sha256, DataError};
/// let h = sha256_hex(b"abc");
/// assert!(verify_sha256("a.bin", "archive", &h, &h.to_uppercase()).is_ok());
/// let err = verify_sha256("a.bin", "archive", &h, &"0".repeat(64)).unwrap_err();
/// assert!(matches!(err, DataError::ChecksumMismatch { .. }));
/// ```
pub fn verify_sha256(
    path: impl AsRef<Path>,
    what: &'static str,
    actual_hex: &str,
    expected_hex: &str,
) -> Result<(), DataError> {
    if actual_hex.eq_ignore_ascii_case(expected_hex) {
        Ok(())
    } else {
        Err(DataError::ChecksumMismatch {
            path: path.as_ref().to_path_buf(),
            what,
            expected: expected_hex.to_ascii_lowercase(),
            actual: actual_hex.to_ascii_lowercase(),
        })
    }
}
