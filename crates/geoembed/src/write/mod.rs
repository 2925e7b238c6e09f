//! Where results go: `.emb` files staged and renamed into place with their STAC sidecar,
//! `.npy` arrays, and, with GDAL, rasters in any GDAL format, GeoTessera's layout, PNG
//! pictures and XYZ tile pyramids.

pub mod datetime;
#[cfg(feature = "gdal")]
pub mod gdal;
pub mod npy;
#[cfg(feature = "gdal")]
pub mod rgba;
pub mod sidecar;
pub mod staging;
#[cfg(feature = "gdal")]
pub mod tessera;
#[cfg(feature = "gdal")]
pub mod xyz;

pub use staging::{check_output_file, check_overwrite, remove_staging_on_signals, Staging};
