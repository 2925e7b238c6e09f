//! Residuals as tokens plus raw bits ("hybrid uint", as in JPEG XL's entropy coder): small
//! values are their own token; larger ones send their bit length and the next two bits as
//! a token and the remaining low bits raw. The entropy coder models ~30-60 tokens instead
//! of 2^16 values, and the raw low bits of large residuals are close to uniform anyway.
//!
//! The native codec codes residuals of up to 16 bits with the tables at the top; the float
//! codec's 64-bit residuals use [`wide`].

/// Values below this are tokens of their own.
pub(crate) const DIRECT: u32 = 16;
const DIRECT_BITS: u32 = 4;
/// Bits after the leading one that go into the token.
const MSB_IN_TOKEN: u32 = 2;

/// Number of tokens needed for values of up to `bits` bits.
pub(crate) const fn alphabet(bits: u32) -> usize {
    (DIRECT + (bits - DIRECT_BITS) * (1 << MSB_IN_TOKEN)) as usize
}

/// Folds a signed residual to unsigned: 0, -1, 1, -2, 2, ... → 0, 1, 2, 3, 4, ...
#[inline(always)]
pub(crate) fn zigzag(r: i32) -> u32 {
    ((r << 1) ^ (r >> 31)) as u32
}

#[inline(always)]
pub(crate) fn unzigzag(u: u32) -> i32 {
    ((u >> 1) as i32) ^ -((u & 1) as i32)
}

/// Token, number of raw bits and their value.
#[inline(always)]
pub(crate) fn split(u: u32) -> (u32, u32, u32) {
    if u < DIRECT {
        return (u, 0, 0);
    }
    let top_bit = 31 - u.leading_zeros(); // position of the leading one, >= DIRECT_BITS
    let extra = top_bit - MSB_IN_TOKEN;
    let mid = (u >> extra) & ((1 << MSB_IN_TOKEN) - 1);
    let token = DIRECT + ((top_bit - DIRECT_BITS) << MSB_IN_TOKEN) + mid;
    (token, extra, u & ((1 << extra) - 1))
}

/// Raw bits that follow `token`.
#[inline(always)]
pub(crate) fn extra_bits(token: u32) -> u32 {
    if token < DIRECT {
        0
    } else {
        ((token - DIRECT) >> MSB_IN_TOKEN) + DIRECT_BITS - MSB_IN_TOKEN
    }
}

/// Rebuilds the value from its token and raw bits.
#[inline(always)]
pub(crate) fn join(token: u32, raw: u32) -> u32 {
    if token < DIRECT {
        return token;
    }
    let index = token - DIRECT;
    let top_bit = (index >> MSB_IN_TOKEN) + DIRECT_BITS;
    let mid = index & ((1 << MSB_IN_TOKEN) - 1);
    let extra = top_bit - MSB_IN_TOKEN;
    (((1 << MSB_IN_TOKEN) | mid) << extra) | raw
}

/// Per token: the value with all raw bits zero, and the number of raw bits. Tables make the
/// decoder branch-free; entries past the alphabet have 32 raw bits, which no valid stream
/// produces (the decoder checks the token against the alphabet).
pub(crate) struct TokenTable {
    pub base: [u32; 256],
    pub extra: [u32; 256],
}

impl TokenTable {
    pub(crate) const fn new() -> Self {
        let mut base = [0u32; 256];
        let mut extra = [0u32; 256];
        let mut token = 0;
        while token < 256 {
            if token < DIRECT as usize {
                base[token] = token as u32;
            } else if token < alphabet(16) {
                let index = token as u32 - DIRECT;
                let top_bit = (index >> MSB_IN_TOKEN) + DIRECT_BITS;
                let mid = index & ((1 << MSB_IN_TOKEN) - 1);
                extra[token] = top_bit - MSB_IN_TOKEN;
                base[token] = ((1 << MSB_IN_TOKEN) | mid) << extra[token];
            } else {
                extra[token] = 32;
            }
            token += 1;
        }
        TokenTable { base, extra }
    }
}

pub(crate) static TOKENS: TokenTable = TokenTable::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_join_round_trip_and_alphabet_bounds() {
        for u in (0..70_000u32).chain([u16::MAX as u32, (1 << 20) + 12345]) {
            let (t, n, raw) = split(u);
            assert_eq!(n, extra_bits(t));
            assert_eq!(join(t, raw), u, "value {u}");
        }
        assert!(split(255).0 < alphabet(8) as u32);
        assert_eq!(split(255).0 + 1, alphabet(8) as u32);
        assert_eq!(split(65535).0 + 1, alphabet(16) as u32);
        for r in [-3, -1, 0, 1, 2, i32::MIN / 2, 40000] {
            assert_eq!(unzigzag(zigzag(r)), r);
        }
    }
}

/// The hybrid uint of 64-bit residuals (the float codec): values below 8 are their own
/// token; larger ones send their bit length and the two bits after the leading one, and
/// the remaining low bits raw. 252 tokens cover every `u64`.
pub(crate) mod wide {
    const DIRECT: u64 = 8;
    /// Tokens of 64-bit values.
    pub(crate) const ALPHABET: usize = 252;

    /// Folds a signed residual to unsigned: 0, -1, 1, -2, 2, ... → 0, 1, 2, 3, 4, ...
    #[inline(always)]
    pub(crate) fn zigzag(r: i64) -> u64 {
        ((r << 1) ^ (r >> 63)) as u64
    }

    /// Inverse of [`zigzag`].
    #[inline(always)]
    pub(crate) fn unzigzag(u: u64) -> i64 {
        ((u >> 1) as i64) ^ -((u & 1) as i64)
    }

    /// Token, number of raw bits, raw bits.
    #[inline(always)]
    pub(crate) fn split(u: u64) -> (usize, u32, u64) {
        if u < DIRECT {
            return (u as usize, 0, 0);
        }
        let top_bit = 63 - u.leading_zeros(); // >= 3
        let extra = top_bit - 2;
        let mid = (u >> extra) & 3;
        (
            8 + ((top_bit - 3) as usize) * 4 + mid as usize,
            extra,
            u & ((1u64 << extra) - 1),
        )
    }

    /// Per token: the value with all raw bits zero, the number of raw bits, and the bit
    /// length of every value of the token (contexts need only this, so they do not wait for
    /// the raw bits).
    pub(crate) struct WideTokenTable {
        pub(crate) base: [u64; 256],
        pub(crate) extra: [u32; 256],
        pub(crate) bit_len: [u8; 256],
    }

    const fn token_table() -> WideTokenTable {
        let mut base = [0u64; 256];
        let mut extra = [0u32; 256];
        let mut bit_len = [0u8; 256];
        let mut token = 0;
        while token < ALPHABET {
            if token < DIRECT as usize {
                base[token] = token as u64;
                bit_len[token] = (64 - (token as u64).leading_zeros()) as u8;
            } else {
                let extra_bits = (token - 8) / 4 + 3;
                let mid = ((token - 8) % 4) as u64;
                extra[token] = extra_bits as u32 - 2;
                base[token] = (4 | mid) << extra[token];
                bit_len[token] = extra_bits as u8 + 1;
            }
            token += 1;
        }
        WideTokenTable {
            base,
            extra,
            bit_len,
        }
    }

    /// The table of every token.
    pub(crate) static TOKENS: WideTokenTable = token_table();
}
