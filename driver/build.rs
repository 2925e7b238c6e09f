//! Compiles the C++ shim (GDAL classes) against Debian's libgdal-dev headers; the Rust
//! side links libgdal itself through gdal-sys.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=shim/geoembed_driver.cpp");
    println!("cargo:rerun-if-changed=shim/geoembed_driver.h");
    let cflags = Command::new("gdal-config")
        .arg("--cflags")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|| {
            panic!("gdal-config not found: install libgdal-dev (bash scripts/setup.sh does)")
        });
    let mut b = cc::Build::new();
    b.cpp(true)
        .std("c++17")
        .file("shim/geoembed_driver.cpp")
        .include("shim");
    for f in cflags.split_whitespace() {
        match f.strip_prefix("-I") {
            Some(dir) => b.include(dir),
            None => b.flag(f),
        };
    }
    b.flag_if_supported("-Wno-unused-parameter");
    b.compile("geoembed_shim");
    println!("cargo:rustc-link-lib=gdal");
}
