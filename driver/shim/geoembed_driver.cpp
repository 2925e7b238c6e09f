// GDAL classes for .emb: a thin layer over the Rust reader's C ABI (geoembed_driver.h).
// Everything about the file (format, decoding, checksums, caching) lives in Rust; this
// file only maps it onto GDALPamDataset / GDALPamRasterBand.

#include "geoembed_driver.h"

#include "cpl_string.h"
#include "gdal_pam.h"
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
        // Edge tiles are smaller than the block: GDAL expects the rest zeroed.
        int sz = GDALGetDataTypeSizeBytes(eDataType);
        memset(image, 0, static_cast<size_t>(nBlockXSize) * nBlockYSize * sz);
        int one = nBand;
        return ds->CopyTile(bx, by, bx * nBlockXSize, by * nBlockYSize, nBlockXSize,
                            nBlockYSize, static_cast<GByte *>(image), eDataType, 1, &one, sz,
                            static_cast<GSpacing>(nBlockXSize) * sz, 0);
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
    GeoEmbHandle *h = geoembed_open_with_options(info->pszFilename, info->papszOpenOptions, &err);
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
    ds->TryLoadXML(info->GetSiblingFiles());
    ds->oOvManager.Initialize(ds.get(), info->pszFilename, info->GetSiblingFiles());
    return ds.release();
}

CPLErr EmbDataset::CopyTile(int tx, int ty, int x, int y, int w, int hgt, GByte *buf,
                            GDALDataType bt, int nbands, const int *bands, GSpacing ps,
                            GSpacing ls, GSpacing bs) {
    int tw = 0, th = 0;
    auto *tile = static_cast<const GByte *>(geoembed_tile(h_, tx, ty, &tw, &th));
    if (!tile) {
        CPLError(CE_Failure, CPLE_FileIO, "%s: %s", GetDescription(),
                 geoembed_last_error(h_));
        return CE_Failure;
    }
    const int sz = GDALGetDataTypeSizeBytes(type_);
    const int px = nBands * sz;
    // The window's intersection with the tile, in tile coordinates.
    const int x0 = std::max(x, tx * tile_w_), x1 = std::min(x + w, tx * tile_w_ + tw);
    const int y0 = std::max(y, ty * tile_h_), y1 = std::min(y + hgt, ty * tile_h_ + th);
    if (x0 >= x1 || y0 >= y1) return CE_None;
    for (int row = y0; row < y1; row++) {
        const GByte *src = tile + (static_cast<size_t>(row - ty * tile_h_) * tw +
                                   (x0 - tx * tile_w_)) * px;
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
    d->SetMetadataItem(GDAL_DMD_CREATIONDATATYPES,
                       "Byte Int16 UInt16 Int32 UInt32 Float32 Float64");
    d->SetMetadataItem(
        GDAL_DMD_CREATIONOPTIONLIST,
        "<CreationOptionList>"
        "<Option name='CODEC' type='string' default='auto' description='auto (smallest per "
        "tile) or a codec name: native, png128, decorrelate+png128, jxl, decorrelate+jxl, "
        "raw, ...'/>"
        "<Option name='EFFORT' type='string-select' default='default'>"
        "<Value>fast</Value><Value>default</Value><Value>max</Value></Option>"
        "<Option name='TILE_SIZE' type='int' description='tile edge in pixels (default "
        "256)'/>"
        "</CreationOptionList>");
    d->SetMetadataItem(
        GDAL_DMD_OPENOPTIONLIST,
        "<OpenOptionList>"
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
    d->pfnIdentify = EmbDataset::Identify;
    d->pfnOpen = EmbDataset::Open;
    d->pfnCreateCopy = CreateCopy;
    GetGDALDriverManager()->RegisterDriver(d);
}
