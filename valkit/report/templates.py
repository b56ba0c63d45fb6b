"""Which report templates render a run: valkit's own, and the protocol's overrides by name.

valkit's templates are ``reports/templates/`` in a source checkout and ship inside the wheel
(:mod:`valkit.assets`). A protocol may name a folder of its own (``report.templates:``): a file
there replaces valkit's file of the same relative name (``sections/device.html.j2``,
``report.css``); every other file is valkit's. The folder and the digest of each of its files are
recorded in results.json (``provenance.report_templates``), so ``valkit report RUN_DIR`` renders
with the same overrides and a reader can tell which files were not valkit's.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from valkit.assets import TEMPLATES, asset_dir
from valkit.errors import InputError

if TYPE_CHECKING:
    from valkit.results_schema.run_info import TemplateOverride

#: file types a templates folder may override (others, e.g. a README, are ignored)
SUFFIXES = (".j2", ".css", ".js")


def packaged_dir() -> Path:
    """valkit's own templates folder (raises AssetNotFoundError when the installation lacks it)."""
    return asset_dir(TEMPLATES)


def override_record(folder: Path) -> dict[str, Any]:
    """The provenance entry of an override folder: its absolute path and each file's sha256.

    ``files`` lists only the files that are templates (:data:`SUFFIXES`), by relative name.
    """
    from valkit.digests import file_sha256

    folder = Path(folder).resolve()
    files = {p.relative_to(folder).as_posix(): file_sha256(p)
             for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in SUFFIXES}
    return {"folder": str(folder), "files": files}


def override_folder(record: TemplateOverride | None) -> Path | None:
    """The override folder a run used (results.json ``provenance.report_templates``), or None; it must
    still exist to re-render."""
    if record is None:
        return None
    folder = Path(record.folder)
    if not folder.is_dir():
        raise InputError(f"results.json: provenance.report_templates.folder: the run's report templates folder "
                         f"{folder} is not there any more. Fix: restore it (files: "
                         f"{', '.join(record.files) or 'none'}) or re-run the protocol.")
    return folder


def loader(override: Path | None = None):
    """A jinja2 loader: ``override`` first (when given), then valkit's templates."""
    import jinja2

    folders = [str(override)] if override is not None else []
    return jinja2.FileSystemLoader([*folders, str(packaged_dir())])


__all__ = ["SUFFIXES", "loader", "override_folder", "override_record", "packaged_dir"]
