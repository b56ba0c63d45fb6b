"""Choose the fastest installed pixel decoder for each transfer syntax, and record the choice.

pydicom 3 decodes compressed Pixel Data through plugins (``pylibjpeg``, ``pillow``, ``gdcm``,
``pyjpegls``, and its own pure-numpy ``pydicom`` RLE decoder). Which ones are installed varies
by machine, and they differ several-fold in speed; on real DICOM the decoder is often the
bottleneck. For each transfer syntax found among the studies, :func:`choose_decoders` decodes
a few sample files with every available plugin, keeps only plugins whose output is identical
to the others' (all valkit's supported compressed syntaxes in the demo are lossless, and a
decoder that disagrees must not be picked for speed), and picks the one with the lowest median
time. Uncompressed syntaxes need no plugin ("native").

:func:`preprocess_with_decoders` is :func:`valkit.preprocess.preprocess_file` with that choice
applied per dataset (``Dataset.pixel_array_options``), so no process-wide setting changes.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from valkit.latency.timers import Clock

NATIVE = "native"


def transfer_syntax_of(path: str | Path) -> str:
    """The Transfer Syntax UID of a DICOM file (header only); '' if unreadable."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        return str(ds.file_meta.TransferSyntaxUID)
    except Exception:  # noqa: BLE001 - an unreadable file is the pipeline's to report, not ours
        return ""


def available_plugins(uid: str) -> tuple[str, ...]:
    """Installed decoding plugins for a transfer syntax; empty for native (uncompressed) syntaxes."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    uid = UID(uid)
    if not uid.is_compressed:
        return ()
    try:
        return tuple(get_decoder(uid).available_plugins)
    except (NotImplementedError, ValueError):
        return ()


def sample_paths(table: Any, *, per_syntax: int = 3, cap: int = 500) -> list[str]:
    """Files to time decoders on: ``per_syntax`` per manifest ``transfer_syntax`` value when the
    manifest records it (valkit's manifests do), else up to ``cap`` files spread over the table.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"abs_path": list("abcdef"), "transfer_syntax": ["x", "x", "x", "x", "y", "y"]})
    >>> sample_paths(t, per_syntax=2)
    ['a', 'b', 'e', 'f']
    """
    if "transfer_syntax" in getattr(table, "columns", ()):
        key = table["transfer_syntax"].fillna("").astype(str)
        return [str(p) for p in table.groupby(key, sort=False)["abs_path"].head(per_syntax)]
    paths = [str(p) for p in table["abs_path"]]
    step = max(1, len(paths) // cap)
    return paths[::step][:cap]


def choose_decoders(paths: Sequence[str | Path], *, files_per_syntax: int = 3, repeats: int = 3,
                    clock: Clock = time.perf_counter) -> dict[str, dict[str, Any]]:
    """Time every installed plugin per transfer syntax on up to ``files_per_syntax`` files.

    Returns ``{uid: {"name", "chosen", "plugins": {plugin: {"median_ms", "identical"}},
    "n_files", "reason"}}``; ``chosen`` is ``"native"`` for uncompressed data and ``None`` when
    no installed plugin can decode the syntax.
    """
    import pydicom
    from pydicom.pixels import pixel_array
    from pydicom.uid import UID

    by_syntax: dict[str, list[str]] = {}
    for p in paths:
        uid = transfer_syntax_of(p)
        if uid and len(by_syntax.setdefault(uid, [])) < files_per_syntax:
            by_syntax[uid].append(str(p))
    out: dict[str, dict[str, Any]] = {}
    for uid, files in sorted(by_syntax.items()):
        entry: dict[str, Any] = {"name": UID(uid).name, "n_files": len(files), "plugins": {}, "chosen": None,
                                 "reason": ""}
        plugins = available_plugins(uid)
        if not UID(uid).is_compressed:
            entry.update(chosen=NATIVE, reason="uncompressed: no decoder plugin involved")
            out[uid] = entry
            continue
        if not plugins:
            entry["reason"] = "no installed plugin decodes this transfer syntax"
            out[uid] = entry
            continue
        datasets = []
        for f in files:
            try:
                ds = pydicom.dcmread(f)
                pixel_array(ds)  # pydicom tries every plugin: a file none can decode is the file's fault,
            except Exception:  # noqa: BLE001 - and the pipeline's to report (by case), not a decoder's
                continue
            datasets.append(ds)
        entry["n_files"] = len(datasets)
        if not datasets:
            entry["reason"] = "no sample file of this transfer syntax could be read and decoded"
            out[uid] = entry
            continue
        reference: list[np.ndarray] | None = None
        for plugin in plugins:
            times: list[float] = []
            arrays: list[np.ndarray] = []
            try:
                for ds in datasets:
                    for r in range(repeats):
                        t0 = clock()
                        arr = pixel_array(ds, decoding_plugin=plugin)
                        times.append(clock() - t0)
                        if r == 0:
                            arrays.append(arr)
            except Exception as exc:  # noqa: BLE001 - a plugin that fails here is reported, not chosen
                entry["plugins"][plugin] = {"median_ms": None, "identical": False,
                                            "error": f"{type(exc).__name__}: {exc}"[:300]}
                continue
            if reference is None:
                reference = arrays
            identical = all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(arrays, reference))
            entry["plugins"][plugin] = {"median_ms": float(np.median(times)) * 1000.0, "identical": identical}
        eligible = {k: v["median_ms"] for k, v in entry["plugins"].items() if v.get("identical")}
        if eligible:
            entry["chosen"] = min(eligible, key=eligible.get)
            entry["reason"] = "fastest median decode time among plugins with identical output"
        else:
            entry["reason"] = "every installed plugin failed or disagreed"
        out[uid] = entry
    return out


def plugin_map(choice: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``{uid: plugin}`` for the compressed syntaxes that have a chosen plugin.

    >>> plugin_map({"1.2.840.10008.1.2.5": {"chosen": "pylibjpeg"}, "1.2.840.10008.1.2.1": {"chosen": "native"}})
    {'1.2.840.10008.1.2.5': 'pylibjpeg'}
    """
    return {uid: c["chosen"] for uid, c in choice.items() if c.get("chosen") not in (None, NATIVE)}


def read_dataset(path: str | Path, plugins: Mapping[str, str] | None = None) -> Any:
    """:func:`valkit.preprocess.read_dicom`, with the chosen decoder set on the dataset."""
    from valkit.preprocess import read_dicom

    ds = read_dicom(path)
    if plugins:
        uid = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", ""))
        if uid in plugins:
            ds.pixel_array_options(decoding_plugin=plugins[uid])
    return ds


def preprocess_with_decoders(path: str | Path, spec: Any, plugins: Mapping[str, str] | None = None,
                             accepts: Any = None) -> np.ndarray:
    """``preprocess_file(path, spec, accepts)`` using the chosen decoder plugins; picklable for DataLoader workers."""
    from valkit.preprocess import apply_preprocessing, check_accepted, decode_pixels

    ds = read_dataset(path, plugins)
    if accepts is not None:
        check_accepted(ds, accepts)
    return apply_preprocessing(decode_pixels(ds), ds, spec)
