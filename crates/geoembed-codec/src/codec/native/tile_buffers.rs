//! Tile-sized sample buffers kept for the next tile a thread encodes.
//!
//! Why: the native encoder holds three planes of the whole tile (centred values, spatial
//! predictions, residuals). Allocated afresh for every tile, buffers that large come from
//! the kernel each time (glibc maps and unmaps them), and filling them page-faulted: a
//! tenth of the encode of a real 100 x 101 x 128 Presto tile. A few are kept per thread,
//! within a bound, so a thread's peak memory is what one tile needs anyway.

use std::cell::RefCell;

/// Most buffers a thread keeps.
const KEPT: usize = 3;
/// Most bytes a thread keeps in them: three planes of a 256 x 256 x 128 tile.
const KEPT_BYTES: usize = 3 * 4 * 256 * 256 * 128;

thread_local! {
    static SPARE: RefCell<Vec<Vec<i32>>> = const { RefCell::new(Vec::new()) };
}

/// `len` zeros, in the smallest kept buffer that holds them, or a new one.
pub(super) fn zeroed(len: usize) -> Vec<i32> {
    let kept = SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        let fitting = (0..spare.len())
            .filter(|&i| spare[i].capacity() >= len)
            .min_by_key(|&i| spare[i].capacity());
        fitting.map(|i| spare.swap_remove(i))
    });
    match kept {
        Some(mut buffer) => {
            buffer.clear();
            buffer.resize(len, 0);
            buffer
        }
        None => vec![0; len],
    }
}

/// Keeps `buffer` for this thread's next tile, if it fits within the bounds.
pub(super) fn give_back(buffer: Vec<i32>) {
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        let held: usize = spare.iter().map(|b| b.capacity() * 4).sum();
        if spare.len() < KEPT && held + buffer.capacity() * 4 <= KEPT_BYTES {
            spare.push(buffer);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer given back is handed out again, zeroed, and never past the bounds.
    #[test]
    fn buffers_come_back_zeroed_within_the_bounds() {
        let mut first = zeroed(1000);
        first.iter_mut().for_each(|v| *v = 7);
        let address = first.as_ptr();
        give_back(first);
        let again = zeroed(600);
        assert_eq!(again.as_ptr(), address, "the kept buffer is reused");
        assert!(again.len() == 600 && again.iter().all(|&v| v == 0));
        give_back(again);
        give_back(vec![1; KEPT_BYTES / 4]);
        SPARE.with(|spare| assert_eq!(spare.borrow().len(), 1, "over the byte bound"));
        for _ in 0..KEPT + 2 {
            give_back(vec![0; 10]);
        }
        SPARE.with(|spare| assert_eq!(spare.borrow().len(), KEPT));
    }
}
