//! Reversible transforms applied to samples before prediction: the file-level inter-band
//! decorrelation and the mapping of samples to unsigned machine words that filters and
//! byte-plane splits work on.

pub mod decorrelate;
pub(crate) mod words;
