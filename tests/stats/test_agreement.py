"""Cohen's and Fleiss' kappa (valkit.stats.agreement) against published values and statsmodels."""
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from valkit.stats.agreement import cohens_kappa, cohens_kappa_from_table, fleiss_kappa
from valkit.stats.types import NotEstimableWarning
from valkit.stats.validation import StatsInputError

# Fleiss JL (1971) Measuring nominal scale agreement among many raters. Psychol Bull 76:378-382,
# Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses (1 depression, 2 personality disorder,
# 3 schizophrenia, 4 neurosis, 5 other). Per-rater form as in statsmodels 0.15
# statsmodels/stats/tests/test_inter_rater.py `diagnoses` (R irr's `diagnoses` data set).
DIAGNOSES = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
])


def test_fleiss_1971_table_1():
    a = fleiss_kappa(DIAGNOSES)
    # Fleiss (1971) p. 381: kappa = .430 (his P-bar .556, P_e-bar .220)
    assert round(a.kappa.value, 3) == 0.430
    assert round(a.observed, 3) == 0.556
    assert round(a.expected, 3) == 0.220
    # R irr 0.84.1 kappam.fleiss(diagnoses): Kappa = 0.4302445, z = 17.65183 (z = kappa / SE, the
    # Fleiss, Nee & Landis 1979 SE); both recorded in statsmodels 0.15 test_inter_rater.py test_fleiss_kappa_irr
    assert a.kappa.value == pytest.approx(0.4302445, abs=5e-8)
    assert a.kappa.value / a.se == pytest.approx(17.65183, abs=5e-5)
    assert (a.n_subjects, a.n_raters, a.categories) == (30, 6, (1, 2, 3, 4, 5))
    z = 1.959963984540054
    assert a.kappa.interval.low == pytest.approx(a.kappa.value - z * a.se)
    # subjects on which all six agreed: rows 1, 4, 10, 21, 30
    assert (a.percent_agreement.numerator, a.percent_agreement.denominator) == (5, 30)


def test_cohen_sas_example():
    # SAS PROC FREQ simple kappa for statsmodels 0.15 test_inter_rater.py table10 ([[0,4,1],[0,8,0],[0,1,5]]):
    # Kappa 0.4842, ASE 0.1380, 95% CI 0.2137-0.7547 (TestUnweightedCohens)
    a = cohens_kappa_from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    assert round(a.kappa.value, 4) == 0.4842
    assert round(a.se, 4) == 0.1380
    assert (round(a.kappa.interval.low, 4), round(a.kappa.interval.high, 4)) == (0.2137, 0.7547)
    assert (a.percent_agreement.numerator, a.percent_agreement.denominator) == (13, 19)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(10, 200), st.integers(2, 4))
def test_cohen_matches_statsmodels(seed, n, k):
    from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa, to_table

    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < 0.6, a, rng.integers(0, k, n))
    with warnings.catch_warnings():  # every label one category (rare): not estimable, skipped below
        warnings.simplefilter("ignore", NotEstimableWarning)
        ours = cohens_kappa(a, b)
    if not ours.kappa.estimable:
        return
    table, _ = to_table(np.column_stack([a, b]))
    ref = sm_kappa(table)
    assert ours.kappa.value == pytest.approx(ref.kappa, abs=1e-12)
    assert ours.se == pytest.approx(ref.std_kappa, abs=1e-12)
    assert ours.kappa.interval.low == pytest.approx(max(-1, ref.kappa_low), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 150), st.integers(2, 7), st.integers(2, 4))
@example(seed=4, n=5, m=2, k=2)  # every label one category: not estimable (its warning is expected), skipped
def test_fleiss_matches_statsmodels(seed, n, m, k):
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa as sm_fleiss

    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)[:, None]
    ratings = np.where(rng.random((n, m)) < 0.7, truth, rng.integers(0, k, (n, m)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)
        ours = fleiss_kappa(ratings)
    if not ours.kappa.estimable:
        return
    assert ours.kappa.value == pytest.approx(sm_fleiss(aggregate_raters(ratings)[0]), abs=1e-12)
    assert ours.kappa.interval.contains(ours.kappa.value)
    # raters and subjects in another order, labels renamed: the same agreement
    perm = fleiss_kappa(ratings[rng.permutation(n)][:, rng.permutation(m)] + 10)
    assert perm.kappa.value == pytest.approx(ours.kappa.value, abs=1e-12)
    assert perm.se == pytest.approx(ours.se, abs=1e-12)


def test_perfect_agreement_and_percent():
    a = cohens_kappa([1, 0, 1, 0, 1], [1, 0, 1, 0, 1])
    assert a.kappa.value == pytest.approx(1.0)
    assert a.percent_agreement.value == 1.0 and a.percent_agreement.n == 5
    assert fleiss_kappa([[1, 1, 1], [0, 0, 0]]).kappa.value == pytest.approx(1.0)


def test_single_category_is_not_estimable():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = fleiss_kappa([[1, 1], [1, 1], [1, 1]])
        c = cohens_kappa([0, 0, 0], [0, 0, 0])
    assert np.isnan(a.kappa.value) and np.isnan(c.kappa.value)
    assert a.kappa.warnings[0].startswith("single_category:")
    assert any(issubclass(w.category, NotEstimableWarning) for w in caught)
    assert a.percent_agreement.value == 1.0  # still reported
    assert a.to_dict()["kappa"]["value"] is None  # strict JSON


def test_missing_labels_and_shapes_are_refused():
    with pytest.raises(StatsInputError, match="miss a rater's label"):
        fleiss_kappa(np.array([[1.0, np.nan], [0.0, 0.0]]))
    with pytest.raises(StatsInputError, match="same length"):
        cohens_kappa([1, 0], [1])
    with pytest.raises(StatsInputError, match="at least 2"):
        fleiss_kappa([[1], [0]])
