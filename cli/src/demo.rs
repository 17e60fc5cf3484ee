//! The demo images `capstan up` preloads so the examples run offline: busybox (from Debian's
//! busybox-static) and, when it has been built (`make images`), the static test program.

use std::path::{Path, PathBuf};

use capstan_image::ImageError;

pub const BUSYBOX: &str = "capstan.local/busybox:1.35";
pub const TESTAPP: &str = "capstan.local/testapp:0.1";

/// Where the static testapp is expected: beside this binary's build dir, or `$CAPSTAN_TESTAPP`.
pub fn testapp_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CAPSTAN_TESTAPP") {
        return Some(PathBuf::from(p)).filter(|p| p.exists());
    }
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?;
    let p = target.join("release").join("capstan-testapp");
    p.exists().then_some(p)
}

/// Builds the layouts under `dir`; returns (reference, layout dir) pairs.
pub fn build(dir: &Path) -> Result<Vec<(String, PathBuf)>, ImageError> {
    let mut out = Vec::new();
    let busybox = dir.join("busybox");
    if !busybox.join("index.json").exists() {
        capstan_image::demo::build_busybox_layout(&busybox, BUSYBOX)?;
    }
    out.push((BUSYBOX.to_string(), busybox));
    if let Some(bin) = testapp_binary() {
        let testapp = dir.join("testapp");
        capstan_image::demo::build_binary_layout(&testapp, TESTAPP, &bin, "testapp")?;
        out.push((TESTAPP.to_string(), testapp));
    }
    Ok(out)
}
