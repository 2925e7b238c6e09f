/* The C ABI between the GDAL plugin's C++ shim (geoembed_driver.cpp) and the Rust reader
 * (driver/src/ffi.rs). Every function catches panics on the Rust side: a failure is a
 * return value plus a message, never an unwind across this boundary.
 *
 * A handle is used by one thread at a time, as GDAL datasets are. Strings and arrays it
 * returns stay valid until geoembed_close(), except the tile pointer of geoembed_tile(),
 * which stays valid until the next geoembed_tile() call on the same handle. */
#ifndef GEOEMBED_DRIVER_H
#define GEOEMBED_DRIVER_H

#include "gdal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct GeoEmbHandle GeoEmbHandle;

/* 1 if the first bytes of a file are a .emb preamble (magic and version). */
int geoembed_identify(const unsigned char *head, int len);

/* Opens through GDAL's VSI layer: a .emb file, or EMB:"file":plane for one of its aux
 * planes; open_options is GDAL's KEY=VALUE list or NULL: DEQUANTIZE, TILE_CACHE_MB and the
 * reader limits MAX_TILE_BYTES, MAX_HEADER_BYTES, MAX_METADATA_ITEMS, MAX_BLOCKS, MAX_BANDS,
 * MAX_AUX_PLANES, MAX_WIDTH and MAX_HEIGHT (values like 512M). NULL on failure, with *err
 * set to a message that the caller frees with geoembed_free_string. */
GeoEmbHandle *geoembed_open(const char *path, char **open_options, char **err);
void geoembed_close(GeoEmbHandle *h);
void geoembed_free_string(char *s);

/* The file's name, and what part of it the dataset shows for GDAL's PAM: NULL for its
 * bands as stored, else the aux plane's name or "dequantized" (so that statistics of
 * different views of one file do not mix in its .aux.xml). */
const char *geoembed_file_name(const GeoEmbHandle *h);
const char *geoembed_view_name(const GeoEmbHandle *h);

/* Raster shape; gdal_type is a GDALDataType. */
void geoembed_shape(const GeoEmbHandle *h, int *width, int *height, int *bands,
                    int *gdal_type, int *tile_width, int *tile_height);
/* 1 and six coefficients if the file has an affine geotransform. */
int geoembed_geotransform(const GeoEmbHandle *h, double *gt);
/* WKT of the CRS (NULL if none) and GDAL's data-axis-to-SRS-axis mapping. */
const char *geoembed_srs_wkt(const GeoEmbHandle *h, const int **axis, int *naxis);
const char *geoembed_gcp_srs_wkt(const GeoEmbHandle *h, const int **axis, int *naxis);
int geoembed_gcp_count(const GeoEmbHandle *h);
const GDAL_GCP *geoembed_gcps(const GeoEmbHandle *h);

/* band: 1-based, or 0 for the dataset. Returns the domain's items (NULL-terminated list,
 * "KEY=VALUE") and its name in *name; NULL once i is past the last domain. */
char **geoembed_metadata(const GeoEmbHandle *h, int band, int i, const char **name);

/* Per band (1-based). Optional numbers return 1 and the value, or 0. */
const char *geoembed_band_description(const GeoEmbHandle *h, int band);
const char *geoembed_band_unit(const GeoEmbHandle *h, int band);
int geoembed_band_nodata(const GeoEmbHandle *h, int band, double *v);
int geoembed_band_scale(const GeoEmbHandle *h, int band, double *v);
int geoembed_band_offset(const GeoEmbHandle *h, int band, double *v);
int geoembed_band_color_interp(const GeoEmbHandle *h, int band);
/* Colour table: returns the entry count (0 if none), its GDALPaletteInterp and entries
 * (four shorts each). */
int geoembed_band_color_table(const GeoEmbHandle *h, int band, int *interp,
                              const short **entries);

/* Decodes tile (tx, ty) and returns its samples, pixel-interleaved, all bands, native
 * endianness; *w x *hgt is the tile's real size (smaller at the right and bottom edges).
 * keep = 1 keeps the tile in the driver's cache (multi-band window reads); keep = 0 holds it
 * only until the next call (its bands go to GDAL's block cache). NULL on failure, with the
 * message in geoembed_last_error. */
const void *geoembed_tile(GeoEmbHandle *h, int tx, int ty, int keep, int *w, int *hgt);
/* Rows from..to (tile coordinates, from < to <= the tile's height) of tile (tx, ty), all
 * bands, native endianness, contiguous: the pointer is row `from`. Multi-band window reads:
 * the tile stays in the driver's cache and decodes its rows as they are asked for (native
 * tiles hold only the rows of the last window). Valid until the next call on the handle;
 * *w x *hgt is the tile's real size. NULL on failure, as geoembed_tile. */
const void *geoembed_tile_rows(GeoEmbHandle *h, int tx, int ty, int from, int to, int *w,
                               int *hgt);
const char *geoembed_last_error(const GeoEmbHandle *h);

/* CreateCopy: encodes src to path. 0 on success; else *err is set (free it with
 * geoembed_free_string). */
int geoembed_create_copy(const char *path, GDALDatasetH src, char **options,
                         GDALProgressFunc progress, void *progress_data, char **err);

/* Create: checks the creation options and returns where to stage the dataset's GeoTIFF
 * (free with geoembed_free_string), or NULL with *err set. On close the shim encodes the
 * staged dataset with geoembed_create_copy, deletes it and calls geoembed_create_unstage. */
char *geoembed_create_stage(const char *path, char **options, char **err);
void geoembed_create_unstage(const char *stage_path);

/* Implemented by the shim: registers the driver. Rust exports GDALRegister_GeoEmbed and
 * GDALRegisterMe, which call it. */
void geoembed_shim_register(void);

#ifdef __cplusplus
}
#endif
#endif
