//! Fallible allocation for sizes that come from input. A failed allocation in Rust aborts
//! the process (no unwinding, `catch_unwind` cannot help), which inside a GDAL plugin takes
//! QGIS or a tile server down with it; these helpers turn it into an error instead.

use crate::error::{Error, Result};

/// An empty vector with room for `len` items, or an error naming `what`.
pub(crate) fn vec_with_capacity<T>(len: usize, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    reserve(&mut v, len, what)?;
    Ok(v)
}

/// `len` copies of `value`, or an error naming `what`.
pub(crate) fn filled_vec<T: Clone>(len: usize, value: T, what: &str) -> Result<Vec<T>> {
    let mut v = vec_with_capacity(len, what)?;
    v.resize(len, value);
    Ok(v)
}

/// Room for `additional` more items in `v`, or an error naming `what`.
pub(crate) fn reserve<T>(v: &mut Vec<T>, additional: usize, what: &str) -> Result<()> {
    v.try_reserve_exact(additional).map_err(|_| {
        let bytes = additional as u128 * std::mem::size_of::<T>() as u128;
        Error::out_of_memory(what, bytes)
    })
}
