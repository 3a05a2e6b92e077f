//! Embeds libtorch's library folder as an rpath so test and bench binaries
//! find libtorch at run time without LD_LIBRARY_PATH.
fn main() {
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath={dir}");
        // CUDA kernels register only when libtorch_cuda is linked even though
        // nothing references it by symbol.
        if std::env::var("AUTOGLM_CUDA").is_ok_and(|v| v == "1") {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg=-ltorch");
        }
    }
    println!("cargo:rerun-if-env-changed=AUTOGLM_CUDA");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
}
