"""Line numbers of keys in a YAML file, so that a problem can be reported as ``file:line: key.path``."""
from __future__ import annotations

from typing import Any

import yaml

__all__ = ["key_lines", "line_of"]


def key_lines(text: str) -> dict[tuple, int]:
    """Map key paths (tuples of keys / list indices) to 1-based line numbers.

    Examples
    --------
    >>> key_lines("a:\\n  b: 1\\n  c: [x, y]\\n")[("a", "c")]
    3
    """
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
                index[path + (k,)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    if root is not None:
        walk(root, ())
    return index


def line_of(lines: dict[tuple, int], loc: tuple) -> int | None:
    """The line of ``loc``, else of its nearest enclosing key that has one (``None`` without any).

    >>> line_of({("a",): 1, ("a", "b"): 2}, ("a", "b", "c"))
    2
    """
    for k in range(len(loc), 0, -1):
        if loc[:k] in lines:
            return lines[loc[:k]]
    return None
