//! Saving and loading parameters and buffers in the [safetensors] format, with PyTorch
//! `state_dict` names.
//!
//! A model saved here loads in PyTorch with
//! `model.load_state_dict(safetensors.torch.load_file(path))`, and a file written by
//! `safetensors.torch.save_file(model.state_dict(), path)` loads here into the equivalent
//! model (same layer layout, so the same names, e.g. an [`super::Mlp`] for an
//! `nn.Sequential` of `Linear` and activations).
//!
//! The file holds what PyTorch's `state_dict()` holds: every parameter
//! ([`Module::named_parameters`]) and every buffer ([`Module::named_buffers`], such as batch
//! norm's `1.running_mean` and `1.num_batches_tracked`).
//!
//! # Element types
//! Parameters and tensor buffers are written in the backend's element type (`F32` for `f32`,
//! `F64` for `f64`); loading converts whatever float type the file holds (`F64`, `F32`, `F16`,
//! `BF16`) to the backend's element type: widening is exact, `F64` into an `f32` model rounds
//! to nearest. Any other dtype is an [`WeightsError::UnsupportedDtype`] error. Counter buffers
//! ([`super::Counter`], e.g. `num_batches_tracked`) are `I64` scalars, as PyTorch's `long`
//! buffers: written as `I64` of shape `[]`, and loaded only from `I64`
//! ([`WeightsError::DtypeMismatch`] otherwise).
//!
//! # Errors
//! Loading is strict, as PyTorch's `load_state_dict(strict=True)`: every parameter and buffer
//! must be in the file with its exact shape, and the file must hold nothing else. Every check
//! runs before anything is written, so a failed load leaves the model unchanged. A file that is cut
//! short or is not a safetensors file is an error, never a panic.
//!
//! ```
//! use duograd::nn::{load_safetensors, save_safetensors, Activation, Mlp, Module};
//! use duograd::backends::NdArray;
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let model = Mlp::<NdArray<f32>>::new(&[4, 3, 2], Activation::Relu, &mut rng);
//! let path = std::env::temp_dir().join("duograd_weights_doctest.safetensors");
//! save_safetensors(&model, &path)?;
//!
//! let copy = Mlp::<NdArray<f32>>::new(&[4, 3, 2], Activation::Relu, &mut rng);
//! load_safetensors(&copy, &path)?;
//! assert_eq!(copy.parameters()[0].to_vec(), model.parameters()[0].to_vec());
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), duograd::nn::WeightsError>(())
//! ```
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Metadata, TensorView};
use safetensors::{Dtype, SafeTensors, View};
use thiserror::Error;

use super::{Buffer, Counter, Module};
use crate::autograd::with_no_grad;
use crate::backend::Backend;
use crate::tensor::Tensor;
use crate::Element;

/// Why weights could not be saved or loaded. Each variant names the file (or `<bytes>` for an
/// in-memory buffer) and, where there is one, the tensor.
#[derive(Debug, Error)]
pub enum WeightsError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error (e.g. `NotFound`).
        #[source]
        source: std::io::Error,
    },
    /// The file ends before the data its header announces.
    #[error("{path}: truncated safetensors file: {reason}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// The bytes are not a valid safetensors file.
    #[error("{path}: not a valid safetensors file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A parameter or buffer of the model has no tensor of its name in the file.
    #[error("{path}: no tensor '{name}' for the model's parameter or buffer of that name")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The parameter's or buffer's name (`"0.weight"`, `"1.running_mean"`).
        name: String,
    },
    /// The file holds a tensor that is neither a parameter nor a buffer of the model.
    #[error("{path}: tensor '{name}' matches no parameter or buffer of the model")]
    UnexpectedTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A tensor's shape differs from its parameter's or buffer's.
    #[error("{path}: tensor '{name}' has shape {found:?}, but the model's has shape {expected:?}")]
    ShapeMismatch {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The parameter's or buffer's shape.
        expected: Vec<usize>,
        /// The tensor's shape in the file.
        found: Vec<usize>,
    },
    /// A tensor's element type is not a float type that can be converted.
    #[error(
        "{path}: tensor '{name}' has dtype {dtype}; only F64, F32, F16 and BF16 can be loaded"
    )]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The dtype, as safetensors names it (`"I64"`).
        dtype: String,
    },
    /// A tensor's element type cannot be loaded into its buffer: a counter buffer
    /// (`num_batches_tracked`) takes only `I64`.
    #[error("{path}: tensor '{name}' has dtype {found}, but the model's buffer of that name is {expected}")]
    DtypeMismatch {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The buffer's dtype, as safetensors names it (`"I64"`).
        expected: String,
        /// The tensor's dtype in the file (`"F32"`).
        found: String,
    },
}

