"""Validates STAC Item sidecars (OUT.emb.json) offline: pystac's Item model (parsing,
datetimes, extensions) and its JSON-schema validation, with every schema it needs loaded
from the vendored copies beside this script instead of the network.

    python validate_item.py SIDECAR.json...     prints "valid NAME" per file
"""
import json
import sys
from pathlib import Path

import pystac
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterExtension
from pystac.validation import JsonSchemaSTACValidator

SCHEMAS = Path(__file__).parent / "schemas"
URIS = {
    "https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/": SCHEMAS / "stac-spec/v1.0.0",
    "https://geojson.org/schema/": SCHEMAS / "geojson",
    "https://stac-extensions.github.io/projection/v1.1.0/": SCHEMAS / "projection/v1.1.0",
    "https://stac-extensions.github.io/raster/v1.1.0/": SCHEMAS / "raster/v1.1.0",
}


def offline_validator():
    validator = JsonSchemaSTACValidator()
    validator.schema_cache.clear()
    for prefix, folder in URIS.items():
        for path in folder.glob("*.json"):
            validator.schema_cache[prefix + path.name] = json.loads(path.read_text())
    return validator


def check(path, validator):
    d = json.loads(Path(path).read_text())
    item = pystac.Item.from_dict(d)
    assert item.datetime is not None or (
        item.common_metadata.start_datetime and item.common_metadata.end_datetime
    ), "no datetime"
    assert ProjectionExtension.has_extension(item) and RasterExtension.has_extension(item)
    proj = ProjectionExtension.ext(item)
    assert proj.shape and len(proj.shape) == 2
    bands = RasterExtension.ext(item.assets["data"]).bands
    assert bands and all(b.data_type for b in bands)
    # Raises on the first schema violation (core Item, projection, raster).
    item.validate(validator=validator)
    print("valid", Path(path).name, item.datetime.isoformat() if item.datetime else
          f"{item.common_metadata.start_datetime.isoformat()}/{item.common_metadata.end_datetime.isoformat()}")


validator = offline_validator()
pystac.validation.set_validator(validator)
for p in sys.argv[1:]:
    check(p, validator)
