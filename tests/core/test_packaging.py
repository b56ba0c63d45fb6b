"""valkit as an installed package (issue #12, item 1).

A wheel built by ``python -m build`` carries the report templates and the demo (protocol, model
card, weights); installed into a fresh virtual environment, outside the source tree, it renders
a report and runs ``valkit demo``. The build itself gives no deprecation warning. An editable
install finds the same files in the checkout.

The fresh environment sees the heavy dependencies (torch, weasyprint, ...) of the environment
running the tests through a .pth file, so nothing is downloaded; valkit itself comes only from
the wheel (checked).
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from valkit import assets
from valkit.assets import DEMO_MODEL, DEMO_PROTOCOLS, TEMPLATES, AssetNotFoundError, asset_dir

ROOT = Path(__file__).resolve().parents[2]
BUILD_INPUTS = ("pyproject.toml", "README.md", "valkit", "reports", "protocols", "models")
SHIPPED = (TEMPLATES, DEMO_PROTOCOLS, DEMO_MODEL)


def _setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _package_folders() -> dict[str, Path]:
    """Every package the wheel should hold, by dotted name, with its folder in the checkout."""
    cfg = _setuptools_config()
    roots = {"valkit": ROOT / "valkit", **{k: ROOT / v for k, v in cfg["package-dir"].items()}}
    out = {}
    for name, folder in roots.items():
        for d in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]:
            if "__pycache__" in d.parts or (name == "valkit" and any(
                    d.is_relative_to(r) and d != r for r in roots.values() if r != folder)):
                continue
            rel = d.relative_to(folder).parts
            out[".".join((name, *rel))] = d
    return out


def test_pyproject_lists_every_package_and_maps_every_shipped_folder():
    cfg = _setuptools_config()
    assert sorted(cfg["packages"]) == sorted(_package_folders())
    for asset in SHIPPED:
        assert cfg["package-dir"]["valkit." + asset.packaged.replace("/", ".")] == asset.checkout, asset


def _files(folder: Path) -> list[Path]:
    """The files of a package folder that belong to the project: tracked by git when this is a clone
    (not a local protocols/demo-quick.yaml written by `valkit demo --quick --out .`)."""
    files = [f for f in folder.iterdir() if f.is_file() and f.suffix != ".pyc"]
    if (ROOT / ".git").exists() and shutil.which("git"):
        tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--", str(folder)], capture_output=True,
                                 text=True, check=True).stdout.split()
        files = [f for f in files if f.relative_to(ROOT).as_posix() in tracked]
    return files


def _shipped(name: str, f: Path) -> bool:
    return f.suffix == ".py" or any(fnmatch.fnmatch(f.name, g)
                                    for g in _setuptools_config()["package-data"].get(name, []))


def test_every_data_file_is_matched_by_a_package_data_glob():
    missed = [f"{name}: {f.relative_to(ROOT)}" for name, folder in _package_folders().items()
              for f in _files(folder) if not _shipped(name, f)]
    assert missed == []


def test_assets_come_from_the_checkout_first_then_the_package(tmp_path, monkeypatch):
    assert asset_dir(TEMPLATES) == ROOT / "reports" / "templates"  # running from this checkout
    packaged = tmp_path / "site-packages" / "valkit"
    (packaged / "_assets" / "templates").mkdir(parents=True)
    (packaged / "_assets" / "templates" / "report.html.j2").write_text("x")
    monkeypatch.setattr(assets, "CHECKOUT_ROOT", tmp_path / "site-packages")  # no pyproject.toml there
    monkeypatch.setattr(assets, "_packaged_root", lambda: packaged)
    assert asset_dir(TEMPLATES) == packaged / "_assets" / "templates"
    with pytest.raises(AssetNotFoundError, match=r"demo model not found: expected model\.yaml in .*_assets"):
        asset_dir(DEMO_MODEL)


# --- the built wheel, installed outside the source tree --------------------------------------------

def _clean_env() -> dict[str, str]:
    """This environment minus anything that would put the source tree on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(cmd: list, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=timeout)


