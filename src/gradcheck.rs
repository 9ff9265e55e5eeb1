//! Gradient checking by central finite differences, as PyTorch's `gradcheck`/`gradgradcheck`.

use rand::{rngs::StdRng, SeedableRng};
use thiserror::Error;

use crate::autograd::grad;
use crate::backend::Backend;
use crate::error::AutogradError;
use crate::tensor::Tensor;
use crate::Element;

/// Tolerances of [`gradcheck`]; the defaults are PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckOptions {
    /// Finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (relative to the numerical value).
    pub rtol: f64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

/// Why a gradient check failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GradcheckError {
    /// An analytical Jacobian entry differs from the numerical one.
    #[error(
        "d out[{output}] / d input{input}[{element}]: backward gives {analytical}, finite \
         differences give {numerical}"
    )]
    Mismatch {
        /// Which input.
        input: usize,
        /// Flat index of the input element.
        element: usize,
        /// Flat index of the output element.
        output: usize,
        /// Value from backward.
        analytical: f64,
        /// Value from central differences.
        numerical: f64,
    },
    /// The backward pass itself failed.
    #[error("backward failed: {0}")]
    Backward(#[from] AutogradError),
}

fn perturbed<B: Backend>(
    inputs: &[Tensor<B>],
    which: usize,
    element: usize,
    delta: f64,
) -> Vec<Tensor<B>> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // Keep the requires_grad flags: gradgradcheck's function differentiates its inputs.
            if i != which {
                return t.detach().requires_grad_(t.requires_grad());
            }
            let mut v = t.to_vec();
            v[element] += B::Elem::of(delta);
            Tensor::from_vec(v, t.shape()).requires_grad_(t.requires_grad())
        })
        .collect()
}

/// Checks the gradients of `f` at `inputs` against central finite differences, entry by entry
/// of the full Jacobian. Inputs that require grad are checked; use an `f64` backend.
///
/// ```
/// use duograd::{gradcheck, GradcheckOptions, Tensor};
/// use duograd::backends::NdArray;
///
/// let x = Tensor::<NdArray<f64>>::from_f64(&[0.3, -1.2, 2.0], &[3]).requires_grad_(true);
/// gradcheck(|t| t[0].tanh() * &t[0], &[x], GradcheckOptions::default()).unwrap();
/// ```
///
/// # Errors
/// The first mismatching Jacobian entry, or a failure of the backward pass.
pub fn gradcheck<B: Backend>(
    f: impl Fn(&[Tensor<B>]) -> Tensor<B>,
    inputs: &[Tensor<B>],
    opts: GradcheckOptions,
) -> Result<(), GradcheckError> {
    let out = f(inputs);
    let n_out = out.numel();
    let checked: Vec<usize> = (0..inputs.len())
        .filter(|&i| inputs[i].requires_grad())
        .collect();
    let targets: Vec<&Tensor<B>> = checked.iter().map(|&i| &inputs[i]).collect();
    // Analytical Jacobian, one row (output element) at a time.
    let mut analytical = Vec::with_capacity(n_out);
    for o in 0..n_out {
        let mut onehot = vec![0.0; n_out];
        onehot[o] = 1.0;
        let selector = Tensor::<B>::from_f64(&onehot, out.shape());
        let row = (&out * &selector).sum();
        // An output that does not depend on any checked input has a zero Jacobian row
        // (e.g. the second derivative of a linear op in gradgradcheck).
        let rows = match row.requires_grad() {
            true => grad(&row, &targets, false)?,
            false => targets.iter().map(|t| t.zeros_like()).collect(),
        };
        analytical.push(rows.iter().map(Tensor::to_vec_f64).collect::<Vec<_>>());
    }
    for (slot, &i) in checked.iter().enumerate() {
        for e in 0..inputs[i].numel() {
            let plus = f(&perturbed(inputs, i, e, opts.eps)).to_vec_f64();
            let minus = f(&perturbed(inputs, i, e, -opts.eps)).to_vec_f64();
            for (o, row) in analytical.iter().enumerate() {
                let numerical = (plus[o] - minus[o]) / (2.0 * opts.eps);
                let a = row[slot][e];
                // Written so that a NaN on either side fails the check.
                let close = (a - numerical).abs() <= opts.atol + opts.rtol * numerical.abs();
                if !close {
                    return Err(GradcheckError::Mismatch {
                        input: i,
                        element: e,
                        output: o,
                        analytical: a,
                        numerical,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Checks second derivatives: the gradient of `sum(f(x) · v)` for a fixed random `v`, computed
/// with `create_graph`, is itself gradchecked (PyTorch's `gradgradcheck`).
///
/// ```
/// use duograd::{gradgradcheck, GradcheckOptions, Tensor};
/// use duograd::backends::NdArray;
///
/// let x = Tensor::<NdArray<f64>>::from_f64(&[0.3, -1.2], &[2]).requires_grad_(true);
/// gradgradcheck(|t| t[0].powf(3.0), &[x], GradcheckOptions::default(), 7).unwrap();
/// ```
///
/// # Errors
/// As [`gradcheck`].
pub fn gradgradcheck<B: Backend>(
    f: impl Fn(&[Tensor<B>]) -> Tensor<B>,
    inputs: &[Tensor<B>],
    opts: GradcheckOptions,
    seed: u64,
) -> Result<(), GradcheckError> {
    let shape = f(inputs).shape().to_vec();
    let v = Tensor::<B>::randn(&shape, 0.0, 1.0, &mut StdRng::seed_from_u64(seed));
    let first_order = |xs: &[Tensor<B>]| {
        let targets: Vec<&Tensor<B>> = xs.iter().filter(|t| t.requires_grad()).collect();
        let grads = grad(&(&f(xs) * &v).sum(), &targets, true)
            .unwrap_or_else(|e| panic!("gradgradcheck: first-order backward failed: {e}"));
        let flat: Vec<Tensor<B>> = grads.iter().map(|g| g.flatten(0, -1)).collect();
        Tensor::cat(&flat.iter().collect::<Vec<_>>(), 0)
    };
    gradcheck(first_order, inputs, opts)
}
