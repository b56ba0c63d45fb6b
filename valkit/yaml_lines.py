"""Reading protocols and model cards: strict YAML, and where each key is (``file:line: key.path: message``).

:func:`read_yaml` is the one way valkit reads a YAML file a user wrote. Besides ``safe_load``
semantics (data only, nothing executed) it refuses two things YAML allows silently:

* a **duplicate key** (a second ``endpoints:`` replacing the first, ``goal: 0.95`` then
  ``goal: 0.70`` keeping 0.70): an error naming both lines;
* an **alias** (``*name``): a few hundred bytes of anchors and aliases expand into gigabytes
  (a "billion laughs" document); protocols and cards are small enough to write out.

Protocols and model cards report every problem with the line it is on; both use
:func:`line_index`, built from the same strict parse tree (comments and flow style do not shift it).

>>> index = line_index("a: 1\\nb:\\n  c: [x, y]\\n")
>>> index[("b", "c")], line_of(index, ("b", "c", 1)), line_of(index, ("z",))
(3, 3, 1)
>>> format_loc(("endpoints", 0, "ci"))
'endpoints[0].ci'
"""
from __future__ import annotations

from typing import Any

import yaml

__all__ = ["YamlInputError", "format_loc", "key_lines", "line_index", "line_of", "read_yaml"]


class YamlInputError(ValueError):
    """A YAML document valkit refuses; ``line`` is 1-based (None when unknown)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (at compose time, before anything expands) and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YamlInputError(
                f"YAML alias '*{event.anchor}' is not accepted: aliases can expand a small file into gigabytes. "
                "Write the value out in full where it is used.", event.start_mark.line + 1)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: let SafeLoader give its own error
                break
            if first is not None:
                raise YamlInputError(
                    f"duplicate key '{key}' (first on line {first}, again on line {line}): YAML would silently keep "
                    "the second. Remove one of them.", line)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml(text: str | bytes) -> Any:
    r"""Parse a user's YAML document strictly (see the module docstring).

    Raises
    ------
    YamlInputError
        Not valid YAML, a duplicate key or an alias; ``.line`` says where.

    >>> read_yaml("a: 1\nb: [x, y]\n")
    {'a': 1, 'b': ['x', 'y']}
    >>> read_yaml("goal: 0.95\ngoal: 0.70\n")
    Traceback (most recent call last):
    ...
    valkit.yaml_lines.YamlInputError: duplicate key 'goal' (first on line 1, again on line 2): YAML would silently keep the second. Remove one of them.
    >>> read_yaml("a: &x [1, 2]\nb: *x\n")
    Traceback (most recent call last):
    ...
    valkit.yaml_lines.YamlInputError: YAML alias '*x' is not accepted: aliases can expand a small file into gigabytes. Write the value out in full where it is used.
    """
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except YamlInputError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise YamlInputError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                             mark.line + 1 if mark else None) from None


def line_index(text: str) -> dict[tuple, int]:
    """Map key paths (tuples of keys / list indices) to 1-based line numbers; empty if not YAML."""
    index: dict[tuple, int] = {}
    try:
        root = yaml.compose(text, Loader=_StrictLoader)  # no aliases: the walk below never expands one
    except (yaml.YAMLError, YamlInputError):
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


key_lines = line_index  # the name the model-card modules use
