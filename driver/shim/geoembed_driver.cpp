// GDAL classes for .emb: a thin layer over the Rust reader's C ABI (geoembed_driver.h).
// Everything about the file (format, decoding, checksums, caching) lives in Rust; this
// file only maps it onto GDALPamDataset / GDALPamRasterBand.

#include "geoembed_driver.h"

#include "cpl_string.h"
#include "gdal_pam.h"
#include "gdal_proxy.h"
#include "gdal_priv.h"
#include "ogr_spatialref.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace {

class EmbRasterBand;

class EmbDataset final : public GDALPamDataset {
    friend class EmbRasterBand;
    GeoEmbHandle *h_ = nullptr;
    int tile_w_ = 0, tile_h_ = 0;
    GDALDataType type_ = GDT_Unknown;
    OGRSpatialReference srs_, gcp_srs_;

  public:
    ~EmbDataset() override {
        FlushCache(true);
        if (h_) geoembed_close(h_);
    }
    static int Identify(GDALOpenInfo *info);
    static GDALDataset *Open(GDALOpenInfo *info);

    CPLErr GetGeoTransform(double *gt) override {
        return geoembed_geotransform(h_, gt) ? CE_None : GDALPamDataset::GetGeoTransform(gt);
    }
    const OGRSpatialReference *GetSpatialRef() const override {
        return srs_.IsEmpty() ? GDALPamDataset::GetSpatialRef() : &srs_;
    }
    int GetGCPCount() override { return geoembed_gcp_count(h_); }
    const OGRSpatialReference *GetGCPSpatialRef() const override {
        return gcp_srs_.IsEmpty() ? nullptr : &gcp_srs_;
    }
    const GDAL_GCP *GetGCPs() override { return geoembed_gcps(h_); }

    CPLErr IRasterIO(GDALRWFlag rw, int x, int y, int w, int hgt, void *buf, int bw, int bh,
                     GDALDataType bt, int nbands, int *bands, GSpacing ps, GSpacing ls,
                     GSpacing bs, GDALRasterIOExtraArg *extra) override;

    // The decoded tile (tx, ty) and its real size; keep: see geoembed_tile. NULL after
    // reporting the error.
    const GByte *Tile(int tx, int ty, bool keep, int *tw, int *th);

    // Whether GDAL's block cache can take every band of a tile: then the first band read
    // decodes the tile once and hands all its bands over, as GTiff does for
    // pixel-interleaved files, so band-by-band readers never decode a tile twice.
    bool CacheTakesAllBands() const {
        const GIntBig tile_bytes = static_cast<GIntBig>(tile_w_) * tile_h_ *
                                   GDALGetDataTypeSizeBytes(type_) * nBands;
        return nBands > 1 && GDALGetCacheMax64() >= tile_bytes;
    }

    // Writes band `band` (1-based) of a decoded tile into a block buffer (zero-padded at
    // the right and bottom edges).
    void FillBlock(const GByte *tile, int tw, int th, int band, void *block) const;

    // Copies the part of tile (tx, ty) inside the window into the caller's buffer.
    CPLErr CopyTile(int tx, int ty, int x, int y, int w, int hgt, GByte *buf,
                    GDALDataType bt, int nbands, const int *bands, GSpacing ps,
                    GSpacing ls, GSpacing bs);
};

class EmbRasterBand final : public GDALPamRasterBand {
    double nodata_ = 0, scale_ = 1, offset_ = 0;
    bool has_nodata_ = false, has_scale_ = false, has_offset_ = false;
    GDALColorInterp interp_ = GCI_Undefined;
    std::unique_ptr<GDALColorTable> ct_;
    CPLString unit_;

