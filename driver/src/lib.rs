//! The GDAL plugin driver for `.emb` (`gdal_GeoEmbed.so`).
//!
//! GDAL loads `gdal_*.so` from its plugin directory and calls `GDALRegisterMe` (or
//! `GDALRegister_GeoEmbed`). The GDAL classes are a thin C++ shim (`shim/`); everything
//! else is Rust behind the C ABI of `shim/geoembed_driver.h`, implemented in [`ffi`].

// The crate and entry points are named as GDAL requires.
#![allow(non_snake_case)]

pub mod create;
pub mod create_copy;
pub mod ffi;
pub mod handle;
pub mod open_options;
pub mod tile_cache;
pub mod view;
pub mod vsi;

extern "C" {
    fn geoembed_shim_register();
}

/// GDAL's entry point for a plugin named `gdal_GeoEmbed.so`.
#[no_mangle]
pub extern "C" fn GDALRegister_GeoEmbed() {
    // A panic must not unwind into GDAL (the shim is C++ and registration is all C++).
    // SAFETY: the shim only talks to GDAL's driver manager.
    let _ = std::panic::catch_unwind(|| unsafe { geoembed_shim_register() });
}

/// The generic entry point GDAL tries for any plugin.
#[no_mangle]
pub extern "C" fn GDALRegisterMe() {
    GDALRegister_GeoEmbed();
}
