"""valkit's statistics engine: arrays in, frozen dataclasses out.

Pure functions (numpy/scipy; statsmodels imported lazily where used), no I/O, no global
state. Results are :class:`Estimate`, :class:`TestResult` and :class:`Interval`, all
JSON-serialisable through ``to_dict()``. Undefined values are ``nan`` with a named
warning (and a :class:`NotEstimableWarning`); invalid arguments raise
:class:`StatsInputError` (a ``ValueError``). Labels are 0/1 (or bools), or any two classes
with ``pos_label=`` (sklearn's convention). An :class:`Estimate` is usable as a number
(``float(e)``) and its interval unpacks (``low, high = e.interval``).

Reader studies (MRMC): :mod:`valkit.stats.mrmc`. A per-group table of the report's numbers
as a pandas DataFrame: :func:`valkit.tables.subgroup_table` (outside this package because it
returns a DataFrame and uses the analyses layer's evidence and clustering rules).

>>> import valkit.stats as vs
>>> est = vs.sensitivity([1, 1, 1, 0], [1, 1, 0, 0])
>>> round(est.value, 4), est.method
(0.6667, 'wilson')
"""
from valkit.stats.agreement import (
    Agreement,
    cohens_kappa,
    cohens_kappa_clustered,
    cohens_kappa_from_table,
    fleiss_kappa,
    fleiss_kappa_clustered,
)
from valkit.stats.calibration import (
    CalibrationCurve,
    calibration_curve,
    calibration_in_the_large,
    calibration_slope,
    expected_calibration_error,
    hosmer_lemeshow,
)
from valkit.stats.bootstrap import NAMED_STATISTICS, bootstrap_ci, bootstrap_replicates
from valkit.stats.clustered import clustered_auc_covariance, clustered_delong_test, has_clusters
from valkit.stats.delong import delong_covariance, delong_test
from valkit.stats.differences import (
    mcnemar,
    mcnemar_from_counts,
    paired_proportion_difference,
    paired_proportion_difference_from_counts,
    proportion_difference,
    tango_score_interval,
    tango_score_test,
)
from valkit.stats.drift import PopulationStability, ks_two_sample, population_stability_index
from valkit.stats.endpoints import (
    NonInferiorityResult,
    Verdict,
    endpoint_verdict,
    exact_binomial_test,
    non_inferiority,
)
from valkit.stats.intervals import (
    PROPORTION_CI_METHODS,
    clopper_pearson_interval,
    clustered_boundary_interval,
    wilson_patients_interval,
    proportion_interval,
    wilson_interval,
)
from valkit.stats.proportions import (
    ConfusionCounts,
    accuracy,
    accuracy_from_counts,
    confusion_counts,
    diagnostic_odds_ratio,
    diagnostic_odds_ratio_from_counts,
    likelihood_ratios,
    likelihood_ratios_from_counts,
    npv,
    npv_from_counts,
    ppv,
    ppv_from_counts,
    proportion,
    sensitivity,
    sensitivity_from_counts,
    specificity,
    specificity_from_counts,
)
from valkit.stats.multiplicity import MultiplicityResult, adjust_p_values
from valkit.stats.planning import (
    SampleSizePlan,
    buderer_sample_size,
    exact_binomial_power,
    exact_binomial_sample_size,
    interval_power,
    proportion_design_effect,
)
from valkit.stats.roc import RocCurve, average_precision, hanley_mcneil_se, roc_auc, roc_curve
from valkit.stats.registry import METHODS, MethodInfo, method_info
from valkit.stats.thresholds import ThresholdChoice, choose_threshold
from valkit.stats.types import Estimate, Interval, NotEstimableWarning, TestResult
from valkit.stats.validation import StatsInputError

__all__ = [
    "CalibrationCurve", "calibration_curve", "calibration_in_the_large", "calibration_slope",
    "expected_calibration_error", "hosmer_lemeshow", "MultiplicityResult", "adjust_p_values",
    "METHODS", "MethodInfo", "method_info", "ThresholdChoice", "choose_threshold",
    "NAMED_STATISTICS", "PROPORTION_CI_METHODS",
    "ConfusionCounts", "Estimate", "Interval", "NonInferiorityResult", "NotEstimableWarning", "RocCurve",
    "StatsInputError", "TestResult", "Verdict",
    "SampleSizePlan", "buderer_sample_size", "exact_binomial_power", "exact_binomial_sample_size",
    "interval_power", "proportion_design_effect",
    "accuracy", "accuracy_from_counts", "average_precision", "bootstrap_ci", "bootstrap_replicates",
    "clopper_pearson_interval", "clustered_auc_covariance", "clustered_delong_test", "confusion_counts", "delong_covariance",
    "delong_test", "diagnostic_odds_ratio", "diagnostic_odds_ratio_from_counts", "endpoint_verdict",
    "exact_binomial_test", "hanley_mcneil_se", "ks_two_sample", "population_stability_index", "PopulationStability", "has_clusters", "likelihood_ratios", "likelihood_ratios_from_counts", "mcnemar",
    "mcnemar_from_counts", "non_inferiority", "npv", "npv_from_counts", "paired_proportion_difference",
    "paired_proportion_difference_from_counts", "ppv", "ppv_from_counts", "proportion", "proportion_difference",
    "proportion_interval", "roc_auc", "roc_curve", "sensitivity", "sensitivity_from_counts", "specificity",
    "specificity_from_counts", "tango_score_interval", "tango_score_test", "wilson_interval", "clustered_boundary_interval", "wilson_patients_interval",
    "Agreement", "cohens_kappa", "cohens_kappa_clustered", "cohens_kappa_from_table", "fleiss_kappa",
    "fleiss_kappa_clustered",
]