  public:
    EmbRasterBand(EmbDataset *ds, int band) {
        poDS = ds;
        nBand = band;
        eDataType = ds->type_;
        nBlockXSize = ds->tile_w_;
        nBlockYSize = ds->tile_h_;
        GeoEmbHandle *h = ds->h_;
        has_nodata_ = geoembed_band_nodata(h, band, &nodata_);
        has_scale_ = geoembed_band_scale(h, band, &scale_);
        has_offset_ = geoembed_band_offset(h, band, &offset_);
        interp_ = static_cast<GDALColorInterp>(geoembed_band_color_interp(h, band));
        unit_ = geoembed_band_unit(h, band);
        int pi = 0;
        const short *e = nullptr;
        int n = geoembed_band_color_table(h, band, &pi, &e);
        if (n > 0) {
            ct_.reset(new GDALColorTable(static_cast<GDALPaletteInterp>(pi)));
            for (int i = 0; i < n; i++) {
                GDALColorEntry c = {e[4 * i], e[4 * i + 1], e[4 * i + 2], e[4 * i + 3]};
                ct_->SetColorEntry(i, &c);
            }
        }
        // The base-class setters keep these out of the PAM .aux.xml: they come from the file.
        GDALMajorObject::SetDescription(geoembed_band_description(h, band));
        const char *name = nullptr;
        for (int i = 0; char **items = geoembed_metadata(h, band, i, &name); i++)
            GDALMajorObject::SetMetadata(items, name);
    }

    CPLErr IReadBlock(int bx, int by, void *image) override {
        auto *ds = static_cast<EmbDataset *>(poDS);
        const bool share = ds->CacheTakesAllBands();
        // A one-band tile is the block itself: GDAL's block cache keeps it, a copy in the
        // plugin's tile cache would only double it (and grow with the raster's width).
        const bool keep = !share && ds->GetRasterCount() > 1;
        int tw = 0, th = 0;
        const GByte *tile = ds->Tile(bx, by, keep, &tw, &th);
        if (!tile) return CE_Failure;
        ds->FillBlock(tile, tw, th, nBand, image);
        if (!share) return CE_None;
        for (int b = 1; b <= ds->GetRasterCount(); b++) {
            if (b == nBand) continue;
            GDALRasterBand *other = ds->GetRasterBand(b);
            if (GDALRasterBlock *cached = other->TryGetLockedBlockRef(bx, by)) {
                cached->DropLock();
                continue;
            }
            // bJustInitialize: an empty block in the cache, filled here (no IReadBlock).
            GDALRasterBlock *block = other->GetLockedBlockRef(bx, by, TRUE);
            if (!block) return CE_Failure;
            ds->FillBlock(tile, tw, th, b, block->GetDataRef());
            block->DropLock();
        }
        return CE_None;
    }

    double GetNoDataValue(int *ok) override {
        if (!has_nodata_) return GDALPamRasterBand::GetNoDataValue(ok);
        if (ok) *ok = TRUE;
        return nodata_;
    }
    double GetScale(int *ok) override {
        if (!has_scale_) return GDALPamRasterBand::GetScale(ok);
        if (ok) *ok = TRUE;
        return scale_;
    }
    double GetOffset(int *ok) override {
        if (!has_offset_) return GDALPamRasterBand::GetOffset(ok);
        if (ok) *ok = TRUE;
        return offset_;
    }
    const char *GetUnitType() override {
        return unit_.empty() ? GDALPamRasterBand::GetUnitType() : unit_.c_str();
    }
    GDALColorInterp GetColorInterpretation() override {
        return interp_ == GCI_Undefined ? GDALPamRasterBand::GetColorInterpretation()
                                        : interp_;
    }
    GDALColorTable *GetColorTable() override {
        return ct_ ? ct_.get() : GDALPamRasterBand::GetColorTable();
    }
};

void set_srs(OGRSpatialReference &srs, const char *wkt, const int *axis, int naxis) {
    if (!wkt || !*wkt) return;
    if (srs.importFromWkt(wkt) != OGRERR_NONE) {
        srs.Clear();
        return;
    }
    if (naxis > 0)
        srs.SetDataAxisToSRSAxisMapping(std::vector<int>(axis, axis + naxis));
    else
        srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
}

int EmbDataset::Identify(GDALOpenInfo *info) {
    if (STARTS_WITH_CI(info->pszFilename, "EMB:")) return TRUE;  // EMB:"file":plane
    return info->nHeaderBytes > 0 && geoembed_identify(info->pabyHeader, info->nHeaderBytes);
}

