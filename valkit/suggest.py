"""'Did you mean' for a misspelt name: the one helper every error message uses.

A protocol key, a CI method, a manifest column or a network layer that does not exist is
an error that suggests the closest valid name (MONAI's ``look_up_option``). This module
imports only the standard library, so the pure statistics (:mod:`valkit.stats`) use it too.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean", "did_you_mean_or_list"]


def did_you_mean(word: object, options: Iterable[object], *, cutoff: float = 0.6, n: int = 1) -> str:
    """``" Did you mean 'x'?"`` for the option closest to ``word``, or ``""`` when none is close.

    The text starts with a space so it can follow a sentence directly. When the whole word
    matches nothing, the last dotted part is compared with the options' last dotted parts
    (``DenseNet12`` finds ``monai.networks.nets.DenseNet121``).

    Parameters
    ----------
    word
        The name that was not found.
    options
        The valid names.
    cutoff
        Smallest :class:`difflib.SequenceMatcher` ratio that counts as close (0 to 1).
    n
        Most suggestions to give, closest first.

    Examples
    --------
    >>> did_you_mean("veiw", ["case_id", "view", "label"])
    " Did you mean 'view'?"
    >>> did_you_mean("DenseNet12", ["monai.networks.nets.DenseNet121"], cutoff=0.5)
    " Did you mean 'monai.networks.nets.DenseNet121'?"
    >>> did_you_mean("features.norm", ["features.norm5", "features.norm4"], n=3)
    " Did you mean 'features.norm5', 'features.norm4'?"
    >>> did_you_mean("xyz", ["case_id"])
    ''
    """
    names = [str(o) for o in options]
    close = difflib.get_close_matches(str(word), names, n=n, cutoff=cutoff)
    if not close:
        tails: dict[str, str] = {}
        for name in names:
            tails.setdefault(name.rsplit(".", 1)[-1], name)
        hits = difflib.get_close_matches(str(word).rsplit(".", 1)[-1], list(tails), n=n, cutoff=cutoff)
        close = [tails[h] for h in hits]
    if not close:
        return ""
    return " Did you mean " + ", ".join(f"'{c}'" for c in close) + "?"


def did_you_mean_or_list(word: object, valid: Iterable[object]) -> str:
    """:func:`did_you_mean` (looser cutoff, 0.5), then every valid name: for short closed lists.

    Examples
    --------
    >>> did_you_mean_or_list("onx", ["onnx", "torchscript"])
    " Did you mean 'onnx'? Valid: onnx, torchscript."
    """
    names = sorted(str(v) for v in valid)
    return f"{did_you_mean(word, names, cutoff=0.5)} Valid: {', '.join(names)}."
