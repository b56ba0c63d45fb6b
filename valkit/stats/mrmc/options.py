"""Option lookup and the warning classes of the MRMC engine.

Method names dispatch through dicts; a misspelling is an error that names the
closest valid option (MONAI's ``look_up_option`` pattern).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from valkit.errors import InputError
from valkit.stats.types import NotEstimableWarning
from valkit.suggest import did_you_mean

T = TypeVar("T")


class MRMCInputError(InputError, ValueError):
    """An argument to an MRMC function is invalid (shape, design, option name...)."""


class NegativeVarianceWarning(NotEstimableWarning):
    """A variance estimate came out negative.

    ANOVA-type and U-statistic estimators are unbiased but not constrained to be
    positive. The negative value is reported as it is; a standard error that would
    need its square root is ``nan`` ("not estimable").
    """


def look_up(name: Any, options: Mapping[str, T], *, what: str) -> T:
    """Return ``options[name]``; on a miss raise with the closest valid name.

    >>> look_up("delong", {"jackknife": 1, "delong": 2}, what="covariance")
    2
    >>> look_up("jacknife", {"jackknife": 1, "delong": 2}, what="covariance")
    Traceback (most recent call last):
    ...
    valkit.stats.mrmc.options.MRMCInputError: covariance: unknown option 'jacknife'. Did you mean 'jackknife'? Valid: delong, jackknife.
    """
    if isinstance(name, str) and name in options:
        return options[name]
    valid = ", ".join(sorted(options))
    hint = did_you_mean(name, options, cutoff=0.5)
    raise MRMCInputError(f"{what}: unknown option {name!r}.{hint} Valid: {valid}.")
