"""Registry of every statistical method valkit reports, for the report's methods section.

``METHODS[name]`` holds a one-line description and the reference to cite; ``name`` is the
string found in ``Estimate.method`` / ``Interval.method`` / ``TestResult.method``.

>>> METHODS["wilson"].reference.split(".")[0]
'Wilson EB (1927)'
>>> sorted(METHODS)[:3]
['agresti_coull', 'average_precision', 'bh']
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class MethodInfo:
    """A statistical method as the report cites it: title, one-line description, reference."""

    title: str
    description: str
    reference: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_BOOT_REF = ("Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & Hall, ch. 13-14; "
             "Davison AC, Hinkley DV (1997). Bootstrap Methods and their Application. CUP, sec. 3.8.")
_DELONG_REF = ("DeLong ER, DeLong DM, Clarke-Pearson DL (1988). Comparing the areas under two or more correlated "
               "ROC curves: a nonparametric approach. Biometrics 44:837-845; Sun X, Xu W (2014). Fast "
               "implementation of DeLong's algorithm. IEEE Signal Process Lett 21:1389-1393.")
_CAL_REF = ("Cox DR (1958). Two further applications of a model for binary regression. Biometrika 45:562-565; "
            "Steyerberg EW (2019). Clinical Prediction Models, 2nd ed. Springer, ch. 15.")

METHODS: dict[str, MethodInfo] = {
    "wilson": MethodInfo(
        "Wilson score interval", "Confidence interval for a proportion by inverting the score test.",
        "Wilson EB (1927). Probable inference, the law of succession, and statistical inference. "
        "J Am Stat Assoc 22:209-212; Newcombe RG (1998). Stat Med 17:857-872."),
    "clopper_pearson": MethodInfo(
        "Clopper-Pearson exact interval", "Proportion interval from beta quantiles; guaranteed coverage.",
        "Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the case of the "
        "binomial. Biometrika 26:404-413."),
    "jeffreys": MethodInfo(
        "Jeffreys interval", "Equal-tailed Beta(x+1/2, n-x+1/2) interval with the boundary modification.",
        "Brown LD, Cai TT, DasGupta A (2001). Interval estimation for a binomial proportion. Stat Sci 16:101-133."),
    "agresti_coull": MethodInfo(
        "Agresti-Coull interval", "Wald interval around the estimate with z^2/2 added successes and failures.",
        "Agresti A, Coull BA (1998). Approximate is better than 'exact' for interval estimation of binomial "
        "proportions. Am Stat 52:119-126."),
    "simel_log": MethodInfo(
        "Likelihood ratio, log method", "LR+ and LR- with Wald intervals on the log scale.",
        "Simel DL, Samsa GP, Matchar DB (1991). Likelihood ratios with confidence: sample size estimation for "
        "diagnostic test studies. J Clin Epidemiol 44:763-770."),
    "log_woolf": MethodInfo(
        "Diagnostic odds ratio, log method", "(TP*TN)/(FP*FN) with a Wald interval on the log scale.",
        "Glas AS, Lijmer JG, Prins MH, Bonsel GJ, Bossuyt PM (2003). The diagnostic odds ratio. "
        "J Clin Epidemiol 56:1129-1135."),
    "newcombe_hybrid_score": MethodInfo(
        "Newcombe hybrid score interval", "Difference of independent proportions from two Wilson intervals.",
        "Newcombe RG (1998). Interval estimation for the difference between independent proportions: comparison "
        "of eleven methods. Stat Med 17:873-890 (method 10)."),
    "newcombe_paired_score_cc_phi": MethodInfo(
        "Newcombe paired score interval", "Difference of paired proportions from two Wilson intervals and the "
        "continuity-corrected phi correlation.",
        "Newcombe RG (1998). Improved confidence intervals for the difference between binomial proportions based "
        "on paired data. Stat Med 17:2635-2650 (method 10)."),
    "mcnemar_exact": MethodInfo(
        "McNemar exact test", "Two-sided binomial test of the discordant pairs.",
        "McNemar Q (1947). Psychometrika 12:153-157; Fagerland MW, Lydersen S, Laake P (2013). BMC Med Res "
        "Methodol 13:91."),
    "mcnemar_chi2_cc": MethodInfo(
        "McNemar chi-square test (continuity-corrected)", "(|f-g|-1)^2/(f+g) on 1 df.",
        "McNemar Q (1947). Note on the sampling error of the difference between correlated proportions. "
        "Psychometrika 12:153-157; Edwards AL (1948). Psychometrika 13:185-187."),
    "mcnemar_chi2": MethodInfo(
        "McNemar chi-square test", "(f-g)^2/(f+g) on 1 df.",
        "McNemar Q (1947). Note on the sampling error of the difference between correlated proportions. "
        "Psychometrika 12:153-157."),
    "newcombe_paired_tango_noninferiority": MethodInfo(
        "Paired non-inferiority (proportions)", "Newcombe paired interval for B - A with Tango's score test "
        "against -margin.",
        "Tango T (1998). Equivalence test and confidence interval for the difference in proportions for the "
        "paired-sample design. Stat Med 17:891-908; Newcombe RG (1998). Stat Med 17:2635-2650."),
    "delong": MethodInfo("DeLong AUC interval", "Wald interval from DeLong's nonparametric variance, truncated "
                         "to [0, 1]; computed by the Sun-Xu algorithm.", _DELONG_REF),
    "delong_paired": MethodInfo("DeLong test, paired", "Z test of two correlated AUCs.", _DELONG_REF),
    "delong_unpaired": MethodInfo("DeLong test, unpaired", "t test of two independent AUCs, Welch df (as pROC).",
                                  _DELONG_REF + " Robin X et al. (2011). pROC. BMC Bioinformatics 12:77."),
    "delong_noninferiority": MethodInfo("AUC non-inferiority (DeLong)", "Z = (d + margin)/SE with the paired "
                                        "DeLong variance.", _DELONG_REF),
    "clustered": MethodInfo(
        "Obuchowski clustered AUC interval", "AUC variance with the patient as the unit (several images per "
        "patient).",
        "Obuchowski NA (1997). Nonparametric analysis of clustered ROC curve data. Biometrics 53:567-578."),
    "clustered_paired": MethodInfo(
        "Clustered paired AUC test", "Z test of two correlated AUCs with Obuchowski's clustered covariance "
        "(the patient as the unit); DeLong's paired test with one image per patient.",
        "Obuchowski NA (1997). Biometrics 53:567-578; " + _DELONG_REF),
    "tango_score": MethodInfo(
        "Tango score interval (paired difference)", "Interval for a difference of paired proportions by "
        "inverting Tango's score test.",
        "Tango T (1998). Equivalence test and confidence interval for the difference in proportions for the "
        "paired-sample design. Stat Med 17:891-908."),
    "psi_reference_quantiles_10": MethodInfo(
        "Population stability index", "Sum of (c - r) ln(c / r) over 10 equal-count bins of the reference "
        "scores (empty bins floored at 1e-4).",
        "Siddiqi N (2006). Credit Risk Scorecards. Wiley, ch. 8; Yurdakul B (2018). Statistical properties of "
        "population stability index. PhD thesis, Western Michigan University."),
    "ks_two_sample": MethodInfo(
        "Two-sample Kolmogorov-Smirnov test", "Largest distance between two empirical distribution functions; "
        "assumes independent samples.",
        "Massey FJ (1951). The Kolmogorov-Smirnov test for goodness of fit. J Am Stat Assoc 46:68-78."),
    "clustered_noninferiority": MethodInfo(
        "AUC non-inferiority (clustered)", "Z = (d + margin)/SE with Obuchowski's clustered covariance.",
        "Obuchowski NA (1997). Biometrics 53:567-578."),
    "hanley_mcneil": MethodInfo(
        "Hanley-McNeil AUC standard error", "Exponential-approximation SE of the AUC (comparison only).",
        "Hanley JA, McNeil BJ (1982). The meaning and use of the area under a ROC curve. Radiology 143:29-36."),
    "bootstrap_percentile": MethodInfo("Bootstrap percentile interval", "Quantiles of the resampled statistic.",
                                       _BOOT_REF),
    "bootstrap_bca": MethodInfo("Bootstrap BCa interval", "Bias-corrected and accelerated percentile interval "
                                "(jackknife acceleration).", _BOOT_REF),
    "wilson_patients": MethodInfo(
        "Wilson score interval on patients",
        "Every image has the same outcome, so the patient-clustered bootstrap has no spread; Wilson interval "
        "with one observation per patient (conservative: the largest possible design effect).",
        "Wilson EB (1927). Probable inference, the law of succession, and statistical inference. JASA "
        "22:209-212."),
    "cluster_bootstrap_percentile": MethodInfo(
        "Patient-clustered bootstrap, percentile", "Whole patients resampled within outcome strata.", _BOOT_REF),
    "cluster_bootstrap_bca": MethodInfo(
        "Patient-clustered bootstrap, BCa", "Whole patients resampled; leave-one-patient-out jackknife.",
        _BOOT_REF),
    "average_precision": MethodInfo(
        "Average precision", "Step-wise area under the precision-recall curve (as scikit-learn).",
        "Boyd K, Eng KH, Page CD (2013). Area under the precision-recall curve: point estimates and confidence "
        "intervals. ECML PKDD, LNCS 8190:451-466."),
    "youden": MethodInfo("Youden index threshold", "Threshold maximising sensitivity + specificity - 1.",
                         "Youden WJ (1950). Index for rating diagnostic tests. Cancer 3:32-35."),
    "exact_binomial_greater": MethodInfo(
        "Exact binomial test (one-sided)", "P(X >= x | goal) for a proportion against a performance goal.",
        "Clopper CJ, Pearson ES (1934). Biometrika 26:404-413; FDA (2007). Statistical Guidance on Reporting "
        "Results from Studies Evaluating Diagnostic Tests."),
    "exact_binomial_less": MethodInfo(
        "Exact binomial test (one-sided, lower)", "P(X <= x | goal) for a proportion against a ceiling.",
        "Clopper CJ, Pearson ES (1934). Biometrika 26:404-413."),
    "buderer": MethodInfo(
        "Buderer sample size", "Cases for a target CI half-width of sensitivity/specificity at a prevalence.",
        "Buderer NM (1996). Statistical methodology: I. Incorporating the prevalence of disease into the sample "
        "size calculation for sensitivity and specificity. Acad Emerg Med 3:895-900."),
    "exact_binomial": MethodInfo(
        "Exact binomial sample size", "Smallest n whose Clopper-Pearson lower bound exceeds the goal with the "
        "required power.",
        "Flahault A, Cadilhac M, Thomas G (2005). Sample size calculation should be performed for design "
        "accuracy in diagnostic test studies. J Clin Epidemiol 58:859-862."),
    "holm": MethodInfo("Holm step-down adjustment", "Controls the family-wise error rate.",
                       "Holm S (1979). A simple sequentially rejective multiple test procedure. Scand J Stat "
                       "6:65-70."),
    "bh": MethodInfo("Benjamini-Hochberg adjustment", "Controls the false discovery rate.",
                     "Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate. J R Stat Soc B "
                     "57:289-300."),
    "logistic_offset_intercept": MethodInfo(
        "Calibration-in-the-large", "Intercept of logistic recalibration with logit(p) as offset (ideal 0).",
        _CAL_REF),
    "logistic_recalibration_slope": MethodInfo(
        "Calibration slope", "Slope of logistic recalibration on logit(p) (ideal 1).", _CAL_REF),
    "ece": MethodInfo(
        "Expected calibration error", "Case-weighted mean |observed - predicted| over probability bins.",
        "Naeini MP, Cooper G, Hauskrecht M (2015). Obtaining well calibrated probabilities using Bayesian "
        "binning. AAAI 29:2901-2907."),
    "hosmer_lemeshow": MethodInfo(
        "Hosmer-Lemeshow test", "Chi-square over deciles of predicted risk, g - 2 df.",
        "Hosmer DW, Lemeshow S (1980). Goodness of fit tests for the multiple logistic regression model. "
        "Commun Stat Theory Methods 9:1043-1069."),
    "cohen_fleiss_cohen_everitt_1969": MethodInfo(
        "Cohen's kappa", "Agreement of two raters beyond chance; Wald interval with the large-sample standard "
        "error of Fleiss, Cohen & Everitt.",
        "Cohen J (1960). A coefficient of agreement for nominal scales. Educ Psychol Meas 20:37-46; Fleiss JL, "
        "Cohen J, Everitt BS (1969). Large sample standard errors of kappa and weighted kappa. Psychol Bull "
        "72:323-327."),
    "fleiss_nee_landis_1979_null_se": MethodInfo(
        "Fleiss' kappa", "Agreement of two or more raters beyond chance; Wald interval with the standard error "
        "of Fleiss, Nee & Landis (derived under kappa = 0; approximate away from 0).",
        "Fleiss JL (1971). Measuring nominal scale agreement among many raters. Psychol Bull 76:378-382; "
        "Fleiss JL, Nee JCM, Landis JR (1979). Large sample variance of kappa in the case of different sets of "
        "raters. Psychol Bull 86:974-977."),
    "wald": MethodInfo("Wald interval", "Estimate +/- z * standard error.",
                       "Casella G, Berger RL (2002). Statistical Inference, 2nd ed., sec. 10.4."),
}


def method_info(name: str) -> MethodInfo:
    """Look up a method by the name found in a result (``ece_uniform_10`` -> ``ece``).

    >>> method_info("ece_uniform_10").title
    'Expected calibration error'
    """
    from valkit.stats.validation import look_up_option

    key = "ece" if name.startswith("ece_") else name
    return look_up_option(key, METHODS, what="method")