/// The name errors use for an in-memory buffer.
const BYTES: &str = "<bytes>";

/// The safetensors crate's limit on the header size; a larger length means garbage.
const MAX_HEADER: u64 = 100_000_000;

/// One tensor's bytes, ready to serialize.
struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Little-endian bytes of `t` in its element type (`F32` for `f32`, `F64` otherwise).
fn to_raw<B: Backend>(t: &Tensor<B>) -> Raw {
    let values = t.to_vec();
    let (dtype, data) = if B::Elem::NAME == "f32" {
        let bytes = values
            .iter()
            .flat_map(|v| (v.as_f64() as f32).to_le_bytes())
            .collect();
        (Dtype::F32, bytes)
    } else {
        let bytes = values
            .iter()
            .flat_map(|v| v.as_f64().to_le_bytes())
            .collect();
        (Dtype::F64, bytes)
    };
    Raw {
        dtype,
        shape: Vec::from(t.shape()),
        data,
    }
}

/// IEEE half precision to `f32` (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    match exp {
        0 => {
            // Zero or subnormal: frac · 2⁻²⁴.
            let v = frac as f32 * f32::from_bits(0x3380_0000);
            f32::from_bits(v.to_bits() | sign)
        }
        31 => f32::from_bits(sign | 0x7f80_0000 | (frac << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (frac << 13)),
    }
}

/// The values of `view` converted to `E`, or `None` for a non-float dtype.
fn decode<E: Element>(view: &TensorView<'_>) -> Option<Vec<E>> {
    let bytes = view.data();
    let values = match view.dtype() {
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|c| E::of(f64::from_le_bytes(c.try_into().expect("8-byte chunk"))))
            .collect(),
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|c| {
                E::of(f64::from(f32::from_le_bytes(
                    c.try_into().expect("4-byte chunk"),
                )))
            })
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|c| E::of(f64::from(f16_to_f32(u16::from_le_bytes([c[0], c[1]])))))
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|c| {
                let bits = u32::from(u16::from_le_bytes([c[0], c[1]])) << 16;
                E::of(f64::from(f32::from_bits(bits)))
            })
            .collect(),
        _ => return None,
    };
    Some(values)
}

/// Parses `bytes`, telling a file cut short ([`WeightsError::Truncated`]) from one that is not
/// safetensors at all ([`WeightsError::Corrupt`]).
pub(crate) fn parse<'a>(bytes: &'a [u8], path: &Path) -> Result<SafeTensors<'a>, WeightsError> {
    let truncated = |reason: String| WeightsError::Truncated {
        path: path.to_path_buf(),
        reason,
    };
    let corrupt = |reason: String| WeightsError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let len = bytes.len() as u64;
    let Some(prefix) = bytes.get(..8) else {
        return Err(truncated(format!(
            "{len} bytes, fewer than the 8-byte header length"
        )));
    };
    let n = u64::from_le_bytes(prefix.try_into().expect("8 bytes"));
    if n > MAX_HEADER {
        return Err(corrupt(format!(
            "the header length field reads {n} bytes, more than any safetensors header"
        )));
    }
    if bytes.get(8).is_some_and(|&b| b != b'{') {
        return Err(corrupt("the JSON header does not start with '{'".into()));
    }
    if 8 + n > len {
        return Err(truncated(format!(
            "the header is {n} bytes long, but only {} bytes follow its length",
            len - 8
        )));
    }
    let header = &bytes[8..8 + n as usize];
    let metadata: Metadata =
        serde_json::from_slice(header).map_err(|e| corrupt(format!("invalid header: {e}")))?;
    let available = len - 8 - n;
    let declared = metadata.data_len() as u64;
    if available < declared {
        return Err(truncated(format!(
            "the header announces {declared} bytes of tensor data, but only {available} are present"
        )));
    }
    SafeTensors::deserialize(bytes).map_err(|e| corrupt(e.to_string()))
}

