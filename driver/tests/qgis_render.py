#!/usr/bin/python3
"""Renders rasters with QGIS (headless) for the plugin tests.

  qgis_render.py compare SOURCE.tif COPY.emb OUT_DIR   renders both with QGIS's default
      renderer over the source's extent and CRS; exits non-zero unless the two pictures are
      identical pixel for pixel (and not blank); writes source.png and emb.png to OUT_DIR.
  qgis_render.py broken TRUNCATED.emb CORRUPT.emb OUT.png   QGIS must refuse the truncated
      file (invalid layer) and survive rendering one whose tile checksum fails.
  qgis_render.py xyz URI SOURCE.tif OUT.png            renders an XYZ tile layer over the
      source's footprint in EPSG:3857; exits non-zero unless most of the picture is drawn.

GDAL_DRIVER_PATH must point at the plugin before QGIS starts (QGIS registers GDAL drivers
once, at startup).
"""
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRasterLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

app = QgsApplication([], False)
app.initQgis()


def layer(uri, name, provider):
    lyr = QgsRasterLayer(uri, name, provider)
    if not lyr.isValid():
        sys.exit(f"QGIS cannot load {uri}: {lyr.error().summary()}")
    return lyr


def render(lyr, extent, crs, size, out):
    s = QgsMapSettings()
    s.setLayers([lyr])
    s.setDestinationCrs(crs)
    s.setExtent(extent)
    s.setOutputSize(QSize(*size))
    s.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererSequentialJob(s)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    img.save(out, "PNG")
    return [img.pixel(x, y) for y in range(img.height()) for x in range(img.width())]


def opaque(px):
    return sum(1 for p in px if (p >> 24) & 0xFF)


mode = sys.argv[1]
if mode == "compare":
    src, emb, out = sys.argv[2:5]
    a, b = layer(src, "source", "gdal"), layer(emb, "emb", "gdal")
    if "GeoEmbed" not in b.dataProvider().htmlMetadata():
        sys.exit("the .emb layer was not opened by the GeoEmbed driver")
    size = (a.width(), a.height())
    pa = render(a, a.extent(), a.crs(), size, os.path.join(out, "source.png"))
    pb = render(b, a.extent(), a.crs(), size, os.path.join(out, "emb.png"))
    diff = sum(1 for x, y in zip(pa, pb) if x != y)
    print(f"size {size[0]}x{size[1]} opaque {opaque(pa)} differing {diff}")
    failed = "renders differ or are blank" if diff or opaque(pa) == 0 else None
    del a, b
elif mode == "xyz":
    uri, src, out = sys.argv[2:5]
    a = layer(src, "source", "gdal")
    merc = QgsCoordinateReferenceSystem("EPSG:3857")
    extent = QgsCoordinateTransform(a.crs(), merc, QgsProject.instance()).transformBoundingBox(a.extent())
    t = layer(uri, "tiles", "wms")
    px = render(t, extent, merc, (512, 512), out)
    share = opaque(px) / len(px)
    print(f"opaque {share:.3f}")
    failed = "the XYZ layer drew less than half of the footprint" if share < 0.5 else None
    del a, t
elif mode == "broken":
    truncated, corrupt, out = sys.argv[2:5]
    cut = QgsRasterLayer(truncated, "truncated", "gdal")
    failed = "QGIS accepted a truncated .emb" if cut.isValid() else None
    bad = layer(corrupt, "corrupt", "gdal")  # the header is intact: it opens
    px = render(bad, bad.extent(), bad.crs(), (bad.width(), bad.height()), out)
    print(f"truncated valid {cut.isValid()} corrupt rendered, opaque {opaque(px)} of {len(px)}")
    del cut, bad
else:
    sys.exit(f"unknown mode {mode}")
# Layers must go before the application, or QGIS 3.22 crashes on exit.
app.exitQgis()
del app
if failed:
    sys.exit(failed)
