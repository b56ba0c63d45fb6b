"""results.json as the renderer reads it: a read of a key the schema does not declare is an error.

The report's sections read results.json blocks by key. A key renamed in the schema, or misspelt in a
section, would otherwise read as missing and print "—" without a word. :func:`strict_view` returns
the same data as plain ``dict`` subclasses whose ``[]`` and ``.get`` accept only the keys the block's
model (:mod:`valkit.results_schema`) declares; an optional key that is declared but absent still
reads as ``None``. Maps with free keys (``dict[str, ...]`` fields: per-level tables) stay plain dicts.

>>> from valkit.results_schema.base import Interval
>>> data = {"low": 0.1, "high": 0.3, "confidence_level": 0.95, "method": "wilson"}
>>> view = strict_view(Interval(**data), data, path="primary.sensitivity.interval")
>>> view.get("low"), view["high"]
(0.1, 0.3)
>>> view.get("lower")
Traceback (most recent call last):
...
valkit.results_schema.strict_view.UndeclaredKeyError: the report reads 'primary.sensitivity.interval.lower', which the results.json schema does not declare (declared: confidence_level, high, low, method). Fix the section's key, or declare the key in valkit/results_schema/.
"""
from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


class UndeclaredKeyError(KeyError):
    """A report section read a results.json key that the schema does not declare."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


class StrictBlock(dict):
    """A results.json block whose reads are checked against its declared keys."""

    __slots__ = ("_declared", "_path")

    def _check(self, key: Any) -> None:
        if key not in self._declared:
            raise UndeclaredKeyError(
                f"the report reads '{self._path}.{key}', which the results.json schema does not declare "
                f"(declared: {', '.join(sorted(self._declared))}). Fix the section's key, or declare the key "
                "in valkit/results_schema/.")

    def __getitem__(self, key: Any) -> Any:
        self._check(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._check(key)
        return super().get(key, default)


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation allows at this level (through ``Optional``/``Union``/``Annotated``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, UnionType, Annotated):
        return [m for arg in get_args(annotation) for m in _models(arg)]
    return []


def _inner(annotation: Any) -> Any:
    """The item annotation of a list/tuple, the value annotation of a dict (through ``Optional``)."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType, Annotated):
        inner = [_inner(a) for a in get_args(annotation) if a is not type(None)]
        inner = [i for i in inner if i is not None]
        return Union[tuple(inner)] if len(inner) > 1 else (inner[0] if inner else None)
    if origin in (list, tuple):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        return args[0] if args else None
    if origin is dict:
        return get_args(annotation)[1]
    return None


def strict_view(typed: Any, raw: Any, *, path: str = "results", annotation: Any = None) -> Any:
    """``raw`` (the JSON data of ``typed``, a validated model) with every model-backed mapping strict.

    A block declared as a union of models (e.g. ``model``: a model card's or external predictions')
    accepts the keys of every member, so a section may ask one kind for another kind's key.
    """
    if isinstance(typed, BaseModel) and isinstance(raw, dict):
        cls = type(typed)
        by_key = {(f.alias or name): name for name, f in cls.model_fields.items()}
        declared = {(f.alias or name) for m in (_models(annotation) or [cls]) for name, f in m.model_fields.items()}
        block = StrictBlock({
            k: strict_view(getattr(typed, by_key[k]), v, path=f"{path}.{k}",
                           annotation=cls.model_fields[by_key[k]].annotation) if k in by_key else v
            for k, v in raw.items()})
        block._declared = frozenset(declared)
        block._path = path
        return block
    if isinstance(raw, list) and isinstance(typed, (list, tuple)) and len(typed) == len(raw):
        item = _inner(annotation)
        return [strict_view(t, r, path=f"{path}[{i}]", annotation=item) for i, (t, r) in enumerate(zip(typed, raw))]
    if isinstance(raw, dict) and isinstance(typed, dict):
        value = _inner(annotation)
        return {k: strict_view(typed.get(k), v, path=f"{path}.{k}", annotation=value) for k, v in raw.items()}
    return raw


__all__ = ["StrictBlock", "UndeclaredKeyError", "strict_view"]
