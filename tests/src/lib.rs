//! End-to-end tests of Capstan's real binaries live in `tests/tests/`; this library holds what
//! they share: where the built binaries are.

use std::path::PathBuf;

/// Directory of the built binaries: `CAPSTAN_BIN_DIR`, else `$CARGO_TARGET_DIR/debug`, else
/// the workspace's `target/debug`.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CAPSTAN_BIN_DIR") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug")
}

pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// The repository root (for `examples/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
