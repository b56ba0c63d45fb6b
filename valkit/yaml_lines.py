"""Where each key of a YAML file is: the line numbers behind ``file:line: key.path: message``.

Protocols and model cards report every problem with the line it is on; both use this
index, built from the YAML parse tree (comments and flow style do not shift it).

>>> index = line_index("a: 1\\nb:\\n  c: [x, y]\\n")
>>> index[("b", "c")], line_of(index, ("b", "c", 1)), line_of(index, ("z",))
(3, 3, 1)
>>> format_loc(("endpoints", 0, "ci"))
'endpoints[0].ci'
"""
from __future__ import annotations

from typing import Any

import yaml

__all__ = ["format_loc", "line_index", "line_of"]


def line_index(text: str) -> dict[tuple, int]:
    """Map key paths (tuples of keys / list indices) to 1-based line numbers; empty if not YAML."""
    index: dict[tuple, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return index

    def walk(node: Any, path: tuple) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                k = key.value
                walk(value, path + (k,))
                index[path + (k,)] = key.start_mark.line + 1  # a key's line, not its value's
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    if root is not None:
        walk(root, ())
    return index


def line_of(index: dict[tuple, int], loc: tuple) -> int | None:
    """Line of ``loc``, or of its nearest enclosing key that is in the file (a missing key: its parent)."""
    for k in range(len(loc), -1, -1):
        if loc[:k] in index:
            return index[loc[:k]]
    return None


def format_loc(loc: tuple) -> str:
    """``("endpoints", 0, "ci")`` -> ``endpoints[0].ci``; ``()`` -> ``(top level)``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"
