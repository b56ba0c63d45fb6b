"""Write docs/api.md, the public Python API reference, from the docstrings.

``python -m valkit.api_reference`` rewrites ``docs/api.md``; ``--check`` exits 1 when the
committed page differs from the docstrings (a test runs the same comparison). No sphinx and
no network: :mod:`inspect` gives each public name's signature and numpydoc docstring, and the
numpydoc sections become markdown (section titles in bold, parameters as a list, doctest
examples as code blocks).

The public API is ``__all__`` of each module in :data:`MODULES`.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

MODULES = ("valkit.stats", "valkit.stats.mrmc", "valkit.tables")
PAGE = Path(__file__).resolve().parents[1] / "docs" / "api.md"
_LIST_SECTIONS = {"Parameters", "Returns", "Yields", "Raises", "Attributes", "Other Parameters", "Warns"}
_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc|obj):`~?([^`]+)`")
HEADER = """# valkit Python API reference

Generated from the docstrings by `python -m valkit.api_reference` (do not edit by hand; a test
checks that this page matches the code). The public API is `__all__` of each module below.
"""


def signature(obj: Any, name: str) -> str:
    """``name(a, b, *, c=1)``: parameters and defaults, without annotations."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return name
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return name + str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def docstring_markdown(doc: str | None) -> str:
    """A numpydoc docstring as markdown."""
    if not doc:
        return "*(no docstring)*"
    lines = inspect.cleandoc(_ROLE.sub(r"`\1`", doc)).splitlines()
    out: list[str] = []
    section, in_code = "", False
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if in_code and not line.strip():
            out.append("```")
            in_code = False
        if nxt.strip() and set(nxt.strip()) == {"-"} and len(nxt.strip()) == len(line.strip()) and line.strip():
            section = line.strip()
            out += ["", f"**{section}**", ""]
            i += 2
            continue
        if line.lstrip().startswith(">>>") and not in_code:
            out += ["```python"]
            in_code = True
        if in_code:
            out.append(line)
        elif section in _LIST_SECTIONS and line.strip() and not line.startswith(" "):
            out.append(f"- `{line.strip()}`")
        elif section in _LIST_SECTIONS and line.startswith(" "):
            out.append(f"  {line.strip()}")
        else:
            out.append(line)
        i += 1
    if in_code:
        out.append("```")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _constant(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(f"`{k}`" for k in sorted(map(str, value)))
        return f"dict of {len(value)}: {keys}"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(repr(v) for v in sorted(value, key=str)) + "}"
    return f"`{value!r}`"


def _members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties a class defines itself (dataclass plumbing left out)."""
    out = []
    for name, member in vars(cls).items():
        if name.startswith("_") and name not in ("__float__", "__iter__", "__format__", "__round__"):
            continue
        if isinstance(member, property) or inspect.isfunction(member):
            out.append((name, member))
    return sorted(out)


def entry(module: str, name: str, obj: Any) -> str:
    path = f"{module}.{name}"
    if inspect.isclass(obj):
        kind = "exception" if issubclass(obj, BaseException) else "class"
        doc = obj.__doc__
        if doc and doc.startswith(f"{name}("):  # the signature dataclasses write when there is no docstring
            doc = None
        parts = [f"### `{path}`", "", f"*{kind}* `{signature(obj, name)}`", "", docstring_markdown(doc)]
        members = _members(obj)
        if members:
            parts += ["", "**Methods and properties**", ""]
        for mname, member in members:
            if isinstance(member, property):
                head = f"- property `{mname}`"
                doc = member.__doc__
            else:
                head = f"- `{signature(member, mname)}`"
                doc = member.__doc__
            first = inspect.cleandoc(_ROLE.sub(r"`\1`", doc)).split("\n\n")[0].replace("\n", " ") if doc else ""
            parts.append(head + (f": {first}" if first else ""))
        return "\n".join(parts).rstrip()
    if callable(obj):
        return "\n".join([f"### `{path}`", "", "```python", signature(obj, name), "```", "",
                          docstring_markdown(obj.__doc__)])
    return "\n".join([f"### `{path}`", "", f"*constant* {_constant(obj)}"])


def render() -> str:
    """The whole page."""
    parts = [HEADER]
    toc = []
    for module in MODULES:
        mod = importlib.import_module(module)
        anchor = module.replace(".", "")
        toc.append(f"- [`{module}`](#{anchor})")
        names = sorted(mod.__all__, key=lambda n: (not n[0].isupper(), n.lower()))
        summary = _ROLE.sub(r"`\1`", inspect.cleandoc(mod.__doc__ or "").split("\n\n")[0])
        entries = "\n\n".join(entry(module, n, getattr(mod, n)) for n in names)
        parts.append(f"## {module}\n\n{summary}\n\n{entries}")
    parts.insert(1, "\n".join(toc) + "\n")
    return "\n\n".join(p.strip() for p in parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m valkit.api_reference", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is out of date; write nothing")
    parser.add_argument("--output", type=Path, default=PAGE, help="where to write the page (default docs/api.md)")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output}: out of date with the docstrings. Run: python -m valkit.api_reference",
                  file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
