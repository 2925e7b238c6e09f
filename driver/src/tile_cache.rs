//! A few decoded tiles, least recently used first out. GDAL asks for one band's block at
//! a time; without this, reading all bands of a 128-band tile would decode it 128 times.

use std::collections::VecDeque;

/// Budget for decoded tiles; at least two tiles are always kept (a window straddling a
/// tile edge alternates between them).
const CACHE_BYTES: usize = 64 << 20;

pub type TileKey = (u32, u32);

pub struct TileCache {
    capacity: usize,
    tiles: VecDeque<(TileKey, Vec<u8>)>,
}

impl TileCache {
    pub fn new(tile_bytes: usize) -> Self {
        TileCache {
            capacity: (CACHE_BYTES / tile_bytes.max(1)).max(2),
            tiles: VecDeque::new(),
        }
    }

    pub fn get_or_decode<E>(
        &mut self,
        key: TileKey,
        decode: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<&[u8], E> {
        if let Some(i) = self.tiles.iter().position(|(k, _)| *k == key) {
            let hit = self.tiles.remove(i).expect("index from position");
            self.tiles.push_front(hit);
        } else {
            let samples = decode()?;
            if self.tiles.len() >= self.capacity {
                self.tiles.pop_back();
            }
            self.tiles.push_front((key, samples));
        }
        Ok(&self.tiles[0].1)
    }

    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_tile_once_and_evicts_the_oldest() {
        let mut c = TileCache::new(40 << 20); // room for the minimum of two
        let mut decodes = 0;
        let mut get = |c: &mut TileCache, k: TileKey| {
            c.get_or_decode::<()>(k, || {
                decodes += 1;
                Ok(vec![k.0 as u8])
            })
            .unwrap()
            .to_vec()
        };
        assert_eq!(get(&mut c, (1, 0)), [1]);
        assert_eq!(get(&mut c, (1, 0)), [1]);
        assert_eq!(get(&mut c, (2, 0)), [2]);
        assert_eq!(get(&mut c, (1, 0)), [1]); // hit: (1, 0) becomes the newest
        assert_eq!(get(&mut c, (3, 0)), [3]); // evicts (2, 0)
        assert_eq!(get(&mut c, (1, 0)), [1]);
        assert_eq!(get(&mut c, (2, 0)), [2]);
        assert_eq!(decodes, 4);
        assert_eq!(c.len(), 2);
    }
}
