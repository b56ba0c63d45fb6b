"""README.md's annotated protocol is the demo protocol: every key it shows has the demo's value.

The README may leave keys out (the latency tuning knobs, the reader-study description) and
abridges the intended use with "..."; anything it does show must match protocols/demo.yaml,
so a reader copying from it gets what the demo runs.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _readme_protocol() -> dict:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    after = text.split("The demo protocol, annotated:", 1)[1]
    block = re.search(r"```yaml\n(.*?)\n```", after, re.S)
    assert block, "README.md: no ```yaml block after 'The demo protocol, annotated:'"
    return yaml.safe_load(block.group(1))


def _differences(shown, demo, path="") -> list[str]:
    if isinstance(shown, dict) and isinstance(demo, dict):
        out = []
        for key, value in shown.items():
            if key not in demo:
                out.append(f"{path}.{key}: in README.md, not in protocols/demo.yaml")
            else:
                out += _differences(value, demo[key], f"{path}.{key}")
        return out
    if isinstance(shown, str) and shown.rstrip().endswith("..."):
        prefix = shown.rstrip()[:-3].strip()
        return [] if str(demo).strip().startswith(prefix) else [f"{path}: README {shown!r} does not abridge {demo!r}"]
    return [] if shown == demo else [f"{path}: README {shown!r} vs demo {demo!r}"]


def test_readme_protocol_matches_the_demo_protocol():
    demo = yaml.safe_load((REPO / "protocols" / "demo.yaml").read_text(encoding="utf-8"))
    assert _differences(_readme_protocol(), demo) == []


def test_readme_protocol_is_a_valid_protocol():
    from valkit.protocol import Protocol

    Protocol.model_validate(_readme_protocol())  # the schema (paths are checked when a run loads it)


def test_every_package_path_the_readme_names_exists():
    """README's Design section must match the code (issue #12): every valkit/… or reports/… path it names exists."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "README.md").read_text()
    missing = sorted({p for p in re.findall(r"`((?:valkit|reports|tests)/[\w./-]*)`", text)
                      if not (root / p.rstrip("/")).exists() and not p.startswith("valkit/_assets")})  # built
    assert not missing, f"README names paths that do not exist: {missing}"
