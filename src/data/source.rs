//! Reading a data file that may be gzip-compressed, with errors that name the file.
//!
//! Whether a file is compressed is decided by its first two bytes (the gzip magic `1f 8b`),
//! not by its name; a file named `*.gz` that is not gzip is reported as a
//! [`DataError::Gzip`].

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::error::DataError;

/// The two bytes every gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A readable data file: either the raw bytes of a file or the decompressed content of a gzip
/// file. Every read error is mapped to a [`DataError`] naming the file.
pub(crate) struct Source {
    path: PathBuf,
    reader: Box<dyn Read + Send>,
    gzip: bool,
    /// Length of the file on disk (compressed length for gzip).
    file_len: u64,
    /// Bytes of (decompressed) content consumed so far.
    consumed: u64,
}

impl Source {
    /// Opens `path`, sniffing the gzip magic.
    pub(crate) fn open(path: &Path) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let file_len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
        let mut buffered = BufReader::with_capacity(1 << 16, file);
        let head = {
            use std::io::BufRead;
            let buf = buffered.fill_buf().map_err(|e| DataError::io(path, e))?;
            [buf.first().copied(), buf.get(1).copied()]
        };
        let gzip = head == [Some(GZIP_MAGIC[0]), Some(GZIP_MAGIC[1])];
        let named_gz = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        if named_gz && !gzip {
            return Err(DataError::Gzip {
                path: path.to_path_buf(),
                reason: "not in gzip format (missing the 1f 8b magic bytes)".into(),
            });
        }
        let reader: Box<dyn Read + Send> = if gzip {
            Box::new(GzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        Ok(Source {
            path: path.to_path_buf(),
            reader,
            gzip,
            file_len,
            consumed: 0,
        })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Maps an I/O error raised while reading content to the right [`DataError`].
    fn read_error(&self, e: io::Error) -> DataError {
        if self.gzip {
            DataError::Gzip {
                path: self.path.clone(),
                reason: e.to_string(),
            }
        } else {
            DataError::Io {
                path: self.path.clone(),
                source: e,
            }
        }
    }

    /// Reads until `buf` is full or the content ends; returns the number of bytes read.
    pub(crate) fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize, DataError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
        self.consumed += filled as u64;
        Ok(filled)
    }

    /// Reads exactly `len` more bytes and checks that the content ends right there.
    ///
    /// Returns [`DataError::Truncated`] if it ends early and [`DataError::TrailingBytes`] if it
    /// goes on; both report lengths of the whole content (counting what was read before).
    /// Memory grows only with the bytes actually present, never with a declared `len` alone.
    pub(crate) fn read_exact_to_end(&mut self, len: u64) -> Result<Vec<u8>, DataError> {
        let start = self.consumed;
        let expected_total = start.saturating_add(len);
        // For a raw file the size on disk is the content size: check it before reading.
        if !self.gzip {
            if self.file_len < expected_total {
                return Err(DataError::Truncated {
                    path: self.path.clone(),
                    expected: expected_total,
                    actual: self.file_len,
                });
            }
            if self.file_len > expected_total {
                return Err(DataError::TrailingBytes {
                    path: self.path.clone(),
                    expected: expected_total,
                    actual: self.file_len,
                });
            }
        }
        // Cap the up-front allocation so a lying header cannot make us reserve gigabytes.
        let capacity = len.min(256 << 20) as usize;
        let mut out = Vec::with_capacity(capacity);
        let limit = len.saturating_add(1);
        let result = (&mut self.reader).take(limit).read_to_end(&mut out);
        let read = result.map_err(|e| self.read_error(e))? as u64;
        self.consumed += read;
        if read < len {
            return Err(DataError::Truncated {
                path: self.path.clone(),
                expected: expected_total,
                actual: start + read,
            });
        }
        if read > len {
            return Err(DataError::TrailingBytes {
                path: self.path.clone(),
                expected: expected_total,
                actual: start + read,
            });
        }
        Ok(out)
    }

    /// Reads the whole remaining content.
    pub(crate) fn read_all(mut self) -> Result<Vec<u8>, DataError> {
        let mut out = Vec::new();
        self.reader
            .read_to_end(&mut out)
            .map_err(|e| self.read_error(e))?;
        Ok(out)
    }
}

/// Reads a whole file, decompressing it if it is gzip.
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    Source::open(path)?.read_all()
}
