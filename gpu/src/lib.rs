//! libtorch (tch) models and the GPU actor pool for AutoGLM Home Services.
//!
//! - [`device`]: which devices models run on ([`devices`]: each CUDA device,
//!   else the CPU) and a [`smoke`] check that libtorch computes there.
//! - [`model`]: the character-level intent+slot network ([`NluModel`]), its
//!   model directory (`model.safetensors` + `manifest.json`, see [`manifest`]).
//! - [`train`]: deterministic training with held-out metrics.
//! - [`pool`]: the supervised model-worker pool with dynamic batching,
//!   back-pressure and a model registry (load, hot swap, unload).
//!
//! CUDA is used when present, the CPU otherwise, through the same code path.

#![warn(missing_docs)]

pub mod device;
pub mod manifest;
pub mod metrics;
pub mod model;
mod net;
pub mod pool;
pub mod service;
mod telemetry;
pub mod train;
pub mod vocab;

pub use device::{cuda_device_count, devices, DeviceInfo, DeviceKind};
pub use manifest::{Hyper, Manifest, Metrics};
pub use model::NluModel;
pub use pool::{ModelPool, ModelState, ModelStatus, PoolConfig, WorkerStatus};
pub use service::{NluError, NluService};
pub use train::{train, Progress, TrainConfig, TrainReport};

/// Errors raised by the GPU crate.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// A CUDA ordinal beyond the devices libtorch can see.
    #[error("no such CUDA device cuda:{index} ({count} available)")]
    NoSuchDevice {
        /// The ordinal asked for.
        index: usize,
        /// How many CUDA devices libtorch reports.
        count: usize,
    },
    /// libtorch reported an error (a C++ exception turned into a value).
    #[error("libtorch error: {0}")]
    Torch(#[from] tch::TchError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A model directory lacks one of its files.
    #[error("{what} not found: {path}")]
    MissingFile {
        /// The expected path.
        path: String,
        /// Which file (`model manifest`, `model weights`).
        what: &'static str,
    },
    /// `manifest.json` is unreadable or inconsistent.
    #[error("invalid model manifest {path}: {reason}")]
    Manifest {
        /// The manifest's path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The manifest's labels are not the ones this build predicts.
    #[error("model {what} labels do not match this build: expected {expected:?}, got {got:?}")]
    LabelMismatch {
        /// `intent` or `tag`.
        what: &'static str,
        /// The code's labels, in order.
        expected: Vec<String>,
        /// The manifest's labels.
        got: Vec<String>,
    },
    /// The weights file could not be read or written.
    #[error("model weights {path}: {reason}")]
    Weights {
        /// The weights file.
        path: String,
        /// What libtorch or safetensors said.
        reason: String,
    },
    /// A stored tensor has another shape than the manifest's network needs.
    #[error("weight {name} has shape {got:?}, the manifest's network needs {expected:?}")]
    ShapeMismatch {
        /// The tensor's name.
        name: String,
        /// The shape the network needs.
        expected: Vec<i64>,
        /// The stored shape.
        got: Vec<i64>,
    },
    /// The weights file lacks a tensor the network needs.
    #[error("weight {name} is missing from the weights file")]
    MissingTensor {
        /// The tensor's name.
        name: String,
    },
    /// The weights file holds a tensor the network does not have.
    #[error("weights file has an unexpected tensor {name}")]
    UnexpectedTensor {
        /// The tensor's name.
        name: String,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Training got no usable examples.
    #[error("no training examples: {0}")]
    NoExamples(String),
    /// The pool or one of its actors could not be started or reached.
    #[error("model pool: {0}")]
    Pool(String),
    /// A computation finished but returned a wrong value.
    #[error("{check}: expected {expected}, got {got}")]
    WrongResult {
        /// Which check failed.
        check: &'static str,
        /// The value the check expects.
        expected: f64,
        /// The value the device produced.
        got: f64,
    },
}

impl GpuError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        GpuError::Io { path: path.display().to_string(), source }
    }
}

/// Fails with [`GpuError::NoSuchDevice`] for a CUDA ordinal libtorch cannot see
/// (libtorch would abort instead of raising for some of these).
pub fn check_device(device: tch::Device) -> Result<(), GpuError> {
    if let tch::Device::Cuda(index) = device {
        let count = cuda_device_count();
        if index >= count {
            return Err(GpuError::NoSuchDevice { index, count });
        }
    }
    Ok(())
}

/// The value [`smoke`] must produce: the sum of `[[1,2],[3,4]] x [[5,6],[7,8]]`.
pub const SMOKE_EXPECTED: f64 = 134.0;

/// Runs one tiny tensor op on `device` (a 2x2 matmul, summed) and returns the
/// scalar after checking it equals [`SMOKE_EXPECTED`].
///
/// Fails with [`GpuError::NoSuchDevice`] for a CUDA ordinal that does not exist
/// (checked up front, so the call never aborts inside libtorch), with
/// [`GpuError::Torch`] when libtorch raises, and with [`GpuError::WrongResult`]
/// when the device computes a wrong answer.
pub fn smoke(device: tch::Device) -> Result<f64, GpuError> {
    check_device(device)?;
    let a = tch::Tensor::f_from_slice(&[1.0f32, 2.0, 3.0, 4.0])?.f_reshape([2, 2])?.f_to_device(device)?;
    let b = tch::Tensor::f_from_slice(&[5.0f32, 6.0, 7.0, 8.0])?.f_reshape([2, 2])?.f_to_device(device)?;
    let product = a.f_matmul(&b)?;
    let got = product.f_sum(tch::Kind::Double)?.f_to_device(tch::Device::Cpu)?.f_double_value(&[])?;
    if (got - SMOKE_EXPECTED).abs() > 1e-6 {
        return Err(GpuError::WrongResult { check: "2x2 matmul sum", expected: SMOKE_EXPECTED, got });
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_on_cpu() {
        assert_eq!(smoke(tch::Device::Cpu).unwrap(), SMOKE_EXPECTED);
    }

    #[test]
    fn missing_cuda_device_is_an_error_not_an_abort() {
        let count = cuda_device_count();
        match smoke(tch::Device::Cuda(count)) {
            Err(GpuError::NoSuchDevice { index, count: c }) => {
                assert_eq!((index, c), (count, count));
            }
            other => panic!("expected NoSuchDevice, got {other:?}"),
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        let e = GpuError::NoSuchDevice { index: 3, count: 1 };
        assert_eq!(e.to_string(), "no such CUDA device cuda:3 (1 available)");
        let e = GpuError::WrongResult { check: "x", expected: 1.0, got: 2.0 };
        assert_eq!(e.to_string(), "x: expected 1, got 2");
    }
}