/// Serializes named tensors to safetensors bytes, each in the backend's element type, with the
/// `{"format": "pt"}` metadata PyTorch's `safetensors.torch.save_file` writes.
///
/// # Errors
/// [`WeightsError::Corrupt`] if two tensors share a name or the header would be too large.
pub fn tensors_to_safetensors<B: Backend>(
    tensors: &[(String, Tensor<B>)],
) -> Result<Vec<u8>, WeightsError> {
    serialize(
        tensors
            .iter()
            .map(|(name, t)| (name.clone(), to_raw(t)))
            .collect(),
    )
}

/// Safetensors bytes of named raw tensors (names must be distinct), with PyTorch's metadata.
fn serialize(raw: Vec<(String, Raw)>) -> Result<Vec<u8>, WeightsError> {
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    serialize_with(raw, metadata)
}

/// Safetensors bytes of named entries (tensors in the backend's element type, counters as
/// `I64` scalars) with `metadata` as the header's `__metadata__`.
pub(crate) fn entries_to_safetensors<B: Backend>(
    entries: &[(String, Buffer<B>)],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, WeightsError> {
    serialize_with(
        entries
            .iter()
            .map(|(name, entry)| (name.clone(), entry_to_raw(entry)))
            .collect(),
        metadata,
    )
}

fn serialize_with(
    raw: Vec<(String, Raw)>,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, WeightsError> {
    let mut seen = std::collections::HashSet::new();
    if let Some((name, _)) = raw.iter().find(|(n, _)| !seen.insert(n.as_str())) {
        return Err(WeightsError::Corrupt {
            path: BYTES.into(),
            reason: format!("two tensors are named '{name}'"),
        });
    }
    safetensors::serialize(raw.iter().map(|(n, r)| (n.as_str(), r)), Some(metadata)).map_err(|e| {
        WeightsError::Corrupt {
            path: BYTES.into(),
            reason: e.to_string(),
        }
    })
}

/// Reads every tensor of safetensors `bytes`, converted to `B`'s element type, sorted by name.
///
/// # Errors
/// [`WeightsError::Truncated`], [`WeightsError::Corrupt`] or [`WeightsError::UnsupportedDtype`].
pub fn tensors_from_safetensors<B: Backend>(
    bytes: &[u8],
) -> Result<Vec<(String, Tensor<B>)>, WeightsError> {
    read_all(bytes, Path::new(BYTES))
}

fn read_all<B: Backend>(
    bytes: &[u8],
    path: &Path,
) -> Result<Vec<(String, Tensor<B>)>, WeightsError> {
    let st = parse(bytes, path)?;
    let mut out = Vec::with_capacity(st.len());
    for (name, view) in st.iter() {
        let values = decode::<B::Elem>(&view).ok_or_else(|| WeightsError::UnsupportedDtype {
            path: path.to_path_buf(),
            name: name.to_string(),
            dtype: format!("{:?}", view.dtype()),
        })?;
        out.push((name.to_string(), Tensor::from_vec(values, view.shape())));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The tensors of `st` named with `prefix` (kept in the names), sorted by name: float tensors
/// converted to `B`'s element type, `I64` scalars as counters.
///
/// # Errors
/// [`WeightsError::UnsupportedDtype`] for any other dtype or an `I64` tensor that is not a
/// scalar.
pub(crate) fn read_entries<B: Backend>(
    st: &SafeTensors<'_>,
    prefix: &str,
    path: &Path,
) -> Result<Vec<(String, Buffer<B>)>, WeightsError> {
    let mut out = Vec::new();
    for (name, view) in st.iter().filter(|(n, _)| n.starts_with(prefix)) {
        let unsupported = || WeightsError::UnsupportedDtype {
            path: path.to_path_buf(),
            name: name.to_string(),
            dtype: format!("{:?}", view.dtype()),
        };
        let entry = if view.dtype() == Dtype::I64 {
            let data: [u8; 8] = view.data().try_into().map_err(|_| unsupported())?;
            if !view.shape().is_empty() {
                return Err(unsupported());
            }
            Buffer::Counter(Counter::new(i64::from_le_bytes(data)))
        } else {
            let values = decode::<B::Elem>(&view).ok_or_else(unsupported)?;
            Buffer::Tensor(Tensor::from_vec(values, view.shape()))
        };
        out.push((name.to_string(), entry));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, WeightsError> {
    std::fs::read(path).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads every tensor of a safetensors file, converted to `B`'s element type, sorted by name.
///
/// # Errors
/// [`WeightsError::Io`], [`WeightsError::Truncated`], [`WeightsError::Corrupt`] or
/// [`WeightsError::UnsupportedDtype`].
pub fn read_safetensors<B: Backend>(
    path: impl AsRef<Path>,
) -> Result<Vec<(String, Tensor<B>)>, WeightsError> {
    let path = path.as_ref();
    read_all(&read_file(path)?, path)
}

/// Writes named tensors to a safetensors file (see [`tensors_to_safetensors`]).
///
/// # Errors
/// [`WeightsError::Io`] if the file cannot be written; [`WeightsError::Corrupt`] as
/// [`tensors_to_safetensors`].
pub fn write_safetensors<B: Backend>(
    tensors: &[(String, Tensor<B>)],
    path: impl AsRef<Path>,
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = tensors_to_safetensors(tensors)?;
    std::fs::write(path, bytes).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The model's PyTorch-style `state_dict`: every parameter, then every buffer, by name.
pub(crate) fn state_dict<B: Backend, M: Module<B> + ?Sized>(model: &M) -> Vec<(String, Buffer<B>)> {
    let params = model
        .named_parameters()
        .into_iter()
        .map(|(name, p)| (name, Buffer::Tensor(p.into_tensor())));
    params.chain(model.named_buffers()).collect()
}

/// A state entry's bytes: a tensor in its element type, a counter as an `I64` scalar.
fn entry_to_raw<B: Backend>(entry: &Buffer<B>) -> Raw {
    match entry {
        Buffer::Tensor(t) => to_raw(t),
        Buffer::Counter(c) => Raw {
            dtype: Dtype::I64,
            shape: Vec::new(),
            data: c.get().to_le_bytes().to_vec(),
        },
    }
}

fn module_bytes<B: Backend, M: Module<B> + ?Sized>(model: &M) -> Result<Vec<u8>, WeightsError> {
    serialize(
        state_dict(model)
            .iter()
            .map(|(name, entry)| (name.clone(), entry_to_raw(entry)))
            .collect(),
    )
}

/// The model's parameters and buffers as safetensors bytes (see [`save_safetensors`]).
///
/// # Errors
/// As [`tensors_to_safetensors`].
pub fn module_to_safetensors<B: Backend, M: Module<B> + ?Sized>(
    model: &M,
) -> Result<Vec<u8>, WeightsError> {
    module_bytes(model)
}

/// Saves the model's `state_dict` to a safetensors file: its parameters under their
/// [`Module::named_parameters`] names and its buffers under their [`Module::named_buffers`]
/// names, tensors in the backend's element type and counters as `I64`.
///
/// # Errors
/// [`WeightsError::Io`] if the file cannot be written; [`WeightsError::Corrupt`] if two entries
/// share a name.
pub fn save_safetensors<B: Backend, M: Module<B> + ?Sized>(
    model: &M,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let bytes = module_bytes(model)?;
    std::fs::write(path, bytes).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Loads the model's parameters and buffers from safetensors `bytes` (see
/// [`load_safetensors`]).
///
/// # Errors
/// As [`load_safetensors`], naming the source `<bytes>`.
pub fn load_module_from_safetensors<B: Backend, M: Module<B> + ?Sized>(
    model: &M,
    bytes: &[u8],
) -> Result<(), WeightsError> {
    load_into(model, bytes, Path::new(BYTES))
}

/// Loads the model's parameters and buffers from a safetensors file, in place: each parameter
/// and buffer keeps its identity (an optimizer holding a parameter sees the new values).
/// Strict, as PyTorch's `load_state_dict`; nothing is written unless the whole file matches.
///
/// # Errors
/// [`WeightsError::Io`] (e.g. no such file), [`WeightsError::Truncated`],
/// [`WeightsError::Corrupt`], [`WeightsError::MissingTensor`],
/// [`WeightsError::UnexpectedTensor`], [`WeightsError::ShapeMismatch`],
/// [`WeightsError::UnsupportedDtype`], [`WeightsError::DtypeMismatch`].
pub fn load_safetensors<B: Backend, M: Module<B> + ?Sized>(
    model: &M,
    path: impl AsRef<Path>,
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    load_into(model, &read_file(path)?, path)
}

/// A checked value, ready to be written into the model.
enum Update<B: Backend> {
    Tensor(Tensor<B>, Tensor<B>),
    Counter(Counter, i64),
}

fn load_into<B: Backend, M: Module<B> + ?Sized>(
    model: &M,
    bytes: &[u8],
    path: &Path,
) -> Result<(), WeightsError> {
    load_module_entries(model, &parse(bytes, path)?, "", path)
}

/// Loads the model's parameters and buffers from the tensors of `st` named with `prefix` (the
/// rest of each name is the parameter's or buffer's), strictly: tensors without the prefix are
/// ignored, those with it must all belong to the model.
pub(crate) fn load_module_entries<B: Backend, M: Module<B> + ?Sized>(
    model: &M,
    st: &SafeTensors<'_>,
    prefix: &str,
    path: &Path,
) -> Result<(), WeightsError> {
    let entries: Vec<(String, Buffer<B>)> = state_dict(model)
        .into_iter()
        .map(|(name, entry)| (format!("{prefix}{name}"), entry))
        .collect();
    let mut updates = Vec::with_capacity(entries.len());
    for (name, entry) in &entries {
        let view = st.tensor(name).map_err(|_| WeightsError::MissingTensor {
            path: path.to_path_buf(),
            name: name.clone(),
        })?;
        if view.shape() != entry.shape() {
            return Err(WeightsError::ShapeMismatch {
                path: path.to_path_buf(),
                name: name.clone(),
                expected: Vec::from(entry.shape()),
                found: Vec::from(view.shape()),
            });
        }
        updates.push(match entry {
            Buffer::Tensor(t) => {
                let values =
                    decode::<B::Elem>(&view).ok_or_else(|| WeightsError::UnsupportedDtype {
                        path: path.to_path_buf(),
                        name: name.clone(),
                        dtype: format!("{:?}", view.dtype()),
                    })?;
                Update::Tensor(t.clone(), Tensor::from_vec(values, view.shape()))
            }
            Buffer::Counter(c) => {
                if view.dtype() != Dtype::I64 {
                    return Err(WeightsError::DtypeMismatch {
                        path: path.to_path_buf(),
                        name: name.clone(),
                        expected: "I64".into(),
                        found: format!("{:?}", view.dtype()),
                    });
                }
                let data: [u8; 8] = view.data().try_into().expect("an I64 scalar is 8 bytes");
                Update::Counter(c.clone(), i64::from_le_bytes(data))
            }
        });
    }
    let mut extra: Vec<&str> = st
        .names()
        .into_iter()
        .filter(|n| n.starts_with(prefix) && !entries.iter().any(|(e, _)| e == n))
        .collect();
    extra.sort_unstable();
    if let Some(name) = extra.first() {
        return Err(WeightsError::UnexpectedTensor {
            path: path.to_path_buf(),
            name: name.to_string(),
        });
    }
    with_no_grad(|| {
        for update in updates {
            match update {
                Update::Tensor(target, value) => target.copy_(&value),
                Update::Counter(target, value) => target.set(value),
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_matches_known_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }
}
