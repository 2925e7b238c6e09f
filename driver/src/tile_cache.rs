//! Tiles of multi-band window reads, least recently used first out. Band-by-band reads do
//! not need it (the shim hands every band of a decoded tile to GDAL's block cache); reads
//! of all bands at once (rasterio windows, gdal_translate's swaths) go around GDAL's block
//! cache and come here. An entry is a tile being read by rows ([`TileRows`]): a native tile
//! holds its row decoder and the rows of the last window, not the whole tile, so a swath
//! reader crossing a row of tiles of a wide many-band raster does not hold that whole row
//! of tiles decoded. Its budget is two rows of tiles (a row of tiles must fit, or a
//! row-by-row reader would start each tile again for every swath), less when
//! `GDAL_CACHEMAX` is smaller but never below one row, or the `TILE_CACHE_MB` open option.

use geoembed_codec::TileRows;
use std::collections::VecDeque;

pub type TileKey = (u32, u32);

pub struct TileCache<T = TileRows> {
    capacity: usize,
    tiles: VecDeque<(TileKey, T)>,
}

impl<T> TileCache<T> {
    /// A cache of `budget_bytes` for tiles of `tile_bytes` (decoded); it always keeps at
    /// least two tiles (a window straddling a tile edge alternates between them).
    pub fn new(budget_bytes: usize, tile_bytes: usize) -> Self {
        TileCache {
            capacity: (budget_bytes / tile_bytes.max(1)).max(2),
            tiles: VecDeque::new(),
        }
    }

    /// The tile `key` if it is cached (it becomes the most recently used).
    pub fn get(&mut self, key: TileKey) -> Option<&mut T> {
        let i = self.tiles.iter().position(|(k, _)| *k == key)?;
        let hit = self.tiles.remove(i).expect("index from position");
        self.tiles.push_front(hit);
        Some(&mut self.tiles[0].1)
    }

    /// How many tiles it keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The tile `key`, cached or started now by `start` (evicting the least recently used).
    pub fn get_or_start<E>(
        &mut self,
        key: TileKey,
        start: impl FnOnce() -> Result<T, E>,
    ) -> Result<&mut T, E> {
        if self.get(key).is_none() {
            let tile = start()?;
            if self.tiles.len() >= self.capacity {
                self.tiles.pop_back();
            }
            self.tiles.push_front((key, tile));
        }
        Ok(&mut self.tiles[0].1)
    }

    /// Forgets the tile `key` (a tile that failed to decode, or one to start again).
    pub fn remove(&mut self, key: TileKey) {
        self.tiles.retain(|(k, _)| *k != key);
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
        let mut c = TileCache::new(10 << 20, 40 << 20); // room for the minimum of two
        let mut decodes = 0;
        let mut get = |c: &mut TileCache<Vec<u8>>, k: TileKey| {
            c.get_or_start::<()>(k, || {
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
        assert_eq!(c.get((2, 0)), Some(&mut vec![2u8]));
        assert_eq!(c.get((3, 0)), None);
        c.remove((2, 0));
        assert_eq!(c.get((2, 0)), None);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn the_budget_sets_how_many_tiles_are_kept() {
        // A row of 16 tiles of a 4096-pixel-wide 128-band int8 raster (8 MiB each) fits
        // in GDAL's default cache of a few hundred MB.
        assert_eq!(TileCache::<()>::new(256 << 20, 8 << 20).capacity(), 32);
        assert_eq!(TileCache::<()>::new(0, 8 << 20).capacity(), 2);
    }
}
