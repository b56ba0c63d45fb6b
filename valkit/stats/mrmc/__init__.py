"""Multi-reader multi-case (MRMC) reader-study statistics.

Pure functions: rating arrays in, frozen dataclasses out (numpy and scipy only).

- :func:`mrmc_analysis` -- Obuchowski-Rockette (RRRC, FRRC, RRFC) and DBM analyses of
  the empirical AUC, sensitivity/specificity at a threshold or the binormal AUC, with
  jackknife, DeLong or unbiased covariances; factorial and nested (split-plot) designs.
- :func:`model_vs_readers`, :func:`margin_verdict` -- a standalone model compared with the
  readers, and a non-inferiority verdict on a difference between modalities.
- :func:`or_power`, :func:`or_sample_size`, :func:`power_table` -- planning from pilot
  variance components.
"""
from valkit.stats.mrmc.analysis import COVARIANCES, FOMS, MRMCAnalysis, mrmc_analysis
from valkit.stats.mrmc.design import DESIGNS
from valkit.stats.mrmc.obuchowski_rockette import CovarianceComponents
from valkit.stats.mrmc.options import MRMCInputError, NegativeVarianceWarning
from valkit.stats.mrmc.sample_size import PowerResult, or_power, or_sample_size, power_table
from valkit.stats.mrmc.standalone import MarginVerdict, ModelComparison, margin_verdict, model_vs_readers

__all__ = [
    "COVARIANCES",
    "CovarianceComponents",
    "DESIGNS",
    "FOMS",
    "MRMCAnalysis",
    "MRMCInputError",
    "MarginVerdict",
    "ModelComparison",
    "NegativeVarianceWarning",
    "PowerResult",
    "margin_verdict",
    "model_vs_readers",
    "mrmc_analysis",
    "or_power",
    "or_sample_size",
    "power_table",
]
