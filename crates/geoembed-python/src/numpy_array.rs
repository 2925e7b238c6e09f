//! Decoded samples as numpy arrays of the right dtype and shape.

use geoembed_codec::SampleType;
use numpy::{Element, IxDyn, PyArrayDyn, PyArrayMethods};
use pyo3::prelude::*;

fn filled<'py, T: Element>(py: Python<'py>, shape: &[usize], bytes: &[u8]) -> Bound<'py, PyAny> {
    let array = PyArrayDyn::<T>::zeros(py, IxDyn(shape), false);
    // SAFETY: the array was just created C-contiguous with `shape`, so its buffer holds
    // exactly `bytes.len()` bytes (the caller's window layout sized `bytes` for `shape`), is not shared with any
    // other object yet, and cannot overlap `bytes`, which Rust owns.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), array.data() as *mut u8, bytes.len());
    }
    array.into_any()
}

/// A new C-contiguous array of `shape` holding little-endian samples `bytes` of type `ty`.
pub fn from_samples<'py>(
    py: Python<'py>,
    ty: SampleType,
    shape: &[usize],
    bytes: &[u8],
) -> Bound<'py, PyAny> {
    match ty {
        SampleType::U8 => filled::<u8>(py, shape, bytes),
        SampleType::I8 => filled::<i8>(py, shape, bytes),
        SampleType::U16 => filled::<u16>(py, shape, bytes),
        SampleType::I16 => filled::<i16>(py, shape, bytes),
        SampleType::U32 => filled::<u32>(py, shape, bytes),
        SampleType::I32 => filled::<i32>(py, shape, bytes),
        SampleType::F32 => filled::<f32>(py, shape, bytes),
        SampleType::F64 => filled::<f64>(py, shape, bytes),
    }
}
