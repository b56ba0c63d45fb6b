"""Multi-reader multi-case (MRMC) reader-study statistics.

Pure functions: rating arrays in, frozen dataclasses out (numpy and scipy only).

- :func:`mrmc_analysis` -- Obuchowski-Rockette (RRRC, FRRC, RRFC) and DBM analyses of
  the empirical AUC, sensitivity/specificity at a threshold or the binormal AUC, with
  jackknife, DeLong or unbiased covariances; factorial and nested (split-plot) designs.
- :func:`model_vs_readers` -- a standalone model compared with the readers.
- :func:`or_power`, :func:`or_sample_size` -- planning from pilot variance components.
"""
from valkit.stats.mrmc.analysis import COVARIANCES, FOMS, MRMCAnalysis, mrmc_analysis
from valkit.stats.mrmc.design import DESIGNS
from valkit.stats.mrmc.options import MRMCInputError, NegativeVarianceWarning

__all__ = [
    "COVARIANCES",
    "DESIGNS",
    "FOMS",
    "MRMCAnalysis",
    "MRMCInputError",
    "NegativeVarianceWarning",
    "mrmc_analysis",
]
