//! Runs the smoke op on every discovered device: the CPU always, and each CUDA
//! device when libtorch sees one (skipped with a message otherwise).

use autoglm_gpu::{devices, smoke, DeviceKind, SMOKE_EXPECTED};

#[test]
fn smoke_runs_on_cpu() {
    assert_eq!(smoke(tch::Device::Cpu).expect("CPU smoke"), SMOKE_EXPECTED);
}

#[test]
fn smoke_runs_on_every_cuda_device() {
    let cuda: Vec<_> = devices().into_iter().filter(|d| d.kind == DeviceKind::Cuda).collect();
    if cuda.is_empty() {
        // `./dev` exports AUTOGLM_CUDA=1 for CUDA builds: there a missing GPU is a failure.
        assert_ne!(
            std::env::var("AUTOGLM_CUDA").as_deref(),
            Ok("1"),
            "AUTOGLM_CUDA=1 but libtorch sees no CUDA device (driver missing, or libtorch_cuda not linked?)"
        );
        eprintln!("SKIP: no CUDA device visible to libtorch; only the CPU path was exercised");
        return;
    }
    for d in cuda {
        let got = smoke(d.device()).unwrap_or_else(|e| panic!("smoke on {}: {e}", d.name));
        assert_eq!(got, SMOKE_EXPECTED, "smoke on {}", d.name);
    }
}

#[test]
fn discovery_lists_cpu_only_without_cuda() {
    let list = devices();
    if list.iter().all(|d| d.kind == DeviceKind::Cpu) {
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].index, None);
        assert_eq!(list[0].name, "cpu");
    }
}
