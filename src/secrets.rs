//! The node's secret key, kept in the data dir: it signs tokens and, unless
//! configured otherwise, payment callbacks. `autoglm token --data-dir` reads
//! the same file, so tokens it prints are accepted by the node.

use anyhow::{Context, Result};
use autoglm_core::auth::TokenKey;
use std::io::Write;
use std::path::Path;

const FILE: &str = "secret.key";

/// The secret of `data_dir`, created (0600) on first use.
pub fn load_or_create(data_dir: &Path) -> Result<Vec<u8>> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating data dir {}", data_dir.display()))?;
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => hex::decode(text.trim()).with_context(|| format!("{} is not a hex key", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            match opts.open(&path) {
                Ok(mut f) => {
                    f.write_all(hex::encode(key).as_bytes())?;
                    Ok(key.to_vec())
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(data_dir),
                Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The token key: the configured secret, or one derived from the data dir's key.
pub fn token_key(configured: &str, data_dir: &Path) -> Result<TokenKey> {
    let secret = if configured.is_empty() {
        derive(&load_or_create(data_dir)?, "tokens")
    } else {
        configured.as_bytes().to_vec()
    };
    TokenKey::new(secret).context("auth.token_secret must be at least 16 bytes")
}

/// The payment callback secret: configured, or derived from the data dir's key.
pub fn callback_secret(configured: &str, data_dir: &Path) -> Result<Vec<u8>> {
    if configured.is_empty() {
        Ok(derive(&load_or_create(data_dir)?, "payments"))
    } else {
        Ok(configured.as_bytes().to_vec())
    }
}

fn derive(key: &[u8], purpose: &str) -> Vec<u8> {
    autoglm_core::payment::sign(key, purpose.as_bytes()).into_bytes()
}
