"""Files valkit needs at run time besides its code: the report templates and the demo.

They live at the top level of a source checkout, where a person edits them:
``reports/templates/`` (jinja2 partials and the print CSS), ``protocols/demo.yaml`` and
``models/demo-nodule/`` (the demo model card, weights and README). An installed wheel carries
the same folders inside the package, under ``valkit/_assets/`` (pyproject.toml maps them with
``package-dir``, so git holds one copy). :func:`asset_dir` finds either.

Fonts are not shipped: report.css names DejaVu Sans and falls back to the system's sans-serif.
"""
from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from valkit.errors import ValkitError


@dataclass(frozen=True)
class Asset:
    """One shipped folder: where it is in a source checkout and inside the installed package."""

    name: str
    checkout: str  # relative to the repository root
    packaged: str  # relative to the installed valkit package
    marker: str  # a file that must be there (a half-copied folder is not accepted)


TEMPLATES = Asset("report templates", "reports/templates", "_assets/templates", "report.html.j2")
DEMO_PROTOCOLS = Asset("demo protocol", "protocols", "_assets/protocols", "demo.yaml")
DEMO_MODEL = Asset("demo model", "models/demo-nodule", "_assets/models/demo_nodule", "model.yaml")

#: the repository root when valkit runs from a source checkout (editable install or PYTHONPATH)
CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


class AssetNotFoundError(ValkitError):
    """A shipped folder is missing: the installation is incomplete. Exit code 3."""


def _packaged_root() -> Path:
    return Path(str(importlib.resources.files("valkit")))


def candidates(asset: Asset) -> tuple[Path, Path]:
    """Where :func:`asset_dir` looks, in order: the source checkout's folder, then the package's."""
    return CHECKOUT_ROOT / asset.checkout, _packaged_root() / asset.packaged


def asset_dir(asset: Asset) -> Path:
    """The folder of ``asset``: the source checkout's when valkit runs from one, else the installed copy.

    The checkout's folder wins so that an edited template or protocol is what runs; a checkout is
    recognised by its pyproject.toml next to the valkit package (an installed wheel has none).

    >>> (asset_dir(TEMPLATES) / "report.html.j2").is_file()
    True
    """
    checkout, packaged = candidates(asset)
    if (CHECKOUT_ROOT / "pyproject.toml").is_file() and (checkout / asset.marker).is_file():
        return checkout
    if (packaged / asset.marker).is_file():
        return packaged
    raise AssetNotFoundError(
        f"valkit's {asset.name} not found: expected {asset.marker} in {packaged} (installed package) or "
        f"{checkout} (source checkout). The installation is incomplete: reinstall valkit from a wheel "
        "built with `python -m build` (pip install dist/valkit-*.whl), or run `pip install -e .` in a "
        "source checkout.")


__all__ = ["Asset", "AssetNotFoundError", "TEMPLATES", "DEMO_PROTOCOLS", "DEMO_MODEL", "asset_dir", "candidates"]