GDALDataset *EmbDataset::Open(GDALOpenInfo *info) {
    if (!Identify(info)) return nullptr;  // not ours: no error, GDAL tries other drivers
    if (info->eAccess == GA_Update) {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "%s: the GeoEmbed driver opens .emb files read-only", info->pszFilename);
        return nullptr;
    }
    char *err = nullptr;
    GeoEmbHandle *h = geoembed_open(info->pszFilename, info->papszOpenOptions, &err);
    if (!h) {
        CPLError(CE_Failure, CPLE_OpenFailed, "%s", err ? err : "cannot open");
        geoembed_free_string(err);
        return nullptr;
    }
    auto ds = std::make_unique<EmbDataset>();
    ds->h_ = h;
    int w = 0, hgt = 0, bands = 0, type = 0;
    geoembed_shape(h, &w, &hgt, &bands, &type, &ds->tile_w_, &ds->tile_h_);
    ds->nRasterXSize = w;
    ds->nRasterYSize = hgt;
    ds->type_ = static_cast<GDALDataType>(type);
    const int *axis = nullptr;
    int naxis = 0;
    set_srs(ds->srs_, geoembed_srs_wkt(h, &axis, &naxis), axis, naxis);
    set_srs(ds->gcp_srs_, geoembed_gcp_srs_wkt(h, &axis, &naxis), axis, naxis);
    const char *name = nullptr;
    for (int i = 0; char **items = geoembed_metadata(h, 0, i, &name); i++)
        ds->GDALMajorObject::SetMetadata(items, name);
    for (int b = 1; b <= bands; b++) ds->SetBand(b, new EmbRasterBand(ds.get(), b));
    ds->SetDescription(info->pszFilename);
    if (const char *view = geoembed_view_name(h)) {
        // Another view of the file: its own section of the file's .aux.xml, no .ovr (the
        // file's overviews are of its bands as stored).
        ds->SetPhysicalFilename(geoembed_file_name(h));
        ds->SetSubdatasetName(view);
        ds->TryLoadXML();
        ds->oOvManager.Initialize(ds.get(), ":::VIRTUAL:::");
    } else {
        ds->TryLoadXML(info->GetSiblingFiles());
        ds->oOvManager.Initialize(ds.get(), info->pszFilename, info->GetSiblingFiles());
    }
    return ds.release();
}

const GByte *EmbDataset::Tile(int tx, int ty, bool keep, int *tw, int *th) {
    auto *tile = static_cast<const GByte *>(geoembed_tile(h_, tx, ty, keep ? 1 : 0, tw, th));
    if (!tile)
        CPLError(CE_Failure, CPLE_FileIO, "%s: %s", GetDescription(),
                 geoembed_last_error(h_));
    return tile;
}

void EmbDataset::FillBlock(const GByte *tile, int tw, int th, int band, void *block) const {
    const int sz = GDALGetDataTypeSizeBytes(type_);
    const int px = nBands * sz;
    auto *dst = static_cast<GByte *>(block);
    const GByte *src = tile + static_cast<size_t>(band - 1) * sz;
    if (tw == tile_w_ && th == tile_h_) {
        // A whole tile: one strided copy.
        GDALCopyWords64(src, type_, px, dst, type_, sz, static_cast<GPtrDiff_t>(tw) * th);
        return;
    }
    // Edge tiles are smaller than the block: GDAL expects the rest zeroed.
    memset(dst, 0, static_cast<size_t>(tile_w_) * tile_h_ * sz);
    for (int row = 0; row < th; row++)
        GDALCopyWords64(src + static_cast<size_t>(row) * tw * px, type_, px,
                        dst + static_cast<size_t>(row) * tile_w_ * sz, type_, sz, tw);
}

