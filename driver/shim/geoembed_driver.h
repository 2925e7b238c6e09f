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

/* Opens through GDAL's VSI layer. NULL on failure, with *err set to a message that the
 * caller frees with geoembed_free_string. */
GeoEmbHandle *geoembed_open(const char *path, char **err);
/* As geoembed_open, with GDAL's open options (a CSL list or NULL): the reader limits
 * MAX_TILE_BYTES, MAX_HEADER_BYTES, MAX_METADATA_ITEMS, MAX_BLOCKS, MAX_BANDS,
 * MAX_AUX_PLANES, MAX_WIDTH and MAX_HEIGHT (values like 512M); other options are ignored. */
GeoEmbHandle *geoembed_open_with_options(const char *path, char **options, char **err);
void geoembed_close(GeoEmbHandle *h);
void geoembed_free_string(char *s);

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

/* Decodes tile (tx, ty) (cached) and returns its samples, pixel-interleaved, all bands,
 * native endianness; *w x *hgt is the tile's real size (smaller at the right and bottom
 * edges). NULL on failure, with the message in geoembed_last_error. */
const void *geoembed_tile(GeoEmbHandle *h, int tx, int ty, int *w, int *hgt);
const char *geoembed_last_error(const GeoEmbHandle *h);

/* CreateCopy: encodes src to path. 0 on success; else *err is set (free it with
 * geoembed_free_string). */
int geoembed_create_copy(const char *path, GDALDatasetH src, char **options,
                         GDALProgressFunc progress, void *progress_data, char **err);

/* Implemented by the shim: registers the driver. Rust exports GDALRegister_GeoEmbed and
 * GDALRegisterMe, which call it. */
void geoembed_shim_register(void);

#ifdef __cplusplus
}
#endif
#endif
