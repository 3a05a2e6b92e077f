//! Device discovery: which libtorch devices this process can run models on.
//!
//! CUDA devices are listed when libtorch was built with CUDA *and* a driver and
//! a device are present; otherwise the list holds a single CPU entry, so callers
//! always get at least one device and take the same code path either way.

use serde::Serialize;

/// The family of a compute device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// An NVIDIA GPU driven through libtorch's CUDA backend.
    Cuda,
    /// The host CPU (libtorch's CPU backend), the universal fallback.
    Cpu,
}

impl DeviceKind {
    /// The lowercase wire name: `"cuda"` or `"cpu"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Cuda => "cuda",
            DeviceKind::Cpu => "cpu",
        }
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One usable device, as shown by `/ops/models` and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// CUDA ordinal (`Some(0)` for `cuda:0`); `None` for the CPU.
    pub index: Option<usize>,
    /// Device family, serialized as `"cuda"` or `"cpu"`.
    pub kind: DeviceKind,
    /// Human-readable name in libtorch's notation: `cuda:0`, `cpu`.
    pub name: String,
}

impl DeviceInfo {
    /// The CPU entry.
    pub fn cpu() -> Self {
        DeviceInfo { index: None, kind: DeviceKind::Cpu, name: "cpu".to_owned() }
    }

    /// The entry for CUDA device `index` (not checked against the hardware).
    pub fn cuda(index: usize) -> Self {
        DeviceInfo { index: Some(index), kind: DeviceKind::Cuda, name: format!("cuda:{index}") }
    }

    /// The `tch::Device` to place tensors and models on.
    pub fn device(&self) -> tch::Device {
        match (self.kind, self.index) {
            (DeviceKind::Cuda, Some(i)) => tch::Device::Cuda(i),
            (DeviceKind::Cuda, None) => tch::Device::Cuda(0),
            (DeviceKind::Cpu, _) => tch::Device::Cpu,
        }
    }
}

/// Number of CUDA devices libtorch can use (0 without CUDA support, driver or GPU).
pub fn cuda_device_count() -> usize {
    if !tch::Cuda::is_available() {
        return 0;
    }
    usize::try_from(tch::Cuda::device_count()).unwrap_or(0)
}

/// Every device to run models on: each CUDA device in ordinal order, or one CPU
/// entry when there is none. Never empty.
pub fn devices() -> Vec<DeviceInfo> {
    match cuda_device_count() {
        0 => vec![DeviceInfo::cpu()],
        n => (0..n).map(DeviceInfo::cuda).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_is_never_empty_and_consistent() {
        let list = devices();
        assert!(!list.is_empty());
        let n = cuda_device_count();
        if n == 0 {
            assert_eq!(list, vec![DeviceInfo::cpu()]);
        } else {
            assert_eq!(list.len(), n);
            for (i, d) in list.iter().enumerate() {
                assert_eq!(d, &DeviceInfo::cuda(i));
                assert_eq!(d.device(), tch::Device::Cuda(i));
            }
        }
    }

    #[test]
    fn serializes_kind_as_lowercase_string() {
        let json = serde_json::to_value(DeviceInfo::cuda(1)).unwrap();
        assert_eq!(json, serde_json::json!({"index": 1, "kind": "cuda", "name": "cuda:1"}));
        let json = serde_json::to_value(DeviceInfo::cpu()).unwrap();
        assert_eq!(json, serde_json::json!({"index": null, "kind": "cpu", "name": "cpu"}));
    }
}