CPLErr EmbDataset::CopyTile(int tx, int ty, int x, int y, int w, int hgt, GByte *buf,
                            GDALDataType bt, int nbands, const int *bands, GSpacing ps,
                            GSpacing ls, GSpacing bs) {
    // The window's intersection with the tile, in raster coordinates (the tile's real size
    // is at most the nominal one, so the rows asked for lie inside it).
    const int x0 = std::max(x, tx * tile_w_), x1 = std::min(x + w, (tx + 1) * tile_w_);
    const int y0 = std::max(y, ty * tile_h_), y1 = std::min(y + hgt, (ty + 1) * tile_h_);
    if (x0 >= x1 || y0 >= y1) return CE_None;
    int tw = 0, th = 0;
    const auto *rows = static_cast<const GByte *>(
        geoembed_tile_rows(h_, tx, ty, y0 - ty * tile_h_, y1 - ty * tile_h_, &tw, &th));
    if (!rows) {
        CPLError(CE_Failure, CPLE_FileIO, "%s: %s", GetDescription(), geoembed_last_error(h_));
        return CE_Failure;
    }
    const int sz = GDALGetDataTypeSizeBytes(type_);
    const int px = nBands * sz;
    for (int row = y0; row < y1; row++) {
        const GByte *src =
            rows + (static_cast<size_t>(row - y0) * tw + (x0 - tx * tile_w_)) * px;
        GByte *dst = buf + (row - y) * ls + (x0 - x) * ps;
        for (int b = 0; b < nbands; b++)
            GDALCopyWords64(src + (bands[b] - 1) * sz, type_, px, dst + b * bs, bt,
                            static_cast<int>(ps), x1 - x0);
    }
    return CE_None;
}

CPLErr EmbDataset::IRasterIO(GDALRWFlag rw, int x, int y, int w, int hgt, void *buf, int bw,
                             int bh, GDALDataType bt, int nbands, int *bands, GSpacing ps,
                             GSpacing ls, GSpacing bs, GDALRasterIOExtraArg *extra) {
    // Fast path for full-resolution reads of several bands: each tile decoded once and
    // copied straight into the caller's buffer, no block cache in between. Resampled reads
    // (overviews) go through GDAL's generic path.
    if (rw != GF_Read || w != bw || hgt != bh || nbands < 2)
        return GDALPamDataset::IRasterIO(rw, x, y, w, hgt, buf, bw, bh, bt, nbands, bands,
                                         ps, ls, bs, extra);
    for (int ty = y / tile_h_; ty <= (y + hgt - 1) / tile_h_; ty++)
        for (int tx = x / tile_w_; tx <= (x + w - 1) / tile_w_; tx++)
            if (CopyTile(tx, ty, x, y, w, hgt, static_cast<GByte *>(buf), bt, nbands, bands,
                         ps, ls, bs) != CE_None)
                return CE_Failure;
    if (extra && extra->pfnProgress) extra->pfnProgress(1.0, "", extra->pProgressData);
    return CE_None;
}

GDALDataset *CreateCopy(const char *path, GDALDataset *src, int /*strict*/, char **options,
                        GDALProgressFunc progress, void *progress_data) {
    char *err = nullptr;
    if (geoembed_create_copy(path, GDALDataset::ToHandle(src), options, progress,
                             progress_data, &err) != 0) {
        CPLError(CE_Failure, CPLE_AppDefined, "%s", err ? err : "CreateCopy failed");
        geoembed_free_string(err);
        return nullptr;
    }
    GDALOpenInfo info(path, GA_ReadOnly);
    return EmbDataset::Open(&info);
}


// Create(): a dataset written pixel by pixel (gdal_calc.py, gdal_merge.py, rasterio "w").
// Everything goes to a staged GeoTIFF (the proxy forwards pixels, georeferencing, metadata
// and band properties); closing encodes it to the .emb with geoembed_create_copy (checked,
// atomic) and removes the staging.
class EmbCreatedBand final : public GDALProxyRasterBand {
    GDALRasterBand *staged_;

  protected:
    GDALRasterBand *RefUnderlyingRasterBand() const override { return staged_; }

  public:
    EmbCreatedBand(GDALDataset *ds, int band, GDALRasterBand *staged) : staged_(staged) {
        poDS = ds;
        nBand = band;
        eAccess = GA_Update;
        eDataType = staged->GetRasterDataType();
        staged->GetBlockSize(&nBlockXSize, &nBlockYSize);
    }
    // GDALProxyRasterBand does not forward descriptions.
    void SetDescription(const char *text) override {
        GDALRasterBand::SetDescription(text);
        staged_->SetDescription(text);
    }
};

