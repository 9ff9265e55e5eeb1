//! Neural-network building blocks: [`Parameter`] and [`Buffer`], the [`Module`] trait (and its
//! derive) with [`Forward`], layers ([`Linear`], [`Conv2d`], pooling, [`BatchNorm1d`] and
//! [`BatchNorm2d`], [`LayerNorm`], [`Embedding`], [`Dropout`], [`Flatten`], [`Identity`],
//! activations, [`Sequential`], [`Mlp`]), loss [`functional`]s, parameter [`init`]ialization,
//! and safetensors [`weights`].
//!
//! Models are written once, generic over the [`Backend`](crate::Backend), and their parameter
//! names follow PyTorch (`0.weight`, `linear1.bias`), so weights move between duograd and
//! PyTorch through safetensors files.
//!
//! ```
//! use duograd::nn::{functional as F, Activation, Forward, Mlp, Module};
//! use duograd::optim::{Optimizer, Sgd, SgdConfig};
//! use duograd::{Reduction, Tensor};
//! use duograd::backends::NdArray;
//! use rand::SeedableRng;
//!
//! type B = NdArray<f32>;
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let model = Mlp::<B>::new(&[4, 16, 3], Activation::Relu, &mut rng);
//! let mut opt = Sgd::new(model.parameters(), SgdConfig::new(0.1).momentum(0.9));
//!
//! let x = Tensor::<B>::randn(&[8, 4], 0.0, 1.0, &mut rng);
//! let labels = [0, 1, 2, 0, 1, 2, 0, 1];
//! let first = F::cross_entropy(&model.forward(&x), &labels, Reduction::Mean).item();
//! for _ in 0..20 {
//!     opt.zero_grad();
//!     let loss = F::cross_entropy(&model.forward(&x), &labels, Reduction::Mean);
//!     loss.backward().unwrap();
//!     opt.step();
//! }
//! let last = F::cross_entropy(&model.forward(&x), &labels, Reduction::Mean).item();
//! assert!(last < first);
//! ```

mod activation;
mod batch_norm;
mod buffer;
mod conv;
mod dropout;
mod embedding;
mod flatten;
mod forward;
pub mod functional;
mod generator;
pub mod init;
mod layer_norm;
mod linear;
mod mlp;
pub mod models;
pub mod module;
mod parameter;
mod parametric_activation;
mod pool;
mod py_repr;
mod sequential;
pub mod weights;

pub use activation::{Activation, Identity, ReLU, SiLU, Sigmoid, Tanh};
pub use batch_norm::{BatchNorm, BatchNorm1d, BatchNorm2d};
pub use buffer::{Buffer, Counter};
pub use conv::Conv2d;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use forward::Forward;
pub use generator::{Generator, GeneratorState};
pub use layer_norm::LayerNorm;
pub use linear::{Init, Linear};
pub use mlp::Mlp;
pub use module::Module;
pub use parameter::Parameter;
pub use parametric_activation::{LeakyReLU, Softplus, ELU, GELU};
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, MaxPool2d};
pub use sequential::Sequential;
pub use weights::{
    load_module_from_safetensors, load_safetensors, module_to_safetensors, read_safetensors,
    save_safetensors, write_safetensors, WeightsError,
};