def _copy_sources(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    dest.mkdir(parents=True)
    for name in BUILD_INPUTS:
        src = ROOT / name
        (shutil.copytree(src, dest / name, ignore=ignore) if src.is_dir() else shutil.copy(src, dest / name))
    return dest


def _venv(path: Path) -> Path:
    """A fresh venv that also sees this interpreter's site-packages (torch etc.) through a .pth file."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, env=_clean_env())
    python = path / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = _run([python, "-c", code], path).stdout.strip()
    Path(purelib, "_valkit_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


def _pip_install(python: Path, *args) -> None:
    out = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", *args],
               python.parent)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """sdist and wheel from a copy of the sources (the wheel is built from the unpacked sdist)."""
    d = tmp_path_factory.mktemp("build")
    src = _copy_sources(d / "src")
    out = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", d / "dist", src], d)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr, d / "dist"


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> Path:
    """A fresh venv outside the source tree with the wheel installed; returns its bin folder."""
    _, dist = built
    python = _venv(tmp_path_factory.mktemp("venv") / "v")
    _pip_install(python, next(dist.glob("valkit-*.whl")))
    return python.parent


@pytest.mark.slow
def test_build_gives_no_deprecation_or_packaging_warning(built):
    log, dist = built
    # "copying"/"adding" lines name files; byte-compiling is off under PYTHONDONTWRITEBYTECODE
    warnings = [line for line in log.splitlines()
                if re.search(r"deprecat|warning|would be ignored|absent from", line, re.I)
                and not re.match(r"(copying|adding) ", line.strip()) and "byte-compiling is disabled" not in line]
    assert warnings == []
    assert sorted(p.name for p in dist.iterdir()) == ["valkit-0.1.0-py3-none-any.whl", "valkit-0.1.0.tar.gz"]


@pytest.mark.slow
def test_wheel_carries_templates_css_reference_data_and_the_demo(built):
    _, dist = built
    names = set(zipfile.ZipFile(next(dist.glob("*.whl"))).namelist())
    expected = {"/".join((*name.split("."), f.name)) for name, folder in _package_folders().items()
                for f in _files(folder) if _shipped(name, f)}
    assert expected - names == set()
    key_files = {TEMPLATES: ("report.html.j2", "report.css", "front/cover.html.j2", "sections/summary.html.j2",
                             "report_interactive.html.j2", "report_interactive.css", "report_interactive.js"),
                 DEMO_PROTOCOLS: ("demo.yaml",), DEMO_MODEL: ("model.yaml", "model.safetensors", "README.md")}
    for a, files in key_files.items():
        assert {f"valkit/{a.packaged}/{f}" for f in files} <= names
    assert {"valkit/reference/asah.csv", "valkit/reference/vandyke.csv"} <= names


@pytest.mark.slow
def test_installed_valkit_is_the_wheel_with_its_assets(installed, tmp_path):
    code = ("import valkit; from valkit.assets import *; "
            "print(valkit.__file__); [print(asset_dir(a)) for a in (TEMPLATES, DEMO_PROTOCOLS, DEMO_MODEL)]")
    out = _run([installed / "python", "-c", code], tmp_path)
    assert out.returncode == 0, out.stderr
    venv = installed.parent
    assert all(Path(line).is_relative_to(venv) for line in out.stdout.split()), out.stdout


@pytest.fixture(scope="module")
def installed_demo(installed, tmp_path_factory):
    """`valkit demo --quick` on a tiny study, run by the installed package from an unrelated folder."""
    cwd = tmp_path_factory.mktemp("elsewhere")
    out = _run([installed / "valkit", "demo", "--quick", "--n-images", "60", "--reader-cases", "16",
                "--quiet", "--out", "demo"], cwd, timeout=600)
    return out, cwd / "demo"


@pytest.mark.slow
def test_installed_demo_writes_the_pdf(installed_demo):
    out, demo = installed_demo
    assert out.returncode in (0, 1, 4), out.stdout + out.stderr  # 1: the demo's verdict is FAIL by design
    pdf = demo / "runs" / "demo-quick" / "report.pdf"
    assert f"Demo report: {pdf.resolve()}" in out.stdout
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000
    results = json.loads((pdf.parent / "results.json").read_text())
    assert results["provenance"]["valkit"]["commit"] is None  # not a git checkout
    assert (demo / "protocols" / "demo.yaml").read_bytes() == (ROOT / "protocols" / "demo.yaml").read_bytes()


@pytest.mark.slow
def test_installed_report_renders_results_json_alone(installed, installed_demo, tmp_path):
    _, demo = installed_demo
    shutil.copy(demo / "runs" / "demo-quick" / "results.json", tmp_path / "results.json")
    out = _run([installed / "valkit", "report", tmp_path, "--format", "html"], tmp_path)  # the demo made the PDF
    assert out.returncode == 0, out.stdout + out.stderr
    html = (tmp_path / "report.html").read_text()
    assert 'id="provenance"' in html and "VK-DEMO-VAL-001" in html


@pytest.mark.slow
def test_editable_install_finds_the_checkout_folders(built, tmp_path):
    src = _copy_sources(tmp_path / "src")
    python = _venv(tmp_path / "v")
    _pip_install(python, "--no-build-isolation", "-e", src)
    code = "from valkit.assets import *; [print(asset_dir(a)) for a in (TEMPLATES, DEMO_PROTOCOLS, DEMO_MODEL)]"
    out = _run([python, "-c", code], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(src / a.checkout) for a in SHIPPED]


def test_git_commit_only_for_the_checkout_itself(tmp_path):
    """An installed valkit in a venv inside some other git repository does not record that repository's commit."""
    from valkit.provenance import git_commit

    if shutil.which("git") is None:
        pytest.skip("git not installed")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    (tmp_path / "venv" / "site-packages").mkdir(parents=True)
    assert git_commit(tmp_path / "venv" / "site-packages") == {"commit": None, "dirty": None}
    assert len(git_commit(tmp_path)["commit"]) == 40
    if (ROOT / ".git").exists():  # a clone or a git worktree
        assert len(git_commit(ROOT)["commit"]) == 40
