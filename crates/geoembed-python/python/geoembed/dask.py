"""Many conversions on a Dask cluster: :func:`convert_many`.

A year of global embedding tiles is hundreds of terabytes; one machine converts a tile in
seconds, a cluster converts the archive. Each input becomes one Dask task (the codec inside
the task is already multi-threaded and releases the GIL), so the same call scales from a
laptop's ``LocalCluster`` to a real one::

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")          # or dask_jobqueue.SLURMCluster(...),
                                                      # or dask_kubernetes' KubeCluster(...)
    reports = geoembed.dask.convert_many(paths, "s3-mounted/out", client=client)

Workers need the ``geoembed`` package (and ``rasterio`` for GDAL rasters) installed, and
``out_dir`` must be a path every worker can write to (a shared or mounted file system).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

Source = Union[str, os.PathLike, Sequence[Union[str, os.PathLike, None]]]


def _output_name(source: Source) -> str:
    first = source if isinstance(source, (str, os.PathLike)) else source[0]
    return Path(os.fspath(first)).with_suffix(".emb").name  # type: ignore[arg-type]


def _convert_one(source: Source, out_path: str, encode_opts: dict[str, Any]) -> dict[str, Any]:
    """One task: converts one input, never raises (the error goes into the report)."""
    from . import _write

    started = time.perf_counter()
    first = source if isinstance(source, (str, os.PathLike)) else source[0]
    report: dict[str, Any] = {"source": os.fspath(first), "output": out_path}
    try:
        if isinstance(source, (str, os.PathLike)):
            result = _write.from_rasterio(source, out_path, **encode_opts)
        else:
            npy, scales, *rest = source
            landmask = rest[0] if rest else None
            result = _write.from_geotessera(npy, scales, landmask, out_path, **encode_opts)
        report.update(result)
        report["error"] = None
    except Exception as e:  # noqa: BLE001 - a failed input is reported, the others go on
        report["error"] = f"{type(e).__name__}: {e}"
    report["seconds"] = time.perf_counter() - started
    return report


def convert_many(
    sources: Iterable[Source],
    out_dir: str | os.PathLike,
    *,
    client: Any = None,
    progress: bool = True,
    **encode_opts: Any,
) -> list[dict[str, Any]]:
    """Converts many rasters to ``.emb`` in ``out_dir``, one Dask task each.

    ``sources``: paths rasterio reads, or GeoTessera ``(npy, scales, landmask)`` triples
    (``landmask`` may be None). ``client``: a ``dask.distributed.Client``; by default a
    ``LocalCluster`` is started for the call and closed after it. ``encode_opts`` go to
    :func:`geoembed.write` (``codec``, ``effort``, ``tile``, ``overwrite``, and the LOSSY
    ``max_error``, ``rel_rmse`` or ``quality``; lossless by default). They are checked here, before any
    task is submitted, so a bad value raises rather than failing every input.

    Returns one report per input, in input order: ``source`` (the path, or a triple's
    ``npy``), ``output``, ``bytes_in``,
    ``bytes_out``, ``codecs`` (tiles per codec), ``seconds`` and ``error`` (None when it
    worked). One failed input does not stop the others.
    """
    from . import _geoembed
    from ._write import _encode_options

    encode_opts = _encode_options(encode_opts)
    checked = ("codec", "effort", "tile", "max_error", "rel_rmse", "quality")
    _geoembed.check_encode_options(**{k: v for k, v in encode_opts.items() if k in checked})
    from dask.distributed import Client, LocalCluster, progress as show_progress

    sources = list(sources)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = [_output_name(s) for s in sources]
    if len(set(names)) != len(names):
        clash = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"several inputs would write the same output in {out}: {', '.join(clash)}")
    own_client = client is None
    if own_client:
        cluster = LocalCluster(n_workers=min(2, os.cpu_count() or 1), threads_per_worker=1, processes=True)
        client = Client(cluster)
    try:
        futures = [
            client.submit(_convert_one, s, str(out / n), encode_opts, key=f"geoembed-convert-{i}-{n}", pure=False)
            for i, (s, n) in enumerate(zip(sources, names))
        ]
        if progress:
            show_progress(futures)
        return client.gather(futures)
    finally:
        if own_client:
            client.close()
            cluster.close()


__all__ = ["convert_many"]
