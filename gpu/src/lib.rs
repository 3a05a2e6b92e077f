//! libtorch (tch) models and the GPU actor pool for AutoGLM Home Services.
//!
//! This first piece provides device discovery ([`devices`]) and a smoke check
//! ([`smoke`]) proving that libtorch loads and computes on a given device.
//! CUDA is used when present, the CPU otherwise, through the same code path.

#![warn(missing_docs)]

pub mod device;

pub use device::{cuda_device_count, devices, DeviceInfo, DeviceKind};

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
    if let tch::Device::Cuda(index) = device {
        let count = cuda_device_count();
        if index >= count {
            return Err(GpuError::NoSuchDevice { index, count });
        }
    }
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
