//! Where results go: `.emb` files staged and renamed into place with their STAC sidecar,
//! and, with GDAL, rasters in any GDAL format, PNG pictures and XYZ tile pyramids.

#[cfg(feature = "gdal")]
pub mod gdal;
#[cfg(feature = "gdal")]
pub mod rgba;
pub mod sidecar;
pub mod staging;
#[cfg(feature = "gdal")]
pub mod xyz;

pub use staging::{check_output_file, check_overwrite, remove_staging_on_signals, Staging};
