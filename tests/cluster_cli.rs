//! `autoglm serve --cluster`: the file, the cookie and the cluster listen
//! address are checked, with clear messages, before the node joins.

use std::process::Command;

fn serve_with(cluster_toml: &str, cookie: Option<&str>) -> (bool, String) {
    let dir = std::env::temp_dir().join(autoglm_storage::testing::unique("autoglm_cluster_cli_"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("cluster.toml");
    std::fs::write(&path, cluster_toml).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autoglm"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--cluster"]).arg(&path).arg("--data-dir").arg(dir.join("data"));
    cmd.env_remove("AUTOGLM_CLUSTER_COOKIE");
    if let Some(c) = cookie {
        cmd.env("AUTOGLM_CLUSTER_COOKIE", c);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn serve_checks_cluster_toml_the_cookie_and_the_listen_address() {
    let example = include_str!("../cluster.toml");
    let strong = "0123456789abcdef0123456789abcdef";

    let (ok, err) = serve_with(&example.replace("lease_ttl_ms", "lease_tl_ms"), Some(strong));
    assert!(!ok && err.contains("lease_tl_ms"), "an unknown key is named: {err}");

    let (ok, err) = serve_with(example, None);
    assert!(!ok && err.contains("AUTOGLM_CLUSTER_COOKIE") && err.contains("not set"), "{err}");

    // The cluster port is taken: the node says so and exits.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = taken.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
    let file = example.replace("127.0.0.1:4700", &format!("127.0.0.1:{port}"));
    let (ok, err) = serve_with(&file, Some(strong));
    assert!(!ok && err.contains("cluster listener on") && err.contains(&port.to_string()), "{err}");
}