class EmbCreatedDataset final : public GDALProxyDataset {
    GDALDataset *staged_ = nullptr;
    CPLString path_, stage_path_;
    CPLStringList options_;

  protected:
    GDALDataset *RefUnderlyingDataset() const override { return staged_; }

  public:
    EmbCreatedDataset(const char *path, const char *stage_path, GDALDataset *staged,
                      char **options)
        : staged_(staged), path_(path), stage_path_(stage_path), options_(CSLDuplicate(options)) {
        nRasterXSize = staged->GetRasterXSize();
        nRasterYSize = staged->GetRasterYSize();
        eAccess = GA_Update;
        for (int b = 1; b <= staged->GetRasterCount(); b++)
            SetBand(b, new EmbCreatedBand(this, b, staged->GetRasterBand(b)));
        SetDescription(path);
    }
    ~EmbCreatedDataset() override {
        FlushCache(true);
        Encode();
    }
    GDALDriver *GetDriver() override { return poDriver; }
    char **GetFileList() override { return CSLAddString(nullptr, path_.c_str()); }

    // Encodes the staged GeoTIFF to the .emb, then drops the staging. The GeoTIFF is
    // closed and read back first, so the .emb holds what a GeoTIFF written by the same
    // tool would hold (GTiff adds AREA_OR_POINT, for one, only when reading).
    void Encode() {
        GDALClose(GDALDataset::ToHandle(staged_));
        staged_ = nullptr;
        GDALDatasetH written = GDALOpen(stage_path_.c_str(), GA_ReadOnly);
        char *err = nullptr;
        if (!written) {
            CPLError(CE_Failure, CPLE_AppDefined, "%s: the staged GeoTIFF cannot be read back",
                     path_.c_str());
        } else if (geoembed_create_copy(path_.c_str(), written, options_.List(), nullptr,
                                        nullptr, &err) != 0) {
            CPLError(CE_Failure, CPLE_AppDefined, "%s", err ? err : "encoding failed");
            geoembed_free_string(err);
        }
        if (written) GDALClose(written);
        VSIUnlink(stage_path_.c_str());
        geoembed_create_unstage(stage_path_.c_str());
    }
};

GDALDataset *Create(const char *path, int width, int height, int bands, GDALDataType type,
                    char **options) {
    char *err = nullptr;
    char *stage_path = geoembed_create_stage(path, options, &err);
    if (!stage_path) {
        CPLError(CE_Failure, CPLE_AppDefined, "%s", err ? err : "cannot create");
        geoembed_free_string(err);
        return nullptr;
    }
    GDALDriver *gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
    CPLStringList staged_options;
    staged_options.AddNameValue("TILED", "YES");
    staged_options.AddNameValue("INTERLEAVE", "PIXEL");
    staged_options.AddNameValue("BIGTIFF", "IF_NEEDED");
    if (const char *pixel = CSLFetchNameValue(options, "PIXELTYPE"))
        staged_options.AddNameValue("PIXELTYPE", pixel);
    GDALDataset *staged = gtiff ? gtiff->Create(stage_path, width, height, bands, type,
                                                staged_options.List())
                                : nullptr;
    GDALDataset *ds = nullptr;
    if (staged)
        ds = new EmbCreatedDataset(path, stage_path, staged, options);
    else
        geoembed_create_unstage(stage_path);
    geoembed_free_string(stage_path);
    return ds;
}

}  // namespace

