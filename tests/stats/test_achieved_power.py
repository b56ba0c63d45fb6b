"""Achieved power of a CI-bound endpoint rule and the proportion design effect (issue #15).

References are independent computations, not valkit's own code:
- exact (Clopper-Pearson) power by direct summation with scipy.stats.binom and the beta-quantile form
  of the Clopper-Pearson lower bound (Clopper & Pearson 1934; scipy 1.x ``beta.ppf``);
- Wilson power by Monte Carlo simulation with statsmodels ``proportion_confint(method="wilson")``;
- the design effect by the textbook ratio-estimator formula written out with numpy
  (Rao & Scott 1992, Biometrics 48:577, eq. 2.3; Donner & Klar 2000, ch. 5).
"""
import numpy as np
import pytest
from scipy.stats import beta, binom
from statsmodels.stats.proportion import proportion_confint

from valkit.stats import StatsInputError, exact_binomial_power, interval_power, proportion_design_effect


def _cp_power_by_summation(n, p, g, cl=0.95):
    # Clopper-Pearson lower bound = Beta(alpha/2; x, n - x + 1), 0 at x = 0
    x = np.arange(n + 1)
    low = np.where(x == 0, 0.0, beta.ppf((1 - cl) / 2, np.maximum(x, 1), n - x + 1))
    return float(binom.pmf(x, n, p)[low >= g].sum())


@pytest.mark.parametrize("n,p,g", [(100, 0.9, 0.8), (57, 0.85, 0.7), (250, 0.8, 0.75), (30, 0.95, 0.7)])
def test_clopper_pearson_power_matches_direct_summation(n, p, g):
    ref = _cp_power_by_summation(n, p, g)
    assert interval_power(n, expected=p, goal=g, ci="clopper_pearson") == pytest.approx(ref, abs=1e-12)
    assert float(exact_binomial_power(n, expected=p, goal=g)) == pytest.approx(ref, abs=1e-12)


def test_published_exact_power_value():
    # Flahault, Cadilhac & Thomas (2005) J Clin Epidemiol 58:859, exact planning: expected sensitivity 0.90,
    # lower limit 0.80, power 0.80 -> n = 107 positives (valkit's exact_binomial_sample_size doctest, same
    # search); the power at that n must reach 0.80 and at n = 100 it does not
    assert interval_power(107, expected=0.9, goal=0.8, ci="clopper_pearson") >= 0.80
    assert interval_power(100, expected=0.9, goal=0.8, ci="clopper_pearson") < 0.80


@pytest.mark.parametrize("n,p,g", [(120, 0.85, 0.75), (60, 0.9, 0.75)])
def test_wilson_power_matches_simulation(n, p, g):
    rng = np.random.default_rng(20240115)
    x = rng.binomial(n, p, size=200_000)
    low, _ = proportion_confint(x, n, alpha=0.05, method="wilson")
    simulated = float(np.mean(np.where(x == 0, 0.0, low) >= g))
    # Monte Carlo SE <= 0.5/sqrt(200000) ~ 0.0011: 4 SE
    assert interval_power(n, expected=p, goal=g, ci="wilson") == pytest.approx(simulated, abs=0.0045)


def test_power_rises_with_n_and_with_the_true_value():
    assert interval_power(400, expected=0.85, goal=0.8) > interval_power(100, expected=0.85, goal=0.8)
    assert interval_power(100, expected=0.95, goal=0.8) > interval_power(100, expected=0.85, goal=0.8)
    # at the goal itself the rule passes at most alpha/2 of the time (Wilson is near-nominal)
    assert interval_power(200, expected=0.8, goal=0.8) < 0.05


def test_power_rejects_an_unknown_method():
    with pytest.raises(StatsInputError, match="wilsn"):
        interval_power(10, expected=0.9, goal=0.8, ci="wilsn")


def _deff_by_formula(x, cluster):
    x = np.asarray(x, float)
    ids = np.unique(cluster)
    xs = np.array([x[cluster == i].sum() for i in ids])
    ns = np.array([(cluster == i).sum() for i in ids])
    big_n, k = len(x), len(ids)
    p = x.sum() / big_n
    v_cl = k / (k - 1) * np.sum((xs - p * ns) ** 2) / big_n**2
    v_in = big_n / (big_n - 1) * np.sum((x - p) ** 2) / big_n**2
    return max(1.0, v_cl / v_in)


def test_design_effect_matches_the_ratio_estimator_formula():
    rng = np.random.default_rng(7)
    cluster = np.repeat(np.arange(60), rng.integers(1, 4, size=60))
    patient_p = rng.beta(2, 1, size=60)
    x = rng.binomial(1, patient_p[cluster])
    deff, k = proportion_design_effect(x, cluster)
    assert k == 60
    assert deff == pytest.approx(_deff_by_formula(x, cluster), rel=1e-12)
    assert deff > 1.0


def test_design_effect_is_one_with_one_image_per_patient():
    assert proportion_design_effect([1, 0, 1, 1, 0], [0, 1, 2, 3, 4])[0] == 1.0
