//! Look-ups in a header's metadata domains (GDAL's `KEY=VALUE` items, copied from the
//! source), shared by the decoder, `info` and the input notices.

use geoembed_codec::{Header, MetadataDomain};

/// The value of `key` in the metadata domain `domain` (`""` = default domain).
pub fn metadata_value<'a>(
    domains: &'a [MetadataDomain],
    domain: &str,
    key: &str,
) -> Option<&'a str> {
    domains
        .iter()
        .filter(|d| d.name == domain)
        .flat_map(|d| d.items.iter())
        .map(|it| MetadataDomain::split_item(it))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// `(X_DATASET, Y_DATASET)` of a raster that has no affine geotransform but GDAL geolocation
/// arrays (curvilinear grids: netCDF with 2-D lon/lat, swaths). The GEOLOCATION domain is
/// copied into the `.emb` like any other, but it only *names* the lon/lat arrays, which stay
/// in the source file; callers say so.
pub fn geolocation_arrays(h: &Header) -> Option<(String, String)> {
    if h.georef.geotransform.is_some() {
        return None;
    }
    let x = metadata_value(&h.metadata, "GEOLOCATION", "X_DATASET")?;
    let y = metadata_value(&h.metadata, "GEOLOCATION", "Y_DATASET")?;
    Some((x.to_string(), y.to_string()))
}