extern "C" void geoembed_shim_register(void) {
    if (!GDAL_CHECK_VERSION("GeoEmbed")) return;
    if (GDALGetDriverByName("GeoEmbed") != nullptr) return;
    auto *d = new GDALDriver();
    d->SetDescription("GeoEmbed");
    d->SetMetadataItem(GDAL_DCAP_RASTER, "YES");
    d->SetMetadataItem(GDAL_DMD_LONGNAME, "geoembed multichannel raster (.emb)");
    d->SetMetadataItem(GDAL_DMD_EXTENSION, "emb");
    d->SetMetadataItem(GDAL_DCAP_VIRTUALIO, "YES");
    d->SetMetadataItem(GDAL_DMD_SUBDATASETS, "YES");
    d->SetMetadataItem(
        GDAL_DMD_OPENOPTIONLIST,
        "<OpenOptionList>"
        "<Option name='DEQUANTIZE' type='boolean' default='NO' description='present physical "
        "float32 values by the file&apos;s dequantisation recipe (as geoembed convert "
        "--dequantize writes them)'/>"
        "<Option name='TILE_CACHE_MB' type='int' description='memory for decoded tiles of "
        "multi-band window reads (default: two rows of tiles, one if GDAL_CACHEMAX is smaller)'/>"
        "<Option name='MAX_TILE_BYTES' type='string' default='128M' description='largest "
        "decoded tile accepted (bytes, or with K, M, G)'/>"
        "<Option name='MAX_HEADER_BYTES' type='string' default='32M' description='largest "
        "header (metadata) accepted'/>"
        "<Option name='MAX_METADATA_ITEMS' type='int' default='1048576' description='most "
        "metadata items, GCPs and colour entries in the header'/>"
        "<Option name='MAX_BLOCKS' type='int' default='4194304' description='most tiles "
        "(of all planes) in the index'/>"
        "<Option name='MAX_BANDS' type='int' default='65536' description='most bands'/>"
        "<Option name='MAX_AUX_PLANES' type='int' default='16' description='most aux "
        "planes'/>"
        "<Option name='MAX_WIDTH' type='int' default='16777216' description='widest "
        "raster'/>"
        "<Option name='MAX_HEIGHT' type='int' default='16777216' description='tallest "
        "raster'/>"
        "</OpenOptionList>");
    d->SetMetadataItem(GDAL_DMD_CREATIONDATATYPES,
                       "Byte Int16 UInt16 Int32 UInt32 Float32 Float64");
    d->SetMetadataItem(
        GDAL_DMD_CREATIONOPTIONLIST,
        "<CreationOptionList>"
        "<Option name='CODEC' type='string' default='auto' description='auto (smallest per "
        "tile) or a codec name: native, float, png128, decorrelate+png128, jxl, "
        "decorrelate+jxl, raw, ...'/>"
        "<Option name='EFFORT' type='string-select' default='default'>"
        "<Value>fast</Value><Value>default</Value><Value>max</Value></Option>"
        "<Option name='TILE_SIZE' type='int' description='tile edge in pixels (default "
        "512 under 8 bands, else 256)'/>"
        "<Option name='MAX_ERROR' type='string' description='LOSSY near-lossless: largest "
        "absolute error in value units, one for every band or one per band (0,2,2); whole "
        "numbers for 8/16-bit integers, any for float32/64; beside REL_RMSE or QUALITY the "
        "transform is refined so every sample is within it too (default: lossless)'/>"
        "<Option name='REL_RMSE' type='string' description='LOSSY transform coding (klt) of "
        "rasters of two or more bands to a relative RMSE, a fraction (0.05) or a percentage "
        "(5%) (default: lossless)'/>"
        "<Option name='QUALITY' type='int' min='1' max='100' description='LOSSY transform "
        "coding (klt) as REL_RMSE, the target given as a quality from 1 (smallest) to 100: "
        "1=30%, 10=20%, 25=10%, 50=5%, 75=2.5%, 90=1%, 100=0.5% rel-RMSE, log-linear between "
        "(not with REL_RMSE; default: lossless)'/>"
        "<Option name='PIXELTYPE' type='string-select' description='Create only: "
        "SIGNEDBYTE makes Byte bands int8'><Value>DEFAULT</Value><Value>SIGNEDBYTE</Value>"
        "</Option>"
        "</CreationOptionList>");
    d->pfnIdentify = EmbDataset::Identify;
    d->pfnOpen = EmbDataset::Open;
    d->pfnCreateCopy = CreateCopy;
    d->pfnCreate = Create;
    GetGDALDriverManager()->RegisterDriver(d);
}
